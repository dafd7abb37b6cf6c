"""#23 class 9: weight files record their mel-feature settings; a voice.json that contradicts
them is a VoiceLoadError naming the setting; files without a record load as before."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ttsengine.errors import VoiceLoadError
from ttsengine.voice.feature_stamp import (STAMP_KEY, check_feature_stamps, read_onnx_metadata,
                                     read_safetensors_metadata, stamp_onnx, stamp_value)
from ttsengine.voice import bundled_voices, load_voice, resolve_voice_path


def _copy(tiny_voice, tmp_path) -> Path:
    target = tmp_path / "voice"
    shutil.copytree(tiny_voice, target)
    return target


def _edit_features(path: Path, **changes) -> None:
    data = json.loads((path / "voice.json").read_text())
    data["features"].update(changes)
    (path / "voice.json").write_text(json.dumps(data))


def _strip(file: Path) -> None:
    raw = file.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    header["__metadata__"].pop(STAMP_KEY)
    new = json.dumps(header, separators=(",", ":")).encode()
    new += b" " * (-len(new) % 8)
    file.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + length:])


def test_new_weights_record_their_features(tiny_voice):
    recorded = json.loads(read_safetensors_metadata(Path(tiny_voice) / "acoustic.safetensors")[STAMP_KEY])
    voice = load_voice(tiny_voice)
    assert recorded["sample_rate"] == voice.model_sample_rate and recorded["n_mels"] == voice.n_mels


@pytest.mark.parametrize("key, value", [("sample_rate", 44100), ("fmax", 7000.0), ("log", "log10"),
                                        ("win_length", 800)])
def test_a_contradicting_voice_json_is_refused(tiny_voice, tmp_path, key, value):
    path = _copy(tiny_voice, tmp_path)
    _edit_features(path, **{key: value})
    with pytest.raises(VoiceLoadError, match=key) as caught:
        load_voice(path)
    assert "safetensors" in str(caught.value)


def test_weights_without_a_record_still_load(tiny_voice, tmp_path):
    path = _copy(tiny_voice, tmp_path)
    for name in ("acoustic.safetensors", "vocoder.safetensors"):
        _strip(path / name)
    _edit_features(path, sample_rate=44100)
    assert load_voice(path).model_sample_rate == 44100


def test_default_bundle_records_features_in_the_restamped_files():
    if "default" not in bundled_voices():
        pytest.skip("no bundled default voice")
    path = resolve_voice_path("default")
    voice = load_voice(path)
    expected = json.loads(stamp_value(voice.features, voice.model_sample_rate))
    for name in ("acoustic.safetensors", "cpu_vocoder.safetensors"):
        assert json.loads(read_safetensors_metadata(path / name)[STAMP_KEY]) == expected
    for graph in ("encoder", "decoder", "cpu_vocoder"):
        metadata = read_onnx_metadata(path / "onnx" / f"{graph}.onnx")
        assert json.loads(metadata[STAMP_KEY]) == expected and metadata["ttsengine.graph"] == graph


def test_onnx_record_is_checked(tmp_path):
    if "default" not in bundled_voices():
        pytest.skip("no bundled default voice")
    source = resolve_voice_path("default")
    voice = load_voice(source)
    (tmp_path / "onnx").mkdir()
    shutil.copy(source / "onnx" / "encoder.onnx", tmp_path / "onnx" / "encoder.onnx")
    check_feature_stamps(tmp_path, voice.features, voice.model_sample_rate)
    with pytest.raises(VoiceLoadError, match=r"encoder\.onnx.*sample_rate=22050"):
        check_feature_stamps(tmp_path, voice.features, 24000)
    with pytest.raises(ValueError):
        stamp_onnx(tmp_path / "onnx" / "encoder.onnx", "{}")

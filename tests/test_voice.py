"""Voice bundles: loading, validation and clear VoiceLoadErrors."""

from __future__ import annotations

import json
import shutil

import pytest

from ttsengine import Synthesizer
from ttsengine.errors import VoiceLoadError
from ttsengine.voice import FORMAT_VERSION, bundled_voices, load_voice


@pytest.fixture()
def voice_copy(tiny_voice, tmp_path):
    target = tmp_path / "voice"
    shutil.copytree(tiny_voice, target)
    return target


def _edit(voice_dir, change):
    path = voice_dir / "voice.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def test_bundle_layout_and_config(tiny_voice):
    voice = load_voice(tiny_voice)
    assert voice.format_version == FORMAT_VERSION
    assert voice.sample_rate == 24000 and voice.hop_length == 256 and voice.n_mels == 80
    assert voice.frontend["kind"] == "phonemes" and voice.frontend["symbols"][0] == "_"
    assert voice.trained is False
    assert sorted(p.name for p in tiny_voice.iterdir()) == ["acoustic.safetensors", "vocoder.safetensors", "voice.json"]


def test_default_voice_is_bundled_and_loads():
    assert "default" in bundled_voices()
    voice = load_voice("default")
    assert voice.name == "default" and voice.sample_rate == 24000
    assert voice.acoustic["arch"] == "fastspeech2" and voice.vocoder["arch"] == "hifigan"


def test_missing_voice(tmp_path):
    with pytest.raises(VoiceLoadError, match="not found"):
        load_voice(tmp_path / "nope")
    with pytest.raises(VoiceLoadError, match="missing voice.json"):
        load_voice(tmp_path)


def test_newer_format_version_is_refused(voice_copy):
    _edit(voice_copy, lambda d: d.update(format_version=FORMAT_VERSION + 1))
    with pytest.raises(VoiceLoadError, match="newer ttsengine"):
        load_voice(voice_copy)


def test_invalid_json(voice_copy):
    (voice_copy / "voice.json").write_text("{not json")
    with pytest.raises(VoiceLoadError, match="not valid JSON"):
        load_voice(voice_copy)


@pytest.mark.parametrize("key", ["speakers", "acoustic", "features"])
def test_missing_section(voice_copy, key):
    _edit(voice_copy, lambda d: d.pop(key))
    with pytest.raises(VoiceLoadError, match=key):
        load_voice(voice_copy)


def test_missing_weights(voice_copy):
    (voice_copy / "vocoder.safetensors").unlink()
    with pytest.raises(VoiceLoadError, match="missing vocoder.safetensors"):
        load_voice(voice_copy)


def test_corrupt_weights(voice_copy):
    (voice_copy / "acoustic.safetensors").write_bytes(b"\x00garbage" * 100)
    with pytest.raises(VoiceLoadError, match="cannot read acoustic weights"):
        Synthesizer(voice_copy, backend="torch", device="cpu")


def test_truncated_weights(voice_copy):
    path = voice_copy / "vocoder.safetensors"
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(VoiceLoadError, match="cannot read vocoder weights"):
        Synthesizer(voice_copy, backend="torch", device="cpu")


def test_shape_mismatch(voice_copy):
    _edit(voice_copy, lambda d: d["acoustic"]["hparams"].update(d_model=d["acoustic"]["hparams"]["d_model"] * 2))
    with pytest.raises(VoiceLoadError, match="shape"):
        Synthesizer(voice_copy, backend="torch", device="cpu")


def test_bad_frontend_section(voice_copy):
    _edit(voice_copy, lambda d: d["frontend"].update(kind="hieroglyphs"))
    with pytest.raises(VoiceLoadError, match="frontend"):
        Synthesizer(voice_copy, backend="torch", device="cpu")

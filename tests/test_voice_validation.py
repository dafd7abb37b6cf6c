"""load_voice validates a bundle completely: every broken field -> VoiceLoadError naming it.

Each case edits a copy of a seeded fixture voice (never the bundled default voice) and
checks the error names the field; before this validation these bundles loaded and then
failed on every request with raw errors, or produced wrong audio.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import os
import shutil
from pathlib import Path
from types import MappingProxyType

import importlib.util

import numpy as np
import pytest

from ttsengine.models import shapes
from ttsengine.voice import schema, weights
from ttsengine.errors import VoiceLoadError
from ttsengine.voice import load_voice

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


@pytest.fixture()
def voice_copy(tiny_voice, tmp_path):
    """A copy of the tiny torch voice (phonemes, 3 speakers, pitch + energy, HiFi-GAN V2),
    without the feature settings its weights record (as bundles before #23 class 9: these
    tests vary voice.json's features; tests/test_feature_stamp.py checks the records)."""
    path = Path(shutil.copytree(tiny_voice, tmp_path / "voice"))
    for name in ("acoustic.safetensors", "vocoder.safetensors"):
        _unstamp(path / name)
    return path


def _unstamp(file: Path) -> None:
    import json

    from ttsengine.voice.feature_stamp import STAMP_KEY

    raw = file.read_bytes()
    length = int.from_bytes(raw[:8], "little")
    header = json.loads(raw[8:8 + length])
    header.get("__metadata__", {}).pop(STAMP_KEY, None)
    new = json.dumps(header, separators=(",", ":")).encode()
    new += b" " * (-len(new) % 8)
    file.write_bytes(len(new).to_bytes(8, "little") + new + raw[8 + length:])


@pytest.fixture()
def onnx_copy(small_onnx_voice, tmp_path):
    """A copy of the small voice with its ONNX graphs."""
    return Path(shutil.copytree(small_onnx_voice, tmp_path / "onnx-voice"))


def _edit(voice_dir: Path, change) -> None:
    path = voice_dir / "voice.json"
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _set(dotted: str, value):
    """An edit setting ``a.b.c`` to ``value`` (``_DELETE``: removing it)."""
    *parents, last = dotted.split(".")

    def change(data):
        for key in parents:
            data = data[key]
        if value is _DELETE:
            del data[last]
        else:
            data[last] = value

    return change


_DELETE = object()


def _many(*changes):
    def change(data):
        for one in changes:
            one(data)

    return change


BROKEN = {
    # d_model / n_mels / hop_length against each other and against the weights
    "d_model_vs_weights": (lambda d: d["acoustic"]["hparams"].update(d_model=64),
                           r"acoustic\.hparams\.d_model do not match acoustic\.safetensors \(shape mismatch"),
    "features_n_mels_vs_networks": (_set("features.n_mels", 100),
                                    r"acoustic\.hparams\.n_mels is 80 but features\.n_mels is 100"),
    "n_mels_vs_weights": (_many(_set("features.n_mels", 100), _set("acoustic.hparams.n_mels", 100),
                                _set("vocoder.hparams.n_mels", 100)),
                          r"acoustic\.hparams\.n_mels do not match acoustic\.safetensors"),
    "hop_zero": (_set("features.hop_length", 0), r"features\.hop_length must be a positive integer, got 0"),
    "hop_negative": (_set("features.hop_length", -256), r"features\.hop_length must be a positive integer"),
    "hop_float": (_set("features.hop_length", 256.0), r"features\.hop_length must be a positive integer"),
    "hop_vs_vocoder": (_set("features.hop_length", 128),
                       r"features\.hop_length is 128 but the vocoder upsamples by 256"),
    "upsample_vs_weights": (_many(_set("vocoder.hparams.upsample_rates", [8, 8, 4]),
                                  _set("vocoder.hparams.upsample_kernel_sizes", [16, 16, 8])),
                            r"vocoder\.hparams do not match vocoder\.safetensors: missing tensors \[\], "
                            r"unexpected tensors \['resblocks\."),
    "vocoder_channels_vs_weights": (_set("vocoder.hparams.upsample_initial_channel", 256),
                                    r"vocoder\.hparams\.upsample_initial_channel do not match vocoder\.safetensors"),
    "enc_layers_vs_weights": (_set("acoustic.hparams.enc_layers", 2), r"missing tensors \['encoder\.1\."),
    "use_pitch_vs_weights": (_set("acoustic.hparams.use_pitch", False), r"unexpected tensors \['pitch_"),
    # hparams missing or of the wrong type
    "hparams_missing": (_set("acoustic.hparams", _DELETE), r"acoustic\.hparams is missing"),
    "hparams_not_object": (_set("vocoder.hparams", []), r"vocoder\.hparams must be a JSON object"),
    "hparam_missing": (_set("acoustic.hparams.n_heads", _DELETE), r"acoustic\.hparams\.n_heads is missing"),
    "hparam_unknown": (_set("acoustic.hparams.dmodel", 32), r"acoustic\.hparams has unknown keys \['dmodel'\]"),
    "hparam_str": (_set("acoustic.hparams.d_model", "32"), r"acoustic\.hparams\.d_model must be an integer"),
    "hparam_float": (_set("acoustic.hparams.d_model", 32.0), r"acoustic\.hparams\.d_model must be an integer"),
    "hparam_bool": (_set("acoustic.hparams.enc_layers", True), r"acoustic\.hparams\.enc_layers must be an integer"),
    "hparam_flag_str": (_set("acoustic.hparams.use_pitch", "false"),
                        r"acoustic\.hparams\.use_pitch must be true or false"),
    "hparam_list_str": (_set("vocoder.hparams.upsample_rates", "8,8,2,2"),
                        r"vocoder\.hparams\.upsample_rates must be a list of integers"),
    "hparam_resblock_int": (_set("vocoder.hparams.resblock", 1), r"vocoder\.hparams\.resblock must be a string"),
    "hparam_n_heads": (_set("acoustic.hparams.n_heads", 3), r"acoustic\.hparams\.d_model 32 must be even and "
                                                            r"divisible by n_heads 3"),
    "hparam_dropout": (_set("acoustic.hparams.dropout", 1.5), r"acoustic\.hparams\.dropout must be in \[0, 1\)"),
    "hparam_even_kernel": (_set("vocoder.hparams.resblock_kernel_sizes", [3, 4, 7]),
                           r"vocoder\.hparams\.resblock_kernel_sizes must be odd"),
    "hparam_zero_dilation": (_set("vocoder.hparams.resblock_dilation_sizes", [[1, 2], [0, 6], [3, 12]]),
                             r"vocoder\.hparams\.resblock_dilation_sizes"),
    "arch": (_set("acoustic.arch", "tacotron2"), r"acoustic\.arch must be 'fastspeech2'"),
    "vocoder_arch_missing": (_set("vocoder.arch", _DELETE), r"vocoder\.arch must be 'hifigan'"),
    # speakers, defaults
    "speaker_beyond_table": (_set("speakers.carol", 7),
                             r"speakers \{'carol': 7\} are beyond the speaker embedding table .*n_speakers = 3"),
    "speaker_negative": (_set("speakers.bob", -1), r"speakers\.bob must be a non-negative int id"),
    "speaker_id_str": (_set("speakers.bob", "1"), r"speakers\.bob must be a non-negative int id"),
    "speakers_empty": (_set("speakers", {}), r"speakers must name at least one speaker"),
    "speakers_list": (_set("speakers", ["alice"]), r"speakers must be a JSON object"),
    "defaults_list": (_set("defaults", [0, 1.0]), r"defaults must be a JSON object"),
    "defaults_str": (_set("defaults", "fast"), r"defaults must be a JSON object"),
    "defaults_null": (_set("defaults", None), r"defaults must be a JSON object, got null"),
    "defaults_unknown": (_set("defaults.sped", 1.2), r"defaults has unknown keys \['sped'\]"),
    "defaults_speed_str": (_set("defaults.speed", "1.0"), r"defaults\.speed must be a number"),
    "defaults_speed_range": (_set("defaults.speed", 10.0), r"defaults\.speed must be a number in \[0\.1, 4\.0\]"),
    "defaults_speaker_unknown": (_set("defaults.speaker", 9), r"defaults\.speaker is not a speaker of this voice"),
    "defaults_speaker_name": (_set("defaults.speaker", "dave"), r"defaults\.speaker is not a speaker"),
    "defaults_speaker_bool": (_set("defaults.speaker", True), r"defaults\.speaker must be a speaker id or name"),
    # top-level scalars
    "trained_str": (_set("trained", "false"), r"trained must be true or false, got 'false'"),
    "trained_int": (_set("trained", 0), r"trained must be true or false"),
    "sample_rate_bool": (_set("sample_rate", True), r"sample_rate must be an integer rate"),
    "sample_rate_str": (_set("sample_rate", "24000"), r"sample_rate must be an integer rate"),
    "sample_rate_unsupported": (_set("sample_rate", 12345), r"sample_rate must be an integer rate in Hz, one of"),
    "features_rate_unsupported": (_set("features.sample_rate", 12345), r"features\.sample_rate must be"),
    # features made for 24 kHz (fmax 12 kHz) declared at 16 kHz
    "features_rate_vs_vocoder": (_set("features.sample_rate", 16000),
                                 r"features\.fmax 12000 Hz is above the Nyquist frequency of features\.sample_rate 16000"),
    "rate_vs_vocoder_no_features_rate": (_many(_set("features.sample_rate", _DELETE), _set("sample_rate", 16000)),
                                         r"features\.fmax 12000 Hz is above the Nyquist frequency of sample_rate"),
    "features_invalid": (_set("features.win_length", 4096), r"features are invalid: .*win_length"),
    "features_fmax_str": (_set("features.fmax", "8000"), r"features are invalid: .*fmax"),
    "features_unknown": (_set("features.n_ftt", 1024), r"features are invalid: .*n_ftt"),
    "name_list": (_set("name", ["tiny"]), r"name must be a non-empty string"),
    "name_empty": (_set("name", " "), r"name must be a non-empty string"),
    "description_int": (_set("description", 3), r"description must be a string"),
    "frontend_list": (_set("frontend", []), r"frontend must be a JSON object"),
    "symbols_beyond_table": (lambda d: d["frontend"]["symbols"].extend(["\u00e6\u02d0", "x" * 2]),
                             r"frontend\.symbols has 183 symbols but the token embedding table holds "
                             r"acoustic\.hparams\.n_symbols = 181"),
    # a token id of a voice with several languages is symbol + len(symbols) x language, decoded
    # by the model with n_symbols: the two must agree or every second-language token is misread
    "languages_table_size": (_many(_set("acoustic.hparams.n_languages", 2),
                                   lambda d: d["frontend"]["symbols"].pop()),
                             r"frontend\.symbols has 180 symbols but a voice with several languages needs "
                             r"exactly acoustic\.hparams\.n_symbols = 181"),
    "receptive_field": (_set("vocoder.receptive_field_frames", 3),
                        r"vocoder\.receptive_field_frames is 3 but vocoder\.hparams give 13"),
    "onnx_not_object": (_set("onnx", "yes"), r"onnx must be a JSON object"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_voice_json_is_refused_naming_the_field(voice_copy, case):
    change, message = BROKEN[case]
    _edit(voice_copy, change)
    with pytest.raises(VoiceLoadError, match=message):
        load_voice(voice_copy)


VALID = {
    # a 22,050 Hz vocoder (fmax 8 kHz) in a 24 kHz voice, like the bundled default voice
    "networks_22050_output_24000": _many(_set("features.sample_rate", 22050), _set("features.fmax", 8000.0)),
    "output_resampled_to_16000": _set("sample_rate", 16000),
    "no_features_rate": _set("features.sample_rate", _DELETE),
    "hparam_defaults": _many(_set("acoustic.hparams.dropout", _DELETE), _set("vocoder.hparams.n_mels", _DELETE)),
    "optional_sections": _many(_set("defaults", _DELETE), _set("description", _DELETE), _set("trained", _DELETE)),
    "extra_sections": _many(_set("training", {"steps": 10, "config": {"lr": 1e-3}}), _set("license", "CC0")),
    "section_extras": _many(_set("acoustic.pitch_stats", {"mean": 0.0}), _set("vocoder.source", "g_02500000")),
    "speaker_alias_and_name_default": _many(_set("speakers.carol2", 2), _set("defaults.speaker", "bob")),
}


@pytest.mark.parametrize("case", list(VALID))
def test_valid_variants_load(voice_copy, case):
    _edit(voice_copy, VALID[case])
    voice = load_voice(voice_copy)
    assert voice.hop_length == 256 and voice.n_mels == 80


def test_networks_at_22050_in_a_24k_voice(voice_copy):
    _edit(voice_copy, VALID["networks_22050_output_24000"])
    voice = load_voice(voice_copy)
    assert (voice.sample_rate, voice.model_sample_rate) == (24000, 22050)
    _edit(voice_copy, _set("training", {"exact_durations": True}))
    assert dict(load_voice(voice_copy).extra) == {"training": {"exact_durations": True}}


# ------------------------------------------------------------------------------ raw files
def _write(voice_dir: Path, text: str) -> None:
    (voice_dir / "voice.json").write_text(text)


def test_deeply_nested_json(voice_copy):
    _edit(voice_copy, lambda d: d.update(training=json.loads("[" * 40 + "]" * 40)))
    with pytest.raises(VoiceLoadError, match="nested too deeply"):
        load_voice(voice_copy)
    _write(voice_copy, "[" * 100_000 + "]" * 100_000)  # beyond the interpreter's recursion limit
    with pytest.raises(VoiceLoadError, match="nested too deeply"):
        load_voice(voice_copy)


def test_duplicate_keys_and_nan_in_json(voice_copy):
    text = (voice_copy / "voice.json").read_text()
    _write(voice_copy, text.replace('"sample_rate": 24000,', '"sample_rate": 24000, "sample_rate": 16000,', 1))
    with pytest.raises(VoiceLoadError, match="duplicate key 'sample_rate'"):
        load_voice(voice_copy)
    _write(voice_copy, text.replace('"fmin": 0.0', '"fmin": NaN'))
    with pytest.raises(VoiceLoadError, match="not valid JSON.*NaN"):
        load_voice(voice_copy)


def test_huge_voice_json(voice_copy):
    with open(voice_copy / "voice.json", "ab") as handle:
        handle.truncate(17 << 20)
    with pytest.raises(VoiceLoadError, match="too large for a voice.json"):
        load_voice(voice_copy)


def test_voice_json_not_a_regular_file(voice_copy):
    (voice_copy / "voice.json").unlink()
    (voice_copy / "voice.json").mkdir()
    with pytest.raises(VoiceLoadError, match="voice.json is not a regular file"):
        load_voice(voice_copy)
    (voice_copy / "voice.json").rmdir()
    os.mkfifo(voice_copy / "voice.json")  # reading it would block forever
    with pytest.raises(VoiceLoadError, match="voice.json is not a regular file"):
        load_voice(voice_copy)


@pytest.mark.parametrize("name", ["voice.json", "acoustic.safetensors", "vocoder.safetensors"])
def test_symlink_loops(voice_copy, name):
    (voice_copy / name).unlink()
    (voice_copy / name).symlink_to(voice_copy / f"{name}.loop")
    (voice_copy / f"{name}.loop").symlink_to(voice_copy / name)
    with pytest.raises(VoiceLoadError, match="symlink loop"):
        load_voice(voice_copy)


def test_bundle_directory_symlink_loop(tmp_path):
    (tmp_path / "a").symlink_to(tmp_path / "b")
    (tmp_path / "b").symlink_to(tmp_path / "a")
    with pytest.raises(VoiceLoadError, match="symlink loop"):
        load_voice(tmp_path / "a")


def test_broken_symlink_and_directory_weights(voice_copy):
    (voice_copy / "vocoder.safetensors").unlink()
    (voice_copy / "vocoder.safetensors").symlink_to(voice_copy / "gone.safetensors")
    with pytest.raises(VoiceLoadError, match="missing vocoder.safetensors \\(a broken symlink\\)"):
        load_voice(voice_copy)
    (voice_copy / "vocoder.safetensors").unlink()
    (voice_copy / "vocoder.safetensors").mkdir()
    with pytest.raises(VoiceLoadError, match="vocoder weights is not a regular file"):
        load_voice(voice_copy)


def test_symlinked_weights_load(voice_copy, tmp_path):
    shared = tmp_path / "shared.safetensors"
    (voice_copy / "vocoder.safetensors").rename(shared)
    (voice_copy / "vocoder.safetensors").symlink_to(shared)
    assert load_voice(voice_copy).name == "tiny-en"


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
@pytest.mark.parametrize("name, what", [("voice.json", "voice.json"), ("acoustic.safetensors", "acoustic weights")])
def test_unreadable_files(voice_copy, name, what):
    (voice_copy / name).chmod(0)
    with pytest.raises(VoiceLoadError, match=f"cannot read {what} \\(Permission denied\\)"):
        load_voice(voice_copy)


@pytest.mark.parametrize("name, what", [("voice.json", "voice.json"), ("vocoder.safetensors", "vocoder weights")])
def test_unreadable_files_as_any_user(voice_copy, monkeypatch, name, what):
    # The same as test_unreadable_files where it is skipped (root): open() fails with EACCES.
    real_open = open

    def deny(path, *args, **kwargs):
        if Path(path).name == name:
            raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))
        return real_open(path, *args, **kwargs)

    monkeypatch.setattr(schema, "open", deny, raising=False)
    monkeypatch.setattr(weights, "open", deny, raising=False)
    with pytest.raises(VoiceLoadError, match=f"cannot read {what} \\(Permission denied\\)"):
        load_voice(voice_copy)


# ------------------------------------------------------------------------------ weights
def _rewrite_weights(path: Path, change) -> None:
    from safetensors.numpy import load_file, save_file

    tensors = load_file(str(path))
    change(tensors)
    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.mark.parametrize("garbage, message", [
    (b"\x00garbage" * 100, "cannot read acoustic weights"),
    (b"", "cannot read acoustic weights \\(truncated"),
    (b"\x10\x00\x00\x00\x00\x00\x00\x00{not json}      ", "cannot read acoustic weights .*not valid JSON"),
])
def test_unreadable_weights_at_load(voice_copy, garbage, message):
    (voice_copy / "acoustic.safetensors").write_bytes(garbage)
    with pytest.raises(VoiceLoadError, match=message):
        load_voice(voice_copy)  # before: only the torch backend noticed; ONNX Runtime never read them


def test_truncated_weights_at_load(voice_copy):
    path = voice_copy / "vocoder.safetensors"
    path.write_bytes(path.read_bytes()[:-4])
    with pytest.raises(VoiceLoadError, match="cannot read vocoder weights .*truncated or corrupt"):
        load_voice(voice_copy)


def test_int32_weights(voice_copy):
    def to_int(tensors):
        tensors["mel_proj.weight"] = tensors["mel_proj.weight"].astype(np.int32)

    _rewrite_weights(voice_copy / "acoustic.safetensors", to_int)
    with pytest.raises(VoiceLoadError, match=r"acoustic weights must be floating point .*mel_proj\.weight: I32"):
        load_voice(voice_copy)


def test_missing_and_unexpected_tensors(voice_copy):
    _rewrite_weights(voice_copy / "vocoder.safetensors", lambda t: t.pop("conv_post.bias"))
    with pytest.raises(VoiceLoadError, match=r"vocoder\.hparams do not match vocoder\.safetensors: "
                                             r"missing tensors \['conv_post\.bias'\]"):
        load_voice(voice_copy)
    _rewrite_weights(voice_copy / "vocoder.safetensors", lambda t: t.update({"conv_post.bias": np.zeros(1, np.float32),
                                                                             "extra.weight": np.zeros(2, np.float32)}))
    with pytest.raises(VoiceLoadError, match=r"unexpected tensors \['extra\.weight'\]"):
        load_voice(voice_copy)


def test_fp16_weights_load(voice_copy):
    def half(tensors):
        for name in list(tensors):
            tensors[name] = tensors[name].astype(np.float16)

    _rewrite_weights(voice_copy / "vocoder.safetensors", half)
    assert load_voice(voice_copy).name == "tiny-en"


@requires_torch
def test_nan_and_int_weights_on_the_torch_backend(voice_copy):
    from ttsengine import Synthesizer

    def poison(tensors):
        tensors["mel_proj.weight"] = tensors["mel_proj.weight"].copy()
        tensors["mel_proj.weight"][0, 0] = np.nan

    _rewrite_weights(voice_copy / "acoustic.safetensors", poison)
    load_voice(voice_copy)  # the header is fine; the values are read by the backend that uses them
    with pytest.raises(VoiceLoadError, match=r"acoustic weights: NaN or infinite values in 1 tensors \(mel_proj"):
        Synthesizer(voice_copy, backend="torch", device="cpu")


@requires_torch
def test_load_state_checked_refuses_int_and_nonfinite():
    import torch

    from ttsengine.models.checkpoint import load_state_checked

    model = torch.nn.Linear(2, 2)
    state = {k: v.clone() for k, v in model.state_dict().items()}
    with pytest.raises(VoiceLoadError, match=r"must be floating point, found dtype weight: torch\.int32"):
        load_state_checked(model, {**state, "weight": state["weight"].to(torch.int32)}, "w")
    with pytest.raises(VoiceLoadError, match=r"NaN or infinite values in 1 tensors \(bias\)"):
        load_state_checked(model, {**state, "bias": torch.tensor([1.0, float("inf")])}, "w")
    assert load_state_checked(model, state, "w") is model


# ------------------------------------------------------------------------------ ONNX graphs
ONNX_BROKEN = {
    "sha256_list": (_set("onnx.graphs.encoder.sha256", ["abc"]), r"onnx\.graphs\.encoder\.sha256 must be a JSON object"),
    "sha256_int": (_set("onnx.graphs.decoder.sha256.fp32", 12), r"onnx\.graphs\.decoder\.sha256\.fp32 must be a 64-digit"),
    "sha256_missing": (_set("onnx.graphs.vocoder.sha256", _DELETE), r"onnx\.graphs\.vocoder\.sha256 must be a JSON object"),
    "sha256_extra": (_set("onnx.graphs.vocoder.sha256.fp16", "0" * 64), r"onnx\.graphs\.vocoder\.sha256 lists graphs \['fp16'\]"),
    "graph_missing": (_set("onnx.graphs.vocoder", _DELETE), r"onnx\.graphs\.vocoder is missing"),
    "graph_unknown": (_set("onnx.graphs.postnet", {}), r"onnx\.graphs has unknown graphs \['postnet'\]"),
    "graphs_list": (_set("onnx.graphs", []), r"onnx\.graphs must be a JSON object"),
    "graph_path_int": (_set("onnx.graphs.encoder.fp32", 1), r"onnx\.graphs\.encoder\.fp32 must be a non-empty string"),
    "graph_fp32_missing": (_set("onnx.graphs.encoder.fp32", _DELETE), r"onnx\.graphs\.encoder\.fp32 is missing"),
    "graph_file_missing": (_set("onnx.graphs.decoder.fp32", "onnx/nope.onnx"), r"missing nope\.onnx"),
    "graph_absolute": (_set("onnx.graphs.decoder.fp32", "/etc/hostname"), r"must be a path inside the bundle"),
    "graph_outside": (_set("onnx.graphs.decoder.fp32", "../outside.onnx"), r"'\.\./outside\.onnx' leaves the bundle"),
    "contract_names": (_set("onnx.graphs.vocoder.inputs", {"mel": {"dtype": "float32", "shape": ["batch", 80, "frames"]}}),
                       r"onnx\.graphs\.vocoder\.inputs are \['mel'\], the ONNX contract says \['mel', 'frame_lengths'\]"),
    "contract_missing": (_set("onnx.graphs.encoder.outputs", _DELETE), r"onnx\.graphs\.encoder\.outputs must be a JSON object"),
    # the graphs' I/O contract against d_model, n_mels, hop_length of voice.json
    "graphs_n_mels": (_set("onnx.graphs.decoder.outputs.mel.shape", ["batch", 100, "frames"]),
                      r"onnx\.graphs\.decoder\.outputs\.mel is .* features\.n_mels is 80, the graphs were exported for"),
    "graphs_d_model": (_many(_set("onnx.graphs.encoder.outputs.hidden.shape", ["batch", "tokens", 256]),
                             _set("onnx.graphs.decoder.inputs.frames.shape", ["batch", "frames", 256])),
                       r"onnx\.graphs\.encoder\.outputs\.hidden is .* acoustic\.hparams\.d_model is 128"),
    "graphs_hop": (_set("onnx.graphs.vocoder.outputs.wave.shape", ["batch", "frames*300"]),
                   r"onnx\.graphs\.vocoder\.outputs\.wave is .* features\.hop_length is 256"),
    "graphs_dtype": (_set("onnx.graphs.encoder.inputs.tokens.dtype", "int32"), r"onnx\.graphs\.encoder\.inputs\.tokens is"),
    "opset": (_set("onnx.opset", "17"), r"onnx\.opset must be a positive integer"),
}


@pytest.mark.parametrize("case", list(ONNX_BROKEN))
def test_broken_onnx_section_is_refused_naming_the_field(onnx_copy, case):
    change, message = ONNX_BROKEN[case]
    (onnx_copy.parent / "outside.onnx").write_bytes(b"x")
    _edit(onnx_copy, change)
    with pytest.raises(VoiceLoadError, match=message):
        load_voice(onnx_copy)


def test_graph_symlink_loop(onnx_copy):
    graph = onnx_copy / "onnx" / "decoder.onnx"
    graph.unlink()
    graph.symlink_to(onnx_copy / "onnx" / "loop.onnx")
    (onnx_copy / "onnx" / "loop.onnx").symlink_to(graph)
    with pytest.raises(VoiceLoadError, match="decoder graph: a symlink loop"):
        load_voice(onnx_copy)


def test_onnx_voice_loads(onnx_copy):
    voice = load_voice(onnx_copy)
    assert set(voice.onnx["graphs"]) == {"encoder", "decoder", "vocoder"}


@pytest.mark.parametrize("field, change, message", [
    ("n_mels", lambda v: {"features": MappingProxyType({**v.features, "n_mels": 100})}, r"\(features\.n_mels\) needs"),
    ("hop_length", lambda v: {"features": MappingProxyType({**v.features, "hop_length": 300})},
     r"\(features\.hop_length\) needs"),
    ("d_model", lambda v: {"acoustic": MappingProxyType({**v.acoustic, "hparams": {**v.acoustic["hparams"], "d_model": 64}})},
     r"\(acoustic\.hparams\.d_model\) needs"),
])
def test_onnxruntime_checks_the_sessions_shapes(onnx_copy, field, change, message):
    # Graphs (sha256 intact) that do not have the I/O shapes voice.json implies: the session
    # check names the field (before: only the I/O names were compared; requests failed later).
    pytest.importorskip("onnxruntime")
    from ttsengine.backends.onnxruntime_backend import OnnxRuntimeBackend

    voice = load_voice(onnx_copy)
    with pytest.raises(VoiceLoadError, match=message):
        OnnxRuntimeBackend(dataclasses.replace(voice, **change(voice)), device="cpu")


def test_onnxruntime_unreadable_graph(onnx_copy, monkeypatch):
    pytest.importorskip("onnxruntime")
    from ttsengine.backends import onnxruntime_backend

    voice = load_voice(onnx_copy)

    def deny(path):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES), str(path))

    monkeypatch.setattr(onnxruntime_backend, "_sha256", deny)
    with pytest.raises(VoiceLoadError, match=r"cannot read the encoder graph \(Permission denied\)"):
        onnxruntime_backend.OnnxRuntimeBackend(voice, device="cpu")


# ------------------------------------------------------------------------------ schema drift
@requires_torch
def test_hparams_schema_matches_the_model_configs():
    from ttsengine.models.acoustic import AcousticConfig
    from ttsengine.models.hifigan import HiFiGANConfig

    for config, hparams in ((AcousticConfig, schema._ACOUSTIC_HPARAMS),
                            (HiFiGANConfig, schema._HIFIGAN_HPARAMS)):
        fields = {f.name: f.default for f in dataclasses.fields(config)}
        assert list(fields) == list(hparams), config.__name__
        for name, default in fields.items():
            want = schema._REQUIRED if default is dataclasses.MISSING else default
            assert hparams[name][1] == want, f"{config.__name__}.{name}"


def _typed(schema, values):
    return {k: tuple(tuple(x) if isinstance(x, list) else x for x in v) if isinstance(v, list) else v
            for k, v in {**{k: d for k, (_, d) in schema.items()}, **values}.items()}


@requires_torch
@pytest.mark.parametrize("size", ["tiny", "small", "base"])
@pytest.mark.parametrize("pitch, energy, decoder_kernels", [
    (False, False, None), (True, False, None), (False, True, None), (True, True, None), (False, False, (3, 1))])
def test_expected_acoustic_tensors_match_the_model(size, pitch, energy, decoder_kernels):
    import torch

    from ttsengine.models.acoustic import AcousticModel, acoustic_config

    config = acoustic_config(size, n_symbols=57, n_speakers=5, use_pitch=pitch, use_energy=energy,
                             decoder_ffn_kernels=decoder_kernels)
    with torch.device("meta"):
        model = AcousticModel(config)
    expected = shapes.acoustic_tensors(_typed(schema._ACOUSTIC_HPARAMS, config.to_dict()))
    assert {k: tuple(s for s, _ in v) for k, v in expected.items()} == {
        k: tuple(v.shape) for k, v in model.state_dict().items()}


@requires_torch
@pytest.mark.parametrize("variant", ["v1", "v2", "v3"])
@pytest.mark.parametrize("resblock", ["1", "2"])
def test_expected_vocoder_tensors_and_receptive_field_match_the_model(variant, resblock):
    import torch

    from ttsengine.models.hifigan import HIFIGAN_CONFIGS, HiFiGANGenerator, hifigan_receptive_field

    config = dataclasses.replace(HIFIGAN_CONFIGS[variant], resblock=resblock)
    with torch.device("meta"):
        model = HiFiGANGenerator(config)
    h = _typed(schema._HIFIGAN_HPARAMS, config.to_dict())
    expected = shapes.hifigan_tensors(h)
    assert {k: tuple(s for s, _ in v) for k, v in expected.items()} == {
        k: tuple(v.shape) for k, v in model.state_dict().items()}
    assert shapes.hifigan_receptive_field_frames(h) == hifigan_receptive_field(config)


@requires_torch
@pytest.mark.parametrize("part, change", [
    ("acoustic", {"d_model": 30, "n_heads": 4}), ("acoustic", {"ffn_kernels": [3]}),
    ("acoustic", {"ffn_kernels": [4, 1]}), ("acoustic", {"decoder_ffn_kernels": [3, 2]}),
    ("acoustic", {"duration_kernel": 2}), ("acoustic", {"dropout": 1.0}),
    ("acoustic", {"enc_layers": -1}), ("acoustic", {"n_mels": 0}), ("acoustic", {"init_frames_per_token": -1.0}),
    ("vocoder", {"resblock": "3"}), ("vocoder", {"upsample_rates": []}), ("vocoder", {"upsample_kernel_sizes": [16, 16, 4]}),
    ("vocoder", {"upsample_kernel_sizes": [16, 16, 5, 4]}), ("vocoder", {"resblock_kernel_sizes": [3, 5]}),
    ("vocoder", {"upsample_initial_channel": 100}), ("vocoder", {"n_mels": 0}),
])
def test_hparams_rules_match_the_model_configs(part, change):
    # every hparams set the model configs refuse, load_voice refuses too (without torch)
    from ttsengine.models.acoustic import AcousticConfig, acoustic_config
    from ttsengine.models.hifigan import HIFIGAN_CONFIGS, HiFiGANConfig

    base = (acoustic_config("tiny", 10, 1) if part == "acoustic" else HIFIGAN_CONFIGS["v2"]).to_dict()
    config = {**base, **change}
    with pytest.raises(ValueError):
        (AcousticConfig if part == "acoustic" else HiFiGANConfig).from_dict(config)
    hparams = schema._ACOUSTIC_HPARAMS if part == "acoustic" else schema._HIFIGAN_HPARAMS
    rules = schema._check_acoustic_hparams if part == "acoustic" else schema._check_hifigan_hparams
    checker = schema._Checker(Path("voice.json"))
    with pytest.raises(VoiceLoadError, match=rf"{part}\.hparams"):
        rules(checker, checker.hparams({"hparams": config}, part, hparams))


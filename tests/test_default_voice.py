"""The shipped `default` voice: trained, 24 kHz out of a 22,050 Hz vocoder, fp16-stored weights
with ONNX graphs, <= 80 MB, licenses and a model card in the bundle, and it produces voiced
audio of a plausible length (intelligibility itself is measured by benchmarks/quality.py)."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from ttsengine import Synthesizer
from ttsengine.voice import load_voice


@pytest.fixture(scope="module")
def voice():
    return load_voice("default")


def test_bundle_metadata(voice):
    assert voice.trained and voice.name == "default"
    assert (voice.sample_rate, voice.model_sample_rate) == (24000, 22050)
    assert voice.frontend["g2p"] == "misaki" and voice.vocoder["hparams"]["upsample_initial_channel"] == 512
    licenses = voice.extra["license"]
    assert licenses["voice"] == "Apache-2.0"
    assert {c["license"] for c in licenses["components"]} == {"Apache-2.0", "MIT"}
    for name in ("hibari-NOTICE", "hibari-LICENSE", "hifigan-MIT"):
        assert (voice.path / "LICENSES" / name).stat().st_size > 100
    card = (voice.path / "MODEL_CARD.md").read_text(encoding="utf-8")
    for needle in ("hibari", "Kokoro-82M", "WER", "MIT", "steps"):
        assert needle in card
    training = voice.extra["training"]
    assert training["exact_durations"] and training["acoustic_steps"] > 0
    assert not (voice.path / "aligner.safetensors").exists()


def test_size_and_fp16_storage(voice):
    files = [f for f in voice.path.rglob("*") if f.is_file()]
    assert sum(f.stat().st_size for f in files) <= 80 * 10**6
    for name in ("acoustic.safetensors", "vocoder.safetensors"):
        header_len = int.from_bytes((voice.path / name).read_bytes()[:8], "little")
        header = json.loads((voice.path / name).read_bytes()[8:8 + header_len])
        dtypes = {v["dtype"] for k, v in header.items() if k != "__metadata__"}
        assert dtypes == {"F16"}, (name, dtypes)
    for graph in voice.onnx["graphs"].values():
        data = (voice.path / graph["fp32"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == graph["sha256"]["fp32"]


def test_it_makes_voiced_speech_of_a_plausible_length():
    from ttsengine.audio import FeatureConfig
    from ttsengine.training.prepare import estimate_log_f0

    synth = Synthesizer("default", device="cpu", backend="onnxruntime")
    audio = synth.synthesize("The weather is lovely today, so we walked to the park.")
    assert audio.sample_rate == 24000
    assert 2.0 < audio.duration < 5.5  # ~14 syllables at a natural rate
    rms_db = 20 * np.log10(np.sqrt(np.mean(audio.samples ** 2)))
    assert -35 < rms_db < -6 and np.abs(audio.samples).max() < 1.0
    lf0 = estimate_log_f0(audio.samples, FeatureConfig(sample_rate=24000))
    voiced = lf0[lf0 > 0]
    assert voiced.size > 0.3 * lf0.size  # speech is mostly voiced; noise is not
    assert 140 < np.exp(np.median(voiced)) < 280  # the teacher's (female) range


def test_carries_its_cpu_vocoder(voice):
    """The CPU vocoder ships in the bundle (weights, graph, provenance, license) and is what a CPU runs."""
    assert voice.vocoders == ("hifigan", "istft")
    assert voice.cpu_vocoder["arch"] == "istft" and voice.cpu_vocoder["distilled_steps"] > 0
    assert "cpu_vocoder" in voice.onnx["graphs"] and (voice.path / "cpu_vocoder.safetensors").is_file()
    parts = " ".join(c["part"] for c in voice.extra["license"]["components"])
    assert "cpu_vocoder.safetensors" in parts
    from ttsengine.backends import choose_vocoder

    assert choose_vocoder(voice, "auto", "cpu") == "istft"
    assert choose_vocoder(voice, "auto", "cuda") == "hifigan"

"""End to end through Synthesizer on a tiny seeded voice (torch backend, CPU)."""

from __future__ import annotations

import numpy as np
import pytest

from ttsengine import Audio, AudioChunk, Synthesizer
from ttsengine.errors import BackendUnavailableError, InvalidInputError

TEXT = "The quick brown fox jumps over the lazy dog."
LONG = " ".join(
    f"Sentence number {i} talks about speech synthesis, streaming, and batching in one engine." for i in range(8)
)


def test_synthesize_returns_speech_length_audio(tiny_synth):
    audio = tiny_synth.synthesize(TEXT)
    assert isinstance(audio, Audio)
    assert audio.sample_rate == 24000
    assert audio.samples.dtype == np.float32 and audio.samples.ndim == 1
    assert np.abs(audio.samples).max() <= 1.0
    assert np.isfinite(audio.samples).all() and np.abs(audio.samples).max() > 0
    # ~45 phoneme symbols at ~6 frames each (untrained duration prior): seconds, not ms or minutes.
    assert 1.0 < audio.duration < 10.0, audio.duration
    assert len(audio.samples) % 256 == 0


def test_reported_choices(tiny_synth):
    assert (tiny_synth.backend, tiny_synth.device, tiny_synth.precision) == ("torch", "cpu", "fp32")
    assert tiny_synth.voice.speakers == {"alice": 0, "bob": 1, "carol": 2}


def test_deterministic(tiny_synth):
    np.testing.assert_array_equal(tiny_synth.synthesize(TEXT).samples, tiny_synth.synthesize(TEXT).samples)


def test_speaker_by_name_equals_by_id_and_speakers_differ(tiny_synth):
    by_name = tiny_synth.synthesize(TEXT, speaker="bob").samples
    by_id = tiny_synth.synthesize(TEXT, speaker=1).samples
    np.testing.assert_array_equal(by_name, by_id)
    other = tiny_synth.synthesize(TEXT, speaker="alice").samples
    assert len(other) != len(by_name) or not np.allclose(other, by_name)


@pytest.mark.parametrize("speed", [0.5, 2.0])
def test_speed_scales_duration(tiny_synth, speed):
    natural = tiny_synth.synthesize(TEXT).duration
    changed = tiny_synth.synthesize(TEXT, speed=speed).duration
    ratio = natural / changed
    assert abs(ratio - speed) / speed < 0.05, f"duration ratio {ratio:.3f} for speed {speed}"


@pytest.mark.parametrize("rate", [8000, 16000, 22050, 44100, 48000])
def test_output_sample_rate(tiny_synth, rate):
    native = tiny_synth.synthesize(TEXT)
    audio = tiny_synth.synthesize(TEXT, sample_rate=rate)
    assert audio.sample_rate == rate
    assert abs(audio.duration - native.duration) < 1e-3


def test_batch_equals_single(tiny_synth):
    texts = ["Hi.", TEXT, "A somewhat longer sentence, with a comma, to pad the batch.", "Okay."]
    singles = [tiny_synth.synthesize(t, speaker="carol") for t in texts]
    batch = tiny_synth.synthesize_batch(texts, speaker="carol")
    worst = 0.0
    for single, batched in zip(singles, batch):
        assert len(single.samples) == len(batched.samples)
        worst = max(worst, float(np.abs(single.samples - batched.samples).max()))
    # Masked padding makes every row its own single run: measured 1.5e-8 (peak ~0.1),
    # float32 rounding.
    assert worst < 1e-6, f"batch vs single max abs error {worst:.2e}"


def test_batch_with_one_speaker_per_text(tiny_synth):
    batch = tiny_synth.synthesize_batch(["Hello there.", "Hello there."], speaker=["alice", "bob"])
    np.testing.assert_allclose(batch[0].samples, tiny_synth.synthesize("Hello there.", speaker="alice").samples, atol=1e-4)
    np.testing.assert_allclose(batch[1].samples, tiny_synth.synthesize("Hello there.", speaker="bob").samples, atol=1e-4)


@pytest.mark.parametrize("rate", [None, 16000, 22050])
def test_stream_equals_full(tiny_synth, rate):
    text = LONG[:400]
    full = tiny_synth.synthesize(text, sample_rate=rate)
    chunks = list(tiny_synth.synthesize_stream(text, sample_rate=rate))
    assert all(isinstance(c, AudioChunk) for c in chunks)
    assert len(chunks) > 3, "the text should stream in several chunks"
    assert [c.is_last for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert all(c.sample_rate == full.sample_rate for c in chunks)
    streamed = np.concatenate([c.samples for c in chunks])
    assert len(streamed) == len(full.samples)
    error = float(np.abs(streamed - full.samples).max())
    # Chunks carry the vocoder's receptive field of mel context: measured 1.5e-8 (peak
    # ~0.1), float32 rounding.
    assert error < 1e-6, f"stream vs full max abs error {error:.2e}"


def test_stream_validates_before_iterating(tiny_synth):
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_stream("   ")
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_stream(TEXT, speaker="nobody")


def test_long_text_is_split_into_bounded_segments(tiny_synth):
    segments = tiny_synth.frontend.segments(LONG * 3)
    assert len(segments) >= 24
    assert all(len(s.text) <= 200 for s in segments)
    audio = tiny_synth.synthesize(LONG)
    pieces = [tiny_synth.synthesize(s.text) for s in tiny_synth.frontend.segments(LONG)]
    pauses = sum(s.pause_after for s in tiny_synth.frontend.segments(LONG))
    expected = sum(p.duration for p in pieces) + pauses
    assert abs(audio.duration - expected) < 0.01


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"text": ""}, "empty"),
        ({"text": "   \n\t "}, "empty"),
        ({"text": "!!! ... ???"}, "speakable"),
        ({"text": TEXT, "speaker": "nobody"}, "alice=0"),
        ({"text": TEXT, "speaker": 7}, "alice=0"),
        ({"text": TEXT, "speed": 0}, "speed"),
        ({"text": TEXT, "speed": -1.0}, "speed"),
        ({"text": TEXT, "speed": 5.0}, "speed"),
        ({"text": TEXT, "speed": float("nan")}, "speed"),
        ({"text": TEXT, "sample_rate": 12345}, "sample_rate"),
        ({"text": 42}, "str"),
    ],
)
def test_bad_input_raises_invalid_input(tiny_synth, kwargs, match):
    text = kwargs.pop("text")
    with pytest.raises(InvalidInputError, match=match) as info:
        tiny_synth.synthesize(text, **kwargs)
    assert "\n" not in str(info.value)


def test_unavailable_backends_and_devices(tiny_voice):
    import torch

    with pytest.raises(BackendUnavailableError, match="onnxruntime"):
        Synthesizer(tiny_voice, backend="onnxruntime")
    with pytest.raises(BackendUnavailableError, match="tensorrt"):
        Synthesizer(tiny_voice, backend="tensorrt")
    with pytest.raises(InvalidInputError, match="backend"):
        Synthesizer(tiny_voice, backend="tflite")
    with pytest.raises(InvalidInputError, match="device"):
        Synthesizer(tiny_voice, device="tpu")
    with pytest.raises(InvalidInputError, match="precision"):
        Synthesizer(tiny_voice, precision="int3")
    if not torch.cuda.is_available():
        with pytest.raises(BackendUnavailableError, match="CUDA"):
            Synthesizer(tiny_voice, device="cuda")
        with pytest.raises(BackendUnavailableError, match="fp16"):
            Synthesizer(tiny_voice, device="cpu", precision="fp16")
        assert Synthesizer(tiny_voice, device="auto").device == "cpu"

"""End to end through Synthesizer on a tiny seeded voice (torch backend, CPU)."""

from __future__ import annotations

import json
import logging
import pickle
from fractions import Fraction

import numpy as np
import pytest

from ttsengine import Audio, AudioChunk, Synthesizer
from ttsengine.errors import BackendUnavailableError, InvalidInputError
from ttsengine.pipeline.workspace import BufferLimits

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
    lead = len(tiny_synth._lead_in()) / tiny_synth.voice.model_sample_rate  # once per result
    expected = sum(p.duration - lead for p in pieces) + pauses + lead
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


# --------------------------------------------------------------------------- scripts, invalid text

def _drop_warnings(caplog) -> list[str]:
    return [r.getMessage() for r in caplog.records
            if r.name == "ttsengine" and "cannot speak" in r.getMessage()]


HAN_PARAGRAPH = "你好世界，今天天气很好。" * 20  # espeak read "Chinese letter" per character


@pytest.mark.parametrize("text", ["你好世界", HAN_PARAGRAPH, "Привет, мир!"])
def test_unspeakable_script_is_refused_naming_it(tiny_synth, text):
    script = "Cyrillic" if "П" in text else "Han"
    with pytest.raises(InvalidInputError, match=rf"{script} \(\d+ characters\)"):
        tiny_synth.synthesize(text)
    with pytest.raises(InvalidInputError, match=script):
        tiny_synth.synthesize_stream(text)  # at the call, not on the first next()
    with pytest.raises(InvalidInputError, match=rf"texts\[1\]: .*{script}"):
        tiny_synth.synthesize_batch(["Hello.", text])


def test_other_scripts_dropped_with_one_warning(tiny_synth, caplog):
    clean = tiny_synth.synthesize("Hello there. Bye now.")
    mixed = "Hello 你好世界 there. Привет! Bye now."
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        audio = tiny_synth.synthesize(mixed)
    (warning,) = _drop_warnings(caplog)
    assert "Han (4 characters)" in warning and "Cyrillic (6 characters)" in warning
    np.testing.assert_array_equal(audio.samples, clean.samples)

    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        stream = tiny_synth.synthesize_stream(mixed)
        assert len(_drop_warnings(caplog)) == 1  # warned at the call, before iterating
        streamed = np.concatenate([c.samples for c in stream])
    assert len(_drop_warnings(caplog)) == 1
    assert len(streamed) == len(clean.samples)


def test_batch_warns_once_for_all_texts(tiny_synth, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        audios = tiny_synth.synthesize_batch(["Hi 你好.", "Okay Привет.", "Fine."])
    assert len(audios) == 3
    (warning,) = _drop_warnings(caplog)
    assert "Han (2 characters)" in warning and "Cyrillic (6 characters)" in warning


def test_lone_surrogate_is_dropped(tiny_synth, caplog):
    text = json.loads('"Hello there. \\ud800"')  # valid JSON, invalid text
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        audio = tiny_synth.synthesize(text)  # was a raw UnicodeEncodeError from phonemizer
    np.testing.assert_array_equal(audio.samples, tiny_synth.synthesize("Hello there.").samples)
    (warning,) = _drop_warnings(caplog)
    assert "surrogate" in warning
    with pytest.raises(InvalidInputError, match="surrogate"):
        tiny_synth.synthesize("\ud800\udfff\ud800")  # nothing valid: a low+high pair is no pair


# --------------------------------------------------------------------------- numbers

@pytest.mark.parametrize("speed", [np.float32(1.5), np.float64(1.5), Fraction(3, 2)])
def test_speed_accepts_any_real(tiny_synth, speed):
    np.testing.assert_array_equal(tiny_synth.synthesize("Hi.", speed=speed).samples,
                                  tiny_synth.synthesize("Hi.", speed=1.5).samples)


def test_integral_numpy_scalars(tiny_synth):
    reference = tiny_synth.synthesize("Hi.", speed=2, speaker=1, sample_rate=16000).samples
    for kwargs in [
        dict(speed=np.int64(2), speaker=np.int64(1), sample_rate=np.int64(16000)),
        dict(speed=np.int32(2), speaker=np.uint8(1), sample_rate=np.int32(16000)),
        dict(speed=2, speaker=np.str_("bob"), sample_rate=16000),
    ]:
        np.testing.assert_array_equal(tiny_synth.synthesize("Hi.", **kwargs).samples, reference)


def test_batch_accepts_numpy_speakers_texts_and_max_batch(tiny_synth):
    texts = ["Hi.", "Okay."]
    reference = tiny_synth.synthesize_batch(texts, speaker=[0, 2])
    for speakers in (np.array([0, 2]), np.array(["alice", "carol"]), (np.int64(0), np.int64(2))):
        for got, want in zip(tiny_synth.synthesize_batch(np.array(texts), speaker=speakers,
                                                         max_batch=np.int64(1)), reference):
            np.testing.assert_allclose(got.samples, want.samples, atol=1e-6)
    one = tiny_synth.synthesize_batch(texts, speaker=np.array(2))  # a 0-d array: one speaker
    assert all(len(a.samples) == len(b.samples) for a, b in zip(one, reference))


@pytest.mark.parametrize("kwargs, match", [
    ({"speed": True}, "speed must be a real number"),
    ({"speed": np.bool_(True)}, "speed must be a real number"),
    ({"speed": "1.0"}, "speed must be a real number"),
    ({"speed": 10**400}, "speed must be a finite number"),
    ({"speed": -(10**400)}, "speed must be a finite number"),
    ({"speed": float("inf")}, "speed must be a finite number"),
    ({"speed": np.float32("nan")}, "speed must be a finite number"),
    ({"speed": np.float64(1e300)}, r"speed must be within"),
    ({"sample_rate": 16000.0}, "sample_rate"),
    ({"sample_rate": np.float64(16000)}, "sample_rate"),
    ({"sample_rate": True}, "sample_rate"),
    ({"sample_rate": 10**400}, "sample_rate"),
    ({"speaker": 10**400}, "speaker id"),
    ({"speaker": np.int64(7)}, "alice=0"),
    ({"speaker": True}, "alice=0"),
    ({"speaker": 1.0}, "alice=0"),
])
def test_bad_numbers_raise_invalid_input(tiny_synth, kwargs, match):
    for call in (tiny_synth.synthesize, tiny_synth.synthesize_stream):
        with pytest.raises(InvalidInputError, match=match) as info:
            call("Hi.", **kwargs)
        assert "\n" not in str(info.value) and len(str(info.value)) < 300


@pytest.mark.parametrize("kwargs, match", [
    ({"max_batch": "2"}, "max_batch must be an integer"),
    ({"max_batch": 2.0}, "max_batch must be an integer"),
    ({"max_batch": True}, "max_batch must be an integer"),
    ({"max_batch": 0}, "max_batch must be >= 1"),
    ({"speaker": np.array([[0, 1]])}, "1-D"),
    ({"speaker": [0]}, "1 speakers for 2 texts"),
    ({"speaker": b"alice"}, "speaker"),
])
def test_bad_batch_arguments(tiny_synth, kwargs, match):
    with pytest.raises(InvalidInputError, match=match):
        tiny_synth.synthesize_batch(["Hi.", "Okay."], **kwargs)


@pytest.mark.parametrize("texts, match", [
    ("Hi.", "sequence of strings"),
    (np.array([["Hi."]]), "sequence of strings"),
    (["Hi.", None], r"texts\[1\]: text must be a str"),
    (["Hi.", "  "], r"texts\[1\]: text is empty"),
])
def test_bad_batch_texts(tiny_synth, texts, match):
    with pytest.raises(InvalidInputError, match=match):
        tiny_synth.synthesize_batch(texts)


# --------------------------------------------------------------------------- constructor, pickle

@pytest.mark.parametrize("args, kwargs, match", [
    ((None,), {}, "voice must be"),
    ((42,), {}, "voice must be"),
    ((), {"device": None}, "device must be a string"),
    ((), {"backend": 1}, "backend must be"),
    ((), {"backend": ["torch"]}, "backend must be"),
    ((), {"precision": None}, "precision must be"),
    ((), {"num_threads": "2"}, "num_threads must be an integer"),
    ((), {"num_threads": 2.0}, "num_threads must be an integer"),
    ((), {"num_threads": True}, "num_threads must be an integer"),
    ((), {"num_threads": 0}, "num_threads must be within"),
    ((), {"num_threads": 10**400}, "num_threads must be within"),
    ((), {"buffers": "big"}, "buffers must be a BufferLimits"),
])
def test_constructor_rejects_bad_arguments(tiny_voice, args, kwargs, match):
    with pytest.raises(InvalidInputError, match=match) as info:
        Synthesizer(*(args or (tiny_voice,)), **kwargs)
    assert len(str(info.value)) < 300


def test_pickle_round_trip(tiny_synth):
    payload = pickle.dumps(tiny_synth)
    assert len(payload) < 2000  # the voice path and options, never the weights
    copy = pickle.loads(payload)
    assert copy is not tiny_synth and copy.voice.path == tiny_synth.voice.path
    assert (copy.backend, copy.device, copy.precision) == ("torch", "cpu", "fp32")
    np.testing.assert_array_equal(copy.synthesize(TEXT, speaker="bob").samples,
                                  tiny_synth.synthesize(TEXT, speaker="bob").samples)


def test_pickle_keeps_options(tiny_voice):
    synth = Synthesizer(tiny_voice, device="cpu", backend="torch", buffers=BufferLimits(max_batch=3))
    copy = pickle.loads(pickle.dumps(synth))
    assert copy.buffers == BufferLimits(max_batch=3)


# --------------------------------------------------------------------------- speed scales everything

PARAGRAPH = ("The first sentence is here. A second one follows it! Then a third, with a comma? "
             "And the fourth sentence ends the paragraph.")


@pytest.mark.parametrize("speed", [2.0, 4.0, 0.5])
def test_speed_scales_a_paragraph_including_pauses(tiny_synth, speed):
    rate = tiny_synth.voice.model_sample_rate  # no resampling: lengths exact in samples
    segments = tiny_synth.frontend.segments(PARAGRAPH)
    assert len(segments) == 4 and sum(s.pause_after for s in segments) == pytest.approx(0.75)
    lead = len(tiny_synth._lead_in())  # the lead-in silence does not scale with speed
    natural = len(tiny_synth.synthesize(PARAGRAPH, sample_rate=rate).samples) - lead
    scaled = len(tiny_synth.synthesize(PARAGRAPH, speed=speed, sample_rate=rate).samples) - lead
    # The regulator rounds each segment's total frames once (cumulative rounding), and each
    # pause is rounded to a sample: per segment the speed-s length is within
    # (0.5 + 0.5 / s) frames + (0.5 + 0.5 / s) samples of the natural length / s.
    bound = len(segments) * (0.5 + 0.5 / speed) * (tiny_synth.voice.hop_length + 1)
    assert abs(scaled - natural / speed) <= bound, (scaled, natural / speed, bound)
    assert abs(scaled * speed / natural - 1) < 0.03  # the unscaled pauses were 3-7 % off here
    # the batch and the stream scale the pauses the same way
    (batched,) = tiny_synth.synthesize_batch([PARAGRAPH], speed=speed, sample_rate=rate)
    assert len(batched.samples) - lead == scaled
    if speed == 2.0:
        streamed = sum(len(c.samples) for c in tiny_synth.synthesize_stream(PARAGRAPH, speed=speed,
                                                                            sample_rate=rate))
        assert streamed - lead == scaled


def test_every_result_starts_with_the_lead_in_silence(tiny_synth):
    from ttsengine.synthesizer import LEAD_IN_S

    lead = len(tiny_synth._lead_in())
    assert lead % tiny_synth.voice.hop_length == 0
    assert abs(lead / tiny_synth.voice.model_sample_rate - LEAD_IN_S) <= tiny_synth.voice.hop_length / 24000
    one = tiny_synth.synthesize(TEXT).samples
    (batched,) = tiny_synth.synthesize_batch([TEXT])
    first = next(iter(tiny_synth.synthesize_stream(TEXT))).samples
    for samples in (one, batched.samples, first):
        assert not samples[:lead].any() and samples[lead:lead + 2 * tiny_synth.voice.hop_length].any()


def test_frame_limit_scales_with_speed(tiny_synth, monkeypatch):
    from ttsengine.errors import TTSEngineError

    frames = len(tiny_synth.synthesize("Hello there.").samples) // tiny_synth.voice.hop_length
    # A limit just above this natural length: slow speech is longer but not a broken model.
    monkeypatch.setattr(tiny_synth, "_max_frames", frames + 8)
    slow = tiny_synth.synthesize("Hello there.", speed=0.5)
    assert len(slow.samples) // tiny_synth.voice.hop_length > frames + 8
    assert sum(len(c.samples) for c in tiny_synth.synthesize_stream("Hello there.", speed=0.5)) == len(slow.samples)
    monkeypatch.setattr(tiny_synth, "_max_frames", frames // 2)  # a prediction past the limit
    with pytest.raises(TTSEngineError, match="duration predictor"):
        tiny_synth.synthesize("Hello there.", speed=0.5)

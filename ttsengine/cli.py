"""The ``ttsengine`` command line (``python -m ttsengine`` is the same program).

User errors print one line to stderr and exit with status 2; ``--debug`` shows tracebacks.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import platform
import sys
import time
from pathlib import Path
from typing import Sequence

from ._version import __version__
from .errors import InvalidInputError, TTSEngineError

__all__ = ["main"]

logger = logging.getLogger("ttsengine")

# Commands implemented in their own modules: name -> (module, add-arguments, run, help).
# Each module is light to import (torch, onnx, tensorrt load inside `run`).
_TOOLS = {
    "export": ("ttsengine.export.onnx_export", "add_arguments", "run", "PyTorch voice -> ONNX voice bundle"),
    "verify": ("ttsengine.export.verify", "add_arguments", "run", "parity of an exported bundle against PyTorch"),
    "build-engine": ("ttsengine.export.tensorrt_build", "add_arguments", "run",
                     "ONNX -> TensorRT engines, cached per GPU / TensorRT version"),
    "bench": ("ttsengine.bench.cli", "add_arguments", "run", "benchmark backends side by side (RTF, latency, throughput)"),
    "prepare": ("ttsengine.training.cli", "add_prepare_arguments", "run_prepare",
                "recordings + transcripts -> training set"),
    "train": ("ttsengine.training.cli", "add_train_arguments", "run_train", "train a voice bundle"),
    "clone": ("ttsengine.training.cli", "add_clone_arguments", "run_clone", "fine-tune a voice on a new speaker"),
    "import-vocoder": ("ttsengine.import_vocoder", "add_arguments", "run",
                       "official HiFi-GAN generator -> voice bundle to train an acoustic model on"),
}


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None and args.text_file is not None:
        raise InvalidInputError("give TEXT or --text-file, not both")
    if args.text_file is None:
        if args.text is None:
            raise InvalidInputError("no text: give TEXT or --text-file FILE")
        return args.text
    try:
        raw = sys.stdin.buffer.read() if args.text_file == "-" else Path(args.text_file).read_bytes()
    except OSError as exc:
        raise InvalidInputError(f"cannot read --text-file {args.text_file}: {exc.strerror}") from None
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"--text-file {args.text_file} is not valid UTF-8 (byte {exc.start})"
        ) from None


def _synth(args: argparse.Namespace) -> int:
    from .synthesizer import Synthesizer

    text = _read_text(args)
    out = Path(args.output)
    started = time.perf_counter()
    synth = Synthesizer(args.voice, device=args.device, backend=args.backend, precision=args.precision)
    loaded = time.perf_counter()
    audio = synth.synthesize(text, speaker=args.speaker, speed=args.speed, sample_rate=args.sample_rate)
    done = time.perf_counter()
    audio.save(out)
    compute = done - loaded
    print(
        f"wrote {out} ({audio.duration:.2f} s at {audio.sample_rate} Hz) with voice "
        f"{synth.voice.name!r} on {synth.backend}/{synth.device}/{synth.precision}: "
        f"load {loaded - started:.2f} s, synthesis {compute:.2f} s, "
        f"RTF {compute / max(audio.duration, 1e-9):.3f}"
        + ("" if synth.voice.trained else " (untrained voice: noise, not speech)"),
        file=sys.stderr,
    )
    return 0


def _voices(args: argparse.Namespace) -> int:
    from .voice import bundled_voices, load_voice

    for name in bundled_voices():
        voice = load_voice(name)
        speakers = ", ".join(f"{s}={i}" for s, i in voice.speakers.items())
        state = "trained" if voice.trained else "UNTRAINED (random weights: output is noise, not speech)"
        print(f"{voice.name}\t{voice.sample_rate} Hz\t{voice.frontend.get('kind')}/"
              f"{voice.frontend.get('language')}\tspeakers: {speakers}\t{state}")
        if voice.description:
            print(f"\t{voice.description}")
        print(f"\t{voice.path}")
    return 0


def _info(args: argparse.Namespace) -> int:
    from .backends import backend_report

    print(f"ttsengine {__version__}")
    print(f"python {platform.python_version()} on {platform.platform()}")
    from .native import native_report

    for status in native_report().values():
        print(f"native {status}")
    print("backends:")
    report = backend_report()
    for status in report.values():
        print(f"  {status.name:12s} {'available' if status.available else 'unavailable'}: {status.reason}")
    devices = ["cpu"]
    if report["torch"].available:
        import torch

        devices += [f"cuda:{i} ({torch.cuda.get_device_name(i)})" for i in range(torch.cuda.device_count())]
    print(f"devices: {', '.join(devices)}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ttsengine", description="Fast text-to-speech inference.")
    parser.add_argument("--version", action="version", version=f"ttsengine {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="store_true", help="log what the engine chooses")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    synth = commands.add_parser("synth", help="synthesize text to an audio file")
    synth.add_argument("text", nargs="?", help="text to speak (or use --text-file)")
    synth.add_argument("-o", "--output", default="out.wav", help="output file; format from the suffix (default: out.wav)")
    synth.add_argument("--text-file", metavar="F", help="read UTF-8 text from F ('-' for stdin)")
    synth.add_argument("--voice", default="default", help="voice bundle directory or bundled voice name (default: default)")
    synth.add_argument("--speaker", default=None, help="speaker id or name (default: the voice's default)")
    synth.add_argument("--speed", type=float, default=None, help="speaking rate, 1.0 = natural (0.1 to 4)")
    synth.add_argument("--sample-rate", type=int, default=None, help="output rate: 8000, 16000, 22050, 24000, 44100 or 48000 (default: the voice's)")
    synth.add_argument("--backend", default="auto", help="auto | torch | onnxruntime | tensorrt")
    synth.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    synth.add_argument("--precision", default="auto", help="auto | fp32 | fp16")
    synth.set_defaults(run=_synth)

    commands.add_parser("voices", help="list bundled voices and their speakers").set_defaults(run=_voices)
    commands.add_parser("info", help="version, native build, backends and devices").set_defaults(run=_info)
    for name, (module_name, add_arguments, run, summary) in _TOOLS.items():
        module = importlib.import_module(module_name)
        tool = commands.add_parser(name, help=summary, description=summary)
        getattr(module, add_arguments)(tool)
        tool.set_defaults(run=getattr(module, run))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.debug else (logging.INFO if args.verbose else logging.WARNING),
        format="ttsengine: %(levelname)s: %(message)s",
    )
    try:
        return args.run(args)
    except TTSEngineError as exc:
        if args.debug:
            raise
        message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        print(f"ttsengine: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())

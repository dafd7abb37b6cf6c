"""The ``ttsengine`` command line (``python -m ttsengine`` is the same program).

User errors print one line to stderr and exit with status 2; ``--debug`` shows tracebacks.
A command whose optional dependency is not installed says which extra to install (also
status 2). A closed stdout (``ttsengine info | head -1``) ends the program quietly.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import logging
import os
import platform
import sys
import time
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Sequence

from ._version import __version__
from .errors import BackendUnavailableError, InvalidInputError, TooLongError, TTSEngineError, shown

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
    "distill-vocoder": ("ttsengine.training.cli", "add_distill_arguments", "run_distill",
                        "distil a fast CPU vocoder from the voice's HiFi-GAN"),
    "serve": ("ttsengine.server", "add_arguments", "run", "OpenAI-compatible speech server (HTTP, batching)"),
    "export-triton": ("ttsengine.export.triton", "add_arguments", "run",
                      "exported voice -> NVIDIA Triton model repository (one ONNX Runtime model per graph)"),
}

# Optional dependencies, mirroring [project.optional-dependencies] of pyproject.toml
# (tests/test_cli_hardening.py checks it): extra -> top-level modules it installs.
_EXTRAS: dict[str, tuple[str, ...]] = {
    "torch": ("torch",),
    "onnx": ("onnxruntime",),
    "export": ("torch", "onnx", "onnxscript", "onnxslim", "onnxruntime"),
    "train": ("torch", "tqdm", "matplotlib"),
    "bench": ("tqdm", "matplotlib"),
    "serve": ("fastapi", "pydantic", "uvicorn", "prometheus_client", "limits", "av", "python_multipart"),
}
# The extra named for an optional module when the command's own extra does not hold it.
_MODULE_EXTRA = {"torch": "torch", "onnxruntime": "onnx", "onnx": "export", "onnxscript": "export",
                 "onnxslim": "export", "tqdm": "train", "matplotlib": "train", "fastapi": "serve",
                 "pydantic": "serve", "uvicorn": "serve", "prometheus_client": "serve", "limits": "serve",
                 "av": "serve", "python_multipart": "serve"}
# Dependencies every install has (a missing one is a broken install): module -> distribution.
_CORE_MODULES = {"numpy": "numpy", "scipy": "scipy", "safetensors": "safetensors", "soundfile": "soundfile",
                 "pypinyin": "pypinyin", "phonemizer": "phonemizer", "espeakng_loader": "espeakng-loader",
                 "hibari": "hibari-tts"}
# command -> (its extra, modules it cannot start without: checked before it runs).
_COMMAND_NEEDS: dict[str, tuple[str, tuple[str, ...]]] = {
    "export": ("export", _EXTRAS["export"]),
    "verify": ("export", ("torch", "onnxruntime")),
    "build-engine": ("export", ()),
    "prepare": ("train", ()),
    "train": ("train", ("torch",)),
    "clone": ("train", ("torch",)),
    "distill-vocoder": ("train", ("torch",)),
    "import-vocoder": ("torch", ("torch",)),
    "bench": ("bench", ()),
    "serve": ("serve", ("fastapi", "uvicorn", "prometheus_client", "limits", "av")),
    "export-triton": ("onnx", ()),
}
#: The torch pin installed before any extra that pulls torch (a small CPU wheel on CPU-only
#: machines; an unpinned torch would pull several GB of CUDA packages). Same as README.md.
TORCH_PIN = "torch==2.13.0"
#: Most bytes of text ``synth`` reads from --text-file (or stdin); more is a TooLongError.
MAX_TEXT_BYTES = 16 * 1024 * 1024


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):  # e.g. blocked with sys.modules[name] = None
        return False


def _install_hint(command: str | None, module: str) -> str:
    extra = _COMMAND_NEEDS.get(command or "", (None,))[0]
    if extra is None or module not in _EXTRAS[extra]:
        extra = _MODULE_EXTRA[module]
    torch_first = f"pip install {TORCH_PIN} && " if "torch" in _EXTRAS[extra] else ""
    return f'{torch_first}pip install "ttsengine[{extra}]"'


def _who(command: str | None) -> str:
    return f"'ttsengine {command}'" if command else "ttsengine"


def _check_needs(command: str | None) -> None:
    """Before a command runs: its required optional modules are installed."""
    needs = _COMMAND_NEEDS.get(command or "", (None, ()))[1]
    missing = [module for module in needs if not _installed(module)]
    if missing:
        raise BackendUnavailableError(
            f"{_who(command)} needs {', '.join(missing)}: {_install_hint(command, missing[0])}"
        )


def _missing_dependency(exc: ImportError, command: str | None) -> BackendUnavailableError | None:
    """The one-line error for an ImportError of an optional or core dependency, else None
    (an ImportError inside ttsengine itself is a bug and keeps its traceback)."""
    name = getattr(exc, "name", None)
    if not name:
        return None
    top = name.split(".")[0]
    if top in _MODULE_EXTRA:
        hint = _install_hint(command, top)
    elif top in _CORE_MODULES:
        hint = f"pip install {_CORE_MODULES[top]} (a dependency of ttsengine: reinstall ttsengine)"
    else:
        return None
    if isinstance(exc, ModuleNotFoundError) and not _installed(top):
        return BackendUnavailableError(f"{_who(command)} needs {top}: {hint}")
    # installed but broken or too old (e.g. a missing shared library or name)
    return BackendUnavailableError(f"{_who(command)} cannot import {name} ({exc}): {hint}")


def _read_text(args: argparse.Namespace) -> str:
    if args.text is not None and args.text_file is not None:
        raise InvalidInputError("give TEXT or --text-file, not both")
    if args.text_file is None:
        if args.text is None:
            raise InvalidInputError("no text: give TEXT or --text-file FILE")
        return _check_unicode(args.text, "TEXT")
    if args.text_file == "-" and sys.stdin is None:
        raise InvalidInputError("--text-file -: stdin is closed (pipe the text in, or give TEXT or a file)")
    try:  # at most MAX_TEXT_BYTES + 1 bytes: /dev/zero or a huge file is an error, not a MemoryError
        if args.text_file == "-":
            stream = getattr(sys.stdin, "buffer", None)
            raw = (stream.read(MAX_TEXT_BYTES + 1) if stream is not None
                   else sys.stdin.read(MAX_TEXT_BYTES + 1).encode("utf-8", "surrogateescape"))
        else:
            with open(args.text_file, "rb") as handle:
                raw = handle.read(MAX_TEXT_BYTES + 1)
    except OSError as exc:
        raise InvalidInputError(f"cannot read --text-file {args.text_file}: {exc.strerror or exc}") from None
    if len(raw) > MAX_TEXT_BYTES:
        raise TooLongError(f"--text-file {args.text_file} is over {MAX_TEXT_BYTES // 2**20} MiB of text; split it")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InvalidInputError(
            f"--text-file {args.text_file} is not valid UTF-8 (byte {exc.start})"
        ) from None


def _check_unicode(text: str, what: str) -> str:
    """``text`` from the command line as valid Unicode, or InvalidInputError.

    Python hands undecodable argv bytes over as lone surrogates U+DC80..U+DCFF
    ("surrogateescape"); a caller of main() can pass other lone surrogates."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError as exc:
        char = ord(text[exc.start])
        if 0xDC80 <= char <= 0xDCFF:
            raise InvalidInputError(
                f"{what} is not valid UTF-8 (byte 0x{char - 0xDC00:02x} at character {exc.start}); "
                "give UTF-8 text, or --text-file FILE"
            ) from None
        raise InvalidInputError(
            f"{what} contains a lone surrogate U+{char:04X} at character {exc.start} (not valid Unicode text)"
        ) from None
    return text


def _stdout_stream() -> BinaryIO:
    """The binary stdout for ``-o -``, checked before any synthesis."""
    if sys.stdout is None or getattr(sys.stdout, "buffer", None) is None:
        raise InvalidInputError("-o -: stdout is closed")
    if sys.stdout.isatty():
        raise InvalidInputError(
            "-o - writes binary WAV: redirect stdout to a file or a pipe, or give -o FILE"
        )
    return sys.stdout.buffer


@contextlib.contextmanager
def _stdout_to_stderr() -> Iterator[None]:
    """While the audio is made for ``-o -``, whatever Python or a C library writes to stdout
    goes to stderr, so that stdout carries exactly one WAV file."""
    sys.stdout.flush()
    try:
        out_fd, err_fd = sys.stdout.fileno(), sys.stderr.fileno()
        saved = os.dup(out_fd)
    except (AttributeError, OSError, ValueError):  # no real file descriptors (e.g. in-process capture)
        saved = None
    if saved is not None:
        sys.stderr.flush()
        os.dup2(err_fd, out_fd)
    try:
        with contextlib.redirect_stdout(sys.stderr):
            yield
    finally:
        if saved is not None:
            os.dup2(saved, out_fd)
            os.close(saved)


def _synth(args: argparse.Namespace) -> int:
    from .synthesizer import Synthesizer

    text = _read_text(args)
    to_stdout = args.output == "-"
    # The destination is checked before the (possibly long) synthesis.
    stdout = _stdout_stream() if to_stdout else None
    out = Path(args.output)
    fmt = None
    if not to_stdout:
        from .audio.writer import check_stream_path

        fmt = check_stream_path(args.output)  # the string: Path("newdir/") would be "newdir"
    if args.subtitles and Path(args.subtitles).suffix.lower() not in (".vtt", ".srt"):
        raise InvalidInputError(f"--subtitles must name a .vtt or .srt file, got {args.subtitles!r}")
    started = time.perf_counter()
    with _stdout_to_stderr() if to_stdout else contextlib.nullcontext():
        synth = Synthesizer(args.voice, device=args.device, backend=args.backend, precision=args.precision,
                            vocoder=args.vocoder, lexicon=args.lexicon)
        loaded = time.perf_counter()
        if to_stdout:
            audio = synth.synthesize(text, speaker=args.speaker, speed=args.speed, sample_rate=args.sample_rate)
            duration, rate, words = audio.duration, audio.sample_rate, audio.words
        else:
            duration, rate, words = _synth_to_file(synth, text, args, fmt)
        done = time.perf_counter()
    if stdout is not None:
        data = memoryview(audio.to_bytes("wav"))  # the whole file: exact WAV header sizes on a pipe too
        try:
            # A BufferedWriter can return a short count when the reader goes away mid-write
            # (and drop the rest silently): write until all is taken, so EPIPE surfaces.
            while data:
                taken = stdout.write(data)
                if not taken:
                    raise OSError(f"stdout took {taken!r} bytes")
                data = data[taken:]
            stdout.flush()
        except BrokenPipeError:
            raise
        except OSError as exc:
            raise InvalidInputError(f"cannot write audio to stdout: {exc.strerror or exc}") from exc
    if args.subtitles:
        from .subtitles import write_subtitles

        write_subtitles(words, args.subtitles)
    compute = done - loaded
    if sys.stderr is None:  # print(file=None) would write to stdout
        return 0
    print(
        f"wrote {'WAV to stdout' if to_stdout else out} ({duration:.2f} s at {rate} Hz) with voice "
        f"{synth.voice.name!r} on {synth.backend}/{synth.device}/{synth.precision}, vocoder {synth.vocoder}: "
        f"load {loaded - started:.2f} s, synthesis {compute:.2f} s (a cold first request; warm ones: "
        f"ttsengine bench), RTF {compute / max(duration, 1e-9):.3f}"
        + ("" if synth.voice.trained else " (untrained voice: noise, not speech)"),
        file=sys.stderr,
    )
    return 0


def _synth_to_file(synth: object, text: str, args: argparse.Namespace, fmt: str) -> tuple[float, int, list]:
    """Streams the audio of ``text`` into ``args.output`` as it is made (memory stays a
    chunk, whatever the text's length); returns (seconds, sample rate, the words' timings).
    The file is removed if synthesis fails."""
    from .audio.writer import StreamWriter

    chunks = synth.synthesize_stream(text, speaker=args.speaker, speed=args.speed,  # type: ignore[attr-defined]
                                     sample_rate=args.sample_rate)
    writer = None
    words: list = []
    try:
        for chunk in chunks:
            if writer is None:
                writer = StreamWriter(args.output, fmt, chunk.sample_rate)
            writer.write(chunk.samples)
            words += chunk.words
        assert writer is not None
        writer.close()
    except BaseException:
        if writer is not None:
            writer.abort()
        raise
    finally:
        chunks.close()
    return writer.samples / writer.sample_rate, writer.sample_rate, words


def _voices(args: argparse.Namespace) -> int:
    from .voice import bundled_voices, load_voice

    for name in bundled_voices():
        print("\n".join(_voice_lines(load_voice(name))))
    return 0


def _voice_lines(voice: Any) -> list[str]:
    """``ttsengine voices``' lines for one voice (a VoiceConfig): a tab-separated summary, then
    tab-indented lines: its description, vocoders, one line per speaker where voice.json has a
    ``speaker_info`` section (languages, the native one first; gender; license; origin), its path."""
    speakers = ", ".join(f"{s}={i}" for s, i in voice.speakers.items())
    state = "trained" if voice.trained else "UNTRAINED (random weights: output is noise, not speech)"
    summary = (f"{voice.name}\t{voice.sample_rate} Hz\t{voice.frontend.get('kind')}/"
               f"{voice.frontend.get('language')}\tspeakers: {speakers}\t{state}")
    lines = [summary]
    if voice.description:
        lines.append(f"\t{voice.description}")
    if "istft" in voice.vocoders:
        lines.append("\tvocoders: hifigan (GPUs), istft (CPUs: distilled from the HiFi-GAN; --vocoder picks one)")
    else:
        lines.append("\tvocoders: hifigan")
    if voice.speaker_infos:
        for speaker in voice.speakers:
            info = voice.speaker_info(speaker)
            if not info:
                lines.append(f"\tspeaker {speaker}: no speaker_info")
                continue
            native, *others = info["languages"]
            parts = [", ".join([f"{native} (native)", *others])]
            if "gender" in info:
                parts.append(info["gender"])
            parts.append(f"license: {info['license']}")
            if "origin" in info:
                parts.append(f"from {info['origin']}")
            lines.append(f"\tspeaker {speaker}: {'; '.join(parts)}")
    lines.append(f"\t{voice.path}")
    return lines


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


def int_argument(text: str) -> int:
    """argparse ``type`` for an int option: a short message for any bad value (``int()``
    stops at 4300 digits, and argparse would repeat the whole value)."""
    value = text.strip()
    digits = value[1:] if value[:1] in ("+", "-") else value
    if not (digits.isascii() and digits.isdecimal()):
        raise argparse.ArgumentTypeError(f"invalid integer {shown(text)}")
    digits = digits.lstrip("0") or "0"
    if len(digits) > 18:
        raise argparse.ArgumentTypeError(f"integer {shown(text)} is too large")
    return -int(digits) if value.startswith("-") else int(digits)


def float_argument(text: str) -> float:
    """argparse ``type`` for a number option: a short message for any bad value."""
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {shown(text)}") from None


def _add_global_options(parser: argparse.ArgumentParser, default: object) -> None:
    parser.add_argument("--debug", action="store_true", default=default, help="show tracebacks and debug logs")
    parser.add_argument("-v", "--verbose", action="store_true", default=default, help="log what the engine chooses")


class _UsageError(InvalidInputError):
    """A command-line usage error (argparse's)."""


class _Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line (``ttsengine: error: ...``) and exit 2,
    like every user error; ``--help`` still prints the usage."""

    def error(self, message: str) -> None:  # type: ignore[override]
        raise _UsageError(f"{message} (see '{self.prog} --help')")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="ttsengine", description="Fast text-to-speech inference.")
    parser.add_argument("--version", action="version", version=f"ttsengine {__version__}")
    _add_global_options(parser, False)
    # --debug / -v also after the command: a subcommand sets them only when given (SUPPRESS),
    # so `ttsengine --debug synth ...` is not reset by the subcommand's default.
    common = _Parser(add_help=False)
    _add_global_options(common, argparse.SUPPRESS)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    synth = commands.add_parser("synth", help="synthesize text to an audio file", parents=[common])
    synth.add_argument("text", nargs="?", help="text to speak (or use --text-file)")
    synth.add_argument("-o", "--output", default="out.wav",
                       help="output file; format from the suffix; '-' writes WAV to stdout (default: out.wav). "
                            "A directory, or a path ending with '/', is refused: name the file")
    synth.add_argument("--text-file", metavar="F", help="read UTF-8 text from F ('-' for stdin)")
    synth.add_argument("--voice", default="default", help="voice bundle directory or bundled voice name (default: default)")
    synth.add_argument("--speaker", default=None, help="speaker id or name (default: the voice's default)")
    synth.add_argument("--speed", type=float_argument, default=None, help="speaking rate, 1.0 = natural (0.1 to 4)")
    synth.add_argument("--sample-rate", type=int_argument, default=None, help="output rate: 8000, 16000, 22050, 24000, 44100 or 48000 (default: the voice's)")
    synth.add_argument("--backend", default="auto", help="auto | torch | onnxruntime | tensorrt")
    synth.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N")
    synth.add_argument("--precision", default="auto", help="auto | fp32 | fp16 | int8 (auto: fp16 on GPUs, the int8 decoder on CPUs where the voice has one)")
    synth.add_argument("--vocoder", default="auto",
                       help="auto | hifigan | istft (auto: the voice's CPU vocoder on a CPU, if it has one)")
    synth.add_argument("--subtitles", metavar="FILE", default=None,
                       help="also write word timings as subtitles, a cue per word (.vtt or .srt)")
    synth.add_argument("--lexicon", metavar="FILE", default=None,
                       help="pronunciation lexicon: 'word pronunciation' per line, /IPA/ or a respelling (docs/timing-and-control.md)")
    synth.set_defaults(run=_synth)

    commands.add_parser("voices", help="list bundled voices and their speakers",
                        parents=[common]).set_defaults(run=_voices)
    commands.add_parser("info", help="version, native build, backends and devices",
                        parents=[common]).set_defaults(run=_info)
    for name, (module_name, add_arguments, run, summary) in _TOOLS.items():
        module = importlib.import_module(module_name)
        tool = commands.add_parser(name, help=summary, description=summary, parents=[common])
        getattr(module, add_arguments)(tool)
        tool.set_defaults(run=getattr(module, run))
    return parser


def _error(exc: BaseException) -> int:
    message = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    if sys.stderr is not None:
        print(f"ttsengine: error: {message}", file=sys.stderr)
    return 2


def _main(argv: Sequence[str] | None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    command = None
    debug = "--debug" in arguments  # until parsed
    try:
        parser = build_parser()
        args = parser.parse_args(arguments)
        command, debug = args.command, args.debug
        logging.basicConfig(
            level=logging.DEBUG if args.debug else (logging.INFO if args.verbose else logging.WARNING),
            format="ttsengine: %(levelname)s: %(message)s",
        )
        _check_needs(command)
        return args.run(args)
    except TTSEngineError as exc:
        if debug:
            raise
        return _error(exc)
    except ImportError as exc:
        error = _missing_dependency(exc, command)
        if error is None or debug:
            raise
        return _error(error)
    except KeyboardInterrupt:
        return 130


def _flush_stdout() -> None:
    if sys.stdout is not None:
        sys.stdout.flush()


def main(argv: Sequence[str] | None = None) -> int:
    """Runs the command line; returns the exit status (0 ok, 2 user error, 1 broken pipe)."""
    try:
        try:
            return _main(argv)
        finally:
            _flush_stdout()  # inside the try: a reader that went away is seen here
    except BrokenPipeError:
        # The reader of stdout is gone (`ttsengine info | head -1`): exit quietly. Python
        # would flush stdout again at exit and fail once more, so point it at devnull
        # (https://docs.python.org/3/library/signal.html#note-on-sigpipe).
        with contextlib.suppress(AttributeError, OSError, ValueError):
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
        return 1


if __name__ == "__main__":
    sys.exit(main())

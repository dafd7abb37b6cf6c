"""``ttsengine bench``: the benchmark matrix, a table on stdout, JSON / Markdown / plot files.

The ``ttsengine`` CLI wires :func:`add_arguments` and :func:`run`; ``python -m
ttsengine.bench`` runs the same command on its own (:func:`main`).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..errors import InvalidInputError

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The arguments of ``ttsengine bench``."""
    parser.description = (
        "Benchmark every available backend x device x precision on fixed texts, side by side with "
        "torch eager and with peer engines (Piper, hibari) in the same run."
    )
    parser.add_argument("--backend", action="append", metavar="B",
                        help="backend to run (repeatable; default: every available backend)")
    parser.add_argument("--device", action="append", metavar="D",
                        help="cpu | cuda | cuda:N (repeatable; default: cpu, and cuda where usable)")
    parser.add_argument("--precision", action="append", metavar="P",
                        help="fp32 | fp16 | int8 (repeatable; default: all; unsupported ones are listed as skipped)")
    parser.add_argument("--voice", action="append", metavar="V",
                        help="voice bundle directory or bundled name; 'base-v1' / 'base-v1-zh' are made with "
                             "random weights (repeatable; default: default, base-v1, base-v1-zh; --quick: default)")
    parser.add_argument("--quick", action="store_true",
                        help="short run (< 2 min on 2 CPU cores): short + 5 s texts, batch 1/8, concurrency 2")
    parser.add_argument("--repeats", type=int, default=None, metavar="N",
                        help="warm repetitions per metric (default: 5; --quick: 3)")
    parser.add_argument("--threads", type=int, default=None, metavar="N",
                        help="CPU threads per engine, peers included (default: the usable cores)")
    parser.add_argument("--concurrency", type=int, default=None, metavar="N",
                        help="concurrent requests on one shared engine (default: 4; --quick: 2)")
    parser.add_argument("--batch-sizes", default=None, metavar="LIST",
                        help="comma-separated batch sizes (default: 1,8,32; --quick: 1,8)")
    parser.add_argument("--vocoder", action="append", metavar="V", choices=("auto", "hifigan", "istft"),
                        help="vocoder of each configuration: auto (default; the CPU vocoder on a CPU where "
                             "the voice has one), hifigan or istft; repeat to compare")
    parser.add_argument("--no-peers", action="store_true", help="do not run Piper and hibari")
    parser.add_argument("--in-process", action="store_true",
                        help="run every configuration in this process (faster start; peak RSS and load "
                             "times are then not per configuration)")
    parser.add_argument("--json", metavar="F", help="write results + environment as JSON to F")
    parser.add_argument("--markdown", metavar="F", help="write the tables as Markdown to F (for BENCHMARKS.md)")
    parser.add_argument("--plot", metavar="PNG", help="write a chart (RTF per configuration, latency percentiles); needs matplotlib")
    parser.add_argument("--assert-rtf", type=float, default=None, metavar="X",
                        help="exit 1 if any selected configuration's 5 s RTF exceeds X (or could not be measured)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _positive(value: int | None, name: str) -> int | None:
    if value is not None and value < 1:
        raise InvalidInputError(f"{name} must be >= 1, got {value}")
    return value


def _batch_sizes(text: str | None) -> list[int] | None:
    if text is None:
        return None
    try:
        sizes = [int(x) for x in text.split(",") if x.strip()]
    except ValueError:
        raise InvalidInputError(f"--batch-sizes must be comma-separated integers, got {text!r}") from None
    if not sizes or min(sizes) < 1:
        raise InvalidInputError(f"--batch-sizes must be positive integers, got {text!r}")
    return sizes


def run(args: argparse.Namespace) -> int:
    """Runs the benchmark; prints the table; 1 if ``--assert-rtf`` is missed, else 0."""
    from .environment import usable_cores
    from .report import format_report, write_json
    from .runner import Plan
    from .suite import Options, check_rtf, ensure_ran, run_suite

    if args.assert_rtf is not None and not args.assert_rtf > 0:
        raise InvalidInputError(f"--assert-rtf must be a positive number, got {args.assert_rtf}")
    if args.plot:
        import importlib.util

        if importlib.util.find_spec("matplotlib") is None:
            raise InvalidInputError("--plot needs matplotlib: pip install 'ttsengine[bench]'")
    threads = _positive(args.threads, "--threads") or usable_cores()
    plan = Plan.make(quick=args.quick, threads=threads, repeats=_positive(args.repeats, "--repeats"),
                     concurrency=_positive(args.concurrency, "--concurrency"),
                     batch_sizes=_batch_sizes(args.batch_sizes))
    options = Options(plan=plan, backends=args.backend, devices=args.device, precisions=args.precision,
                      voices=args.voice, peers=not args.no_peers, vocoders=args.vocoder, isolate=not args.in_process)
    document = run_suite(options, quiet=args.quiet)
    print(format_report(document), end="")
    if args.json:
        write_json(document, args.json)
    if args.markdown:
        Path(args.markdown).write_text(format_report(document, markdown=True), encoding="utf-8")
    if args.plot:
        from .report import write_plot

        write_plot(document, args.plot, bound=args.assert_rtf)
    ensure_ran(document)
    if args.assert_rtf is not None:
        missed, passed = check_rtf(document, args.assert_rtf)
        if not missed and not passed:
            missed = ["every ttsengine configuration was skipped (nothing to judge)"]
        if missed:
            print(f"ttsengine bench: RTF bound {args.assert_rtf:g} (5 s sentence) missed by: " + "; ".join(missed),
                  file=sys.stderr)
            return 1
        print(f"RTF bound {args.assert_rtf:g} met by: " + "; ".join(passed))
    return 0

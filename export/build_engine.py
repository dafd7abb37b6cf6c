#!/usr/bin/env python3
"""Builds TensorRT engines for an exported voice bundle (the same as `ttsengine build-engine`).

Examples:
    python export/build_engine.py exported/ --dry-run       # profiles + operator check, no TensorRT
    python export/build_engine.py exported/ --max-batch 16  # build (or reuse) the cached engines
"""

from __future__ import annotations

import argparse
import logging
import sys

from ttsengine.errors import TTSEngineError
from ttsengine.export.tensorrt_build import add_arguments, run


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="build_engine: %(message)s")
    try:
        return run(args)
    except TTSEngineError as exc:
        print(f"build_engine: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Exports a voice's networks to ONNX (the same as `ttsengine export`).

Example:
    python export/export_onnx.py default -o /tmp/default-onnx --fp16
    python export/verify.py /tmp/default-onnx
"""

from __future__ import annotations

import argparse
import logging
import sys

from ttsengine.errors import TTSEngineError
from ttsengine.export.onnx_export import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(levelname)s: %(message)s")
    try:
        return run(args)
    except TTSEngineError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

#!/usr/bin/env python3
"""Checks an exported bundle's ONNX graphs against PyTorch (the same as `ttsengine verify`).

Exit status: 0 parity holds, 1 it does not, 2 the bundle cannot be checked.
Example:
    python export/verify.py /tmp/default-onnx
"""

from __future__ import annotations

import argparse
import logging
import sys

from ttsengine.errors import TTSEngineError
from ttsengine.export.verify import add_arguments, run


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_arguments(parser)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return run(args)
    except TTSEngineError as exc:
        print(f"error: {str(exc).splitlines()[0]}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

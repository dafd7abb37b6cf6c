#!/usr/bin/env python3
"""Builds TensorRT engines for an exported voice bundle: the same program as `ttsengine build-engine`.

Examples:
    python export/build_engine.py exported/ --dry-run       # profiles + operator check, no TensorRT
    python export/build_engine.py exported/ --max-batch 16  # build (or reuse) the cached engines
"""

import sys

from ttsengine.cli import main

if __name__ == "__main__":
    sys.exit(main(["build-engine", *sys.argv[1:]]))

#!/usr/bin/env python3
"""Exports a voice's networks to ONNX: the same program as `ttsengine export`.

Example:
    python export/export_onnx.py default -o /tmp/default-onnx --fp16
    python export/verify.py /tmp/default-onnx
"""

import sys

from ttsengine.cli import main

if __name__ == "__main__":
    sys.exit(main(["export", *sys.argv[1:]]))

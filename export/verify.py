#!/usr/bin/env python3
"""Checks an exported bundle's ONNX graphs against PyTorch: the same program as `ttsengine verify`.

Exit status: 0 parity holds, 1 it does not, 2 the bundle cannot be checked.
Example:
    python export/verify.py /tmp/default-onnx
"""

import sys

from ttsengine.cli import main

if __name__ == "__main__":
    sys.exit(main(["verify", *sys.argv[1:]]))

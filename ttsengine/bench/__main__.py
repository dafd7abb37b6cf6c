"""``python -m ttsengine.bench``: the same command as ``ttsengine bench``."""

from __future__ import annotations

import sys

from ..cli import main

if __name__ == "__main__":
    sys.exit(main(["bench", *sys.argv[1:]]))

"""Neural models of ttsengine.

The model modules (:mod:`.acoustic`, :mod:`.hifigan`, :mod:`.istft`, :mod:`.discriminators`)
import torch; :mod:`.shapes` (their weight shapes and receptive fields) does not, and
neither does importing this package: the names below are loaded on first use.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "ACOUSTIC_SIZES": ".acoustic", "AcousticConfig": ".acoustic", "AcousticModel": ".acoustic",
    "acoustic_config": ".acoustic", "durations_from_log": ".acoustic", "length_regulate": ".acoustic",
    "HIFIGAN_CONFIGS": ".hifigan", "HiFiGANConfig": ".hifigan", "HiFiGANGenerator": ".hifigan",
    "hifigan_receptive_field": ".hifigan", "load_official_checkpoint": ".hifigan",
}

__all__ = sorted(_LAZY)


def __getattr__(name: str) -> Any:
    if name not in _LAZY:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)

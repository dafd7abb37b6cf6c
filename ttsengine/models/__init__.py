"""Neural models of ttsengine (PyTorch): the acoustic model and the HiFi-GAN vocoder.

This package imports torch; the rest of ttsengine imports it lazily.
"""

from __future__ import annotations

from .acoustic import (
    ACOUSTIC_SIZES,
    AcousticConfig,
    AcousticModel,
    acoustic_config,
    durations_from_log,
    length_regulate,
)
from .hifigan import (
    HIFIGAN_CONFIGS,
    HiFiGANConfig,
    HiFiGANGenerator,
    hifigan_receptive_field,
    load_official_checkpoint,
)

__all__ = [
    "ACOUSTIC_SIZES",
    "AcousticConfig",
    "AcousticModel",
    "acoustic_config",
    "durations_from_log",
    "length_regulate",
    "HIFIGAN_CONFIGS",
    "HiFiGANConfig",
    "HiFiGANGenerator",
    "hifigan_receptive_field",
    "load_official_checkpoint",
]

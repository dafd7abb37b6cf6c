"""Training: data preparation, alignment, acoustic + HiFi-GAN training, voice cloning.

Importing this package is light; the submodules that need torch (alignment, datasets,
losses, trainer, clone) import it themselves and are loaded on use.
"""

from __future__ import annotations

__all__ = ["prepare", "alignment", "datasets", "losses", "trainer", "clone", "cli"]

"""Moved to :mod:`ttsengine.voice.contract` (the bundle format). Kept only for
``ttsengine/training/distill.py``, which imports ``ONNX_DIR`` from here; delete once it
imports from ``ttsengine.voice.contract``."""

from ..voice.contract import ONNX_DIR

__all__ = ["ONNX_DIR"]

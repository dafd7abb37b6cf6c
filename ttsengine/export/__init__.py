"""PyTorch voice -> ONNX bundle: export, fp16 conversion and parity verification.

``export_voice`` (``ttsengine export``) writes the graphs of :mod:`.contract`;
``verify_bundle`` (``ttsengine verify``) checks them against PyTorch. Importing this
package imports nothing heavy: torch, onnx, onnxslim and onnxruntime load inside the
functions that need them (backends import :mod:`.contract` alone).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .onnx_export import ExportError, export_voice
    from .verify import VerifyReport, verify_bundle

__all__ = ["ExportError", "export_voice", "VerifyReport", "verify_bundle"]

_LAZY = {
    "ExportError": ".onnx_export",
    "export_voice": ".onnx_export",
    "VerifyReport": ".verify",
    "verify_bundle": ".verify",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'ttsengine.export' has no attribute {name!r}")
    value = getattr(importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value

"""Quiet runs of the tools the exporter drives (torch.onnx, onnxscript, onnxruntime's fp16
converter): their progress chatter stays out of the user's terminal."""

from __future__ import annotations

import contextlib
import io
import logging
import warnings
from typing import Any

__all__ = ["TOOL_LOGGERS", "quiet_tools"]

logger = logging.getLogger("ttsengine")


#: Loggers of the tools the exporter drives (progress chatter at INFO / WARNING).
TOOL_LOGGERS = (
    "torch.onnx", "torch.export", "torch._dynamo", "onnxscript", "onnx_ir",
    "onnxruntime.transformers", "float16", "onnx_model",
)


@contextlib.contextmanager
def quiet_tools() -> Any:
    """Silences the export tools' progress prints, warnings and logs below ERROR while
    active (all of it stays visible when ttsengine's logger is at DEBUG)."""
    if logger.isEnabledFor(logging.DEBUG):
        yield
        return
    loggers = [logging.getLogger(name) for name in TOOL_LOGGERS]
    levels = [log.level for log in loggers]
    try:
        for log in loggers:
            log.setLevel(logging.ERROR)
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")
            yield
    finally:
        for log, level in zip(loggers, levels):
            log.setLevel(level)

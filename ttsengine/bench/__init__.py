"""Benchmarks of ttsengine: ``ttsengine bench`` and the ``benchmarks/`` pytest-benchmark suite.

Importing this package is light (no torch, onnxruntime, matplotlib or peer engine); each is
imported when a configuration that needs it runs.

- :mod:`.texts`: the fixed, committed text set (``data/texts.json``), English and Chinese.
- :mod:`.runner`: the metrics for one configuration (:func:`~.runner.run_config`).
- :mod:`.peers`: Piper and hibari-tts adapters (benchmark-only, CPU, English).
- :mod:`.suite`: the matrix and its execution, one process per configuration.
- :mod:`.report`: table, JSON, Markdown, plot; :mod:`.cli`: the command.
"""

from __future__ import annotations

__all__ = ["run_suite", "Options", "Plan"]


def __getattr__(name: str):
    if name in ("run_suite", "Options"):
        from . import suite

        return getattr(suite, name)
    if name == "Plan":
        from .runner import Plan

        return Plan
    raise AttributeError(f"module 'ttsengine.bench' has no attribute {name!r}")

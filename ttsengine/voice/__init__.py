"""Voice bundles, the on-disk format: a directory with ``voice.json``, safetensors weights
and, after ``ttsengine export``, ONNX graphs.

* :mod:`.config`: :class:`VoiceConfig` and :func:`load_voice` (validates a bundle
  completely, once, without torch).
* :mod:`.schema`: reading ``voice.json`` and checking its sections.
* :mod:`.weights`: safetensors headers against the networks' shapes
  (:mod:`ttsengine.models.shapes`), and torch-free reading of tensors.
* :mod:`.onnx`: the ``onnx`` section: graph files, their I/O contract (:mod:`.contract`),
  graphs whose weights live in a safetensors file.
* :mod:`.hashing`: sha256 of bundle files.

Imports neither torch nor onnx, nor the exporter, runners or synthesizer.
"""

from __future__ import annotations

from .config import (
    ACOUSTIC_WEIGHTS,
    CPU_VOCODER_WEIGHTS,
    FORMAT_VERSION,
    VOCODER_WEIGHTS,
    VOCODERS,
    VoiceConfig,
    bundled_voices,
    load_voice,
    resolve_voice_path,
    write_voice_json,
)

__all__ = [
    "ACOUSTIC_WEIGHTS",
    "CPU_VOCODER_WEIGHTS",
    "FORMAT_VERSION",
    "VOCODERS",
    "VOCODER_WEIGHTS",
    "VoiceConfig",
    "bundled_voices",
    "load_voice",
    "resolve_voice_path",
    "write_voice_json",
]

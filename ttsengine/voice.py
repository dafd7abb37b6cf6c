"""Voice bundles: a directory with ``voice.json`` and safetensors weights.

``voice.json`` holds everything needed to rebuild the networks and the text front end;
weights are never pickled. :func:`load_voice` validates a bundle without importing torch.
"""

from __future__ import annotations

import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from .audio.resample import SUPPORTED_SAMPLE_RATES
from .errors import InvalidInputError, VoiceLoadError

__all__ = [
    "FORMAT_VERSION",
    "VoiceConfig",
    "bundled_voices",
    "load_voice",
    "resolve_voice_path",
    "write_voice_json",
]

logger = logging.getLogger("ttsengine")

#: Bundle format this ttsengine writes and the newest it reads.
FORMAT_VERSION = 1

ACOUSTIC_WEIGHTS = "acoustic.safetensors"
VOCODER_WEIGHTS = "vocoder.safetensors"
_BUNDLED_DIR = Path(__file__).resolve().parent / "voices"
_KNOWN_KEYS = frozenset({"format_version", "name", "description", "trained", "sample_rate", "features",
                         "frontend", "speakers", "acoustic", "vocoder", "defaults", "onnx"})
_REQUIRED_KEYS = (
    "format_version", "name", "sample_rate", "features", "frontend", "speakers",
    "acoustic", "vocoder",
)


@dataclass(frozen=True)
class VoiceConfig:
    """An immutable view of a voice bundle's ``voice.json``."""

    path: Path
    name: str
    format_version: int
    sample_rate: int
    features: Mapping[str, Any]
    frontend: Mapping[str, Any]
    speakers: Mapping[str, int]
    acoustic: Mapping[str, Any]
    vocoder: Mapping[str, Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    description: str = ""
    trained: bool = True
    #: The exported graphs and their I/O contract (written by ``ttsengine export``); empty if none.
    onnx: Mapping[str, Any] = field(default_factory=dict)
    #: Other top-level sections (``training``, ``license`` ...), kept when a bundle is rewritten.
    extra: Mapping[str, Any] = field(default_factory=dict)

    @property
    def hop_length(self) -> int:
        return int(self.features["hop_length"])

    @property
    def model_sample_rate(self) -> int:
        """The rate the networks work at (``features.sample_rate``). ``sample_rate`` is the
        rate ``synthesize()`` returns by default; the pipeline resamples when they differ
        (e.g. a 22,050 Hz vocoder in a 24 kHz voice)."""
        return int(self.features.get("sample_rate", self.sample_rate))

    @property
    def n_mels(self) -> int:
        return int(self.features["n_mels"])

    @property
    def acoustic_weights(self) -> Path:
        return self.path / ACOUSTIC_WEIGHTS

    @property
    def vocoder_weights(self) -> Path:
        return self.path / VOCODER_WEIGHTS

    def speaker_id(self, speaker: int | str | None) -> int:
        """Resolves a speaker id or name (``None``: the voice's default speaker)."""
        if speaker is None:
            speaker = self.defaults.get("speaker", 0)
        valid = ", ".join(f"{name}={sid}" for name, sid in self.speakers.items())
        if isinstance(speaker, bool) or not isinstance(speaker, (int, str)):
            raise InvalidInputError(f"speaker must be an int id or a name; valid: {valid}")
        if isinstance(speaker, str):
            if speaker in self.speakers:
                return self.speakers[speaker]
            if speaker.strip().lstrip("-").isdigit():
                speaker = int(speaker)
            else:
                raise InvalidInputError(f"unknown speaker {speaker!r}; valid: {valid}")
        if speaker not in self.speakers.values():
            raise InvalidInputError(f"unknown speaker id {speaker}; valid: {valid}")
        return speaker

    def to_dict(self) -> dict[str, Any]:
        """The ``voice.json`` content (without the bundle path)."""
        return {
            "format_version": self.format_version,
            "name": self.name,
            "description": self.description,
            "trained": self.trained,
            "sample_rate": self.sample_rate,
            "features": dict(self.features),
            "frontend": dict(self.frontend),
            "speakers": dict(self.speakers),
            "acoustic": dict(self.acoustic),
            "vocoder": dict(self.vocoder),
            "defaults": dict(self.defaults),
            **({"onnx": dict(self.onnx)} if self.onnx else {}),
            **dict(self.extra),
        }


def bundled_voices() -> dict[str, Path]:
    """Voices shipped inside the package: name -> bundle directory."""
    if not _BUNDLED_DIR.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(_BUNDLED_DIR.iterdir())
        if (entry / "voice.json").is_file()
    }


def resolve_voice_path(voice: str | os.PathLike[str]) -> Path:
    """A bundle directory, or the name of a bundled voice, -> the bundle directory."""
    path = Path(voice).expanduser()
    if path.is_dir():
        return path.resolve()
    bundled = bundled_voices()
    if isinstance(voice, str) and voice in bundled:
        return bundled[voice]
    if path.exists():
        raise VoiceLoadError(f"voice {str(voice)!r} is not a directory (a bundle is a directory with voice.json)")
    names = ", ".join(bundled) or "none"
    raise VoiceLoadError(f"voice {str(voice)!r} not found: not a directory and not a bundled voice (bundled: {names})")


def _mapping(data: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    value = data.get(key)
    if not isinstance(value, dict):
        raise VoiceLoadError(f"{where}: '{key}' must be a JSON object")
    return value


def _optional_mapping(data: dict[str, Any], key: str, where: Path) -> dict[str, Any]:
    return _mapping(data, key, where) if key in data else {}


def load_voice(voice: str | os.PathLike[str]) -> VoiceConfig:
    """Reads and validates a voice bundle's ``voice.json`` (weights are checked when loaded)."""
    path = resolve_voice_path(voice)
    config_path = path / "voice.json"
    if not config_path.is_file():
        raise VoiceLoadError(f"{path}: missing voice.json")
    try:
        data = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise VoiceLoadError(f"{config_path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise VoiceLoadError(f"{config_path}: must hold a JSON object")
    version = data.get("format_version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise VoiceLoadError(f"{config_path}: 'format_version' must be a positive integer")
    if version > FORMAT_VERSION:
        raise VoiceLoadError(
            f"{path}: bundle format_version {version} was written by a newer ttsengine "
            f"(this one reads up to {FORMAT_VERSION}); upgrade ttsengine"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise VoiceLoadError(f"{config_path}: missing keys {missing}")
    speakers = _mapping(data, "speakers", config_path)
    if not speakers or not all(
        isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0
        for k, v in speakers.items()
    ):
        raise VoiceLoadError(f"{config_path}: 'speakers' must map names to non-negative int ids")
    features = _mapping(data, "features", config_path)
    sample_rate = data["sample_rate"]
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise VoiceLoadError(f"{config_path}: 'sample_rate' must be a positive integer")
    model_rate = features.get("sample_rate", sample_rate)
    if model_rate != sample_rate and (sample_rate not in SUPPORTED_SAMPLE_RATES
                                      or model_rate not in SUPPORTED_SAMPLE_RATES):
        raise VoiceLoadError(
            f"{config_path}: cannot resample features.sample_rate {model_rate} to sample_rate "
            f"{sample_rate} (both must be one of {', '.join(map(str, SUPPORTED_SAMPLE_RATES))})")
    for key in ("hop_length", "n_mels"):
        if not isinstance(features.get(key), int):
            raise VoiceLoadError(f"{config_path}: features.{key} must be an integer")
    for part, filename in (("acoustic", ACOUSTIC_WEIGHTS), ("vocoder", VOCODER_WEIGHTS)):
        section = _mapping(data, part, config_path)
        if "arch" not in section:
            raise VoiceLoadError(f"{config_path}: '{part}.arch' is missing")
        if not (path / filename).is_file():
            raise VoiceLoadError(f"{path}: missing {filename}")
    return VoiceConfig(
        path=path,
        name=str(data["name"]),
        format_version=version,
        sample_rate=sample_rate,
        features=MappingProxyType(features),
        frontend=MappingProxyType(_mapping(data, "frontend", config_path)),
        speakers=MappingProxyType(dict(speakers)),
        acoustic=MappingProxyType(data["acoustic"]),
        vocoder=MappingProxyType(data["vocoder"]),
        defaults=MappingProxyType(dict(data.get("defaults") or {})),
        description=str(data.get("description", "")),
        trained=bool(data.get("trained", True)),
        onnx=MappingProxyType(_optional_mapping(data, "onnx", config_path)),
        extra=MappingProxyType({k: v for k, v in data.items() if k not in _KNOWN_KEYS}),
    )


def write_voice_json(directory: str | os.PathLike[str], content: dict[str, Any]) -> Path:
    """Writes ``voice.json`` (stamping the current format version) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    content = {"format_version": FORMAT_VERSION, **content}
    target = directory / "voice.json"
    target.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target

"""A voice bundle as a :class:`VoiceConfig`, and :func:`load_voice`.

``voice.json`` holds everything needed to rebuild the networks and the text front end;
weights are never pickled. :func:`load_voice` validates a bundle completely, once, without
importing torch: every field's type and range, the consistency of the sections with each
other (features, hyper-parameters, speakers, defaults, the ONNX I/O contract), and the
JSON against the weights (the safetensors headers: every tensor's name, dtype and shape).
A bundle that would fail (or silently misbehave) on a request is refused here with a
:class:`~ttsengine.errors.VoiceLoadError` naming the field.
"""

from __future__ import annotations

import dataclasses
import errno
import json
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping

from ..errors import InvalidInputError, VoiceLoadError, shown
from ..models.shapes import acoustic_tensors, hifigan_tensors, istft_tensors
from .contract import OPTIONAL_GRAPHS
from .feature_stamp import check_feature_stamps
from .onnx import _check_onnx
from .schema import (
    _ACOUSTIC_HPARAMS,
    _HIFIGAN_HPARAMS,
    _check_acoustic_hparams,
    _check_consistency,
    _check_cpu_vocoder,
    _check_defaults,
    _check_features,
    _check_hifigan_hparams,
    _check_speaker_info,
    _Checker,
    _is_int,
    _read_json,
    _short,
    bundle_file,
    BUNDLED_DIR,
)
from .weights import _check_weights

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

logger = logging.getLogger("ttsengine")

#: Bundle format this ttsengine writes and the newest it reads.
FORMAT_VERSION = 1

ACOUSTIC_WEIGHTS = "acoustic.safetensors"
VOCODER_WEIGHTS = "vocoder.safetensors"
CPU_VOCODER_WEIGHTS = "cpu_vocoder.safetensors"
#: Vocoder kinds a Synthesizer may ask for: the reference HiFi-GAN, the distilled CPU one.
VOCODERS = ("hifigan", "istft")
_KNOWN_KEYS = frozenset({"format_version", "name", "description", "trained", "sample_rate", "features",
                         "frontend", "speakers", "acoustic", "vocoder", "cpu_vocoder", "defaults", "onnx",
                         "speaker_info"})
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
    #: A fast vocoder for CPUs distilled from ``vocoder`` (arch ``istft``); empty if none.
    cpu_vocoder: Mapping[str, Any] = field(default_factory=dict)
    #: The weights file of ``vocoder`` (``with_vocoder("istft")`` points it at the CPU one).
    vocoder_file: str = VOCODER_WEIGHTS
    #: The ``speaker_info`` section: speaker name -> its languages (a tuple, the first one
    #: native), ``gender``, ``license``, ``origin``; empty if none (see :meth:`speaker_info`).
    speaker_infos: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

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
        return self.path / self.vocoder_file

    @property
    def vocoder_context_frames(self) -> int:
        """Mel frames of context a streamed vocoder window needs on each side: the vocoder's
        one-sided receptive field (``vocoder.receptive_field_frames``, written by ``ttsengine
        export``) plus one."""
        field = self.vocoder.get("receptive_field_frames")
        if isinstance(field, bool) or not isinstance(field, int) or field < 0:
            raise VoiceLoadError(
                f"{self.path}: voice.json vocoder.receptive_field_frames is missing (re-export with ttsengine export)"
            )
        return field + 1

    @property
    def pulse_vocoder(self) -> bool:
        """Whether the ``vocoder`` section is a source-filter CPU vocoder (its graph takes and
        gives the pulse train's phase: :mod:`ttsengine.voice.contract`)."""
        return dict(self.vocoder.get("hparams", {})).get("excitation") == "pulse"

    @property
    def vocoders(self) -> tuple[str, ...]:
        """The vocoder kinds this bundle carries: ``("hifigan",)`` or ``("hifigan", "istft")``."""
        return ("hifigan", "istft") if self.cpu_vocoder else ("hifigan",)

    def with_vocoder(self, kind: str) -> VoiceConfig:
        """This voice as the backends see it with vocoder ``kind`` (one of :attr:`vocoders`):
        for ``"istft"`` the ``vocoder`` section, weights and graph are the CPU vocoder's."""
        if kind not in self.vocoders:
            have = ", ".join(self.vocoders)
            raise InvalidInputError(f"voice {self.name!r} has no {kind!r} vocoder (it has: {have})")
        if kind == "hifigan" or self.vocoder_file == CPU_VOCODER_WEIGHTS:
            return self
        onnx = dict(self.onnx)
        if onnx:
            graphs = dict(onnx["graphs"])
            graphs["vocoder"] = graphs.pop("cpu_vocoder")
            onnx["graphs"] = MappingProxyType(graphs)
        return dataclasses.replace(self, vocoder=self.cpu_vocoder, onnx=MappingProxyType(onnx),
                                   vocoder_file=CPU_VOCODER_WEIGHTS)

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
            number = re.fullmatch(r"(-?)0*([0-9]+)", speaker.strip())  # not str.isdigit: it accepts "²"
            if number is None:
                raise InvalidInputError(f"unknown speaker {shown(speaker)}; valid: {valid}")
            if len(number.group(2)) > 18:  # no id has that many digits (and int() stops at 4300)
                raise InvalidInputError(f"unknown speaker id {shown(speaker)}; valid: {valid}")
            speaker = int(number.group(1) + number.group(2))
        if speaker not in self.speakers.values():
            raise InvalidInputError(f"unknown speaker id {shown(speaker)}; valid: {valid}")
        return speaker

    def speaker_info(self, speaker: int | str | None = None) -> dict[str, Any]:
        """What ``voice.json``'s ``speaker_info`` says of a speaker (name or id; ``None``: the
        default speaker): ``{"languages": [...], "license": ..., "gender": ..., "origin": ...}``
        (``languages`` first the native one; ``gender`` and ``origin`` only when given), or
        ``{}`` for a speaker without info. An id with several names: the first name with info.
        Raises InvalidInputError for a speaker the voice does not have."""
        if isinstance(speaker, str) and speaker in self.speakers:
            names = [speaker]
        else:
            sid = self.speaker_id(speaker)
            names = [name for name, number in self.speakers.items() if number == sid]
        for name in names:
            if name in self.speaker_infos:
                info = dict(self.speaker_infos[name])
                info["languages"] = list(info["languages"])
                return info
        return {}

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
            **({"cpu_vocoder": dict(self.cpu_vocoder)} if self.cpu_vocoder else {}),
            "defaults": dict(self.defaults),
            **({"onnx": dict(self.onnx)} if self.onnx else {}),
            **({"speaker_info": {name: {**info, "languages": list(info["languages"])}
                                 for name, info in self.speaker_infos.items()}} if self.speaker_infos else {}),
            **dict(self.extra),
        }


def bundled_voices() -> dict[str, Path]:
    """Voices shipped inside the package: name -> bundle directory (``default`` first, then by name)."""
    if not BUNDLED_DIR.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(BUNDLED_DIR.iterdir(), key=lambda e: (e.name != "default", e.name))
        if (entry / "voice.json").is_file()
    }


def resolve_voice_path(voice: str | os.PathLike[str]) -> Path:
    """A bundle directory, or the name of a bundled voice, -> the bundle directory."""
    if not isinstance(voice, (str, os.PathLike)):
        raise InvalidInputError(f"voice must be a bundle directory or a bundled voice name, got {type(voice).__name__}")
    path = Path(voice).expanduser()
    try:
        info: os.stat_result | None = os.stat(path)
    except (OSError, ValueError) as exc:  # ValueError: a NUL in the path
        if isinstance(exc, OSError) and exc.errno == errno.ELOOP:
            raise VoiceLoadError(f"voice {str(voice)!r} is a symlink loop") from None
        if isinstance(exc, OSError) and exc.errno not in (errno.ENOENT, errno.ENOTDIR, errno.ENAMETOOLONG):
            raise VoiceLoadError(f"voice {str(voice)!r} cannot be read ({exc.strerror or exc})") from None
        info = None
    if info is not None and stat.S_ISDIR(info.st_mode):
        return path.resolve()
    bundled = bundled_voices()
    if isinstance(voice, str) and voice in bundled:
        return bundled[voice]
    if info is not None:
        raise VoiceLoadError(f"voice {str(voice)!r} is not a directory (a bundle is a directory with voice.json)")
    names = ", ".join(bundled) or "none"
    raise VoiceLoadError(f"voice {str(voice)!r} not found: not a directory and not a bundled voice (bundled: {names})")


def load_voice(voice: str | os.PathLike[str]) -> VoiceConfig:
    """Reads a voice bundle and validates it completely (see the module docstring).

    Raises:
        VoiceLoadError: naming the file and the field that is missing, of the wrong type,
            out of range, inconsistent with another field, or not matching the weights or
            the exported graphs.
    """
    path = resolve_voice_path(voice)
    config_path = path / "voice.json"
    data = _read_json(config_path)
    version = data.get("format_version")
    if not _is_int(version) or version < 1:
        raise VoiceLoadError(f"{config_path}: 'format_version' must be a positive integer")
    if version > FORMAT_VERSION:
        raise VoiceLoadError(
            f"{path}: bundle format_version {version} was written by a newer ttsengine "
            f"(this one reads up to {FORMAT_VERSION}); upgrade ttsengine"
        )
    missing = [key for key in _REQUIRED_KEYS if key not in data]
    if missing:
        raise VoiceLoadError(f"{config_path}: missing keys {missing}")
    check = _Checker(config_path)

    name = check.string(data["name"], "name", empty=False)
    description = check.string(data.get("description", ""), "description")
    trained = data.get("trained", True)
    if not isinstance(trained, bool):
        check.fail("trained", f"must be true or false, got {_short(trained)}")
    sample_rate = check.rate(data["sample_rate"], "sample_rate")

    features = check.mapping(data["features"], "features")
    model_rate = _check_features(check, features, sample_rate)
    frontend = check.mapping(data["frontend"], "frontend")
    speakers = check.mapping(data["speakers"], "speakers")
    if not speakers:
        check.fail("speakers", "must name at least one speaker")
    for speaker, sid in speakers.items():
        if not _is_int(sid) or sid < 0:
            check.fail(f"speakers.{speaker}", f"must be a non-negative int id, got {_short(sid)}")

    acoustic = check.mapping(data["acoustic"], "acoustic")
    if acoustic.get("arch") != "fastspeech2":
        check.fail("acoustic.arch", f"must be 'fastspeech2', got {_short(acoustic.get('arch'))}")
    acoustic_h = check.hparams(acoustic, "acoustic", _ACOUSTIC_HPARAMS)
    _check_acoustic_hparams(check, acoustic_h)
    vocoder = check.mapping(data["vocoder"], "vocoder")
    if vocoder.get("arch") != "hifigan":
        check.fail("vocoder.arch", f"must be 'hifigan', got {_short(vocoder.get('arch'))}")
    vocoder_h = check.hparams(vocoder, "vocoder", _HIFIGAN_HPARAMS)
    _check_hifigan_hparams(check, vocoder_h)
    _check_consistency(check, features, frontend, speakers, acoustic_h, vocoder_h, vocoder)

    cpu_vocoder = check.mapping(data.get("cpu_vocoder", {}), "cpu_vocoder")
    if cpu_vocoder:
        _check_cpu_vocoder(check, cpu_vocoder, {**features, "sample_rate": model_rate})
    defaults = check.mapping(data.get("defaults", {}), "defaults")
    speaker_infos = _check_speaker_info(check, data["speaker_info"], speakers) if "speaker_info" in data else {}
    onnx = check.mapping(data.get("onnx", {}), "onnx")
    if onnx:
        optional = tuple(g for g in OPTIONAL_GRAPHS if g == "cpu_vocoder" and cpu_vocoder)
        _check_onnx(check, path, onnx, acoustic_h["d_model"], features["n_mels"], features["hop_length"], optional,
                    pulse=bool(cpu_vocoder) and cpu_vocoder["hparams"].get("excitation") == "pulse")

    config = VoiceConfig(
        path=path,
        name=name,
        format_version=version,
        sample_rate=sample_rate,
        features=MappingProxyType(features),
        frontend=MappingProxyType(frontend),
        speakers=MappingProxyType(dict(speakers)),
        acoustic=MappingProxyType(acoustic),
        vocoder=MappingProxyType(vocoder),
        defaults=MappingProxyType(dict(defaults)),
        description=description,
        trained=trained,
        onnx=MappingProxyType(onnx),
        extra=MappingProxyType({k: v for k, v in data.items() if k not in _KNOWN_KEYS}),
        cpu_vocoder=MappingProxyType(cpu_vocoder),
        vocoder_file=vocoder.get("weights", VOCODER_WEIGHTS),
        speaker_infos=MappingProxyType({name: MappingProxyType(info) for name, info in speaker_infos.items()}),
    )
    bundle_file(path, config.vocoder_file, "vocoder.weights", config_path)
    _check_defaults(check, config)
    for part, filename, expected in (
        ("acoustic", ACOUSTIC_WEIGHTS, acoustic_tensors(acoustic_h)),
        ("vocoder", config.vocoder_file, hifigan_tensors(vocoder_h)),
        *([("cpu_vocoder", CPU_VOCODER_WEIGHTS, istft_tensors(cpu_vocoder["hparams"]))] if cpu_vocoder else []),
    ):
        _check_weights(path / filename, part, expected, config_path)
    check_feature_stamps(path, features, model_rate)  # the weights' own record of their features
    if model_rate != sample_rate:
        logger.debug("voice %r: networks at %d Hz, output resampled to %d Hz", name, model_rate, sample_rate)
    return config


def write_voice_json(directory: str | os.PathLike[str], content: dict[str, Any]) -> Path:
    """Writes ``voice.json`` (stamping the current format version) into ``directory``."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    content = {"format_version": FORMAT_VERSION, **content}
    target = directory / "voice.json"
    target.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return target

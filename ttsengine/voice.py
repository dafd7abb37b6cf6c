"""Voice bundles: a directory with ``voice.json`` and safetensors weights.

``voice.json`` holds everything needed to rebuild the networks and the text front end;
weights are never pickled. :func:`load_voice` validates a bundle completely, once, without
importing torch: every field's type and range, the consistency of the sections with each
other (features, hyper-parameters, speakers, defaults, the ONNX I/O contract), and the
JSON against the weights (the safetensors headers: every tensor's name, dtype and shape).
A bundle that would fail (or silently misbehave) on a request is refused here with a
:class:`~ttsengine.errors.VoiceLoadError` naming the field.
"""

from __future__ import annotations

import errno
import json
import logging
import math
import os
import re
import stat
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, Mapping, NoReturn

from .audio.features import FeatureConfig
from .feature_stamp import check_feature_stamps
from .audio.resample import SUPPORTED_SAMPLE_RATES
from .errors import InvalidInputError, VoiceLoadError, shown
from .export.contract import GRAPH_NAMES, OPTIONAL_GRAPHS, PRECISIONS, io_contract

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
CPU_VOCODER_WEIGHTS = "cpu_vocoder.safetensors"
#: Vocoder kinds a Synthesizer may ask for: the reference HiFi-GAN, the distilled CPU one.
VOCODERS = ("hifigan", "istft")
_BUNDLED_DIR = Path(__file__).resolve().parent / "voices"
_KNOWN_KEYS = frozenset({"format_version", "name", "description", "trained", "sample_rate", "features",
                         "frontend", "speakers", "acoustic", "vocoder", "cpu_vocoder", "defaults", "onnx"})
_REQUIRED_KEYS = (
    "format_version", "name", "sample_rate", "features", "frontend", "speakers",
    "acoustic", "vocoder",
)
#: Largest voice.json read (a real one is a few KiB), and its deepest nesting (a real one: 6).
_MAX_CONFIG_BYTES = 16 << 20
_MAX_DEPTH = 32
#: Largest safetensors JSON header read.
_MAX_HEADER_BYTES = 16 << 20
#: safetensors dtype -> bytes per element; the networks' weights must be one of _WEIGHT_DTYPES.
_DTYPE_SIZES = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2, "F8_E4M3": 1, "F8_E5M2": 1, "I64": 8, "I32": 4,
                "I16": 2, "I8": 1, "U64": 8, "U32": 4, "U16": 2, "U8": 1, "BOOL": 1}
_WEIGHT_DTYPES = ("F32", "F16", "BF16")
_DEFAULTS_KEYS = ("speaker", "speed")


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
        _check_cpu_vocoder(check, cpu_vocoder, features)
    defaults = check.mapping(data.get("defaults", {}), "defaults")
    onnx = check.mapping(data.get("onnx", {}), "onnx")
    if onnx:
        optional = tuple(g for g in OPTIONAL_GRAPHS if g == "cpu_vocoder" and cpu_vocoder)
        _check_onnx(check, path, onnx, acoustic_h["d_model"], features["n_mels"], features["hop_length"], optional)

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
    )
    _check_defaults(check, config)
    for part, filename, expected in (
        ("acoustic", ACOUSTIC_WEIGHTS, _acoustic_tensors(acoustic_h)),
        ("vocoder", VOCODER_WEIGHTS, _hifigan_tensors(vocoder_h)),
        *([("cpu_vocoder", CPU_VOCODER_WEIGHTS, _istft_tensors(cpu_vocoder["hparams"]))] if cpu_vocoder else []),
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


# ------------------------------------------------------------------------------ files and JSON
def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _regular_file(path: Path, what: str) -> os.stat_result:
    """``os.stat`` of a file of the bundle (symlinks followed), or a VoiceLoadError saying why not."""
    try:
        info = os.stat(path)
    except ValueError:  # a NUL in the name
        raise VoiceLoadError(f"{path.parent}: invalid file name {path.name!r}") from None
    except FileNotFoundError:
        broken = " (a broken symlink)" if path.is_symlink() else ""
        raise VoiceLoadError(f"{path.parent}: missing {path.name}{broken}") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise VoiceLoadError(f"{path}: cannot read {what}: a symlink loop") from None
        raise VoiceLoadError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    if not stat.S_ISREG(info.st_mode):
        raise VoiceLoadError(f"{path}: {what} is not a regular file")
    return info


def _read_json(config_path: Path) -> dict[str, Any]:
    info = _regular_file(config_path, "voice.json")
    if info.st_size > _MAX_CONFIG_BYTES:
        raise VoiceLoadError(f"{config_path}: {info.st_size} bytes is too large for a voice.json")
    try:
        with open(config_path, "rb") as handle:
            raw = handle.read(_MAX_CONFIG_BYTES + 1)
    except OSError as exc:
        raise VoiceLoadError(f"{config_path}: cannot read voice.json ({exc.strerror or exc})") from None
    data = _parse_json(raw, config_path, "voice.json")
    if not isinstance(data, dict):
        raise VoiceLoadError(f"{config_path}: must hold a JSON object")
    return data


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate key {key!r}")
        result[key] = value
    return result


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _parse_json(raw: bytes, where: Path, what: str) -> Any:
    """JSON text -> value; refuses duplicate keys, NaN / Infinity and nesting deeper than _MAX_DEPTH."""
    try:
        value = json.loads(raw.decode("utf-8"), object_pairs_hook=_unique_keys, parse_constant=_no_constant)
    except RecursionError:
        raise VoiceLoadError(f"{where}: {what} is nested too deeply (more than {_MAX_DEPTH} levels)") from None
    except (UnicodeDecodeError, ValueError) as exc:  # json.JSONDecodeError is a ValueError
        raise VoiceLoadError(f"{where}: {what} is not valid JSON ({exc})") from None
    if _depth(value) > _MAX_DEPTH:
        raise VoiceLoadError(f"{where}: {what} is nested too deeply (more than {_MAX_DEPTH} levels)")
    return value


def _depth(value: Any) -> int:
    """Nesting depth of a parsed JSON value (iterative: no recursion limit to hit)."""
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        children = item.values() if isinstance(item, dict) else item if isinstance(item, list) else None
        if children is None:
            continue
        deepest = max(deepest, level)
        if deepest > _MAX_DEPTH:
            break
        stack.extend((child, level + 1) for child in children)
    return deepest


# ------------------------------------------------------------------------------ the schema
class _Checker:
    """Type checks that raise a VoiceLoadError naming ``voice.json`` and the field."""

    def __init__(self, where: Path) -> None:
        self.where = where

    def fail(self, name: str, problem: str) -> NoReturn:
        raise VoiceLoadError(f"{self.where}: {name} {problem}")

    def mapping(self, value: Any, name: str) -> dict[str, Any]:
        if not isinstance(value, dict):
            self.fail(name, f"must be a JSON object, got {_short(value)}")
        return value

    def string(self, value: Any, name: str, empty: bool = True) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            self.fail(name, f"must be a {'' if empty else 'non-empty '}string, got {_short(value)}")
        return value

    def rate(self, value: Any, name: str) -> int:
        if not _is_int(value) or value not in SUPPORTED_SAMPLE_RATES:
            self.fail(name, f"must be an integer rate in Hz, one of {', '.join(map(str, SUPPORTED_SAMPLE_RATES))}; "
                            f"got {_short(value)}")
        return value

    def hparams(self, section: dict[str, Any], part: str, schema: dict[str, tuple[str, Any]]) -> dict[str, Any]:
        """``section["hparams"]`` -> typed values (lists as tuples) with the defaults filled in."""
        where = f"{part}.hparams"
        if "hparams" not in section:
            self.fail(where, "is missing")
        given = self.mapping(section["hparams"], where)
        unknown = sorted(set(given) - set(schema))
        if unknown:
            self.fail(where, f"has unknown keys {unknown} (known: {', '.join(schema)})")
        values: dict[str, Any] = {}
        for key, (kind, default) in schema.items():
            if key not in given:
                if default is _REQUIRED:
                    self.fail(f"{where}.{key}", "is missing")
                values[key] = default
                continue
            value = given[key]
            ok = {
                "int": _is_int(value),
                "number": _is_number(value),
                "bool": isinstance(value, bool),
                "str": isinstance(value, str),
                "ints": isinstance(value, list) and all(_is_int(v) for v in value),
                "int_lists": isinstance(value, list) and all(
                    isinstance(v, list) and all(_is_int(x) for x in v) for v in value),
            }[kind]
            if not ok:
                self.fail(f"{where}.{key}", f"must be {_KIND_NAMES[kind]}, got {_short(value)}")
            if kind == "ints":
                value = tuple(value)
            elif kind == "int_lists":
                value = tuple(tuple(v) for v in value)
            values[key] = value
        return values


def _short(value: Any) -> str:
    """``repr`` of a JSON value, cut to a readable length."""
    text = "null" if value is None else repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


_REQUIRED = object()
_KIND_NAMES = {"int": "an integer", "number": "a finite number", "bool": "true or false", "str": "a string",
               "ints": "a list of integers", "int_lists": "a list of lists of integers"}

#: AcousticConfig / HiFiGANConfig (ttsengine.models, which import torch) as a torch-free
#: schema: field -> (kind, default or _REQUIRED). tests/test_voice_validation.py keeps
#: them equal to the dataclasses, and _acoustic_tensors / _hifigan_tensors to the models.
_ACOUSTIC_HPARAMS: dict[str, tuple[str, Any]] = {
    "n_symbols": ("int", _REQUIRED),
    "n_speakers": ("int", _REQUIRED),
    "speaker_dim": ("int", 192),
    "d_model": ("int", _REQUIRED),
    "n_heads": ("int", _REQUIRED),
    "enc_layers": ("int", _REQUIRED),
    "dec_layers": ("int", _REQUIRED),
    "ffn_dim": ("int", _REQUIRED),
    "ffn_kernels": ("ints", (9, 1)),
    "decoder_ffn_kernels": ("ints", None),
    "dropout": ("number", 0.1),
    "duration_filter": ("int", _REQUIRED),
    "duration_kernel": ("int", 3),
    "use_pitch": ("bool", False),
    "use_energy": ("bool", False),
    "n_mels": ("int", 80),
    "init_frames_per_token": ("number", 6.0),
}
_HIFIGAN_HPARAMS: dict[str, tuple[str, Any]] = {
    "n_mels": ("int", 80),
    "upsample_rates": ("ints", _REQUIRED),
    "upsample_kernel_sizes": ("ints", _REQUIRED),
    "upsample_initial_channel": ("int", _REQUIRED),
    "resblock": ("str", _REQUIRED),
    "resblock_kernel_sizes": ("ints", _REQUIRED),
    "resblock_dilation_sizes": ("int_lists", _REQUIRED),
}


def _check_acoustic_hparams(check: _Checker, h: dict[str, Any]) -> None:
    """AcousticConfig.__post_init__'s rules."""
    name = "acoustic.hparams"
    for key in ("n_symbols", "n_speakers", "speaker_dim", "d_model", "n_heads", "ffn_dim",
                "duration_filter", "duration_kernel", "n_mels"):
        if h[key] < 1:
            check.fail(f"{name}.{key}", f"must be >= 1, got {h[key]}")
    for key in ("enc_layers", "dec_layers"):
        if h[key] < 0:
            check.fail(f"{name}.{key}", f"must be >= 0, got {h[key]}")
    if h["d_model"] % 2 or h["d_model"] % h["n_heads"]:
        check.fail(f"{name}.d_model", f"{h['d_model']} must be even and divisible by n_heads {h['n_heads']}")
    for key in ("ffn_kernels", "decoder_ffn_kernels"):
        kernels = h[key]
        if kernels is not None and (len(kernels) != 2 or any(k < 1 or k % 2 == 0 for k in kernels)):
            check.fail(f"{name}.{key}", f"must be two odd positive ints, got {list(kernels)}")
    if h["duration_kernel"] % 2 == 0:
        check.fail(f"{name}.duration_kernel", f"must be odd, got {h['duration_kernel']}")
    if not 0.0 <= h["dropout"] < 1.0:
        check.fail(f"{name}.dropout", f"must be in [0, 1), got {h['dropout']}")
    if h["init_frames_per_token"] < 0:
        check.fail(f"{name}.init_frames_per_token", f"must be >= 0, got {h['init_frames_per_token']}")


def _check_hifigan_hparams(check: _Checker, h: dict[str, Any]) -> None:
    """HiFiGANConfig.__post_init__'s rules (and dilations >= 1, which the convolutions need)."""
    name = "vocoder.hparams"
    if h["resblock"] not in ("1", "2"):
        check.fail(f"{name}.resblock", f"must be '1' or '2', got {_short(h['resblock'])}")
    rates, kernels = h["upsample_rates"], h["upsample_kernel_sizes"]
    if not rates or len(rates) != len(kernels):
        check.fail(f"{name}.upsample_rates", "and upsample_kernel_sizes must be non-empty and of equal length")
    for u, k in zip(rates, kernels):
        if u < 1 or k < u or (k - u) % 2:
            check.fail(f"{name}.upsample_kernel_sizes",
                       f"kernel {k} / rate {u} must satisfy rate >= 1, kernel >= rate and kernel - rate even")
    sizes, dilations = h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]
    if not sizes or len(sizes) != len(dilations):
        check.fail(f"{name}.resblock_kernel_sizes", "and resblock_dilation_sizes must be non-empty and of equal length")
    if any(k < 1 or k % 2 == 0 for k in sizes):
        check.fail(f"{name}.resblock_kernel_sizes", f"must be odd positive ints, got {list(sizes)}")
    if any(not d or min(d) < 1 for d in dilations):
        check.fail(f"{name}.resblock_dilation_sizes", "must be non-empty lists of positive ints")
    if h["upsample_initial_channel"] < 1 or h["upsample_initial_channel"] % (2 ** len(rates)):
        check.fail(f"{name}.upsample_initial_channel",
                   f"must be a positive multiple of 2**{len(rates)}, got {h['upsample_initial_channel']}")
    if h["n_mels"] < 1:
        check.fail(f"{name}.n_mels", f"must be >= 1, got {h['n_mels']}")


def _check_features(check: _Checker, features: dict[str, Any], sample_rate: int) -> int:
    """The features section (the networks' mel features); returns the networks' rate."""
    for key in ("hop_length", "n_mels"):
        value = features.get(key)
        if not _is_int(value) or value < 1:
            check.fail(f"features.{key}", f"must be a positive integer, got {_short(value)}")
    model_rate = sample_rate
    if "sample_rate" in features:
        model_rate = check.rate(features["sample_rate"], "features.sample_rate")
    fmax = features.get("fmax")
    if _is_number(fmax) and fmax > model_rate / 2:
        where = "features.sample_rate" if "sample_rate" in features else "sample_rate"
        check.fail("features.fmax", f"{fmax:g} Hz is above the Nyquist frequency of {where} {model_rate}: "
                                    "the features (and the vocoder) were made for another sample rate")
    try:
        FeatureConfig.from_dict({**features, "sample_rate": model_rate})
    except (TypeError, ValueError) as exc:
        check.fail("features", f"are invalid: {exc}")
    return model_rate


def _check_consistency(
    check: _Checker, features: dict[str, Any], frontend: dict[str, Any], speakers: dict[str, Any],
    acoustic: dict[str, Any], vocoder: dict[str, Any], vocoder_section: dict[str, Any],
) -> None:
    """The sections against each other: what one network emits, the next must take."""
    n_mels = features["n_mels"]
    for part, h in (("acoustic", acoustic), ("vocoder", vocoder)):
        if h["n_mels"] != n_mels:
            check.fail(f"{part}.hparams.n_mels", f"is {h['n_mels']} but features.n_mels is {n_mels}")
    hop = math.prod(vocoder["upsample_rates"])
    if hop != features["hop_length"]:
        check.fail("features.hop_length", f"is {features['hop_length']} but the vocoder upsamples by {hop} "
                                          f"(the product of vocoder.hparams.upsample_rates)")
    table = acoustic["n_speakers"]
    beyond = {name: sid for name, sid in speakers.items() if sid >= table}
    if beyond:
        check.fail("speakers", f"{beyond} are beyond the speaker embedding table "
                               f"(acoustic.hparams.n_speakers = {table}: ids 0..{table - 1})")
    symbols = frontend.get("symbols")
    if isinstance(symbols, list) and len(symbols) > acoustic["n_symbols"]:
        check.fail("frontend.symbols", f"has {len(symbols)} symbols but the token embedding table holds "
                                       f"acoustic.hparams.n_symbols = {acoustic['n_symbols']}")
    if "receptive_field_frames" in vocoder_section:
        recorded, computed = vocoder_section["receptive_field_frames"], _receptive_field(vocoder)
        if not _is_int(recorded) or recorded != computed:
            check.fail("vocoder.receptive_field_frames", f"is {_short(recorded)} but vocoder.hparams give {computed}")


def _check_defaults(check: _Checker, config: VoiceConfig) -> None:
    defaults = config.defaults
    unknown = sorted(set(defaults) - set(_DEFAULTS_KEYS))
    if unknown:
        check.fail("defaults", f"has unknown keys {unknown} (known: {', '.join(_DEFAULTS_KEYS)})")
    if "speaker" in defaults:
        speaker = defaults["speaker"]
        if isinstance(speaker, bool) or not isinstance(speaker, (int, str)):
            check.fail("defaults.speaker", f"must be a speaker id or name, got {_short(speaker)}")
        try:
            config.speaker_id(speaker)
        except InvalidInputError as exc:
            check.fail("defaults.speaker", f"is not a speaker of this voice ({exc})")
    if "speed" in defaults:
        from .synthesizer import SPEED_RANGE

        speed, (low, high) = defaults["speed"], SPEED_RANGE
        if not _is_number(speed) or not low <= speed <= high:
            check.fail("defaults.speed", f"must be a number in [{low}, {high}], got {_short(speed)}")


_ISTFT_HPARAMS = ("n_mels", "dim", "intermediate", "layers", "kernel", "hop_length", "n_fft")


def _istft_receptive_field(h: dict[str, Any]) -> int:
    """``ttsengine.models.istft.ISTFTVocoder.receptive_field_frames`` without torch."""
    return (h["kernel"] // 2) * (h["layers"] + 1) + 1


def _check_cpu_vocoder(check: _Checker, section: dict[str, Any], features: dict[str, Any]) -> None:
    """The optional ``cpu_vocoder`` section (arch ``istft``) against the features."""
    if section.get("arch") != "istft":
        check.fail("cpu_vocoder.arch", f"must be 'istft', got {_short(section.get('arch'))}")
    h = check.mapping(section.get("hparams"), "cpu_vocoder.hparams")
    names = sorted(set(_ISTFT_HPARAMS) ^ set(h))
    if names:
        check.fail("cpu_vocoder.hparams", f"must have exactly the keys {list(_ISTFT_HPARAMS)} (differs in {names})")
    for key in _ISTFT_HPARAMS:
        if not _is_int(h[key]) or h[key] < 1:
            check.fail(f"cpu_vocoder.hparams.{key}", f"must be a positive integer, got {_short(h[key])}")
    if h["kernel"] % 2 == 0:
        check.fail("cpu_vocoder.hparams.kernel", f"must be odd, got {h['kernel']}")
    for key, want in (("n_mels", features["n_mels"]), ("hop_length", features["hop_length"]),
                      ("n_fft", 2 * features["hop_length"])):
        if h[key] != want:
            check.fail(f"cpu_vocoder.hparams.{key}", f"is {h[key]} but the features need {want}")
    recorded = section.get("receptive_field_frames")
    if recorded != _istft_receptive_field(h):
        check.fail("cpu_vocoder.receptive_field_frames",
                   f"is {_short(recorded)} but cpu_vocoder.hparams give {_istft_receptive_field(h)}")


def _istft_tensors(h: dict[str, Any]) -> _Shapes:
    """The state dict of ``ISTFTVocoder(ISTFTVocoderConfig(**h))``, without torch."""
    dim, inter = (h["dim"], "dim"), (h["intermediate"], "intermediate")
    out: _Shapes = {
        "conv_pre.weight": (dim, (h["n_mels"], "n_mels"), (h["kernel"], "kernel")), "conv_pre.bias": (dim,),
        "norm_pre.weight": (dim,), "norm_pre.bias": (dim,),
        "norm_post.weight": (dim,), "norm_post.bias": (dim,),
        "head.weight": ((h["n_fft"] + 2, "n_fft"), dim), "head.bias": ((h["n_fft"] + 2, "n_fft"),),
    }
    for i in range(h["layers"]):
        p = f"blocks.{i}."
        out.update({
            p + "dwconv.weight": (dim, (1, "-"), (h["kernel"], "kernel")), p + "dwconv.bias": (dim,),
            p + "norm.weight": (dim,), p + "norm.bias": (dim,),
            p + "pwconv1.weight": (inter, dim), p + "pwconv1.bias": (inter,),
            p + "pwconv2.weight": (dim, inter), p + "pwconv2.bias": (dim,),
            p + "gamma": (dim,),
        })
    return out


def _receptive_field(h: dict[str, Any]) -> int:
    """``ttsengine.models.hifigan.hifigan_receptive_field`` without torch."""
    rates, kernels = h["upsample_rates"], h["upsample_kernel_sizes"]

    def extent(kernel: int, dilations: tuple[int, ...]) -> int:
        half = (kernel - 1) // 2
        return sum(d * half + (half if h["resblock"] == "1" else 0) for d in dilations)

    lo, hi = -3, math.prod(rates) - 1 + 3
    for i in reversed(range(len(rates))):
        ext = max(extent(k, d) for k, d in zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"]))
        lo, hi = lo - ext, hi + ext
        u, k = rates[i], kernels[i]
        p = (k - u) // 2
        lo = -((-(lo + p - k + 1)) // u)
        hi = (hi + p) // u
    return max(-(lo - 3), hi + 3)


# ------------------------------------------------------------------------------ weights
#: tensor name -> its shape as (size, hparam that sets it) per dimension.
_Shapes = dict[str, tuple[tuple[int, str], ...]]


def _acoustic_tensors(h: dict[str, Any]) -> _Shapes:
    """The state dict of ``AcousticModel(AcousticConfig(**h))``, without torch."""
    d = (h["d_model"], "d_model")
    out: _Shapes = {
        "token_embedding.weight": ((h["n_symbols"], "n_symbols"), d),
        "speaker_embedding.weight": ((h["n_speakers"], "n_speakers"), (h["speaker_dim"], "speaker_dim")),
        "speaker_proj.weight": (d, (h["speaker_dim"], "speaker_dim")),
        "speaker_proj.bias": (d,),
    }
    ffn = (h["ffn_dim"], "ffn_dim")
    decoder_kernels = ("decoder_ffn_kernels", h["decoder_ffn_kernels"]) if h["decoder_ffn_kernels"] else None
    for stack, layers in (("encoder", h["enc_layers"]), ("decoder", h["dec_layers"])):
        source, kernels = decoder_kernels if stack == "decoder" and decoder_kernels else ("ffn_kernels", h["ffn_kernels"])
        k0, k1 = ((k, source) for k in kernels)
        for i in range(layers):
            p = f"{stack}.{i}."
            out.update({
                p + "attn.qkv.weight": ((3 * d[0], "d_model"), d), p + "attn.qkv.bias": ((3 * d[0], "d_model"),),
                p + "attn.out.weight": (d, d), p + "attn.out.bias": (d,),
                p + "norm1.weight": (d,), p + "norm1.bias": (d,),
                p + "ffn.conv1.weight": (ffn, d, k0), p + "ffn.conv1.bias": (ffn,),
                p + "ffn.conv2.weight": (d, ffn, k1), p + "ffn.conv2.bias": (d,),
                p + "norm2.weight": (d,), p + "norm2.bias": (d,),
            })
    f, k = (h["duration_filter"], "duration_filter"), (h["duration_kernel"], "duration_kernel")
    predictors = ["duration"] + [name for name in ("pitch", "energy") if h[f"use_{name}"]]
    for name in predictors:
        p = f"{name}_predictor."
        out.update({
            p + "conv1.weight": (f, d, k), p + "conv1.bias": (f,), p + "norm1.weight": (f,), p + "norm1.bias": (f,),
            p + "conv2.weight": (f, f, k), p + "conv2.bias": (f,), p + "norm2.weight": (f,), p + "norm2.bias": (f,),
            p + "proj.weight": ((1, "-"), f), p + "proj.bias": ((1, "-"),),
        })
        if name != "duration":
            out[f"{name}_embedding.weight"] = (d, (1, "-"), (3, "-"))
            out[f"{name}_embedding.bias"] = (d,)
    n_mels = (h["n_mels"], "n_mels")
    out["mel_proj.weight"] = (n_mels, d)
    out["mel_proj.bias"] = (n_mels,)
    return out


def _hifigan_tensors(h: dict[str, Any]) -> _Shapes:
    """The state dict of ``HiFiGANGenerator(HiFiGANConfig(**h))`` (weight norm removed), without torch."""
    ch0 = h["upsample_initial_channel"]

    def ch(i: int) -> tuple[int, str]:
        return ch0 // 2**i, "upsample_initial_channel"

    out: _Shapes = {
        "conv_pre.weight": (ch(0), (h["n_mels"], "n_mels"), (7, "-")),
        "conv_pre.bias": (ch(0),),
    }
    n, n_kernels = len(h["upsample_rates"]), len(h["resblock_kernel_sizes"])
    for i, k in enumerate(h["upsample_kernel_sizes"]):
        out[f"ups.{i}.weight"] = (ch(i), ch(i + 1), (k, "upsample_kernel_sizes"))
        out[f"ups.{i}.bias"] = (ch(i + 1),)
    for i in range(n):
        for j, (k, dilations) in enumerate(zip(h["resblock_kernel_sizes"], h["resblock_dilation_sizes"])):
            p = f"resblocks.{i * n_kernels + j}."
            convs = ("convs1", "convs2") if h["resblock"] == "1" else ("convs",)
            for conv in convs:
                for m in range(len(dilations)):
                    out[f"{p}{conv}.{m}.weight"] = (ch(i + 1), ch(i + 1), (k, "resblock_kernel_sizes"))
                    out[f"{p}{conv}.{m}.bias"] = (ch(i + 1),)
    out["conv_post.weight"] = ((1, "-"), ch(n), (7, "-"))
    out["conv_post.bias"] = ((1, "-"),)
    return out


def _safetensors_header(path: Path, what: str) -> dict[str, tuple[str, tuple[int, ...]]]:
    """tensor name -> (dtype, shape) from a safetensors file's header, checked the way the
    safetensors library checks it (offsets contiguous, covering the file), without
    reading the data."""
    size = _regular_file(path, what).st_size

    def bad(problem: str) -> VoiceLoadError:
        return VoiceLoadError(f"{path}: cannot read {what} ({problem})")

    try:
        with open(path, "rb") as handle:
            prefix = handle.read(8)
            if len(prefix) < 8:
                raise bad("truncated: no safetensors header")
            length = int.from_bytes(prefix, "little")
            if length > min(_MAX_HEADER_BYTES, size - 8):
                raise bad(f"header length {length} does not fit the file: truncated or not safetensors")
            raw = handle.read(length)
    except OSError as exc:
        raise VoiceLoadError(f"{path}: cannot read {what} ({exc.strerror or exc})") from None
    try:
        header = _parse_json(raw, path, "the safetensors header")
    except VoiceLoadError as exc:
        raise bad(str(exc).split(": ", 1)[-1]) from None
    if not isinstance(header, dict):
        raise bad("the header is not a JSON object")
    metadata = header.pop("__metadata__", None)
    if metadata is not None and not (isinstance(metadata, dict) and all(isinstance(v, str) for v in metadata.values())):
        raise bad("__metadata__ must map strings to strings")
    tensors: dict[str, tuple[str, tuple[int, ...]]] = {}
    spans = []
    for name, info in header.items():
        if not (isinstance(info, dict) and isinstance(info.get("dtype"), str) and isinstance(info.get("shape"), list)
                and isinstance(info.get("data_offsets"), list) and len(info["data_offsets"]) == 2):
            raise bad(f"tensor {name!r} has no valid dtype / shape / data_offsets")
        dtype, shape, (begin, end) = info["dtype"], info["shape"], info["data_offsets"]
        if dtype not in _DTYPE_SIZES:
            raise bad(f"tensor {name!r} has unknown dtype {dtype!r}")
        if not all(_is_int(s) and s >= 0 for s in shape) or not (_is_int(begin) and _is_int(end) and 0 <= begin <= end):
            raise bad(f"tensor {name!r} has an invalid shape {shape!r} or data_offsets {info['data_offsets']!r}")
        if end - begin != math.prod(shape) * _DTYPE_SIZES[dtype]:
            raise bad(f"tensor {name!r}: data_offsets {begin}..{end} do not hold {dtype}{shape}")
        tensors[name] = (dtype, tuple(shape))
        spans.append((begin, end))
    position = 0
    for begin, end in sorted(spans):
        if begin != position:
            raise bad("tensor data overlaps or leaves gaps")
        position = end
    if position != size - 8 - length:
        raise bad(f"the data holds {size - 8 - length} bytes but the header describes {position}: truncated or corrupt")
    return tensors


def _shape_text(dtype: str, shape: tuple[int, ...]) -> str:
    return f"{dtype}[{', '.join(map(str, shape))}]"


def _check_weights(path: Path, part: str, expected: _Shapes, config_path: Path) -> None:
    """The weights file against the hyper-parameters in voice.json: names, dtypes, shapes."""
    tensors = _safetensors_header(path, f"{part} weights")
    bad_dtypes = {name: dtype for name, (dtype, _) in tensors.items() if dtype not in _WEIGHT_DTYPES}
    if bad_dtypes:
        listed = ", ".join(f"{name}: {dtype}" for name, dtype in list(bad_dtypes.items())[:8])
        raise VoiceLoadError(f"{path}: {part} weights must be floating point ({', '.join(_WEIGHT_DTYPES)}), "
                             f"found dtype {listed}{' ...' if len(bad_dtypes) > 8 else ''}")
    missing = sorted(set(expected) - set(tensors))
    unexpected = sorted(set(tensors) - set(expected))
    if missing or unexpected:
        raise VoiceLoadError(
            f"{config_path}: {part}.hparams do not match {path.name}: missing tensors {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}, unexpected tensors {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}"
        )
    mismatched: list[tuple[str, tuple[int, ...], tuple[int, ...]]] = []
    blamed: dict[str, int] = {}
    for name, dims in expected.items():
        dtype, shape = tensors[name]
        want = tuple(size for size, _ in dims)
        if shape == want:
            continue
        mismatched.append((name, shape, want))
        if len(shape) == len(want):
            for got, (size, hparam) in zip(shape, dims):
                if got != size:
                    blamed[hparam] = blamed.get(hparam, 0) + 1
        else:
            blamed["-"] = blamed.get("-", 0) + 1
    if mismatched:
        fields = [name for name, _ in sorted(blamed.items(), key=lambda item: -item[1]) if name != "-"]
        named = ", ".join(f"{part}.hparams.{name}" for name in fields[:3]) or f"{part}.hparams"
        details = "; ".join(
            f"{name} is [{', '.join(map(str, shape))}], hparams give [{', '.join(map(str, want))}]"
            for name, shape, want in mismatched[:4]
        )
        raise VoiceLoadError(f"{config_path}: {named} do not match {path.name} "
                             f"(shape mismatch in {len(mismatched)} tensors: {details})")


# ------------------------------------------------------------------------------ ONNX graphs
_SHA256 = re.compile(r"^[0-9a-f]{64}$")
_D_MODEL, _N_MELS, _HOP = "acoustic.hparams.d_model", "features.n_mels", "features.hop_length"


def _check_onnx(check: _Checker, path: Path, onnx: dict[str, Any], d_model: int, n_mels: int, hop: int,
                optional: tuple[str, ...] = ()) -> None:
    """The ``onnx`` section: every graph file in the bundle (``optional`` ones included: the
    graphs of the optional sections the voice has), its sha256 recorded, and its declared
    I/O contract the one this voice's d_model / n_mels / hop_length imply."""
    graphs = check.mapping(onnx.get("graphs"), "onnx.graphs")
    if "opset" in onnx and (not _is_int(onnx["opset"]) or onnx["opset"] < 1):
        check.fail("onnx.opset", f"must be a positive integer, got {_short(onnx['opset'])}")
    unknown = sorted(set(graphs) - set(GRAPH_NAMES + optional))
    if unknown:
        check.fail("onnx.graphs", f"has unknown graphs {unknown} (known: {', '.join(GRAPH_NAMES + optional)})")
    expected = io_contract(d_model, n_mels, hop)
    values = {_D_MODEL: d_model, _N_MELS: n_mels, _HOP: hop}
    # the same contract, naming the voice.json field each fixed dimension comes from
    sources = io_contract(_D_MODEL, _N_MELS, _HOP)  # type: ignore[arg-type]
    root = path.resolve()
    for graph in GRAPH_NAMES + optional:
        name = f"onnx.graphs.{graph}"
        if graph not in graphs:
            check.fail(name, "is missing (re-export the voice)")
        entry = check.mapping(graphs[graph], name)
        precisions = [p for p in PRECISIONS if p in entry]
        if "fp32" not in precisions:
            check.fail(f"{name}.fp32", "is missing (re-export the voice)")
        digests = check.mapping(entry.get("sha256"), f"{name}.sha256")
        for precision in precisions:
            relative = check.string(entry[precision], f"{name}.{precision}", empty=False)
            if os.path.isabs(relative):
                check.fail(f"{name}.{precision}", f"must be a path inside the bundle, got {_short(relative)}")
            file = path / relative
            _regular_file(file, f"the {precision} {graph} graph")
            if not Path(os.path.realpath(file)).is_relative_to(root):
                check.fail(f"{name}.{precision}", f"{_short(relative)} leaves the bundle")
            digest = digests.get(precision)
            if not isinstance(digest, str) or not _SHA256.match(digest):
                check.fail(f"{name}.sha256.{precision}",
                           f"must be a 64-digit lowercase hex sha256, got {_short(digest)}")
        extra = sorted(set(digests) - set(precisions))
        if extra:
            check.fail(f"{name}.sha256", f"lists graphs {extra} that {name} does not have")
        for kind in ("inputs", "outputs"):
            declared = check.mapping(entry.get(kind), f"{name}.{kind}")
            want = expected[graph][kind]
            if list(declared) != list(want):
                check.fail(f"{name}.{kind}", f"are {list(declared)}, the ONNX contract says {list(want)} (re-export)")
            for tensor, spec in want.items():
                got = declared[tensor]
                if got == spec:
                    continue
                cause = ""
                got_shape, want_shape = got.get("shape") if isinstance(got, dict) else None, spec["shape"]
                if isinstance(got_shape, list) and len(got_shape) == len(want_shape):
                    labels = [str(label).split("*")[-1]
                              for g, w, label in zip(got_shape, want_shape, sources[graph][kind][tensor]["shape"])
                              if g != w and str(label).split("*")[-1] in values]
                    if labels:
                        cause = f": {labels[0]} is {values[labels[0]]}, the graphs were exported for another value"
                check.fail(f"{name}.{kind}.{tensor}", f"is {_short(got)} but this voice needs {_short(spec)}{cause}")


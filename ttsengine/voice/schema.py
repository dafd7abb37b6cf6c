"""Reading ``voice.json`` (strict JSON: no duplicate keys, NaN or deep nesting) and checking
its sections: types, ranges, defaults, and the sections against each other. Torch-free
mirrors of the model configs' rules; raises :class:`~ttsengine.errors.VoiceLoadError`
naming the field."""

from __future__ import annotations

import errno
import json
import math
import os
import stat
from pathlib import Path
from typing import Any, NoReturn

from ..audio.features import FeatureConfig
from ..audio.resample import SUPPORTED_SAMPLE_RATES
from ..errors import InvalidInputError, VoiceLoadError
from ..models.shapes import hifigan_receptive_field_frames, istft_receptive_field_frames

#: Largest voice.json read (a real one is a few KiB), and its deepest nesting (a real one: 6).
_MAX_CONFIG_BYTES = 16 << 20
_MAX_DEPTH = 32
_DEFAULTS_KEYS = ("speaker", "speed")


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


#: The package's bundled voices: their files may point into each other's bundles (a
#: vocoder shared by several bundled voices is carried once).
BUNDLED_DIR = Path(__file__).resolve().parents[1] / "voices"


def bundle_file(bundle: Path, relative: Any, name: str, where: Path) -> Path:
    """The file ``relative`` (a path from voice.json, field ``name``) of the bundle at
    ``bundle``: inside the bundle, or, for a bundled voice, inside another bundled voice.
    Raises VoiceLoadError naming the field otherwise (the file itself is not checked)."""
    if not isinstance(relative, str) or not relative.strip():
        raise VoiceLoadError(f"{where}: {name} must be a non-empty string, got {_short(relative)}")
    if os.path.isabs(relative):
        raise VoiceLoadError(f"{where}: {name} must be a path inside the bundle, got {_short(relative)}")
    file = bundle / relative
    # the path as written must stay inside (a weight file may itself be a symlink to anywhere)
    root, shared = Path(os.path.realpath(bundle)), Path(os.path.realpath(BUNDLED_DIR))
    target = Path(os.path.normpath(root / relative))
    if target.is_relative_to(root) or (root.is_relative_to(shared) and target.is_relative_to(shared)):
        return file
    raise VoiceLoadError(f"{where}: {name} {_short(relative)} leaves the bundle")


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
#: them equal to the dataclasses, and acoustic_tensors / hifigan_tensors to the models.
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
    "n_languages": ("int", 1),
}
_HIFIGAN_HPARAMS: dict[str, tuple[str, Any]] = {
    "n_mels": ("int", 80),
    "upsample_rates": ("ints", _REQUIRED),
    "upsample_kernel_sizes": ("ints", _REQUIRED),
    "upsample_initial_channel": ("int", _REQUIRED),
    "resblock": ("str", _REQUIRED),
    "resblock_kernel_sizes": ("ints", _REQUIRED),
    "resblock_dilation_sizes": ("int_lists", _REQUIRED),
    "mel_sharpening": ("number", 0.0),
}


def _check_acoustic_hparams(check: _Checker, h: dict[str, Any]) -> None:
    """AcousticConfig.__post_init__'s rules."""
    name = "acoustic.hparams"
    for key in ("n_symbols", "n_speakers", "speaker_dim", "d_model", "n_heads", "ffn_dim",
                "duration_filter", "duration_kernel", "n_mels", "n_languages"):
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
    if not 0.0 <= h["mel_sharpening"] <= 2.0:
        check.fail(f"{name}.mel_sharpening", f"must be in [0, 2], got {h['mel_sharpening']}")
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
    if (isinstance(symbols, list) and acoustic.get("n_languages", 1) > 1
            and len(symbols) != acoustic["n_symbols"]):  # Frontend.model_id's rule needs one table size
        check.fail("frontend.symbols", f"has {len(symbols)} symbols but a voice with several languages needs "
                                       f"exactly acoustic.hparams.n_symbols = {acoustic['n_symbols']}")
    if "receptive_field_frames" in vocoder_section:
        recorded, computed = vocoder_section["receptive_field_frames"], hifigan_receptive_field_frames(vocoder)
        if not _is_int(recorded) or recorded != computed:
            check.fail("vocoder.receptive_field_frames", f"is {_short(recorded)} but vocoder.hparams give {computed}")


def _check_defaults(check: _Checker, config: Any) -> None:
    """The ``defaults`` section of a :class:`~ttsengine.voice.VoiceConfig`."""
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
        from ..limits import SPEED_RANGE

        speed, (low, high) = defaults["speed"], SPEED_RANGE
        if not _is_number(speed) or not low <= speed <= high:
            check.fail("defaults.speed", f"must be a number in [{low}, {high}], got {_short(speed)}")


_ISTFT_HPARAMS = ("n_mels", "dim", "intermediate", "layers", "kernel", "hop_length", "n_fft")


def _check_cpu_vocoder(check: _Checker, section: dict[str, Any], features: dict[str, Any]) -> None:
    """The optional ``cpu_vocoder`` section (arch ``istft``) against the features."""
    if section.get("arch") != "istft":
        check.fail("cpu_vocoder.arch", f"must be 'istft', got {_short(section.get('arch'))}")
    h = check.mapping(section.get("hparams"), "cpu_vocoder.hparams")
    pulse = h.get("excitation", "none") == "pulse"
    keys = _ISTFT_HPARAMS + (("excitation", "sample_rate") if pulse else ())
    keys += (("free_part",) if pulse and "free_part" in h else ())
    names = sorted(set(keys) ^ set(h))
    if names:
        check.fail("cpu_vocoder.hparams", f"must have exactly the keys {list(keys)} (differs in {names}; "
                                          "excitation 'pulse' adds excitation and sample_rate, and may "
                                          "add free_part)")
    if "free_part" in h and not isinstance(h["free_part"], bool):
        check.fail("cpu_vocoder.hparams.free_part", f"must be true or false, got {_short(h['free_part'])}")
    if pulse and h["sample_rate"] != features.get("sample_rate"):
        check.fail("cpu_vocoder.hparams.sample_rate",
                   f"is {_short(h['sample_rate'])} but the features' sample rate is {features.get('sample_rate')}")
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
    if recorded != istft_receptive_field_frames(h):
        check.fail("cpu_vocoder.receptive_field_frames",
                   f"is {_short(recorded)} but cpu_vocoder.hparams give {istft_receptive_field_frames(h)}")


#: The ``speaker_info`` section: per speaker, its languages (the first one its native
#: language), gender, licence and origin. ``languages`` and ``license`` are required.
_SPEAKER_INFO_KEYS = ("languages", "gender", "license", "origin")
_GENDERS = ("female", "male")


def _check_speaker_info(check: _Checker, section: Any, speakers: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The optional ``speaker_info`` section: speaker name -> ``{"languages": [codes, the
    first native], "gender": "female" | "male" (optional), "license": str, "origin": str
    (optional)}``; speakers may be left out. Returns it with ``languages`` as tuples."""
    section = check.mapping(section, "speaker_info")
    unknown = [name for name in section if name not in speakers]
    if unknown:
        check.fail("speaker_info", f"names {unknown} that are not speakers of this voice "
                                   f"(speakers: {', '.join(speakers)})")
    result: dict[str, dict[str, Any]] = {}
    for speaker, entry in section.items():
        where = f"speaker_info.{speaker}"
        entry = check.mapping(entry, where)
        extra = sorted(set(entry) - set(_SPEAKER_INFO_KEYS))
        if extra:
            check.fail(where, f"has unknown keys {extra} (known: {', '.join(_SPEAKER_INFO_KEYS)})")
        for key in ("languages", "license"):
            if key not in entry:
                check.fail(f"{where}.{key}", "is missing")
        languages = entry["languages"]
        if not isinstance(languages, list) or not languages:
            check.fail(f"{where}.languages", f"must be a non-empty list of language codes (the first the "
                                             f"speaker's native language), got {_short(languages)}")
        for code in languages:
            if not isinstance(code, str) or not code.strip() or code != code.strip():
                check.fail(f"{where}.languages", f"must hold language codes such as 'en-us' or 'zh', "
                                                 f"got {_short(code)}")
        if len(set(languages)) != len(languages):
            check.fail(f"{where}.languages", f"lists a language twice: {_short(languages)}")
        if "gender" in entry and entry["gender"] not in _GENDERS:
            check.fail(f"{where}.gender", f"must be one of {', '.join(map(repr, _GENDERS))}, "
                                          f"got {_short(entry['gender'])}")
        check.string(entry["license"], f"{where}.license", empty=False)
        if "origin" in entry:
            check.string(entry["origin"], f"{where}.origin", empty=False)
        result[speaker] = {**entry, "languages": tuple(languages)}
    return result

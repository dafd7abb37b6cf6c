"""TensorRT optimization profiles: the shapes the synthesizer can request of each engine,
from a bundle's ONNX contract, and whether a set of profiles covers given requests.

Pure Python (no TensorRT, torch or onnx): the runtime backend and the builder both use it.
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping, Sequence

from ..errors import InvalidInputError, VoiceLoadError
from ..limits import FRAME_BUCKET, SPEED_RANGE, TOKEN_BUCKET, TOKENS_PER_CHAR, bucket, segment_frame_limit
from ..voice import VoiceConfig
from ..voice.contract import GRAPH_NAMES, io_contract

__all__ = [
    "DEFAULT_MAX_BATCH", "DYNAMIC_AXES", "TOKENS_PER_CHAR", "check_profiles_cover", "frame_bound",
    "graph_input_dims", "positive", "profile_shapes", "token_bound",
]

#: The symbolic axes of the I/O contract that optimization profiles range over.
DYNAMIC_AXES = ("batch", "tokens", "frames")
DEFAULT_MAX_BATCH = 8
#: Optimum of each axis when ``opt`` does not say (a short sentence at batch 1).
DEFAULT_OPT = {"batch": 1, "tokens": 64, "frames": 512}

Profile = dict[str, tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...]]]


# ------------------------------------------------------------------------ bundle / contract
def graph_input_dims(voice: VoiceConfig) -> dict[str, dict[str, tuple[str | int, ...]]]:
    """graph -> input -> dims from voice.json's contract: ``batch``/``tokens``/``frames`` or
    fixed ints (checked against the voice's d_model and n_mels)."""
    d_model = int(voice.acoustic["hparams"]["d_model"])
    expected = io_contract(d_model, voice.n_mels, voice.hop_length)
    graphs = voice.onnx.get("graphs", {}) if voice.onnx else {}
    out: dict[str, dict[str, tuple[str | int, ...]]] = {}
    for graph in GRAPH_NAMES:
        inputs = (graphs.get(graph) or {}).get("inputs") or expected[graph]["inputs"]
        if list(inputs) != list(expected[graph]["inputs"]):
            raise VoiceLoadError(
                f"{voice.path}: onnx.graphs.{graph}.inputs are {list(inputs)}, "
                f"the contract says {list(expected[graph]['inputs'])}"
            )
        out[graph] = {}
        for name, spec in inputs.items():
            dims = tuple(spec["shape"])
            if dims != tuple(expected[graph]["inputs"][name]["shape"]):
                raise VoiceLoadError(
                    f"{voice.path}: onnx.graphs.{graph}.inputs.{name} has shape {list(dims)}, "
                    f"the contract says {expected[graph]['inputs'][name]['shape']}"
                )
            out[graph][name] = dims
    return out


# ------------------------------------------------------------------------ profiles
def token_bound(voice: VoiceConfig) -> int:
    """Most tokens the CUDA pipeline can send the encoder for one segment: max_segment_chars
    x tokens per char, rounded up to a token bucket."""
    from ..frontend.split import DEFAULT_MAX_CHARS

    kind = str(voice.frontend.get("kind"))
    chars = int(voice.frontend.get("max_segment_chars", DEFAULT_MAX_CHARS))
    return bucket(chars * TOKENS_PER_CHAR.get(kind, max(TOKENS_PER_CHAR.values())), TOKEN_BUCKET)


def frame_bound(voice: VoiceConfig) -> int:
    """Most mel frames the CUDA pipeline can send the decoder and vocoder for one segment:
    the synthesizer's frame limit at the slowest speed (it grows as 1 / speed), rounded up
    to a frame bucket."""
    return bucket(segment_frame_limit(voice.model_sample_rate, voice.hop_length, SPEED_RANGE[0]), FRAME_BUCKET)


def positive(name: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InvalidInputError(f"{name} must be a positive int, got {value!r}")
    return value


def profile_shapes(
    voice: VoiceConfig,
    max_batch: int = DEFAULT_MAX_BATCH,
    max_tokens: int | None = None,
    max_frames: int | None = None,
    opt: Mapping[str, int] | None = None,
) -> dict[str, Profile]:
    """graph -> input -> (min, opt, max) shapes of its optimization profile.

    ``max_tokens`` / ``max_frames`` default to what the synthesizer can request
    (:func:`token_bound`, :func:`frame_bound`); minima are 1; ``opt`` maps axis names
    (``batch``, ``tokens``, ``frames``) to the size TensorRT tunes for (clamped to the max).
    Decoder and vocoder share the ``frames`` axis (the vocoder's wave is frames x hop).
    """
    maxima = {
        "batch": positive("max_batch", max_batch),
        "tokens": positive("max_tokens", token_bound(voice) if max_tokens is None else max_tokens),
        "frames": positive("max_frames", frame_bound(voice) if max_frames is None else max_frames),
    }
    unknown = sorted(set(opt or {}) - set(DYNAMIC_AXES))
    if unknown:
        raise InvalidInputError(f"unknown profile axes {unknown}; expected {', '.join(DYNAMIC_AXES)}")
    ranges = {}
    for axis in DYNAMIC_AXES:
        best = positive(f"opt[{axis!r}]", (opt or {}).get(axis, DEFAULT_OPT[axis]))
        ranges[axis] = (1, min(best, maxima[axis]), maxima[axis])
    profiles: dict[str, Profile] = {}
    for graph, inputs in graph_input_dims(voice).items():
        profiles[graph] = {}
        for name, dims in inputs.items():
            triple = [ranges[d] if isinstance(d, str) else (d, d, d) for d in dims]
            profiles[graph][name] = tuple(tuple(t[i] for t in triple) for i in range(3))  # type: ignore[assignment]
    return profiles


def check_profiles_cover(
    profiles: Mapping[str, Mapping[str, Sequence[Sequence[int]]]],
    requests: Iterable[tuple[str, Mapping[str, Sequence[int]]]],
) -> list[str]:
    """Problems (empty: all covered) of running ``requests`` — (graph, {input: shape}) —
    on engines built with ``profiles`` (graph -> input -> (min, opt, max))."""
    problems: list[str] = []
    for graph, shapes in requests:
        profile = profiles.get(graph)
        if profile is None:
            problems.append(f"no profile for graph {graph!r}")
            continue
        for name, shape in shapes.items():
            if name not in profile:
                problems.append(f"{graph}: no profile for input {name!r}")
                continue
            low, _, high = profile[name]
            shape = tuple(int(s) for s in shape)
            if len(shape) != len(low) or any(s < lo or s > hi for s, lo, hi in zip(shape, low, high)):
                problems.append(
                    f"{graph}.{name} shape {list(shape)} is outside the profile "
                    f"[{list(low)} .. {list(high)}]"
                )
        missing = sorted(set(profile) - set(shapes))
        if missing:
            problems.append(f"{graph}: request lacks inputs {missing}")
    return problems

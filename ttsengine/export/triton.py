"""Exported voice bundle -> NVIDIA Triton Inference Server model repository
(``ttsengine export-triton VOICE -o MODEL_REPOSITORY``).

One Triton model per ONNX graph of the bundle, served by Triton's ONNX Runtime backend::

    MODEL_REPOSITORY/
      <prefix>_encoder/config.pbtxt    <prefix>_encoder/1/model.onnx
      <prefix>_decoder/config.pbtxt    <prefix>_decoder/1/model.onnx
      <prefix>_vocoder/config.pbtxt    <prefix>_vocoder/1/model.onnx
      (<prefix>_cpu_vocoder/...        when the bundle carries that graph)
      README.<prefix>.md               the client-side pipeline (Triton ignores files here)

Each ``config.pbtxt`` is written from the I/O contract recorded in the bundle's
``voice.json`` (``onnx.graphs.<graph>.inputs/outputs``): symbolic axes become ``-1``; with
``max_batch_size > 0`` the leading ``batch`` axis is Triton's implicit batch dimension and
is left out of ``dims``, and the batch-only tensors (``token_lengths``, ``speakers``,
``frame_lengths``: shape ``[batch]`` in the graphs) are declared ``dims: [ 1 ]`` with
``reshape: { shape: [ ] }``, the form Triton documents for them.

There is no ensemble: the length regulator between encoder and decoder has a data-dependent
output length and runs on the client (``ttsengine._core.durations_to_frames`` and
``expand_frames``), as it does for every ttsengine backend (see docs/export.md).

**Not tested against a running Triton server** (none can run where this was written): the
tests parse every generated config with tritonclient's ``model_config_pb2.ModelConfig``
schema and run every copied graph with ONNX Runtime on inputs shaped from the config.

Only the standard library is used here (no onnx / onnxruntime / tritonclient).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import re
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence

from .._version import __version__
from ..errors import InvalidInputError, VoiceLoadError
from ..voice import VoiceConfig, load_voice
from ..voice.contract import GRAPH_NAMES, PRECISIONS
from ..voice.hashing import sha256_file
from ..voice.onnx import self_contained_graph
from .onnx_export import ExportError

__all__ = [
    "DEFAULT_MAX_BATCH_SIZE",
    "DEFAULT_MAX_QUEUE_DELAY_US",
    "INSTANCE_KINDS",
    "TRITON_DTYPES",
    "TritonOptions",
    "default_model_prefix",
    "export_triton",
    "model_configs",
    "triton_dims",
    "add_arguments",
    "run",
]

logger = logging.getLogger("ttsengine")

DEFAULT_MAX_BATCH_SIZE = 8
#: How long Triton's dynamic batcher holds a request to gather a batch (1 ms: small next to
#: the tens of milliseconds one utterance takes, enough for concurrent requests to meet).
DEFAULT_MAX_QUEUE_DELAY_US = 1000
#: --instance-kind -> Triton's ModelInstanceGroup.Kind.
INSTANCE_KINDS = {"gpu": "KIND_GPU", "cpu": "KIND_CPU", "auto": "KIND_AUTO"}
#: numpy dtype names of the contract -> Triton's DataType.
TRITON_DTYPES = {
    "bool": "TYPE_BOOL", "uint8": "TYPE_UINT8", "int8": "TYPE_INT8", "int16": "TYPE_INT16",
    "int32": "TYPE_INT32", "int64": "TYPE_INT64", "float16": "TYPE_FP16", "float32": "TYPE_FP32",
    "float64": "TYPE_FP64",
}
#: The name of the model file Triton's ONNX Runtime backend loads from a version directory.
MODEL_FILENAME = "model.onnx"
MODEL_VERSION = "1"
_PREFIX = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class TritonOptions:
    """Scheduling settings written into every model's config.pbtxt."""

    max_batch_size: int = DEFAULT_MAX_BATCH_SIZE
    #: None: the powers of two from 2 up to max_batch_size, and max_batch_size itself.
    preferred_batch_sizes: tuple[int, ...] | None = None
    max_queue_delay_us: int = DEFAULT_MAX_QUEUE_DELAY_US
    instance_kind: str = "gpu"
    instances: int = 1
    #: GPU ids for KIND_GPU instances (empty: every GPU Triton sees).
    gpus: tuple[int, ...] = ()

    def checked(self) -> TritonOptions:
        """These options with defaults filled in; InvalidInputError for a bad value."""
        for name in ("max_batch_size", "max_queue_delay_us", "instances"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < (1 if name == "instances" else 0):
                low = "a positive" if name == "instances" else "a non-negative"
                raise InvalidInputError(f"{name} must be {low} integer, got {value!r}")
        if self.instance_kind not in INSTANCE_KINDS:
            raise InvalidInputError(
                f"instance_kind must be one of {', '.join(INSTANCE_KINDS)}, got {self.instance_kind!r}")
        if self.gpus and self.instance_kind != "gpu":
            raise InvalidInputError("gpus apply to GPU instances only (instance_kind 'gpu')")
        if any(isinstance(g, bool) or not isinstance(g, int) or g < 0 for g in self.gpus):
            raise InvalidInputError(f"gpus must be non-negative integer device ids, got {list(self.gpus)}")
        preferred = self.preferred_batch_sizes
        if preferred is None:
            preferred = _default_preferred(self.max_batch_size)
        if not isinstance(preferred, (tuple, list)):
            raise InvalidInputError(f"preferred batch sizes must be a tuple of integers, got {preferred!r}")
        preferred = tuple(preferred)
        if self.max_batch_size == 0 and preferred:
            raise InvalidInputError("preferred batch sizes need max_batch_size > 0 (0 disables Triton's batching)")
        for size in preferred:
            if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= self.max_batch_size:
                raise InvalidInputError(
                    f"preferred batch sizes must be integers in [1, max_batch_size={self.max_batch_size}], got {size!r}"
                )
        return TritonOptions(self.max_batch_size, tuple(sorted(set(preferred))), self.max_queue_delay_us,
                             self.instance_kind, self.instances, tuple(self.gpus))


def _default_preferred(max_batch_size: int) -> tuple[int, ...]:
    sizes = {max_batch_size} if max_batch_size > 1 else set()
    size = 2
    while size < max_batch_size:
        sizes.add(size)
        size *= 2
    return tuple(sorted(sizes))


def default_model_prefix(voice: VoiceConfig) -> str:
    """The voice's name as a Triton model-name prefix (letters, digits, ``_`` and ``-``)."""
    prefix = re.sub(r"[^A-Za-z0-9_-]+", "_", voice.name).strip("_-")
    return prefix or "voice"


def _check_prefix(prefix: str) -> str:
    if not isinstance(prefix, str) or not _PREFIX.fullmatch(prefix) or len(prefix) > 100:
        raise InvalidInputError(
            f"model prefix must start with a letter or digit and hold only letters, digits, '_' and '-' "
            f"(at most 100 characters), got {prefix!r}"
        )
    return prefix


def _graphs(voice: VoiceConfig) -> list[tuple[str, Mapping[str, Any]]]:
    """The bundle's graphs (the contract's three first), or ExportError when it has none."""
    graphs = dict(voice.onnx.get("graphs", {})) if voice.onnx else {}
    if not graphs:
        raise ExportError(
            f"voice {voice.name!r} ({voice.path}) has no ONNX graphs: export it first "
            f"(ttsengine export {voice.path} -o DIR), then run export-triton on DIR"
        )
    order = [g for g in GRAPH_NAMES if g in graphs] + sorted(g for g in graphs if g not in GRAPH_NAMES)
    return [(graph, graphs[graph]) for graph in order]


def triton_dims(shape: Sequence[str | int], batched: bool) -> tuple[list[int], list[int] | None]:
    """A contract shape -> (Triton ``dims``, ``reshape`` shape or None).

    Symbolic axes become -1. With ``batched`` (max_batch_size > 0) the leading ``batch``
    axis is Triton's implicit batch dimension and is dropped; a tensor that had only that
    axis becomes ``dims [1]`` reshaped to ``[]`` (Triton's documented form)."""
    dims = [-1 if isinstance(d, str) else int(d) for d in shape]
    if not batched:
        return dims, None
    if not shape or shape[0] != "batch":
        raise ExportError(f"cannot batch a tensor of shape {list(shape)}: its first axis is not 'batch'")
    dims = dims[1:]
    if not dims:
        return [1], []
    return dims, None


def _list(values: Sequence[int]) -> str:
    return f"[ {', '.join(map(str, values))} ]" if values else "[ ]"


def _tensor_text(name: str, spec: Mapping[str, Any], batched: bool) -> list[str]:
    dtype = spec["dtype"]
    if dtype not in TRITON_DTYPES:
        raise ExportError(f"tensor {name!r} has dtype {dtype!r}, which has no Triton data type here")
    dims, reshape = triton_dims(spec["shape"], batched)
    lines = [
        "  {",
        f"    name: {json.dumps(name)}",
        f"    data_type: {TRITON_DTYPES[dtype]}",
        f"    dims: {_list(dims)}",
    ]
    if reshape is not None:
        lines.append(f"    reshape: {{ shape: {_list(reshape)} }}")
    lines.append("  }")
    return lines


def _tensors_text(kind: str, tensors: Mapping[str, Any], batched: bool) -> list[str]:
    lines = [f"{kind} ["]
    blocks = [_tensor_text(name, spec, batched) for name, spec in tensors.items()]
    for i, block in enumerate(blocks):
        if i < len(blocks) - 1:
            block[-1] += ","
        lines += block
    return lines + ["]"]


def _config_text(
    prefix: str, graph: str, entry: Mapping[str, Any], voice: VoiceConfig, precision: str, options: TritonOptions
) -> str:
    batched = options.max_batch_size > 0
    model = f"{prefix}_{graph}"
    lines = [
        f"# Written by ttsengine {__version__} (export-triton) from the {precision} {graph} graph of voice "
        f"{json.dumps(voice.name)}.",
        f"# No ensemble: the client runs the length regulator between {prefix}_encoder and {prefix}_decoder",
        f"# (see README.{prefix}.md in the model repository).",
        f"name: {json.dumps(model)}",
        'platform: "onnxruntime_onnx"',
        'backend: "onnxruntime"',
        f"max_batch_size: {options.max_batch_size}",
    ]
    lines += _tensors_text("input", entry["inputs"], batched)
    lines += _tensors_text("output", entry["outputs"], batched)
    if batched:
        lines.append("dynamic_batching {")
        if options.preferred_batch_sizes:
            lines.append(f"  preferred_batch_size: {_list(options.preferred_batch_sizes)}")
        lines += [f"  max_queue_delay_microseconds: {options.max_queue_delay_us}", "}"]
    group = [f"    count: {options.instances}", f"    kind: {INSTANCE_KINDS[options.instance_kind]}"]
    if options.gpus:
        group.append(f"    gpus: {_list(options.gpus)}")
    lines += ["instance_group [", "  {", *group, "  }", "]"]
    return "\n".join(lines) + "\n"


def model_configs(
    voice: str | os.PathLike[str] | VoiceConfig,
    *,
    precision: str = "fp32",
    options: TritonOptions | None = None,
    model_prefix: str | None = None,
) -> dict[str, str]:
    """model name -> config.pbtxt text, for each ONNX graph of an exported voice (no files
    written). Raises ExportError (no graphs, no graphs of that precision) or
    InvalidInputError (a bad option)."""
    config = voice if isinstance(voice, VoiceConfig) else load_voice(voice)
    if precision not in PRECISIONS:
        raise InvalidInputError(f"precision must be one of {', '.join(PRECISIONS)}, got {precision!r}")
    options = (options or TritonOptions()).checked()
    prefix = _check_prefix(default_model_prefix(config) if model_prefix is None else model_prefix)
    graphs = _graphs(config)
    missing = [graph for graph, entry in graphs if precision not in entry]
    if missing:
        have = sorted({p for _, entry in graphs for p in PRECISIONS if p in entry})
        hint = " (export it with --fp16)" if precision == "fp16" else ""
        raise ExportError(f"voice {config.name!r} has no {precision} graphs for {', '.join(missing)}{hint}; "
                          f"it has: {', '.join(have)}")
    return {f"{prefix}_{graph}": _config_text(prefix, graph, entry, config, precision, options)
            for graph, entry in graphs}


def _readme(voice: VoiceConfig, prefix: str, precision: str, options: TritonOptions, models: list[str]) -> str:
    enc, dec, voc = (f"{prefix}_{g}" for g in GRAPH_NAMES)
    bundle, hop, rate = json.dumps(str(voice.path)), voice.hop_length, voice.model_sample_rate
    speakers = ", ".join(f"{name}={sid}" for name, sid in voice.speakers.items())
    batching = (
        f"max_batch_size {options.max_batch_size}, dynamic batching (preferred sizes "
        f"{list(options.preferred_batch_sizes) or 'none'}, max queue delay {options.max_queue_delay_us} us)"
        if options.max_batch_size > 0 else "max_batch_size 0 (no batching by Triton; dims include the batch axis)"
    )
    batched = options.max_batch_size > 0
    batch_only = "array[:, None] if array.ndim == 1 else array" if batched else "array"
    batch_note = (
        "Tensors of shape `[batch]` in the graphs (`token_lengths`, `speakers`, `frame_lengths`) travel\n"
        "as `[batch, 1]` (`dims: [ 1 ]`, which Triton reshapes to `[ ]` per row); that is what\n"
        "`infer` does for 1-D arrays." if batched else
        "max_batch_size is 0: every tensor travels with the shape the graph has, batch axis included."
    )
    resample = "" if voice.model_sample_rate == voice.sample_rate else (
        "\n\nfrom ttsengine.audio.resample import resample  # the voice's output rate, as synthesize() returns it"
        f"\naudio = resample(audio, {voice.model_sample_rate}, {voice.sample_rate})")
    others = [m for m in models if m not in (enc, dec, voc)]
    if others:
        batch_note += "\n\n" + ", ".join(f"`{m}`" for m in others) + (
            f": further graphs of the bundle (a `cpu_vocoder` has `{voc}`'s inputs and outputs and can take "
            "its place, e.g. on CPU instances); their config.pbtxt lists their tensors.")
    return f"""# Triton models of voice {voice.name!r} ({precision})

Written by `ttsengine export-triton` (ttsengine {__version__}) from `{voice.path}`.
Models: {', '.join(f'`{m}`' for m in models)}; {batching};
{options.instances} instance(s) of kind {INSTANCE_KINDS[options.instance_kind]} each.
Serve with `tritonserver --model-repository=<this directory>` (Triton's ONNX Runtime
backend). These configs were checked against tritonclient's model-config schema and the
graphs with ONNX Runtime, but never loaded by a Triton server where they were written.

Voice: {voice.sample_rate} Hz output (networks at {voice.model_sample_rate} Hz), hop length
{voice.hop_length} samples per mel frame, {voice.n_mels} mel bins, speakers {speakers}.

## No ensemble: the client runs the length regulator

The pipeline is text -> token ids -> `{enc}` -> **length regulator** -> `{dec}` -> `{voc}`.
The regulator repeats each token's hidden state by its predicted frame count, an output
length that depends on the data, so it is not a Triton model; the client runs it between
the encoder and decoder calls, with the same native code every ttsengine backend uses
(`pip install ttsengine tritonclient[http]`):

```python
import numpy as np
import tritonclient.http as httpclient
from ttsengine import _core
from ttsengine.frontend import Frontend
from ttsengine.voice import load_voice

client = httpclient.InferenceServerClient("localhost:8000")


def infer(model, outputs, **inputs):
    request = []
    for name, array in inputs.items():
        array = np.ascontiguousarray({batch_only})
        tensor = httpclient.InferInput(name, list(array.shape), "INT64" if array.dtype == np.int64 else "FP32")
        tensor.set_data_from_numpy(array)
        request.append(tensor)
    result = client.infer(model, request, outputs=[httpclient.InferRequestedOutput(o) for o in outputs])
    return [result.as_numpy(o) for o in outputs]


voice = load_voice({bundle})  # the exported bundle: its text front end
ids = Frontend.from_config(dict(voice.frontend)).segments("Hello world.")[0].ids
tokens = np.array([ids], dtype=np.int64)  # [batch, tokens]; pad rows with 0
token_lengths = np.array([len(ids)], dtype=np.int64)
speakers = np.array([voice.speaker_id(None)], dtype=np.int64)

hidden, log_durations = infer("{enc}", ["hidden", "log_durations"],
                              tokens=tokens, token_lengths=token_lengths, speakers=speakers)
frames, frame_lengths = _core.durations_to_frames(log_durations, token_lengths, 1.0)  # speed 1.0
expanded = _core.expand_frames(hidden, frames, int(frame_lengths.max()))  # [batch, frames, d_model]
(mel,) = infer("{dec}", ["mel"], frames=expanded, frame_lengths=frame_lengths)
(wave,) = infer("{voc}", ["wave"], mel=mel, frame_lengths=frame_lengths)
audio = wave[0, : int(frame_lengths[0]) * {hop}]  # float32 samples at {rate} Hz{resample}
```

{batch_note}
A row whose `frame_lengths` is -1 had NaN log-durations (refuse it); `ttsengine`'s own
pipeline also caps the frames per segment and splits long text into sentences
(`Frontend.segments`) with pauses between them.

## Batching

Triton's dynamic batcher joins requests only when their shapes match. Pad `tokens` and
`frames` to a few bucket lengths (e.g. multiples of 32) to let concurrent requests batch:
padding is harmless, since the graphs mask every row past its length (outputs are exactly
0 there), so a padded row equals its single run.
"""


def _prepare_output(out: Path, force: bool) -> bool:
    """Validates the output directory; returns True when it is created here."""
    if out.exists() and not out.is_dir():
        raise ExportError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        raise ExportError(f"output {out} exists and is not empty; pass --force (force=True) to replace "
                          "this voice's models in it (other models stay)")
    return not out.exists()


def _graph_file(voice: VoiceConfig, graph: str, entry: Mapping[str, Any], precision: str) -> Path:
    """The graph file, checked against the sha256 voice.json records for it."""
    path = voice.path / entry[precision]
    expected = entry.get("sha256", {}).get(precision)
    if expected is not None and sha256_file(path) != expected:
        raise VoiceLoadError(
            f"{path}: sha256 does not match voice.json (the graph was modified or is corrupt; re-export the voice)"
        )
    return path


def export_triton(
    voice: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    precision: str = "fp32",
    options: TritonOptions | None = None,
    model_prefix: str | None = None,
    force: bool = False,
) -> dict[str, Path]:
    """Writes a Triton model repository with one model per ONNX graph of an exported voice.

    Args:
        voice: an exported bundle directory or bundled voice name (with ONNX graphs).
        out_dir: the model repository. Must be absent or empty unless ``force``; with
            ``force`` only this voice's model directories (``<prefix>_<graph>``) and its
            ``README.<prefix>.md`` are replaced, other models stay (several voices or
            precisions can share one repository under different prefixes).
        precision: ``"fp32"`` or ``"fp16"`` (the bundle's ``*.fp16.onnx`` graphs, float32
            I/O like the fp32 ones: the configs are the same).
        options: batching and instance settings (:class:`TritonOptions`).
        model_prefix: model names are ``<prefix>_<graph>``; default: the voice's name.

    Returns model name -> model directory. Raises ExportError (no graphs, no graphs of that
    precision, output exists), VoiceLoadError (bad bundle, graph modified since export) or
    InvalidInputError (a bad option). Nothing in ``out_dir`` changes before all graphs are
    checked and staged.
    """
    config = load_voice(voice)
    prefix = default_model_prefix(config) if model_prefix is None else model_prefix
    options = (options or TritonOptions()).checked()
    configs = model_configs(config, precision=precision, options=options, model_prefix=prefix)
    entries = dict(_graphs(config))
    out = Path(out_dir).expanduser().resolve()
    created = _prepare_output(out, force)
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-triton-", dir=out))
    written: dict[str, Path] = {}
    try:
        for model, text in configs.items():
            graph = model[len(prefix) + 1:]
            _graph_file(config, graph, entries[graph], precision)
            (staging / model / MODEL_VERSION).mkdir(parents=True)
            # a graph whose weights live in a safetensors file is written self-contained
            source = self_contained_graph(config, graph, precision, staging / model)
            shutil.copyfile(source, staging / model / MODEL_VERSION / MODEL_FILENAME)
            if source.parent == staging / model:
                source.unlink()
            (staging / model / "config.pbtxt").write_text(text, encoding="utf-8")
        readme = f"README.{prefix}.md"
        (staging / readme).write_text(_readme(config, prefix, precision, options, list(configs)), encoding="utf-8")
        # Everything staged: now replace this voice's entries.
        for name in [*configs, readme]:
            target = out / name
            if target.is_dir() and not target.is_symlink():
                shutil.rmtree(target)
            elif target.exists() or target.is_symlink():
                target.unlink()
            (staging / name).replace(target)
            if name in configs:
                written[name] = target
    except BaseException:
        if created:
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return written


# ---------------------------------------------------------------------------------- CLI
_EPILOG = """\
One model per ONNX graph (<prefix>_encoder, <prefix>_decoder, <prefix>_vocoder), each
<model>/config.pbtxt + <model>/1/model.onnx for Triton's ONNX Runtime backend, and a
README.<prefix>.md. No ensemble: the length regulator between the encoder and the decoder
has a data-dependent output length and runs on the client (the README shows how).

Not tested against a running Triton server (none could run where this was written): the
configs are checked against tritonclient's model-config schema and the graphs are run
with ONNX Runtime on inputs shaped from the configs.
"""


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers, got {text!r}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ttsengine export-triton VOICE -o MODEL_REPOSITORY [options]``."""
    parser.formatter_class = argparse.RawDescriptionHelpFormatter
    parser.epilog = _EPILOG
    parser.add_argument("voice", help="exported voice bundle directory (with ONNX graphs) or bundled voice name")
    parser.add_argument("-o", "--output", required=True, metavar="MODEL_REPOSITORY",
                        help="Triton model repository to write (must be absent or empty unless --force)")
    parser.add_argument("--precision", choices=PRECISIONS, default="fp32",
                        help="which graphs to copy: fp32, or the bundle's fp16 graphs (export --fp16; float32 I/O, "
                             "for GPU instances) (default fp32)")
    parser.add_argument("--max-batch-size", type=int, default=DEFAULT_MAX_BATCH_SIZE, metavar="N",
                        help=f"Triton max_batch_size; 0 disables Triton's batching (default {DEFAULT_MAX_BATCH_SIZE})")
    parser.add_argument("--preferred-batch-sizes", type=_sizes, default=None, metavar="N,N,...",
                        help="dynamic batching's preferred sizes (default: powers of two up to max-batch-size)")
    parser.add_argument("--max-queue-delay-us", type=int, default=DEFAULT_MAX_QUEUE_DELAY_US, metavar="US",
                        help="dynamic batching's max queue delay in microseconds "
                             f"(default {DEFAULT_MAX_QUEUE_DELAY_US})")
    parser.add_argument("--instance-kind", choices=tuple(INSTANCE_KINDS), default="gpu",
                        help="instance_group kind (default gpu)")
    parser.add_argument("--instances", type=int, default=1, metavar="N", help="instances per model (default 1)")
    parser.add_argument("--gpus", type=_sizes, default=(), metavar="I,I,...",
                        help="GPU ids of the instances (default: all GPUs)")
    parser.add_argument("--model-prefix", default=None, metavar="NAME",
                        help="model names are NAME_encoder etc. (default: the voice's name)")
    parser.add_argument("--force", action="store_true",
                        help="write into a non-empty MODEL_REPOSITORY, replacing this voice's models (others stay)")


def run(args: argparse.Namespace) -> int:
    """CLI entry: writes the repository and prints what it holds."""
    started = time.perf_counter()
    options = TritonOptions(
        max_batch_size=args.max_batch_size, preferred_batch_sizes=args.preferred_batch_sizes,
        max_queue_delay_us=args.max_queue_delay_us, instance_kind=args.instance_kind,
        instances=args.instances, gpus=tuple(args.gpus),
    )
    if args.precision == "fp16" and args.instance_kind == "cpu":
        logger.warning("fp16 graphs on CPU instances: ONNX Runtime's CPU provider runs them slower than fp32")
    written = export_triton(args.voice, args.output, precision=args.precision, options=options,
                            model_prefix=args.model_prefix, force=args.force)
    repository = next(iter(written.values())).parent
    print(f"wrote {len(written)} Triton models ({args.precision}) to {repository} in "
          f"{time.perf_counter() - started:.1f} s: {', '.join(written)}")
    print(f"serve with: tritonserver --model-repository={repository}  "
          "(the length regulator runs on the client: see the README.*.md there)")
    return 0

"""PyTorch voice -> ONNX voice bundle (``ttsengine export VOICE -o DIR``).

The new bundle is the source bundle (voice.json + safetensors, copied unchanged) plus
``onnx/{encoder,decoder,vocoder}.onnx`` (and ``*.fp16.onnx`` with ``fp16=True``, ``decoder.int8.onnx``
with ``int8=True``) following
:mod:`ttsengine.voice.contract`, and an ``onnx`` section in voice.json describing them.

Why three graphs: the length regulator between encoder and decoder has a data-dependent
output length (sum of predicted durations). Kept outside the graphs (in ``ttsengine._core``,
shared by every backend) each graph has a static rank and plain dynamic axes, which ONNX
Runtime and TensorRT optimization profiles handle well; an in-graph regulator would need
NonZero/CumSum/ScatterND-style ops with output shapes TensorRT cannot bound ahead of time.

torch, onnx, onnxslim and onnxruntime are imported inside the functions that need them.
"""

from __future__ import annotations

import argparse
import copy
import logging
import os
import shutil
import tempfile
import time
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError, ExportError
from ..voice import ACOUSTIC_WEIGHTS, CPU_VOCODER_WEIGHTS, VOCODER_WEIGHTS, VoiceConfig, load_voice, write_voice_json
from ..voice.contract import ONNX_DIR, graph_filename, io_contract
from ..voice.hashing import sha256_file
from .quiet import quiet_tools

__all__ = ["ExportError", "export_voice", "sha256_file", "add_arguments", "run"]

logger = logging.getLogger("ttsengine")

DEFAULT_OPSET = 17
#: Largest output difference tolerated between a graph and its onnxslim-simplified form
#: (simplification must not change the math; measured: 0 to ~1e-7 from reordered folds).
SLIM_TOLERANCE = 1e-5


def _require_export_tools() -> None:
    import importlib.util

    tools = ("torch", "onnx", "onnxscript", "onnxslim", "onnxruntime")
    missing = [name for name in tools if importlib.util.find_spec(name) is None]
    if missing:
        raise BackendUnavailableError(
            f"ttsengine export needs {', '.join(missing)}: "
            "pip install torch==2.13.0 onnx onnxscript onnxslim onnxruntime"
        )


def _weight_files(voice: VoiceConfig) -> tuple[str, ...]:
    """The safetensors files of a bundle."""
    return (ACOUSTIC_WEIGHTS, VOCODER_WEIGHTS) + ((CPU_VOCODER_WEIGHTS,) if voice.cpu_vocoder else ())


# ---------------------------------------------------------------------------------- modules
def _export_modules(acoustic: Any, vocoder: Any, cpu_vocoder: Any = None) -> dict[str, Any]:
    """Thin wrappers whose forward is exactly the contract (masks built in-graph from lengths)."""
    import torch

    class Encoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.acoustic = acoustic

        def forward(self, tokens, token_lengths, speakers):
            positions = torch.arange(tokens.shape[1], device=tokens.device)
            mask = positions[None, :] < token_lengths[:, None]
            return self.acoustic.encode(tokens, mask, speakers)

    class Decoder(torch.nn.Module):
        def __init__(self) -> None:
            super().__init__()
            self.acoustic = acoustic

        def forward(self, frames, frame_lengths):
            positions = torch.arange(frames.shape[1], device=frames.device)
            return self.acoustic.decode(frames, positions[None, :] < frame_lengths[:, None])

    class Vocoder(torch.nn.Module):
        def __init__(self, vocoder: Any) -> None:
            super().__init__()
            self.vocoder = vocoder

        def forward(self, mel, frame_lengths):
            # Always masked: a full-length row multiplies by exactly 1, so single runs and
            # streamed windows (frame_lengths = window length) lose nothing.
            return self.vocoder(mel, frame_lengths)

    class PulseVocoder(Vocoder):
        def forward(self, mel, frame_lengths, phase, anchor, offset):
            return self.vocoder.forward_phased(mel, frame_lengths, phase, anchor, offset)

    modules = {"encoder": Encoder().eval(), "decoder": Decoder().eval(), "vocoder": Vocoder(vocoder).eval()}
    if cpu_vocoder is not None:
        pulse = getattr(cpu_vocoder.config, "excitation", "none") == "pulse"
        modules["cpu_vocoder"] = (PulseVocoder if pulse else Vocoder)(cpu_vocoder).eval()
    return modules


def example_inputs(graph: str, voice: VoiceConfig, batch: int, length: int, seed: int = 0) -> dict[str, Any]:
    """Random numpy inputs of a graph: ``batch`` rows padded to ``length`` (tokens or
    frames), the last rows shorter (padding is exercised)."""
    import numpy as np

    rng = np.random.default_rng(seed)
    lengths = np.array([max(1, length - 3 * row) for row in range(batch)], dtype=np.int64)
    if graph == "encoder":
        n_symbols = int(voice.acoustic["hparams"]["n_symbols"])
        n_languages = int(voice.acoustic["hparams"].get("n_languages", 1))
        tokens = (rng.integers(1, n_symbols, size=(batch, length))
                  + n_symbols * rng.integers(0, n_languages, size=(batch, length))).astype(np.int64)
        tokens[np.arange(length)[None, :] >= lengths[:, None]] = 0
        speakers = (np.arange(batch) % len(voice.speakers)).astype(np.int64)
        return {"tokens": tokens, "token_lengths": lengths, "speakers": speakers}
    if graph == "decoder":
        d_model = int(voice.acoustic["hparams"]["d_model"])
        frames = rng.standard_normal((batch, length, d_model)).astype(np.float32)
        return {"frames": frames, "frame_lengths": lengths}
    mel = rng.standard_normal((batch, voice.n_mels, length)).astype(np.float32) - 4.0
    if graph == "cpu_vocoder" and voice.cpu_vocoder["hparams"].get("excitation") == "pulse":
        anchor = (np.arange(batch) % np.maximum(lengths, 1)).astype(np.int64)
        return {"mel": mel, "frame_lengths": lengths, "phase": rng.random(batch).astype(np.float32),
                "anchor": anchor, "offset": rng.integers(0, 1000, batch).astype(np.int64)}
    return {"mel": mel, "frame_lengths": lengths}


def _torch_export(module: Any, graph: str, voice: VoiceConfig, path: Path, opset: int) -> None:
    """One graph through torch's exporter.

    ``dynamo=True`` (torch.export + onnxscript): the maintained exporter (the TorchScript
    one is deprecated). It refuses to specialize a dimension declared dynamic (an export
    that silently baked a length in would fail here, not in production), keeps the static
    feature sizes in the output shapes and emits smaller graphs (encoder 133 vs 261 nodes
    on the tiny voice before simplification). It translates at opset 18 and converts down
    when a lower opset is asked for; the caller checks the opset it got.
    """
    import torch
    from torch.export import Dim

    batch, tokens, frames = Dim("batch"), Dim("tokens"), Dim("frames")
    # Distinct example sizes so the tracer cannot conflate two dimensions.
    if graph == "encoder":
        dynamic = {"tokens": {0: batch, 1: tokens}, "token_lengths": {0: batch}, "speakers": {0: batch}}
        inputs = example_inputs(graph, voice, 3, 11)
    elif graph == "decoder":
        dynamic = {"frames": {0: batch, 1: frames}, "frame_lengths": {0: batch}}
        inputs = example_inputs(graph, voice, 3, 29)
    else:
        dynamic = {"mel": {0: batch, 2: frames}, "frame_lengths": {0: batch}}
        inputs = example_inputs(graph, voice, 3, 17)
        if "phase" in inputs:
            dynamic |= {"phase": {0: batch}, "anchor": {0: batch}, "offset": {0: batch}}
    contract = io_contract(1, 1, 1, pulse="phase" in inputs)[graph]
    args = tuple(torch.from_numpy(value) for value in inputs.values())
    with quiet_tools():
        try:
            torch.onnx.export(
                module,
                args,
                str(path),
                input_names=list(contract["inputs"]),
                output_names=list(contract["outputs"]),
                dynamic_shapes=dynamic,
                opset_version=opset,
                dynamo=True,
                external_data=False,
                optimize=True,
                verbose=False,
            )
        except Exception as exc:  # the exporter raises many types; report one line
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise ExportError(f"torch.onnx.export failed for the {graph} graph: {first}") from exc


def _ort_outputs(model_bytes: bytes, inputs: dict[str, Any]) -> list[Any]:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    session = ort.InferenceSession(model_bytes, options, providers=["CPUExecutionProvider"])
    return session.run(None, inputs)


def _simplify(model: Any, graph: str, voice: VoiceConfig) -> Any:
    """onnxslim (constant folding, dead-node and shape-op cleanup), kept only if it leaves
    the outputs unchanged on a padded batch whose sizes differ from the traced ones."""
    import numpy as np
    import onnxslim

    slim = onnxslim.slim(model)
    if slim is None:  # onnxslim returns None only when asked to write a file
        return model
    inputs = example_inputs(graph, voice, 2, 23, seed=1)
    before = _ort_outputs(model.SerializeToString(), inputs)
    after = _ort_outputs(slim.SerializeToString(), inputs)
    worst = max(float(np.max(np.abs(a - b))) if a.size else 0.0 for a, b in zip(before, after))
    if worst > SLIM_TOLERANCE:
        logger.warning("onnxslim changed the %s graph's outputs by %.2e: keeping the unsimplified graph", graph, worst)
        return model
    logger.info(
        "%s: onnxslim %d -> %d nodes (max output change %.1e)",
        graph, len(model.graph.node), len(slim.graph.node), worst,
    )
    return slim


def _finish(model: Any, graph: str, voice: VoiceConfig, precision: str) -> Any:
    """Stamps metadata and runs the full ONNX checker (with strict shape inference)."""
    import onnx

    from .._version import __version__

    model.producer_name = "ttsengine"
    model.producer_version = __version__
    del model.metadata_props[:]
    from ..voice.feature_stamp import STAMP_KEY, stamp_value

    metadata = {"ttsengine.graph": graph, "ttsengine.voice": voice.name, "ttsengine.precision": precision,
                STAMP_KEY: stamp_value(voice.features, voice.model_sample_rate)}
    for key, value in metadata.items():
        entry = model.metadata_props.add()
        entry.key, entry.value = key, value
    try:
        onnx.checker.check_model(model, full_check=True)
    except (onnx.checker.ValidationError, onnx.shape_inference.InferenceError) as exc:
        reason = str(exc).splitlines()[0]
        raise ExportError(f"the exported {graph} graph ({precision}) fails onnx.checker: {reason}") from exc
    return model


# ---------------------------------------------------------------------------------- bundle
def _prepare_output(out: Path, source: VoiceConfig, force: bool) -> bool:
    """Validates the output directory; returns True when exporting into the source bundle."""
    in_place = out == source.path
    if out.exists() and not out.is_dir():
        raise ExportError(f"output {out} exists and is not a directory")
    if out.is_dir() and any(out.iterdir()) and not force:
        what = "is the source voice itself" if in_place else "exists and is not empty"
        raise ExportError(f"output {out} {what}; pass --force (force=True) to overwrite its voice files")
    return in_place


def _dims(value_info: Any) -> list[str | int]:
    return [d.dim_param or d.dim_value for d in value_info.type.tensor_type.shape.dim]


def _check_contract(model: Any, graph: str, contract: dict[str, Any]) -> None:
    """The graph's I/O names, dtypes and ranks are the contract's; named axes are dynamic."""
    import onnx

    for kind, values in (("inputs", model.graph.input), ("outputs", model.graph.output)):
        expected = contract[kind]
        names = [v.name for v in values]
        if names != list(expected):
            raise ExportError(f"{graph} graph {kind} are {names}, the contract says {list(expected)}")
        for value in values:
            spec = expected[value.name]
            dtype = onnx.helper.tensor_dtype_to_np_dtype(value.type.tensor_type.elem_type).name
            dims = _dims(value)
            if dtype != spec["dtype"] or len(dims) != len(spec["shape"]):
                raise ExportError(
                    f"{graph}.{value.name} is {dtype}{dims}, the contract says {spec['dtype']}{spec['shape']}"
                )
            for got, want in zip(dims, spec["shape"]):
                if isinstance(want, int) and got != want:
                    raise ExportError(f"{graph}.{value.name} has shape {dims}, the contract says {spec['shape']}")
                if isinstance(want, str) and not isinstance(got, str):
                    raise ExportError(f"{graph}.{value.name} has a fixed axis where the contract has {want!r}: {dims}")


def export_voice(
    voice: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    fp16: bool = False,
    int8: bool = False,
    weights: str = "fp32",
    opset: int = DEFAULT_OPSET,
    force: bool = False,
) -> Path:
    """Exports a voice's networks to ONNX and writes a bundle with them at ``out_dir``.

    Args:
        voice: a bundle directory or bundled voice name (its safetensors are the source).
        out_dir: the new bundle. Must be absent or empty unless ``force``; with ``force``
            only voice.json, the weights and ``onnx/`` are replaced. ``out_dir`` may be the
            source bundle itself (with ``force``): its graphs are then added in place.
        fp16: also write ``*.fp16.onnx`` (see :mod:`ttsengine.export.fp16`).
        int8: also write ``decoder.int8.onnx``, calibrated on the voice's own speech
            (see :mod:`ttsengine.export.int8`): what ``precision="auto"`` runs on CPUs.
        weights: ``"fp16"`` stores the new bundle's weights (safetensors and the fp32
            graphs) in fp16 while computing in fp32 (:mod:`ttsengine.export.weights_fp16`):
            half the size on disk.
        opset: ONNX opset of the graphs (17 or newer).

    Returns the bundle directory. Raises :class:`ExportError` (output exists, exporter or
    checker failure), ``VoiceLoadError`` (bad source) or ``BackendUnavailableError``
    (export tools missing).
    """
    if weights not in ("fp32", "fp16"):
        raise ExportError(f"weights must be 'fp32' or 'fp16', got {weights!r}")
    if weights == "fp16":  # round the PyTorch weights first: every graph is exported from them
        source = load_voice(voice)
        out = Path(out_dir).expanduser().resolve()
        _prepare_output(out, source, force)
        out.mkdir(parents=True, exist_ok=True)
        from .weights_fp16 import halve_safetensors

        for name in _weight_files(source):
            halve_safetensors(source.path / name, out / name)
        if not (out / "voice.json").exists():  # the source's graphs are not copied: no "onnx" entry
            content = source.to_dict()
            content.pop("format_version")
            content.pop("onnx", None)
            write_voice_json(out, content)
        voice, force = out, True
    source = load_voice(voice)
    if not isinstance(opset, int) or isinstance(opset, bool) or opset < 17:
        raise ExportError(f"opset must be an int >= 17 (LayerNormalization), got {opset!r}")
    out = Path(out_dir).expanduser().resolve()
    in_place = _prepare_output(out, source, force)
    _require_export_tools()
    import onnx
    import torch

    from ..models.loading import load_acoustic, load_vocoder
    from ..models.hifigan import hifigan_receptive_field
    from .fp16 import convert_to_fp16

    started = time.perf_counter()
    acoustic = load_acoustic(source).float().eval()
    vocoder = load_vocoder(source).float().eval()
    if getattr(vocoder, "has_weight_norm", False):
        vocoder.remove_weight_norm()
    d_model = int(source.acoustic["hparams"]["d_model"])
    contract = io_contract(d_model, source.n_mels, source.hop_length,
                           pulse=bool(source.cpu_vocoder) and source.with_vocoder("istft").pulse_vocoder)
    cpu_vocoder = load_vocoder(source.with_vocoder("istft")).float().eval() if source.cpu_vocoder else None
    modules = _export_modules(acoustic, vocoder, cpu_vocoder)

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".export-", dir=out))
    try:
        graphs: dict[str, Any] = {}
        for graph in modules:
            t0 = time.perf_counter()
            raw = staging / f"{graph}.raw.onnx"
            with torch.no_grad():
                _torch_export(modules[graph], graph, source, raw, opset)
            model = onnx.load(str(raw))
            raw.unlink()
            got = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
            if got != opset:
                raise ExportError(
                    f"torch's exporter produced opset {got} for the {graph} graph, not {opset}; try --opset {got}"
                )
            model = _finish(_simplify(model, graph, source), graph, source, "fp32")
            _check_contract(model, graph, contract[graph])
            entry: dict[str, Any] = {"fp32": f"{ONNX_DIR}/{graph_filename(graph, 'fp32')}", "sha256": {}}
            stored = model
            if weights == "fp16":
                from .weights_fp16 import store_weights_fp16

                stored = _finish(store_weights_fp16(copy.deepcopy(model)), graph, source, "fp32")
            onnx.save(stored, str(staging / graph_filename(graph, "fp32")))
            entry["sha256"]["fp32"] = sha256_file(staging / graph_filename(graph, "fp32"))
            if fp16:
                half = _finish(convert_to_fp16(model, graph), graph, source, "fp16")
                _check_contract(half, graph, contract[graph])
                onnx.save(half, str(staging / graph_filename(graph, "fp16")))
                entry["fp16"] = f"{ONNX_DIR}/{graph_filename(graph, 'fp16')}"
                entry["sha256"]["fp16"] = sha256_file(staging / graph_filename(graph, "fp16"))
            entry.update(contract[graph])
            graphs[graph] = entry
            logger.info("exported %s in %.1f s", graph, time.perf_counter() - t0)

        # Everything exported and checked: now replace the bundle's files.
        onnx_dir = out / ONNX_DIR
        if onnx_dir.is_dir():
            shutil.rmtree(onnx_dir)
        elif onnx_dir.exists():
            onnx_dir.unlink()
        onnx_dir.mkdir()
        for file in sorted(staging.glob("*.onnx")):
            file.replace(onnx_dir / file.name)
        if not in_place:
            for name in _weight_files(source):
                shutil.copyfile(source.path / name, out / name)
    except BaseException:
        if created:  # leave no half-written bundle behind
            shutil.rmtree(out, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)

    content = source.to_dict()
    content["vocoder"] = {**content["vocoder"], "receptive_field_frames": hifigan_receptive_field(vocoder.config)}
    content["onnx"] = {
        "opset": opset,
        "exported_with": {
            "ttsengine": _package_version("ttsengine"),
            "torch": torch.__version__,
            "onnx": onnx.__version__,
            "onnxslim": _package_version("onnxslim"),
            "onnxruntime": _package_version("onnxruntime"),  # simplification check, fp16 converter
        },
        "graphs": graphs,
    }
    write_voice_json(out, content)
    if int8:
        from .int8 import add_int8_decoder

        add_int8_decoder(out)
    logger.info("exported voice %r to %s in %.1f s", source.name, out, time.perf_counter() - started)
    return out


def _package_version(name: str) -> str:
    if name == "ttsengine":
        from .._version import __version__

        return __version__
    import importlib.metadata

    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "unknown"


# ---------------------------------------------------------------------------------- CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ttsengine export VOICE -o DIR [--fp16] [--int8] [--opset N] [--force]``."""
    parser.add_argument("voice", help="voice bundle directory or bundled voice name")
    parser.add_argument(
        "-o", "--output", required=True, metavar="DIR", help="directory of the new bundle (must be absent or empty)"
    )
    parser.add_argument("--fp16", action="store_true", help="also write fp16 graphs (*.fp16.onnx; float32 I/O)")
    parser.add_argument("--int8", action="store_true",
                        help="also write an int8 decoder (decoder.int8.onnx, calibrated on the voice's own speech; "
                             "what CPUs run by default)")
    parser.add_argument("--weights", choices=("fp32", "fp16"), default="fp32",
                        help="storage of the bundle's weights (safetensors and fp32 graphs); fp16 halves the "
                             "size and still computes in fp32 (default fp32)")
    parser.add_argument(
        "--opset", type=int, default=DEFAULT_OPSET, metavar="N", help=f"ONNX opset (default: {DEFAULT_OPSET})"
    )
    parser.add_argument("--force", action="store_true", help="overwrite the voice files of a non-empty DIR")


def run(args: argparse.Namespace) -> int:
    """CLI entry: exports and prints where the graphs went."""
    started = time.perf_counter()
    out = export_voice(args.voice, args.output, fp16=args.fp16, int8=args.int8, weights=args.weights,
                       opset=args.opset, force=args.force)
    elapsed = time.perf_counter() - started
    files = sorted((out / ONNX_DIR).glob("*.onnx"))
    sizes = ", ".join(f"{f.name} {f.stat().st_size / 1e6:.2f} MB" for f in files)
    print(f"exported {args.voice} to {out} in {elapsed:.1f} s: {sizes}")
    print(f"check it with: ttsengine verify {out}")
    return 0

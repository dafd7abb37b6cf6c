"""Carrying a network's weights once: a graph whose initializers equal tensors of a
safetensors file of the bundle keeps references to them instead of copies.

The graph's initializers become ONNX external data pointing into the safetensors file
(``location`` relative to the graph, ``offset`` and ``length`` of the tensor's bytes), and
voice.json's ``onnx.graphs.<graph>.weights`` records initializer -> tensor names, which
the runtime uses (:mod:`ttsengine.voice.onnx`). The default voice's HiFi-GAN is stored
this way (fp16 weights in ``vocoder.safetensors``, the graph casts them to float32).
ONNX Runtime (and so the onnxruntime backend, ``ttsengine verify``) reads such graphs;
TensorRT's builder and ``export-triton`` get self-contained copies.
"""

from __future__ import annotations

import json
import os

from ..errors import InvalidInputError
from ..voice import CPU_VOCODER_WEIGHTS, load_voice
from ..voice.hashing import sha256_file
from ..voice.weights import _safetensors_layout

__all__ = ["link_graph_weights"]

#: ONNX TensorProto data types -> safetensors dtypes whose bytes are the same.
_SAME_BYTES = {1: "F32", 10: "F16", 11: "F64"}


def link_graph_weights(bundle: str | os.PathLike[str], graph: str = "vocoder", precision: str = "fp32") -> int:
    """Rewrites ``graph``'s ONNX file so that every initializer whose bytes equal a tensor
    of its network's safetensors file (encoder, decoder: the acoustic weights; vocoder;
    cpu_vocoder) refers to it; updates voice.json (the graph's sha256 and ``weights``).
    Returns the number of bytes no longer stored twice."""
    import onnx

    voice = load_voice(bundle)
    files = {"encoder": voice.acoustic_weights, "decoder": voice.acoustic_weights, "vocoder": voice.vocoder_weights,
             "cpu_vocoder": voice.path / CPU_VOCODER_WEIGHTS}
    entry = voice.onnx.get("graphs", {}).get(graph)
    if graph not in files or not entry or precision not in entry:
        raise InvalidInputError(f"{voice.path}: no {precision} {graph} graph to link")
    graph_path = voice.path / entry[precision]
    weights = files[graph]
    start, layout = _safetensors_layout(weights, "vocoder weights")
    with open(weights, "rb") as handle:
        blob = handle.read()
    by_bytes = {(dtype, blob[start + begin : start + end]): (name, begin, end)
                for name, (dtype, _, begin, end) in layout.items()}
    model = onnx.load(str(graph_path))
    location = os.path.relpath(weights, graph_path.parent)
    tensors, saved = {}, 0
    for tensor in model.graph.initializer:
        dtype = _SAME_BYTES.get(tensor.data_type)
        if dtype is None or not tensor.HasField("raw_data"):
            continue
        found = by_bytes.get((dtype, tensor.raw_data))
        if found is None:
            continue
        name, begin, end = found
        tensor.ClearField("raw_data")
        tensor.data_location = onnx.TensorProto.EXTERNAL
        for key, value in (("location", location), ("offset", str(start + begin)), ("length", str(end - begin))):
            item = tensor.external_data.add()
            item.key, item.value = key, value
        tensors[tensor.name] = name
        saved += end - begin
    if not tensors:
        raise InvalidInputError(f"{graph_path}: no initializer equals a tensor of {weights.name}")
    onnx.save(model, str(graph_path))
    config_path = voice.path / "voice.json"
    content = json.loads(config_path.read_text(encoding="utf-8"))
    graph_entry = content["onnx"]["graphs"][graph]
    graph_entry["sha256"][precision] = sha256_file(graph_path)
    file = os.path.relpath(weights, voice.path)
    graph_entry.setdefault("weights", {})[precision] = {"file": file, "tensors": tensors}
    config_path.write_text(json.dumps(content, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    load_voice(voice.path)  # the rewritten bundle still validates
    return saved

"""Weights stored in fp16, computed in fp32: half the bundle on disk, fp32 arithmetic.

``store_weights_fp16`` rewrites an fp32 ONNX graph so that each float32 initializer of at
least ``min_elements`` values is stored as float16 and turned back into float32 by a Cast
at the graph's entrance (ONNX Runtime folds those Casts when the session is created, so
inference runs the original fp32 graph with fp16-rounded weights). ``halve_safetensors``
does the same for a bundle's PyTorch weights (the loaders cast them back to fp32). Both
sides then hold the *same* rounded weights, so torch and ONNX Runtime stay in parity; the
cost of the rounding is measured against the fp32 weights where a voice is shipped.
"""

from __future__ import annotations

import os
from typing import Any

__all__ = ["store_weights_fp16", "halve_safetensors"]

#: Smaller tensors (biases of a few channels, scalars) stay float32: no size to win.
MIN_ELEMENTS = 256


def store_weights_fp16(model: Any, min_elements: int = MIN_ELEMENTS) -> Any:
    """The ONNX ``model`` with its large float32 initializers stored as float16 + Cast."""
    import numpy as np
    import onnx
    from onnx import numpy_helper

    graph = model.graph
    casts = []
    for init in graph.initializer:
        if init.data_type != onnx.TensorProto.FLOAT or int(np.prod(init.dims)) < min_elements:
            continue
        name = init.name
        half = numpy_helper.from_array(numpy_helper.to_array(init).astype(np.float16), f"{name}__fp16")
        init.CopyFrom(half)
        casts.append(onnx.helper.make_node("Cast", [half.name], [name], name=f"{name}__to_fp32",
                                           to=onnx.TensorProto.FLOAT))
    nodes = list(graph.node)
    del graph.node[:]
    graph.node.extend(casts + nodes)
    return model


def halve_safetensors(source: str | os.PathLike[str], target: str | os.PathLike[str]) -> None:
    """Copies a safetensors file with every float32 tensor stored as float16 (its metadata,
    e.g. the feature stamp, kept)."""
    import torch
    from safetensors import safe_open
    from safetensors.torch import load_file, save_file

    with safe_open(os.fspath(source), "pt") as f:
        metadata = dict(f.metadata() or {})
    state = load_file(os.fspath(source))
    half = {k: (v.half() if v.dtype == torch.float32 else v).contiguous() for k, v in state.items()}
    tmp = f"{os.fspath(target)}.tmp"
    save_file(half, tmp, metadata={**metadata, "format": "pt"})
    os.replace(tmp, target)  # target may be source

"""The synthesis data path between the text front end and the audio post-processing::

    token ids ──encoder──▶ hidden + log-durations ──regulator──▶ frame-rate hidden
              ──decoder──▶ mel ──vocoder──▶ wave (whole, or streamed in windows)

A *runner* (:mod:`ttsengine.backends`: torch, onnxruntime, tensorrt) only executes the
three networks into buffers it is given. A *pipeline* owns everything around them: the
buffers, the length regulator (:mod:`.regulator`), shape buckets and CUDA graphs, batch
slicing and the streaming windows. There are two:

* :class:`~.host.HostPipeline`: numpy buffers of the request's workspace, the ``_core``
  regulator on the host. Every runner on the CPU, and ONNX Runtime everywhere.
* :class:`~.cuda.CudaPipeline`: a device arena, the ``_cuda`` regulator kernels, optional
  CUDA-graph capture per shape bucket. Torch and TensorRT runners on a GPU, for whole
  requests and streams alike.
"""

from __future__ import annotations

import logging
from typing import Any

from .base import Pipeline, SegmentBatch, SegmentResult, StreamPiece, batch_slices
from .workspace import BufferLimits
from .host import HostPipeline
from .regulator import check_frame_limit, regulate

__all__ = ["HostPipeline", "Pipeline", "SegmentBatch", "SegmentResult", "StreamPiece", "batch_slices", "check_frame_limit", "make_pipeline", "regulate"]

logger = logging.getLogger("ttsengine")


def make_pipeline(runner: Any, *, limits: BufferLimits, d_model: int, n_mels: int, hop: int) -> Pipeline:
    """The pipeline for ``runner``: the CUDA pipeline for a torch-tensor runner on a GPU when
    ``ttsengine._cuda`` is usable, else the host one. A GPU runner without a usable ``_cuda``
    (e.g. a driver older than its static CUDA runtime needs, which the status names) is
    warned about, not silently slowed down."""
    dims = dict(d_model=d_model, n_mels=n_mels, hop=hop)
    # a source-filter CPU vocoder hands its pulse phase back to the host between streamed windows
    if runner.io == "torch" and runner.device.startswith("cuda") and not getattr(runner, "pulse", False):
        from ..native import native_status

        status = native_status("_cuda")
        if status.ok:
            import torch

            from .cuda import CudaPipeline

            return CudaPipeline(
                runner, device=torch.device(runner.device), dtype=runner.dtype, limits=limits,
                graphs=runner.graphs, **dims,
            )
        logger.warning(
            "%s on %s: torch sees the GPU but ttsengine._cuda is %s (%s); running the host pipeline "
            "(no CUDA graphs, a host round trip per step)", runner.name, runner.device, status.state, status.detail,
        )
    return HostPipeline(runner, **dims)

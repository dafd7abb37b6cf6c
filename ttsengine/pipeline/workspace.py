"""Host buffers for the synthesis pipeline, allocated once per :class:`~ttsengine.Synthesizer`.

Every array the pipeline produces between the text front end and the final audio
(token ids, hidden states, durations, frames, frame-rate hidden, mel, wave) is a view
into a buffer of a :class:`Workspace`. The buffers are sized from :class:`BufferLimits`
when the synthesizer is created and grow only when a request exceeds them, so a warm
synthesizer allocates no new pipeline memory.

Concurrent requests each take their own workspace from a :class:`WorkspacePool`
(one per request in flight, reused afterwards): buffers are never shared by two
requests, and memory is bounded by the peak concurrency.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
from dataclasses import dataclass
from typing import Iterator

import numpy as np

from ..errors import InvalidInputError

__all__ = ["BufferLimits", "Workspace", "WorkspacePool"]

logger = logging.getLogger("ttsengine")

#: A buffer that must grow is given this much more than the request needs.
_GROWTH = 1.5


@dataclass(frozen=True)
class BufferLimits:
    """Sizes the pipeline's buffers are allocated for up front.

    Args:
        max_batch: rows of a padded batch (``synthesize_batch``'s ``max_batch``, 16 by default).
        max_tokens: tokens of the longest sentence segment.
        max_frames: mel frames of the longest segment (``hop / sample_rate`` seconds each;
            1024 frames are about 11 s with the default voice).

    Requests beyond these still run: the buffer concerned grows once (logged at DEBUG).
    Buffers are zero-filled on allocation (``calloc``), so pages a request never touches
    cost no resident memory.
    """

    max_batch: int = 16
    max_tokens: int = 256
    max_frames: int = 1024

    def __post_init__(self) -> None:
        for name in ("max_batch", "max_tokens", "max_frames"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InvalidInputError(f"BufferLimits.{name} must be a positive int, got {value!r}")


class Workspace:
    """Named, flat host buffers handed out as contiguous views of the requested shape.

    ``dims`` gives the model sizes the capacities derive from: ``d_model`` (hidden width),
    ``n_mels`` and ``hop`` (samples per frame).
    """

    def __init__(self, limits: BufferLimits, *, d_model: int, n_mels: int, hop: int) -> None:
        self.limits = limits
        b, t, f = limits.max_batch, limits.max_tokens, limits.max_frames
        capacity = {
            "tokens": (b * t, np.int64),
            "token_lengths": (b, np.int64),
            "speakers": (b, np.int64),
            "hidden": (b * t * d_model, np.float32),
            "log_durations": (b * t, np.float32),
            "frames": (b * t, np.int32),
            "frame_lengths": (b, np.int64),
            "expanded": (b * f * d_model, np.float32),
            "mel": (b * n_mels * f, np.float32),
            "wave": (b * f * hop, np.float32),
        }
        self._buffers = {name: np.zeros(size, dtype) for name, (size, dtype) in capacity.items()}
        #: How many times a buffer had to grow (0 while requests stay within the limits).
        self.grow_count = 0

    @property
    def nbytes(self) -> int:
        """Bytes held by all buffers."""
        return sum(buffer.nbytes for buffer in self._buffers.values())

    def take(self, name: str, shape: tuple[int, ...], dtype: type | None = None) -> np.ndarray:
        """A C-contiguous view of ``shape`` at the start of buffer ``name``.

        The contents are whatever the last request left there. A view taken earlier is
        overwritten by the next request, and becomes stale if the buffer grows: copy
        what must outlive the request.
        """
        buffer = self._buffers.get(name)
        if buffer is None:
            buffer = self._buffers[name] = np.zeros(0, dtype=dtype or np.float32)
        if dtype is not None and np.dtype(dtype) != buffer.dtype:
            raise TypeError(f"workspace buffer {name!r} holds {buffer.dtype}, asked for {np.dtype(dtype)}")
        size = math.prod(shape)
        if size > buffer.size:
            grown = max(size, int(buffer.size * _GROWTH))
            logger.debug("workspace buffer %r grows from %d to %d elements", name, buffer.size, grown)
            buffer = self._buffers[name] = np.zeros(grown, buffer.dtype)
            self.grow_count += 1
        return buffer[:size].reshape(shape)


class WorkspacePool:
    """Hands each request in flight its own :class:`Workspace`; returned ones are reused."""

    def __init__(self, limits: BufferLimits, *, d_model: int, n_mels: int, hop: int) -> None:
        self._make = lambda: Workspace(limits, d_model=d_model, n_mels=n_mels, hop=hop)
        self._free: list[Workspace] = [self._make()]  # the first is allocated up front
        self._lock = threading.Lock()
        self.created = 1

    @contextlib.contextmanager
    def acquire(self) -> Iterator[Workspace]:
        """A workspace for the duration of the ``with`` block."""
        with self._lock:
            if self._free:
                workspace = self._free.pop()
            else:
                workspace, self.created = None, self.created + 1
        if workspace is None:
            workspace = self._make()
            logger.debug("workspace pool: request %d in flight, new workspace", self.created)
        try:
            yield workspace
        finally:
            with self._lock:
                self._free.append(workspace)

    @property
    def grow_count(self) -> int:
        """Buffer growths over the pool's idle workspaces (see :attr:`Workspace.grow_count`)."""
        with self._lock:
            return sum(workspace.grow_count for workspace in self._free)

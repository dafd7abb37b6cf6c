"""Type stubs of ttsengine._core (csrc/bindings/core_module.cpp): CPU kernels, GIL released.

``out=`` buffers must be writeable C-contiguous arrays of the exact dtype (ValueError
otherwise); inputs already C-contiguous of the right dtype are not copied.
"""

from typing import overload

import numpy as np
import numpy.typing as npt

def durations_to_frames(
    log_durations: npt.ArrayLike,
    token_lengths: npt.ArrayLike,
    speed: float = 1.0,
    *,
    frames: npt.NDArray[np.int32] | None = None,
    frame_lengths: npt.NDArray[np.int64] | None = None,
) -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int64]]:
    """log(1 + frames) float32 [B, T] -> (frames int32 [B, T], totals int64 [B]; -1 marks a NaN row)."""

def expand_frames(
    hidden: npt.ArrayLike, frames: npt.ArrayLike, max_frames: int, out: npt.NDArray[np.float32] | None = None
) -> npt.NDArray[np.float32]:
    """hidden float32 [B, T, D] -> [B, max_frames, D], token t repeated frames[b, t] times."""

def float_to_pcm16(samples: npt.ArrayLike, *, out: npt.NDArray[np.int16] | None = None) -> npt.NDArray[np.int16]:
    """float samples -> int16 of the same shape (clip to [-1, 1], x 32767, round, NaN -> 0)."""

@overload
def monotonic_alignment_search(log_probs: npt.ArrayLike) -> npt.NDArray[np.int32]: ...
@overload
def monotonic_alignment_search(
    log_probs: npt.ArrayLike, mel_lengths: npt.ArrayLike | None = None, text_lengths: npt.ArrayLike | None = None
) -> npt.NDArray[np.int32]: ...

class PolyphaseResampler:
    """Polyphase FIR resampling by up/down: one-shot (process) or streaming (push/flush)."""

    def __init__(self, up: int, down: int, taps: npt.ArrayLike) -> None: ...
    @property
    def up(self) -> int: ...
    @property
    def down(self) -> int: ...
    def output_length(self, n_in: int) -> int: ...
    def max_output(self, n_in: int) -> int: ...
    def process(self, x: npt.ArrayLike, *, out: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]: ...
    def push(self, x: npt.ArrayLike, *, out: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]: ...
    def flush(self, *, out: npt.NDArray[np.float32] | None = None) -> npt.NDArray[np.float32]: ...
    def reset(self) -> None: ...

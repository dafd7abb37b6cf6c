"""Sample-rate conversion (polyphase FIR, scipy imported lazily)."""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ttsengine.errors import InvalidInputError

__all__ = ["SUPPORTED_SAMPLE_RATES", "StreamResampler", "resample"]

SUPPORTED_SAMPLE_RATES: tuple[int, ...] = (8000, 16000, 22050, 24000, 44100, 48000)

# Anti-aliasing / anti-imaging low-pass, relative to the lower of the two Nyquist
# frequencies: flat (< 0.01 dB ripple) up to _PASSBAND, >= _STOP_DB attenuation from the
# Nyquist frequency itself. scipy's default filter for resample_poly is -6 dB at Nyquist
# and only ~8 dB down 2 % above it, which lets the band just above the new Nyquist alias
# (e.g. 11.0-12 kHz when going 24 kHz -> 22.05 kHz).
_PASSBAND = 0.9
_STOP_DB = 80.0


@functools.lru_cache(maxsize=32)
def _lowpass(up: int, down: int) -> np.ndarray:
    """Kaiser-window FIR (odd length, unit DC gain) at the upsampled rate for ``up/down``."""
    from scipy.signal import firwin, kaiserord

    # Frequencies are normalised to the upsampled rate's Nyquist (= up * orig_sr / 2).
    # The lower Nyquist of the two rates is 1 / max(up, down) in these units.
    nyq = 1.0 / max(up, down)
    numtaps, beta = kaiserord(_STOP_DB, (1.0 - _PASSBAND) * nyq)
    numtaps |= 1  # odd: type-I linear phase, integer delay (resample_poly compensates it)
    taps = firwin(numtaps, 0.5 * (1.0 + _PASSBAND) * nyq, window=("kaiser", beta))
    taps.flags.writeable = False
    return taps


def _check_rate(name: str, rate: Any) -> int:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InvalidInputError(f"{name} must be a positive int, got {rate!r}")
    return int(rate)


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``samples`` (float, 1-D, or N-D along the last axis) from ``orig_sr`` to ``target_sr``.

    Uses ``scipy.signal.resample_poly`` with gcd-reduced up/down factors and a Kaiser FIR
    low-pass designed here (flat to 90 % of the lower Nyquist frequency, >= 80 dB
    stopband from that Nyquist on; cached per rate pair). Output length is
    ``ceil(L * target_sr / orig_sr)``, dtype float32, no time shift (linear phase).
    The same rate returns the input (as float32, without copying when it already is,
    whatever the rate). Otherwise rates outside :data:`SUPPORTED_SAMPLE_RATES` raise
    :class:`InvalidInputError`. Edges are treated as zero-padded; use :class:`StreamResampler` for a
    signal that arrives in pieces.
    """
    orig_sr = _check_rate("orig_sr", orig_sr)
    target_sr = _check_rate("target_sr", target_sr)
    x = np.asarray(samples)
    if x.dtype.kind != "f":
        raise InvalidInputError(f"resample expects floating-point samples, got dtype {x.dtype}")
    if x.ndim < 1:
        raise InvalidInputError("resample expects at least a 1-D array, got a scalar")
    x = np.asarray(x, dtype=np.float32)
    if orig_sr == target_sr:
        return x
    for name, rate in (("target_sr", target_sr), ("orig_sr", orig_sr)):
        if rate not in SUPPORTED_SAMPLE_RATES:
            raise InvalidInputError(
                f"unsupported {name} {rate} Hz; supported sample rates: "
                + ", ".join(str(r) for r in SUPPORTED_SAMPLE_RATES)
            )
    g = math.gcd(orig_sr, target_sr)
    up, down = target_sr // g, orig_sr // g
    length = x.shape[-1]
    if length == 0:
        return np.zeros(x.shape[:-1] + (0,), dtype=np.float32)
    from scipy.signal import resample_poly  # lazy: scipy is heavy to import

    y = resample_poly(x, up, down, axis=-1, window=_lowpass(up, down))
    return np.ascontiguousarray(y, dtype=np.float32)


class StreamResampler:
    """Resamples a signal that arrives in pieces, exactly like one :func:`resample` call.

    Each window handed to :func:`resample` starts at a multiple of ``down`` input samples
    and carries at least the filter's reach of real input on both sides, so the
    concatenated outputs equal resampling the whole signal at once (to float rounding).
    """

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        self.orig_sr = _check_rate("orig_sr", orig_sr)
        self.target_sr = _check_rate("target_sr", target_sr)
        g = math.gcd(self.orig_sr, self.target_sr)
        self.up, self.down = self.target_sr // g, self.orig_sr // g
        if self.up != self.down:
            resample(np.zeros(1, dtype=np.float32), self.orig_sr, self.target_sr)  # validates rates
            half_taps = len(_lowpass(self.up, self.down)) // 2  # at the upsampled rate
            reach_inputs = -(-half_taps // self.up) + 1
            self._reach = self.down * -(-reach_inputs // self.down)
        self._pending = np.zeros(0, dtype=np.float32)  # input from absolute index _start on
        self._start = 0
        self._emitted = 0  # input position whose output is out (a multiple of down)
        self._total = 0

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feeds input; returns the output that is already final (may be empty)."""
        samples = np.asarray(samples, dtype=np.float32)
        if self.up == self.down:
            return samples
        self._pending = np.concatenate([self._pending, samples])
        self._total += len(samples)
        end = (self._total - self._reach) // self.down * self.down
        return self._emit(end) if end > self._emitted else np.zeros(0, dtype=np.float32)

    def flush(self) -> np.ndarray:
        """Returns the rest of the output (the edge is zero-padded, as in :func:`resample`)."""
        if self.up == self.down or self._total == self._emitted:
            return np.zeros(0, dtype=np.float32)
        return self._emit(self._total, final=True)

    def _emit(self, end: int, final: bool = False) -> np.ndarray:
        window_start = max(0, self._emitted - self._reach)
        window_stop = self._total if final else min(self._total, end + self._reach)
        offset = window_start - self._start
        window = self._pending[offset : offset + window_stop - window_start]
        out = resample(window, self.orig_sr, self.target_sr)
        first = (self._emitted - window_start) * self.up // self.down
        last = len(out) if final else (end - window_start) * self.up // self.down
        self._emitted = end
        keep_from = max(self._start, self._emitted - self._reach)
        self._pending = self._pending[keep_from - self._start :]
        self._start = keep_from
        return out[first:last]

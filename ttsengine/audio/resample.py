"""Sample-rate conversion: polyphase FIR in ``ttsengine._core``, a Kaiser-window filter designed here.

The filter is designed with numpy alone (scipy's ``kaiserord`` + ``firwin`` formulas): importing
scipy.signal took ~1 s and landed on the first request of every 22.05 -> 24 kHz voice.
"""

from __future__ import annotations

import functools
import math
from typing import Any

import numpy as np

from ttsengine.errors import InvalidInputError, shown

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
    """Kaiser-window FIR (odd length, unit DC gain) at the upsampled rate for ``up/down``.

    The same taps as ``scipy.signal.firwin(numtaps, cutoff, window=("kaiser", beta))`` with
    ``numtaps, beta = kaiserord(_STOP_DB, width)`` (tested against scipy)."""
    # Frequencies are normalised to the upsampled rate's Nyquist (= up * orig_sr / 2).
    # The lower Nyquist of the two rates is 1 / max(up, down) in these units.
    nyq = 1.0 / max(up, down)
    width = (1.0 - _PASSBAND) * nyq
    numtaps = int(math.ceil((_STOP_DB - 7.95) / 2.285 / (math.pi * width) + 1))  # Kaiser's formula
    beta = 0.1102 * (_STOP_DB - 8.7)  # for stop-band attenuation above 50 dB
    numtaps |= 1  # odd: type-I linear phase, integer delay (resample_poly compensates it)
    cutoff = 0.5 * (1.0 + _PASSBAND) * nyq
    centre = np.arange(numtaps) - (numtaps - 1) / 2.0
    taps = cutoff * np.sinc(cutoff * centre) * np.kaiser(numtaps, beta)
    taps /= taps.sum()  # unit gain at DC
    taps.flags.writeable = False
    return taps


@functools.lru_cache(maxsize=32)
def _resampler(up: int, down: int) -> Any:
    """The shared one-shot resampler for ``up/down`` (only its stateless ``process`` is used)."""
    return _new_resampler(up, down)


def _new_resampler(up: int, down: int) -> Any:
    from ttsengine import _core  # lazy: `import ttsengine.audio` works without the build

    return _core.PolyphaseResampler(up, down, _lowpass(up, down).astype(np.float32))


def _check_rate(name: str, rate: Any) -> int:
    if isinstance(rate, (bool, np.bool_)) or not isinstance(rate, (int, np.integer)) or rate <= 0:
        raise InvalidInputError(f"{name} must be a positive int, got {shown(rate)}")
    return int(rate)


def _factors(orig_sr: int, target_sr: int) -> tuple[int, int]:
    """Validated, gcd-reduced (up, down) for two different rates."""
    for name, rate in (("target_sr", target_sr), ("orig_sr", orig_sr)):
        if rate not in SUPPORTED_SAMPLE_RATES:
            raise InvalidInputError(
                f"unsupported {name} {shown(rate)} Hz; supported sample rates: "
                + ", ".join(str(r) for r in SUPPORTED_SAMPLE_RATES)
            )
    g = math.gcd(orig_sr, target_sr)
    return target_sr // g, orig_sr // g


def resample(samples: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    """Resample ``samples`` (float, 1-D, or N-D along the last axis) from ``orig_sr`` to ``target_sr``.

    Polyphase FIR (``ttsengine._core``, GIL released) with gcd-reduced up/down factors
    and a Kaiser low-pass designed here (flat to 90 % of the lower Nyquist frequency,
    >= 80 dB stopband from that Nyquist on; cached per rate pair): the same output as
    ``scipy.signal.resample_poly`` with that filter, to float rounding. Output length is
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
    up, down = _factors(orig_sr, target_sr)
    return _resampler(up, down).process(np.ascontiguousarray(x))


class StreamResampler:
    """Resamples a signal that arrives in pieces, exactly like one :func:`resample` call.

    Each :meth:`push` returns the output samples whose filter support has fully arrived;
    :meth:`flush` returns the zero-padded rest. Concatenated, they equal resampling the
    whole signal at once (bit for bit on x86-64). One instance serves one stream at a time.
    """

    def __init__(self, orig_sr: int, target_sr: int) -> None:
        self.orig_sr = _check_rate("orig_sr", orig_sr)
        self.target_sr = _check_rate("target_sr", target_sr)
        self.up, self.down = 1, 1
        self._stream = None
        if self.orig_sr != self.target_sr:
            self.up, self.down = _factors(self.orig_sr, self.target_sr)
            self._stream = _new_resampler(self.up, self.down)

    def push(self, samples: np.ndarray) -> np.ndarray:
        """Feeds 1-D input; returns the output that is already final (may be empty)."""
        samples = np.ascontiguousarray(samples, dtype=np.float32)
        if self._stream is None:
            return samples
        return self._stream.push(samples)

    def flush(self) -> np.ndarray:
        """Returns the rest of the output (the edge is zero-padded, as in :func:`resample`)
        and starts a new signal."""
        if self._stream is None:
            return np.zeros(0, dtype=np.float32)
        return self._stream.flush()

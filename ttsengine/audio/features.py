"""Mel features in the HiFi-GAN convention (pure numpy).

``log_mel_spectrogram`` reproduces the mel extraction of the official HiFi-GAN
``meldataset.mel_spectrogram``: reflect padding of ``(n_fft - hop) // 2`` on both sides,
``center=False`` framing, periodic Hann window (zero-padded to ``n_fft`` when shorter),
STFT magnitude (power 1), Slaney mel filterbank with Slaney area normalisation, then
``log(clamp(x, clamp_min))``.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import math
from dataclasses import dataclass
from typing import Any, Mapping

import numpy as np

from ttsengine.errors import InvalidInputError

__all__ = ["FeatureConfig", "mel_filterbank", "log_mel_spectrogram"]

logger = logging.getLogger("ttsengine")

_LOG_KINDS = ("natural", "log10")


def _int_field(name: str, value: Any, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)):
        raise ValueError(f"FeatureConfig.{name} must be an int, got bool")
    if isinstance(value, (float, np.floating)) and float(value).is_integer():
        value = int(value)
    if not isinstance(value, (int, np.integer)):
        raise ValueError(f"FeatureConfig.{name} must be an int, got {type(value).__name__} {value!r}")
    if value < minimum:
        raise ValueError(f"FeatureConfig.{name} must be >= {minimum}, got {value}")
    return int(value)


def _float_field(name: str, value: Any) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise ValueError(f"FeatureConfig.{name} must be a number, got {type(value).__name__} {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"FeatureConfig.{name} must be finite, got {value}")
    return value


@dataclass(frozen=True)
class FeatureConfig:
    """Mel feature parameters (the ``"features"`` section of voice.json).

    ``fmax=None`` means the Nyquist frequency (stored resolved). ``log`` is ``"natural"``
    (HiFi-GAN) or ``"log10"``. Invalid values raise ``ValueError``.
    """

    sample_rate: int = 24000
    n_fft: int = 1024
    hop_length: int = 256
    win_length: int = 1024
    n_mels: int = 80
    fmin: float = 0.0
    fmax: float = 12000.0
    log: str = "natural"
    clamp_min: float = 1e-5

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("sample_rate", _int_field("sample_rate", self.sample_rate, 1))
        put("n_fft", _int_field("n_fft", self.n_fft, 2))
        put("hop_length", _int_field("hop_length", self.hop_length, 1))
        put("win_length", _int_field("win_length", self.win_length, 1))
        put("n_mels", _int_field("n_mels", self.n_mels, 1))
        if self.win_length > self.n_fft:
            raise ValueError(f"FeatureConfig.win_length ({self.win_length}) must be <= n_fft ({self.n_fft})")
        if self.hop_length > self.n_fft:
            raise ValueError(f"FeatureConfig.hop_length ({self.hop_length}) must be <= n_fft ({self.n_fft})")
        nyquist = self.sample_rate / 2.0
        put("fmin", _float_field("fmin", self.fmin))
        put("fmax", nyquist if self.fmax is None else _float_field("fmax", self.fmax))
        if not 0.0 <= self.fmin < self.fmax <= nyquist:
            raise ValueError(
                f"FeatureConfig needs 0 <= fmin < fmax <= sample_rate/2 ({nyquist:g}), "
                f"got fmin={self.fmin:g}, fmax={self.fmax:g}"
            )
        if self.log not in _LOG_KINDS:
            raise ValueError(f"FeatureConfig.log must be one of {_LOG_KINDS}, got {self.log!r}")
        put("clamp_min", _float_field("clamp_min", self.clamp_min))
        if self.clamp_min <= 0.0:
            raise ValueError(f"FeatureConfig.clamp_min must be > 0, got {self.clamp_min:g}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict with every field."""
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> FeatureConfig:
        """Build from a dict; missing keys take the defaults, an unknown key raises ``ValueError``."""
        if not isinstance(d, Mapping):
            raise ValueError(f"FeatureConfig.from_dict expects a mapping, got {type(d).__name__}")
        known = [f.name for f in dataclasses.fields(cls)]
        unknown = sorted(str(k) for k in d if k not in known)
        if unknown:
            raise ValueError(
                f"unknown FeatureConfig key(s): {', '.join(repr(k) for k in unknown)}; "
                f"known keys: {', '.join(known)}"
            )
        return cls(**dict(d))


# Slaney (Auditory Toolbox) mel scale: linear below 1 kHz, logarithmic above.
_F_SP = 200.0 / 3.0  # Hz per mel in the linear part
_MIN_LOG_HZ = 1000.0
_MIN_LOG_MEL = _MIN_LOG_HZ / _F_SP  # = 15 mel
_LOGSTEP = math.log(6.4) / 27.0  # log-part step: 27 mel per factor 6.4


def _hz_to_mel(hz: np.ndarray | float) -> np.ndarray:
    hz = np.asarray(hz, dtype=np.float64)
    log_part = _MIN_LOG_MEL + np.log(np.maximum(hz, _MIN_LOG_HZ) / _MIN_LOG_HZ) / _LOGSTEP
    return np.where(hz >= _MIN_LOG_HZ, log_part, hz / _F_SP)


def _mel_to_hz(mel: np.ndarray | float) -> np.ndarray:
    mel = np.asarray(mel, dtype=np.float64)
    log_part = _MIN_LOG_HZ * np.exp(_LOGSTEP * (np.maximum(mel, _MIN_LOG_MEL) - _MIN_LOG_MEL))
    return np.where(mel >= _MIN_LOG_MEL, log_part, mel * _F_SP)


@functools.lru_cache(maxsize=32)
def _mel_basis(sample_rate: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Read-only float32 [n_mels, n_fft//2+1] Slaney filterbank (cached)."""
    bin_hz = np.arange(n_fft // 2 + 1, dtype=np.float64) * (sample_rate / n_fft)
    edges = _mel_to_hz(np.linspace(_hz_to_mel(fmin), _hz_to_mel(fmax), n_mels + 2))
    lower = edges[:-2, None]
    center = edges[1:-1, None]
    upper = edges[2:, None]
    rising = (bin_hz[None, :] - lower) / (center - lower)
    falling = (upper - bin_hz[None, :]) / (upper - center)
    weights = np.maximum(0.0, np.minimum(rising, falling))
    weights *= 2.0 / (upper - lower)  # Slaney norm: every triangle has unit area in Hz
    empty = np.flatnonzero(weights.max(axis=1) <= 0.0)
    if empty.size:
        logger.warning(
            "mel filterbank: %d of %d mel filters are empty (n_mels=%d too high for n_fft=%d); "
            "first empty filter: %d",
            empty.size, n_mels, n_mels, n_fft, int(empty[0]),
        )
    basis = weights.astype(np.float32)
    basis.flags.writeable = False
    return basis


def mel_filterbank(cfg: FeatureConfig) -> np.ndarray:
    """Slaney-scale, Slaney-normalised triangular mel filters, float32 [n_mels, n_fft//2+1].

    Matches ``librosa.filters.mel(htk=False, norm="slaney")``. Returns a fresh array.
    """
    if not isinstance(cfg, FeatureConfig):
        raise TypeError(f"mel_filterbank expects a FeatureConfig, got {type(cfg).__name__}")
    return _mel_basis(cfg.sample_rate, cfg.n_fft, cfg.n_mels, cfg.fmin, cfg.fmax).copy()


@functools.lru_cache(maxsize=32)
def _window(n_fft: int, win_length: int) -> np.ndarray:
    """Periodic Hann of ``win_length`` zero-padded (centred) to ``n_fft``, float32, read-only."""
    n = np.arange(win_length, dtype=np.float64)
    hann = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / win_length)
    window = np.zeros(n_fft, dtype=np.float32)
    left = (n_fft - win_length) // 2
    window[left:left + win_length] = hann
    window.flags.writeable = False
    return window


def log_mel_spectrogram(wave: np.ndarray, cfg: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram (HiFi-GAN convention) of ``wave`` [L] -> [n_mels, F] or [B, L] -> [B, n_mels, F].

    ``F = 1 + (L + 2*pad - n_fft) // hop`` with ``pad = (n_fft - hop) // 2``, i.e. ``L // hop``
    when ``n_fft - hop`` is even (HiFi-GAN configs); an input too short for one frame
    gives ``F = 0``. Computed in float32, returned as float32.
    """
    if not isinstance(cfg, FeatureConfig):
        raise TypeError(f"log_mel_spectrogram expects a FeatureConfig, got {type(cfg).__name__}")
    x = np.asarray(wave)
    if x.dtype.kind != "f":
        raise InvalidInputError(f"log_mel_spectrogram expects a floating-point wave, got dtype {x.dtype}")
    if x.ndim not in (1, 2):
        raise InvalidInputError(f"log_mel_spectrogram expects a wave of shape [L] or [B, L], got {x.shape}")
    single = x.ndim == 1
    x = np.asarray(x.reshape(1, -1) if single else x, dtype=np.float32)
    batch, length = x.shape
    n_fft, hop = cfg.n_fft, cfg.hop_length
    pad = (n_fft - hop) // 2
    padded_len = length + 2 * pad
    n_frames = 1 + (padded_len - n_fft) // hop if length > 0 and padded_len >= n_fft else 0
    if n_frames == 0:
        out = np.zeros((batch, cfg.n_mels, 0), dtype=np.float32)
        return out[0] if single else out

    padded = np.pad(x, ((0, 0), (pad, pad)), mode="reflect") if pad else x
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft, axis=-1)[:, ::hop]  # [B, F, n_fft]
    spec = np.fft.rfft(frames * _window(n_fft, cfg.win_length), axis=-1)  # [B, F, K] complex64
    mag = np.abs(spec)
    mel = np.matmul(_mel_basis(cfg.sample_rate, n_fft, cfg.n_mels, cfg.fmin, cfg.fmax), mag.transpose(0, 2, 1))
    np.maximum(mel, np.float32(cfg.clamp_min), out=mel)
    if cfg.log == "natural":
        np.log(mel, out=mel)
    else:
        np.log10(mel, out=mel)
    mel = mel.astype(np.float32, copy=False)
    return mel[0] if single else mel

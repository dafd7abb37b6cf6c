"""Polyphase resampling: lengths, frequency and level kept, anti-aliasing, alignment, errors."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from ttsengine.audio import SUPPORTED_SAMPLE_RATES, resample
from ttsengine.errors import InvalidInputError

PAIRS = list(itertools.permutations(SUPPORTED_SAMPLE_RATES, 2))
DOWN_PAIRS = [(a, b) for a, b in PAIRS if b < a]


def _tone(freq: float, sr: int, n: int, amp: float = 0.5) -> np.ndarray:
    return (amp * np.sin(2 * np.pi * freq * np.arange(n) / sr)).astype(np.float32)


def _interior_rms(y: np.ndarray) -> float:
    m = y.size // 8  # skip the filter's edge transients
    return float(np.sqrt(np.mean(np.square(y[m:-m], dtype=np.float64))))


@pytest.mark.parametrize(("orig", "target"), PAIRS)
def test_length_ratio(orig: int, target: int) -> None:
    for n in (1, orig // 10 + 7):
        y = resample(np.zeros(n, np.float32), orig, target)
        assert y.dtype == np.float32 and y.ndim == 1
        assert y.size == math.ceil(n * target / orig), f"{orig}->{target}: {n} -> {y.size}"


@pytest.mark.parametrize(("orig", "target"), PAIRS)
def test_tone_keeps_frequency_and_level(orig: int, target: int) -> None:
    # 1 kHz tone (FFT peak) and a tone at 85 % of the lower Nyquist (level in passband)
    n = orig // 2
    y = resample(_tone(1000.0, orig, n), orig, target)
    spec = np.abs(np.fft.rfft(y * np.hanning(y.size)))
    peak_hz = np.argmax(spec) * target / y.size
    assert abs(peak_hz - 1000.0) <= target / y.size, f"{orig}->{target}: peak at {peak_hz:.1f} Hz"
    high = 0.85 * min(orig, target) / 2
    y = resample(_tone(high, orig, n), orig, target)
    gain_db = 20 * math.log10(_interior_rms(y) / (0.5 / math.sqrt(2)))
    # measured: |gain| <= 0.0005 dB at 85 % of Nyquist over all pairs
    assert abs(gain_db) < 0.1, f"{orig}->{target}: {high:.0f} Hz tone gain {gain_db:.3f} dB"


@pytest.mark.parametrize(("orig", "target"), DOWN_PAIRS)
def test_tone_above_new_nyquist_is_removed(orig: int, target: int) -> None:
    new_nyq = target / 2
    freqs = [1.03 * new_nyq, min(1.5 * new_nyq, 0.97 * orig / 2)]
    worst = -math.inf
    for f in freqs:
        y = resample(_tone(f, orig, orig // 2), orig, target)
        level_db = 20 * math.log10(_interior_rms(y) / (0.5 / math.sqrt(2)) + 1e-12)
        worst = max(worst, level_db)
    # measured: <= -83.9 dB over all pairs (worst 24000->16000 at 8240 Hz); scipy's default
    # resample_poly filter leaves about -8 dB at 1.02 x Nyquist
    assert worst < -60.0, f"{orig}->{target}: alias residue {worst:.1f} dB (need > 60 dB attenuation)"


@pytest.mark.parametrize(("orig", "target"), [(24000, 48000), (24000, 16000), (22050, 24000), (48000, 8000)])
def test_no_time_shift(orig: int, target: int) -> None:
    freq = 440.0
    y = resample(_tone(freq, orig, orig // 4), orig, target)
    expected = _tone(freq, target, y.size)
    m = y.size // 8
    err = float(np.abs(y[m:-m] - expected[m:-m]).max())
    # measured: <= 1.1e-5 over all pairs (float32 output)
    assert err < 1e-4, f"{orig}->{target}: interior deviates from the ideal tone by {err:.3g}"


def test_same_rate_returns_input() -> None:
    x = _tone(440.0, 24000, 1000)
    assert resample(x, 24000, 24000) is x
    y = resample(x.astype(np.float64), 24000, 24000)
    assert y.dtype == np.float32 and np.array_equal(y, x)


def test_multichannel_last_axis_and_empty() -> None:
    x = np.stack([_tone(440.0, 24000, 2400), _tone(880.0, 24000, 2400)])
    y = resample(x, 24000, 16000)
    assert y.shape == (2, 1600)
    for i in range(2):
        assert np.array_equal(y[i], resample(x[i], 24000, 16000))
    assert resample(np.zeros(0, np.float32), 24000, 16000).shape == (0,)


def test_errors() -> None:
    x = np.zeros(100, np.float32)
    with pytest.raises(InvalidInputError) as info:
        resample(x, 24000, 32000)
    msg = str(info.value)
    assert "32000" in msg and all(str(r) in msg for r in SUPPORTED_SAMPLE_RATES), msg
    with pytest.raises(InvalidInputError, match="orig_sr"):
        resample(x, 11025, 24000)
    with pytest.raises(InvalidInputError):
        resample(x, 24000, 0)
    with pytest.raises(InvalidInputError):
        resample(x, 24000.0, 16000)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError, match="floating-point"):
        resample(np.zeros(100, np.int16), 24000, 16000)


@pytest.mark.parametrize(("orig", "target"), PAIRS)
def test_matches_scipy_resample_poly_with_the_same_filter(orig: int, target: int) -> None:
    from scipy.signal import resample_poly

    from ttsengine.audio.resample import _lowpass

    g = math.gcd(orig, target)
    up, down = target // g, orig // g
    rng = np.random.default_rng(orig + 7 * target)
    for n in (1, 5, orig // 4 + 3):
        x = rng.uniform(-1, 1, n).astype(np.float32)
        expected = resample_poly(x.astype(np.float64), up, down, window=_lowpass(up, down))
        y = resample(x, orig, target)
        assert y.shape == expected.shape
        error = float(np.abs(y - expected).max())
        # measured: <= 4e-7 over all pairs (float32 taps, sums and output)
        assert error <= 1e-5, f"{orig}->{target}, n={n}: max abs error vs scipy {error:.2e}"


def test_non_contiguous_and_float64_input() -> None:
    x = np.random.default_rng(1).uniform(-1, 1, (3, 4800))
    y = resample(x[:, ::2], 24000, 16000)  # float64, strided
    assert y.dtype == np.float32 and y.shape == (3, 1600)
    np.testing.assert_array_equal(y[1], resample(np.ascontiguousarray(x[1, ::2], np.float32), 24000, 16000))
@pytest.mark.parametrize("up, down", [(160, 147), (147, 160), (1, 3), (80, 441)])
def test_lowpass_is_scipys_kaiser_design(up, down):
    """The numpy-only filter design equals scipy's kaiserord + firwin (scipy is not imported at run time)."""
    from scipy.signal import firwin, kaiserord

    from ttsengine.audio.resample import _PASSBAND, _STOP_DB, _lowpass

    nyq = 1.0 / max(up, down)
    numtaps, beta = kaiserord(_STOP_DB, (1.0 - _PASSBAND) * nyq)
    expected = firwin(numtaps | 1, 0.5 * (1.0 + _PASSBAND) * nyq, window=("kaiser", beta))
    got = _lowpass(up, down)
    assert got.shape == expected.shape and np.abs(got - expected).max() < 1e-12


def test_resampling_does_not_import_scipy():
    import subprocess
    import sys

    code = ("import sys, numpy as np; from ttsengine.audio.resample import resample; "
            "resample(np.zeros(1000, np.float32), 22050, 24000); print('scipy' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd="/")
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"

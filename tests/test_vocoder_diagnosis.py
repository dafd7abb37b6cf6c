"""benchmarks/vocoder_diagnosis.py: its magnitude / phase hybrids and its argument checks (the
DistillMOS runs themselves are benchmark work, not tests)."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

import vocoder_diagnosis  # noqa: E402


def _tone(freq: float, phase: float, n: int = 8192, rate: int = 22050) -> np.ndarray:
    t = np.arange(n) / rate
    return (0.3 * np.sin(2 * np.pi * freq * t + phase) * np.hanning(n)).astype(np.float32)


def test_a_hybrid_of_a_wave_with_itself_is_the_wave():
    wave = _tone(220.0, 0.0) + _tone(1330.0, 1.0)
    for n_fft, hop in ((512, 128), (1024, 256)):
        back = vocoder_diagnosis.hybrids(wave, wave, n_fft, hop)
        assert back.shape == wave.shape
        assert np.abs(back - wave)[n_fft:-n_fft].max() < 1e-4


def test_a_hybrid_takes_magnitudes_from_one_wave_and_phases_from_the_other():
    """Same spectrum, phase shifted by pi/2: the hybrid with the other's phases is the other,
    not the first."""
    first, second = _tone(440.0, 0.0), _tone(440.0, np.pi / 2)
    hybrid = vocoder_diagnosis.hybrids(first, second, 512, 128)
    middle = slice(2048, 6144)
    assert np.abs(hybrid - second)[middle].max() < 0.05 * np.abs(second).max()
    assert np.abs(hybrid - first)[middle].max() > 0.5 * np.abs(first).max()


def test_bad_arguments_are_refused(capsys):
    for argv in (["--mode", "bogus"], ["--limit", "0"]):
        with pytest.raises(SystemExit) as exc:
            vocoder_diagnosis.main(argv)
        assert exc.value.code == 2
    assert "--mode" in capsys.readouterr().err

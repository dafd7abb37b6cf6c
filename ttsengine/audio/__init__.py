"""Audio containers, mel features and resampling (numpy / soundfile; scipy imported lazily)."""

from __future__ import annotations

from ttsengine.audio.audio import Audio, AudioChunk, Word
from ttsengine.audio.features import FeatureConfig, log_mel_spectrogram, mel_filterbank
from ttsengine.audio.resample import SUPPORTED_SAMPLE_RATES, StreamResampler, resample

__all__ = [
    "Audio",
    "AudioChunk",
    "Word",
    "FeatureConfig",
    "log_mel_spectrogram",
    "mel_filterbank",
    "resample",
    "StreamResampler",
    "SUPPORTED_SAMPLE_RATES",
]

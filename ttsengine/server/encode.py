"""Audio -> response bytes for OpenAI's ``response_format`` values.

``pcm``: raw 16-bit little-endian mono samples, no header. ``wav`` and ``flac``: 16-bit
files written by soundfile (exact length). ``mp3``, ``opus`` (in Ogg) and ``aac`` (ADTS)
are encoded with PyAV (FFmpeg's libmp3lame, libopus and aac encoders).
"""

from __future__ import annotations

import io

import numpy as np

__all__ = ["FORMATS", "MEDIA_TYPES", "STREAMED_FORMATS", "encode", "streaming_wav_header"]

MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
FORMATS = tuple(MEDIA_TYPES)
#: formats sent chunk by chunk with ``stream_format="audio"`` (others: the whole file)
STREAMED_FORMATS = ("pcm", "wav")
# format -> (container, codec) for PyAV
_AV = {"mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac")}
# sample rates the encoders take; other rates are resampled by the encoder's frame adapter
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)


def encode(audio, format: str) -> tuple[bytes, str]:
    """(bytes, media type) of ``audio`` (a ttsengine Audio) in ``format``."""
    if format == "pcm":
        return audio.to_pcm16().astype("<i2", copy=False).tobytes(), MEDIA_TYPES["pcm"]
    if format in ("wav", "flac"):
        return audio.to_bytes(format), MEDIA_TYPES[format]
    if format not in _AV:
        raise ValueError(f"unknown format {format!r}")
    return _av_encode(audio.samples, audio.sample_rate, *_AV[format]), MEDIA_TYPES[format]


def _av_encode(samples: np.ndarray, rate: int, container: str, codec: str) -> bytes:
    import av

    out_rate = rate
    if codec == "libopus" and rate not in _OPUS_RATES:
        out_rate = 48000
    buffer = io.BytesIO()
    with av.open(buffer, mode="w", format=container) as output:
        stream = output.add_stream(codec, rate=out_rate, layout="mono")
        if codec != "libopus":
            stream.bit_rate = 64000
        data = np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = None
        for packet in stream.encode(frame):
            output.mux(packet)
        for packet in stream.encode(None):
            output.mux(packet)
    return buffer.getvalue()


def streaming_wav_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header whose RIFF and data sizes are 0xFFFFFFFF (length unknown)."""
    import struct

    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))

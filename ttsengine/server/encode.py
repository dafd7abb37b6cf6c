"""Audio -> response bytes for OpenAI's ``response_format`` values, whole or streamed.

``pcm``: raw 16-bit little-endian mono samples, no header. ``wav`` and ``flac``: 16-bit
files written by soundfile (exact length). ``mp3``, ``opus`` (in Ogg) and ``aac`` (ADTS)
are encoded with PyAV (FFmpeg's libmp3lame, libopus and aac encoders).

Streamed (:class:`StreamEncoder`): ``wav`` is one header with unknown sizes, then PCM;
``mp3``, ``opus``, ``aac`` and ``flac`` keep one PyAV muxer open over the stream, writing
into a write-only sink that is drained after every chunk. A streamed FLAC's STREAMINFO says
"length unknown" (FFmpeg and libFLAC read it; libsndfile, hence soundfile, does not) and a
streamed MP3 has no Xing/LAME frame, so decoders keep its encoder delay and padding.
"""

from __future__ import annotations

import io
import struct
from typing import Any

import numpy as np

__all__ = ["FORMATS", "MEDIA_TYPES", "STREAMED_FORMATS", "StreamEncoder", "encode", "streaming_wav_header"]

MEDIA_TYPES = {
    "mp3": "audio/mpeg",
    "opus": "audio/ogg",
    "aac": "audio/aac",
    "flac": "audio/flac",
    "wav": "audio/wav",
    "pcm": "audio/pcm",
}
FORMATS = tuple(MEDIA_TYPES)
#: formats sent chunk by chunk with ``stream_format="audio"`` or ``"sse"`` (all of them)
STREAMED_FORMATS = FORMATS
# format -> (container, codec) for PyAV
_AV = {"mp3": ("mp3", "libmp3lame"), "opus": ("ogg", "libopus"), "aac": ("adts", "aac"), "flac": ("flac", "flac")}
# sample rates the encoders take; other rates are resampled by the encoder's frame adapter
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
#: Ogg page length when streaming, in µs (the muxer's default, 1 s, holds short chunks back)
OGG_PAGE_US = 200_000
# muxer options when streaming: short Ogg pages; no 8 KiB FLAC padding block (kept for a
# STREAMINFO rewrite that a stream never does)
_STREAM_OPTIONS = {"ogg": {"page_duration": str(OGG_PAGE_US)}, "flac": {"metadata_header_padding": "0"}}


def encode(audio, format: str) -> tuple[bytes, str]:
    """(bytes, media type) of ``audio`` (a ttsengine Audio) in ``format``."""
    if format == "pcm":
        return _pcm16(audio), MEDIA_TYPES["pcm"]
    if format in ("wav", "flac"):
        return audio.to_bytes(format), MEDIA_TYPES[format]
    if format not in _AV:
        raise ValueError(f"unknown format {format!r}")
    buffer = io.BytesIO()
    output, stream = _open_av(buffer, format, audio.sample_rate)
    with output:
        _mux(output, stream, audio.samples, audio.sample_rate)
        _mux(output, stream, None, audio.sample_rate)
    return buffer.getvalue(), MEDIA_TYPES[format]


class StreamEncoder:
    """One streamed response in ``format``: ``push`` each chunk (an AudioChunk or Audio at
    ``sample_rate``), then ``finish``. Each returns the bytes ready so far (maybe none:
    encoders hold a frame or so back); their concatenation is one valid file.

    Not thread-safe (one caller at a time). ``close`` releases the encoder unfinished.
    """

    def __init__(self, format: str, sample_rate: int) -> None:
        if format not in FORMATS:
            raise ValueError(f"unknown format {format!r}")
        self.format = format
        self.sample_rate = sample_rate
        self._header = streaming_wav_header(sample_rate) if format == "wav" else b""
        self._sink = _Sink()
        self._output: Any = None  # the PyAV muxer, opened by the first push
        self._stream: Any = None

    def push(self, chunk) -> bytes:
        """Encodes ``chunk``; returns the bytes ready (the WAV header comes with the first)."""
        if self.format not in _AV:
            header, self._header = self._header, b""
            return header + _pcm16(chunk)
        if self._output is None:
            self._output, self._stream = _open_av(self._sink, self.format, self.sample_rate, streaming=True)
        _mux(self._output, self._stream, chunk.samples, self.sample_rate)
        return self._sink.drain()

    def finish(self) -> bytes:
        """Flushes the encoder, closes the muxer, and only then reads the last bytes (Ogg
        writes its last pages at the close)."""
        if self._output is None:
            header, self._header = self._header, b""
            return header
        _mux(self._output, self._stream, None, self.sample_rate)
        self.close()
        return self._sink.drain()

    def close(self) -> None:
        """Closes the muxer (idempotent)."""
        if self._output is not None:
            self._output.close()


class _Sink:
    """A write-only file for PyAV. Having no ``seek``, muxers never go back at the close to
    patch a header (FLAC's STREAMINFO, an MP3 Xing frame) over bytes already sent."""

    def __init__(self) -> None:
        self._parts: list[bytes] = []

    def write(self, data: bytes) -> int:
        self._parts.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        data = b"".join(self._parts)
        self._parts.clear()
        return data


def _open_av(file: Any, format: str, rate: int, streaming: bool = False) -> tuple[Any, Any]:
    """A PyAV muxer on ``file`` with one mono audio stream: (output, stream)."""
    import av

    container, codec = _AV[format]
    options = _STREAM_OPTIONS.get(container, {}) if streaming else {}
    output = av.open(file, mode="w", format=container, container_options=options)
    out_rate = 48000 if codec == "libopus" and rate not in _OPUS_RATES else rate
    stream = output.add_stream(codec, rate=out_rate, layout="mono")
    if codec in ("libmp3lame", "aac"):
        stream.bit_rate = 64000
    return output, stream


def _mux(output: Any, stream: Any, samples: np.ndarray | None, rate: int) -> None:
    """Encodes ``samples`` (None: flushes the encoder) and muxes the packets."""
    import av

    frame = None
    if samples is not None:
        if not len(samples):
            return
        data = np.ascontiguousarray(np.clip(samples, -1.0, 1.0), dtype=np.float32)[None, :]
        frame = av.AudioFrame.from_ndarray(data, format="flt", layout="mono")
        frame.sample_rate = rate
        frame.pts = None
    for packet in stream.encode(frame):
        output.mux(packet)


def _pcm16(audio) -> bytes:
    return audio.to_pcm16().astype("<i2", copy=False).tobytes()


def streaming_wav_header(sample_rate: int) -> bytes:
    """A 16-bit mono WAV header whose RIFF and data sizes are 0xFFFFFFFF (length unknown)."""
    return (b"RIFF" + struct.pack("<I", 0xFFFFFFFF) + b"WAVE"
            + b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, sample_rate, sample_rate * 2, 2, 16)
            + b"data" + struct.pack("<I", 0xFFFFFFFF))

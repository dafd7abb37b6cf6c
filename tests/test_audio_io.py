"""Audio / AudioChunk containers: validation, duration, int16 conversion, save round trips."""

from __future__ import annotations

import dataclasses
import os

import numpy as np
import pytest
import soundfile as sf

from ttsengine.audio import Audio, AudioChunk
from ttsengine.audio.audio import check_save_path
from ttsengine.errors import InvalidInputError

try:
    import resource
except ImportError:  # not on Windows
    resource = None  # type: ignore[assignment]


def _wave(n: int = 2400, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).uniform(-0.9, 0.9, n).astype(np.float32)


def test_validation_and_conversion() -> None:
    src = np.linspace(-1, 1, 11)  # float64, writable
    a = Audio(src, 24000)
    assert a.samples.dtype == np.float32 and a.samples.flags.c_contiguous
    assert np.array_equal(a.samples, src.astype(np.float32))
    strided = Audio(_wave()[::2], np.int64(16000))
    assert strided.samples.flags.c_contiguous and type(strided.sample_rate) is int
    f32 = _wave(10)
    b = Audio(f32, 24000)
    assert not b.samples.flags.writeable, "samples of a frozen Audio must be read-only"
    assert f32.flags.writeable, "the caller's array must not be modified"
    with pytest.raises(dataclasses.FrozenInstanceError):
        b.sample_rate = 16000  # type: ignore[misc]
    for bad in (np.zeros((2, 10), np.float32), np.zeros(10, np.int16), np.array([0.0, np.nan]), np.array([np.inf])):
        with pytest.raises(InvalidInputError):
            Audio(bad, 24000)
    for bad_sr in (0, -24000, 24000.0, True, "24000"):
        with pytest.raises(InvalidInputError):
            Audio(_wave(10), bad_sr)  # type: ignore[arg-type]


def test_duration() -> None:
    assert Audio(np.zeros(36000, np.float32), 24000).duration == 1.5
    assert Audio(np.zeros(0, np.float32), 22050).duration == 0.0
    assert AudioChunk(np.zeros(8000, np.float32), 16000, is_last=False).duration == 0.5


def test_to_pcm16_clips_and_rounds() -> None:
    x = np.array([0.0, 1.0, -1.0, 1.5, -7.0, 0.5, -0.5, 0.25 / 32767, 0.75 / 32767, -0.75 / 32767], np.float32)
    pcm = Audio(x, 24000).to_pcm16()
    assert pcm.dtype == np.int16
    assert pcm.tolist() == [0, 32767, -32767, 32767, -32767, 16384, -16384, 0, 1, -1]
    w = _wave(5000)
    expected = np.round(w.astype(np.float64) * 32767).astype(np.int16)
    diff = np.abs(Audio(w, 24000).to_pcm16().astype(np.int32) - expected)
    # float32 product (bit-identical to the C++ float_to_pcm16) vs exact float64 rounding:
    # measured 0 or 1 LSB, on a few samples whose product lies within float32 ulp of .5
    assert diff.max() <= 1 and (diff == 0).mean() > 0.99, f"pcm16 vs round(x*32767): max {diff.max()} LSB"
    assert np.array_equal(AudioChunk(x, 24000, is_last=True).to_pcm16(), pcm)


@pytest.mark.parametrize("suffix", [".wav", ".flac", ".WAV"])
def test_save_lossless_round_trip(tmp_path, suffix: str) -> None:
    x = np.concatenate([_wave(4800), [1.2, -1.3]]).astype(np.float32)  # includes clipping
    audio = Audio(x, 22050)
    path = tmp_path / f"out{suffix}"
    audio.save(path)
    info = sf.info(str(path))
    assert info.format == ("WAV" if suffix.lower() == ".wav" else "FLAC")
    assert info.subtype == "PCM_16" and info.samplerate == 22050 and info.channels == 1
    back, sr = sf.read(str(path), dtype="int16")
    assert sr == 22050
    assert np.array_equal(back, audio.to_pcm16()), "saved PCM differs from to_pcm16()"


def test_save_format_argument_and_default(tmp_path) -> None:
    audio = Audio(_wave(), 24000)
    audio.save(tmp_path / "noext")  # no suffix -> WAV
    assert sf.info(str(tmp_path / "noext")).format == "WAV"
    audio.save(str(tmp_path / "x.bin"), format="FLAC")  # explicit format wins over the suffix
    assert sf.info(str(tmp_path / "x.bin")).format == "FLAC"


@pytest.mark.skipif("OGG" not in sf.available_formats(), reason="libsndfile without OGG")
def test_save_ogg(tmp_path) -> None:
    t = np.arange(24000) / 24000
    audio = Audio((0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32), 24000)
    audio.save(tmp_path / "a.ogg")
    info = sf.info(str(tmp_path / "a.ogg"))
    assert info.format == "OGG" and info.subtype == "VORBIS" and info.samplerate == 24000
    back, _ = sf.read(str(tmp_path / "a.ogg"), dtype="float32")
    assert abs(back.size - audio.samples.size) <= 1024


def test_save_errors(tmp_path) -> None:
    audio = Audio(_wave(), 24000)
    with pytest.raises(InvalidInputError, match=r"\.mp4.*wav, flac"):
        audio.save(tmp_path / "a.mp4")
    with pytest.raises(InvalidInputError, match="supported formats"):
        audio.save(tmp_path / "a.wav", format="aiff")
    missing = tmp_path / "no" / "such" / "dir" / "a.wav"
    with pytest.raises(InvalidInputError) as info:
        audio.save(missing)
    assert str(missing) in str(info.value)
    assert not missing.parent.exists()


def test_save_destination_errors_are_typed(tmp_path) -> None:
    audio = Audio(_wave(), 24000)
    with pytest.raises(InvalidInputError, match="is a directory"):
        audio.save(tmp_path)
    (tmp_path / "file.txt").write_text("x")
    with pytest.raises(InvalidInputError, match="is not a directory"):
        audio.save(tmp_path / "file.txt" / "a.wav")
    with pytest.raises(InvalidInputError, match="too long"):
        audio.save(tmp_path / ("n" * 300 + ".wav"))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"]


@pytest.mark.skipif(not os.path.exists("/dev/full"), reason="no /dev/full")
def test_save_to_a_full_device_is_typed() -> None:
    with pytest.raises(InvalidInputError, match="No space left on device") as info:
        Audio(_wave(), 24000).save("/dev/full")
    assert isinstance(info.value.__cause__, OSError)


@pytest.mark.skipif(resource is None, reason="no resource module")
def test_save_that_cannot_finish_leaves_no_truncated_file(tmp_path) -> None:
    path = tmp_path / "big.wav"
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))  # writes past 4 KiB fail (EFBIG)
    try:
        with pytest.raises(InvalidInputError, match="File too large"):
            Audio(_wave(24000), 24000).save(path)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    assert not path.exists()


def test_to_bytes_is_the_saved_file(tmp_path) -> None:
    audio = Audio(_wave(), 22050)
    for fmt in ("wav", "FLAC"):
        audio.save(tmp_path / "a.x", format=fmt)
        assert audio.to_bytes(fmt) == (tmp_path / "a.x").read_bytes()
    data = audio.to_bytes()
    assert data[:4] == b"RIFF" and int.from_bytes(data[4:8], "little") == len(data) - 8
    with pytest.raises(InvalidInputError, match="supported formats"):
        audio.to_bytes("mp3")


def test_check_save_path(tmp_path) -> None:
    assert check_save_path(tmp_path / "new.flac") == "flac"
    assert not (tmp_path / "new.flac").exists(), "the probe must not leave a file"
    existing = tmp_path / "old.wav"
    existing.write_bytes(b"keep")
    assert check_save_path(existing) == "wav" and existing.read_bytes() == b"keep"
    for bad, fragment in ((tmp_path, "is a directory"), (tmp_path / "a.mp3", "supported formats"),
                          (tmp_path / "no" / "a.wav", "does not exist")):
        with pytest.raises(InvalidInputError, match=fragment):
            check_save_path(bad)
    if os.path.isdir("/proc/self"):
        with pytest.raises(InvalidInputError, match="cannot write audio to"):
            check_save_path("/proc/ttsengine-test.wav")


def test_audio_chunk() -> None:
    c = AudioChunk(np.zeros(10, np.float64), 24000, is_last=np.bool_(True), index=np.int64(3))
    assert c.samples.dtype == np.float32 and c.is_last is True and c.index == 3
    assert AudioChunk(np.zeros(0, np.float32), 24000, is_last=True).index == 0  # empty final chunk ok
    with pytest.raises(InvalidInputError):
        AudioChunk(np.zeros(10, np.float32), 24000, is_last=1)  # type: ignore[arg-type]
    with pytest.raises(InvalidInputError):
        AudioChunk(np.zeros(10, np.float32), 24000, is_last=False, index=-1)
    with pytest.raises(InvalidInputError):
        AudioChunk(np.zeros((1, 10), np.float32), 24000, is_last=False)
    assert "float32[10]" in repr(c) and "24000" in repr(Audio(np.zeros(10, np.float32), 24000))

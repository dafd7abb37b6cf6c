"""#23: ``ttsengine synth`` writes audio as it is made (WAV/FLAC/OGG by soundfile, MP3/Opus/AAC
by PyAV), caps --text-file, and every usage error is one line with exit status 2."""

from __future__ import annotations


import numpy as np
import pytest
import soundfile as sf

from ttsengine import Synthesizer
from ttsengine.cli import main

TEXT = "Hello world. This is a second sentence, with a clause."


def _run(capsys, *args):
    status = main(list(args))
    return status, capsys.readouterr().err


def test_synth_streams_into_the_file_and_matches_synthesize(tiny_voice, tmp_path, capsys, monkeypatch):
    reference = Synthesizer(tiny_voice, device="cpu", backend="torch").synthesize(TEXT)

    def whole(*args, **kwargs):
        raise AssertionError("synth must not build the whole audio in memory")

    monkeypatch.setattr(Synthesizer, "synthesize", whole)
    for suffix in ("wav", "flac"):
        out = tmp_path / f"x.{suffix}"
        status, err = _run(capsys, "synth", TEXT, "-o", str(out), "--voice", str(tiny_voice), "--backend", "torch")
        assert status == 0, err
        data, rate = sf.read(out, dtype="int16")
        assert rate == reference.sample_rate and len(data) == len(reference.samples)
        assert np.abs(data.astype(np.int32) - reference.to_pcm16()).max() <= 2


@pytest.mark.parametrize("suffix", ["mp3", "opus", "aac"])
def test_synth_encodes_mp3_opus_aac_with_pyav(tiny_voice, tmp_path, capsys, suffix):
    av = pytest.importorskip("av")
    out = tmp_path / f"x.{suffix}"
    status, err = _run(capsys, "synth", TEXT, "-o", str(out), "--voice", str(tiny_voice), "--backend", "torch")
    assert status == 0, err
    reference = Synthesizer(tiny_voice, device="cpu", backend="torch").synthesize(TEXT)
    with av.open(str(out)) as container:
        frames = list(container.decode(audio=0))
    seconds = sum(f.samples for f in frames) / frames[0].sample_rate
    assert abs(seconds - reference.duration) < 0.15, (seconds, reference.duration)


def test_unsupported_suffix_is_one_line(tiny_voice, tmp_path, capsys):
    status, err = _run(capsys, "synth", TEXT, "-o", str(tmp_path / "x.xyz"), "--voice", str(tiny_voice))
    assert status == 2 and len(err.strip().splitlines()) == 1 and "mp3" in err and "wav" in err
    assert not (tmp_path / "x.xyz").exists()


def test_huge_text_file_is_a_typed_error(tiny_voice, tmp_path, capsys):
    status, err = _run(capsys, "synth", "--text-file", "/dev/zero", "-o", str(tmp_path / "x.wav"),
                       "--voice", str(tiny_voice))
    assert status == 2 and "MiB" in err and len(err.strip().splitlines()) == 1, err


@pytest.mark.parametrize("args", [["synth", "--speed"], ["nonsense"], ["synth", "hi", "--bogus"],
                                  ["serve", "--port", "x"]])
def test_usage_errors_are_one_line_and_exit_2(capsys, args):
    status, err = _run(capsys, *args)
    lines = err.strip().splitlines()
    assert status == 2 and len(lines) == 1 and lines[0].startswith("ttsengine: error:"), err

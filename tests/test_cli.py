"""The ttsengine command line, run as a real subprocess."""

from __future__ import annotations

import subprocess
import sys
import tempfile

import soundfile as sf


def run(*args, stdin=None):
    # A neutral working directory: `python -m` puts the cwd first on sys.path, and the
    # repository root would shadow the installed package (whose _core is compiled).
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run(
            [sys.executable, "-m", "ttsengine", *map(str, args)],
            capture_output=True, text=True, input=stdin, timeout=300, cwd=cwd,
        )


def test_synth_writes_wav(tiny_voice, tmp_path):
    out = tmp_path / "hello.wav"
    result = run("synth", "Hello world.", "-o", out, "--voice", tiny_voice, "--speaker", "bob", "--sample-rate", 16000)
    assert result.returncode == 0, result.stderr
    data, rate = sf.read(out)
    assert rate == 16000 and len(data) > 0.3 * rate
    assert sf.info(out).subtype == "PCM_16"


def test_synth_reads_text_file(tiny_voice, tmp_path):
    text_file = tmp_path / "in.txt"
    text_file.write_text("Reading from a file works.", encoding="utf-8")
    out = tmp_path / "file.wav"
    result = run("synth", "--text-file", text_file, "-o", out, "--voice", tiny_voice)
    assert result.returncode == 0, result.stderr
    assert out.stat().st_size > 1000


def _assert_user_error(result, fragment):
    assert result.returncode == 2, result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ttsengine: error:"), result.stderr
    assert fragment in lines[0]
    assert "Traceback" not in result.stderr


def test_user_errors_exit_2_with_one_line(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    _assert_user_error(run("synth", "   ", "-o", out, "--voice", tiny_voice), "empty")
    _assert_user_error(run("synth", "Hi.", "-o", out, "--voice", tiny_voice, "--speaker", "zed"), "alice=0")
    _assert_user_error(run("synth", "Hi.", "-o", out, "--voice", tiny_voice, "--speed", "0"), "speed")
    _assert_user_error(run("synth", "Hi.", "-o", out, "--voice", tiny_voice, "--sample-rate", "11025"), "sample_rate")
    _assert_user_error(run("synth", "Hi.", "-o", out, "--voice", tmp_path / "missing"), "not found")
    _assert_user_error(run("synth", "Hi.", "-o", out, "--voice", tiny_voice, "--backend", "tensorrt"), "tensorrt")
    bad = tmp_path / "latin1.txt"
    bad.write_bytes("caf\xe9 au lait".encode("latin-1"))
    _assert_user_error(run("synth", "--text-file", bad, "-o", out, "--voice", tiny_voice), "not valid UTF-8")
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "keep.txt").write_text("mine")
    _assert_user_error(run("export", "default", "-o", occupied), "not empty")
    assert (occupied / "keep.txt").read_text() == "mine"
    assert not out.exists()


def test_debug_shows_traceback(tiny_voice, tmp_path):
    result = run("--debug", "synth", "   ", "-o", tmp_path / "x.wav", "--voice", tiny_voice)
    assert result.returncode != 0 and "Traceback" in result.stderr


def test_voices_lists_the_trained_default_voice():
    result = run("voices")
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("default\t24000 Hz\tphonemes/en-us")
    assert "\ttrained" in result.stdout and "UNTRAINED" not in result.stdout


def test_voices_says_when_a_voice_is_untrained(tiny_voice, tmp_path):
    from ttsengine.voice import load_voice

    assert not load_voice(tiny_voice).trained  # seeded random weights
    result = run("voices")  # lists bundled voices only; an untrained bundle is flagged in synth's output
    assert result.returncode == 0
    out = tmp_path / "x.wav"
    result = run("synth", "abc", "-o", out, "--voice", tiny_voice)
    assert result.returncode == 0 and "untrained voice" in result.stdout + result.stderr


def test_info_reports_build_and_backends():
    result = run("info")
    assert result.returncode == 0, result.stderr
    assert "native _core: ok" in result.stdout
    assert "torch        available" in result.stdout
    for backend in ("onnxruntime", "tensorrt"):
        assert f"\n  {backend}" in result.stdout, f"info must report the {backend} backend"
    assert "devices: cpu" in result.stdout

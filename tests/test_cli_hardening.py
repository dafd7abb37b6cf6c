"""The command line's edges, run as a user would (real subprocesses): output paths and
stdout, missing optional dependencies, closed pipes and streams, global options after the
command, undecodable command-line text."""

from __future__ import annotations

import io
import os
import pty
import shutil
import struct
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from ttsengine import cli

# What `pip install ".[onnx]"` leaves out: every optional module but onnxruntime.
NO_TORCH = ("torch", "onnx", "onnxscript", "onnxslim", "tqdm", "matplotlib")
LONG_TEXT = "Hello world, this sentence is long enough. " * 12  # ~15 s: > a pipe's 64 KiB


def _run(args, *, stdin=None, stdout=subprocess.PIPE, prefix=("-m", "ttsengine"), **kw):
    # A neutral working directory: `python -m` puts the cwd first on sys.path.
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, *prefix, *(a if isinstance(a, bytes) else str(a) for a in args)],
                              stdin=stdin, stdout=stdout, stderr=subprocess.PIPE, timeout=300, cwd=cwd, **kw)


def _run_blocked(blocked, args, **kw):
    """``ttsengine.cli.main(args)`` in a subprocess where the ``blocked`` modules cannot be imported."""
    code = ("import sys\nfor m in sys.argv[1].split(','):\n    sys.modules[m] = None\n"
            "from ttsengine.cli import main\nsys.exit(main(sys.argv[2:]))")
    return _run([",".join(blocked), *args], prefix=("-c", code), **kw)


def _user_error(result, fragment) -> str:
    stderr = result.stderr.decode("utf-8", "replace")
    assert result.returncode == 2, stderr
    lines = stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("ttsengine: error:"), stderr
    assert fragment in lines[0], stderr
    return lines[0]


# ------------------------------------------------------------------ 1. output paths, stdout
def test_bad_destination_is_refused_before_synthesis(tmp_path):
    # The voice does not exist: an output error proves the destination was checked first.
    no_voice = tmp_path / "no-such-voice"
    (tmp_path / "file.txt").write_text("x")
    cases = [
        (tmp_path, "is a directory"),
        (tmp_path / "missing" / "out.wav", "does not exist"),
        (tmp_path / "file.txt" / "out.wav", "is not a directory"),
        (tmp_path / "out.xyz", "supported formats are wav, flac"),
        (tmp_path / ("n" * 300 + ".wav"), "too long"),
    ]
    if Path("/proc/self").is_dir():
        cases.append((Path("/proc/ttsengine-test.wav"), "cannot write audio to"))
    for output, fragment in cases:
        _user_error(_run(["synth", "Hi.", "-o", output, "--voice", no_voice]), fragment)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["file.txt"], "a probe file was left behind"


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="needs a non-root POSIX user")
def test_unwritable_directory_is_refused_before_synthesis(tmp_path):
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    try:
        _user_error(_run(["synth", "Hi.", "-o", locked / "a.wav", "--voice", tmp_path / "none"]),
                    "Permission denied")
    finally:
        locked.chmod(0o700)


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="no /dev/full")
def test_full_device_is_one_line_error(tiny_voice):
    _user_error(_run(["synth", "Hi.", "-o", "/dev/full", "--voice", tiny_voice]), "No space left on device")


def _check_wav_header(data: bytes) -> None:
    assert data[:4] == b"RIFF" and data[8:12] == b"WAVE"
    assert struct.unpack("<I", data[4:8])[0] == len(data) - 8, "RIFF size must be the real size"
    at = data.index(b"data")
    assert struct.unpack("<I", data[at + 4:at + 8])[0] == len(data) - at - 8, "data size must be the real size"


def test_dash_output_writes_one_whole_wav_to_stdout(tiny_voice, tmp_path):
    result = _run(["synth", "Hello world.", "-o", "-", "--voice", tiny_voice, "--sample-rate", 16000])
    stderr = result.stderr.decode()
    assert result.returncode == 0, stderr
    _check_wav_header(result.stdout)  # stdout was a pipe: sizes still exact
    samples, rate = sf.read(io.BytesIO(result.stdout), dtype="int16")
    assert rate == 16000 and len(samples) > 0.3 * rate
    assert "wrote WAV to stdout" in stderr


def test_dash_output_refuses_a_terminal_and_a_closed_stdout(tiny_voice):
    leader, follower = pty.openpty()
    try:
        _user_error(_run(["synth", "Hi.", "-o", "-", "--voice", tiny_voice], stdout=follower), "binary WAV")
    finally:
        os.close(leader)
        os.close(follower)
    _user_error(_run(["synth", "Hi.", "-o", "-", "--voice", tiny_voice], stdout=None,
                     preexec_fn=lambda: os.close(1)), "stdout is closed")


def test_dash_output_to_a_reader_that_goes_away(tiny_voice):
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen([sys.executable, "-m", "ttsengine", "synth", LONG_TEXT, "-o", "-", "--voice",
                                 str(tiny_voice)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        assert proc.stdout.read(4) == b"RIFF"
        proc.stdout.close()
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=300) == 1, stderr
    assert "Traceback" not in stderr and "wrote" not in stderr, stderr


# ------------------------------------------------------------------ 2. optional dependencies
@pytest.mark.parametrize("command, extra", [
    (["train", "PREPARED", "-o", "VOICE"], "train"),
    (["clone", "VOICE", "DATA", "--speaker", "x", "-o", "OUT"], "train"),
    (["export", "VOICE", "-o", "OUT"], "export"),
    (["verify", "VOICE"], "export"),
    (["import-vocoder", "CKPT", "--config", "CONFIG", "-o", "OUT"], "torch"),
])
def test_torch_free_install_names_the_extra(command, extra):
    line = _user_error(_run_blocked(NO_TORCH, command), f"'ttsengine {command[0]}' needs torch")
    assert line.endswith(f'pip install torch==2.13.0 && pip install "ttsengine[{extra}]"'), line


def test_torch_free_install_runs_the_light_commands(small_onnx_voice, tmp_path):
    for args in (["--help"], ["info"], ["train", "--help"]):
        result = _run_blocked(NO_TORCH, args)
        assert result.returncode == 0 and not result.stderr, result.stderr.decode()
    out = tmp_path / "onnx.wav"
    result = _run_blocked(NO_TORCH, ["synth", "Hi.", "-o", out, "--voice", small_onnx_voice])
    assert result.returncode == 0 and "onnxruntime/cpu" in result.stderr.decode(), result.stderr.decode()
    assert sf.info(str(out)).frames > 0


def test_an_import_deep_inside_a_command_names_the_extra(tmp_path):
    # `prepare` imports tqdm only for a progress bar on a terminal: no pre-check can see it.
    data = tmp_path / "data"
    data.mkdir()
    t = np.arange(24000) / 24000
    sf.write(str(data / "a.wav"), (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 24000)
    (data / "manifest.csv").write_text("a.wav|Hello there.|spk\n", encoding="utf-8")
    leader, follower = pty.openpty()
    try:
        with tempfile.TemporaryDirectory() as cwd:
            code = ("import sys\nsys.modules['tqdm'] = None\nfrom ttsengine.cli import main\n"
                    "sys.exit(main(sys.argv[1:]))")
            proc = subprocess.run([sys.executable, "-c", code, "prepare", str(data), "-o", str(tmp_path / "p")],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=follower,
                                  timeout=300, cwd=cwd)
        os.close(follower)
        follower = -1
        chunks = []
        while True:
            try:
                chunk = os.read(leader, 4096)
            except OSError:  # EIO: the writer side is closed
                break
            if not chunk:
                break
            chunks.append(chunk)
    finally:
        os.close(leader)
        if follower >= 0:
            os.close(follower)
    stderr = b"".join(chunks).decode().strip()
    assert proc.returncode == 2, stderr
    assert stderr.splitlines() == [
        "ttsengine: error: 'ttsengine prepare' needs tqdm: pip install torch==2.13.0 && pip install \"ttsengine[train]\""
    ], stderr


def test_missing_dependency_mapping(monkeypatch):
    missing = {"tqdm", "soundfile", "onnxruntime"}
    monkeypatch.setattr(cli, "_installed", lambda module: module not in missing)

    def error(exc, command):
        found = cli._missing_dependency(exc, command)
        return None if found is None else str(found)

    assert error(ModuleNotFoundError("x", name="tqdm"), "bench") == \
        "'ttsengine bench' needs tqdm: pip install \"ttsengine[bench]\""
    assert error(ModuleNotFoundError("x", name="torch.nn"), "bench").endswith('"ttsengine[torch]"')
    assert error(ModuleNotFoundError("x", name="onnxruntime"), "synth") == \
        "'ttsengine synth' needs onnxruntime: pip install \"ttsengine[onnx]\""
    assert "cannot import torch.export (cannot import name 'Dim')" in error(
        ImportError("cannot import name 'Dim'", name="torch.export"), "export")
    assert "pip install soundfile" in error(ModuleNotFoundError("x", name="soundfile"), None)
    assert error(ModuleNotFoundError("x", name="ttsengine.nope"), "synth") is None  # a bug: keep the traceback
    assert error(ImportError("x"), "synth") is None


def test_extras_table_matches_pyproject():
    tomllib = pytest.importorskip("tomllib")
    root = Path(__file__).resolve().parents[1]
    extras = tomllib.loads((root / "pyproject.toml").read_text())["project"]["optional-dependencies"]
    not_imported = {"pytest-benchmark"}  # in [bench] for the benchmark suite, never imported by ttsengine
    for extra, modules in cli._EXTRAS.items():
        names = {spec.split(">")[0].split("=")[0].split("<")[0].strip() for spec in extras[extra]}
        assert names - not_imported == set(modules), extra
    assert set(cli._MODULE_EXTRA) == {m for modules in cli._EXTRAS.values() for m in modules}
    readme = (root / "README.md").read_text(encoding="utf-8")
    assert cli.TORCH_PIN in readme, "the torch pin of the install hints must be the README's"


# ------------------------------------------------------------------ 3. pipes, streams, options
def _console_script() -> str | None:
    return shutil.which("ttsengine", path=str(Path(sys.executable).parent))


@pytest.mark.parametrize("how", ["-m", "script"])
def test_closed_stdout_reader_exits_quietly(how):
    argv = [sys.executable, "-m", "ttsengine", "info"] if how == "-m" else [_console_script(), "info"]
    if argv[0] is None:
        pytest.skip("no ttsengine console script next to this python")
    with tempfile.TemporaryDirectory() as cwd:
        proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd)
        proc.stdout.close()  # like `ttsengine info | head -0`: the reader is gone before any output
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=120) == 1
    assert stderr == "", stderr


def test_text_from_an_empty_or_closed_stdin(tiny_voice, tmp_path):
    args = ["synth", "--text-file", "-", "-o", tmp_path / "x.wav", "--voice", tiny_voice]
    _user_error(_run(args, stdin=subprocess.DEVNULL), "empty")
    _user_error(_run(args, preexec_fn=lambda: os.close(0)), "stdin is closed")
    assert not (tmp_path / "x.wav").exists()


def test_debug_and_verbose_after_the_command(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    result = _run(["synth", "   ", "-o", out, "--voice", tiny_voice, "--debug"])
    assert result.returncode != 0 and b"Traceback" in result.stderr
    result = _run(["verify", tmp_path / "missing", "--debug"])
    assert result.returncode != 0 and b"Traceback" in result.stderr
    result = _run(["synth", "Hi.", "-o", out, "--voice", tiny_voice, "-v"])
    assert result.returncode == 0 and b"ttsengine: INFO:" in result.stderr, result.stderr
    result = _run(["--debug", "synth", "   ", "-o", out, "--voice", tiny_voice, "-v"])  # not reset by the command
    assert result.returncode != 0 and b"Traceback" in result.stderr


def test_speaker_that_only_looks_like_a_number(tiny_voice, tmp_path):
    for speaker in ("\u00b2", "--5"):
        _user_error(_run(["synth", "Hi.", "-o", tmp_path / "x.wav", "--voice", tiny_voice, f"--speaker={speaker}"]),
                    "unknown speaker")


# ------------------------------------------------------------------ 4. undecodable text
def test_invalid_utf8_and_lone_surrogates_in_text(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    line = _user_error(_run(["synth", b"caf\xff au lait", "-o", out, "--voice", tiny_voice]), "not valid UTF-8")
    assert "0xff at character 3" in line
    code = "import sys\nfrom ttsengine.cli import main\nsys.exit(main(['synth', 'a\\ud800b'] + sys.argv[1:]))"
    line = _user_error(_run(["-o", out, "--voice", tiny_voice], prefix=("-c", code)), "lone surrogate")
    assert "U+D800 at character 1" in line
    assert not out.exists()

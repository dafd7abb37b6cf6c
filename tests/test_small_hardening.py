"""Small input edges of #23: an output path that names a directory ("newdir/"), JSON
booleans where the server wants numbers, a voice whose frontend language its G2P does
not speak."""

from __future__ import annotations

import importlib.util
import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ttsengine import Audio
from ttsengine.audio.audio import check_save_path
from ttsengine.errors import BackendUnavailableError, InvalidInputError, VoiceLoadError


# ------------------------------------------------------------------ -o newdir/
def test_a_path_ending_with_a_separator_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    audio = Audio(np.zeros(2400, np.float32), 24000)
    for target in ("newdir/", str(tmp_path / "newdir") + "/", "x/newdir.wav/", "newdir//"):
        for call in (lambda: check_save_path(target), lambda: audio.save(target)):
            with pytest.raises(InvalidInputError, match="names a directory"):
                call()
    (tmp_path / "existing").mkdir()
    for path in ("existing", "existing/"):
        with pytest.raises(InvalidInputError, match="directory"):
            audio.save(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["existing"]  # no file named "newdir"
    audio.save("newdir.wav")
    assert (tmp_path / "newdir.wav").is_file()


def test_cli_output_directory_is_one_line_exit_2(tiny_voice, tmp_path):
    for output in ("newdir/", "newdir" + "/" * 3, str(tmp_path) + "/"):
        result = subprocess.run([sys.executable, "-m", "ttsengine", "synth", "Hi.", "-o", output,
                                 "--voice", str(tiny_voice), "--backend", "torch", "--device", "cpu"],
                                capture_output=True, timeout=300, cwd=tmp_path)
        lines = result.stderr.decode().strip().splitlines()
        assert result.returncode == 2 and len(lines) == 1 and "directory" in lines[0], result.stderr
    assert list(tmp_path.iterdir()) == []
    from ttsengine.cli import build_parser

    synth = build_parser()._subparsers._group_actions[0].choices["synth"]
    assert "ending with '/', is refused" in " ".join(synth.format_help().split())


# ------------------------------------------------------------------ "speed": true
@pytest.mark.parametrize("route, body, param", [
    ("/v1/audio/speech", {"input": "Hi.", "speed": True}, "speed"),
    ("/v1/audio/speech", {"input": "Hi.", "speed": False}, "speed"),
    ("/v1/audio/speech", {"input": "Hi.", "voice": True}, "voice"),
    ("/v1/audio/speech", {"input": "Hi.", "speed": True, "stream_format": "audio"}, "speed"),
    ("/clone", {"text": "Hi.", "spk_id": True}, "spk_id"),
])
def test_http_booleans_are_not_numbers(tiny_synth, route, body, param):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ttsengine.server import ServerConfig, create_app

    with TestClient(create_app(ServerConfig(synthesizer=tiny_synth, rate=None))) as client:
        response = client.post(route, json=body)
        assert client.post(route, json={**body, param: 1}).status_code == 200
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert error["param"] == param and error["type"] == "invalid_request_error" and "boolean" in error["message"]


# ------------------------------------------------------------------ frontend.language
def _with_frontend(voice: Path, tmp_path: Path, **frontend) -> Path:
    copy = Path(shutil.copytree(voice, tmp_path / "voice"))
    config = json.loads((copy / "voice.json").read_text())
    config["frontend"].update(frontend)
    (copy / "voice.json").write_text(json.dumps(config))
    return copy


@pytest.mark.parametrize("frontend", [
    {"g2p": "espeak", "language": "xx-not-a-language"}, {"g2p": "espeak", "language": "en us"},
    {"g2p": "espeak", "language": "../en"}, {"g2p": "misaki", "language": "fr"}, {"g2p": "misaki", "language": "de-de"},
])
def test_bad_frontend_language_is_a_voice_load_error(tiny_voice, tmp_path, frontend):
    from ttsengine import Synthesizer

    if frontend["g2p"] == "misaki" and importlib.util.find_spec("hibari") is None:
        pytest.skip("hibari-tts not installed")
    voice = _with_frontend(tiny_voice, tmp_path, **frontend)
    with pytest.raises(VoiceLoadError, match="frontend") as info:
        Synthesizer(voice, device="cpu", backend="torch")
    assert frontend["language"] in str(info.value)
    assert not isinstance(info.value, BackendUnavailableError)


def test_a_missing_g2p_package_stays_backend_unavailable(tiny_voice, tmp_path, monkeypatch):
    from ttsengine import Synthesizer
    from ttsengine.frontend import g2p as g2p_module
    from ttsengine.frontend import g2p_misaki

    voice = _with_frontend(tiny_voice, tmp_path, g2p="misaki", language="en-us")
    monkeypatch.setattr(g2p_misaki.importlib.util, "find_spec", lambda name: None)
    monkeypatch.setattr(g2p_module, "_instances", {})
    with pytest.raises(BackendUnavailableError, match="hibari-tts") as info:
        Synthesizer(voice, device="cpu", backend="torch")
    assert not isinstance(info.value, VoiceLoadError)

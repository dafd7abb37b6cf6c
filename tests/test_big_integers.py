"""Integers past Python's int/str conversion limit (4300 digits: ``repr(10**5000)`` and
``int("1" * 5000)`` raise ValueError) given where user input enters: a typed
InvalidInputError, an HTTP 400 in OpenAI's error shape, one CLI line with exit 2."""

from __future__ import annotations

import fractions
import importlib.util
import subprocess
import sys
import tempfile

import numpy as np
import pytest

from ttsengine.errors import InvalidInputError

HUGE = 10**5000
DIGITS = "1" * 5000


def test_shown_describes_any_value_without_raising():
    from ttsengine.errors import shown

    assert shown(HUGE) == "<an integer of about 5001 digits>"
    assert shown(-HUGE).startswith("-<an integer of about")
    assert shown(12345) == "12345" and shown("abc") == "'abc'"
    for value in ([HUGE], fractions.Fraction(HUGE, 3), {"a": HUGE}):
        text = shown(value)
        assert isinstance(text, str) and len(text) <= 40
    assert len(shown(DIGITS)) == 40 and shown(DIGITS).endswith("...")


@pytest.mark.parametrize("options", [
    {"speaker": HUGE}, {"speaker": -HUGE}, {"speaker": DIGITS}, {"speaker": "-" + DIGITS},
    {"speaker": " " + DIGITS + " "}, {"speed": HUGE}, {"speed": -HUGE}, {"sample_rate": HUGE},
    {"sample_rate": -HUGE},
])
def test_synthesizer_huge_integers_are_invalid_input(tiny_synth, options):
    for call in (lambda: tiny_synth.synthesize("Hi.", **options),
                 lambda: tiny_synth.synthesize_stream("Hi.", **options),
                 lambda: tiny_synth.synthesize_batch(["Hi."], **options)):
        with pytest.raises(InvalidInputError) as info:
            call()
        assert len(str(info.value)) < 300


def test_voice_speaker_id_of_huge_numbers(tiny_synth):
    voice = tiny_synth.voice
    for speaker in (HUGE, DIGITS, "9" * 19, "-" + DIGITS):
        with pytest.raises(InvalidInputError, match="unknown speaker"):
            voice.speaker_id(speaker)
    assert voice.speaker_id("0" * 5000 + "1") == 1  # leading zeros: still the id 1


def test_devices_and_audio_rates_of_huge_numbers():
    from ttsengine import Audio
    from ttsengine.audio import resample
    from ttsengine.backends.device import parse_device

    with pytest.raises(InvalidInputError, match="out of range"):
        parse_device("cuda:" + DIGITS)
    with pytest.raises(InvalidInputError):
        parse_device("gpu:" + DIGITS)
    assert parse_device("cuda:" + "0" * 5000 + "1") == ("cuda", 1)
    samples = np.zeros(8, np.float32)
    for rate in (-HUGE, HUGE):
        with pytest.raises(InvalidInputError):
            resample(samples, 24000, rate)
    with pytest.raises(InvalidInputError):
        Audio(samples, -HUGE)


def test_server_config_and_ray_options_of_huge_numbers():
    from ttsengine.server.config import ServerConfig

    with pytest.raises(InvalidInputError, match="max_wait_ms"):
        ServerConfig(max_wait_ms=HUGE)
    with pytest.raises(InvalidInputError, match="max_batch"):
        ServerConfig(max_batch=-HUGE)
    if importlib.util.find_spec("ray") is None:
        return
    from ttsengine.server import ray_app

    for name, value in (("num_cpus", HUGE), ("num_cpus", -HUGE), ("max_batch", DIGITS)):
        with pytest.raises(InvalidInputError, match=name):
            ray_app._convert(name, value)


def test_http_huge_voice_and_speed_are_openai_shaped_400(tiny_synth):
    pytest.importorskip("fastapi")
    httpx = pytest.importorskip("httpx")
    from ttsengine.server import ServerConfig
    from ttsengine.server.background import serve_in_thread

    bodies = [
        ('{"input": "Hi.", "voice": "%s"}' % DIGITS, "voice"),
        ('{"input": "Hi.", "voice": "-%s"}' % DIGITS, "voice"),
        ('{"input": "Hi.", "voice": %s}' % DIGITS, None),  # past json's limit: the body does not parse
        ('{"input": "Hi.", "voice": %s}' % ("7" * 1000), "voice"),
        ('{"input": "Hi.", "speed": %s}' % DIGITS, None),
        ('{"input": "Hi.", "speed": "%s"}' % DIGITS, "speed"),
        ('{"input": "Hi.", "voice": "%s", "stream_format": "audio"}' % DIGITS, "voice"),
    ]
    with serve_in_thread(ServerConfig(synthesizer=tiny_synth, rate=None), timeout=30) as (url, _):
        responses = [(httpx.post(f"{url}/v1/audio/speech", content=body.encode(),
                                 headers={"content-type": "application/json"}, timeout=30), param)
                     for body, param in bodies]
        responses.append((httpx.post(f"{url}/clone", json={"text": "Hi.", "spk_id": DIGITS}, timeout=30), "spk_id"))
        responses.append((httpx.post(f"{url}/clone?sample_rate={DIGITS}", json={"text": "Hi."}, timeout=30),
                          "sample_rate"))
    for response, param in responses:
        assert response.status_code == 400, response.text[:300]
        error = response.json()["error"]
        assert set(error) == {"message", "type", "param", "code"} and error["type"] == "invalid_request_error"
        assert len(error["message"]) < 300
        if param is not None:
            assert error["param"] == param


def test_http_unexpected_errors_are_openai_shaped_500(tiny_synth):
    pytest.importorskip("fastapi")
    from fastapi.testclient import TestClient

    from ttsengine.server import ServerConfig, create_app

    class Broken:
        """A synthesizer whose speaker lookup has a bug (a plain ValueError, not bad input)."""
        voice = type("V", (), {"speaker_id": staticmethod(lambda v: int("x")), "name": "broken",
                               "sample_rate": 24000, "speakers": {"a": 0}})()

        def synthesize(self, text, **kw):
            return tiny_synth.synthesize(text, **kw)

    with TestClient(create_app(ServerConfig(synthesizer=Broken(), rate=None)), raise_server_exceptions=False) as client:
        response = client.post("/v1/audio/speech", json={"input": "Hi."})
    assert response.status_code == 500
    error = response.json()["error"]
    assert error["type"] == "server_error" and error["code"] == "internal_error"


def _cli(*args):
    with tempfile.TemporaryDirectory() as cwd:
        return subprocess.run([sys.executable, "-m", "ttsengine", *args], capture_output=True, timeout=300, cwd=cwd)


def test_cli_huge_numbers_are_one_line_exit_2(tiny_voice, tmp_path):
    out = tmp_path / "x.wav"
    cases = [("--speaker", DIGITS, "unknown speaker id"), ("--speaker", "-" + DIGITS, "unknown speaker id"),
             ("--sample-rate", DIGITS, "too large"), ("--speed", DIGITS, "finite")]
    for option, value, fragment in cases:
        result = _cli("synth", "Hi.", "-o", str(out), "--voice", str(tiny_voice), "--backend", "torch",
                      "--device", "cpu", f"{option}={value}")
        stderr = result.stderr.decode()
        lines = stderr.strip().splitlines()
        assert result.returncode == 2 and "Traceback" not in stderr, stderr[-2000:]
        if option == "--sample-rate":  # refused by argparse: its usage, then one error line
            lines = lines[-1:]
        assert len(lines) == 1 and fragment in lines[0] and len(lines[0]) < 400, stderr[-2000:]
        assert not out.exists()


def test_cli_int_and_float_arguments():
    import argparse

    from ttsengine.cli import float_argument, int_argument

    assert int_argument(" 24000 ") == 24000 and int_argument("-3") == -3 and int_argument("0" * 5000 + "7") == 7
    for bad in (DIGITS, "²", "1.5", "", "-", "x"):
        with pytest.raises(argparse.ArgumentTypeError):
            int_argument(bad)
    assert float_argument("1.5") == 1.5
    with pytest.raises(argparse.ArgumentTypeError):
        float_argument("fast")

"""The demo page at ``GET /`` in a real headless Chromium (Debian's /usr/bin/chromium, driven
by playwright; no browser is downloaded): type, pick a speaker, press Speak, hear it.

Without playwright or Chromium these tests skip, unless TTSENGINE_REQUIRE_BROWSER=1 (set by
.ci/run), where a missing browser fails them.
"""

from __future__ import annotations

import contextlib
import json
import os

import pytest

for _module in ("fastapi", "uvicorn", "httpx", "av", "limits", "prometheus_client"):
    pytest.importorskip(_module)

import httpx  # noqa: E402

from ttsengine.server import ServerConfig  # noqa: E402
from ttsengine.server.background import serve_in_thread  # noqa: E402

pytestmark = pytest.mark.browser

TIMEOUT = 120.0  # generous: CI machines can be slow and busy
CHROMIUM = os.environ.get("TTSENGINE_CHROMIUM", "/usr/bin/chromium")
REQUIRE = os.environ.get("TTSENGINE_REQUIRE_BROWSER", "") == "1"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--autoplay-policy=no-user-gesture-required",
]
TEXT = "The first sentence. And a second one."


@contextlib.contextmanager
def serve(config: ServerConfig):
    """The app on 127.0.0.1:<free port> in a thread; yields its base URL."""
    with serve_in_thread(config, timeout=TIMEOUT) as (url, _):
        yield url


def _unavailable(reason: str):
    """Skips, or fails where TTSENGINE_REQUIRE_BROWSER=1 (CI): a browser test never passes unrun."""
    if REQUIRE:
        pytest.fail(f"{reason} (TTSENGINE_REQUIRE_BROWSER=1)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="module")
def server(tiny_synth):
    with serve(ServerConfig(synthesizer=tiny_synth, rate=None, max_wait_ms=5)) as url:
        yield url


@pytest.fixture(scope="module")
def browser():
    try:
        from playwright.sync_api import sync_playwright
    except ImportError as exc:
        _unavailable(f"the Python package playwright is not installed ({exc}): pip install playwright")
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        _unavailable(f"no Chromium at {CHROMIUM}: apt-get install chromium (or set TTSENGINE_CHROMIUM)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS, timeout=60_000,
            # playwright mutes by default; the audio under test is played, not muted
            ignore_default_args=["--mute-audio"])
        try:
            yield browser
        finally:
            browser.close()


@contextlib.contextmanager
def _open(browser, url: str):
    """A new page on ``url``, its speakers loaded; fails on any uncaught script error."""
    page = browser.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.set_default_timeout(TIMEOUT * 1000)
    try:
        page.goto(url)
        yield page
        assert errors == [], errors
    finally:
        page.close()


@pytest.fixture
def page(browser, server):
    with _open(browser, server) as page:
        page.wait_for_selector("#voice option", state="attached")
        yield page


def _speak(page, text: str, *, voice: str | None = None, speed: float | None = None, fmt: str | None = None):
    page.fill("#text", text)
    if voice is not None:
        page.select_option("#voice", voice)
    if speed is not None:
        page.fill("#speed", str(speed))
    if fmt is not None:
        page.select_option("#format", fmt)
    page.click("#speak")
    page.wait_for_function("['ended', 'error', 'stopped'].includes(window.demo.state)", timeout=TIMEOUT * 1000)
    return page.evaluate("({...window.demo})")


def _server_error(url: str, body: dict) -> str:
    response = httpx.post(f"{url}/v1/audio/speech", json=body, timeout=TIMEOUT)
    assert response.status_code == 400, response.text
    return response.json()["error"]["message"]


def test_page_is_one_self_contained_html_file(server):
    response = httpx.get(server + "/", timeout=TIMEOUT)
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/html; charset=utf-8"
    html = response.text
    assert html.startswith("<!doctype html>") and 'id="speak"' in html
    for reference in ("src=\"http", "href=\"http", "src=\"//", "href=\"//", "@import", "url("):
        assert reference not in html, reference  # offline: no CDN, no other file
    assert "<script src" not in html and 'rel="stylesheet"' not in html


def test_speakers_come_from_the_server(page):
    options = page.eval_on_selector_all("#voice option", "os => os.map(o => [o.value, o.selected])")
    assert options == [["alice", True], ["bob", False], ["carol", False]]
    assert page.text_content("#model").startswith("tiny-en · ")


def test_speak_streams_pcm_and_plays_all_of_it(page, tiny_synth):
    reference = tiny_synth.synthesize(TEXT, speaker="bob", sample_rate=24000)
    requests = []
    page.on("request", lambda r: requests.append(r) if r.url.endswith("/v1/audio/speech") else None)
    demo = _speak(page, TEXT, voice="bob", fmt="pcm")
    assert demo["state"] == "ended", demo
    assert demo["error"] is None and page.is_hidden("#error")
    sent = json.loads(requests[-1].post_data)
    assert sent == {"input": TEXT, "voice": "bob", "speed": 1, "response_format": "pcm", "stream_format": "sse"}
    assert requests[-1].response().headers.get("transfer-encoding") == "chunked"
    # every sample the server made was scheduled, and played to its end on the audio clock
    assert demo["received"] == demo["played"] == len(reference.samples), demo
    assert demo["seconds"] >= reference.duration - 0.02, demo
    assert demo["peak"] > 0.01, demo
    assert demo["chunks"] >= 1 and demo["firstAudioMs"] is not None
    assert page.text_content("#status").startswith(f"Done: {reference.duration:.2f} s of audio")
    # the played audio is kept for replay, as a WAV of the same length
    assert page.evaluate("document.querySelector('#player').src").startswith("blob:")
    replay = page.evaluate("""new Promise(resolve => {
        const player = document.querySelector('#player');
        if (player.readyState >= 1) resolve(player.duration);
        else player.onloadedmetadata = () => resolve(player.duration);
    })""")
    assert replay == pytest.approx(reference.duration, abs=1e-3)


@pytest.mark.parametrize("fmt", ["pcm", "wav"])
def test_the_spoken_word_is_highlighted_and_downloads_are_offered(page, tiny_synth, fmt):
    spoken = [w.text for w in tiny_synth.synthesize(TEXT, speaker="bob").words]
    demo = _speak(page, TEXT, voice="bob", fmt=fmt)
    assert demo["state"] == "ended", demo
    assert page.eval_on_selector_all("#words span", "s => s.map(e => e.textContent)") == spoken
    lit = demo["highlighted"]
    assert len(lit) >= max(1, len(spoken) // 2), demo  # the words lit up as they were spoken, in order
    assert lit == [w for w in spoken if w in lit][: len(lit)]
    assert page.is_visible("#download") and page.get_attribute("#download", "href").startswith("blob:")
    vtt = page.evaluate("fetch(document.querySelector('#download-vtt').href).then(r => r.text())")
    assert vtt.startswith("WEBVTT") and vtt.count("-->") == len(spoken)


def test_speak_a_whole_file_in_the_audio_element_at_another_speed(page, tiny_synth):
    reference = tiny_synth.synthesize(TEXT, speaker="carol", speed=1.5, sample_rate=24000)
    demo = _speak(page, TEXT, voice="carol", speed=1.5, fmt="wav")
    assert demo["state"] == "ended", demo
    assert demo["duration"] == pytest.approx(reference.duration, abs=1e-3)
    assert demo["seconds"] >= reference.duration - 0.05, demo  # played through, not just loaded
    assert page.evaluate("document.querySelector('#player').ended")


@pytest.mark.parametrize("text", ["", "   "])
def test_the_servers_error_message_is_shown(page, server, text):
    body = {"input": text, "voice": "alice", "speed": 1, "response_format": "pcm", "stream_format": "audio"}
    message = _server_error(server, body)
    demo = _speak(page, text, fmt="pcm")
    assert demo["state"] == "error"
    assert page.is_visible("#error") and page.text_content("#error") == message == demo["error"]
    assert demo["received"] == 0
    # and the page still speaks afterwards
    demo = _speak(page, "Hello.", fmt="pcm")
    assert demo["state"] == "ended" and demo["played"] > 0 and page.is_hidden("#error")


def test_api_key_field(browser, tiny_synth):
    with serve(ServerConfig(synthesizer=tiny_synth, rate=None, api_key="sesame")) as url, \
            _open(browser, url) as page:
        page.wait_for_selector("#error", state="visible")
        assert page.text_content("#error").startswith("Incorrect or missing API key")
        page.click("summary")
        page.fill("#key", "sesame")
        page.press("#key", "Tab")  # change: the speakers load with the key
        page.wait_for_selector("#voice option", state="attached")
        assert page.is_hidden("#error")
        demo = _speak(page, "Hello.", voice="bob")
        assert demo["state"] == "ended" and demo["played"] > 0, demo

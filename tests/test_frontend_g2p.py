"""G2P registry, the espeak-ng G2P (known words, thread safety) and lazy imports."""

from __future__ import annotations

import importlib.util
import os
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from ttsengine.errors import BackendUnavailableError
from ttsengine.frontend import G2P, Frontend, available_g2p, default_symbols, get_g2p, register_g2p

REPO = Path(__file__).resolve().parents[1]
needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("phonemizer") is None
    or importlib.util.find_spec("espeakng_loader") is None,
    reason="phonemizer / espeakng-loader not installed")


def _run_python(code: str) -> str:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60, check=True)
    return out.stdout.strip()


def test_import_is_light():
    code = ("import sys, ttsengine.frontend as F\n"
            "F.Frontend('chars', F.default_symbols('chars')).segments('Hi there, 3 cats.')\n"
            "print(sorted(m for m in ('torch', 'phonemizer', 'pypinyin', 'inflect', "
            "'espeakng_loader', 'ttsengine.frontend.g2p_espeak') if m in sys.modules))")
    assert _run_python(code) == "[]"


@needs_espeak
def test_espeak_known_words():
    g2p = get_g2p("espeak", "en-us")
    assert isinstance(g2p, G2P) and g2p.name == "espeak"
    assert g2p.phonemize("The quick brown fox.") == "ðə kwˈɪk bɹˈaʊn fˈɑːks."
    assert g2p.phonemize("Hello, world!") == "həlˈoʊ, wˈɜːld!"
    assert g2p.phonemize("  ") == ""
    assert get_g2p("espeak", "en-us") is g2p  # cached


@needs_espeak
def test_espeak_thread_safety():
    """8 threads x 25 calls on different texts give exactly the sequential results."""
    g2p = get_g2p("espeak", "en-us")
    texts = [f"Sentence {w} number {i}, with the word {w}." for i, w in enumerate(
        ["apple", "zebra", "thought", "measure", "church", "button", "yacht", "rhythm"])]
    expected = [g2p.phonemize(t) for t in texts]
    results: dict[int, list[str]] = {}
    errors: list[BaseException] = []
    barrier = threading.Barrier(len(texts))

    def work(k: int) -> None:
        try:
            barrier.wait()
            results[k] = [g2p.phonemize(texts[k]) for _ in range(25)]
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(len(texts))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors
    for k, text in enumerate(texts):
        assert results[k] == [expected[k]] * 25, text


@needs_espeak
def test_frontend_threads_share_one_frontend():
    fe = Frontend("phonemes", default_symbols("phonemes"), "en-us")
    texts = ["Dr. Smith paid $3.50.", "It was 1999, honestly.", "Where are you going? Home."]
    expected = [fe.segments(t) for t in texts]
    out: list[bool] = []

    def work() -> None:
        for _ in range(10):
            out.append([fe.segments(t) for t in texts] == expected)

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert out == [True] * 60


def test_registry_plugs_in_a_custom_g2p():
    class Lower:
        name = "upper"

        def __init__(self, language: str) -> None:
            self.language = language

        def phonemize(self, text: str) -> str:
            return text.lower()

    register_g2p("test-lower", Lower, replace=True)
    assert "test-lower" in available_g2p() and "espeak" in available_g2p()
    g2p = get_g2p("test-lower", "xx")
    assert isinstance(g2p, G2P) and g2p.language == "xx"
    with pytest.raises(ValueError, match="already registered"):
        register_g2p("test-lower", Lower)
    with pytest.raises(ValueError, match="unknown G2P"):
        get_g2p("no-such-g2p", "en-us")
    fe = Frontend.from_config({"kind": "phonemes", "language": "xx", "g2p": "test-lower",
                               "symbols": default_symbols("phonemes")})
    (seg,) = fe.segments("Abc, d.")
    assert "".join(fe.symbols[i] for i in seg.ids) == "abc, d."


def test_missing_espeak_packages(monkeypatch):
    import ttsengine.frontend.g2p_espeak as mod

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "phonemizer" else real(name, *a))
    with pytest.raises(BackendUnavailableError, match="phonemizer.*espeakng-loader"):
        mod.EspeakG2P("en-us")


@needs_espeak
def test_unsupported_espeak_language():
    g2p = get_g2p("espeak", "xx-not-a-language")
    with pytest.raises(BackendUnavailableError, match="xx-not-a-language"):
        g2p.phonemize("hello")

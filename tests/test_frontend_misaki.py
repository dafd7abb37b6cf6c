"""The misaki G2P (through hibari-tts): known words, its alphabet in the symbol table,
thread safety, the missing-package and wrong-language errors."""

from __future__ import annotations

import json
import threading
from pathlib import Path

import pytest

from ttsengine.errors import BackendUnavailableError
from ttsengine.frontend import Frontend, default_symbols, get_g2p


def test_known_words_in_misaki_letters():
    g2p = get_g2p("misaki", "en-us")
    assert g2p.name == "misaki"
    assert g2p.phonemize("The quick brown fox.") == "ðə kwˈɪk bɹˈWn fˈɑks."
    assert g2p.phonemize("Hello there.") == "həlˈO ðˈɛɹ."
    assert g2p.phonemize("   ") == ""
    assert get_g2p("misaki", "en-us") is g2p


def test_every_letter_of_hibari_vocabulary_has_a_token():
    import hibari

    vocab = json.loads((Path(hibari.__file__).parent / "assets" / "vocab.json").read_text(encoding="utf-8"))
    fe = Frontend("phonemes", default_symbols("phonemes"), "en-us", g2p="misaki")
    missing = [c for c in vocab if not fe.symbol_ids(c)]
    assert missing == []
    (seg,) = fe.segments("Dr. Jones paid $42 in June.")
    spoken = "".join(fe.symbols[i] for i in seg.ids)
    assert "ʤ" in spoken and "O" in spoken  # misaki's affricate and diphthong letters survive


def test_threads_share_one_g2p():
    g2p = get_g2p("misaki", "en-us")
    texts = ["I read the book yesterday.", "They live in Reading.", "Lead the way, please!"]
    expected = [g2p.phonemize(t) for t in texts]
    results: list[bool] = []

    def work() -> None:
        results.extend(g2p.phonemize(t) == e for t, e in zip(texts * 5, expected * 5))

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == [True] * 60


def test_other_languages_and_missing_package_are_refused(monkeypatch):
    from ttsengine.frontend import g2p_misaki

    with pytest.raises(BackendUnavailableError, match="English only"):
        g2p_misaki.MisakiG2P("de")
    monkeypatch.setattr(g2p_misaki.importlib.util, "find_spec", lambda name: None)
    with pytest.raises(BackendUnavailableError, match="pip install hibari-tts"):
        g2p_misaki.MisakiG2P("en-us")

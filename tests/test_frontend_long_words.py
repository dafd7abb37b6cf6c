"""Long unknown words are read whole (#23): the misaki G2P's guesser (hibari's character
network) reads at most 24 characters of a word and dropped the rest; a longer word is
now split between syllables and each part guessed."""

from __future__ import annotations

import random
import string

import pytest

pytest.importorskip("hibari")

from ttsengine.frontend import Frontend  # noqa: E402
from ttsengine.frontend import g2p_misaki  # noqa: E402
from ttsengine.voice import load_voice  # noqa: E402

LONG_WORDS = ["dichlorodiphenyltrichloroethane", "Zorblaxianquintessentialplumbifications",
              "hydroxymethylglutarylcoenzyme", "flimbertwaxonquadrilateralistic" * 3]


@pytest.fixture(scope="module")
def g2p():
    return g2p_misaki.MisakiG2P("en-us")


@pytest.fixture(scope="module")
def net():
    import os

    from hibari.g2p.oov import ASSETS, OOV

    return OOV(os.path.join(ASSETS, "oov.onnx"))


def test_split_long_word_parts():
    assert g2p_misaki.split_long_word("dichlorodiphenyltrichloroethane", 24) == ["dichlorodiphenyl", "trichloroethane"]
    assert g2p_misaki.split_long_word("short", 24) == ["short"]
    assert g2p_misaki.split_long_word("x" * 24, 24) == ["x" * 24]
    rng = random.Random(0)
    for length in list(range(25, 80)) + [200, 1000]:
        word = "".join(rng.choice(string.ascii_lowercase) for _ in range(length))
        parts = g2p_misaki.split_long_word(word, 24)
        assert "".join(parts) == word
        assert len(parts) >= 2 and all(1 <= len(p) <= 24 for p in parts), parts


def test_the_guesser_alone_stops_at_24_letters(net):
    """What the fix works around: hibari's network reads the first 24 characters only."""
    word = LONG_WORDS[0]
    assert net.maxlen == 24 and net(word) == net(word[:24])


@pytest.mark.parametrize("word", LONG_WORDS)
def test_long_unknown_words_are_read_whole(g2p, net, word):
    whole = g2p.phonemize(word)
    prefix = g2p.phonemize(word[:24])
    assert len(whole) > len(prefix) + 4, (whole, prefix)
    last = net(g2p_misaki.split_long_word(word, net.maxlen)[-1]).replace("ɾ", "T").replace("ʔ", "t")
    assert whole.endswith(last), (whole, last)
    assert whole.count("ˈ") <= 1  # one primary stress, as in a compound
    # in a sentence too, and the words after it are still read
    sentence = g2p.phonemize(f"The {word} is here.")
    assert last in sentence and sentence.endswith("hˈɪɹ.")


def test_phonemes_grow_with_the_word(g2p):
    base = "flimbertwaxonquadrilateralistic"
    lengths = [len(g2p.phonemize(base * n)) for n in (1, 2, 3, 4)]
    assert all(b > a + 10 for a, b in zip(lengths, lengths[1:])), lengths


def test_default_voice_tokens_cover_the_whole_word():
    frontend = Frontend.from_config(dict(load_voice("default").frontend))
    word = LONG_WORDS[0]
    whole = sum(len(s.ids) for s in frontend.segments(word))
    prefix = sum(len(s.ids) for s in frontend.segments(word[:24]))
    assert whole > prefix + 4

"""misaki G2P (American / British English) through the ``hibari-tts`` package's port.

misaki is the G2P of Kokoro-82M (Apache-2.0): a pronunciation lexicon with part-of-speech
rules, a perceptron tagger and a small neural net for unknown words, no espeak-ng and no
spaCy. ``hibari-tts`` (Apache-2.0) ships that port with its data; this module is the only
place that imports it. The output uses misaki's phoneme letters (``ʤ``, ``A`` = eɪ,
``O`` = oʊ ...), which are in the phoneme symbol table. The bundled ``default`` voice uses
this G2P because its training audio was spoken from exactly these phonemes.
"""

from __future__ import annotations

import importlib.util
import math
import os
import re
import threading
import unicodedata
from typing import Any, Callable

from ..errors import BackendUnavailableError, shown
from .g2p import UnsupportedLanguageError

__all__ = ["MisakiG2P", "split_long_word"]

_PIP_HINT = "pip install hibari-tts"
_SPACE_RE = re.compile(r"\s+")
_LANGUAGES = {"en-us": False, "en": False, "en-gb": True}  # language -> british


#: Letters per part when a word too long for the guesser is split (about a long word's).
PART_LETTERS = 16
_VOWELS = frozenset("aeiouy")
# Consonant clusters that begin English syllables (besides every single consonant): a long
# word is cut before the longest one in a run of consonants ("phenyl|trichloro").
_ONSETS = frozenset(
    "bl br cl cr dr fl fr gl gr pl pr sc sk sl sm sn sp st sw tr tw th sh ch ph wh qu kn wr gn ps rh "
    "thr str spr spl scr squ shr sch chr phr sph".split())


def _is_vowel(word: str, i: int) -> bool:
    base = unicodedata.normalize("NFD", word[i])[0].lower()
    if base == "y":  # a consonant at the start of a word or before a vowel ("yes", "beyond")
        return i > 0 and not (i + 1 < len(word) and _is_vowel(word, i + 1))
    return base in _VOWELS


def _syllable_cuts(word: str) -> list[int]:
    """Positions between two syllables of ``word`` (maximal onset: each run of consonants
    between vowels is cut before the longest cluster that can begin a syllable)."""
    vowel = [_is_vowel(word, i) for i in range(len(word))]
    cuts = []
    i = 0
    while i < len(word) and not vowel[i]:
        i += 1
    while i < len(word):
        while i < len(word) and vowel[i]:
            i += 1
        start = i
        while i < len(word) and not vowel[i]:
            i += 1
        if i == len(word):
            break  # the final consonants belong to the last syllable
        cluster = word[start:i].lower()
        k = next(k for k in range(len(cluster)) if len(cluster) - k == 1 or cluster[k:] in _ONSETS)
        if k > 0 and cluster[k - 1:k + 1] == "ck":
            k += 1  # never inside "ck" ("pack|et")
        cuts.append(start + k)
    return cuts


def split_long_word(word: str, limit: int, part: int = PART_LETTERS) -> list[str]:
    """``word`` in parts of at most ``limit`` characters (about ``part`` each), cut between
    syllables where one is near: "dichlorodiphenyltrichloroethane" -> "dichlorodiphenyl",
    "trichloroethane". A word of at most ``limit`` characters is one part."""
    if len(word) <= limit:
        return [word]
    count = max(2, math.ceil(len(word) / part))
    cuts = _syllable_cuts(word)
    parts, start = [], 0
    for left in range(count - 1, 0, -1):  # parts still to cut after this one
        ideal = start + (len(word) - start) / (left + 1)
        low = max(start + 1, len(word) - left * limit)
        high = min(start + limit, len(word) - left)
        near = [c for c in cuts if low <= c <= high and abs(c - ideal) <= part / 4]
        cut = min(near, key=lambda c: abs(c - ideal)) if near else min(max(round(ideal), low), high)
        parts.append(word[start:cut])
        start = cut
    parts.append(word[start:])
    return parts


class _WholeWordGuesser:
    """hibari's guesser for unknown words (a character network that reads at most
    ``maxlen`` = 24 characters and silently drops the rest), for words of any length: a
    longer word is split between syllables (:func:`split_long_word`) and each part guessed;
    every primary stress but the last becomes secondary, as in a compound
    ("dichlorodiphenyl" + "trichloroethane")."""

    def __init__(self, load: Callable[[], Any]) -> None:
        self._load = load
        self._net: Any = None

    def __call__(self, word: str) -> str | None:
        if self._net is None:
            self._net = self._load()
        net = self._net
        known = "".join(c for c in word if c in net.cin)  # what the net reads of the word
        parts = split_long_word(known, net.maxlen) if known else [word]
        if len(parts) == 1:
            return net(word)
        guesses = [g for g in (net(p) for p in parts) if g]
        if not guesses:
            return None
        return "".join(g.replace("ˈ", "ˌ") for g in guesses[:-1]) + guesses[-1]


def _hibari_guesser(british: bool) -> Any:
    """hibari's own out-of-vocabulary network (what its G2P loads by default)."""
    from hibari.g2p.oov import ASSETS, OOV

    return OOV(os.path.join(ASSETS, "oov_gb.onnx" if british else "oov.onnx"))


class MisakiG2P:
    """misaki phonemes, e.g. ``"The quick brown fox."`` -> ``"ðə kwˈɪk bɹˈWn fˈɑks."``.

    Thread-safe (calls are serialized); the lexicons load on first use (~0.5 s).
    """

    name = "misaki"

    def __init__(self, language: str = "en-us") -> None:
        if not isinstance(language, str) or language.lower() not in _LANGUAGES:
            raise UnsupportedLanguageError(
                f"the misaki G2P speaks English only (en-us, en-gb), not {shown(language)}")
        if importlib.util.find_spec("hibari") is None:
            raise BackendUnavailableError(
                f"the misaki G2P needs the pip package 'hibari-tts'; install it with: {_PIP_HINT}")
        self.language = language
        self._british = _LANGUAGES[language.lower()]
        self._g2p: Any = None
        self._lock = threading.Lock()

    def load(self) -> None:
        """Load the lexicons now (they are otherwise loaded on first use)."""
        with self._lock:
            self._load()

    def _load(self) -> Any:
        if self._g2p is None:
            try:
                from hibari.g2p import G2P
            except ImportError as exc:  # pragma: no cover - covered by find_spec above
                raise BackendUnavailableError(f"cannot load the misaki G2P ({exc}); {_PIP_HINT}") from exc
            british = self._british
            self._g2p = G2P(british=british, oov=_WholeWordGuesser(lambda: _hibari_guesser(british)))
        return self._g2p

    def phonemize(self, text: str) -> str:
        """misaki phonemes of ``text``; empty string for blank text."""
        text = _SPACE_RE.sub(" ", text).strip()
        if not text:
            return ""
        with self._lock:
            out = self._load()(text)
        return _SPACE_RE.sub(" ", out).strip()

    def __repr__(self) -> str:
        return f"MisakiG2P(language={self.language!r})"

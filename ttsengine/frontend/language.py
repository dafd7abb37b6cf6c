"""The one place that decides languages: of a language code, of a script, of a text and of
each run of a mixed text.

* Language codes: :func:`primary_subtag`, :func:`is_chinese` (written Chinese: ``zh``,
  ``zh-cn``, ``cmn``, ``yue`` ...), :func:`is_english` (``en``, ``en-gb`` ...; None is
  English, the library's default), :func:`language_scripts` (the scripts a language is
  written in, which decide what a voice can speak).
* Texts: :func:`text_language` (the language of a text by its letters: Han characters
  against Latin words) and :func:`language_runs` (a mixed text cut into runs of one
  language each: letters by their script, digits, symbols and punctuation by the letters
  around them).

Every other module asks here; none parses a language code or counts scripts itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from .scripts import COMMON, INHERITED, char_script

__all__ = [
    "MANDARIN",
    "ENGLISH",
    "MIXED_SCRIPTS",
    "Run",
    "primary_subtag",
    "is_chinese",
    "is_english",
    "language_scripts",
    "text_language",
    "language_runs",
]

MANDARIN = "zh"
"""Language code of Mandarin text (Han runs of a mixed text)."""
ENGLISH = "en"
"""Language code of English text (Latin runs of a mixed text)."""

#: Script -> language of the runs of a Mandarin / English mixed text.
MIXED_SCRIPTS: Mapping[str, str] = {"Han": MANDARIN, "Latin": ENGLISH}

_CHINESE = frozenset({"zh", "cmn", "yue"})

# Scripts each language is written in (by primary subtag).
_LATIN_LANGUAGES = (
    "af an az bs ca cs cy da de en eo es et eu fi fil fo fr ga gd gl gn ha haw hr ht hu ia id "
    "io is it jbo la lb lfn lt lv mi ms mt nb nl nn no om pap pl pt py qu ro sk sl so sq sv "
    "sw tk tl tn tr uz vi xh yo zu")
_LANGUAGE_SCRIPTS: dict[str, frozenset[str]] = {
    **{code: frozenset({"Latin"}) for code in _LATIN_LANGUAGES.split()},
    **{code: frozenset({"Cyrillic"})
       for code in "ba be bg ce cv kk ky mk mn os ru sah tt uk".split()},
    "sr": frozenset({"Cyrillic", "Latin"}),
    **{code: frozenset({"Arabic"}) for code in "ar fa ps sd ug ur".split()},
    **{code: frozenset({"Devanagari"}) for code in "hi kok mai mr ne sa".split()},
    **{code: frozenset({"Bengali"}) for code in "as bn".split()},
    **{code: frozenset({"Han"}) for code in "cmn hak yue zh".split()},
    "am": frozenset({"Ethiopic"}), "bo": frozenset({"Tibetan"}), "el": frozenset({"Greek"}),
    "grc": frozenset({"Greek"}), "gu": frozenset({"Gujarati"}), "he": frozenset({"Hebrew"}),
    "hy": frozenset({"Armenian"}), "hyw": frozenset({"Armenian"}),
    "ja": frozenset({"Han", "Hiragana", "Katakana"}),
    "ka": frozenset({"Georgian"}), "km": frozenset({"Khmer"}), "kn": frozenset({"Kannada"}),
    "ko": frozenset({"Hangul", "Han"}), "lo": frozenset({"Lao"}), "ml": frozenset({"Malayalam"}),
    "my": frozenset({"Myanmar"}), "or": frozenset({"Oriya"}), "pa": frozenset({"Gurmukhi"}),
    "si": frozenset({"Sinhala"}), "ta": frozenset({"Tamil"}), "te": frozenset({"Telugu"}),
    "th": frozenset({"Thai"}), "ti": frozenset({"Ethiopic"}), "yi": frozenset({"Hebrew"}),
}


# --------------------------------------------------------------------------- codes

def primary_subtag(language: str | None) -> str:
    """The primary subtag of a language code, lower case: ``"en-US"`` -> ``"en"``,
    ``"zh_CN"`` -> ``"zh"``; ``""`` for None."""
    if not language:
        return ""
    return language.lower().replace("_", "-").split("-")[0]


def is_chinese(language: str | None) -> bool:
    """True for written Chinese: ``zh``, ``zh-cn``, ``cmn``, ``yue`` ... (None: False).
    Chinese text is normalized and split as Chinese, and a pinyin voice speaks it."""
    return primary_subtag(language) in _CHINESE


def is_english(language: str | None) -> bool:
    """True for ``en``, ``en-us``, ``en-gb`` ... and None (the library's default)."""
    return language is None or primary_subtag(language) == "en"


def language_scripts(language: str | None) -> frozenset[str] | None:
    """The Unicode scripts ``language`` is written in (``{"Latin"}`` for English), None
    where unknown."""
    return _LANGUAGE_SCRIPTS.get(primary_subtag(language))


# --------------------------------------------------------------------------- texts

# A Latin unit or scale right after a number belongs to the number, whose language is that
# of its context ("5kg" reads 五公斤 in Chinese, "five kilograms" in English).
_NUMBER_UNIT_RE = re.compile(
    r"(?<=\d)(?:\s?)(?:km/h|m/s|km|kg|cm|mm|mg|ml|mL|kW|kWh|mAh|Hz|kHz|MHz|GHz|"
    r"ms|min|m²|m³|m2|m3|m|g|L|l|h|s|W|V|°C|°F|℃|℉)(?![A-Za-z])")
_LATIN_WORD_RE = re.compile(r"[A-Za-z\u00c0-\u024f]+(?:['’][A-Za-z]+)*")
_ALNUM_GLUE_RE = re.compile(r"\d+(?:\.\d+)?")
_WIDE_PUNCT = re.compile(r"[\u3000-\u303f\uff00-\uffef]")


def _label(ch: str, scripts: Mapping[str, str]) -> str | None:
    if ch < "\x80":
        return scripts.get("Latin") if ch.isalpha() else None
    script = char_script(ch)
    if script == INHERITED:
        return INHERITED
    if script == COMMON:
        return None
    return scripts.get(script)


def text_language(text: str, default: str, scripts: Mapping[str, str] = MIXED_SCRIPTS) -> str:
    """The language of ``text`` by its letters: each Han character and each Latin word
    counts one (a Chinese sentence with an English name in it is Chinese, an English one
    with a Chinese name is English); ``default`` on a tie or without letters."""
    votes: dict[str, int] = {}
    han = scripts.get("Han")
    latin = scripts.get("Latin")
    if latin is not None:
        n = len(_LATIN_WORD_RE.findall(text))
        if n:
            votes[latin] = n
    for ch in text:
        if ch >= "\u2e80":
            label = _label(ch, scripts)
            if label is not None and label != INHERITED and label != latin:
                votes[label] = votes.get(label, 0) + 1
    if han is not None and han in votes and latin in votes and votes[han] == votes[latin]:
        return default
    if not votes:
        return default
    best = max(votes.values())
    winners = [lang for lang, n in votes.items() if n == best]
    return winners[0] if len(winners) == 1 else default


@dataclass(frozen=True)
class Run:
    """A stretch ``text[start:stop]`` of one ``language``."""

    language: str
    start: int
    stop: int
    text: str


def language_runs(text: str, default: str, scripts: Mapping[str, str] = MIXED_SCRIPTS) -> list[Run]:
    """``text`` cut into runs of one language each (together they are the whole text).

    Letters take the language of their script in ``scripts`` (Han -> zh, Latin -> en);
    combining marks that of the letter before them. Everything else (digits, spaces,
    punctuation, symbols, letters of other scripts, and a Latin unit glued to a number:
    "5kg") goes with the letters around it: the same language on both sides, or the one
    side there is; between two languages, the side it is written against without a space
    ("iPhone 15发布": 15 goes with 发布), digits glued on both sides to a Latin word ("Q3的",
    "3D打印"), CJK punctuation with Chinese, else the language of the whole text
    (:func:`text_language`). A text without letters is one run of ``default``.
    """
    if not text:
        return []
    labels: list[str | None] = [_label(ch, scripts) for ch in text]
    for m in _NUMBER_UNIT_RE.finditer(text):
        for i in range(m.start(), m.end()):
            labels[i] = None
    # chunks of one label; combining marks join the chunk before them
    chunks: list[list] = []  # [label, start, stop]
    for i, label in enumerate(labels):
        if label == INHERITED:
            label = chunks[-1][0] if chunks else None
        if chunks and chunks[-1][0] == label:
            chunks[-1][2] = i + 1
        else:
            chunks.append([label, i, i + 1])
    whole: str | None = None
    for k, chunk in enumerate(chunks):
        if chunk[0] is not None:
            continue
        left = chunks[k - 1][0] if k > 0 else None
        right = chunks[k + 1][0] if k + 1 < len(chunks) else None
        if left is None or right is None or left == right:
            chunk[0] = left or right or default
            continue
        piece = text[chunk[1]:chunk[2]]
        glued_left, glued_right = not piece[:1].isspace(), not piece[-1:].isspace()
        han, latin = scripts.get("Han"), scripts.get("Latin")
        if glued_left != glued_right:
            chunk[0] = left if glued_left else right
        elif glued_left and latin in (left, right) and _ALNUM_GLUE_RE.fullmatch(piece):
            chunk[0] = latin  # digits inside a Latin word: "Q3", "MP3", "3D"
        elif han in (left, right) and _WIDE_PUNCT.search(piece):
            chunk[0] = han
        else:
            if whole is None:
                whole = text_language(text, default, scripts)
            chunk[0] = whole if whole in (left, right) else right
    runs: list[Run] = []
    for label, start, stop in chunks:
        if runs and runs[-1].language == label:
            start = runs.pop().start
        runs.append(Run(label, start, stop, text[start:stop]))
    return runs

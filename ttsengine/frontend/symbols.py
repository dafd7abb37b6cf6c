"""Default symbol tables of the frontend kinds, and :func:`char_script` (re-exported from
:mod:`.scripts`: the writing system of a character, with which a frontend drops text its
voice cannot speak).

A voice stores its own table in ``voice.json`` (index = token id, index 0 is the pad
``"_"``); the tables here are what a *new* voice of a kind gets. The order of every table
is part of the on-disk format: only ever append to these lists, never reorder.
"""

from __future__ import annotations

from .language import is_chinese
from .scripts import COMMON, INHERITED, UNKNOWN, char_script

__all__ = [
    "PAD",
    "SPACE",
    "PUNCTUATION",
    "IPA_SYMBOLS",
    "PINYIN_INITIALS",
    "PINYIN_FINALS",
    "PINYIN_TONES",
    "LETTERS",
    "KINDS",
    "default_symbols",
    "canonical_punctuation",
    "is_speakable",
    "char_script",
    "COMMON",
    "INHERITED",
    "UNKNOWN",
]

PAD = "_"
SPACE = " "

# Punctuation kept as tokens (prosody cues). Shared by all kinds.
PUNCTUATION: tuple[str, ...] = (
    "!", "'", "(", ")", ",", "-", ".", ":", ";", "?", '"', "¡", "¿", "—", "…",
)

# IPA characters, one symbol per code point (combining marks are symbols of their own).
# The set covers everything espeak-ng emits for English (checked by a test over a few
# hundred words/sentences) plus the rest of the IPA chart so that other espeak
# languages mostly work with the same table.
_IPA_GROUPS: tuple[str, ...] = (
    # plain latin letters used as IPA symbols (espeak emits ASCII a b d e ... and 'ɡ')
    "abcdefghijklmnopqrstuvwxyz",
    # vowels
    "æɐɑɒɔəɘɚɛɜɝɞɤɨɪɯɵɶʉʊʌʏøœᵻᵊä",
    # consonants
    "βçðħŋɓɕɖɗɟɠɡɢɣɥɦɧɬɭɮɰɱɲɳɴɸɹɺɻɽɾʀʁʂʃʄʈʋʍʎʐʑʒʔʕʙʛʜʝʟʡʢʘǀǁǂǃθχɫⱱ",
    # stress, length, secondary articulations, tone letters, intonation arrows
    "ˈˌːˑʰʲʷˠˤⁿˡʼ˞˥˦˧˨˩↓↑↗↘‿",
    # combining diacritics: tilde (nasal), syllabic, non-syllabic, breve, ring above,
    # ring below, dental, tie bar, diaeresis, lowered
    "\u0303\u0329\u032f\u0306\u030a\u0325\u032a\u0361\u0308\u031e",
    # misaki / Kokoro phoneme letters (the "misaki" G2P): affricates as one letter, and
    # capitals for diphthongs and flaps (A = eɪ, I = aɪ, O = oʊ, W = aʊ, Y = ɔɪ, T = ɾ ...)
    "ʤʧʣʥʦʨᵝꭧAIOQSTWY→",
)
IPA_SYMBOLS: tuple[str, ...] = tuple(ch for group in _IPA_GROUPS for ch in group)

PINYIN_INITIALS: tuple[str, ...] = (
    "b", "p", "m", "f", "d", "t", "n", "l", "g", "k", "h", "j", "q", "x",
    "zh", "ch", "sh", "r", "z", "c", "s",
)
# Finals in pypinyin's "strict" spelling (y/w restored: you -> iou, wei -> uei,
# yu -> v, ju -> j + v ...), plus the syllabic nasals of interjections (嗯 n, ng; 呣 m).
PINYIN_FINALS: tuple[str, ...] = (
    "a", "o", "e", "ê", "ai", "ei", "ao", "ou", "an", "en", "ang", "eng", "ong", "er",
    "i", "ia", "ie", "iao", "iou", "ian", "in", "iang", "ing", "iong",
    "u", "ua", "uo", "uai", "uei", "uan", "uen", "uang", "ueng",
    "v", "ve", "van", "vn",
    "m", "n", "ng",
)
PINYIN_TONES: tuple[str, ...] = ("1", "2", "3", "4", "5")  # 5 = neutral tone

LETTERS: tuple[str, ...] = tuple("abcdefghijklmnopqrstuvwxyz")

KINDS: tuple[str, ...] = ("phonemes", "pinyin", "chars", "mixed")

# Punctuation variants mapped onto the table's canonical symbol when the variant itself is
# not in a voice's table (full-width / CJK / typographic forms).
_CANONICAL_PUNCT: dict[str, str] = {
    "，": ",", "、": ",", "﹐": ",", "،": ",",
    "。": ".", "．": ".", "｡": ".",
    "！": "!", "？": "?", "；": ";", "：": ":",
    "（": "(", "）": ")", "[": "(", "]": ")", "{": "(", "}": ")",
    "【": "(", "】": ")", "〔": "(", "〕": ")",
    "“": '"', "”": '"', "„": '"', "«": '"', "»": '"', "「": '"', "」": '"',
    "『": '"', "』": '"', "《": '"', "》": '"', "〈": '"', "〉": '"', "＂": '"',
    "‘": "'", "’": "'", "‚": "'", "＇": "'", "`": "'", "´": "'",
    "–": "-", "‐": "-", "‑": "-", "−": "-", "―": "—", "～": "-", "~": "-",
    "⋯": "…",
}


def canonical_punctuation(ch: str) -> str | None:
    """The canonical table symbol of a punctuation variant, or None."""
    return _CANONICAL_PUNCT.get(ch)


_NON_SPEAKABLE = frozenset((PAD, SPACE, *PUNCTUATION, *_CANONICAL_PUNCT, "\t", "\n"))


def is_speakable(symbol: str) -> bool:
    """True for a symbol that produces sound (not pad, space or punctuation)."""
    return symbol not in _NON_SPEAKABLE


def default_symbols(kind: str, language: str | None = None) -> list[str]:
    """The symbol table a new voice of ``kind`` gets (``"_"`` pad at index 0).

    ``phonemes``: pad, punctuation, space, IPA characters (one symbol per character, the
    same table for every espeak language). ``pinyin``: pad, punctuation, space, the 21
    initials, then every final with tone 1-5. ``chars``: pad, punctuation, space, a-z.
    ``mixed`` (Mandarin with English): the phoneme table, then the pinyin initials it lacks
    (zh, ch, sh) and every final with tone 1-5: one shared inventory, where a pinyin initial
    and the IPA letter of the same spelling ("b") are one symbol that the token's language
    id tells apart. A ``language`` of None is the kind's default (``zh`` for pinyin).
    """
    head = [PAD, *PUNCTUATION, SPACE]
    pinyin = list(PINYIN_INITIALS) + [f + t for f in PINYIN_FINALS for t in PINYIN_TONES]
    if kind == "phonemes":
        return head + list(IPA_SYMBOLS)
    if kind in ("pinyin", "mixed"):
        if language is not None and not is_chinese(language):
            raise ValueError(f"{kind} symbols exist only for Chinese, not language {language!r}")
        if kind == "pinyin":
            return head + pinyin
        table = head + list(IPA_SYMBOLS)
        return table + [s for s in pinyin if s not in set(table)]
    if kind == "chars":
        return head + list(LETTERS)
    raise ValueError(f"unknown frontend kind {kind!r}; expected one of {', '.join(KINDS)}")

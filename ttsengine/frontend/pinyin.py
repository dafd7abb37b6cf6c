"""Mandarin text to pinyin tokens (initial + final-with-tone) with ``pypinyin``.

Han runs go through ``pypinyin.lazy_pinyin`` (Style.TONE3, neutral tone as 5), whose
phrase dictionary (longest words first: a word segmentation) resolves polyphones by their
word (重庆 chong2 qing4, 银行 yin2 hang2, 行长 hang2 zhang3, 行走 xing2 zou3, 重要 zhong4,
重新 chong2). Where a reading depends on the words around it rather than on its own word,
a few context rules of ours (:data:`CONTEXT_READINGS`) correct it: 很长 / 长三米 chang2, 慢慢地
de5, 我得走 dei3, 数一数 shu3. Each syllable becomes its initial (if any) and its final in pypinyin's strict
spelling with the tone number: 中 -> "zh", "ong1"; 有 -> "iou3"; 去 -> "q", "v4".
Characters outside Han runs are returned one by one for the caller to map.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from ..errors import BackendUnavailableError

__all__ = ["text_to_pinyin_tokens", "text_to_syllables", "syllable_to_tokens", "load_pypinyin",
           "CONTEXT_READINGS"]

_HAN_RE = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_SYLLABLE_RE = re.compile(r"^([a-zêü]+)([1-5])$")
_SYLLABIC_NASALS = ("m", "n", "ng")
_lock = threading.Lock()
_mod: dict[str, Any] | None = None

_NUMERAL = "零一二三四五六七八九十两百千万几半"
_DEGREE = "很太多更最较好挺特别越这那么真超"
_ADVERBIAL = ("认真|仔细|小心|大声|努力|热情|不断|逐渐|渐渐|高兴|耐心|静静|悄悄|默默|轻轻|紧紧|深深|"
              "狠狠|偷偷|慢慢|快快|好好|早早|远远|高高|满满|一步步|一点点|拼命|激动|愉快|安静|认认真真")
#: Readings that depend on the words around a character (pattern, group, syllable):
#: ``group`` of a match of ``pattern`` in a Han run is read ``syllable``.
CONTEXT_READINGS: tuple[tuple[re.Pattern[str], int, str], ...] = (
    # 长 as long: after a degree word (很长, 太长了, 多长), before a measure (长三米)
    (re.compile(f"[{_DEGREE}](长)(?![大成辈官子者老])"), 1, "chang2"),
    (re.compile(f"(长)(?=[{_NUMERAL}])"), 1, "chang2"),
    # structural 地 after an adverbial (慢慢地, 认真地, 高高兴兴地): de5
    (re.compile(r"(?:(.)\1|(.)\2(.)\3|" + _ADVERBIAL + r")(地)"), 4, "de5"),
    # 得 as must (我得走了, 还得去): dei3
    (re.compile(r"[我你他她它们还就都也总可](得)(?![到了出分奖益知罪逞意失体当力手病住起很多好太])"), 1, "dei3"),
    # verb reduplicated around 一 (数一数, 量一量)
    (re.compile(r"(数)一数"), 1, "shu3"), (re.compile(r"数一(数)"), 1, "shu3"),
    (re.compile(r"(量)一量"), 1, "liang2"), (re.compile(r"量一(量)"), 1, "liang2"),
)


def load_pypinyin() -> dict[str, Any]:
    """Import pypinyin lazily (once); BackendUnavailableError if it is missing."""
    global _mod
    if _mod is not None:
        return _mod
    with _lock:
        if _mod is None:
            try:
                from pypinyin import Style, lazy_pinyin
                from pypinyin.contrib.tone_convert import to_finals_tone3, to_initials
            except ImportError as exc:
                raise BackendUnavailableError(
                    "the pinyin frontend needs the pip package 'pypinyin' "
                    "(pip install pypinyin)") from exc
            _mod = {"lazy_pinyin": lazy_pinyin, "tone3": Style.TONE3,
                    "to_initials": to_initials, "to_finals_tone3": to_finals_tone3}
    return _mod


@lru_cache(maxsize=4096)
def syllable_to_tokens(syllable: str) -> tuple[str, ...]:
    """Split a TONE3 syllable ("zhong1", "n2", "lve4") into (initial, final+tone) tokens;
    the initial is omitted for zero-initial syllables. Unparseable input -> ()."""
    m = _SYLLABLE_RE.match(syllable.replace("u:", "v").replace("ü", "v"))
    if m is None:
        return ()
    body, tone = m.groups()
    mod = load_pypinyin()
    initial = mod["to_initials"](syllable, strict=True)
    final = mod["to_finals_tone3"](syllable, strict=True, neutral_tone_with_five=True)
    if not final:
        # syllabic nasals of interjections: n2, ng2, m2, hm5, hng5
        rest = body[len(initial):] if body.startswith(initial) else body
        if initial in ("n", "m") or body in _SYLLABIC_NASALS:
            initial, rest = "", body
        if rest not in _SYLLABIC_NASALS:
            return ()
        final = rest + tone
    return (initial, final) if initial else (final,)


def text_to_syllables(han: str) -> list[str]:
    """TONE3 syllables of a run of Han characters, polyphones read by their words
    (pypinyin's phrase dictionary) and by :data:`CONTEXT_READINGS`."""
    mod = load_pypinyin()
    syllables = mod["lazy_pinyin"](han, style=mod["tone3"], neutral_tone_with_five=True,
                                   errors="ignore")
    if len(syllables) != len(han):  # a character without a reading: no position to correct
        return syllables
    for pattern, group, reading in CONTEXT_READINGS:
        for m in pattern.finditer(han):
            if m.start(group) >= 0:
                syllables[m.start(group)] = reading
    return syllables


def text_to_pinyin_tokens(text: str) -> list[str]:
    """Tokens of ``text``: pinyin tokens for Han characters, every other character as is
    (punctuation, spaces, latin letters ... for the caller to map or drop)."""
    out: list[str] = []
    pos = 0
    for m in _HAN_RE.finditer(text):
        out.extend(text[pos:m.start()])
        for syllable in text_to_syllables(m.group()):
            toks = syllable_to_tokens(syllable)
            out.extend(toks if toks else (syllable,))
        pos = m.end()
    out.extend(text[pos:])
    return out

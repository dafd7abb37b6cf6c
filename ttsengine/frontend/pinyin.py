"""Mandarin text to pinyin tokens (initial + final-with-tone) with ``pypinyin``.

Han runs go through ``pypinyin.lazy_pinyin`` (Style.TONE3, neutral tone as 5), whose
phrase dictionary resolves polyphones (重庆 chong2 qing4, 银行 yin2 hang2, 行长 hang2
zhang3). Each syllable becomes its initial (if any) and its final in pypinyin's strict
spelling with the tone number: 中 -> "zh", "ong1"; 有 -> "iou3"; 去 -> "q", "v4".
Characters outside Han runs are returned one by one for the caller to map.
"""

from __future__ import annotations

import re
import threading
from functools import lru_cache
from typing import Any

from ..errors import BackendUnavailableError

__all__ = ["text_to_pinyin_tokens", "syllable_to_tokens", "load_pypinyin"]

_HAN_RE = re.compile(r"[\u3007\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0003134f]+")
_SYLLABLE_RE = re.compile(r"^([a-zêü]+)([1-5])$")
_SYLLABIC_NASALS = ("m", "n", "ng")
_lock = threading.Lock()
_mod: dict[str, Any] | None = None


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


def text_to_pinyin_tokens(text: str) -> list[str]:
    """Tokens of ``text``: pinyin tokens for Han characters, every other character as is
    (punctuation, spaces, latin letters ... for the caller to map or drop)."""
    mod = load_pypinyin()
    out: list[str] = []
    pos = 0
    for m in _HAN_RE.finditer(text):
        out.extend(text[pos:m.start()])
        for syllable in mod["lazy_pinyin"](m.group(), style=mod["tone3"],
                                           neutral_tone_with_five=True, errors="ignore"):
            toks = syllable_to_tokens(syllable)
            out.extend(toks if toks else (syllable,))
        pos = m.end()
    out.extend(text[pos:])
    return out

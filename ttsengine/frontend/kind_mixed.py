"""The ``mixed`` kind: Mandarin with English in it (中英混), within one sentence.

A text is cut into runs of one language (:func:`~ttsengine.frontend.language.language_runs`:
Han letters Mandarin, Latin letters English, digits and punctuation with the letters around
them). Each run is normalized in its language (2024年 and 50% read in Chinese, "5 kg" in
English) and read by its G2P: Mandarin runs into the pinyin tokens of the ``pinyin`` kind
(initials, finals with tones), English runs into the phonemes of the voice's English G2P
(``g2p``, misaki by default, for ``g2p_language`` en-us). Every token carries its run's
language (:attr:`Segment.languages`), which a model with one shared inventory and a
language embedding needs: a pinyin initial and the IPA letter spelled alike are one symbol.
"""

from __future__ import annotations

from typing import Any

from .g2p import G2P, get_g2p
from .kind import FrontendKind, TokenRun
from .language import is_chinese, is_english, language_runs, text_language
from .normalize import normalize_english
from .normalize_zh import normalize_chinese
from .symbols import SPACE

__all__ = ["MixedKind", "KIND"]

DEFAULT_G2P = "misaki"
DEFAULT_G2P_LANGUAGE = "en-us"


class MixedKind(FrontendKind):
    name = "mixed"
    default_language = "zh"
    multi_char_symbols = True

    def __init__(self, language: str, symbols: tuple[str, ...], g2p: str | G2P | None,
                 options: dict[str, Any]) -> None:
        super().__init__(language, symbols, g2p, options)
        english = options.get("g2p_language") or DEFAULT_G2P_LANGUAGE
        if not isinstance(english, str) or not is_english(english):
            raise ValueError(f"frontend 'g2p_language' of kind 'mixed' must be an English "
                             f"language code, got {english!r}")
        self.english = english
        g2p = g2p or DEFAULT_G2P
        if isinstance(g2p, str):
            self._g2p_name: str = g2p
            self._g2p: G2P = get_g2p(g2p, english)
        else:
            self._g2p = g2p
            self._g2p_name = getattr(g2p, "name", type(g2p).__name__)
        self._script_languages = {"Han": language, "Latin": english}

    @classmethod
    def check_language(cls, language: str) -> None:
        if not is_chinese(language):
            raise ValueError(f"frontend kind 'mixed' needs a Chinese language (its English runs "
                             f"go to the G2P of 'g2p_language'), got {language!r}")

    @property
    def languages(self) -> tuple[str, ...]:
        return (self.language, self.english)

    @property
    def g2p(self) -> G2P:
        return self._g2p

    @property
    def g2p_name(self) -> str:
        return self._g2p_name

    def scripts(self) -> frozenset[str]:
        return frozenset({"Han", "Latin"})

    def normalize(self, text: str) -> str:
        parts: list[str] = []
        for run in language_runs(text, self.language, self._script_languages):
            if run.language == self.language:
                body = normalize_chinese(run.text)
            else:
                body = normalize_english(run.text)
            if not body:
                continue
            lead = " " if run.text[:1].isspace() and parts and not parts[-1].endswith(" ") else ""
            trail = " " if run.text[-1:].isspace() else ""
            parts.append(lead + body + trail)
        return "".join(parts).strip()

    def split_language(self, text: str) -> str:
        # Chinese sentence marks (。！？) end sentences in either language's runs
        return self.language if any("\u3400" <= ch <= "\u9fff" for ch in text) else self.english

    def piece_language(self, text: str) -> str:
        return text_language(text, self.language, self._script_languages)

    def tokens(self, text: str) -> list[TokenRun]:
        from .pinyin import text_to_pinyin_tokens

        out: list[TokenRun] = []
        for run in language_runs(text, self.language, self._script_languages):
            if run.language == self.language:
                out.append(TokenRun(run.language, tuple(text_to_pinyin_tokens(run.text))))
                continue
            body = run.text.strip()
            if not any(ch.isalnum() for ch in body):
                symbols: tuple[str, ...] = tuple(body)  # punctuation only: spare the G2P call
            else:
                symbols = tuple(self._g2p.phonemize(body))
            lead = (SPACE,) if run.text[:1].isspace() else ()
            trail = (SPACE,) if run.text[-1:].isspace() and body else ()
            out.append(TokenRun(run.language, lead + symbols + trail))
        return out

    def config(self) -> dict[str, Any]:
        return {"g2p": self._g2p_name, "g2p_language": self.english}

    def warmup(self) -> None:
        from .pinyin import text_to_pinyin_tokens
        text_to_pinyin_tokens("你好")
        self._g2p.phonemize("warm up")


KIND = MixedKind

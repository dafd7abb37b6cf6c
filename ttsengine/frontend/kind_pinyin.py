"""The ``pinyin`` kind: Mandarin read into pinyin initials and finals with tones
(:mod:`.pinyin`); letters of other scripts are dropped."""

from __future__ import annotations

from .kind import FrontendKind, TokenRun
from .language import is_chinese
from .normalize_zh import normalize_chinese

__all__ = ["PinyinKind", "KIND"]


class PinyinKind(FrontendKind):
    name = "pinyin"
    default_language = "zh"
    multi_char_symbols = True
    drop_gap = ""

    @classmethod
    def check_language(cls, language: str) -> None:
        if not is_chinese(language):
            raise ValueError(f"frontend kind 'pinyin' needs a Chinese language, got {language!r}")

    def scripts(self) -> frozenset[str]:
        return frozenset({"Han"})  # pypinyin reads Han; latin letters would be noise

    def normalize(self, text: str) -> str:
        return normalize_chinese(text)

    def tokens(self, text: str) -> list[TokenRun]:
        from .pinyin import text_to_pinyin_tokens
        return [TokenRun(self.language, tuple(text_to_pinyin_tokens(text)))]

    def warmup(self) -> None:
        from .pinyin import text_to_pinyin_tokens
        text_to_pinyin_tokens("你好")


KIND = PinyinKind

"""The fixed, committed benchmark text set (``data/texts.json``): English and Chinese."""

from __future__ import annotations

import json
from dataclasses import dataclass
from importlib import resources
from typing import Any, Mapping

from ..errors import InvalidInputError
from ..frontend.language import is_chinese

__all__ = ["TEXT_KINDS", "TextSet", "language_of", "load_texts"]

#: Single texts of each language: ``short`` (a greeting), ``medium`` (the ~5-second sentence
#: of the headline RTF) and ``long`` (a ~30-second paragraph of several sentences).
TEXT_KINDS = ("short", "medium", "long")


@dataclass(frozen=True)
class TextSet:
    """The texts of one language."""

    language: str
    short: str
    medium: str
    long: str
    #: Single ~5-second sentences; batches of size B cycle through them.
    batch: tuple[str, ...]

    def text(self, kind: str) -> str:
        if kind not in TEXT_KINDS:
            raise InvalidInputError(f"text kind must be one of {', '.join(TEXT_KINDS)}, got {kind!r}")
        return str(getattr(self, kind))

    def batch_texts(self, size: int) -> list[str]:
        """``size`` texts for one batch, cycling through the pool."""
        return [self.batch[i % len(self.batch)] for i in range(size)]


def _raw() -> dict[str, Any]:
    path = resources.files("ttsengine.bench").joinpath("data", "texts.json")
    return json.loads(path.read_text(encoding="utf-8"))


def load_texts() -> tuple[int, dict[str, TextSet]]:
    """(text-set version, {language: TextSet}) from the committed ``data/texts.json``."""
    data = _raw()
    sets = {}
    for language, entry in data["languages"].items():
        sets[language] = TextSet(
            language=language,
            short=entry["short"],
            medium=entry["medium"],
            long=entry["long"],
            batch=tuple(entry["batch"]),
        )
    return int(data["version"]), sets


def language_of(frontend: Mapping[str, Any]) -> str:
    """The text-set language for a voice's ``frontend`` section: ``zh`` for Chinese, else ``en``."""
    if frontend.get("kind") in ("pinyin", "mixed") or is_chinese(str(frontend.get("language") or "")):
        return "zh"
    return "en"

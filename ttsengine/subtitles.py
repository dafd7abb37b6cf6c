"""Subtitles from word timings: WebVTT and SubRip, one cue per word."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterable

from .audio.audio import Word
from .errors import InvalidInputError

__all__ = ["SUBTITLE_FORMATS", "subtitles", "write_subtitles"]

#: Formats by file suffix.
SUBTITLE_FORMATS = ("vtt", "srt")


def _stamp(seconds: float, separator: str) -> str:
    ms = max(0, round(seconds * 1000))
    hours, ms = divmod(ms, 3_600_000)
    minutes, ms = divmod(ms, 60_000)
    secs, ms = divmod(ms, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{separator}{ms:03d}"


def _cue_text(text: str) -> str:
    # VTT cue text is markup: escape it (harmless in SRT players too)
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\n", " ")


def subtitles(words: Iterable[Word], format: str = "vtt") -> str:
    """The subtitle file text for ``words`` (a cue per word): ``format`` "vtt" or "srt"."""
    key = str(format).lower()
    if key not in SUBTITLE_FORMATS:
        raise InvalidInputError(f"subtitle format must be one of {', '.join(SUBTITLE_FORMATS)}, got {format!r}")
    separator = "." if key == "vtt" else ","
    lines = ["WEBVTT", ""] if key == "vtt" else []
    for number, word in enumerate(words, 1):
        end = max(word.end, word.start + 0.001)  # a cue must not end before it starts
        if key == "srt":
            lines.append(str(number))
        lines += [f"{_stamp(word.start, separator)} --> {_stamp(end, separator)}", _cue_text(word.text), ""]
    return "\n".join(lines)


def write_subtitles(words: Iterable[Word], path: str | os.PathLike[str]) -> None:
    """Writes ``words`` to ``path`` (UTF-8) in the format of its suffix (.vtt or .srt)."""
    target = Path(path)
    suffix = target.suffix.lower().lstrip(".")
    if suffix not in SUBTITLE_FORMATS:
        raise InvalidInputError(f"subtitles file must end with .vtt or .srt, got {str(path)!r}")
    text = subtitles(words, suffix)
    try:
        target.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise InvalidInputError(f"cannot write subtitles to {str(target)!r}: {exc.strerror or exc}") from exc

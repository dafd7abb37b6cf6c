"""Pronunciation lexicon: word -> phonemes (IPA, mapped to the voice's symbols) or a respelling.

File format (UTF-8, one entry per line; blank lines and lines starting with ``#`` are
ignored)::

    # word <whitespace> pronunciation
    tomato    /təˈmɑːtoʊ/       # IPA between slashes: phonemes (phoneme voices only)
    SQL       sequel            # anything else: a respelling, read instead of the word
    nginx     engine x

Words are matched whole and case-insensitively (letters, digits, ``'``, ``-``, ``.``).
The same entries can be given as a mapping, ``Synthesizer(lexicon={"SQL": "sequel"})``.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Sequence

from ..errors import InvalidInputError

__all__ = ["Lexicon", "ipa_to_symbols"]

logger = logging.getLogger("ttsengine")

_KEY_RE = re.compile(r"^[\w'’.\-]+$")
_MAX_ENTRIES = 100_000

# IPA sequences and their spelling in misaki's letters (Kokoro's phoneme set): diphthongs
# and affricates are one letter there. Tried longest first, only where the voice has them.
_IPA_MULTI = {
    "eɪ": "A", "aɪ": "I", "oʊ": "O", "əʊ": "Q", "aʊ": "W", "ɔɪ": "Y", "dʒ": "ʤ", "tʃ": "ʧ", "d͡ʒ": "ʤ",
    "t͡ʃ": "ʧ", "ɝ": "ɜɹ", "ɚ": "əɹ",
}
# Single IPA characters a voice may spell otherwise (tried when the character is not a symbol).
_IPA_FALLBACK = {"r": "ɹ", "g": "ɡ", "ɫ": "l", "ɐ": "ə", "ᵻ": "ɪ", "ɾ": "T", "ʔ": "", "ː": "", "ˑ": "", ".": ""}
# misaki voices (English) never saw these letters in training although their table has them
_MISAKI = {"r": "ɹ", "g": "ɡ", "ɾ": "T", "e": "A", "o": "O"}


def ipa_to_symbols(ipa: str, symbols: Sequence[str], g2p: str | None = None) -> str:
    """``ipa`` spelled in the voice's phoneme ``symbols``: multi-letter IPA (diphthongs,
    affricates) become the voice's one-letter symbols where it has them, and symbols
    it lacks get a close substitute. Raises InvalidInputError for a phoneme the voice
    cannot say. ``g2p`` "misaki": English letters as misaki spells them (r -> ɹ)."""
    table = set(symbols)
    multi = {**_IPA_MULTI, **_MISAKI} if g2p == "misaki" else _IPA_MULTI
    out: list[str] = []
    i = 0
    while i < len(ipa):
        for size in (3, 2, 1):
            mapped = multi.get(ipa[i : i + size]) if i + size <= len(ipa) else None
            if mapped is not None and all(ch in table for ch in mapped):
                out.append(mapped)
                i += size
                break
        else:
            ch = ipa[i]
            if ch in table or ch.isspace():
                out.append(ch)
            elif ch in _IPA_FALLBACK and all(c in table for c in _IPA_FALLBACK[ch]):
                out.append(_IPA_FALLBACK[ch])
            else:
                raise InvalidInputError(f"phoneme {ch!r} (U+{ord(ch):04X}) in {ipa!r} is not in the voice's phoneme set")
            i += 1
    return "".join(out)


@dataclass(frozen=True)
class Entry:
    """``phonemes`` (in the voice's symbols) or ``respelling``: exactly one is set."""

    phonemes: str | None = None
    respelling: str | None = None


class Lexicon:
    """Word -> :class:`Entry`, matched whole-word and case-insensitively."""

    def __init__(self, entries: Mapping[str, Entry] | None = None) -> None:
        self.entries: dict[str, Entry] = {k.casefold(): v for k, v in (entries or {}).items()}
        words = sorted(self.entries, key=len, reverse=True)
        self._pattern = (re.compile(r"(?<![\w'’])(" + "|".join(map(re.escape, words)) + r")(?![\w'’])", re.IGNORECASE)
                         if words else None)

    def __len__(self) -> int:
        return len(self.entries)

    def __bool__(self) -> bool:
        return bool(self.entries)

    @classmethod
    def load(cls, source: Any, symbols: Sequence[str] | None, g2p: str | None = None) -> Lexicon:
        """A lexicon from a file path or a mapping (word -> pronunciation); ``symbols``:
        the voice's phoneme symbols (None for a voice that is not phoneme-based, which
        takes respellings only), ``g2p`` its G2P's name. Raises InvalidInputError naming the bad entry."""
        if isinstance(source, Lexicon):
            return source
        if isinstance(source, (str, os.PathLike)):
            path = Path(source)
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise InvalidInputError(f"cannot read lexicon {str(path)!r}: {exc}") from exc
            pairs: list[tuple[str, str, str]] = []
            for number, line in enumerate(text.splitlines(), 1):
                line = line.strip()
                if not line or line.startswith("#"):
                    continue
                parts = line.split(None, 1)
                if len(parts) != 2:
                    raise InvalidInputError(f"{path}:{number}: expected 'word pronunciation', got {line!r}")
                pronunciation = re.sub(r"\s+#.*$", "", parts[1]).strip()
                pairs.append((parts[0], pronunciation, f"{path}:{number}"))
        elif isinstance(source, Mapping):
            pairs = [(k, v, f"lexicon[{k!r}]") for k, v in source.items()]
        else:
            raise InvalidInputError(f"lexicon must be a file path or a mapping, got {type(source).__name__}")
        if len(pairs) > _MAX_ENTRIES:
            raise InvalidInputError(f"lexicon has {len(pairs)} entries (at most {_MAX_ENTRIES})")
        entries: dict[str, Entry] = {}
        for word, pronunciation, where in pairs:
            if not isinstance(word, str) or not _KEY_RE.match(word):
                raise InvalidInputError(f"{where}: a lexicon word is one word (letters, digits, ' - .), got {word!r}")
            if not isinstance(pronunciation, str) or not pronunciation.strip():
                raise InvalidInputError(f"{where}: empty or non-string pronunciation")
            pronunciation = pronunciation.strip()
            if len(pronunciation) >= 2 and pronunciation[0] == pronunciation[-1] == "/":
                if symbols is None:
                    raise InvalidInputError(f"{where}: phonemes need a phoneme voice (use a respelling)")
                try:
                    entries[word] = Entry(phonemes=ipa_to_symbols(pronunciation[1:-1].strip(), symbols, g2p))
                except InvalidInputError as exc:
                    raise InvalidInputError(f"{where}: {exc}") from None
            else:
                entries[word] = Entry(respelling=pronunciation)
        logger.info("lexicon: %d entries", len(entries))
        return cls(entries)

    def respell(self, text: str) -> str:
        """``text`` with each respelled word replaced by its respelling."""
        if self._pattern is None:
            return text

        def replace(m: re.Match[str]) -> str:
            entry = self.entries[m.group().casefold()]
            return m.group() if entry.respelling is None else entry.respelling

        return self._pattern.sub(replace, text)

    def split(self, text: str) -> list[tuple[str, str | None]]:
        """``text`` as runs (text, None) and (word, phonemes) for the phoneme entries."""
        if self._pattern is None:
            return [(text, None)]
        out: list[tuple[str, str | None]] = []
        last = 0
        for m in self._pattern.finditer(text):
            entry = self.entries[m.group().casefold()]
            if entry.phonemes is None:
                continue
            out += [(text[last : m.start()], None), (m.group(), entry.phonemes)]
            last = m.end()
        out.append((text[last:], None))
        return [run for run in out if run[0]]

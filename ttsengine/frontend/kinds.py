"""The registry of front-end kinds: name -> :class:`~.kind.FrontendKind` subclass."""

from __future__ import annotations

from .kind import FrontendKind
from .kind_chars import CharsKind
from .kind_mixed import MixedKind
from .kind_phonemes import PhonemesKind
from .kind_pinyin import PinyinKind
from .symbols import KINDS

__all__ = ["KIND_NAMES", "KIND_CLASSES", "kind_class"]

#: The kinds (the names of :data:`~.symbols.KINDS`), each in module ``kind_<name>``.
KIND_NAMES: tuple[str, ...] = KINDS
KIND_CLASSES: dict[str, type[FrontendKind]] = {
    cls.name: cls for cls in (PhonemesKind, PinyinKind, CharsKind, MixedKind)}
assert tuple(KIND_CLASSES) == KIND_NAMES


def kind_class(name: str) -> type[FrontendKind]:
    """The class of front-end kind ``name``; ValueError for an unknown one."""
    cls = KIND_CLASSES.get(name) if isinstance(name, str) else None
    if cls is None:
        raise ValueError(f"unknown frontend kind {name!r}; expected one of {', '.join(KIND_NAMES)}")
    return cls

"""The grapheme-to-phoneme interface and its registry.

A G2P turns normalized text into a phoneme string (IPA, one symbol per character,
punctuation and spaces kept). Implementations are looked up by name with
:func:`get_g2p`; :func:`register_g2p` plugs in another one. The espeak-ng implementation
lives in :mod:`ttsengine.frontend.g2p_espeak` (GPL-3 espeak-ng is only loaded when used),
the misaki one (Apache-2.0, through ``hibari-tts``) in :mod:`ttsengine.frontend.g2p_misaki`.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from ..errors import BackendUnavailableError

__all__ = ["G2P", "G2PFactory", "register_g2p", "get_g2p", "available_g2p", "UnsupportedLanguageError"]


class UnsupportedLanguageError(BackendUnavailableError):
    """A G2P that is installed does not speak the language asked for (misaki: English
    only; espeak-ng: its language list). A voice bundle whose ``frontend.language`` this is
    raises :class:`~ttsengine.errors.VoiceLoadError` from :class:`~ttsengine.Synthesizer`."""


@runtime_checkable
class G2P(Protocol):
    """Grapheme-to-phoneme converter for one language."""

    name: str

    def phonemize(self, text: str) -> str:
        """Phonemes of ``text`` (IPA characters, punctuation and spaces kept)."""
        ...


G2PFactory = Callable[[str], G2P]
"""A callable building a G2P for a language code (``"en-us"`` ...)."""


def _espeak_factory(language: str) -> G2P:
    module = importlib.import_module(".g2p_espeak", __package__)
    return module.EspeakG2P(language)


def _misaki_factory(language: str) -> G2P:
    module = importlib.import_module(".g2p_misaki", __package__)
    return module.MisakiG2P(language)


_lock = threading.Lock()
_registry: dict[str, G2PFactory] = {"espeak": _espeak_factory, "misaki": _misaki_factory}
_instances: dict[tuple[str, str], G2P] = {}


def register_g2p(name: str, factory: G2PFactory, *, replace: bool = False) -> None:
    """Register ``factory(language) -> G2P`` under ``name``.

    Raises ValueError if the name is taken and ``replace`` is False.
    """
    if not isinstance(name, str) or not name:
        raise ValueError("a G2P name must be a non-empty string")
    with _lock:
        if name in _registry and not replace:
            raise ValueError(f"a G2P named {name!r} is already registered")
        _registry[name] = factory
        for key in [k for k in _instances if k[0] == name]:
            del _instances[key]


def available_g2p() -> tuple[str, ...]:
    """Names of the registered G2P implementations."""
    with _lock:
        return tuple(sorted(_registry))


def get_g2p(name: str, language: str) -> G2P:
    """The G2P ``name`` for ``language`` (instances are cached and shared).

    Raises ValueError for an unknown name, and whatever the factory raises (espeak:
    BackendUnavailableError when its pip packages are missing).
    """
    key = (name, language)
    with _lock:
        inst = _instances.get(key)
        factory = _registry.get(name)
    if inst is not None:
        return inst
    if factory is None:
        known = ", ".join(available_g2p())
        raise ValueError(f"unknown G2P {name!r}; registered: {known}")
    inst = factory(language)
    with _lock:
        return _instances.setdefault(key, inst)

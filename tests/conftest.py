"""Shared fixtures: small seeded random voices made once per test session (no network)."""

from __future__ import annotations

import importlib.util

import pytest

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


@pytest.fixture(scope="session")
def tiny_voice(tmp_path_factory):
    """English phoneme voice: tiny acoustic model + HiFi-GAN V2, three speakers."""
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(
        tmp_path_factory.mktemp("voices") / "tiny-en",
        name="tiny-en",
        acoustic_size="tiny",
        vocoder="v2",
        speakers=("alice", "bob", "carol"),
        seed=1,
    )


@pytest.fixture(scope="session")
def tiny_synth(tiny_voice):
    from ttsengine import Synthesizer

    return Synthesizer(tiny_voice, device="cpu", backend="torch")

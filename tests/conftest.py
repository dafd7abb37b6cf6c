"""Shared fixtures: small seeded random voices made once per test session (no network)."""

from __future__ import annotations

import importlib.util

import pytest

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


def cuda_device_skip_reason() -> str | None:
    """Why `requires_cuda` tests cannot run here ("no CUDA device (...)"), or None if they can."""
    try:
        from ttsengine import _cuda
    except ImportError as exc:
        return f"no CUDA device (ttsengine._cuda not built or not importable: {exc})"
    if _cuda.device_count() == 0:
        return f"no CUDA device ({_cuda.driver_status()})"
    return None


def pytest_collection_modifyitems(config, items):
    """Skips tests marked `requires_cuda` where ttsengine._cuda has no device to run on."""
    marked = [item for item in items if item.get_closest_marker("requires_cuda")]
    reason = cuda_device_skip_reason() if marked else None
    if reason:
        for item in marked:
            item.add_marker(pytest.mark.skip(reason=reason))


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


@pytest.fixture(scope="session")
def small_onnx_voice(tmp_path_factory):
    """A CPU-sized voice (acoustic `small` + HiFi-GAN V2, seeded random weights) with its ONNX
    graphs: for pipeline tests that run many requests (the bundled default voice's V1 vocoder
    is ~10x slower)."""
    pytest.importorskip("onnx")
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice_factory import create_random_voice

    path = create_random_voice(tmp_path_factory.mktemp("voices") / "small-v2", name="small-v2",
                               acoustic_size="small", vocoder="v2", speakers=("default",), seed=0)
    return export_voice(path, path, force=True)

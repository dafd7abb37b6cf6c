"""Naturalness judge: DistillMOS (a predicted mean opinion score, 1-5), benchmark/tooling only.

ttsengine never depends on it: ``distillmos`` (MIT, weights inside the wheel) and torch are
imported only when a judge is created. Install it without its declared dependencies (they
pull torchaudio and transformers, whose wheels would replace the pinned torch)::

    pip install --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0

- :class:`DistillMOS` / :func:`distillmos_scores`: one score per (wave, sample rate), the wave
  resampled to 16 kHz (``resample_poly``), fed as a float32 mono tensor [1, L] in eval mode,
  without gradients, on ``threads`` torch threads (1 by default; the previous count is restored
  after each call). Deterministic: the same wave gives the same score.
- The fixed-sentence figure that CI guards (``tests/test_default_voice_naturalness.py``): the
  mean DistillMOS of a voice's CPU path (vocoder ``istft``) on :data:`FIXED_SENTENCES`, stored
  in the bundle's ``naturalness.json`` (:data:`FIXED_FILE`) by :func:`record_fixed` and printed
  in its MODEL_CARD.md. Re-record after any change to the voice::

      python benchmarks/quality.py --voice ttsengine/voices/default --record-fixed

  (``recipes/default_voice/ship.py`` records it too, every time it writes the bundle.)
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import io
import json
import re
import sys
import types
from fractions import Fraction
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

__all__ = ["DistillMOS", "distillmos_scores", "load_judge", "measure_fixed", "record_fixed", "card_line",
           "FIXED_SENTENCES", "FIXED_FILE", "FIXED_KEY", "INSTALL_HINT", "JUDGE_RATE"]

INSTALL_HINT = "pip install --no-deps distillmos==0.9.1 xls-r-sqa==0.1.0"
JUDGE_RATE = 16000
#: Five held-out sentences (``benchmarks/data/heldout_sentences.txt`` lines 3, 8, 15, 24, 35):
#: a statement, an exclamation, a question, a two-clause sentence with a semicolon, a long one.
FIXED_SENTENCES = (
    "The bus was late again, so we walked home in the rain.",
    "What a beautiful sunset over the harbor tonight!",
    "Why does the printer always jam when I'm in a hurry?",
    "Don't forget your umbrella; the forecast says heavy rain after lunch.",
    "A small dog chased the pigeons across the park and back again.",
)
#: The file in a voice bundle that holds the recorded figure, and its key there.
FIXED_FILE = "naturalness.json"
FIXED_KEY = "distillmos_fixed_sentences"
#: How a model card's line about the figure starts (:func:`update_card` replaces that line).
CARD_PREFIX = "DistillMOS of the CPU path on the fixed sentences"


def _import_distillmos() -> Any:
    """``distillmos``, imported with a stand-in ``torchaudio`` where the real one does not import
    (distillmos imports it at module level for its own file loader only, which is not used here;
    no torchaudio build loads with torch 2.13). The stand-in is removed again afterwards."""
    stub = None
    try:
        import torchaudio  # noqa: F401
    except Exception:  # not installed, or a build that does not load with this torch
        for name in [m for m in sys.modules if m == "torchaudio" or m.startswith("torchaudio.")]:
            del sys.modules[name]
        stub = sys.modules["torchaudio"] = types.ModuleType("torchaudio")
    try:
        import distillmos
    except ImportError as e:
        raise ImportError(f"the DistillMOS judge needs distillmos ({e}); install it (after torch) with: "
                          f"{INSTALL_HINT}") from e
    finally:
        if stub is not None and sys.modules.get("torchaudio") is stub:
            del sys.modules["torchaudio"]
    return distillmos


def to_judge_rate(wave: np.ndarray, rate: int) -> np.ndarray:
    """float32 mono at 16 kHz (polyphase resampling)."""
    wave = np.asarray(wave, dtype=np.float64)
    if wave.ndim != 1:
        raise ValueError(f"expected a mono wave, got shape {wave.shape}")
    ratio = Fraction(JUDGE_RATE, int(rate))
    if ratio != 1:
        wave = resample(wave, ratio)
    return wave.astype(np.float32)


def resample(wave: np.ndarray, ratio: Fraction) -> np.ndarray:
    from scipy.signal import resample_poly

    return resample_poly(wave, ratio.numerator, ratio.denominator)


class DistillMOS:
    """DistillMOS (``distillmos.ConvTransformerSQAModel``, variant 7 weights) on the CPU."""

    def __init__(self, threads: int = 1) -> None:
        distillmos = _import_distillmos()
        import torch

        self._torch = torch
        self.threads = threads
        with contextlib.redirect_stdout(io.StringIO()):  # it prints where it loaded its weights from
            self._model = distillmos.ConvTransformerSQAModel()
        self._model.eval()
        self.version = importlib.metadata.version("distillmos")

    def score(self, wave: np.ndarray, rate: int) -> float:
        """The predicted MOS (1-5) of one mono wave at sample rate ``rate``."""
        torch = self._torch
        x = torch.from_numpy(to_judge_rate(wave, rate))[None, :]
        previous = torch.get_num_threads()
        torch.set_num_threads(self.threads)
        try:
            with torch.no_grad():
                return float(self._model(x).reshape(-1)[0])
        finally:
            torch.set_num_threads(previous)

    def scores(self, waves_with_rates: Iterable[tuple[np.ndarray, int]]) -> list[float]:
        return [self.score(wave, rate) for wave, rate in waves_with_rates]

    def describe(self) -> str:
        return f"DistillMOS (distillmos {self.version}, ConvTransformerSQAModel, 16 kHz, {self.threads} thread(s))"


_JUDGES: dict[int, DistillMOS] = {}


def load_judge(threads: int = 1) -> DistillMOS:
    """The process's judge for ``threads`` (loaded once); ImportError with the install hint."""
    if threads not in _JUDGES:
        _JUDGES[threads] = DistillMOS(threads)
    return _JUDGES[threads]


def distillmos_scores(waves_with_rates: Iterable[tuple[np.ndarray, int]], threads: int = 1) -> list[float]:
    """DistillMOS of each (float wave, sample rate)."""
    return load_judge(threads).scores(waves_with_rates)


# -- the fixed-sentence figure of a voice -------------------------------------------------------


def measure_fixed(voice: str | Path = "default", *, backend: str = "auto", threads: int = 1,
                  sentences: Sequence[str] = FIXED_SENTENCES) -> dict[str, Any]:
    """The voice's CPU path (``device="cpu"``, ``vocoder="istft"``) on ``sentences``, judged:
    ``{"sentences", "vocoder", "backend", "scores", "cpu"}`` (``cpu``: the mean score)."""
    from .. import Synthesizer

    judge = load_judge(threads)
    synth = Synthesizer(str(voice), device="cpu", backend=backend, vocoder="istft", num_threads=threads)
    scores = []
    for text in sentences:
        audio = synth.synthesize(text)
        scores.append(judge.score(audio.samples, audio.sample_rate))
    return {"sentences": list(sentences), "vocoder": synth.vocoder, "backend": synth.backend,
            "judge": judge.describe(), "scores": [round(s, 4) for s in scores],
            "cpu": round(float(np.mean(scores)), 4)}


def read_fixed(bundle: str | Path) -> dict[str, Any] | None:
    """The recorded figure of a bundle directory, or None where it has none."""
    path = Path(bundle) / FIXED_FILE
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))[FIXED_KEY]


def card_line(record: dict[str, Any]) -> str:
    """The model card's line about the recorded figure."""
    scores = ", ".join(f"{s:.2f}" for s in record["scores"])
    return (f"{CARD_PREFIX} ({len(record['sentences'])} held-out sentences, `{FIXED_FILE}`; vocoder "
            f"{record['vocoder']}, backend {record['backend']}): **{record['cpu']:.2f}** (per sentence {scores}). "
            "CI (`tests/test_default_voice_naturalness.py`) fails when the voice measures more than 0.1 below "
            "it; re-record after any change to the voice: "
            "`python benchmarks/quality.py --voice ttsengine/voices/default --record-fixed`.")


def update_card(bundle: str | Path, record: dict[str, Any]) -> bool:
    """Puts :func:`card_line` into the bundle's MODEL_CARD.md (replacing the old line, or in a
    section of its own before "## CPU vocoder" / "## Speed"); False where there is no card."""
    path = Path(bundle) / "MODEL_CARD.md"
    if not path.is_file():
        return False
    text = path.read_text(encoding="utf-8")
    line = card_line(record)
    pattern = re.compile(rf"^{re.escape(CARD_PREFIX)}.*$", re.MULTILINE)
    if pattern.search(text):
        text = pattern.sub(lambda _: line, text, count=1)
    else:
        section = f"## Naturalness (DistillMOS)\n{line}\n\n"
        anchor = next((a for a in ("\n## CPU vocoder", "\n## Speed") if a in text), None)
        text = text.replace(anchor, "\n" + section.rstrip("\n") + "\n" + anchor, 1) if anchor else \
            text.rstrip("\n") + "\n\n" + section
    path.write_text(text, encoding="utf-8")
    return True


def record_fixed(voice: str | Path = "default", *, backend: str = "auto", threads: int = 1,
                 card: bool = True) -> tuple[Path, dict[str, Any]]:
    """Measures :func:`measure_fixed` and writes it to the bundle's ``naturalness.json`` (and,
    with ``card``, into its MODEL_CARD.md); returns (file written, record)."""
    from ..voice import load_voice

    bundle = Path(load_voice(str(voice)).path)
    record = measure_fixed(bundle, backend=backend, threads=threads)
    path = bundle / FIXED_FILE
    path.write_text(json.dumps({FIXED_KEY: record}, indent=2) + "\n", encoding="utf-8")
    if card:
        update_card(bundle, record)
    return path, record

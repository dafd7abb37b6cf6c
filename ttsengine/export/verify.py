"""Numerical parity of an exported bundle against its PyTorch reference (``ttsengine verify``).

Every case runs the same inputs through the PyTorch models (built from the bundle's own
safetensors) and through the ONNX graphs on ONNX Runtime's CPU execution provider:

* durations: ``log_durations`` of the encoder graph vs torch, and how many tokens get a
  different integer frame count after ``ttsengine._core.durations_to_frames``;
* mel: the decoder graph fed with the *graph's* hidden states, regulated with the
  *reference* frame counts (so both sides have the same length and errors accumulate
  through encoder and decoder, but a duration rounding flip cannot shift the alignment);
* wave: the vocoder graph fed with the graph's mel.

Errors are measured over the valid (unpadded) region of every row; padded outputs must
be exactly zero. ``rel`` is max-abs error divided by the reference's peak magnitude; SNR
is ``10 log10(sum ref^2 / sum (out - ref)^2)`` in dB.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

from ..errors import InvalidInputError, VoiceLoadError
from ..voice import VoiceConfig, load_voice
from ..voice.contract import GRAPH_NAMES, PRECISIONS, graph_precision
from ..voice.onnx import external_initializers
from ..voice.schema import bundle_file

__all__ = ["Metric", "CaseResult", "Tolerance", "TOLERANCES", "VerifyReport", "verify_bundle", "add_arguments", "run"]

logger = logging.getLogger("ttsengine")


@dataclass(frozen=True)
class Tolerance:
    """Pass criteria of one precision (``None``: not checked)."""

    log_durations_max_abs: float
    frame_mismatches: int | None
    mel_max_abs: float | None
    wave_max_abs: float | None
    mel_snr_db: float | None
    wave_snr_db: float | None


#: fp32: ONNX Runtime and PyTorch run the same fp32 math with different kernels
#: (reassociated sums, fused conv/GEMM). Measured max-abs on the tiny and small
#: random-weight voices: log-durations 3.6e-7, mel 3.0e-6, wave 1.3e-8. 1e-3 is far above
#: that and far below a real mismatch (graphs checked against another voice's acoustic
#: weights: log-durations 0.1-0.26, mel 2.3-3.3).
#: fp16: ONNX Runtime's CPU provider lacks fp16 kernels for most of these ops and inserts
#: casts, so on CPU the error is mostly fp16 weights and tensors between ops: measured
#: worst mel SNR 67.2-71.9 dB, wave 62.4-71.1 dB (three voices). Every op in fp16 (torch, CPU, small
#: voice) gives mel 62 dB, wave 69 dB. 40 dB leaves room for true fp16 arithmetic on GPUs
#: and trained weights, and still fails the position encoding computed in fp16 (47 dB at
#: 300 frames, worse beyond).
#: A trained HiFi-GAN V1 amplifies those mel differences (~1e-5) about a hundredfold: the
#: default and bilingual voices measured wave max-abs 1.0-1.5e-3 at SNR >= 62.7 dB (ORT 1.32,
#: 2-core x86 VM), so the fp32 wave is held to max-abs 1e-2 and SNR 50 dB (a real mismatch,
#: another voice's weights, moves the wave by tenths).
#: int8: the decoder's int8 graph (:mod:`ttsengine.export.int8`) behind the fp32 encoder, so
#: durations are held as in fp32 and the mel to an SNR (:data:`INT8_MEL_SNR_DB`). The wave is not
#: checked: a mel off by int8 rounding moves a pulse vocoder's F0 and with it the phase of
#: every later sample; what it does to the sound is measured by listeners' proxies (WER,
#: DistillMOS) in BENCHMARKS.md instead.
#: Measured on the bundled voices' int8 decoders (the cases below): mel SNR 42.7-45.5 dB
#: (default), 37.3-38.9 dB (bilingual); another voice's decoder weights give ~0 dB.
INT8_MEL_SNR_DB = 35.0
TOLERANCES = {
    "fp32": Tolerance(1e-3, 0, 1e-3, 1e-2, None, 50.0),
    "fp16": Tolerance(0.05, None, None, None, 40.0, 40.0),
    "int8": Tolerance(1e-3, 0, None, None, INT8_MEL_SNR_DB, None),
}
#: Precisions ``verify`` knows: the GPU contract's plus the CPU's int8 decoder.
VERIFY_PRECISIONS = (*PRECISIONS, "int8")
#: A source-filter CPU vocoder integrates its F0 into the pulse phase, so the kernels' float
#: rounding grows along the utterance (random tiny voice, 300 frames: wave max-abs 1.1e-3,
#: SNR >= 54.8 dB): its fp32 wave is held to an SNR instead of a max-abs.
PULSE_FP32 = Tolerance(1e-3, 0, 1e-3, None, None, 40.0)


@dataclass(frozen=True)
class Metric:
    """Errors of one output over the valid region of all rows."""

    max_abs: float
    rel: float
    snr_db: float
    padding_max: float = 0.0

    @classmethod
    def of(cls, reference: Any, output: Any, valid: Any) -> Metric:
        import numpy as np

        ref = reference[valid].astype(np.float64)
        out = output[valid].astype(np.float64)
        error = out - ref
        max_abs = float(np.max(np.abs(error))) if error.size else 0.0
        peak = float(np.max(np.abs(ref))) if ref.size else 0.0
        noise = float(np.sum(error**2))
        signal = float(np.sum(ref**2))
        if not np.isfinite(out).all():
            max_abs, snr = math.inf, -math.inf
        elif noise == 0.0:
            snr = math.inf
        else:
            snr = 10.0 * math.log10(signal / noise) if signal > 0 else -math.inf
        padded = output[~valid]
        padding_max = float(np.max(np.abs(padded))) if padded.size else 0.0
        return cls(max_abs, max_abs / peak if peak > 0 else max_abs, snr, padding_max)


@dataclass(frozen=True)
class CaseResult:
    """One verification case of one precision."""

    precision: str
    kind: str  # "fixed" | "random"
    token_lengths: tuple[int, ...]
    speakers: tuple[int, ...]
    speed: float
    frame_lengths: tuple[int, ...]
    log_durations: Metric
    frame_mismatches: int
    mel: Metric
    wave: Metric
    failures: tuple[str, ...] = ()

    @property
    def passed(self) -> bool:
        return not self.failures


@dataclass
class VerifyReport:
    """All cases of a ``verify_bundle`` run; ``passed`` when every case met its tolerance."""

    bundle: Path
    cases: list[CaseResult] = field(default_factory=list)
    tolerances: dict[str, Tolerance] = field(default_factory=lambda: dict(TOLERANCES))

    @property
    def passed(self) -> bool:
        return bool(self.cases) and all(case.passed for case in self.cases)

    def worst(self, precision: str) -> dict[str, float]:
        """Worst errors over the cases of one precision (max-abs maxima, SNR minima)."""
        cases = [c for c in self.cases if c.precision == precision]
        if not cases:
            return {}
        return {
            "log_durations_max_abs": max(c.log_durations.max_abs for c in cases),
            "frame_mismatches": sum(c.frame_mismatches for c in cases),
            "mel_max_abs": max(c.mel.max_abs for c in cases),
            "mel_rel": max(c.mel.rel for c in cases),
            "mel_snr_db": min(c.mel.snr_db for c in cases),
            "wave_max_abs": max(c.wave.max_abs for c in cases),
            "wave_rel": max(c.wave.rel for c in cases),
            "wave_snr_db": min(c.wave.snr_db for c in cases),
        }

    def format_table(self) -> str:
        """A plain-text table of every case, the tolerances and the verdict."""
        header = (
            f"{'prec':4} {'case':6} {'tokens':>12} {'spk':>7} {'speed':>5} {'frames':>13} | "
            f"{'logdur max':>10} {'fr!=':>4} | {'mel max':>9} {'rel':>9} {'SNR dB':>7} | "
            f"{'wave max':>9} {'rel':>9} {'SNR dB':>7} | ok"
        )
        lines = [f"verify {self.bundle} (ONNX Runtime CPU vs PyTorch)", header, "-" * len(header)]
        for c in self.cases:
            lines.append(
                f"{c.precision:4} {c.kind:6} {_ints(c.token_lengths):>12} {_ints(c.speakers):>7} {c.speed:5.2f} "
                f"{_ints(c.frame_lengths):>13} | {c.log_durations.max_abs:10.2e} {c.frame_mismatches:4d} | "
                f"{c.mel.max_abs:9.2e} {c.mel.rel:9.2e} {_db(c.mel.snr_db):>7} | "
                f"{c.wave.max_abs:9.2e} {c.wave.rel:9.2e} {_db(c.wave.snr_db):>7} | {'yes' if c.passed else 'NO'}"
            )
        lines.append("")
        for precision in dict.fromkeys(c.precision for c in self.cases):
            lines.append(f"{precision} tolerance: {_describe(self.tolerances[precision])}")
        for c in self.cases:
            for failure in c.failures:
                lines.append(f"FAIL {c.precision} {c.kind} tokens {_ints(c.token_lengths)}: {failure}")
        lines.append("PASSED" if self.passed else "FAILED")
        return "\n".join(lines)


def _ints(values: Sequence[int]) -> str:
    return ",".join(str(v) for v in values)


def _db(value: float) -> str:
    return "inf" if value == math.inf else f"{value:.1f}"


def _describe(t: Tolerance) -> str:
    parts = [f"log-durations max-abs <= {t.log_durations_max_abs:g}"]
    if t.frame_mismatches is not None:
        parts.append(f"frame-count mismatches <= {t.frame_mismatches}")
    if t.mel_max_abs is not None:
        parts.append(f"mel max-abs <= {t.mel_max_abs:g}")
    if t.wave_max_abs is not None:
        parts.append(f"wave max-abs <= {t.wave_max_abs:g}")
    if t.mel_snr_db is not None:
        parts.append(f"mel SNR >= {t.mel_snr_db:g} dB")
    if t.wave_snr_db is not None:
        parts.append(f"wave SNR >= {t.wave_snr_db:g} dB")
    parts.append("padding exactly 0")
    return ", ".join(parts)


def _failures(t: Tolerance, logd: Metric, mismatches: int, mel: Metric, wave: Metric) -> tuple[str, ...]:
    out = []
    if not logd.max_abs <= t.log_durations_max_abs:
        out.append(f"log-durations max-abs {logd.max_abs:.2e} > {t.log_durations_max_abs:g}")
    if t.frame_mismatches is not None and mismatches > t.frame_mismatches:
        out.append(f"{mismatches} tokens got a different frame count")
    bounds = (("mel", mel, t.mel_max_abs, t.mel_snr_db), ("wave", wave, t.wave_max_abs, t.wave_snr_db))
    for name, metric, max_abs, snr in bounds:
        if max_abs is not None and not metric.max_abs <= max_abs:
            out.append(f"{name} max-abs {metric.max_abs:.2e} > {max_abs:g}")
        if snr is not None and not metric.snr_db >= snr:
            out.append(f"{name} SNR {metric.snr_db:.1f} dB < {snr:g} dB")
    for name, metric in (("log-durations", logd), ("mel", mel), ("wave", wave)):
        if metric.padding_max != 0.0:
            out.append(f"{name} padding not zero (max {metric.padding_max:.2e})")
    return tuple(out)


# ------------------------------------------------------------------------------ cases
#: (kind, token lengths, speed): single tokens, one and several rows, padding, all speeds.
CASES: tuple[tuple[str, tuple[int, ...], float], ...] = (
    ("fixed", (1,), 1.0),
    ("fixed", (12,), 1.0),
    ("random", (40,), 0.8),
    ("random", (33, 21, 6), 1.3),
    ("random", (48, 48, 17), 1.0),
)


def _case_inputs(voice: VoiceConfig, kind: str, lengths: tuple[int, ...], index: int, rng: Any) -> dict[str, Any]:
    import numpy as np

    n_symbols = int(voice.acoustic["hparams"]["n_symbols"])
    speaker_ids = sorted(voice.speakers.values())
    batch, longest = len(lengths), max(lengths)
    tokens = np.zeros((batch, longest), dtype=np.int64)
    for row, length in enumerate(lengths):
        if kind == "fixed":
            tokens[row, :length] = 1 + (np.arange(length) * 7 + row) % (n_symbols - 1)
        else:  # ids carry a language where the model has several (symbol + n_symbols * language)
            n_languages = int(voice.acoustic["hparams"].get("n_languages", 1))
            tokens[row, :length] = rng.integers(1, n_symbols, size=length) \
                + n_symbols * rng.integers(0, n_languages, size=length)
    if kind == "fixed":
        speakers = [speaker_ids[0]] * batch
    else:  # walk through the speakers, a different start per case
        speakers = [speaker_ids[(index + row) % len(speaker_ids)] for row in range(batch)]
    return {
        "tokens": tokens,
        "token_lengths": np.asarray(lengths, dtype=np.int64),
        "speakers": np.asarray(speakers, dtype=np.int64),
    }


def _graph_path(voice: VoiceConfig, graph: str, precision: str) -> Path:
    from ..voice.hashing import sha256_file

    entry = voice.onnx.get("graphs", {}).get(graph)
    if not isinstance(entry, dict) or precision not in entry:
        raise VoiceLoadError(f"{voice.path}: voice.json has no {precision} {graph} graph")
    path = bundle_file(voice.path, entry[precision], f"onnx.graphs.{graph}.{precision}", voice.path / "voice.json")
    if not path.is_file():
        raise VoiceLoadError(f"{voice.path}: missing {entry[precision]}")
    expected = entry.get("sha256", {}).get(precision)
    if expected != sha256_file(path):
        raise VoiceLoadError(f"{path}: sha256 does not match voice.json (modified or corrupt graph; re-export)")
    return path


def verify_bundle(
    bundle_dir: str | os.PathLike[str],
    *,
    precisions: Sequence[str] | None = None,
    seed: int = 0,
    num_threads: int | None = None,
    vocoder: str = "hifigan",
) -> VerifyReport:
    """Runs every case of :data:`CASES` for each precision and returns the report.

    ``vocoder`` picks which of the bundle's vocoders (and vocoder graph) is checked:
    ``"hifigan"`` or, where the bundle has one, its CPU vocoder ``"istft"``.

    ``precisions`` defaults to fp32 plus fp16 and int8 where the bundle has those graphs.
    ``num_threads`` sets ONNX Runtime's and (for the call) torch's intra-op threads. Raises
    ``VoiceLoadError`` when the bundle has no (or modified) graphs, ``InvalidInputError``
    for an unknown precision.
    """
    import torch

    from ..models.loading import load_acoustic, load_vocoder

    voice = load_voice(bundle_dir)
    if vocoder not in voice.vocoders:
        raise InvalidInputError(f"voice {voice.name!r} has no {vocoder!r} vocoder (it has: {', '.join(voice.vocoders)})")
    voice = voice.with_vocoder(vocoder)
    if not voice.onnx.get("graphs"):
        raise VoiceLoadError(f"{voice.path} has no ONNX graphs: run `ttsengine export {voice.path} -o DIR` first")
    if precisions is None:
        has_fp16 = all("fp16" in voice.onnx["graphs"].get(g, {}) for g in GRAPH_NAMES)
        has_int8 = "int8" in voice.onnx["graphs"].get("decoder", {})
        precisions = ("fp32",) + (("fp16",) if has_fp16 else ()) + (("int8",) if has_int8 else ())
    for precision in precisions:
        if precision not in VERIFY_PRECISIONS:
            raise InvalidInputError(f"precision must be one of {', '.join(VERIFY_PRECISIONS)}, got {precision!r}")
    bad_threads = isinstance(num_threads, bool) or not isinstance(num_threads, int) or num_threads < 1
    if num_threads is not None and bad_threads:
        raise InvalidInputError(f"threads must be a positive int, got {num_threads!r}")

    acoustic = load_acoustic(voice).float().eval()
    vocoder = load_vocoder(voice).float().eval()
    torch_threads = torch.get_num_threads()
    if num_threads is not None:
        torch.set_num_threads(num_threads)  # process-wide: restored below
    try:
        return _run_cases(voice, acoustic, vocoder, precisions, seed, num_threads)
    finally:
        torch.set_num_threads(torch_threads)


def _run_cases(
    voice: VoiceConfig, acoustic: Any, vocoder: Any, precisions: Sequence[str], seed: int, num_threads: int | None
) -> VerifyReport:
    import numpy as np
    import onnxruntime as ort
    import torch

    from .. import _core

    tolerances = dict(TOLERANCES) | ({"fp32": PULSE_FP32} if voice.pulse_vocoder else {})
    report = VerifyReport(voice.path, tolerances=tolerances)

    def _options() -> Any:
        options = ort.SessionOptions()
        if num_threads is not None:
            options.intra_op_num_threads = num_threads
        options.log_severity_level = 3
        # torch's and ONNX Runtime's thread pools alternate in this process: ORT threads that
        # kept spinning after each run would compete with torch's for the same cores.
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    for precision in precisions:
        sessions = {}
        for graph in GRAPH_NAMES:
            version = graph_precision(voice.onnx["graphs"].get(graph), precision)  # int8: the decoder only
            path = _graph_path(voice, graph, version)
            graph_options = _options()
            initializers = external_initializers(voice, graph, version)  # weights kept in safetensors
            values = [ort.OrtValue.ortvalue_from_numpy(a) for a in initializers.values()]
            if initializers:
                graph_options.add_external_initializers(list(initializers), values)
            sessions[graph] = ort.InferenceSession(str(path), graph_options, providers=["CPUExecutionProvider"])
            sessions[graph].initializers = values  # alive as long as the session
        rng = np.random.default_rng(seed)
        for index, (kind, lengths, speed) in enumerate(CASES):
            inputs = _case_inputs(voice, kind, lengths, index, rng)
            token_mask = np.arange(inputs["tokens"].shape[1])[None, :] < inputs["token_lengths"][:, None]
            # PyTorch reference.
            with torch.inference_mode():
                t_mask = torch.from_numpy(token_mask)
                hidden_t, logd_t = acoustic.encode(
                    torch.from_numpy(inputs["tokens"]), t_mask, torch.from_numpy(inputs["speakers"])
                )
                hidden_t, logd_t = hidden_t.numpy(), logd_t.numpy()
                frames, frame_lengths = _core.durations_to_frames(logd_t, inputs["token_lengths"], speed)
                n_frames = int(frame_lengths.max())
                frame_mask = np.arange(n_frames)[None, :] < frame_lengths[:, None]
                expanded_t = _core.expand_frames(hidden_t, frames, n_frames)
                mel_t = acoustic.decode(torch.from_numpy(expanded_t), torch.from_numpy(frame_mask))
                wave_t = vocoder(mel_t, torch.from_numpy(frame_lengths)).numpy()
                mel_t = mel_t.numpy()
            # ONNX Runtime, chained through the reference alignment (see module docstring).
            hidden_o, logd_o = sessions["encoder"].run(None, inputs)
            frames_o, _ = _core.durations_to_frames(
                np.ascontiguousarray(logd_o, dtype=np.float32), inputs["token_lengths"], speed
            )
            expanded_o = _core.expand_frames(np.ascontiguousarray(hidden_o, dtype=np.float32), frames, n_frames)
            (mel_o,) = sessions["decoder"].run(None, {"frames": expanded_o, "frame_lengths": frame_lengths})
            feeds = {"mel": mel_o, "frame_lengths": frame_lengths}
            if voice.pulse_vocoder:  # whole runs: the pulse train starts at phase 0 at frame 0
                zeros = np.zeros(len(frame_lengths))
                feeds |= {"phase": zeros.astype(np.float32), "anchor": zeros.astype(np.int64),
                          "offset": zeros.astype(np.int64)}
            wave_o = sessions["vocoder"].run(None, feeds)[0]

            hop = voice.hop_length
            sample_mask = np.arange(wave_t.shape[1])[None, :] < (frame_lengths * hop)[:, None]
            logd = Metric.of(logd_t, logd_o, token_mask)
            mel = Metric.of(np.swapaxes(mel_t, 1, 2), np.swapaxes(mel_o, 1, 2), frame_mask)
            wave = Metric.of(wave_t, wave_o, sample_mask)
            mismatches = int(np.sum((frames_o != frames) & token_mask))
            report.cases.append(
                CaseResult(
                    precision=precision,
                    kind=kind,
                    token_lengths=tuple(int(n) for n in lengths),
                    speakers=tuple(int(s) for s in inputs["speakers"]),
                    speed=speed,
                    frame_lengths=tuple(int(n) for n in frame_lengths),
                    log_durations=logd,
                    frame_mismatches=mismatches,
                    mel=mel,
                    wave=wave,
                    failures=_failures(tolerances[precision], logd, mismatches, mel, wave),
                )
            )
    logger.info("verify %s: %s", voice.path, "passed" if report.passed else "FAILED")
    return report


# ------------------------------------------------------------------------------ CLI
def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ttsengine verify DIR [--precision P ...] [--seed N] [--threads N]``."""
    parser.add_argument("bundle", metavar="DIR", help="an exported voice bundle (ttsengine export ... -o DIR)")
    parser.add_argument(
        "--precision", action="append", choices=VERIFY_PRECISIONS, default=None,
        help="graphs to check (repeatable; default: fp32, and fp16 / int8 when exported)",
    )
    parser.add_argument("--vocoder", choices=("hifigan", "istft"), default="hifigan",
                        help="which vocoder graph to check (istft: the bundle's CPU vocoder; default hifigan)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the random cases (default: 0)")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="ONNX Runtime intra-op threads")


def run(args: argparse.Namespace) -> int:
    """CLI entry: prints the table; 0 if parity holds, 1 if it does not."""
    report = verify_bundle(args.bundle, precisions=args.precision, seed=args.seed, num_threads=args.threads,
                           vocoder=args.vocoder)
    print(report.format_table())
    return 0 if report.passed else 1

"""An int8 acoustic decoder for CPUs: ``<bundle>/onnx/decoder.int8.onnx``.

The decoder is the CPU path's largest cost (its 9-wide feed-forward convolutions hold ~80 %
of its multiply-adds). ONNX Runtime's static quantization (QDQ, per-channel int8 weights,
int8 activations with MinMax ranges) turns its ``Conv`` nodes into integer kernels;
attention, layer norms and the mel projection stay fp32. The activation ranges come from
what the voice's own fp32 decoder sees while it speaks ``export/data/calibration.json``
(every speaker in turn, in each of the voice's languages), so the graph is calibrated
per voice.

Measured on the default voice (2-core x86 VM, ONNX Runtime 1.32): log-mel SNR 47.8 dB
against the fp32 graph on held-out sentences; the decoder ~1.8x faster; WER and
DistillMOS within one run's noise (BENCHMARKS.md, "Sixth round (stop 28)"). ``ttsengine verify
--precision int8`` holds it to :data:`ttsengine.export.verify.TOLERANCES` ``["int8"]``. The
default voice and clones (``ttsengine clone``) carry it; the bilingual voice does not (its
mixed-sentence CER rose 22.5 -> 27.1 %): measure a voice before giving it one.

``Conv`` only: quantizing the attention ``MatMul`` nodes as well cost words on an earlier
voice (WER 4.4 -> 5.5 %) for little more speed.
"""

from __future__ import annotations

import json
import logging
import math
import tempfile
from pathlib import Path
from typing import Any

from ..errors import BackendUnavailableError, ExportError
from ..voice import load_voice, write_voice_json
from ..voice.contract import ONNX_DIR, graph_filename

__all__ = ["CALIBRATION_FILE", "QUANTIZED_OPS", "add_int8_decoder", "calibration_sentences", "int8_mel_snr"]

logger = logging.getLogger("ttsengine")

CALIBRATION_FILE = Path(__file__).resolve().parent / "data" / "calibration.json"
#: Op types that become int8.
QUANTIZED_OPS = ("Conv",)


def _front_end_languages(voice: Any) -> tuple[str, ...]:
    from ..frontend import Frontend

    return tuple(Frontend.from_config(dict(voice.frontend)).languages)


def calibration_sentences(languages: tuple[str, ...]) -> list[tuple[str, str]]:
    """(language, sentence) pairs of the calibration set for a front end's ``languages``
    (``en-us`` takes the ``en`` sentences); English for a front end of none of them."""
    table = json.loads(CALIBRATION_FILE.read_text(encoding="utf-8"))["languages"]
    wanted = [code for code in dict.fromkeys(lang.split("-")[0] for lang in languages) if code in table] or ["en"]
    return [(code, sentence) for code in wanted for sentence in table[code]]


def _decoder_runs(bundle: Path, sentences: list[str]) -> tuple[list[dict[str, Any]], list[Any]]:
    """The fp32 decoder's inputs and mels while the voice speaks ``sentences`` (every
    speaker in turn)."""
    import numpy as np

    from ..synthesizer import Synthesizer

    synth = Synthesizer(bundle, backend="onnxruntime", device="cpu", precision="fp32", num_threads=1)
    runner = synth._pipeline.runner
    decoder = runner.decoder
    feeds: list[dict[str, Any]] = []
    mels: list[Any] = []

    def capture(expanded: Any, frame_lengths: Any, mel: Any) -> None:
        decoder(expanded, frame_lengths, mel)
        feeds.append({"frames": np.array(expanded, np.float32), "frame_lengths": np.array(frame_lengths, np.int64)})
        mels.append(np.array(mel, np.float32))

    speakers = sorted(synth.voice.speakers, key=synth.voice.speakers.__getitem__)
    runner.decoder = capture
    try:
        for index, sentence in enumerate(sentences):
            synth.synthesize(sentence, speaker=speakers[index % len(speakers)])
    finally:
        runner.decoder = decoder
    return feeds, mels


def int8_mel_snr(bundle: str | Path, sentences: list[str]) -> list[float]:
    """Per decoder run, the SNR (dB) of the int8 decoder's log-mel against the fp32 graph's
    on the same inputs, while the voice speaks ``sentences``: the int8 graph's cost, for
    model cards."""
    import numpy as np

    from ..synthesizer import Synthesizer

    feeds, mels = _decoder_runs(Path(bundle), sentences)
    runner = Synthesizer(bundle, backend="onnxruntime", device="cpu", precision="int8", num_threads=1)._pipeline.runner
    out = []
    for feed, reference in zip(feeds, mels):
        mel = np.empty_like(reference)
        runner.decoder(feed["frames"], feed["frame_lengths"], mel)
        noise = float(np.sum((mel.astype(np.float64) - reference) ** 2))
        signal = float(np.sum(reference.astype(np.float64) ** 2))
        out.append(math.inf if noise == 0 else 10 * math.log10(signal / noise))
    return out


def add_int8_decoder(bundle: str | Path) -> Path:
    """Adds ``onnx/decoder.int8.onnx`` to an exported bundle (its fp32 graphs must be there)
    and records it in voice.json (``onnx.graphs.decoder.int8``, its sha256 and how it was
    made). Returns the graph's path. Raises ExportError for a bundle without graphs and
    BackendUnavailableError without onnx / onnxruntime's quantization tools."""
    try:
        import onnxruntime as ort
        from onnxruntime.quantization import (CalibrationDataReader, CalibrationMethod, QuantFormat, QuantType,
                                              quantize_static)
    except ImportError as exc:
        raise BackendUnavailableError(f"int8 export needs onnx and onnxruntime (pip install 'ttsengine[export]'): "
                                      f"{exc}") from None
    from ..voice.hashing import sha256_file
    from ..voice.onnx import self_contained_graph

    voice = load_voice(bundle)
    graphs = voice.onnx.get("graphs") if voice.onnx else None
    if not graphs or "decoder" not in graphs:
        raise ExportError(f"{voice.path} has no exported decoder graph: run `ttsengine export` first")
    languages = _front_end_languages(voice)
    feeds, _ = _decoder_runs(voice.path, [sentence for _, sentence in calibration_sentences(languages)])
    if not feeds:
        raise ExportError(f"{voice.path}: the voice said none of the calibration sentences")

    class Feeds(CalibrationDataReader):
        def __init__(self) -> None:
            self._rows = iter(feeds)

        def get_next(self) -> dict[str, Any] | None:
            return next(self._rows, None)

    target = voice.path / ONNX_DIR / graph_filename("decoder", "int8")
    with tempfile.TemporaryDirectory(prefix=".int8-", dir=voice.path) as work:
        full = self_contained_graph(voice, "decoder", "fp32", Path(work))
        # fold the fp16-stored weights' Casts, so the quantizer sees Conv weights as initializers
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
        options.optimized_model_filepath = str(Path(work) / "folded.onnx")
        options.log_severity_level = 3
        ort.InferenceSession(str(full), options, providers=["CPUExecutionProvider"])
        quantized = Path(work) / "decoder.int8.onnx"
        quantize_logger = logging.getLogger()  # the quantizer warns on the root logger
        level = quantize_logger.level
        quantize_logger.setLevel(logging.ERROR)
        try:
            quantize_static(str(Path(work) / "folded.onnx"), str(quantized), Feeds(),
                            quant_format=QuantFormat.QDQ, op_types_to_quantize=list(QUANTIZED_OPS),
                            per_channel=True, activation_type=QuantType.QInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
        except Exception as exc:  # onnxruntime raises its own types
            raise ExportError(f"quantizing the decoder of {voice.path} failed: {exc}") from None
        finally:
            quantize_logger.setLevel(level)
        quantized.replace(target)

    content = voice.to_dict()
    content.pop("format_version", None)
    entry = content["onnx"]["graphs"]["decoder"]
    entry["int8"] = f"{ONNX_DIR}/{target.name}"
    entry["sha256"]["int8"] = sha256_file(target)
    entry["int8_calibration"] = {
        "method": "ONNX Runtime static quantization, QDQ, per-channel int8 weights, int8 activations (MinMax)",
        "ops": list(QUANTIZED_OPS),
        "sentences": f"ttsengine/export/data/calibration.json ({len(feeds)} utterances)",
    }
    write_voice_json(voice.path, content)
    logger.info("wrote %s (%.2f MB, calibrated on %d utterances)", target, target.stat().st_size / 1e6, len(feeds))
    return target

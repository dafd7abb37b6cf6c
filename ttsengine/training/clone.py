"""Voice cloning: add a new speaker to a trained voice from a few minutes of recordings.

1. The recordings are prepared (``prepare``'s cleaning, the base voice's features).
2. Durations: when the base voice has no aligner (it was trained on exact durations), each
   recording's phoneme timings are found by warping the base voice's own rendering of its
   text onto it (:func:`align_to_base`, DTW on normalised cepstra); otherwise the base
   aligner is fine-tuned along (the trainer's path).
3. Rehearsal: the base voice's renderings by each base speaker (of the recordings' texts and
   the calibration sentences) are added as training utterances whose targets are the base
   model's own mels and durations (:func:`add_rehearsal`), so fine-tuning the shared weights
   keeps the base speakers as they were (self-distillation; no base training data is needed).
4. The new speaker gets a new speaker-embedding row (the mean of the existing rows) and the
   acoustic model is fine-tuned on both; the base vocoder is kept (HiFi-GAN V1 "universal"
   is multi-speaker) unless ``vocoder_steps`` > 0. The base voice's CPU vocoder is
   fine-tuned on the new speaker's recordings (:func:`fit_cpu_vocoder`).
5. The bundle gets its ONNX graphs (fp16 weights, each network's weights stored once), so it
   runs in an onnxruntime-only install; without the export tools it says how to add them.

Recordings are checked first: under ``min_seconds`` (30 s) of speech is refused, under
``WARN_SECONDS`` (2 minutes) warned about (the likeness grows with the material); noisy
recordings (SNR estimate under ``NOISY_SNR_DB``), clipped ones (over ``CLIP_WARN_FRACTION`` of
samples at full scale; over 0.1 % they are dropped) and recordings that could not be used are
reported (:func:`input_report`): logged, written to ``VOICE_DIR/training/clone_report.json``
and passed to a ``progress`` callback.

``progress``: True shows one progress bar with an ETA on stderr; a callable gets a
:class:`CloneProgress` (stage, fraction of the whole clone, ETA in seconds, warnings) at each
stage and, throttled, during training. The ETA is known once training has timed a few steps
(before that it is None); it counts the remaining training steps at the pace measured so
far and, for an exported clone, a rough allowance for the export.

The result is a new bundle with all base speakers plus the new one (README "Voice cloning").
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ttsengine.audio import FeatureConfig
from ttsengine.errors import InvalidInputError

from .prepare import is_prepared, load_prepared, prepare_dataset
from .rendering import render_mel, text_tokens
from .variance_postfilter import DEFAULT_SCALE, Scale

__all__ = ["clone_voice", "align_to_base", "add_rehearsal", "input_report", "CloneProgress", "REHEARSAL_SOURCE",
           "MIN_SECONDS", "WARN_SECONDS", "NOISY_SNR_DB", "CLIP_WARN_FRACTION"]

logger = logging.getLogger("ttsengine")

REHEARSAL_SOURCE = "rehearsal"  # metadata "source" of the base model's own renderings
#: Least speech (seconds, after preparation) a clone is made from; below WARN_SECONDS a warning.
MIN_SECONDS = 30.0
WARN_SECONDS = 120.0
#: A recording whose SNR estimate (``prepare.estimate_snr_db``) is under this is reported as noisy.
NOISY_SNR_DB = 25.0
#: A recording with more than this fraction of its samples at full scale is reported as clipped.
CLIP_WARN_FRACTION = 1e-4
#: Shares of a clone's progress: preparation, alignment + rehearsal, training; the rest: export.
_PREPARE_END, _TRAIN_START, _TRAIN_END = 0.05, 0.10, 0.95


@dataclass(frozen=True)
class CloneProgress:
    """Where a clone stands (the ``progress`` callback of :func:`clone_voice`).

    ``stage``: "prepare", "align", "rehearse", "train", "export" or "done"; ``fraction``: of
    the whole clone, 0..1; ``eta_seconds``: None until training has timed a few steps;
    ``step`` / ``steps``: training steps done / in all; ``warnings``: input warnings so far."""

    stage: str
    fraction: float
    eta_seconds: float | None = None
    step: int = 0
    steps: int = 0
    warnings: tuple[str, ...] = ()


ProgressCallback = Callable[[CloneProgress], None]


class _ProgressBar:
    """One tqdm bar over a whole clone, with its stage and ETA (``progress=True``)."""

    def __init__(self) -> None:
        self.bar: Any = None

    def __call__(self, p: CloneProgress) -> None:
        if self.bar is None:
            from tqdm import tqdm

            self.bar = tqdm(total=1000, dynamic_ncols=True, bar_format="clone {percentage:3.0f}%|{bar}| {desc}")
        self.bar.n = round(1000 * p.fraction)
        eta = "ETA ?" if p.eta_seconds is None else f"ETA {_clock(p.eta_seconds)}"
        steps = f" {p.step}/{p.steps}" if p.stage == "train" else ""
        self.bar.set_description_str(f"{p.stage}{steps}, {eta}", refresh=True)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}" if seconds >= 3600 \
        else f"{seconds // 60}:{seconds % 60:02d}"


class _Tracker:
    """Turns stages and training steps into CloneProgress calls (training throttled to one
    call per ``every`` seconds, its last step always reported)."""

    def __init__(self, callback: ProgressCallback | None, export: bool, every: float = 0.5) -> None:
        self.callback, self.export, self.every = callback, export, every
        self.warnings: tuple[str, ...] = ()
        self.first: tuple[int, float] | None = None
        self.last_call = 0.0
        self.step_seconds: float | None = None

    def stage(self, stage: str, fraction: float, eta: float | None = None, step: int = 0, steps: int = 0) -> None:
        if self.callback is not None:
            self.last_call = time.monotonic()
            self.callback(CloneProgress(stage, min(max(fraction, 0.0), 1.0), eta, step, steps, self.warnings))

    def on_step(self, step: int, steps: int) -> None:
        now = time.monotonic()
        if self.first is None:
            self.first = (step, now)
            return
        first_step, started = self.first
        if step > first_step:
            self.step_seconds = (now - started) / (step - first_step)
        if step < steps and now - self.last_call < self.every:
            return
        eta = None
        if self.step_seconds is not None and step - first_step >= 2:
            # the ONNX export: a rough allowance of 50 training steps' time (a guess, not a measurement)
            eta = (steps - step) * self.step_seconds + (50 * self.step_seconds if self.export else 0.0)
        span = _TRAIN_END - _TRAIN_START if self.export else 1.0 - _TRAIN_START
        self.stage("train", _TRAIN_START + span * step / max(steps, 1), eta, step, steps)


def check_speech_amount(prepared: Path, min_seconds: float) -> float:
    """Seconds of the new speaker's prepared speech (rehearsal renderings excluded);
    InvalidInputError under ``min_seconds``, a warning under WARN_SECONDS."""
    items = [json.loads(line) for line in (prepared / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    seconds = sum(float(it.get("seconds", 0.0)) for it in items if it.get("source") != REHEARSAL_SOURCE)
    if seconds < min_seconds:
        raise InvalidInputError(f"{prepared}: {seconds:.0f} s of usable speech; a clone needs at least "
                                f"{min_seconds:.0f} s (2 minutes or more for a close likeness)")
    if (warning := _amount_warning(seconds)) is not None:
        logger.warning("clone: %s", warning)
    return seconds


def _amount_warning(seconds: float) -> str | None:
    if seconds < WARN_SECONDS:
        return f"only {seconds:.0f} s of speech: the likeness will be lower than with 2 minutes or more"
    return None


def input_report(prepared: Path) -> dict[str, Any]:
    """What the clone is made from and the problems found: ``{"seconds", "recordings",
    "warnings": [...], "files": [{"source", "seconds", "snr_db", "clipped_fraction"}]}``.

    Warned about: under WARN_SECONDS of speech, a recording whose SNR estimate is under
    NOISY_SNR_DB or with more than CLIP_WARN_FRACTION of its samples at full scale, and each
    recording preparation dropped (with its reason, from ``report.json``)."""
    items = [json.loads(line) for line in (prepared / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    files: dict[str, dict[str, Any]] = {}
    for it in items:
        if it.get("source") == REHEARSAL_SOURCE or str(it.get("id", "")).startswith(REHEARSAL_SOURCE + "-"):
            continue
        source = str(it.get("source", it.get("id"))).split("#")[0]
        entry = files.setdefault(source, {"source": source, "seconds": 0.0, "snr_db": it.get("snr_db"),
                                          "clipped_fraction": it.get("clipped_fraction")})
        entry["seconds"] = round(entry["seconds"] + float(it.get("seconds", 0.0)), 3)
    seconds = round(sum(f["seconds"] for f in files.values()), 2)
    warnings = [amount] if (amount := _amount_warning(seconds)) else []
    for f in files.values():
        if f["snr_db"] is not None and f["snr_db"] < NOISY_SNR_DB:
            warnings.append(f"{f['source']}: noisy (SNR estimate {f['snr_db']:.0f} dB; a quiet room gives "
                            f"{NOISY_SNR_DB + 10:.0f} dB or more): the clone learns the noise too")
        if f["clipped_fraction"] is not None and f["clipped_fraction"] > CLIP_WARN_FRACTION:
            warnings.append(f"{f['source']}: clipped ({100 * f['clipped_fraction']:.2f} % of samples at full "
                            "scale): record at a lower level")
    report_path = prepared / "report.json"
    if report_path.is_file():
        for dropped in json.loads(report_path.read_text(encoding="utf-8")).get("dropped_files", []):
            detail = f" ({dropped['detail']})" if dropped.get("detail") else ""
            warnings.append(f"{dropped['source']}: not used: {dropped['reason']}{detail}")
    return {"seconds": seconds, "recordings": len(files), "warnings": warnings, "files": list(files.values())}


def export_clone(out: Path) -> None:
    """ONNX graphs for the clone (fp16 weights, linked into the safetensors; the int8 decoder), or a warning
    saying how to add them where the export tools are missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        logger.warning("%s has no ONNX graphs (the export tools are missing): pip install 'ttsengine[export]' "
                       "&& ttsengine export %s -o %s --int8 --force", out, out, out)
        return
    from ttsengine.export.int8 import add_int8_decoder
    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice import load_voice

    export_voice(out, out, weights="fp16", force=True)
    for graph in load_voice(out).onnx.get("graphs", {}):
        link_graph_weights(out, graph)
    # the int8 decoder CPUs run, as for the base voice: measured on three clones, it brought them
    # from 1.33-1.42x to 0.92-1.21x the base voice's RTF for +0.7 WER points on average
    # (joe 5.5 -> 7.0 %, slt 2.5 -> 3.8 %, rms 6.3 -> 5.7 %); precision="fp32" runs the fp32 graphs
    add_int8_decoder(out)


def _rewrite_metadata(prepared: Path, items: list[dict[str, Any]]) -> None:
    tmp = prepared / "metadata.jsonl.tmp"
    tmp.write_text("".join(json.dumps(it, ensure_ascii=False) + "\n" for it in items), encoding="utf-8")
    os.replace(tmp, prepared / "metadata.jsonl")


def align_to_base(base: Any, model: Any, frontend: Any, prepared: str | os.PathLike[str]) -> int:
    """Adds exact per-symbol durations to every recording of ``prepared`` that has none, by
    DTW against ``model``'s rendering of its text (speaker: the base voice's default), after
    the speaker-wide frequency stretch with the least warping cost; returns how many were
    aligned. Utterances with fewer frames than tokens are left alone (the trainer skips them)."""
    from .dtw import choose_stretch, warp_durations

    root = Path(prepared)
    _, items = load_prepared(root)
    default = base.defaults.get("speaker", 0)
    speaker = int(base.speakers[default] if isinstance(default, str) else default)
    todo = []
    for it in items:
        ids = text_tokens(frontend, it["text"]) if "durations" not in it else []
        if ids and len(ids) <= it["frames"]:
            mel = np.load(root / "mels" / f"{it['id']}.npy")
            reference, ref_durations, _ = render_mel(model, ids, speaker, mel.shape[1])
            todo.append((it, ids, mel, reference, ref_durations))
    if not todo:
        return 0
    stretch = choose_stretch([(mel, reference) for _, _, mel, reference, _ in todo[:12]])
    logger.info("clone: frequency stretch %.2f against the base speaker", stretch)
    for it, ids, mel, reference, ref_durations in todo:
        it.update(token_symbols(frontend, ids))
        it["durations"] = [int(x) for x in warp_durations(mel, reference, ref_durations, stretch)]
    _rewrite_metadata(root, items)
    return len(todo)


def token_symbols(frontend: Any, ids: Sequence[int]) -> dict[str, list[str]]:
    """A prepared record's ``symbols`` for model input ``ids`` (and their ``languages`` where
    the front end has several: a model id carries its language, :meth:`Frontend.model_id`)."""
    symbols, languages = zip(*(frontend.split_model_id(i) for i in ids))
    out = {"symbols": list(symbols)}
    if len(frontend.languages) > 1:
        out["languages"] = list(languages)
    return out


def add_rehearsal(base: Any, model: Any, frontend: Any, prepared: str | os.PathLike[str],
                  fraction: float) -> int:
    """Adds the base model's renderings by each base speaker (about ``fraction`` x the number
    of recordings in all) as utterances of those speakers; returns how many. Their texts are
    drawn from the recordings' texts and the int8 calibration sentences of the front end's
    languages (``ttsengine/export/data/calibration.json``; none is a held-out benchmark
    sentence). Replaces the rehearsal items of an earlier call."""
    from ttsengine.export.int8 import calibration_sentences

    root = Path(prepared)
    _, items = load_prepared(root)
    items = [it for it in items if it.get("source") != REHEARSAL_SOURCE]
    count = int(round(fraction * len(items)))
    # the recordings' texts and the calibration sentences of the front end's languages: a wider
    # choice of words than the recordings alone holds the shared weights where the clone never goes
    texts = [it["text"] for it in items] + [s for _, s in calibration_sentences(tuple(frontend.languages))]
    speakers = sorted(dict(base.speakers).items(), key=lambda kv: kv[1])
    stats = dict(base.acoustic.get("pitch_stats") or {})
    features = FeatureConfig.from_dict(dict(base.features))
    rehearsal = []
    for k in range(count):
        name, sid = speakers[k % len(speakers)]
        text = texts[(k * 7919) % len(texts)]  # spread over the texts
        ids = text_tokens(frontend, text)
        if not ids:
            continue
        mel, durations, pitch = render_mel(model, ids, sid)
        utt_id = f"{REHEARSAL_SOURCE}-{k:04d}"
        np.save(root / "mels" / f"{utt_id}.npy", mel.astype(np.float32))
        frame_pitch = np.zeros(mel.shape[1], dtype=np.float32)
        if pitch is not None and name in stats:  # the teacher's token pitch, as raw log-F0 per frame
            st = stats[name]
            frame_pitch = np.repeat(pitch * st["log_f0_std"] + st["log_f0_mean"], durations).astype(np.float32)
        np.save(root / "pitch" / f"{utt_id}.npy", frame_pitch)
        rehearsal.append({"id": utt_id, "text": text, "speaker": name, "frames": int(mel.shape[1]),
                          "seconds": round(mel.shape[1] * features.hop_length / features.sample_rate, 3),
                          "source": REHEARSAL_SOURCE, **token_symbols(frontend, ids),
                          "durations": [int(x) for x in durations]})
    _rewrite_metadata(root, items + rehearsal)
    return len(rehearsal)


#: Regression steps of the clone's CPU vocoder (batch 16 x 32 frames: ~0.2 s each on one thread).
CPU_VOCODER_STEPS = 600


def fit_cpu_vocoder(base: Any, prepared: Path, out: Path, speaker: str, steps: int,
                    variance_scale: Scale = DEFAULT_SCALE) -> Path:
    """Fine-tunes the base voice's CPU vocoder on ``speaker``'s prepared recordings (their mels
    and waves; magnitude losses, no phase term), folds the variance postfilter for ``speaker``
    into it (:mod:`~ttsengine.training.variance_postfilter`; 1.0: none) and attaches it to the
    clone bundle ``out`` with its license line. Returns ``out``."""
    import soundfile
    import torch

    from .distill import DistillConfig, attach_cpu_vocoder, distill_vocoder

    data = out / "training" / "cpu_vocoder_data"
    data.mkdir(parents=True, exist_ok=True)
    hop = base.hop_length
    pairs = 0
    for line in (prepared / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line) if line.strip() else None
        if not item or item.get("speaker") != speaker or item.get("source") == REHEARSAL_SOURCE:
            continue
        mel = np.load(prepared / "mels" / f"{item['id']}.npy")
        wave, _ = soundfile.read(prepared / "wavs" / f"{item['id']}.wav", dtype="int16")
        frames = min(mel.shape[1], len(wave) // hop)
        np.savez(data / f"{pairs:05d}.npz", mel=mel[:, :frames].astype(np.float16), wave=wave[: frames * hop])
        pairs += 1
    if not pairs:
        raise InvalidInputError(f"{prepared}: no recordings of {speaker!r} to fit the CPU vocoder on")
    excitation = dict(base.cpu_vocoder["hparams"]).get("excitation", "none")
    config = DistillConfig(steps=steps, batch_size=16, segment_frames=32, lr=3e-4, warmup_steps=min(50, steps),
                           complex_weight=0.0, excitation=excitation, init_from=str(base.path),
                           checkpoint_every=max(steps // 2, 1), log_every=max(steps // 10, 1))
    threads = torch.get_num_threads()
    try:
        model = distill_vocoder(data, out / "training" / "cpu_vocoder", FeatureConfig.from_dict(dict(base.features)),
                                config)
    finally:
        torch.set_num_threads(threads)
    provenance: dict[str, Any] = {"fine_tuned_from": base.name, "fine_tune_steps": steps,
                                  "fine_tune_utterances": pairs}
    if variance_scale != 1.0:  # the clone's own mels are smoother than the recordings it was tuned on
        from ttsengine.voice import load_voice

        from .variance_postfilter import fold_variance_postfilter

        provenance |= fold_variance_postfilter(out, model, int(load_voice(out).speakers[speaker]), variance_scale)
    attach_cpu_vocoder(out, model, provenance)
    content = json.loads((out / "voice.json").read_text(encoding="utf-8"))
    license_section = content.get("license")
    if isinstance(license_section, dict):
        license_section.setdefault("components", []).append({
            "part": "cpu_vocoder.safetensors (fine-tuned)",
            "license": "same as the base voice's CPU vocoder",
            "origin": f"the CPU vocoder of {base.name!r}, fine-tuned by ttsengine on {speaker!r}'s recordings"})
        from ttsengine.voice import write_voice_json

        content.pop("format_version", None)
        write_voice_json(out, content)
    logger.info("clone: CPU vocoder fine-tuned on %d recordings for %d steps", pairs, steps)
    return out


def clone_voice(base_voice: str | os.PathLike[str], data_dir: str | os.PathLike[str], speaker: str,
                out_dir: str | os.PathLike[str], *, steps: int = 1200, vocoder_steps: int = 0,
                batch_size: int = 8, lr: float = 6e-4, rehearsal: float = 1.0, device: str = "auto",
                resume: bool = False, progress: bool | ProgressCallback = True,
                prepared_dir: str | os.PathLike[str] | None = None,
                min_seconds: float = MIN_SECONDS, export: bool = True,
                cpu_vocoder_steps: int = CPU_VOCODER_STEPS, **overrides: object) -> Path:
    """Prepares ``data_dir`` (unless it already is a prepared directory), adds ``speaker``
    to ``base_voice``, fine-tunes and exports (module docstring); returns the new bundle
    directory.

    ``rehearsal``: base-speaker renderings per recording (0 turns rehearsal off).
    ``min_seconds``: least speech accepted. ``export``: write the ONNX graphs.
    ``cpu_vocoder_steps``: where the base voice has a CPU vocoder, it is fine-tuned on the
    new speaker's recordings for this many steps (:func:`fit_cpu_vocoder`; 0: the clone has
    none and runs HiFi-GAN on CPUs too).
    ``progress``: True: a progress bar with ETA on stderr; False: none; a callable: gets a
    :class:`CloneProgress` at each stage and during training."""
    bar = _ProgressBar() if progress is True else None
    callback = bar if bar is not None else (progress if callable(progress) else None)
    try:
        return _clone(base_voice, data_dir, speaker, out_dir, steps=steps, vocoder_steps=vocoder_steps,
                      batch_size=batch_size, lr=lr, rehearsal=rehearsal, device=device, resume=resume,
                      tracker=_Tracker(callback, export), prepared_dir=prepared_dir, min_seconds=min_seconds,
                      export=export, cpu_vocoder_steps=cpu_vocoder_steps, **overrides)
    finally:
        if bar is not None:
            bar.close()


def _clone(base_voice: str | os.PathLike[str], data_dir: str | os.PathLike[str], speaker: str,
           out_dir: str | os.PathLike[str], *, steps: int, vocoder_steps: int, batch_size: int, lr: float,
           rehearsal: float, device: str, resume: bool, tracker: _Tracker,
           prepared_dir: str | os.PathLike[str] | None, min_seconds: float, export: bool,
           cpu_vocoder_steps: int = 0, **overrides: object) -> Path:
    from ttsengine.models.loading import load_acoustic
    from ttsengine.frontend import Frontend
    from ttsengine.voice import load_voice

    from .trainer import ALIGNER_WEIGHTS, TrainConfig, Trainer

    if not speaker or not speaker.strip():
        raise InvalidInputError("--speaker must be a non-empty name")
    if not 0.0 <= rehearsal <= 4.0:
        raise InvalidInputError(f"rehearsal must be in [0, 4], got {rehearsal}")
    base = load_voice(base_voice)
    if not base.trained:
        logger.warning("base voice %s is untrained: the clone will not sound like speech", base.name)
    if speaker in base.speakers:
        logger.warning("speaker %r already exists in %s: fine-tuning its row", speaker, base.name)
    out = Path(out_dir)
    tracker.stage("prepare", 0.0)
    if is_prepared(data_dir):
        prepared = Path(data_dir)
    else:
        prepared = Path(prepared_dir) if prepared_dir is not None else out / "training" / "prepared"
        if not is_prepared(prepared):
            summary = prepare_dataset(data_dir, prepared, features=FeatureConfig.from_dict(dict(base.features)),
                                      speaker=speaker, progress=False)
            logger.info("clone: prepared %d utterances (%.1f min)", summary["kept"], summary["kept_seconds"] / 60)
    check_speech_amount(prepared, min_seconds)
    report = input_report(prepared)
    for warning in report["warnings"]:
        if warning != _amount_warning(report["seconds"]):  # check_speech_amount logged that one
            logger.warning("clone: %s", warning)
    tracker.warnings = tuple(report["warnings"])
    (out / "training").mkdir(parents=True, exist_ok=True)
    (out / "training" / "clone_report.json").write_text(
        json.dumps({"speaker": speaker, **report}, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tracker.stage("align", _PREPARE_END)
    # both steps are idempotent (only unaligned recordings; rehearsal rewritten identically),
    # so a resumed clone that stopped before training finishes them
    frontend = Frontend.from_config(dict(base.frontend))
    model = load_acoustic(base).eval()
    if not (base.path / ALIGNER_WEIGHTS).is_file():
        n = align_to_base(base, model, frontend, prepared)
        logger.info("clone: %d recordings aligned to the base voice's rendering (DTW)", n)
    tracker.stage("rehearse", (_PREPARE_END + _TRAIN_START) / 2)
    n = add_rehearsal(base, model, frontend, prepared, rehearsal)
    logger.info("clone: %d rehearsal utterances of the base speakers", n)
    config = TrainConfig(steps=steps, vocoder_steps=vocoder_steps, batch_size=batch_size, lr=lr,
                         device=device, progress=False, **overrides)  # type: ignore[arg-type]
    trainer = Trainer(prepared, out, config, base_voice=base.path, new_speaker=speaker, resume=resume,
                      on_step=tracker.on_step)
    tracker.stage("train", _TRAIN_START, None, trainer.step, trainer.total_steps)
    result = trainer.run()
    if result is None:  # run() returns None only when stopped early (stop_at), never here
        raise RuntimeError(f"{out}: training ended without writing the clone")
    if base.cpu_vocoder and cpu_vocoder_steps > 0:
        tracker.stage("cpu vocoder", _TRAIN_END, None, trainer.step, trainer.total_steps)
        fit_cpu_vocoder(base, prepared, Path(result), speaker, cpu_vocoder_steps)
    if export:
        tracker.stage("export", _TRAIN_END, None, trainer.step, trainer.total_steps)
        export_clone(Path(result))
    tracker.stage("done", 1.0, 0.0, trainer.step, trainer.total_steps)
    return result

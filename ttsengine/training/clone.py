"""Voice cloning: add a new speaker to a trained voice from a few minutes of recordings.

1. The recordings are prepared (``prepare``'s cleaning, the base voice's features).
2. Durations: when the base voice has no aligner (it was trained on exact durations), each
   recording's phoneme timings are found by warping the base voice's own rendering of its
   text onto it (:func:`align_to_base`, DTW on normalised cepstra); otherwise the base
   aligner is fine-tuned along (the trainer's path).
3. Rehearsal: the base voice's renderings of the same texts by each base speaker are added as
   training utterances whose targets are the base model's own mels and durations
   (:func:`add_rehearsal`), so fine-tuning the shared weights keeps the base speakers as
   they were (self-distillation; no base training data is needed).
4. The new speaker gets a new speaker-embedding row (the mean of the existing rows) and the
   acoustic model is fine-tuned on both; the base vocoder is kept (HiFi-GAN V1 "universal"
   is multi-speaker) unless ``vocoder_steps`` > 0. A CPU vocoder distilled on the base
   speaker's mels is not carried over (it has not heard the new speaker).
5. The bundle gets its ONNX graphs (fp16 weights, each network's weights stored once), so it
   runs in an onnxruntime-only install; without the export tools it says how to add them.

Recordings are checked first: under ``min_seconds`` (30 s) of speech is refused, under
``WARN_SECONDS`` (2 minutes) warned about (the likeness grows with the material).
The result is a new bundle with all base speakers plus the new one (README "Voice cloning").
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path
from typing import Any

import numpy as np

from ttsengine.audio import FeatureConfig
from ttsengine.errors import InvalidInputError

from .prepare import is_prepared, load_prepared, prepare_dataset

__all__ = ["clone_voice", "align_to_base", "add_rehearsal", "REHEARSAL_SOURCE", "MIN_SECONDS", "WARN_SECONDS"]

logger = logging.getLogger("ttsengine")

REHEARSAL_SOURCE = "rehearsal"  # metadata "source" of the base model's own renderings
#: Least speech (seconds, after preparation) a clone is made from; below WARN_SECONDS a warning.
MIN_SECONDS = 30.0
WARN_SECONDS = 120.0


def check_speech_amount(prepared: Path, min_seconds: float) -> float:
    """Seconds of the new speaker's prepared speech (rehearsal renderings excluded);
    InvalidInputError under ``min_seconds``, a warning under WARN_SECONDS."""
    items = [json.loads(line) for line in (prepared / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
             if line.strip()]
    seconds = sum(float(it.get("seconds", 0.0)) for it in items if it.get("source") != REHEARSAL_SOURCE)
    if seconds < min_seconds:
        raise InvalidInputError(f"{prepared}: {seconds:.0f} s of usable speech; a clone needs at least "
                                f"{min_seconds:.0f} s (2 minutes or more for a close likeness)")
    if seconds < WARN_SECONDS:
        logger.warning("clone: only %.0f s of speech: the likeness will be lower than with 2 minutes or more",
                       seconds)
    return seconds


def export_clone(out: Path) -> None:
    """ONNX graphs for the clone (fp16 weights, linked into the safetensors), or a warning
    saying how to add them where the export tools are missing."""
    try:
        import onnx  # noqa: F401
    except ImportError:
        logger.warning("%s has no ONNX graphs (the export tools are missing): pip install 'ttsengine[export]' "
                       "&& ttsengine export %s -o %s --force", out, out, out)
        return
    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice import load_voice

    export_voice(out, out, weights="fp16", force=True)
    for graph in load_voice(out).onnx.get("graphs", {}):
        link_graph_weights(out, graph)


def _render(model: Any, tokens: list[int], speaker: int, n_frames: int | None = None) -> tuple[Any, ...]:
    """The base model's mel [n_mels, F], frames per token and token pitch of ``tokens``;
    with ``n_frames`` the predicted durations are stretched to that many frames."""
    import torch

    from ttsengine.models.acoustic import length_regulate

    with torch.no_grad():
        tok = torch.as_tensor(np.asarray(tokens, dtype=np.int64))[None]
        mask = torch.ones_like(tok, dtype=torch.bool)
        hidden, log_d, pitch, _ = model._encode(tok, mask, torch.tensor([speaker]), None, None, 0.0)
        d = (log_d[0].double().exp() - 1).clamp(min=0).numpy()
        if n_frames is not None:
            d = d * (n_frames / max(float(d.sum()), 1e-6))
        ends = np.round(np.cumsum(d)).astype(np.int64)  # cumulative rounding keeps the total
        durations = np.diff(np.concatenate(([0], ends)))
        if durations.sum() == 0:
            durations[-1] = 1
        frames, frame_mask = length_regulate(hidden, torch.from_numpy(durations)[None])
        mel = model.decode(frames, frame_mask)[0].numpy()
    return mel, durations, (None if pitch is None else pitch[0].numpy())


def _tokens(frontend: Any, text: str) -> list[int]:
    try:
        return [i for seg in frontend.segments(text) for i in seg.ids]
    except InvalidInputError:
        return []


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
        ids = _tokens(frontend, it["text"]) if "durations" not in it else []
        if ids and len(ids) <= it["frames"]:
            mel = np.load(root / "mels" / f"{it['id']}.npy")
            reference, ref_durations, _ = _render(model, ids, speaker, mel.shape[1])
            todo.append((it, ids, mel, reference, ref_durations))
    if not todo:
        return 0
    stretch = choose_stretch([(mel, reference) for _, _, mel, reference, _ in todo[:12]])
    logger.info("clone: frequency stretch %.2f against the base speaker", stretch)
    for it, ids, mel, reference, ref_durations in todo:
        it["symbols"] = [frontend.symbols[i] for i in ids]
        it["durations"] = [int(x) for x in warp_durations(mel, reference, ref_durations, stretch)]
    _rewrite_metadata(root, items)
    return len(todo)


def add_rehearsal(base: Any, model: Any, frontend: Any, prepared: str | os.PathLike[str],
                  fraction: float) -> int:
    """Adds the base model's renderings of the recordings' texts by each base speaker (about
    ``fraction`` x the number of recordings in all) as utterances of those speakers;
    returns how many. Replaces the rehearsal items of an earlier call."""
    root = Path(prepared)
    _, items = load_prepared(root)
    items = [it for it in items if it.get("source") != REHEARSAL_SOURCE]
    texts = [it["text"] for it in items]
    count = int(round(fraction * len(texts)))
    speakers = sorted(dict(base.speakers).items(), key=lambda kv: kv[1])
    stats = dict(base.acoustic.get("pitch_stats") or {})
    features = FeatureConfig.from_dict(dict(base.features))
    rehearsal = []
    for k in range(count):
        name, sid = speakers[k % len(speakers)]
        text = texts[(k * 7919) % len(texts)]  # spread over the texts
        ids = _tokens(frontend, text)
        if not ids:
            continue
        mel, durations, pitch = _render(model, ids, sid)
        utt_id = f"{REHEARSAL_SOURCE}-{k:04d}"
        np.save(root / "mels" / f"{utt_id}.npy", mel.astype(np.float32))
        frame_pitch = np.zeros(mel.shape[1], dtype=np.float32)
        if pitch is not None and name in stats:  # the teacher's token pitch, as raw log-F0 per frame
            st = stats[name]
            frame_pitch = np.repeat(pitch * st["log_f0_std"] + st["log_f0_mean"], durations).astype(np.float32)
        np.save(root / "pitch" / f"{utt_id}.npy", frame_pitch)
        rehearsal.append({"id": utt_id, "text": text, "speaker": name, "frames": int(mel.shape[1]),
                          "seconds": round(mel.shape[1] * features.hop_length / features.sample_rate, 3),
                          "source": REHEARSAL_SOURCE, "symbols": [frontend.symbols[i] for i in ids],
                          "durations": [int(x) for x in durations]})
    _rewrite_metadata(root, items + rehearsal)
    return len(rehearsal)


def clone_voice(base_voice: str | os.PathLike[str], data_dir: str | os.PathLike[str], speaker: str,
                out_dir: str | os.PathLike[str], *, steps: int = 1500, vocoder_steps: int = 0,
                batch_size: int = 8, lr: float = 3e-4, rehearsal: float = 0.5, device: str = "auto",
                resume: bool = False, progress: bool = True, prepared_dir: str | os.PathLike[str] | None = None,
                min_seconds: float = MIN_SECONDS, export: bool = True, **overrides: object) -> Path:
    """Prepares ``data_dir`` (unless it already is a prepared directory), adds ``speaker``
    to ``base_voice``, fine-tunes and exports (module docstring); returns the new bundle
    directory.

    ``rehearsal``: base-speaker renderings per recording (0 turns rehearsal off).
    ``min_seconds``: least speech accepted. ``export``: write the ONNX graphs."""
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
    if is_prepared(data_dir):
        prepared = Path(data_dir)
    else:
        prepared = Path(prepared_dir) if prepared_dir is not None else out / "training" / "prepared"
        if not is_prepared(prepared):
            summary = prepare_dataset(data_dir, prepared, features=FeatureConfig.from_dict(dict(base.features)),
                                      speaker=speaker, progress=progress)
            logger.info("clone: prepared %d utterances (%.1f min)", summary["kept"], summary["kept_seconds"] / 60)
    check_speech_amount(prepared, min_seconds)
    # both steps are idempotent (only unaligned recordings; rehearsal rewritten identically),
    # so a resumed clone that stopped before training finishes them
    frontend = Frontend.from_config(dict(base.frontend))
    model = load_acoustic(base).eval()
    if not (base.path / ALIGNER_WEIGHTS).is_file():
        n = align_to_base(base, model, frontend, prepared)
        logger.info("clone: %d recordings aligned to the base voice's rendering (DTW)", n)
    n = add_rehearsal(base, model, frontend, prepared, rehearsal)
    logger.info("clone: %d rehearsal utterances of the base speakers", n)
    config = TrainConfig(steps=steps, vocoder_steps=vocoder_steps, batch_size=batch_size, lr=lr,
                         device=device, progress=progress, **overrides)  # type: ignore[arg-type]
    trainer = Trainer(prepared, out, config, base_voice=base.path, new_speaker=speaker, resume=resume)
    result = trainer.run()
    if result is None:  # run() returns None only when stopped early (stop_at), never here
        raise RuntimeError(f"{out}: training ended without writing the clone")
    if export:
        export_clone(Path(result))
    return result

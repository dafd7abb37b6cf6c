"""Voice cloning: fine-tune a trained multi-speaker voice on a few minutes of a new speaker.

The new speaker gets a new row of the speaker embedding (id = number of rows so far,
initialised to the mean of the existing rows); the acoustic model (and the aligner, when
the base bundle has one) is fine-tuned on the new data; the base vocoder is kept unless
``vocoder_steps`` > 0. The result is a new bundle with all base speakers plus the new one.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from ttsengine.audio import FeatureConfig
from ttsengine.errors import InvalidInputError

from .prepare import is_prepared, prepare_dataset

__all__ = ["clone_voice"]

logger = logging.getLogger("ttsengine")


def clone_voice(base_voice: str | os.PathLike[str], data_dir: str | os.PathLike[str], speaker: str,
                out_dir: str | os.PathLike[str], *, steps: int = 2000, vocoder_steps: int = 0,
                batch_size: int = 16, lr: float = 1e-4, device: str = "auto", resume: bool = False,
                progress: bool = True, prepared_dir: str | os.PathLike[str] | None = None,
                **overrides: object) -> Path:
    """Prepares ``data_dir`` (unless it already is a prepared directory), adds ``speaker``
    to ``base_voice`` and fine-tunes; returns the new bundle directory."""
    from ttsengine.voice import load_voice

    from .trainer import TrainConfig, Trainer

    if not speaker or not speaker.strip():
        raise InvalidInputError("--speaker must be a non-empty name")
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
    config = TrainConfig(steps=steps, vocoder_steps=vocoder_steps, batch_size=batch_size, lr=lr,
                         device=device, progress=progress, **overrides)  # type: ignore[arg-type]
    trainer = Trainer(prepared, out, config, base_voice=base.path, new_speaker=speaker, resume=resume)
    result = trainer.run()
    assert result is not None
    return result

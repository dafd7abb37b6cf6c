"""The base acoustic model's own rendering of a text: tokens, and mel / durations / pitch
(used by cloning's alignment and rehearsal, and by the CPU vocoder's variance postfilter)."""

from __future__ import annotations

from typing import Any

import numpy as np

from ttsengine.errors import InvalidInputError

__all__ = ["render_mel", "text_tokens"]


def render_mel(model: Any, tokens: list[int], speaker: int, n_frames: int | None = None) -> tuple[Any, ...]:
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


def text_tokens(frontend: Any, text: str) -> list[int]:
    """The model ids of ``text`` through ``frontend`` ([] where it has nothing it can say)."""
    try:
        return [i for seg in frontend.segments(text) for i in frontend.model_ids(seg)]
    except InvalidInputError:
        return []

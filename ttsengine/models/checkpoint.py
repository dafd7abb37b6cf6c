"""Loading a state dict into a model with one clear error for every kind of mismatch."""

from __future__ import annotations

from typing import Mapping

import torch

from ..errors import VoiceLoadError

__all__ = ["load_state_checked"]


def load_state_checked(
    model: torch.nn.Module, state: Mapping[str, torch.Tensor], where: str, context: str = ""
) -> torch.nn.Module:
    """Loads ``state`` into ``model`` (cast to the model's dtypes) and returns it in eval mode.

    Raises :class:`VoiceLoadError` naming ``where`` (and ``context``, e.g. the config that
    implied the model) for missing keys, unexpected keys, a shape mismatch, weights that
    are not floating point (an int tensor would be cast silently) or NaN / infinite values
    (every request would return NaN audio).
    """
    expected = model.state_dict()
    missing = sorted(set(expected) - set(state))
    unexpected = sorted(set(state) - set(expected))
    if missing or unexpected:
        raise VoiceLoadError(
            f"{where} does not match {context or 'the model'}: missing keys {missing[:8]}"
            f"{' ...' if len(missing) > 8 else ''}, unexpected keys {unexpected[:8]}"
            f"{' ...' if len(unexpected) > 8 else ''}"
        )
    bad = [
        f"{key}: weights {tuple(state[key].shape)} vs model {tuple(tensor.shape)}"
        for key, tensor in expected.items()
        if tuple(state[key].shape) != tuple(tensor.shape)
    ]
    if bad:
        raise VoiceLoadError(f"{where}: shape mismatch with {context or 'the model'}: " + "; ".join(bad[:8]))
    not_float = [f"{key}: {state[key].dtype}" for key in expected if not state[key].is_floating_point()]
    if not_float:
        raise VoiceLoadError(
            f"{where}: weights must be floating point, found dtype " + ", ".join(not_float[:8])
            + (" ..." if len(not_float) > 8 else "")
        )
    non_finite = [key for key in expected if not bool(torch.isfinite(state[key]).all())]
    if non_finite:
        raise VoiceLoadError(
            f"{where}: NaN or infinite values in {len(non_finite)} tensors ({', '.join(non_finite[:8])}"
            f"{' ...' if len(non_finite) > 8 else ''}): the weights are corrupt or diverged in training"
        )
    model.load_state_dict({k: v.to(expected[k].dtype) for k, v in state.items()}, strict=True)
    return model.eval()

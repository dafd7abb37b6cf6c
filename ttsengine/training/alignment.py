"""Learned text-to-mel alignment (RAD-TTS / FastPitch 1.1 style), trained jointly with the
acoustic model so that a user needs only audio and text.

- :class:`Aligner`: text-embedding conv stack (keys) and mel conv stack (queries); the
  attention logits are the negative scaled squared L2 distance between them, log-softmaxed
  over the tokens, optionally plus the log of a beta-binomial diagonal prior.
- :func:`forward_sum_loss`: the CTC "forward-sum" loss over all monotonic alignments.
- :func:`binarization_loss`: pulls the soft alignment towards the hard one.
- :func:`monotonic_alignment_search`: the hard (Viterbi) alignment, by the native
  ``_core`` kernel (GIL released), returned as per-token durations.

The aligner is its own module: its weights are kept next to, never inside,
``acoustic.safetensors`` (``aligner.safetensors`` in bundles written by the trainer).
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor, nn

from ttsengine.errors import InvalidInputError

__all__ = [
    "AlignerConfig",
    "Aligner",
    "beta_binomial_prior",
    "forward_sum_loss",
    "binarization_loss",
    "monotonic_alignment_search",
    "durations_to_attention",
]

logger = logging.getLogger("ttsengine")


@dataclass(frozen=True, kw_only=True)
class AlignerConfig:
    """Hyper-parameters of :class:`Aligner` (FastPitch 1.1 uses 512 / 80 / 80 / 0.0005)."""

    n_symbols: int
    n_mels: int = 80
    embed_dim: int = 128
    hidden_dim: int = 128
    attention_dim: int = 80
    temperature: float = 0.0005

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AlignerConfig:
        return cls(**d)


class Aligner(nn.Module):
    """Soft text-to-mel attention: (tokens, mel) -> log-probabilities [B, F, T] over tokens."""

    def __init__(self, config: AlignerConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.embedding = nn.Embedding(c.n_symbols, c.embed_dim, padding_idx=0)
        self.key_proj = nn.Sequential(
            nn.Conv1d(c.embed_dim, c.hidden_dim, 3, padding=1), nn.ReLU(),
            nn.Conv1d(c.hidden_dim, c.attention_dim, 1),
        )
        self.query_proj = nn.Sequential(
            nn.Conv1d(c.n_mels, c.hidden_dim, 3, padding=1), nn.ReLU(),
            nn.Conv1d(c.hidden_dim, c.hidden_dim, 1), nn.ReLU(),
            nn.Conv1d(c.hidden_dim, c.attention_dim, 1),
        )

    def forward(self, tokens: Tensor, token_mask: Tensor, mel: Tensor,
                prior: Tensor | None = None) -> Tensor:
        """tokens Long[B,T], token_mask Bool[B,T], mel [B,n_mels,F], prior [B,F,T] | None
        -> log-probabilities [B, F, T] (log-softmax over tokens; -inf-like at padded tokens)."""
        # ids of a voice with several languages carry one (id + n_symbols * language): the
        # aligner reads the symbol only
        emb = self.embedding(torch.remainder(tokens, self.config.n_symbols)).masked_fill(~token_mask[..., None], 0.0).transpose(1, 2)
        keys = self.key_proj(emb)  # [B, A, T]
        queries = self.query_proj(mel)  # [B, A, F]
        dist = (queries.unsqueeze(-1) - keys.unsqueeze(2)).pow(2).sum(1)  # [B, F, T]
        pad = ~token_mask[:, None, :]
        logits = F.log_softmax((-self.config.temperature * dist).masked_fill(pad, -1e4), dim=-1)
        if prior is not None:
            logits = F.log_softmax((logits + torch.log(prior + 1e-8)).masked_fill(pad, -1e4), dim=-1)
        return logits


def beta_binomial_prior(text_lengths: Tensor, mel_lengths: Tensor, max_text: int, max_mel: int,
                        scaling: float = 1.0) -> Tensor:
    """The RAD-TTS diagonal prior [B, max_mel, max_text]: frame i of an item with F frames
    and T tokens gets BetaBinomial(T - 1, a = s (i + 1), b = s (F - i)) over the tokens."""
    B = text_lengths.shape[0]
    device = text_lengths.device
    k = torch.arange(max_text, device=device, dtype=torch.float64)[None, None, :]  # token index
    i = torch.arange(max_mel, device=device, dtype=torch.float64)[None, :, None]
    n = (text_lengths.double() - 1)[:, None, None]
    frames = mel_lengths.double()[:, None, None]
    a = scaling * (i + 1)
    b = scaling * (frames - i)
    b = torch.clamp(b, min=1e-3)
    log_pmf = (torch.lgamma(n + 1) - torch.lgamma(k + 1) - torch.lgamma(torch.clamp(n - k, min=0) + 1)
               + torch.lgamma(k + a) + torch.lgamma(torch.clamp(n - k, min=0) + b) - torch.lgamma(n + a + b)
               - (torch.lgamma(a) + torch.lgamma(b) - torch.lgamma(a + b)))
    valid = (k <= n) & (i < frames)
    prior = torch.where(valid, torch.exp(log_pmf), torch.zeros((), dtype=torch.float64, device=device))
    return prior.float().reshape(B, max_mel, max_text)


def forward_sum_loss(log_probs: Tensor, text_lengths: Tensor, mel_lengths: Tensor,
                     blank_logprob: float = -1.0) -> Tensor:
    """CTC forward-sum loss of attention log-probabilities [B, F, T] (mean over the batch,
    each item normalised by its token count, as in RAD-TTS)."""
    padded = F.pad(log_probs, (1, 0), value=blank_logprob)  # blank = class 0
    total = log_probs.new_zeros(())
    for b in range(log_probs.shape[0]):
        t_len, f_len = int(text_lengths[b]), int(mel_lengths[b])
        target = torch.arange(1, t_len + 1, device=log_probs.device)[None]
        lp = padded[b, :f_len, : t_len + 1]
        lp = F.log_softmax(lp.float(), dim=-1)[:, None, :]  # [F, 1, C]
        total = total + F.ctc_loss(lp, target, input_lengths=torch.tensor([f_len]),
                                   target_lengths=torch.tensor([t_len]), blank=0,
                                   reduction="sum", zero_infinity=True) / t_len
    return total / log_probs.shape[0]


def binarization_loss(hard: Tensor, soft_log_probs: Tensor) -> Tensor:
    """-sum(hard * log soft) / sum(hard): hard [B, F, T] 0/1, soft log-probs [B, F, T]."""
    log_sum = (soft_log_probs.float().clamp(min=-1e4) * hard).sum()
    return -log_sum / hard.sum().clamp(min=1.0)


def monotonic_alignment_search(log_probs: np.ndarray | Tensor, mel_lengths: Any = None,
                               text_lengths: Any = None) -> np.ndarray:
    """Hard monotonic alignment by the native kernel: [F, T] -> durations int32 [T], or
    [B, F, T] (+ lengths) -> int32 [B, T]. Raises InvalidInputError when a row has fewer
    frames than tokens."""
    from ttsengine import _core

    if isinstance(log_probs, Tensor):
        log_probs = log_probs.detach().float().cpu().numpy()
    arr = np.ascontiguousarray(log_probs, dtype=np.float32)

    def _lengths(x: Any) -> np.ndarray | None:
        if x is None:
            return None
        if isinstance(x, Tensor):
            x = x.detach().cpu().numpy()
        return np.ascontiguousarray(x, dtype=np.int64)

    try:
        return _core.monotonic_alignment_search(arr, _lengths(mel_lengths), _lengths(text_lengths))
    except ValueError as exc:
        raise InvalidInputError(str(exc)) from None


def durations_to_attention(durations: Tensor, max_mel: int) -> Tensor:
    """Durations Long [B, T] -> hard attention 0/1 [B, max_mel, T]."""
    ends = torch.cumsum(durations, dim=1)  # [B, T]
    starts = ends - durations
    pos = torch.arange(max_mel, device=durations.device)[None, :, None]
    return ((pos >= starts[:, None, :]) & (pos < ends[:, None, :])).float()

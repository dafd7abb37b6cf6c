"""Non-autoregressive acoustic model (FastSpeech 2 / FastPitch family).

Data path at inference::

    tokens --encode--> hidden [B,T,D], log_durations [B,T]
           --durations_from_log + rounding + length regulator--> frames [B,F,D]
           --decode--> mel [B, n_mels, F]

Masks are boolean tensors, True = real position. Padded positions are zeroed before
every convolution that reads a neighbour and attention never reads them (see
:mod:`.layers`), so a padded batch equals its items run alone (to float rounding), and
the outputs are exactly 0 at padding. No Python loops over the sequence length and no
branching on tensor values inside ``encode`` / ``decode`` (ONNX / TensorRT friendly).
"""

from __future__ import annotations

import dataclasses
import logging
import math
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

from ttsengine.errors import InvalidInputError

from .layers import FFTBlock, VariancePredictor, masked_fill_zero, sinusoidal_positions

__all__ = [
    "AcousticConfig",
    "ACOUSTIC_SIZES",
    "acoustic_config",
    "AcousticModel",
    "durations_from_log",
    "length_regulate",
]

logger = logging.getLogger("ttsengine")


@dataclass(frozen=True, kw_only=True)
class AcousticConfig:
    """Hyper-parameters of :class:`AcousticModel` (stored in voice.json)."""

    n_symbols: int
    n_speakers: int
    speaker_dim: int = 192
    d_model: int
    n_heads: int
    enc_layers: int
    dec_layers: int
    ffn_dim: int
    ffn_kernels: tuple[int, int] = (9, 1)
    #: The decoder's own FFN kernels (None: ``ffn_kernels``); a distilled CPU decoder
    #: may use narrower ones than the encoder.
    decoder_ffn_kernels: tuple[int, int] | None = None
    dropout: float = 0.1
    duration_filter: int
    duration_kernel: int = 3
    use_pitch: bool = False
    use_energy: bool = False
    n_mels: int = 80
    init_frames_per_token: float = 6.0
    #: Languages of a shared symbol table (a Mandarin + English voice: 2). With more than
    #: one, a token id carries its language: ``symbol + n_symbols * language`` (see
    #: :meth:`ttsengine.frontend.Frontend.model_ids`), and a language embedding is added to the symbol's.
    n_languages: int = 1

    def __post_init__(self) -> None:
        object.__setattr__(self, "ffn_kernels", tuple(int(k) for k in self.ffn_kernels))
        if self.decoder_ffn_kernels is not None:
            object.__setattr__(self, "decoder_ffn_kernels", tuple(int(k) for k in self.decoder_ffn_kernels))
        positive = ("n_symbols", "n_speakers", "speaker_dim", "d_model", "n_heads", "ffn_dim",
                    "duration_filter", "duration_kernel", "n_mels", "n_languages")
        for name in positive:
            if int(getattr(self, name)) < 1:
                raise ValueError(f"AcousticConfig.{name} must be >= 1, got {getattr(self, name)}")
        if self.enc_layers < 0 or self.dec_layers < 0:
            raise ValueError("AcousticConfig.enc_layers / dec_layers must be >= 0")
        if self.d_model % self.n_heads or self.d_model % 2:
            raise ValueError(
                f"AcousticConfig.d_model {self.d_model} must be even and divisible by "
                f"n_heads {self.n_heads}"
            )
        for name in ("ffn_kernels", "decoder_ffn_kernels"):
            kernels = getattr(self, name)
            if kernels is not None and (len(kernels) != 2 or any(k < 1 or k % 2 == 0 for k in kernels)):
                raise ValueError(f"AcousticConfig.{name} must be two odd ints, got {kernels}")
        if self.duration_kernel % 2 == 0:
            raise ValueError(f"AcousticConfig.duration_kernel must be odd, got {self.duration_kernel}")
        if not 0.0 <= self.dropout < 1.0:
            raise ValueError(f"AcousticConfig.dropout must be in [0, 1), got {self.dropout}")
        if self.init_frames_per_token < 0:
            raise ValueError("AcousticConfig.init_frames_per_token must be >= 0")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able dict (tuples become lists)."""
        d = dataclasses.asdict(self)
        d["ffn_kernels"] = list(self.ffn_kernels)
        if self.decoder_ffn_kernels is None:
            del d["decoder_ffn_kernels"]  # absent = the encoder's (voice.json stays as before)
        else:
            d["decoder_ffn_kernels"] = list(self.decoder_ffn_kernels)
        if self.n_languages == 1:
            del d["n_languages"]  # one language: voice.json stays as before
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> AcousticConfig:
        """Inverse of :meth:`to_dict`.

        Raises ValueError on unknown keys and on missing required keys (keys whose field
        has a default may be absent and take the default).
        """
        return _from_dict(cls, d)


def _from_dict(cls: type, d: dict[str, Any]) -> Any:
    if not isinstance(d, dict):
        raise ValueError(f"{cls.__name__}.from_dict expects a dict, got {type(d).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(d) - set(fields))
    if unknown:
        raise ValueError(f"{cls.__name__}: unknown keys {unknown}")
    required = [
        n for n, f in fields.items()
        if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING
    ]
    missing = [n for n in required if n not in d]
    if missing:
        raise ValueError(f"{cls.__name__}: missing keys {missing}")
    try:
        return cls(**d)
    except TypeError as exc:  # e.g. a list where an int belongs
        raise ValueError(f"{cls.__name__}: {exc}") from exc


ACOUSTIC_SIZES: dict[str, dict[str, Any]] = {
    # For tests only: pitch + energy on so the tests exercise every code path.
    "tiny": dict(speaker_dim=16, d_model=32, n_heads=2, enc_layers=1, dec_layers=1, ffn_dim=64,
                 ffn_kernels=(3, 1), duration_filter=32, use_pitch=True, use_energy=True),
    # ~3.5 M parameters (200 symbols, 1 speaker).
    "small": dict(d_model=128, n_heads=2, enc_layers=3, dec_layers=3, ffn_dim=384,
                  ffn_kernels=(9, 1), duration_filter=128),
    # FastSpeech 2 (Ren et al. 2020) sizes, FastPitch-style token-level pitch / energy.
    "base": dict(speaker_dim=192, d_model=256, n_heads=2, enc_layers=4, dec_layers=4, ffn_dim=1024,
                 ffn_kernels=(9, 1), duration_filter=256, use_pitch=True, use_energy=True),
}


def acoustic_config(size: str, n_symbols: int, n_speakers: int, **overrides: Any) -> AcousticConfig:
    """The :class:`AcousticConfig` of a named size in :data:`ACOUSTIC_SIZES`, with overrides."""
    if size not in ACOUSTIC_SIZES:
        raise ValueError(f"unknown acoustic size {size!r}; known: {sorted(ACOUSTIC_SIZES)}")
    d = dict(ACOUSTIC_SIZES[size])
    d.update(overrides)
    d.update(n_symbols=n_symbols, n_speakers=n_speakers)
    return AcousticConfig.from_dict(d)


def durations_from_log(log_durations: Tensor, token_mask: Tensor, speed: float = 1.0) -> Tensor:
    """Float frame counts ``clamp(exp(log_d) - 1, min=0) / speed``, 0 at padding.

    ``speed`` > 1 speaks faster (fewer frames). Rounding to integers is left to the caller.
    """
    if not isinstance(speed, Tensor) and not (speed > 0 and math.isfinite(speed)):
        raise InvalidInputError(f"speed must be a finite number > 0, got {speed}")
    frames = torch.clamp(torch.exp(log_durations) - 1.0, min=0.0) / speed
    return frames.masked_fill(~token_mask, 0.0)


def length_regulate(hidden: Tensor, durations: Tensor) -> tuple[Tensor, Tensor]:
    """Reference length regulator: repeat token t of item b ``durations[b, t]`` times.

    hidden [B, T, D], durations Long [B, T] (negative counts as 0) ->
    (frames [B, F, D] zero-padded to the longest item, frame_mask Bool [B, F]).
    Pure tensor ops (cumsum + comparison + gather), no Python loop over T or F.
    """
    dur = torch.clamp(durations.long(), min=0)
    ends = torch.cumsum(dur, dim=1)  # [B, T], exclusive end frame of each token
    total = ends[:, -1]  # [B]
    n_frames = int(total.max()) if total.numel() else 0
    pos = torch.arange(n_frames, device=hidden.device)  # [F]
    # token index of frame f = number of tokens that end at or before f
    idx = (pos[None, :, None] >= ends[:, None, :]).sum(-1)  # [B, F]
    frame_mask = pos[None, :] < total[:, None]
    idx = torch.clamp(idx, max=hidden.shape[1] - 1)
    frames = torch.gather(hidden, 1, idx.unsqueeze(-1).expand(-1, -1, hidden.shape[-1]))
    return masked_fill_zero(frames, frame_mask), frame_mask


class AcousticModel(nn.Module):
    """FastSpeech 2 / FastPitch style text-to-mel model (see module docstring).

    Pitch and energy (when enabled) are token-level scalars in whatever units the
    training pipeline uses (e.g. speaker-normalized log-F0); ``pitch_shift`` in
    :meth:`encode` is added to the predicted pitch in those units.
    """

    def __init__(self, config: AcousticConfig) -> None:
        super().__init__()
        c = config
        self.config = c
        self.token_embedding = nn.Embedding(c.n_symbols, c.d_model, padding_idx=0)
        self.language_embedding: nn.Embedding | None = None
        if c.n_languages > 1:
            self.language_embedding = nn.Embedding(c.n_languages, c.d_model)
            nn.init.zeros_(self.language_embedding.weight)  # starts as the one-language model
        self.speaker_embedding = nn.Embedding(c.n_speakers, c.speaker_dim)
        self.speaker_proj = nn.Linear(c.speaker_dim, c.d_model)
        self.encoder = nn.ModuleList(
            FFTBlock(c.d_model, c.n_heads, c.ffn_dim, c.ffn_kernels, c.dropout)
            for _ in range(c.enc_layers)
        )
        self.duration_predictor = VariancePredictor(
            c.d_model, c.duration_filter, c.duration_kernel, c.dropout,
            bias_init=math.log1p(c.init_frames_per_token),
        )
        self.pitch_predictor: VariancePredictor | None = None
        self.pitch_embedding: nn.Conv1d | None = None
        self.energy_predictor: VariancePredictor | None = None
        self.energy_embedding: nn.Conv1d | None = None
        if c.use_pitch:
            self.pitch_predictor = VariancePredictor(
                c.d_model, c.duration_filter, c.duration_kernel, c.dropout)
            self.pitch_embedding = nn.Conv1d(1, c.d_model, 3, padding=1)
        if c.use_energy:
            self.energy_predictor = VariancePredictor(
                c.d_model, c.duration_filter, c.duration_kernel, c.dropout)
            self.energy_embedding = nn.Conv1d(1, c.d_model, 3, padding=1)
        self.decoder = nn.ModuleList(
            FFTBlock(c.d_model, c.n_heads, c.ffn_dim, c.decoder_ffn_kernels or c.ffn_kernels, c.dropout)
            for _ in range(c.dec_layers)
        )
        self.mel_proj = nn.Linear(c.d_model, c.n_mels)

    # ------------------------------------------------------------------ helpers
    def embed_tokens(self, tokens: Tensor) -> Tensor:
        """Symbol embedding (+ language embedding where ids carry a language)."""
        if self.language_embedding is None:
            return self.token_embedding(tokens)
        n = self.config.n_symbols
        language = torch.div(tokens, n, rounding_mode="floor")
        return self.token_embedding(tokens - language * n) + self.language_embedding(language)

    @staticmethod
    def _embed_scalar(conv: nn.Conv1d, values: Tensor, mask: Tensor) -> Tensor:
        v = values.masked_fill(~mask, 0.0).unsqueeze(1)  # [B, 1, T]
        return conv(v).transpose(1, 2)  # [B, T, D]

    def _encode(
        self,
        tokens: Tensor,
        token_mask: Tensor,
        speakers: Tensor,
        pitch: Tensor | None,
        energy: Tensor | None,
        pitch_shift: float | Tensor,
    ) -> tuple[Tensor, Tensor, Tensor | None, Tensor | None]:
        spk = self.speaker_proj(self.speaker_embedding(speakers)).unsqueeze(1)  # [B, 1, D]
        x = self.embed_tokens(tokens) + spk
        x = x + sinusoidal_positions(x)  # the blocks never read padded positions
        for block in self.encoder:
            x = block(x, token_mask)
        x = x + spk
        log_durations = self.duration_predictor(x, token_mask)
        hidden = x
        pitch_pred = energy_pred = None
        if self.pitch_predictor is not None and self.pitch_embedding is not None:
            pitch_pred = self.pitch_predictor(x, token_mask)
            p = pitch if pitch is not None else pitch_pred + pitch_shift
            hidden = hidden + self._embed_scalar(self.pitch_embedding, p, token_mask)
        if self.energy_predictor is not None and self.energy_embedding is not None:
            energy_pred = self.energy_predictor(x, token_mask)
            e = energy if energy is not None else energy_pred
            hidden = hidden + self._embed_scalar(self.energy_embedding, e, token_mask)
        return masked_fill_zero(hidden, token_mask), log_durations, pitch_pred, energy_pred

    # ------------------------------------------------------------------ public API
    def encode(
        self,
        tokens: Tensor,
        token_mask: Tensor,
        speakers: Tensor,
        pitch_shift: float | Tensor = 0.0,
    ) -> tuple[Tensor, Tensor]:
        """Tokens Long[B,T] -> (hidden [B,T,D], log_durations [B,T]), both 0 at padding.

        ``hidden`` includes the speaker and the predicted pitch / energy embeddings.
        ``pitch_shift`` is added to the predicted pitch (ignored without a pitch predictor).
        Log-durations are log(1 + frames); see :func:`durations_from_log`.
        """
        hidden, log_durations, _, _ = self._encode(
            tokens, token_mask, speakers, None, None, pitch_shift)
        return hidden, log_durations

    def decode(self, frames: Tensor, frame_mask: Tensor) -> Tensor:
        """Frame-rate hidden [B,F,D] -> mel [B, n_mels, F], exactly 0 at padded frames."""
        x = frames + sinusoidal_positions(frames)  # the blocks never read padded positions
        for block in self.decoder:
            x = block(x, frame_mask)
        mel = masked_fill_zero(self.mel_proj(x), frame_mask)
        return mel.transpose(1, 2)

    def forward(
        self,
        tokens: Tensor,
        token_mask: Tensor,
        speakers: Tensor,
        durations: Tensor,
        pitch: Tensor | None = None,
        energy: Tensor | None = None,
    ) -> dict[str, Tensor | None]:
        """Teacher-forced training path.

        Uses the given ``durations`` (Long [B,T]) for length regulation and the given
        pitch / energy targets ([B,T], when not None) for the embeddings; the predictions
        are returned for the losses. Returns dict(mel [B,n_mels,F], log_durations [B,T],
        pitch_pred [B,T] | None, energy_pred [B,T] | None, frame_mask [B,F]).
        """
        hidden, log_durations, pitch_pred, energy_pred = self._encode(
            tokens, token_mask, speakers, pitch, energy, 0.0)
        frames, frame_mask = length_regulate(hidden, durations.masked_fill(~token_mask, 0))
        mel = self.decode(frames, frame_mask)
        return dict(mel=mel, log_durations=log_durations, pitch_pred=pitch_pred,
                    energy_pred=energy_pred, frame_mask=frame_mask)

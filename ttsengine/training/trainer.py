"""Training of a voice: the acoustic model with a jointly learned aligner, then HiFi-GAN.

Phases share one step counter: steps ``[0, steps)`` train the acoustic model (mel L1 +
duration MSE on log(1 + d) from monotonic-alignment-search durations + token-level
pitch / energy MSE + forward-sum alignment loss + binarization loss after warm-up);
steps ``[steps, steps + vocoder_steps)`` train HiFi-GAN (LSGAN with multi-period and
multi-scale discriminators, feature matching x2, mel L1 x45). AdamW, lr 2e-4 (the seed
system), fp16 autocast + GradScaler on CUDA, fp32 on CPU.

``VOICE_DIR`` receives the bundle (voice.json, acoustic.safetensors, vocoder.safetensors,
plus aligner.safetensors for later fine-tuning) when training ends, and keeps the run's
state under ``VOICE_DIR/training/``: ``checkpoints/`` (every ``checkpoint_every`` steps;
``--resume`` continues from the latest with optimizer, scheduler, scaler and RNG state),
``losses.csv``, ``samples/`` (wav + mel PNG every ``sample_every`` steps).
"""

from __future__ import annotations

import copy
import csv
import dataclasses
import logging
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import numpy as np
import torch
import torch.nn.functional as F

from ttsengine.audio import FeatureConfig
from ttsengine.errors import InvalidInputError

from .alignment import (
    Aligner,
    AlignerConfig,
    beta_binomial_prior,
    binarization_loss,
    durations_to_attention,
    forward_sum_loss,
    monotonic_alignment_search,
)
from .datasets import AcousticBatch, TrainingData
from .losses import (
    TorchMel,
    discriminator_loss,
    feature_matching_loss,
    generator_adv_loss,
    masked_l1,
    masked_mse,
)

__all__ = ["TrainConfig", "Trainer", "train_voice"]

logger = logging.getLogger("ttsengine")

ALIGNER_WEIGHTS = "aligner.safetensors"
LOSS_FIELDS = ("step", "phase", "total", "mel", "duration", "duration_ratio", "pitch", "energy", "align_ctc",
               "align_bin", "bin_weight", "disc", "gen_adv", "feature_match", "mel_l1x45", "lr", "seconds")


@dataclass
class TrainConfig:
    """Settings of a training run (stored in checkpoints and voice.json's ``training``)."""

    size: str = "small"
    vocoder: str = "v1"
    steps: int = 20000  # acoustic steps
    vocoder_steps: int | None = None  # None: same as steps; 0: keep / untrained vocoder
    batch_size: int = 16
    vocoder_batch_size: int = 16
    segment_size: int = 8192
    lr: float = 2e-4
    vocoder_lr: float = 2e-4
    weight_decay: float = 0.01
    warmup_steps: int = 1000
    grad_clip: float = 1.0
    device: str = "auto"
    mixed_precision: bool = True  # CUDA only
    seed: int = 0
    checkpoint_every: int = 1000
    keep_checkpoints: int = 2
    sample_every: int = 1000
    log_every: int = 10
    progress: bool = True
    frontend_kind: str = "phonemes"
    language: str | None = None  # None: the frontend kind's default
    g2p: str = "espeak"  # phonemes only: "espeak" or "misaki"
    max_frames: int = 1200  # longer utterances are skipped (~12.8 s)
    use_prior: bool = True
    bin_start_fraction: float = 0.3  # binarization loss starts at this fraction of steps
    bin_warmup_fraction: float = 0.1  # ... and ramps to full weight over this fraction
    duration_weight: float = 0.1
    pitch_weight: float = 0.1
    energy_weight: float = 0.1
    align_weight: float = 1.0
    disc_width: float = 1.0  # discriminator channel scale (1.0 = paper)
    vocoder_from: str | None = None  # bundle whose vocoder is kept (vocoder_steps = 0 -> no GAN)

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @property
    def total_vocoder_steps(self) -> int:
        return self.steps if self.vocoder_steps is None else self.vocoder_steps


def _resolve_device(device: str) -> torch.device:
    from ttsengine.models.loading import resolve_torch_device

    return resolve_torch_device(device)


def _warmup_cosine(warmup: int, total: int, floor: float = 0.1):
    def fn(step: int) -> float:
        if warmup and step < warmup:
            return (step + 1) / warmup
        progress = min(1.0, (step - warmup) / max(1, total - warmup))
        return floor + (1 - floor) * 0.5 * (1 + math.cos(math.pi * progress))
    return fn


class Trainer:
    """One training run into ``out_dir`` (see module docstring).

    ``base_voice``: a bundle to start from (fine-tuning / cloning): its frontend, features,
    speakers and weights (and its aligner when it has one). ``new_speaker``: a speaker name
    of the prepared data that gets a new embedding row (initialised to the mean row).
    """

    def __init__(self, prepared_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                 config: TrainConfig, *, base_voice: str | os.PathLike[str] | None = None,
                 new_speaker: str | None = None, resume: bool = False, bundle_only: bool = False,
                 on_step: Callable[[int, int], None] | None = None) -> None:
        from ttsengine.frontend import Frontend, default_symbols
        from ttsengine.models.acoustic import AcousticConfig, AcousticModel, acoustic_config
        from ttsengine.models.hifigan import HIFIGAN_CONFIGS, HiFiGANConfig, HiFiGANGenerator
        from ttsengine.voice import load_voice

        self.cfg = c = config
        #: called after each step with (steps done, steps in all): progress reports (clone)
        self.on_step = on_step
        self.out = Path(out_dir)
        self.state_dir = self.out / "training"
        self.device = _resolve_device(c.device)
        self.amp = bool(c.mixed_precision and self.device.type == "cuda")
        torch.manual_seed(c.seed)

        from .prepare import load_prepared

        info, _ = load_prepared(prepared_dir)
        self.features = FeatureConfig.from_dict(info["features"])
        self.base = load_voice(base_voice) if base_voice is not None else None
        vocoder_source = load_voice(c.vocoder_from) if c.vocoder_from else self.base
        if self.base is not None:
            base_features = FeatureConfig.from_dict(dict(self.base.features))
            if base_features != self.features:
                raise InvalidInputError(
                    f"prepared features {self.features.to_dict()} differ from the base voice's "
                    f"{base_features.to_dict()}; prepare the data with the base voice's features")
            frontend_cfg = dict(self.base.frontend)
            speakers = dict(self.base.speakers)
            if new_speaker is not None and new_speaker not in speakers:
                # after every row of the base model, also rows its voice.json does not list
                rows = int(self.base.acoustic["hparams"].get("n_speakers", 1))
                speakers[new_speaker] = max(max(speakers.values()) + 1, rows)
            self.pitch_stats = dict(self.base.acoustic.get("pitch_stats") or {})
        else:
            frontend_cfg = Frontend(c.frontend_kind, default_symbols(c.frontend_kind, c.language),
                                    c.language, g2p=c.g2p).to_config()
            speakers = {name: i for i, name in enumerate(info["speakers"])}
            self.pitch_stats = {}
        self.pitch_stats.update(info.get("pitch_stats") or {})
        if float((info.get("settings") or {}).get("lead_in_s") or 0) > 0:  # utterances start with a pause symbol
            from .prepare import ONSET_SYMBOL

            frontend_cfg = {**frontend_cfg, "onset_symbol": ONSET_SYMBOL}
        self.frontend = Frontend.from_config(frontend_cfg)
        self.frontend_cfg = self.frontend.to_config()
        self.speakers = speakers
        self.data = TrainingData(prepared_dir, self.frontend, speakers, self.pitch_stats, c.max_frames)
        base_energy = (self.base.acoustic.get("energy_stats") or {}) if self.base is not None else {}
        if base_energy:  # fine-tuning keeps the base speakers' energy scale
            self.data.energy_mean, self.data.energy_std = base_energy["mean_log_mel"], base_energy["std"]
        self.clamp_log = math.log(self.features.clamp_min)
        n_symbols = len(self.frontend.symbols)

        # ---- acoustic model (+ new speaker row)
        if self.base is not None:
            from ttsengine.models.loading import load_acoustic

            base_model = load_acoustic(self.base)
            hp = dict(self.base.acoustic["hparams"])
            hp["n_speakers"] = max(max(speakers.values()) + 1, int(hp.get("n_speakers", 1)))
            self.acoustic_cfg = AcousticConfig.from_dict(hp)
            self.size = str(self.base.acoustic.get("size", "custom"))
            self.acoustic = AcousticModel(self.acoustic_cfg)
            state = base_model.state_dict()
            emb = state["speaker_embedding.weight"]
            if emb.shape[0] < hp["n_speakers"]:
                extra = emb.mean(0, keepdim=True).expand(hp["n_speakers"] - emb.shape[0], -1)
                state["speaker_embedding.weight"] = torch.cat([emb, extra], 0)
            self.acoustic.load_state_dict(state)
        else:
            self.size = c.size
            self.acoustic_cfg = acoustic_config(c.size, n_symbols=n_symbols, n_speakers=len(speakers),
                                                n_languages=len(self.frontend.languages))
            self.acoustic = AcousticModel(self.acoustic_cfg)
        d = self.acoustic_cfg.d_model
        self.aligner_cfg = AlignerConfig(n_symbols=n_symbols, n_mels=self.features.n_mels,
                                         embed_dim=d, hidden_dim=d, attention_dim=80)
        self.aligner = Aligner(self.aligner_cfg)
        if self.base is not None and (self.base.path / ALIGNER_WEIGHTS).is_file():
            from safetensors.torch import load_file

            self.aligner.load_state_dict(load_file(str(self.base.path / ALIGNER_WEIGHTS)))
        self.acoustic.to(self.device)
        self.aligner.to(self.device)

        # ---- vocoder
        self.vocoder_source = vocoder_source
        # the rate synthesize() returns: the vocoder bundle's (it may resample), else the features'
        self.output_sample_rate = vocoder_source.sample_rate if vocoder_source is not None else self.features.sample_rate
        if vocoder_source is not None:
            from ttsengine.models.loading import load_vocoder

            self.generator = load_vocoder(vocoder_source)
            self.vocoder_variant = str(vocoder_source.vocoder.get("variant", "custom"))
        else:
            self.generator = HiFiGANGenerator(HIFIGAN_CONFIGS[c.vocoder])
            self.vocoder_variant = c.vocoder
        self.vocoder_cfg: HiFiGANConfig = self.generator.config
        if self.vocoder_cfg.hop_length != self.features.hop_length:
            raise InvalidInputError(f"vocoder upsamples by {self.vocoder_cfg.hop_length}, features hop is "
                                    f"{self.features.hop_length}")
        self.vocoder_steps = 0 if (vocoder_source is not None and c.vocoder_steps is None) else c.total_vocoder_steps
        self.generator.apply_weight_norm().to(self.device)
        self.discriminator = None
        if self.vocoder_steps > 0:
            from ttsengine.models.discriminators import HiFiGANDiscriminator

            self.discriminator = HiFiGANDiscriminator(c.disc_width).to(self.device)
        self.mel_fn = TorchMel(self.features).to(self.device)

        # ---- optimisation
        params = list(self.acoustic.parameters()) + list(self.aligner.parameters())
        self.opt_a = torch.optim.AdamW(params, lr=c.lr, betas=(0.9, 0.98), eps=1e-9, weight_decay=c.weight_decay)
        warmup = min(c.warmup_steps, c.steps // 10) if self.base is None else min(c.warmup_steps, c.steps // 20)
        self.sched_a = torch.optim.lr_scheduler.LambdaLR(self.opt_a, _warmup_cosine(warmup, c.steps))
        self.opt_g = torch.optim.AdamW(self.generator.parameters(), lr=c.vocoder_lr, betas=(0.8, 0.99),
                                       weight_decay=c.weight_decay)
        self.sched_g = torch.optim.lr_scheduler.LambdaLR(self.opt_g, lambda s: 0.999 ** (s / 200))
        self.opt_d = self.sched_d = None
        if self.discriminator is not None:
            self.opt_d = torch.optim.AdamW(self.discriminator.parameters(), lr=c.vocoder_lr, betas=(0.8, 0.99),
                                           weight_decay=c.weight_decay)
            self.sched_d = torch.optim.lr_scheduler.LambdaLR(self.opt_d, lambda s: 0.999 ** (s / 200))
        self.scalers = {k: torch.amp.GradScaler("cuda", enabled=self.amp) for k in ("a", "g", "d")}
        self.step = 0
        if resume or bundle_only:  # bundle_only: read the latest state, leave the run's files alone
            self._load_latest(truncate_log=not bundle_only)
        elif (self.state_dir / "checkpoints").is_dir() and any((self.state_dir / "checkpoints").glob("*.pt")):
            raise InvalidInputError(f"{self.out} already holds training checkpoints: pass --resume to continue, "
                                    "or choose another output directory")

    # ------------------------------------------------------------------ public
    @property
    def total_steps(self) -> int:
        return self.cfg.steps + self.vocoder_steps

    def run(self, stop_at: int | None = None) -> Path | None:
        """Trains to the end (or up to ``stop_at`` steps, for tests) and writes the bundle.

        Returns the bundle directory, or None when stopped early at ``stop_at``.
        """
        c = self.cfg
        total = self.total_steps
        end = total if stop_at is None else min(stop_at, total)
        (self.state_dir / "samples").mkdir(parents=True, exist_ok=True)
        bar = None
        if c.progress:
            from tqdm import tqdm

            bar = tqdm(total=total, initial=self.step, desc="train", unit="step", dynamic_ncols=True)
        log_rows: list[dict[str, Any]] = []
        try:
            while self.step < end:
                t0 = time.perf_counter()
                if self.step < c.steps:
                    row = self.acoustic_step(self.step)
                else:
                    row = self.vocoder_step(self.step - c.steps)
                self.step += 1
                row.update(step=self.step, seconds=round(time.perf_counter() - t0, 4))
                log_rows.append(row)
                if self.on_step is not None:
                    self.on_step(self.step, total)
                if bar is not None:
                    bar.update(1)
                    bar.set_postfix({k: f"{row[k]:.3f}" for k in ("total", "mel", "disc") if k in row})
                if self.step % max(1, c.log_every) == 0 or self.step == end:
                    self._write_log(log_rows)
                    log_rows = []
                if self.step % max(1, c.checkpoint_every) == 0 or self.step == end:
                    self.save_checkpoint()
                if c.sample_every and (self.step % c.sample_every == 0 or self.step == total):
                    self.write_sample()
        finally:
            if bar is not None:
                bar.close()
            self._write_log(log_rows)
        if self.step < total:
            return None
        return self.write_bundle()

    # ------------------------------------------------------------------ acoustic
    def _token_average(self, hard: torch.Tensor, values: torch.Tensor, weight: torch.Tensor) -> torch.Tensor:
        """hard [B,F,T], values / weight [B,F] -> weighted mean per token [B,T] (0 if no weight)."""
        w = hard * weight[:, :, None]
        return (w * values[:, :, None]).sum(1) / w.sum(1).clamp(min=1e-6)

    def acoustic_losses(self, batch: AcousticBatch, step: int) -> tuple[torch.Tensor, dict[str, float]]:
        c = self.cfg
        B, T = batch.tokens.shape
        Fm = batch.mel.shape[-1]
        token_mask = torch.arange(T, device=self.device)[None] < batch.token_lengths[:, None]
        frame_mask = torch.arange(Fm, device=self.device)[None] < batch.mel_lengths[:, None]
        zero = torch.zeros((), device=self.device)
        with torch.autocast(self.device.type, enabled=False):
            if batch.durations is not None:  # exact durations: no aligner
                durations, ctc, bin_loss, bin_w = batch.durations, zero, zero, 0.0
            else:
                prior = (beta_binomial_prior(batch.token_lengths, batch.mel_lengths, T, Fm)
                         if c.use_prior else None)
                log_attn = self.aligner(batch.tokens, token_mask, batch.mel, prior)  # [B, F, T]
                durations = torch.from_numpy(monotonic_alignment_search(
                    log_attn, batch.mel_lengths, batch.token_lengths)).long().to(self.device)
                ctc = forward_sum_loss(log_attn, batch.token_lengths, batch.mel_lengths)
                start = c.bin_start_fraction * c.steps
                bin_w = min(1.0, max(0.0, (step - start) / max(1.0, c.bin_warmup_fraction * c.steps))) \
                    if step >= start else 0.0
            hard = durations_to_attention(durations, Fm)
            if batch.durations is None:
                bin_loss = binarization_loss(hard, log_attn)  # logged always, weighted by bin_w
            fmask = frame_mask.float()
            pitch_tok = self._token_average(hard, batch.pitch, batch.voiced.float() * fmask)
            energy_frame = (batch.mel.mean(1) - self.data.energy_mean) / self.data.energy_std
            energy_tok = self._token_average(hard, energy_frame, fmask)
        use_p = self.acoustic_cfg.use_pitch
        use_e = self.acoustic_cfg.use_energy
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            out = self.acoustic(batch.tokens, token_mask, batch.speakers, durations,
                                pitch_tok if use_p else None, energy_tok if use_e else None)
        mel_loss = masked_l1(out["mel"].float(), batch.mel, frame_mask[:, None, :])
        dur_loss = masked_mse(out["log_durations"].float(), torch.log1p(durations.float()), token_mask)
        with torch.no_grad():  # predicted / true total length: a speaking-rate bias shows here
            predicted = (out["log_durations"].float().exp() - 1).clamp(min=0).masked_fill(~token_mask, 0).sum()
            duration_ratio = predicted / durations.masked_fill(~token_mask, 0).sum().clamp(min=1)
        pitch_loss = masked_mse(out["pitch_pred"].float(), pitch_tok, token_mask) if use_p else zero
        energy_loss = masked_mse(out["energy_pred"].float(), energy_tok, token_mask) if use_e else zero
        total = (mel_loss + c.duration_weight * dur_loss + c.pitch_weight * pitch_loss
                 + c.energy_weight * energy_loss + c.align_weight * (ctc + bin_w * bin_loss))
        values = dict(total=total, mel=mel_loss, duration=dur_loss, duration_ratio=duration_ratio,
                      pitch=pitch_loss, energy=energy_loss, align_ctc=ctc, align_bin=bin_loss)
        return total, {**{k: v.detach().item() for k, v in values.items()}, "bin_weight": bin_w}

    def acoustic_step(self, step: int) -> dict[str, Any]:
        c = self.cfg
        self.acoustic.train()
        self.aligner.train()
        idx = self.data.batch_indices(step, c.batch_size, c.seed)
        batch = self.data.acoustic_batch(idx, self.clamp_log).to(self.device)
        total, row = self.acoustic_losses(batch, step)
        self.opt_a.zero_grad(set_to_none=True)
        scaler = self.scalers["a"]
        scaler.scale(total).backward()
        scaler.unscale_(self.opt_a)
        torch.nn.utils.clip_grad_norm_(list(self.acoustic.parameters()) + list(self.aligner.parameters()),
                                       c.grad_clip)
        scaler.step(self.opt_a)
        scaler.update()
        self.sched_a.step()
        row.update(phase="acoustic", lr=self.opt_a.param_groups[0]["lr"])
        return row

    # ------------------------------------------------------------------ vocoder
    def vocoder_step(self, step: int) -> dict[str, Any]:
        c = self.cfg
        assert self.discriminator is not None and self.opt_d is not None and self.sched_d is not None
        self.generator.train()
        self.discriminator.train()
        wave = self.data.vocoder_batch(step, c.vocoder_batch_size, c.segment_size, c.seed).to(self.device)
        with torch.no_grad():
            mel = self.mel_fn(wave)
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            y_hat = self.generator(mel)[:, None, :]
            y = wave[:, None, :]
            real, _ = self.discriminator(y)
            fake, _ = self.discriminator(y_hat.detach())
        loss_d = discriminator_loss(real, fake)
        self.opt_d.zero_grad(set_to_none=True)
        self.scalers["d"].scale(loss_d).backward()
        self.scalers["d"].step(self.opt_d)
        self.scalers["d"].update()

        mel_hat = self.mel_fn(y_hat.squeeze(1).float())
        mel_l1 = F.l1_loss(mel_hat, mel) * 45.0
        with torch.autocast(self.device.type, dtype=torch.float16, enabled=self.amp):
            _, real_maps = self.discriminator(y)
            fake_out, fake_maps = self.discriminator(y_hat)
        adv = generator_adv_loss(fake_out)
        fm = feature_matching_loss(real_maps, fake_maps)
        loss_g = adv + fm + mel_l1
        self.opt_g.zero_grad(set_to_none=True)
        self.scalers["g"].scale(loss_g).backward()
        self.scalers["g"].step(self.opt_g)
        self.scalers["g"].update()
        self.sched_g.step()
        self.sched_d.step()
        values = dict(total=loss_g, disc=loss_d, gen_adv=adv, feature_match=fm, mel_l1x45=mel_l1)
        return {**{k: v.detach().item() for k, v in values.items()}, "phase": "vocoder",
                "lr": self.opt_g.param_groups[0]["lr"]}

    # ------------------------------------------------------------------ inference helpers
    @torch.no_grad()
    def synthesize_mel(self, tokens: np.ndarray, speaker: int) -> torch.Tensor:
        """Predicted mel [n_mels, F] of one token sequence (the inference path)."""
        from ttsengine import _core
        from ttsengine.models.acoustic import length_regulate

        self.acoustic.eval()
        tok = torch.from_numpy(np.asarray(tokens, dtype=np.int64))[None].to(self.device)
        mask = torch.ones_like(tok, dtype=torch.bool)
        hidden, log_d = self.acoustic.encode(tok, mask, torch.tensor([speaker], device=self.device))
        frames, _ = _core.durations_to_frames(log_d.float().cpu().numpy(), np.array([tok.shape[1]], np.int64))
        regulated, frame_mask = length_regulate(hidden, torch.from_numpy(frames).long().to(self.device))
        return self.acoustic.decode(regulated, frame_mask)[0]

    @torch.no_grad()
    def write_sample(self) -> None:
        """samples/step-N.wav (predicted mel through the current vocoder), step-N.png (target and
        predicted mel, and the durations used: exact or the aligner's) and losses.png (curves)."""
        import soundfile as sf

        u = self.data.utterances[0]
        mel = self.synthesize_mel(u.tokens, u.speaker)
        self.generator.eval()
        wave = self.generator(mel[None].float()).squeeze(0).clamp(-1, 1).cpu().numpy() if mel.shape[-1] else np.zeros(0)
        base = self.state_dir / "samples" / f"step-{self.step:08d}"
        sf.write(str(base.with_suffix(".wav")), wave, self.features.sample_rate, subtype="PCM_16")
        try:
            import matplotlib

            matplotlib.use("Agg")
            import matplotlib.pyplot as plt
        except ImportError:
            logger.warning("matplotlib not installed: no mel images (pip install 'ttsengine[train]')")
            return
        batch = self.data.acoustic_batch([0], self.clamp_log)
        if batch.durations is not None:
            durations, source = batch.durations[0].numpy(), "exact durations"
        else:
            with torch.no_grad():
                b = batch.to(self.device)
                token_mask = torch.ones_like(b.tokens, dtype=torch.bool)
                prior = beta_binomial_prior(b.token_lengths, b.mel_lengths, b.tokens.shape[1], b.mel.shape[-1])
                log_attn = self.aligner.eval()(b.tokens, token_mask, b.mel, prior if self.cfg.use_prior else None)
                durations = monotonic_alignment_search(log_attn, b.mel_lengths, b.token_lengths)[0]
            source = "aligner (MAS)"
        alignment = durations_to_attention(torch.as_tensor(durations)[None].long(), int(sum(durations)))[0]
        fig, axes = plt.subplots(3, 1, figsize=(10, 9))
        for ax, m, title in ((axes[0], self.data.mel(u.id), "target"), (axes[1], mel.cpu().numpy(), "predicted")):
            ax.imshow(m, origin="lower", aspect="auto", interpolation="none")
            ax.set_title(f"{title} ({u.id}, step {self.step})")
        axes[2].imshow(alignment.T.cpu().numpy(), origin="lower", aspect="auto", interpolation="none")
        axes[2].set_title(f"token x frame alignment ({source})")
        fig.tight_layout()
        fig.savefig(str(base.with_suffix(".png")))
        plt.close(fig)
        self._plot_losses(plt)

    def _plot_losses(self, plt: Any) -> None:
        path = self.state_dir / "losses.csv"
        if not path.is_file():
            return
        with open(path, newline="", encoding="utf-8") as f:
            rows = list(csv.DictReader(f))
        keys = [k for k in ("mel", "duration", "pitch", "energy", "align_ctc", "disc", "mel_l1x45")
                if any(r.get(k) not in ("", None, "0") for r in rows)]
        fig, axes = plt.subplots(len(keys), 1, figsize=(10, 2.2 * len(keys)), squeeze=False)
        for ax, key in zip(axes[:, 0], keys):
            points = [(int(r["step"]), float(r[key])) for r in rows if r.get(key) not in ("", None)]
            ax.plot([p[0] for p in points], [p[1] for p in points], linewidth=0.6)
            ax.set_ylabel(key)
            ax.set_yscale("log")
        axes[-1, 0].set_xlabel("step")
        fig.tight_layout()
        fig.savefig(str(self.state_dir / "samples" / "losses.png"))
        plt.close(fig)

    # ------------------------------------------------------------------ state
    def _write_log(self, rows: list[dict[str, Any]]) -> None:
        if not rows:
            return
        path = self.state_dir / "losses.csv"
        path.parent.mkdir(parents=True, exist_ok=True)
        new = not path.is_file()
        with open(path, "a", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, LOSS_FIELDS, extrasaction="ignore")
            if new:
                w.writeheader()
            for r in rows:
                w.writerow({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()})

    def _state(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "config": self.cfg.to_dict(),
            "acoustic": self.acoustic.state_dict(),
            "aligner": self.aligner.state_dict(),
            "generator": self.generator.state_dict(),
            "discriminator": self.discriminator.state_dict() if self.discriminator is not None else {},
            "opt_a": self.opt_a.state_dict(), "sched_a": self.sched_a.state_dict(),
            "opt_g": self.opt_g.state_dict(), "sched_g": self.sched_g.state_dict(),
            "opt_d": self.opt_d.state_dict() if self.opt_d else {},
            "sched_d": self.sched_d.state_dict() if self.sched_d else {},
            "scalers": {k: s.state_dict() for k, s in self.scalers.items()},
            "rng_cpu": torch.get_rng_state(),
            "rng_cuda": torch.cuda.get_rng_state_all() if self.device.type == "cuda" else [],
        }

    def save_checkpoint(self) -> Path:
        folder = self.state_dir / "checkpoints"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"ckpt-{self.step:08d}.pt"
        tmp = path.with_suffix(".tmp")
        torch.save(self._state(), tmp)
        os.replace(tmp, path)
        (folder / "latest").write_text(path.name + "\n", encoding="utf-8")
        old = sorted(folder.glob("ckpt-*.pt"))[:-max(1, self.cfg.keep_checkpoints)]
        for p in old:
            p.unlink(missing_ok=True)
        return path

    def _load_latest(self, truncate_log: bool = True) -> None:
        folder = self.state_dir / "checkpoints"
        pointer = folder / "latest"
        if not pointer.is_file():
            raise InvalidInputError(f"--resume: no checkpoint in {folder}")
        path = folder / pointer.read_text(encoding="utf-8").strip()
        try:
            state = torch.load(path, map_location=self.device, weights_only=True)
        except Exception as exc:  # noqa: BLE001 - corrupt or foreign file
            raise InvalidInputError(f"--resume: cannot read checkpoint {path}: {exc}") from None
        try:
            self.acoustic.load_state_dict(state["acoustic"])
            self.aligner.load_state_dict(state["aligner"])
            self.generator.load_state_dict(state["generator"])
            if self.discriminator is not None and state["discriminator"]:
                self.discriminator.load_state_dict(state["discriminator"])
        except RuntimeError as exc:
            raise InvalidInputError(f"--resume: checkpoint {path} does not match this configuration "
                                    f"(size / vocoder / speakers changed?): {str(exc)[:300]}") from None
        self.opt_a.load_state_dict(state["opt_a"])
        self.sched_a.load_state_dict(state["sched_a"])
        self.opt_g.load_state_dict(state["opt_g"])
        self.sched_g.load_state_dict(state["sched_g"])
        if self.opt_d is not None and state["opt_d"]:
            self.opt_d.load_state_dict(state["opt_d"])
            self.sched_d.load_state_dict(state["sched_d"])
        for k, s in self.scalers.items():
            if state["scalers"].get(k):
                s.load_state_dict(state["scalers"][k])
        torch.set_rng_state(state["rng_cpu"].cpu())
        if self.device.type == "cuda" and state["rng_cuda"]:
            torch.cuda.set_rng_state_all([s.cpu() for s in state["rng_cuda"]])
        self.step = int(state["step"])
        if truncate_log:
            self._truncate_log(self.step)
        logger.info("resumed from %s at step %d", path, self.step)

    def _logged_seconds(self) -> float:
        """Wall seconds of the steps up to this one logged in losses.csv (the run's compute time)."""
        path = self.state_dir / "losses.csv"
        if not path.is_file():
            return 0.0
        with open(path, newline="", encoding="utf-8") as f:
            return sum(float(r["seconds"] or 0) for r in csv.DictReader(f) if int(r["step"]) <= self.step)

    def _truncate_log(self, step: int) -> None:
        """Drops loss rows logged after ``step`` by an interrupted run."""
        path = self.state_dir / "losses.csv"
        if not path.is_file():
            return
        with open(path, newline="", encoding="utf-8") as f:
            rows = [r for r in csv.DictReader(f) if int(r["step"]) <= step]
        with open(path, "w", newline="", encoding="utf-8") as f:
            w = csv.DictWriter(f, LOSS_FIELDS)
            w.writeheader()
            w.writerows(rows)

    # ------------------------------------------------------------------ bundle
    def write_bundle(self) -> Path:
        """Writes voice.json + acoustic / vocoder / aligner safetensors into ``out_dir``."""
        from safetensors.torch import save_file

        from ttsengine.voice.feature_stamp import STAMP_KEY, stamp_value
        from ttsengine.voice import ACOUSTIC_WEIGHTS, VOCODER_WEIGHTS, write_voice_json

        self.out.mkdir(parents=True, exist_ok=True)
        models: list[tuple[torch.nn.Module, str]] = [(self.acoustic, ACOUSTIC_WEIGHTS)]
        if not self.data.exact_durations:  # an aligner trained with exact durations learned nothing
            models.append((self.aligner, ALIGNER_WEIGHTS))
        if self.vocoder_steps == 0 and self.vocoder_source is not None:
            shutil.copyfile(self.vocoder_source.vocoder_weights, self.out / VOCODER_WEIGHTS)  # kept bit for bit
        else:
            models.append((copy.deepcopy(self.generator).cpu().remove_weight_norm().eval(), VOCODER_WEIGHTS))
        for model, name in models:
            state = {k: v.detach().float().cpu().contiguous() for k, v in model.state_dict().items()}
            save_file(state, str(self.out / name),
                      metadata={"format": "pt", STAMP_KEY: stamp_value(self.features.to_dict())})
        minutes = sum(u.frames for u in self.data.utterances) * self.features.hop_length / self.features.sample_rate / 60
        base_desc = f" fine-tuned from {self.base.name!r}" if self.base is not None else ""
        acoustic_steps = min(self.step, self.cfg.steps)
        vocoder_steps = max(0, self.step - self.cfg.steps)
        name = self.out.name
        write_voice_json(self.out, {
            "name": name,
            "description": (f"Trained with ttsengine{base_desc} on {len(self.data)} utterances "
                            f"({minutes:.1f} min): {acoustic_steps} acoustic steps, "
                            f"{vocoder_steps} vocoder steps"),
            "trained": True,
            "sample_rate": self.output_sample_rate,
            "features": self.features.to_dict(),
            "frontend": self.frontend_cfg,
            "speakers": dict(self.speakers),
            "acoustic": {"arch": "fastspeech2", "size": self.size, "hparams": self.acoustic_cfg.to_dict(),
                         "pitch_stats": self.pitch_stats,
                         "energy_stats": {"mean_log_mel": self.data.energy_mean, "std": self.data.energy_std},
                         **({} if self.data.exact_durations else
                            {"aligner": {"weights": ALIGNER_WEIGHTS, "hparams": self.aligner_cfg.to_dict()}})},
            "vocoder": {"arch": "hifigan", "variant": self.vocoder_variant, "hparams": self.vocoder_cfg.to_dict()},
            "defaults": dict(self.base.defaults) if self.base is not None else {"speaker": 0, "speed": 1.0},
            **({"license": self._license()} if self.base is not None and self.base.extra.get("license") else {}),
            "training": {"acoustic_steps": acoustic_steps, "vocoder_steps": vocoder_steps,
                         "utterances": len(self.data), "minutes_of_audio": round(minutes, 1),
                         "exact_durations": self.data.exact_durations,
                         "step_seconds": round(self._logged_seconds(), 1), "config": self.cfg.to_dict(),
                         **({"base": {"name": self.base.name, "training": self.base.extra.get("training")}}
                            if self.base is not None else {})},
        })
        if self.base is not None and (self.base.path / "LICENSES").is_dir():
            shutil.copytree(self.base.path / "LICENSES", self.out / "LICENSES", dirs_exist_ok=True)
        return self.out

    def _license(self) -> dict[str, Any]:
        """The base bundle's license section plus a line on the fine-tuning data."""
        assert self.base is not None
        section = copy.deepcopy(dict(self.base.extra["license"]))
        base_speakers = set(self.base.speakers)
        new = sorted(s for s in self.speakers if s not in base_speakers)
        section["components"] = [c for c in section.get("components", []) if "cpu_vocoder" not in c.get("part", "")]
        section["components"].append({
            "part": "acoustic.safetensors (fine-tuned)",
            "license": "same as the base voice's acoustic model",
            "origin": f"fine-tuned from {self.base.name!r} by ttsengine on {self.data.root}"
                      + (f" (new speaker(s) {', '.join(new)})" if new else "")
                      + "; the rights to those recordings and to the voice they carry are the person cloning's to hold"})
        return section


def train_voice(prepared_dir: str | os.PathLike[str], out_dir: str | os.PathLike[str],
                config: TrainConfig | None = None, *, resume: bool = False,
                base_voice: str | os.PathLike[str] | None = None, new_speaker: str | None = None) -> Path:
    """Trains a voice bundle from a prepared directory; returns the bundle directory."""
    trainer = Trainer(prepared_dir, out_dir, config or TrainConfig(), base_voice=base_voice,
                      new_speaker=new_speaker, resume=resume)
    result = trainer.run()
    assert result is not None
    return result

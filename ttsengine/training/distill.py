"""Training a fast CPU vocoder (:class:`~ttsengine.models.istft.ISTFTVocoder`) on (mel, wave) pairs.

Two regimes, one loop:

- **distillation** (``adv_weight=0``): the target is a deterministic teacher's wave (HiFi-GAN
  V1 on the voice's mels, ``recipes/cpu_vocoder/make_teacher_data.py``), so the student can
  match it, phase included: L1 on log-mel (the HiFi-GAN mel), multi-resolution log-magnitude
  and spectral convergence, and L1 on the power-compressed complex STFT (which carries phase).
  Measured: intelligible, but the regression losses average what the student cannot predict
  exactly and smear the harmonics (DistillMOS 3.04, BENCHMARKS.md).
- **adversarial** (``adv_weight>0``, the Vocos / HiFi-GAN recipe): multi-period and
  multi-resolution discriminators (:class:`~ttsengine.models.discriminators.VocoderDiscriminator`),
  LSGAN + feature matching + mel L1; usually started from a distilled student
  (``init_from``) and trained on recorded speech (``recipes/cpu_vocoder/make_gan_data.py``).

Training data are ``NNNNN.npz`` files with ``mel`` [n_mels, F] and ``wave`` (int16) [F * hop].

Checkpoints (``checkpoints/ckpt-NNNNNNNN.pt``, torch state dicts read with
``weights_only=True``) allow ``resume``; ``losses.csv`` logs every ``log_every`` steps.
"""

from __future__ import annotations

import csv
import logging
import os
import random
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F
from torch import Tensor

from ttsengine.audio.features import FeatureConfig
from ttsengine.errors import InvalidInputError
from ttsengine.models.istft import ISTFT_CONFIGS, ISTFTVocoder, ISTFTVocoderConfig

from .losses import TorchMel, discriminator_loss, feature_matching_loss, generator_adv_loss

__all__ = ["DistillConfig", "attach_cpu_vocoder", "distill_vocoder", "load_cpu_vocoder", "STFT_RESOLUTIONS"]

logger = logging.getLogger("ttsengine")

#: (n_fft, hop) of the multi-resolution STFT loss at 22.05/24 kHz.
STFT_RESOLUTIONS = ((256, 64), (512, 128), (1024, 256), (2048, 512))
#: Frames of mel on each side of a training segment whose output is not scored.
CONTEXT_FRAMES = 4


@dataclass
class DistillConfig:
    size: str = "small"
    steps: int = 20000
    batch_size: int = 16
    segment_frames: int = 32
    lr: float = 1e-3
    warmup_steps: int = 500
    seed: int = 0
    checkpoint_every: int = 500
    log_every: int = 25
    mel_weight: float = 1.0
    stft_weight: float = 1.0
    complex_weight: float = 1.0
    #: 0: plain distillation; > 0: the adversarial regime (module docstring).
    adv_weight: float = 0.0
    fm_weight: float = 2.0
    #: Discriminator sizes: MPD channels x 0.25, MRD 16 channels. On one CPU thread a batch-6 step
    #: of 32 frames takes ~1.4 s (MRD with 32 channels: ~3.4 s).
    mpd_width: float = 0.25
    mrd_channels: int = 16
    disc_lr: float | None = None
    #: Steps at the start that train only the discriminators (the generator is frozen).
    disc_warmup_steps: int = 0
    #: A voice bundle, or a training folder (its latest checkpoint), whose CPU vocoder the run
    #: starts from; its architecture replaces ``size``.
    init_from: str | None = None
    #: The vocoder's excitation (``ISTFTVocoderConfig.excitation``): ``"pulse"`` adds the
    #: source-filter heads (to a model started ``init_from`` one without them, too: they take
    #: over its magnitudes, ``ISTFTVocoder.hand_over_to_the_source``); it trains on the F0 of
    #: the target waves (``estimate_log_f0``), teacher-forced into the pulse train.
    excitation: str = "none"
    #: False: a source-filter vocoder without its free-phase part (``ISTFTVocoderConfig.free_part``;
    #: a model started ``init_from`` one with it drops it: ``ISTFTVocoder.without_free_part``).
    free_part: bool = True
    #: Weight of the pitch head's loss (L1 on voiced log-F0 + voicing cross-entropy).
    pitch_weight: float = 1.0


class TeacherData:
    """(mel, teacher wave) pairs held in memory as float32 / int16."""

    def __init__(self, folder: str | os.PathLike[str], hop: int, min_frames: int,
                 features: FeatureConfig | None = None) -> None:
        """With ``features``, each wave's log-F0 per mel frame is estimated on loading (0 = unvoiced)."""
        self.folder, self.hop, self.min_frames = Path(folder), hop, min_frames
        self.features = features
        self.mels: list[np.ndarray] = []
        self.waves: list[np.ndarray] = []
        self.log_f0: list[np.ndarray] = []
        self._seen: set[str] = set()
        self.refresh()
        if not self.mels:
            raise InvalidInputError(f"{folder}: no usable .npz (mel, wave) pairs")

    def refresh(self) -> int:
        """Loads files that appeared since the last call (the teacher may still be writing)."""
        added = 0
        for path in sorted(self.folder.glob("*.npz")):
            if path.name in self._seen:
                continue
            self._seen.add(path.name)
            try:
                with np.load(path) as item:
                    mel, wave = item["mel"].astype(np.float32), item["wave"]
            except (OSError, ValueError, KeyError):
                self._seen.discard(path.name)  # being written: next time
                continue
            if mel.shape[1] >= self.min_frames and wave.shape[0] == mel.shape[1] * self.hop:
                self.mels.append(mel)
                self.waves.append(wave)
                if self.features is not None:
                    from .prepare import estimate_log_f0

                    lf0 = estimate_log_f0(wave.astype(np.float32) / 32768.0, self.features)[: mel.shape[1]]
                    self.log_f0.append(np.pad(lf0, (0, mel.shape[1] - len(lf0))))
                added += 1
        return added

    @property
    def seconds(self) -> float:
        return sum(w.shape[0] for w in self.waves)

    def batch(self, rng: random.Random, size: int, frames: int) -> tuple[Tensor, Tensor, Tensor | None]:
        """mel [B, n_mels, frames + 2C], the teacher wave of its centre [B, frames * hop] and,
        with ``features``, log-F0 [B, frames + 2C] (0 on padding and unvoiced frames)."""
        total = frames + 2 * CONTEXT_FRAMES
        mels, waves, pitches = [], [], []
        for _ in range(size):
            i = rng.randrange(len(self.mels))
            mel, wave = self.mels[i], self.waves[i]
            start = rng.randrange(-CONTEXT_FRAMES, max(1, mel.shape[1] - total + CONTEXT_FRAMES + 1))
            lo, hi = max(start, 0), min(start + total, mel.shape[1])
            piece = np.full((mel.shape[0], total), float(np.log(1e-5)), dtype=np.float32)
            piece[:, lo - start : hi - start] = mel[:, lo:hi]
            target = np.zeros(frames * self.hop, dtype=np.float32)
            c0 = start + CONTEXT_FRAMES
            w_lo, w_hi = max(c0, 0), min(c0 + frames, mel.shape[1])
            if w_hi > w_lo:
                target[(w_lo - c0) * self.hop : (w_hi - c0) * self.hop] = (
                    wave[w_lo * self.hop : w_hi * self.hop] / 32768.0)
            mels.append(piece)
            waves.append(target)
            if self.features is not None:
                lf0 = np.zeros(total, dtype=np.float32)
                lf0[lo - start : hi - start] = self.log_f0[i][lo:hi]
                pitches.append(lf0)
        return (torch.from_numpy(np.stack(mels)), torch.from_numpy(np.stack(waves)),
                torch.from_numpy(np.stack(pitches)) if pitches else None)


def pitch_loss(pitch: Tensor, log_f0: Tensor) -> Tensor:
    """L1 on log-F0 over voiced frames + voicing cross-entropy; pitch [B, F, 2], log_f0 [B, F]."""
    from ttsengine.models.istft import _LOG_F0_CENTRE

    voiced = (log_f0 > 0).to(pitch.dtype)
    l1 = (torch.abs(pitch[..., 0] + _LOG_F0_CENTRE - log_f0) * voiced).sum() / voiced.sum().clamp(min=1.0)
    return l1 + F.binary_cross_entropy_with_logits(pitch[..., 1], voiced)


def _stft(wave: Tensor, n_fft: int, hop: int) -> Tensor:
    window = torch.hann_window(n_fft, device=wave.device)
    return torch.stft(wave, n_fft, hop, n_fft, window, center=True, return_complex=True)


def distill_losses(student: Tensor, teacher: Tensor, mel_fn: TorchMel) -> dict[str, Tensor]:
    """Each loss term for student / teacher waves [B, L]."""
    mel_l1 = F.l1_loss(mel_fn(student), mel_fn(teacher))
    log_mag = convergence = complex_l1 = student.new_zeros(())
    for n_fft, hop in STFT_RESOLUTIONS:
        s, t = _stft(student, n_fft, hop), _stft(teacher, n_fft, hop)
        s_mag, t_mag = s.abs().clamp(min=1e-5), t.abs().clamp(min=1e-5)
        log_mag = log_mag + F.l1_loss(torch.log(s_mag), torch.log(t_mag))
        convergence = convergence + torch.linalg.norm(t_mag - s_mag) / torch.linalg.norm(t_mag).clamp(min=1e-5)
        # power-law compressed complex spectra (|X|^0.3 with X's phase): scores phase too
        s_c = s * s_mag.pow(0.3 - 1.0)
        t_c = t * t_mag.pow(0.3 - 1.0)
        complex_l1 = complex_l1 + F.l1_loss(torch.view_as_real(s_c), torch.view_as_real(t_c))
    n = len(STFT_RESOLUTIONS)
    return {"mel_l1": mel_l1, "log_mag": log_mag / n, "convergence": convergence / n,
            "complex_l1": complex_l1 / n}


def load_cpu_vocoder(source: str | os.PathLike[str]) -> ISTFTVocoder:
    """The CPU vocoder of a voice bundle, or of a training folder's latest checkpoint, as a
    trainable fp32 model."""
    import json

    from safetensors.torch import load_file

    from ttsengine.voice import CPU_VOCODER_WEIGHTS

    source = Path(source)
    if (source / "voice.json").is_file():
        section = json.loads((source / "voice.json").read_text(encoding="utf-8")).get("cpu_vocoder")
        if not section:
            raise InvalidInputError(f"{source}: the voice has no CPU vocoder to start from")
        config, weights = ISTFTVocoderConfig.from_dict(section["hparams"]), source / CPU_VOCODER_WEIGHTS
    else:
        pointer = source / "checkpoints" / "latest"
        if not pointer.is_file():
            raise InvalidInputError(f"{source}: neither a voice bundle nor a training folder with checkpoints")
        state = torch.load(source / "checkpoints" / pointer.read_text().strip(), weights_only=True)
        model = ISTFTVocoder(ISTFTVocoderConfig.from_dict(state["vocoder"]))
        model.load_state_dict(state["model"])
        return model
    model = ISTFTVocoder(config)
    model.load_state_dict({k: v.float() for k, v in load_file(str(weights)).items()})
    return model


def _truncate_log(path: Path, step: int) -> None:
    """Drops rows an interrupted run logged after its last checkpoint."""
    if path.is_file():
        with open(path, newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            fields, rows = reader.fieldnames, [r for r in reader if int(r["step"]) <= step]
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fields or [])
            writer.writeheader()
            writer.writerows(rows)


def _lr_factor(step: int, warmup: int, total: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = min(1.0, (step - warmup) / max(1, total - warmup))
    return float(0.05 + 0.95 * 0.5 * (1.0 + np.cos(np.pi * progress)))  # float: checkpoints load weights_only


def distill_vocoder(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    features: FeatureConfig,
    config: DistillConfig,
    *,
    resume: bool = False,
    stop_at: int | None = None,
) -> ISTFTVocoder:
    """Trains (or resumes) a student; returns it after ``config.steps`` (or ``stop_at``) steps."""
    out = Path(out_dir)
    ckpt_dir = out / "checkpoints"
    ckpt_dir.mkdir(parents=True, exist_ok=True)
    vocoder_config = ISTFTVocoderConfig(**{**ISTFT_CONFIGS[config.size].to_dict(),
                                           "n_mels": features.n_mels, "hop_length": features.hop_length,
                                           "n_fft": 2 * features.hop_length, "excitation": config.excitation,
                                           "sample_rate": features.sample_rate})
    torch.manual_seed(config.seed)
    if config.init_from is not None:
        model = load_cpu_vocoder(config.init_from)
        vocoder_config = model.config
        if vocoder_config.hop_length != features.hop_length or vocoder_config.n_mels != features.n_mels:
            raise InvalidInputError(f"init_from {config.init_from}: its hop / mel bins differ from the features'")
        if config.excitation != "none" and vocoder_config.excitation != config.excitation:
            vocoder_config = ISTFTVocoderConfig(**{**vocoder_config.to_dict(), "excitation": config.excitation,
                                                   "sample_rate": features.sample_rate})
            grown = ISTFTVocoder(vocoder_config)
            missing = grown.load_state_dict(model.state_dict(), strict=False).missing_keys
            grown.hand_over_to_the_source()
            logger.info("distill: %s excitation added to %s (new: %s)", config.excitation, config.init_from,
                        ", ".join(sorted({k.split('.')[0] for k in missing})))
            model = grown
    else:
        model = ISTFTVocoder(vocoder_config)
    if not config.free_part and model.config.free_part:
        model = model.without_free_part()
        vocoder_config = model.config
        logger.info("distill: the free-phase part dropped")
    opt = torch.optim.AdamW(model.parameters(), lr=config.lr, betas=(0.8, 0.99), weight_decay=0.01)
    disc = disc_opt = None
    if config.adv_weight > 0:
        from ttsengine.models.discriminators import VocoderDiscriminator

        disc = VocoderDiscriminator(config.mpd_width, config.mrd_channels)
        disc_opt = torch.optim.AdamW(disc.parameters(), lr=config.disc_lr or config.lr, betas=(0.8, 0.99),
                                     weight_decay=0.01)
    step = 0
    rng = random.Random(config.seed)
    if resume:
        pointer = ckpt_dir / "latest"
        if not pointer.is_file():
            raise InvalidInputError(f"resume: no checkpoint in {ckpt_dir}")
        state = torch.load(ckpt_dir / pointer.read_text().strip(), weights_only=True)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        if disc is not None:
            if "disc" not in state:
                raise InvalidInputError(f"resume: {pointer.read_text().strip()} has no discriminator state "
                                        "(a distillation checkpoint): start a new adversarial run with init_from")
            disc.load_state_dict(state["disc"])
            disc_opt.load_state_dict(state["disc_opt"])
        step = int(state["step"])
        rng = random.Random(config.seed + step)
        _truncate_log(out / "losses.csv", step)
        logger.info("resumed at step %d", step)
    data = TeacherData(data_dir, features.hop_length, config.segment_frames // 2,
                       features if vocoder_config.excitation != "none" else None)
    logger.info("distill: %d utterances, %.1f min of teacher audio, %s (%.2f M parameters)",
                len(data.mels), data.seconds / features.sample_rate / 60, config.size,
                sum(p.numel() for p in model.parameters()) / 1e6)
    mel_fn = TorchMel(features)
    log_path = out / "losses.csv"
    fields = ["step", "seconds", "lr", "total", "mel_l1", "log_mag", "convergence", "complex_l1"]
    if vocoder_config.excitation != "none":
        fields += ["pitch"]
    if disc is not None:
        fields += ["disc", "adv", "fm"]
    last = stop_at if stop_at is not None else config.steps
    model.train()
    t0 = time.perf_counter()
    rows: list[dict[str, Any]] = []
    hop = features.hop_length
    while step < last:
        lr = config.lr * _lr_factor(step, config.warmup_steps, config.steps)
        for group in opt.param_groups:
            group["lr"] = lr
        mel, target, log_f0 = data.batch(rng, config.batch_size, config.segment_frames)
        generator_frozen = step < config.disc_warmup_steps
        with torch.set_grad_enabled(not generator_frozen):
            wave, pitch, _ = model.synthesize(mel, log_f0=log_f0)
            wave = wave[:, CONTEXT_FRAMES * hop : (CONTEXT_FRAMES + config.segment_frames) * hop]
        extra: dict[str, Tensor] = {}
        if pitch is not None:
            extra["pitch"] = pitch_loss(pitch, log_f0)
        if disc is not None:
            real_scores, _ = disc(target.unsqueeze(1))
            fake_scores, _ = disc(wave.detach().unsqueeze(1))
            d_loss = discriminator_loss(real_scores, fake_scores)
            for group in disc_opt.param_groups:
                group["lr"] = (config.disc_lr or config.lr) * _lr_factor(step, config.warmup_steps, config.steps)
            disc_opt.zero_grad(set_to_none=True)
            d_loss.backward()
            torch.nn.utils.clip_grad_norm_(disc.parameters(), 10.0)
            disc_opt.step()
            extra["disc"] = d_loss.detach()
        if generator_frozen:
            terms = {k: v.detach() for k, v in distill_losses(wave, target, mel_fn).items()}
            total = terms["mel_l1"]
        else:
            terms = distill_losses(wave, target, mel_fn)
            total = (config.mel_weight * terms["mel_l1"]
                     + config.stft_weight * (terms["log_mag"] + terms["convergence"])
                     + config.complex_weight * terms["complex_l1"])
            if pitch is not None:
                total = total + config.pitch_weight * extra["pitch"]
            if disc is not None:
                with torch.no_grad():
                    _, real_maps = disc(target.unsqueeze(1))
                fake_scores, fake_maps = disc(wave.unsqueeze(1))
                extra["adv"] = generator_adv_loss(fake_scores)
                extra["fm"] = feature_matching_loss(real_maps, fake_maps) / 2.0  # the HiFi-GAN factor is fm_weight
                total = total + config.adv_weight * extra["adv"] + config.fm_weight * extra["fm"]
            opt.zero_grad(set_to_none=True)
            total.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0 if disc is None else 100.0)
            opt.step()
        terms = {**terms, **{k: v.detach() for k, v in extra.items()}}
        step += 1
        if step % config.log_every == 0:
            now = time.perf_counter()
            rows.append({"step": step, "seconds": round(now - t0, 3), "lr": lr, "total": total.item(),
                         **{k: v.item() for k, v in terms.items()}})
            t0 = now
            new = not log_path.is_file()
            with open(log_path, "a", newline="", encoding="utf-8") as f:
                writer = csv.DictWriter(f, fields)
                if new:
                    writer.writeheader()
                writer.writerows({k: (f"{v:.6g}" if isinstance(v, float) else v) for k, v in r.items()}
                                 for r in rows)
            logger.info("step %d lr %.2e %s", step, lr, " ".join(f"{k}={v:.4f}" for k, v in rows[-1].items()
                                                                   if k not in ("step", "lr")))
            rows = []
        if step % config.checkpoint_every == 0 and data.refresh():
            logger.info("distill: now %d utterances", len(data.mels))
        if step % config.checkpoint_every == 0 or step == last:
            path = ckpt_dir / f"ckpt-{step:08d}.pt"
            state = {"step": step, "model": model.state_dict(), "opt": opt.state_dict(),
                     "vocoder": vocoder_config.to_dict(), "config": asdict(config)}
            if disc is not None:
                state |= {"disc": disc.state_dict(), "disc_opt": disc_opt.state_dict()}
            torch.save(state, path.with_suffix(".tmp"))
            os.replace(path.with_suffix(".tmp"), path)
            (ckpt_dir / "latest").write_text(path.name + "\n")
            for old in sorted(ckpt_dir.glob("ckpt-*.pt"))[:-3]:
                old.unlink(missing_ok=True)
    model.eval()
    return model


def attach_cpu_vocoder(voice_dir: str | os.PathLike[str], model: ISTFTVocoder, provenance: dict[str, Any],
                       dtype: torch.dtype = torch.float32) -> Path:
    """Writes ``model`` into the bundle at ``voice_dir`` as its CPU vocoder: the weights
    (``cpu_vocoder.safetensors``) and voice.json's ``cpu_vocoder`` section (with
    ``provenance``, e.g. the distillation's figures). The bundle's ONNX graphs, if any, are
    removed (they lack the new vocoder's graph): ``ttsengine export`` writes them all again."""
    import json
    import shutil

    from safetensors.torch import save_file

    from ttsengine.voice.contract import ONNX_DIR
    from ttsengine.voice.feature_stamp import STAMP_KEY, stamp_value
    from ttsengine.voice import CPU_VOCODER_WEIGHTS, write_voice_json

    voice_dir = Path(voice_dir)
    content = json.loads((voice_dir / "voice.json").read_text(encoding="utf-8"))
    if model.config.hop_length != content["features"]["hop_length"]:
        raise InvalidInputError(f"the CPU vocoder's hop {model.config.hop_length} is not the voice's "
                                f"{content['features']['hop_length']}")
    state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
    rate = content["features"].get("sample_rate", content["sample_rate"])
    save_file(state, str(voice_dir / CPU_VOCODER_WEIGHTS),
              metadata={"format": "pt", STAMP_KEY: stamp_value(content["features"], rate)})
    content["cpu_vocoder"] = {"arch": "istft", "hparams": model.config.to_dict(),
                              "receptive_field_frames": model.receptive_field_frames(), **provenance}
    if content.pop("onnx", None) is not None:
        shutil.rmtree(voice_dir / ONNX_DIR, ignore_errors=True)
        logger.info("%s: ONNX graphs removed (run `ttsengine export` to write them with the CPU vocoder's)",
                    voice_dir)
    content.pop("format_version", None)
    write_voice_json(voice_dir, content)
    return voice_dir

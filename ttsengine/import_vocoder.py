"""``ttsengine import-vocoder``: an official HiFi-GAN generator -> a voice bundle to train on.

The official checkpoint layout (jik876/hifi-gan: ``{"generator": state_dict}`` with weight
norm, plus its ``config.json``) becomes a bundle whose vocoder and mel features are the
checkpoint's and whose acoustic model is still untrained (``"trained": false``). Then::

    ttsengine prepare DATA --voice DIR -o PREPARED        # mels exactly as the vocoder expects
    ttsengine train PREPARED --vocoder-from DIR -o VOICE  # trains the acoustic model only

``--sample-rate`` sets the rate ``synthesize()`` returns by default (e.g. 24000 for a
vocoder trained at 22,050 Hz): the pipeline resamples, so no pitch shifts.
"""

from __future__ import annotations

import argparse
import json
import os
from pathlib import Path
from typing import Any

from .errors import InvalidInputError, VoiceLoadError

__all__ = ["import_vocoder", "add_arguments", "run"]


def _read_config(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise InvalidInputError(f"cannot read HiFi-GAN config {path}: {exc.strerror}") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InvalidInputError(f"HiFi-GAN config {path} is not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise InvalidInputError(f"HiFi-GAN config {path} must hold a JSON object")
    return data


def import_vocoder(checkpoint: str | os.PathLike[str], config: str | os.PathLike[str],
                   directory: str | os.PathLike[str], *, name: str | None = None,
                   sample_rate: int | None = None, g2p: str = "espeak", acoustic_size: str = "small",
                   overwrite: bool = False) -> Path:
    """Writes a bundle with the official HiFi-GAN generator ``checkpoint`` (features from
    its ``config.json``) and an untrained ``acoustic_size`` acoustic model.

    Raises InvalidInputError / VoiceLoadError for unreadable or mismatching inputs."""
    import torch
    from safetensors.torch import save_file

    from .audio import SUPPORTED_SAMPLE_RATES, FeatureConfig
    from .frontend import Frontend, default_symbols
    from .models.acoustic import AcousticModel, acoustic_config
    from .models.hifigan import HiFiGANConfig, load_official_checkpoint
    from .voice import ACOUSTIC_WEIGHTS, VOCODER_WEIGHTS, write_voice_json

    directory = Path(directory)
    if directory.exists() and any(directory.iterdir()) and not overwrite:
        raise InvalidInputError(f"{directory} is not empty (pass --force to overwrite)")
    cfg = _read_config(Path(config))
    try:
        features = FeatureConfig(sample_rate=int(cfg["sampling_rate"]), n_fft=int(cfg["n_fft"]),
                                 hop_length=int(cfg["hop_size"]), win_length=int(cfg["win_size"]),
                                 n_mels=int(cfg["num_mels"]), fmin=float(cfg["fmin"]),
                                 fmax=None if cfg.get("fmax") is None else float(cfg["fmax"]))
        vocoder_cfg = HiFiGANConfig(
            n_mels=int(cfg["num_mels"]), upsample_rates=cfg["upsample_rates"],
            upsample_kernel_sizes=cfg["upsample_kernel_sizes"],
            upsample_initial_channel=int(cfg["upsample_initial_channel"]), resblock=str(cfg["resblock"]),
            resblock_kernel_sizes=cfg["resblock_kernel_sizes"],
            resblock_dilation_sizes=cfg["resblock_dilation_sizes"])
    except KeyError as exc:
        raise InvalidInputError(f"HiFi-GAN config {config} has no {exc.args[0]!r}") from None
    except (TypeError, ValueError) as exc:
        raise InvalidInputError(f"HiFi-GAN config {config}: {exc}") from None
    if vocoder_cfg.hop_length != features.hop_length:
        raise InvalidInputError(f"HiFi-GAN config {config}: the generator upsamples by {vocoder_cfg.hop_length} "
                                f"but hop_size is {features.hop_length}")
    output_rate = features.sample_rate if sample_rate is None else int(sample_rate)
    if output_rate != features.sample_rate and {output_rate, features.sample_rate} - set(SUPPORTED_SAMPLE_RATES):
        raise InvalidInputError(f"cannot resample {features.sample_rate} Hz to {output_rate} Hz "
                                f"(supported: {', '.join(map(str, SUPPORTED_SAMPLE_RATES))})")
    generator = load_official_checkpoint(checkpoint, vocoder_cfg)  # VoiceLoadError when it does not fit
    frontend = Frontend("phonemes", default_symbols("phonemes"), "en-us", g2p=g2p)
    acoustic_cfg = acoustic_config(acoustic_size, n_symbols=len(frontend.symbols), n_speakers=1)
    torch.manual_seed(0)
    acoustic = AcousticModel(acoustic_cfg).eval()
    directory.mkdir(parents=True, exist_ok=True)
    for model, filename in ((acoustic, ACOUSTIC_WEIGHTS), (generator, VOCODER_WEIGHTS)):
        state = {k: v.detach().float().contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(directory / filename), metadata={"format": "pt"})
    write_voice_json(directory, {
        "name": name or directory.name,
        "description": (f"HiFi-GAN generator imported from {Path(checkpoint).name} "
                        f"({features.sample_rate} Hz); the acoustic model is untrained: train it with "
                        f"'ttsengine train PREPARED --vocoder-from {directory}'"),
        "trained": False,
        "sample_rate": output_rate,
        "features": features.to_dict(),
        "frontend": frontend.to_config(),
        "speakers": {"speaker0": 0},
        "acoustic": {"arch": "fastspeech2", "size": acoustic_size, "hparams": acoustic_cfg.to_dict()},
        "vocoder": {"arch": "hifigan", "variant": "imported", "hparams": vocoder_cfg.to_dict(),
                    "source": Path(checkpoint).name},
        "defaults": {"speaker": 0, "speed": 1.0},
    })
    return directory


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("checkpoint", metavar="CKPT", help="official HiFi-GAN generator checkpoint (g_XXXXXXXX)")
    parser.add_argument("--config", required=True, metavar="CONFIG.json", help="its config.json")
    parser.add_argument("-o", "--output", required=True, metavar="DIR", help="voice bundle to write")
    parser.add_argument("--name", help="voice name (default: the folder name)")
    parser.add_argument("--sample-rate", type=int, default=None,
                        help="rate synthesize() returns by default (default: the vocoder's; others are resampled)")
    parser.add_argument("--g2p", choices=("espeak", "misaki"), default="espeak",
                        help="phonemizer of the voice's frontend (default espeak)")
    parser.add_argument("--force", action="store_true", help="overwrite a non-empty DIR")


def run(args: argparse.Namespace) -> int:
    try:
        out = import_vocoder(args.checkpoint, args.config, args.output, name=args.name,
                             sample_rate=args.sample_rate, g2p=args.g2p, overwrite=args.force)
    except VoiceLoadError as exc:
        raise InvalidInputError(str(exc)) from None
    print(f"wrote {out} (vocoder imported; acoustic model untrained)")
    return 0

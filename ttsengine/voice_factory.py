"""Creates voice bundles with seeded random weights (test voices, untrained placeholders).

Needs torch. The same arguments always give the same bundle, byte for byte.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Sequence

from .audio import FeatureConfig
from .frontend import default_symbols
from .voice import ACOUSTIC_WEIGHTS, VOCODER_WEIGHTS, write_voice_json

__all__ = ["create_random_voice"]


def create_random_voice(
    directory: str | os.PathLike[str],
    *,
    name: str,
    acoustic_size: str = "tiny",
    vocoder: str = "v1",
    frontend_kind: str = "phonemes",
    language: str = "en-us",
    speakers: Sequence[str] = ("speaker0",),
    seed: int = 0,
    weights_dtype: str = "float32",
    description: str = "",
    overwrite: bool = False,
    cpu_vocoder: str | None = None,
    cpu_vocoder_excitation: str = "none",
) -> Path:
    """Writes a bundle whose networks have seeded random (untrained) weights.

    Args:
        acoustic_size: a name from ``ACOUSTIC_SIZES`` ("tiny", "small", "base").
        vocoder: a name from ``HIFIGAN_CONFIGS`` ("v1", "v2", "v3").
        weights_dtype: "float32" or "float16" (half the size on disk; loaded as fp32).
        cpu_vocoder: also a CPU vocoder of this size from ``ISTFT_CONFIGS`` ("small", "base").
        cpu_vocoder_excitation: its ``ISTFTVocoderConfig.excitation`` ("none", "pulse").
    """
    import torch
    from safetensors.torch import save_file

    from .voice.feature_stamp import STAMP_KEY, stamp_value

    from .models.acoustic import AcousticModel, acoustic_config
    from .models.hifigan import HIFIGAN_CONFIGS, HiFiGANGenerator

    directory = Path(directory)
    if (directory / "voice.json").exists() and not overwrite:
        raise FileExistsError(f"{directory} already holds a voice (pass overwrite=True)")
    symbols = default_symbols(frontend_kind, language)
    features = FeatureConfig()
    n_languages = 2 if frontend_kind == "mixed" else 1  # Mandarin + English: a language embedding
    acoustic_cfg = acoustic_config(acoustic_size, n_symbols=len(symbols), n_speakers=len(speakers),
                                   n_languages=n_languages)
    vocoder_cfg = HIFIGAN_CONFIGS[vocoder]
    if vocoder_cfg.hop_length != features.hop_length:
        raise ValueError(f"vocoder {vocoder} upsamples by {vocoder_cfg.hop_length}, not {features.hop_length}")
    dtype = {"float32": torch.float32, "float16": torch.float16}[weights_dtype]

    torch.manual_seed(seed)
    acoustic = AcousticModel(acoustic_cfg).eval()
    if acoustic.language_embedding is not None:  # trained ones are not zero: neither are random ones
        torch.nn.init.normal_(acoustic.language_embedding.weight, std=0.5)
    generator = HiFiGANGenerator(vocoder_cfg).eval()
    directory.mkdir(parents=True, exist_ok=True)
    for model, filename in ((acoustic, ACOUSTIC_WEIGHTS), (generator, VOCODER_WEIGHTS)):
        state = {k: v.detach().to(dtype).contiguous() for k, v in model.state_dict().items()}
        save_file(state, str(directory / filename),
                  metadata={"format": "pt", STAMP_KEY: stamp_value(features.to_dict())})
    write_voice_json(
        directory,
        {
            "name": name,
            "description": description,
            "trained": False,
            "sample_rate": features.sample_rate,
            "features": features.to_dict(),
            "frontend": {
                "kind": frontend_kind,
                "language": language,
                **({"g2p": "espeak"} if frontend_kind == "phonemes" else {}),
                "max_segment_chars": 200,
                "normalize": True,
                "symbols": list(symbols),
            },
            "speakers": {speaker: index for index, speaker in enumerate(speakers)},
            "acoustic": {"arch": "fastspeech2", "size": acoustic_size, "hparams": acoustic_cfg.to_dict()},
            "vocoder": {"arch": "hifigan", "variant": vocoder, "hparams": vocoder_cfg.to_dict()},
            "defaults": {"speaker": 0, "speed": 1.0},
        },
    )
    if cpu_vocoder is not None:
        from .models.istft import ISTFT_CONFIGS, ISTFTVocoder, ISTFTVocoderConfig
        from .training.distill import attach_cpu_vocoder

        config = ISTFTVocoderConfig(**{**ISTFT_CONFIGS[cpu_vocoder].to_dict(), "excitation": cpu_vocoder_excitation,
                                       "sample_rate": features.sample_rate})
        attach_cpu_vocoder(directory, ISTFTVocoder(config).eval(), {"trained": False}, dtype=dtype)
    return directory

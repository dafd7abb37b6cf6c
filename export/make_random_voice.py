#!/usr/bin/env python3
"""Writes a voice bundle with seeded random weights (for tests and untrained placeholders).

Example (the tiny test voice):
    python export/make_random_voice.py /tmp/tiny-voice --name tiny --size tiny --vocoder v1
"""

from __future__ import annotations

import argparse

from ttsengine.voice_factory import create_random_voice


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("directory")
    parser.add_argument("--name", required=True)
    parser.add_argument("--size", default="tiny", help="acoustic size: tiny | small | base")
    parser.add_argument("--vocoder", default="v1", help="HiFi-GAN config: v1 | v2 | v3")
    parser.add_argument("--frontend", default="phonemes", help="phonemes | pinyin | chars")
    parser.add_argument("--language", default="en-us")
    parser.add_argument("--speakers", nargs="+", default=["speaker0"])
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float16"])
    parser.add_argument("--description", default="")
    parser.add_argument("--force", action="store_true", help="overwrite an existing bundle")
    args = parser.parse_args()
    path = create_random_voice(
        args.directory, name=args.name, acoustic_size=args.size, vocoder=args.vocoder,
        frontend_kind=args.frontend, language=args.language, speakers=args.speakers,
        seed=args.seed, weights_dtype=args.dtype, description=args.description,
        overwrite=args.force,
    )
    print(path)


if __name__ == "__main__":
    main()

"""The starting point of the bilingual voice: the default voice widened to two languages,
and one prepared folder holding both corpora.

1. ``base``: a bundle whose front end is the ``mixed`` kind (Mandarin runs to pinyin tokens,
   English runs to misaki phonemes), whose symbol table is the default voice's (same ids)
   followed by the pinyin tokens it lacks, whose acoustic model carries a language embedding
   (``n_languages`` 2, zero at the start: English speaks exactly as the default voice) and
   one row per speaker (``af_heart``: the default voice's; ``zf_baker``: a copy of it to
   start from). The vocoders are the default voice's. New symbol rows start at the mean of
   the speakable rows.
2. ``prepared``: the default voice's prepared English corpus (speaker renamed ``af_heart``,
   language ``en-us``) and the prepared Mandarin teacher corpus (``zf_baker``, ``zh``), as
   links, with one ``metadata.jsonl`` and ``prepare.json``.

    python recipes/bilingual/make_base.py --english /work/data/prepared5k \\
        --mandarin /work/data/bi/prepared_zh [--joe /work/data/bi/joe/prepared] \\
        [--bilingual-speaker jf_tebukuro=DIR --repeat 3] [--voice V] -o /work/data/bi
    # then: ttsengine train /work/data/bi/prepared -o /work/data/bi/trained --init-from /work/data/bi/base ...
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
from pathlib import Path

import torch
from safetensors.torch import save_file

from ttsengine.frontend.symbols import SPACE, default_symbols, is_speakable
from ttsengine.models.loading import load_acoustic
from ttsengine.voice.config import load_voice, write_voice_json

ENGLISH_SPEAKER = "af_heart"
MANDARIN_SPEAKER = "zf_baker"
MALE_SPEAKER = "am_joe"
LANGUAGES = ("zh", "en-us")  # the mixed kind's order: language id 0 = Mandarin, 1 = English


def add_pitch_predictor(state: dict[str, torch.Tensor], hparams: dict) -> dict:
    """FastPitch-style token pitch for a model trained without it: a fresh pitch predictor
    (seeded init) and a pitch embedding that starts at zero, so the model first speaks exactly as
    before and learns to use the teacher's pitch (``pitch/ID.npy`` of the prepared corpus)."""
    from ttsengine.models.acoustic import AcousticConfig, AcousticModel

    hparams = {**hparams, "use_pitch": True}
    torch.manual_seed(26)
    fresh = AcousticModel(AcousticConfig.from_dict(hparams)).state_dict()
    for key, value in fresh.items():
        if key.startswith(("pitch_predictor.", "pitch_embedding.")):
            state[key] = torch.zeros_like(value) if key.startswith("pitch_embedding.") else value.float()
    return hparams


def make_base(source: str, out: Path, speakers: dict[str, str], pitch: bool = False) -> None:
    """Writes the starting bundle: ``speakers`` maps each speaker to the source voice's speaker
    whose embedding row it starts from (the source's own name: its row as is). A one-language
    source gets the mixed front end, the pinyin symbols and a zero language embedding; a
    bilingual source (an earlier run) keeps its table and embedding."""
    voice = load_voice(source)
    raw = json.loads((voice.path / "voice.json").read_text(encoding="utf-8"))
    symbols = list(raw["frontend"]["symbols"])
    widen = raw["frontend"]["kind"] != "mixed"
    added = [s for s in default_symbols("mixed", "zh") if s not in set(symbols)] if widen else []
    table = symbols + added
    model = load_acoustic(voice)
    state = {k: v.float() for k, v in model.state_dict().items()}
    if widen:
        emb = state["token_embedding.weight"]
        speakable = [i for i, s in enumerate(symbols) if is_speakable(s) and s != SPACE]
        mean = emb[speakable].mean(0, keepdim=True)
        gen = torch.Generator().manual_seed(25)
        noise = torch.randn(len(added), emb.shape[1], generator=gen)
        state["token_embedding.weight"] = torch.cat([emb, mean + 0.1 * emb[speakable].std(0, keepdim=True) * noise], 0)
        state["language_embedding.weight"] = torch.zeros(len(LANGUAGES), emb.shape[1])
    rows = state["speaker_embedding.weight"]
    state["speaker_embedding.weight"] = torch.stack([rows[voice.speakers[src]] for src in speakers.values()])
    hparams = {**raw["acoustic"]["hparams"], "n_symbols": len(table), "n_speakers": len(speakers),
               "n_languages": len(LANGUAGES)}
    if pitch and not hparams.get("use_pitch"):
        hparams = add_pitch_predictor(state, hparams)
    out.mkdir(parents=True, exist_ok=True)
    save_file({k: v.contiguous() for k, v in state.items()}, str(out / "acoustic.safetensors"))
    for name in ("vocoder.safetensors", "cpu_vocoder.safetensors"):
        if (voice.path / name).is_file():
            shutil.copy2(voice.path / name, out / name)
    if not (voice.path / "cpu_vocoder.safetensors").is_file():
        raw.pop("cpu_vocoder", None)
    shutil.copytree(voice.path / "LICENSES", out / "LICENSES", dirs_exist_ok=True)

    acoustic = dict(raw["acoustic"])
    acoustic["hparams"] = hparams
    old_stats = dict(acoustic.get("pitch_stats") or {})
    acoustic["pitch_stats"] = {new: old_stats[src] for new, src in speakers.items() if src in old_stats}
    content = {k: v for k, v in raw.items() if k not in ("format_version", "onnx", "training")}
    frontend = raw["frontend"] if not widen else {
        "kind": "mixed", "language": "zh", "g2p": "misaki", "g2p_language": "en-us", "symbols": table,
        "max_segment_chars": raw["frontend"].get("max_segment_chars", 200), "normalize": True,
        "onset_symbol": raw["frontend"].get("onset_symbol", SPACE)}
    content.update(
        name="bilingual-base",
        description="Mandarin + English starting point made from the default voice (recipes/bilingual).",
        trained=False, frontend=frontend,
        speakers={name: i for i, name in enumerate(speakers)},
        acoustic=acoustic,
        defaults={**raw.get("defaults", {}), "speaker": 0},
    )
    write_voice_json(out, content)
    load_voice(out)  # validates
    print(f"base: {out} ({len(symbols)} + {len(added)} symbols, speakers {list(content['speakers'])})")


def merge_prepared(parts: list[tuple[Path, str, str, str | None]], out: Path) -> None:
    """Links prepared folders ``(dir, id prefix, speaker, language)`` into ``out`` (language
    None: each utterance keeps its own, e.g. a speaker recorded in both languages). The same
    folder listed under several prefixes is drawn that many times as often in training."""
    for sub in ("mels", "pitch", "wavs"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    info: dict = {}
    stats: dict = {}
    lines = []
    for folder, prefix, speaker, language in parts:
        part_info = json.loads((folder / "prepare.json").read_text(encoding="utf-8"))
        if info and part_info["features"] != info["features"]:
            raise SystemExit(f"{folder}: features differ from the other corpus's")
        info = info or part_info
        (old_speaker,) = part_info["speakers"]
        stats[speaker] = part_info["pitch_stats"][old_speaker]
        for line in (folder / "metadata.jsonl").open(encoding="utf-8"):
            item = json.loads(line)
            old_id = item["id"]
            item.update(id=f"{prefix}{old_id}", speaker=speaker)
            if language is not None:
                item["language"] = language
            for sub, ext in (("mels", ".npy"), ("pitch", ".npy"), ("wavs", ".wav")):
                src = folder / sub / f"{old_id}{ext}"
                dst = out / sub / f"{item['id']}{ext}"
                if src.exists() and not dst.exists():
                    os.symlink(src.resolve(), dst)
            lines.append(json.dumps(item, ensure_ascii=False))
    (out / "metadata.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    info.update(speakers=sorted(stats), pitch_stats=stats)
    (out / "prepare.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
    print(f"prepared: {out} ({len(lines)} utterances, speakers {sorted(stats)})")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--voice", default="default", help="the voice to start from (default: default)")
    ap.add_argument("--english", type=Path, required=True, help="its prepared corpus (with --lead-in)")
    ap.add_argument("--mandarin", type=Path, required=True, help="prepared Mandarin corpus (durations_zh.py)")
    ap.add_argument("--joe", type=Path, default=None, help="prepared am_joe corpus (make_joe.py), optional")
    ap.add_argument("--bilingual-speaker", metavar="NAME=DIR", action="append", default=[],
                    help="a prepared corpus of one speaker in both languages (make_kokoro.py); repeatable")
    ap.add_argument("--repeat", type=int, default=1,
                    help="draw each --bilingual-speaker corpus this many times as often (default 1)")
    ap.add_argument("--pitch", action="store_true",
                    help="add a token pitch predictor (zero-initialised pitch embedding) if the voice has none")
    ap.add_argument("-o", "--out", type=Path, required=True, help="writes OUT/base and OUT/prepared")
    args = ap.parse_args()
    source = load_voice(args.voice)
    own = {ENGLISH_SPEAKER: ENGLISH_SPEAKER, MANDARIN_SPEAKER: MANDARIN_SPEAKER}
    first = next(iter(source.speakers))
    speakers = {name: (src if src in source.speakers else first) for name, src in own.items()}
    parts = [(args.english, "en", ENGLISH_SPEAKER, "en-us"), (args.mandarin, "zh", MANDARIN_SPEAKER, "zh")]
    if args.joe is not None:
        speakers[MALE_SPEAKER] = MALE_SPEAKER if MALE_SPEAKER in source.speakers else speakers[ENGLISH_SPEAKER]
        parts.append((args.joe, "joe", MALE_SPEAKER, "en-us"))
    for item in args.bilingual_speaker:
        name, _, folder = item.partition("=")
        if not name or not folder:
            raise SystemExit(f"--bilingual-speaker {item!r} is not NAME=DIR")
        speakers[name] = name if name in source.speakers else speakers[ENGLISH_SPEAKER]
        parts += [(Path(folder), f"{name}{k}_", name, None) for k in range(max(1, args.repeat))]
    make_base(args.voice, args.out / "base", speakers, pitch=args.pitch)
    merge_prepared(parts, args.out / "prepared")


if __name__ == "__main__":
    main()

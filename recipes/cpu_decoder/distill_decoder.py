#!/usr/bin/env python3
"""Distil a voice's acoustic decoder into a shallower one (fewer FFT blocks) for CPUs.

The teacher is the voice's own acoustic model. The student is the same model with
``--layers`` decoder blocks: token embedding, encoder, duration predictor and speaker
rows are copied and frozen (durations, and so timing, stay exactly the teacher's); the
student's decoder blocks start as copies of teacher blocks (``--init``), then only the
decoder and the mel projection train, on the L1 distance to the teacher's mel for the
same frames (teacher forcing with the corpus's exact durations).

    python recipes/cpu_decoder/distill_decoder.py --voice default --prepared DIR \
        --out WORK [--layers 2] [--steps 4000] [--resume]

Writes WORK/checkpoints/step-N.pt (model + optimiser, torch.save; read back with
weights_only=True) every --checkpoint-every steps, WORK/log.jsonl, and at the end
WORK/acoustic.safetensors; with ``--into TRAINED`` (a trained fp32 bundle, e.g. the one
``recipes/default_voice/ship.py`` turns into ``default``) the student replaces that bundle's
acoustic model (hparams and a ``decoder_distillation`` record in voice.json).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import torch


def parse_args() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--voice", default="default")
    p.add_argument("--prepared", required=True, help="prepared corpus with exact durations")
    p.add_argument("--out", required=True)
    p.add_argument("--layers", type=int, default=2)
    p.add_argument("--init", default="0,2", help="teacher block copied into each student block")
    p.add_argument("--kernel", type=int, help="the student's decoder FFN kernel (default: the teacher's); "
                   "a narrower one starts from the teacher's centre taps")
    p.add_argument("--steps", type=int, default=4000)
    p.add_argument("--batch-size", type=int, default=16)
    p.add_argument("--lr", type=float, default=5e-4)
    p.add_argument("--max-frames", type=int, default=600)
    p.add_argument("--checkpoint-every", type=int, default=250)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--resume", action="store_true")
    p.add_argument("--into", help="trained bundle whose acoustic model the student replaces")
    return p.parse_args()


def main() -> None:
    args = parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    from safetensors.torch import save_file

    from ttsengine.models.loading import load_acoustic
    from ttsengine.frontend import Frontend
    from ttsengine.models.acoustic import AcousticConfig, AcousticModel, length_regulate
    from ttsengine.training.datasets import TrainingData
    from ttsengine.voice import load_voice

    out = Path(args.out)
    (out / "checkpoints").mkdir(parents=True, exist_ok=True)
    voice = load_voice(args.voice)
    teacher = load_acoustic(voice).eval()
    teacher_cfg = teacher.config
    teacher_kernels = teacher_cfg.decoder_ffn_kernels or teacher_cfg.ffn_kernels
    kernels = (args.kernel, teacher_kernels[1]) if args.kernel else teacher_kernels
    hparams = dict(voice.acoustic["hparams"], dec_layers=args.layers)
    if kernels != teacher_cfg.ffn_kernels:
        hparams["decoder_ffn_kernels"] = list(kernels)
    student = AcousticModel(AcousticConfig.from_dict({**hparams, "dropout": 0.0}))
    init = [int(i) for i in args.init.split(",")]
    if len(init) != args.layers:
        raise SystemExit(f"--init names {len(init)} teacher blocks for {args.layers} student blocks")
    state = {k: v for k, v in teacher.state_dict().items() if not k.startswith("decoder.")}
    for i, j in enumerate(init):
        prefix = f"decoder.{j}."
        state.update({f"decoder.{i}." + k[len(prefix):]: v
                      for k, v in teacher.state_dict().items() if k.startswith(prefix)})
        conv = state[f"decoder.{i}.ffn.conv1.weight"]  # [ffn, d_model, teacher kernel]
        cut = (conv.shape[-1] - kernels[0]) // 2
        if cut > 0:
            state[f"decoder.{i}.ffn.conv1.weight"] = conv[..., cut:cut + kernels[0]].clone()
    student.load_state_dict(state, strict=True)
    trainable = [p for n, p in student.named_parameters() if n.startswith(("decoder.", "mel_proj."))]
    for n, p in student.named_parameters():
        p.requires_grad_(n.startswith(("decoder.", "mel_proj.")))
    opt = torch.optim.AdamW(trainable, lr=args.lr, betas=(0.8, 0.99), weight_decay=0.0)
    warmup = 200

    def lr_at(step: int) -> float:
        if step < warmup:
            return args.lr * (step + 1) / warmup
        t = (step - warmup) / max(1, args.steps - warmup)
        return args.lr * (0.05 + 0.95 * 0.5 * (1 + math.cos(math.pi * min(t, 1.0))))

    step = 0
    ckpts = sorted((out / "checkpoints").glob("step-*.pt"), key=lambda p: int(p.stem.split("-")[1]))
    if args.resume and ckpts:
        ck = torch.load(ckpts[-1], weights_only=True)
        student.load_state_dict(ck["model"])
        opt.load_state_dict(ck["opt"])
        step = int(ck["step"])
        print(f"resumed at step {step} from {ckpts[-1]}", flush=True)

    frontend = Frontend.from_config(dict(voice.frontend))
    speakers = dict(voice.speakers)
    if len(speakers) == 1:  # a single-speaker voice: whatever the corpus calls its speaker
        from ttsengine.training.prepare import load_prepared

        speakers = {item["speaker"]: 0 for item in load_prepared(Path(args.prepared))[1]}
    data = TrainingData(args.prepared, frontend, speakers, max_frames=args.max_frames)
    held_out = list(range(len(data) - 64, len(data)))  # never trained on: the validation figure
    train_n = len(data) - 64
    (out / "log.jsonl").touch()
    log = open(out / "log.jsonl", "a")

    cache: dict[int, tuple[torch.Tensor, torch.Tensor, torch.Tensor]] = {}  # the teacher's outputs

    def mels(indices: list[int]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        todo = [i for i in indices if i not in cache]
        if todo:
            b = data.acoustic_batch(todo, clamp_log=math.log(1e-5))
            token_mask = torch.arange(b.tokens.shape[1])[None] < b.token_lengths[:, None]
            with torch.no_grad():
                hidden, _ = teacher.encode(b.tokens, token_mask, b.speakers)
                frames, frame_mask = length_regulate(hidden, b.durations.masked_fill(~token_mask, 0))
                target = teacher.decode(frames, frame_mask)
            for row, i in enumerate(todo):
                n, f = int(b.token_lengths[row]), int(frame_mask[row].sum())
                cache[i] = (hidden[row, :n].clone(), b.durations[row, :n].clone(), target[row, :, :f].half())
        items = [cache[i] for i in indices]
        T = max(h.shape[0] for h, _, _ in items)
        F = max(t.shape[1] for _, _, t in items)
        hidden = torch.zeros(len(items), T, items[0][0].shape[1])
        durations = torch.zeros(len(items), T, dtype=torch.long)
        target = torch.zeros(len(items), items[0][2].shape[0], F)
        for row, (h, d, t) in enumerate(items):
            hidden[row, :h.shape[0]], durations[row, :d.shape[0]] = h, d
            target[row, :, :t.shape[1]] = t.float()
        frames, frame_mask = length_regulate(hidden, durations)
        return frames, frame_mask, target

    def l1(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[:, None, :].float()
        return ((pred - target).abs() * m).sum() / (m.sum() * pred.shape[1])

    def validate() -> float:
        student.eval()
        with torch.no_grad():
            losses = [l1(student.decode(f, m), t, m).item()
                      for f, m, t in (mels(held_out[i:i + 16]) for i in range(0, 64, 16))]
        return float(np.mean(losses))

    rng_seed = args.seed
    logged = [json.loads(line) for line in (out / "log.jsonl").read_text().splitlines() if line.strip()]
    row = next((r for r in reversed(logged) if "val_l1" in r and r["step"] <= step), {"seconds": 0.0})
    started = time.time() - row["seconds"]  # seconds count the whole run across resumes
    while step < args.steps:
        perm = np.random.default_rng([rng_seed, step // (train_n // args.batch_size)]).permutation(train_n)
        pos = step % (train_n // args.batch_size)
        indices = [int(i) for i in perm[pos * args.batch_size:(pos + 1) * args.batch_size]]
        frames, frame_mask, target = mels(indices)
        student.train()
        loss = l1(student.decode(frames, frame_mask), target, frame_mask)
        for g in opt.param_groups:
            g["lr"] = lr_at(step)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(trainable, 1.0)
        opt.step()
        step += 1
        row = {"step": step, "loss": round(loss.item(), 5), "lr": lr_at(step - 1),
               "seconds": round(time.time() - started, 1)}
        if step % args.checkpoint_every == 0 or step == args.steps:
            row["val_l1"] = round(validate(), 5)
            torch.save({"model": student.state_dict(), "opt": opt.state_dict(), "step": step},
                       out / "checkpoints" / f"step-{step}.pt")
            for old in sorted((out / "checkpoints").glob("step-*.pt"),
                              key=lambda p: int(p.stem.split("-")[1]))[:-2]:
                old.unlink()
        if step % 10 == 0 or "val_l1" in row:
            log.write(json.dumps(row) + "\n")
            log.flush()
            print(row, flush=True)
    save_file({k: v.contiguous() for k, v in student.state_dict().items()}, str(out / "acoustic.safetensors"))
    if args.into:
        import shutil

        from ttsengine.voice import write_voice_json

        target = load_voice(args.into).to_dict()
        target.pop("format_version")
        target["acoustic"]["hparams"] = hparams
        target["acoustic"]["decoder_distillation"] = {
            "teacher_dec_layers": int(voice.acoustic["hparams"]["dec_layers"]), "init_blocks": init,
            "teacher_ffn_kernels": list(teacher_kernels),
            "steps": args.steps, "batch_size": args.batch_size, "lr": args.lr,
            "val_l1_to_teacher": row.get("val_l1"), "seconds_1_thread": row["seconds"],
            "recipe": "recipes/cpu_decoder",
        }
        shutil.copyfile(out / "acoustic.safetensors", Path(args.into) / "acoustic.safetensors")
        write_voice_json(args.into, target)
        load_voice(args.into)  # the bundle still validates
    print("done:", out / "acoustic.safetensors", flush=True)


if __name__ == "__main__":
    main()

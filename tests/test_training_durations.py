"""Exact durations (``prepare --durations``): timings become per-token frame counts that
training uses instead of its aligner; prepare is incremental; checkpoints become bundles."""

from __future__ import annotations

import argparse
import csv
import json

import numpy as np
import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.training.prepare import load_prepared, prepare_dataset, read_durations, seconds_to_frames
from ttsengine.training.synthetic import make_synthetic_corpus

HOP = 256


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return make_synthetic_corpus(tmp_path_factory.mktemp("dur") / "data", 6, speakers=("alice", "bob"), seed=4)


@pytest.fixture(scope="module")
def prepared(corpus, tmp_path_factory):
    out = tmp_path_factory.mktemp("dur") / "prep"
    prepare_dataset(corpus, out, durations=corpus / "durations.jsonl")
    return out


def test_seconds_to_frames_rounds_cumulatively_to_the_frame_count():
    frames = seconds_to_frames([0.01, 0.02, 0.013, 0.5], 50, 24000, HOP)
    assert frames.sum() == 50 and len(frames) == 4 and (frames >= 0).all()
    exact = np.cumsum([0.01, 0.02, 0.013, 0.5]) * 24000 / HOP
    assert np.abs(np.cumsum(frames) - exact * 50 / exact[-1]).max() <= 0.5
    with pytest.raises(ValueError):
        seconds_to_frames([0.0, 0.0], 10, 24000, HOP)


@pytest.mark.parametrize("line, message", [
    ("{not json", "not JSON"),
    ('{"path": "a.wav"}', "expected an object"),
    ('{"path": "a.wav", "symbols": "ab", "seconds": [0.1], "start": 0, "end": 1}', "one 'seconds' value"),
    ('{"path": "a.wav", "symbols": "ab", "seconds": [0.1, -1], "start": 0, "end": 1}', "finite, >= 0"),
    ('{"path": "a.wav", "symbols": "ab", "seconds": [0.1, 0.1], "start": 1, "end": 1}', "start < end"),
])
def test_bad_durations_files_are_refused_with_the_line(tmp_path, line, message):
    path = tmp_path / "d.jsonl"
    path.write_text(line + "\n", encoding="utf-8")
    with pytest.raises(InvalidInputError, match=message) as err:
        read_durations(path)
    assert "d.jsonl:1" in str(err.value)


def test_prepare_keeps_exact_timings_untrimmed(corpus, prepared):
    timings = read_durations(corpus / "durations.jsonl")
    _, items = load_prepared(prepared)
    report = json.loads((prepared / "report.json").read_text(encoding="utf-8"))
    assert len(items) + report["dropped"] == len(timings) == 12 and len(items) >= 8
    assert set(report["dropped_by_reason"]) <= {"too short"}  # < 0.3 s of letters
    for item in items:
        t = timings[item["source"]]
        expected = [round(s * 24000 / HOP) for s in t["seconds"]]  # the corpus uses whole frames
        assert item["durations"] == expected and item["symbols"] == t["symbols"]
        assert item["frames"] == sum(expected) == np.load(prepared / "mels" / f"{item['id']}.npy").shape[1]


def test_lead_in_keeps_the_onset_as_a_leading_pause_symbol(corpus, tmp_path):
    from ttsengine.training.prepare import ONSET_SYMBOL, PrepareConfig

    out = tmp_path / "prep"
    prepare_dataset(corpus, out, durations=corpus / "durations.jsonl", config=PrepareConfig(lead_in_s=0.1))
    timings = read_durations(corpus / "durations.jsonl")
    info, items = load_prepared(out)
    assert info["settings"]["lead_in_s"] == 0.1 and items
    for item in items:
        t = timings[item["source"]]
        assert t["start"] >= 0.1 and item["symbols"] == ONSET_SYMBOL + t["symbols"]
        assert item["durations"][0] == round(0.1 * 24000 / HOP)  # the kept lead-in
        assert item["frames"] == sum(item["durations"]) == np.load(out / "mels" / f"{item['id']}.npy").shape[1]
        untrimmed = sum(round(s * 24000 / HOP) for s in t["seconds"])
        assert item["frames"] > untrimmed + item["durations"][0] - 1  # the lead-in and some tail were kept


def test_a_voice_trained_with_lead_in_puts_its_onset_symbol_first(corpus, tmp_path):
    pytest.importorskip("torch")
    from ttsengine.frontend import Frontend
    from ttsengine.training.prepare import ONSET_SYMBOL, PrepareConfig
    from ttsengine.training.trainer import TrainConfig, Trainer

    out = tmp_path / "prep"
    prepare_dataset(corpus, out, durations=corpus / "durations.jsonl", config=PrepareConfig(lead_in_s=0.1))
    cfg = TrainConfig(size="tiny", vocoder="v2", batch_size=2, steps=1, vocoder_steps=0, device="cpu",
                      frontend_kind="chars", progress=False, sample_every=0, checkpoint_every=1)
    trainer = Trainer(out, tmp_path / "v", cfg)
    assert trainer.frontend_cfg["onset_symbol"] == ONSET_SYMBOL
    frontend = Frontend.from_config(trainer.frontend_cfg)
    plain = Frontend.from_config({k: v for k, v in trainer.frontend_cfg.items() if k != "onset_symbol"})
    space = frontend.symbol_ids(ONSET_SYMBOL)
    for a, b in zip(frontend.segments("Ab cd. Ef gh."), plain.segments("Ab cd. Ef gh.")):
        assert a.ids == space + b.ids
    with pytest.raises(ValueError, match="onset_symbol"):
        Frontend.from_config({**trainer.frontend_cfg, "onset_symbol": "not a symbol"})


def test_prepare_resumes_an_interrupted_run(corpus, tmp_path):
    out = tmp_path / "prep"
    prepare_dataset(corpus, out, durations=corpus / "durations.jsonl")
    lines = (out / "metadata.jsonl").read_text(encoding="utf-8").splitlines()
    (out / "prepare.json").unlink()
    (out / "metadata.jsonl").write_text("\n".join(lines[:5]) + "\n" + lines[5][:20], encoding="utf-8")
    summary = prepare_dataset(corpus, out, durations=corpus / "durations.jsonl")
    _, items = load_prepared(out)
    assert summary["kept"] == len(lines) and [json.loads(x) for x in lines] == items


def test_unknown_symbols_give_their_frames_to_a_neighbour():
    from ttsengine.frontend import Frontend, default_symbols
    from ttsengine.training.datasets import symbols_to_tokens

    fe = Frontend("chars", default_symbols("chars"), "en")
    ids, frames = symbols_to_tokens(fe, "#ab§c", [2, 3, 4, 5, 6])
    assert ids == fe.symbol_ids("abc") and frames.tolist() == [5, 9, 6] and frames.sum() == 20


torch = pytest.importorskip("torch")


def test_training_uses_the_exact_durations_without_an_aligner(prepared, tmp_path):
    from ttsengine.training.trainer import TrainConfig, Trainer
    from ttsengine.voice import load_voice

    cfg = TrainConfig(size="tiny", vocoder="v2", batch_size=8, steps=6, vocoder_steps=0, device="cpu",
                      frontend_kind="chars", progress=False, warmup_steps=0, sample_every=0, log_every=1,
                      checkpoint_every=3, lr=2e-3)
    trainer = Trainer(prepared, tmp_path / "v", cfg)
    assert trainer.data.exact_durations
    batch = trainer.data.acoustic_batch(list(range(8)), trainer.clamp_log)
    assert batch.durations is not None
    assert (batch.durations.sum(1) == batch.mel_lengths).all()
    aligner = {k: v.clone() for k, v in trainer.aligner.state_dict().items()}
    trainer.run()
    rows = list(csv.DictReader(open(tmp_path / "v" / "training" / "losses.csv")))
    assert all(float(r["align_ctc"]) == 0 for r in rows)
    assert float(rows[-1]["mel"]) < float(rows[0]["mel"]) and float(rows[-1]["duration"]) < float(rows[0]["duration"])
    assert all(float(r["duration_ratio"]) > 0 for r in rows)
    assert all(torch.equal(v, trainer.aligner.state_dict()[k]) for k, v in aligner.items())  # untouched
    voice = load_voice(tmp_path / "v")
    assert not (voice.path / "aligner.safetensors").exists() and "aligner" not in voice.acoustic
    assert voice.extra["training"]["exact_durations"] and voice.extra["training"]["acoustic_steps"] == 6


def test_bundle_only_writes_the_latest_checkpoint(prepared, tmp_path):
    from ttsengine.training import cli
    from ttsengine.voice import load_voice

    parser = argparse.ArgumentParser()
    cli.add_train_arguments(parser)
    base = [str(prepared), "-o", str(tmp_path / "v"), "--size", "tiny", "--vocoder", "v2", "--batch-size", "4",
            "--device", "cpu", "--frontend", "chars", "--no-progress", "--sample-every", "0",
            "--checkpoint-every", "2", "--threads", "1"]
    from ttsengine.training.trainer import TrainConfig, Trainer

    Trainer(prepared, tmp_path / "v", TrainConfig(size="tiny", vocoder="v2", batch_size=4, steps=10,
                                                  vocoder_steps=0, device="cpu", frontend_kind="chars",
                                                  progress=False, sample_every=0, checkpoint_every=2)).run(stop_at=4)
    assert not (tmp_path / "v" / "voice.json").exists()
    assert cli.run_train(parser.parse_args(base + ["--steps", "10", "--vocoder-steps", "0", "--bundle-only"])) == 0
    voice = load_voice(tmp_path / "v")
    assert voice.extra["training"]["acoustic_steps"] == 4
    with pytest.raises(InvalidInputError, match="no checkpoint"):
        cli.run_train(parser.parse_args(base[:1] + ["-o", str(tmp_path / "empty")] + base[3:] + ["--bundle-only"]))

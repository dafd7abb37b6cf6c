"""Cloning: DTW durations against the base voice's rendering, rehearsal of the base speakers,
and a clone of an aligner-less base that keeps its base speaker close to where it was."""

from __future__ import annotations

import json

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine.training.dtw import (  # noqa: E402
    choose_stretch, dtw_path, mfcc, stretch_frequencies, warp_durations)


def brute_force_cost(cost: np.ndarray) -> float:
    n, m = cost.shape
    acc = np.full((n, m), np.inf)
    for i in range(n):
        for j in range(m):
            best = 0.0 if i == j == 0 else min(
                acc[i - 1, j] if i else np.inf, acc[i, j - 1] if j else np.inf,
                acc[i - 1, j - 1] if i and j else np.inf)
            acc[i, j] = cost[i, j] + best
    return float(acc[-1, -1])


@pytest.mark.parametrize("shape", [(1, 1), (1, 6), (6, 1), (7, 9), (12, 5), (30, 31)])
def test_dtw_path_is_the_least_cost_monotonic_path(shape):
    cost = np.random.default_rng(sum(shape)).random(shape)
    path = dtw_path(cost)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (shape[0] - 1, shape[1] - 1)
    steps = np.diff(path, axis=0)
    assert all(tuple(s) in {(1, 0), (0, 1), (1, 1)} for s in steps)
    assert cost[path[:, 0], path[:, 1]].sum() == pytest.approx(brute_force_cost(cost))


def test_dtw_path_rejects_empty_cost():
    with pytest.raises(ValueError):
        dtw_path(np.zeros((0, 3)))


def _render(spectra: np.ndarray, durations: np.ndarray, gain: float = 0.0) -> np.ndarray:
    return np.repeat(spectra, durations, axis=0).T + gain


def test_warp_durations_recovers_another_timing_of_the_same_tokens():
    rng = np.random.default_rng(0)
    spectra = rng.normal(size=(12, 80)) * 2.0  # one distinct log-mel spectrum per token
    reference_durations = rng.integers(2, 9, size=12)
    target_durations = rng.integers(1, 12, size=12)
    reference = _render(spectra, reference_durations)
    target = _render(spectra, target_durations, gain=-3.0)  # a louder / quieter "speaker"
    found = warp_durations(target, reference, reference_durations)
    assert found.sum() == target.shape[1]
    np.testing.assert_array_equal(found, target_durations)


def test_choose_stretch_undoes_a_stretched_vocal_tract():
    """A "speaker" whose spectra are the reference's squeezed in frequency (a longer vocal
    tract) is found to need the inverse stretch, and is then aligned exactly."""
    rng = np.random.default_rng(2)
    kernel = np.hanning(15) / np.hanning(15).sum()
    spectra = np.stack([np.convolve(rng.normal(size=80 + 14), kernel, mode="valid") for _ in range(12)]) * 8.0
    reference_durations = rng.integers(3, 9, size=12)
    target_durations = rng.integers(2, 12, size=12)
    reference = _render(spectra, reference_durations)
    target = stretch_frequencies(_render(spectra, target_durations), 1 / 1.2)
    stretch = choose_stretch([(target, reference)])
    assert stretch == pytest.approx(1.2, abs=0.051)
    found = warp_durations(target, reference, reference_durations, stretch)
    assert np.abs(np.cumsum(found) - np.cumsum(target_durations)).max() <= 1


def test_stretch_frequencies():
    mel = np.arange(80, dtype=float)[:, None] * np.ones((1, 3))
    assert stretch_frequencies(mel, 1.0) is mel
    np.testing.assert_allclose(stretch_frequencies(mel, 2.0)[:, 0], np.arange(80) / 2.0)
    np.testing.assert_allclose(stretch_frequencies(mel, 0.5)[:, 0], np.minimum(np.arange(80) * 2.0, 79))


def test_warp_durations_checks_the_reference():
    with pytest.raises(ValueError, match="sum to"):
        warp_durations(np.zeros((80, 5)), np.zeros((80, 6)), np.array([2, 2]))


def test_mfcc_is_normalised_per_utterance():
    c = mfcc(np.random.default_rng(1).normal(size=(80, 50)) + 7.0)
    assert c.shape == (50, 13)
    np.testing.assert_allclose(c.mean(0), 0.0, atol=1e-9)
    np.testing.assert_allclose(c.std(0), 1.0, atol=1e-3)


# ---------------------------------------------------------------------- end to end (tiny voice)
FAST = dict(size="tiny", vocoder="v2", batch_size=8, vocoder_batch_size=1, segment_size=2048,
            device="cpu", frontend_kind="chars", disc_width=0.125, progress=False, warmup_steps=0,
            sample_every=0, log_every=1)


@pytest.fixture(scope="module")
def base_voice(tmp_path_factory):
    """A tiny two-speaker voice trained on exact durations (no aligner), like the default voice."""
    from ttsengine.training.prepare import prepare_dataset
    from ttsengine.training.synthetic import make_synthetic_corpus
    from ttsengine.training.trainer import TrainConfig, Trainer

    root = tmp_path_factory.mktemp("clonebase")
    make_synthetic_corpus(root / "data", 8, speakers=("alice", "bob"), seed=0)
    prepare_dataset(root / "data", root / "prep")
    # exact durations: spread each utterance's frames evenly over its characters
    items = [json.loads(line) for line in (root / "prep" / "metadata.jsonl").read_text().splitlines()]
    for it in items:
        symbols = list(it["text"].lower())
        ends = np.round(np.linspace(0, it["frames"], len(symbols) + 1)).astype(int)
        it["symbols"], it["durations"] = symbols, np.diff(ends).tolist()
    (root / "prep" / "metadata.jsonl").write_text("".join(json.dumps(it) + "\n" for it in items))
    out = root / "voice"
    Trainer(root / "prep", out, TrainConfig(**FAST, steps=30, vocoder_steps=1, lr=2e-3)).run()
    assert not (out / "aligner.safetensors").exists()
    meta = json.loads((out / "voice.json").read_text())
    meta["license"] = {"voice": "Apache-2.0", "components": [
        {"part": "acoustic.safetensors", "license": "Apache-2.0", "origin": "the test"},
        {"part": "cpu_vocoder.safetensors", "license": "Apache-2.0", "origin": "not in a clone"}]}
    (out / "voice.json").write_text(json.dumps(meta))
    (out / "LICENSES").mkdir()
    (out / "LICENSES" / "NOTICE").write_text("base notice")
    return out


def _mels(voice_dir, texts: list[str], speaker: int) -> list[np.ndarray]:
    """The acoustic model's mels of ``texts`` with 40 frames each (same shape for any voice)."""
    from ttsengine.models.loading import load_acoustic
    from ttsengine.frontend import Frontend
    from ttsengine.training.rendering import render_mel
    from ttsengine.voice import load_voice

    voice = load_voice(voice_dir)
    frontend, model = Frontend.from_config(dict(voice.frontend)), load_acoustic(voice).eval()
    return [render_mel(model, frontend.encode(t), speaker, 40)[0] for t in texts]


@pytest.fixture(scope="module")
def clones(base_voice, tmp_path_factory):
    """Two clones of ``base_voice`` adding "carol": without and with rehearsal -> {rehearsal: dir}."""
    from ttsengine.training.clone import clone_voice
    from ttsengine.training.synthetic import make_synthetic_corpus

    root = tmp_path_factory.mktemp("clones")
    data = make_synthetic_corpus(root / "carol", 6, speakers=("whoever",), seed=5)
    return {rehearsal: clone_voice(base_voice, data, "carol", root / f"cloned-{rehearsal}", steps=25, batch_size=8,
                                   lr=3e-3, rehearsal=rehearsal, device="cpu", progress=False, sample_every=0,
                                   checkpoint_every=100, warmup_steps=0, min_seconds=0,
                                   export=rehearsal > 0)  # one exported clone is enough
            for rehearsal in (0.0, 1.0)}


def test_clone_aligns_by_dtw_and_rehearses_the_base_speakers(clones):
    from ttsengine import Synthesizer
    from ttsengine.export.int8 import calibration_sentences
    from ttsengine.training.clone import REHEARSAL_SOURCE
    from ttsengine.training.prepare import load_prepared

    for rehearsal, out in clones.items():
        _, items = load_prepared(out / "training" / "prepared")
        recordings = [it for it in items if it.get("source") != REHEARSAL_SOURCE]
        rehearsed = [it for it in items if it.get("source") == REHEARSAL_SOURCE]
        # every recording got per-symbol durations covering all its frames
        assert recordings and all(sum(it["durations"]) == it["frames"] for it in recordings)
        assert len(rehearsed) == round(rehearsal * len(recordings))
        assert {it["speaker"] for it in rehearsed} <= {"alice", "bob"}
        # rehearsal texts: the recordings' and the calibration sentences (words the recordings lack)
        calibration = {s for _, s in calibration_sentences(("en",))}
        texts = {it["text"] for it in recordings}
        assert all(it["text"] in texts | calibration for it in rehearsed)
        assert rehearsal == 0 or any(it["text"] in calibration for it in rehearsed)
        synth = Synthesizer(out, device="cpu", backend="torch")
        assert dict(synth.voice.speakers) == {"alice": 0, "bob": 1, "carol": 2}
        assert synth.synthesize("abc", speaker="carol").samples.size > 0
        # the base voice's licenses travel with the clone, plus a line on the cloning data
        parts = [c["part"] for c in synth.voice.extra["license"]["components"]]
        assert parts == ["acoustic.safetensors", "acoustic.safetensors (fine-tuned)"]
        assert "carol" in synth.voice.extra["license"]["components"][-1]["origin"]
        assert (out / "LICENSES" / "NOTICE").read_text() == "base notice"


def test_rehearsal_keeps_the_base_speakers_closer(base_voice, clones):
    texts = ["abc def", "hello there", "the base speaker"]
    drift = {rehearsal: float(np.mean([np.abs(a - b).mean() for speaker in (0, 1) for a, b in
                                       zip(_mels(out, texts, speaker), _mels(base_voice, texts, speaker))]))
             for rehearsal, out in clones.items()}
    assert drift[1.0] < 0.6 * drift[0.0]


def test_cloned_speaker_is_addressable_by_name_and_id(clones, tmp_path, capsys):
    """Python API, CLI and HTTP (OpenAI ``voice``, ``/clone`` ``spk_id``) all reach the new speaker."""
    import httpx
    import soundfile as sf

    from ttsengine import Synthesizer
    from ttsengine.cli import main
    from ttsengine.server import ServerConfig
    from ttsengine.server.background import serve_in_thread

    out = clones[1.0]
    synth = Synthesizer(out, device="cpu", backend="torch")
    by_name = synth.synthesize("abc", speaker="carol").samples
    np.testing.assert_array_equal(by_name, synth.synthesize("abc", speaker=2).samples)
    assert np.abs(_mels(out, ["abc"], 2)[0] - _mels(out, ["abc"], 0)[0]).mean() > 1e-3  # a speaker of its own

    for speaker in ("carol", "2"):
        wav = tmp_path / f"cli-{speaker}.wav"
        assert main(["synth", "abc", "--voice", str(out), "--backend", "torch", "--speaker", speaker,
                     "-o", str(wav)]) == 0
        np.testing.assert_allclose(sf.read(wav, dtype="float32")[0], by_name, atol=1 / 16384)

    with serve_in_thread(ServerConfig(synthesizer=synth, rate=None), timeout=30.0) as (url, _):
        voices = httpx.get(f"{url}/v1/audio/voices", timeout=30).json()["voices"]
        assert {"id": "carol", "name": "carol", "speaker_id": 2, "default": False} in voices
        for voice in ("carol", 2):
            r = httpx.post(f"{url}/v1/audio/speech", json={"model": "ttsengine", "input": "abc", "voice": voice,
                                                          "response_format": "pcm"}, timeout=30)
            assert r.status_code == 200, r.text
            r = httpx.post(f"{url}/clone", json={"text": "abc", "spk_id": voice}, timeout=30)
            assert r.status_code == 200 and r.headers["content-type"] == "audio/wav"
            wave, _ = sf.read(__import__("io").BytesIO(r.content), dtype="float32")
            assert len(wave) > 0
        r = httpx.post(f"{url}/clone", json={"text": "abc", "spk_id": "dave"}, timeout=30)
        assert r.status_code == 400 and "dave" in r.text


def test_clone_is_exported_and_runs_on_onnxruntime(clones):
    """The clone carries its ONNX graphs (weights stored once): the new speaker speaks in an
    onnxruntime run as in the torch one."""
    pytest.importorskip("onnxruntime")
    from ttsengine import Synthesizer
    from ttsengine.voice import load_voice

    clone = clones[1.0]
    voice = load_voice(clone)
    assert set(voice.onnx["graphs"]) >= {"encoder", "decoder", "vocoder"}
    assert all("weights" in entry for entry in voice.onnx["graphs"].values())
    ort = Synthesizer(clone, device="cpu", backend="onnxruntime").synthesize("Hello there.", speaker="carol")
    ref = Synthesizer(clone, device="cpu", backend="torch").synthesize("Hello there.", speaker="carol")
    assert ort.samples.shape == ref.samples.shape and np.abs(ref.samples).max() > 0
    assert np.abs(ort.samples - ref.samples).max() < 0.05  # fp16-stored weights in the graphs


def test_too_little_speech_is_refused_and_little_is_warned_about(base_voice, tmp_path, caplog):
    from ttsengine.errors import InvalidInputError
    from ttsengine.training.clone import clone_voice
    from ttsengine.training.synthetic import make_synthetic_corpus

    data = make_synthetic_corpus(tmp_path / "few", 2, speakers=("whoever",), seed=1)
    with pytest.raises(InvalidInputError, match=r"s of usable speech; a clone needs at least 30 s"):
        clone_voice(base_voice, data, "dave", tmp_path / "o", steps=1, device="cpu", progress=False,
                    prepared_dir=tmp_path / "prep")
    assert not (tmp_path / "o" / "voice.json").exists()  # refused before any training
    from ttsengine.training.clone import check_speech_amount

    with caplog.at_level("WARNING", logger="ttsengine"):
        seconds = check_speech_amount(tmp_path / "prep", min_seconds=0)
    assert 0 < seconds < 30 and "likeness will be lower" in caplog.text


def test_clone_rejects_bad_rehearsal(base_voice, tmp_path):
    from ttsengine.errors import InvalidInputError
    from ttsengine.training.clone import clone_voice

    with pytest.raises(InvalidInputError, match="rehearsal"):
        clone_voice(base_voice, tmp_path, "x", tmp_path / "o", rehearsal=float("nan"))


def test_prepare_follows_the_base_voice_feature_rate(tmp_path):
    """Cloning onto the default voice prepares at its 22.05 kHz (prepare's own default is 24 kHz)."""
    from ttsengine.audio import FeatureConfig
    from ttsengine.training.prepare import load_prepared, prepare_dataset
    from ttsengine.training.synthetic import make_synthetic_corpus
    from ttsengine.voice import load_voice

    features = FeatureConfig.from_dict(dict(load_voice("default").features))
    assert features.sample_rate == 22050
    data = make_synthetic_corpus(tmp_path / "data", 2, speakers=("x",), seed=1)
    prepare_dataset(data, tmp_path / "prep", features=features)
    info, items = load_prepared(tmp_path / "prep")
    assert info["features"]["sample_rate"] == 22050 and items


def test_snr_estimate_tells_clean_from_noisy():
    from ttsengine.training.prepare import estimate_snr_db
    from ttsengine.training.synthetic import _utterance

    wave, _ = _utterance("abc def", np.random.default_rng(0), 24000, 256, 1.0)
    noisy = wave + np.random.default_rng(1).normal(0, 0.03, wave.size).astype(np.float32)
    assert estimate_snr_db(wave) >= 40 and estimate_snr_db(noisy) < 25
    assert estimate_snr_db(np.zeros(100)) is None


def test_clone_reports_noisy_and_clipped_recordings_and_its_progress(base_voice, tmp_path):
    """Noisy and (lightly) clipped recordings and a dropped one are warned about in the
    clone's report and in its progress; the progress callback sees every stage in order,
    never goes back, and has an ETA while training."""
    import soundfile as sf

    from ttsengine.training.clone import CloneProgress, clone_voice
    from ttsengine.training.synthetic import make_synthetic_corpus

    data = make_synthetic_corpus(tmp_path / "data", 4, speakers=("whoever",), seed=3)
    wave, sr = sf.read(data / "wavs" / "whoever_000.wav", dtype="float32")
    sf.write(data / "wavs" / "whoever_000.wav", wave + np.random.default_rng(0).normal(0, 0.03, wave.size), sr)
    wave, sr = sf.read(data / "wavs" / "whoever_001.wav", dtype="float32")
    loud = np.clip(wave * 3.0, -1, 1)  # about 0.05 % at full scale: kept (under 0.1 %), reported
    loud[np.abs(loud) >= 0.999] = 0.9
    loud[:: max(1, loud.size // 12)][:12] = 1.0
    sf.write(data / "wavs" / "whoever_001.wav", loud, sr, subtype="FLOAT")
    with open(data / "manifest.csv", "a") as manifest:
        manifest.write("wavs/missing.wav|abc|whoever\n")
    seen: list[CloneProgress] = []
    out = clone_voice(base_voice, data, "erin", tmp_path / "clone", steps=12, batch_size=4, device="cpu",
                      progress=seen.append, sample_every=0, checkpoint_every=100, warmup_steps=0, min_seconds=0,
                      export=False)
    report = json.loads((out / "training" / "clone_report.json").read_text())
    warnings = "\n".join(report["warnings"])
    assert "wavs/whoever_000.wav: noisy (SNR estimate" in warnings
    assert "wavs/whoever_001.wav: clipped (0.0" in warnings
    assert "wavs/missing.wav: not used: missing file" in warnings
    assert "only 3 s of speech" in warnings or "only 4 s of speech" in warnings
    assert "whoever_002" not in warnings and report["recordings"] == 4
    stages = [p.stage for p in seen]
    assert stages[0] == "prepare" and stages[-1] == "done"
    assert [s for i, s in enumerate(stages) if i == 0 or stages[i - 1] != s] == \
        ["prepare", "align", "rehearse", "train", "done"]
    fractions = [p.fraction for p in seen]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    assert any(p.stage == "train" and p.eta_seconds is not None and p.eta_seconds >= 0 for p in seen)
    assert seen[-1].warnings == tuple(report["warnings"]) and seen[-1].step == seen[-1].steps == 12


def test_clone_fits_the_base_voice_cpu_vocoder_to_the_new_speaker(base_voice, tmp_path):
    """A base voice with a (source-filter) CPU vocoder: the clone gets it fine-tuned on the new
    speaker's recordings only, with its license line, and runs it."""
    import shutil

    import torch

    from ttsengine import Synthesizer
    from ttsengine.models.istft import ISTFT_CONFIGS, ISTFTVocoder, ISTFTVocoderConfig
    from ttsengine.training.clone import clone_voice
    from ttsengine.training.distill import attach_cpu_vocoder, load_cpu_vocoder
    from ttsengine.training.synthetic import make_synthetic_corpus
    from ttsengine.voice import load_voice

    base = shutil.copytree(base_voice, tmp_path / "base")
    features = load_voice(base).features
    config = ISTFTVocoderConfig(**{**ISTFT_CONFIGS["small"].to_dict(), "n_mels": features["n_mels"],
                                   "hop_length": features["hop_length"], "n_fft": 2 * features["hop_length"],
                                   "excitation": "pulse", "sample_rate": load_voice(base).model_sample_rate})
    torch.manual_seed(0)
    attach_cpu_vocoder(base, ISTFTVocoder(config).eval(), {"trained": False})
    data = make_synthetic_corpus(tmp_path / "data", 4, speakers=("whoever",), seed=3)
    out = clone_voice(base, data, "frank", tmp_path / "clone", steps=4, batch_size=4, device="cpu", progress=False,
                      sample_every=0, checkpoint_every=100, warmup_steps=0, min_seconds=0, export=False,
                      cpu_vocoder_steps=6)
    clone = load_voice(out)
    assert clone.vocoders == ("hifigan", "istft")
    section = dict(clone.cpu_vocoder)
    assert section["fine_tune_steps"] == 6 and section["fine_tune_utterances"] == 4  # no rehearsal clips
    # the variance postfilter is folded in for the new speaker, the loudness kept
    from ttsengine.training.variance_postfilter import DEFAULT_SCALE

    assert section["mel_variance_scale"] == list(DEFAULT_SCALE)
    assert f"speaker {clone.speakers['frank']}'s" in section["mel_variance_mean"]
    assert abs(section["output_gain_db"]) < 20
    assert section["hparams"]["excitation"] == "pulse"
    assert any("fine-tuned" in c["part"] and "cpu_vocoder" in c["part"] for c in clone.extra["license"]["components"])
    tuned, start = load_cpu_vocoder(out).state_dict(), load_cpu_vocoder(base).state_dict()
    assert any(not torch.equal(tuned[k], start[k]) for k in start)
    audio = Synthesizer(out, device="cpu", backend="torch", vocoder="istft").synthesize("Hello.", speaker="frank")
    assert audio.duration > 0.1


def test_a_new_speaker_goes_after_rows_the_base_voice_does_not_list(base_voice, tmp_path):
    """The bilingual voice keeps embedding rows of training-only speakers that its voice.json
    does not list; a clone's row goes after all of them and the base rows are kept."""
    import shutil

    import torch
    from safetensors.torch import load_file, save_file

    from ttsengine.training.synthetic import make_synthetic_corpus
    from ttsengine.training.prepare import prepare_dataset
    from ttsengine.training.trainer import TrainConfig, Trainer

    base = tmp_path / "base"
    shutil.copytree(base_voice, base)
    state = load_file(str(base / "acoustic.safetensors"))
    rows = state["speaker_embedding.weight"]
    state["speaker_embedding.weight"] = torch.cat([rows, torch.full_like(rows[:1], 0.5)], 0)  # a hidden row
    save_file(state, str(base / "acoustic.safetensors"))
    meta = json.loads((base / "voice.json").read_text())
    meta["acoustic"]["hparams"]["n_speakers"] = rows.shape[0] + 1
    (base / "voice.json").write_text(json.dumps(meta))
    data = make_synthetic_corpus(tmp_path / "carol", 2, speakers=("carol",), seed=3)
    prepare_dataset(data, tmp_path / "prep")
    trainer = Trainer(tmp_path / "prep", tmp_path / "out", TrainConfig(**{**FAST, "steps": 1}),
                      base_voice=base, new_speaker="carol")
    assert trainer.speakers["carol"] == rows.shape[0] + 1
    emb = trainer.acoustic.speaker_embedding.weight.detach()
    assert emb.shape[0] == rows.shape[0] + 2
    torch.testing.assert_close(emb[: rows.shape[0]], rows.float())
    torch.testing.assert_close(emb[rows.shape[0]], torch.full_like(emb[0], 0.5))  # the hidden row kept

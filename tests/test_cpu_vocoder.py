"""The CPU vocoder (ISTFT, distilled from HiFi-GAN): model, bundle section, selection, export, training."""

from __future__ import annotations

import csv
import json
import pickle
import shutil
import subprocess
import sys

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine import Synthesizer  # noqa: E402
from ttsengine.errors import InvalidInputError, VoiceLoadError  # noqa: E402
from ttsengine.models.istft import ISTFT_CONFIGS, ISTFTVocoder, ISTFTVocoderConfig  # noqa: E402
from ttsengine.voice import load_voice  # noqa: E402

TEXT = "Hello there, how are you? I am fine, thanks for asking."


@pytest.fixture(scope="module")
def student():
    torch.manual_seed(0)
    return ISTFTVocoder(ISTFT_CONFIGS["small"]).eval()


@pytest.fixture(scope="module")
def cpu_voice(tmp_path_factory):
    """tiny acoustic + HiFi-GAN V2 + a random CPU vocoder, with ONNX graphs."""
    pytest.importorskip("onnx")
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice_factory import create_random_voice

    path = create_random_voice(tmp_path_factory.mktemp("voices") / "cpu", name="cpu", acoustic_size="tiny",
                               vocoder="v2", speakers=("a", "b"), seed=3, cpu_vocoder="small")
    return export_voice(path, path, force=True)


# ------------------------------------------------------------------ model
def test_inverse_dft_is_a_windowed_irfft(student):
    n_fft = student.config.n_fft
    spectrum = torch.randn(3, n_fft // 2 + 1, dtype=torch.complex64)
    expected = torch.fft.irfft(spectrum, n=n_fft) * torch.hann_window(n_fft, periodic=True)
    got = torch.cat(student.windowed_frames(spectrum.real, spectrum.imag), -1)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=1e-6)


def test_wave_length_and_padded_batch_equals_single(student):
    mel = torch.randn(2, 80, 40) - 4
    with torch.no_grad():
        batch = student(mel, torch.tensor([40, 23]))
        single = student(mel[1:, :, :23])
    assert batch.shape == (2, 40 * 256) and single.shape == (1, 23 * 256)
    assert torch.allclose(batch[1, : 23 * 256], single[0], atol=1e-6)
    assert batch[1, 23 * 256 :].abs().max() == 0


def test_receptive_field_is_exact(student):
    """Output frame j depends on mel frames [j - R, j + R] only, and on j +- R itself."""
    r = student.receptive_field_frames()
    mel = torch.randn(1, 80, 4 * r) - 4
    j = 2 * r
    block = slice(j * 256, (j + 1) * 256)
    with torch.no_grad():
        base = student(mel)[0, block]
        for frame, changes in ((j - r - 1, False), (j + r + 1, False), (j - r, True), (j + r, True)):
            moved = mel.clone()
            moved[:, :, frame] += 3.0
            # through small random weights the farthest frames move the output by ~1e-9: test != / ==
            assert bool((student(moved)[0, block] - base).abs().max() > 0) is changes, frame


def test_config_rules():
    with pytest.raises(ValueError, match="n_fft"):
        ISTFTVocoderConfig(n_fft=1024)
    with pytest.raises(ValueError, match="odd"):
        ISTFTVocoderConfig(kernel=4)
    assert ISTFTVocoderConfig.from_dict(ISTFT_CONFIGS["base"].to_dict()) == ISTFT_CONFIGS["base"]


# ------------------------------------------------------------------ bundle section
def _rewrite(src, dst, edit):
    shutil.copytree(src, dst)
    data = json.loads((dst / "voice.json").read_text())
    edit(data)
    (dst / "voice.json").write_text(json.dumps(data))
    return dst


def test_bundle_lists_and_swaps_its_vocoders(cpu_voice):
    voice = load_voice(cpu_voice)
    assert voice.vocoders == ("hifigan", "istft")
    swapped = voice.with_vocoder("istft")
    assert swapped.vocoder["arch"] == "istft" and swapped.vocoder_weights.name == "cpu_vocoder.safetensors"
    assert swapped.onnx["graphs"]["vocoder"] == voice.onnx["graphs"]["cpu_vocoder"]
    assert voice.with_vocoder("hifigan") is voice
    assert "cpu_vocoder" in voice.to_dict()


@pytest.mark.parametrize("edit, message", [
    (lambda d: d["cpu_vocoder"].update(arch="vocos"), "cpu_vocoder.arch"),
    (lambda d: d["cpu_vocoder"]["hparams"].update(hop_length=128), "cpu_vocoder.hparams.hop_length"),
    (lambda d: d["cpu_vocoder"]["hparams"].update(layers=2), "receptive_field_frames"),
    (lambda d: d["cpu_vocoder"]["hparams"].pop("dim"), "cpu_vocoder.hparams"),
    (lambda d: d["onnx"]["graphs"].pop("cpu_vocoder"), "onnx.graphs.cpu_vocoder"),
])
def test_bad_cpu_vocoder_sections_are_refused(cpu_voice, tmp_path, edit, message):
    bad = _rewrite(cpu_voice, tmp_path / "bad", edit)
    with pytest.raises(VoiceLoadError, match=message.replace(".", r"\.")):
        load_voice(bad)


def test_weights_that_do_not_match_the_hparams_are_refused(cpu_voice, tmp_path):
    def edit(data):
        data["cpu_vocoder"]["hparams"].update(dim=96, intermediate=288)
    bad = _rewrite(cpu_voice, tmp_path / "bad", edit)
    with pytest.raises(VoiceLoadError, match="cpu_vocoder"):
        load_voice(bad)


# ------------------------------------------------------------------ selection and parity
def test_auto_takes_the_cpu_vocoder_on_cpu(cpu_voice):
    synth = Synthesizer(cpu_voice, device="cpu", backend="onnxruntime")
    assert synth.vocoder == "istft" and "vocoder='istft'" in repr(synth)
    assert Synthesizer(cpu_voice, device="cpu", backend="onnxruntime", vocoder="hifigan").vocoder == "hifigan"
    copy = pickle.loads(pickle.dumps(Synthesizer(cpu_voice, device="cpu", backend="torch", vocoder="hifigan")))
    assert copy.vocoder == "hifigan"


def test_vocoder_argument_is_checked(cpu_voice, tiny_voice):
    with pytest.raises(InvalidInputError, match="vocoder must be"):
        Synthesizer(cpu_voice, device="cpu", vocoder="vocos")
    with pytest.raises(InvalidInputError, match="no 'istft' vocoder"):
        Synthesizer(tiny_voice, device="cpu", backend="torch", vocoder="istft")
    assert Synthesizer(tiny_voice, device="cpu", backend="torch").vocoder == "hifigan"


def test_cpu_vocoder_pipeline_parity(cpu_voice):
    ort_synth = Synthesizer(cpu_voice, device="cpu", backend="onnxruntime", vocoder="istft")
    torch_synth = Synthesizer(cpu_voice, device="cpu", backend="torch", vocoder="istft")
    reference = ort_synth.synthesize(TEXT, speaker="b").samples
    assert np.abs(torch_synth.synthesize(TEXT, speaker="b").samples - reference).max() < 1e-4
    streamed = np.concatenate([c.samples for c in ort_synth.synthesize_stream(TEXT, speaker="b")])
    assert streamed.shape == reference.shape and np.abs(streamed - reference).max() < 1e-4
    batch = ort_synth.synthesize_batch(["Hi.", TEXT], speaker="b")
    assert np.abs(batch[1].samples - reference).max() < 1e-4
    hifigan = Synthesizer(cpu_voice, device="cpu", backend="onnxruntime", vocoder="hifigan").synthesize(TEXT, speaker="b")
    assert hifigan.samples.shape == reference.shape and np.abs(hifigan.samples - reference).max() > 1e-3


# ------------------------------------------------------------------ distillation
def _teacher_data(folder, count=3, frames=48, seed=0):
    rng = np.random.default_rng(seed)
    folder.mkdir()
    t = np.arange(frames * 256) / 22050
    for i in range(count):
        wave = (0.3 * np.sin(2 * np.pi * (150 + 40 * i) * t) * 32767).astype(np.int16)
        mel = (rng.standard_normal((80, frames)) * 0.1 - 4).astype(np.float16)
        np.savez(folder / f"{i:05d}.npz", mel=mel, wave=wave)
    return folder


def test_distillation_learns_resumes_and_attaches(tmp_path, tiny_voice):
    from ttsengine.audio import FeatureConfig
    from ttsengine.training.distill import DistillConfig, attach_cpu_vocoder, distill_vocoder

    data = _teacher_data(tmp_path / "teacher")
    features = FeatureConfig.from_dict(dict(load_voice(tiny_voice).features))
    config = DistillConfig(steps=40, batch_size=2, segment_frames=16, warmup_steps=2, log_every=5,
                           checkpoint_every=20, lr=3e-3)
    distill_vocoder(data, tmp_path / "run", features, config, stop_at=20)
    model = distill_vocoder(data, tmp_path / "run", features, config, resume=True)
    rows = (tmp_path / "run" / "losses.csv").read_text().splitlines()[1:]
    steps = [int(r.split(",")[0]) for r in rows]
    assert steps == list(range(5, 41, 5))  # resumed at 20, no duplicates
    totals = [float(r.split(",")[3]) for r in rows]
    assert totals[-1] < 0.8 * totals[0]
    bundle = shutil.copytree(tiny_voice, tmp_path / "voice")
    attach_cpu_vocoder(bundle, model, {"distilled_steps": 40})
    voice = load_voice(bundle)
    assert voice.vocoders == ("hifigan", "istft") and voice.cpu_vocoder["distilled_steps"] == 40
    audio = Synthesizer(bundle, device="cpu", backend="torch").synthesize("Hi there.")
    assert audio.duration > 0.2


def test_adversarial_run_starts_from_a_student_trains_both_sides_and_resumes(tmp_path, tiny_voice):
    from ttsengine.audio import FeatureConfig
    from ttsengine.training.distill import DistillConfig, attach_cpu_vocoder, distill_vocoder, load_cpu_vocoder

    data = _teacher_data(tmp_path / "speech")
    features = FeatureConfig.from_dict(dict(load_voice(tiny_voice).features))
    start = distill_vocoder(data, tmp_path / "student", features,
                            DistillConfig(steps=4, batch_size=2, segment_frames=16, warmup_steps=1, log_every=2))
    bundle = shutil.copytree(tiny_voice, tmp_path / "voice")
    attach_cpu_vocoder(bundle, start, {"distilled_steps": 4})
    assert all(torch.equal(a, b) for a, b in zip(load_cpu_vocoder(bundle).state_dict().values(),
                                                 start.state_dict().values()))
    config = DistillConfig(steps=8, batch_size=2, segment_frames=16, warmup_steps=1, log_every=2,
                           checkpoint_every=4, lr=1e-3, adv_weight=1.0, mel_weight=45.0, complex_weight=0.0,
                           mpd_width=0.0625, mrd_channels=4, disc_warmup_steps=2, init_from=str(bundle))
    distill_vocoder(data, tmp_path / "gan", features, config, stop_at=2)
    frozen = load_cpu_vocoder(tmp_path / "gan")  # the first steps train only the discriminators
    assert all(torch.equal(a, b) for a, b in zip(frozen.state_dict().values(), start.state_dict().values()))
    model = distill_vocoder(data, tmp_path / "gan", features, config, resume=True)
    assert any(not torch.equal(a, b) for a, b in zip(model.state_dict().values(), start.state_dict().values()))
    rows = list(csv.DictReader(open(tmp_path / "gan" / "losses.csv")))
    assert [int(r["step"]) for r in rows] == [2, 4, 6, 8]
    assert rows[0]["adv"] == "" and all(float(r["disc"]) > 0 for r in rows)
    assert all(float(r["adv"]) > 0 and float(r["fm"]) > 0 for r in rows[1:])
    state = torch.load(tmp_path / "gan" / "checkpoints" / "ckpt-00000008.pt", weights_only=True)
    assert {"disc", "disc_opt"} <= set(state)
    with pytest.raises(InvalidInputError, match="no discriminator state"):  # a distillation checkpoint
        distill_vocoder(data, tmp_path / "student", features, config, resume=True)


def test_distill_cli_errors_are_one_line(tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    result = subprocess.run([sys.executable, "-m", "ttsengine", "distill-vocoder", str(empty), "-o",
                             str(tmp_path / "out"), "--steps", "1"], capture_output=True, text=True, timeout=300)
    assert result.returncode == 2
    assert result.stderr.strip().count("\n") == 0 and "no usable .npz" in result.stderr


def test_verify_checks_the_cpu_vocoder_graph(cpu_voice, tiny_voice):
    from ttsengine.export.verify import verify_bundle

    report = verify_bundle(cpu_voice, vocoder="istft", num_threads=1)
    assert report.passed and {c.precision for c in report.cases} == {"fp32"}
    with pytest.raises(InvalidInputError, match="no 'istft' vocoder"):
        verify_bundle(tiny_voice, vocoder="istft")


@pytest.mark.parametrize("per_bin", [False, True], ids=["one scale", "a scale per bin"])
def test_a_folded_variance_postfilter_is_the_affine_map_of_the_mel(student, per_bin):
    """scale_mel_variance: the network hears mean + s * (mel - mean), away from the mel's ends."""
    torch.manual_seed(3)
    n_mels = student.config.n_mels
    mel = torch.randn(2, n_mels, 40) - 5.0
    mean = torch.randn(n_mels) - 5.0
    scale = torch.linspace(1.1, 1.6, n_mels) if per_bin else 1.2
    folded = ISTFTVocoder(student.config)
    folded.load_state_dict(student.state_dict())
    folded.scale_mel_variance(mean, scale)
    s = scale[None, :, None] if per_bin else scale
    with torch.no_grad():
        expected = student.spectrum(mean[None, :, None] + s * (mel - mean[None, :, None]))
        got = folded.spectrum(mel)
        unchanged = student.spectrum(mel)
    edge = student.receptive_field_frames()
    for e, g, u in zip(expected, got, unchanged):
        inner = (slice(None), slice(edge, -edge))
        assert torch.allclose(g[inner], e[inner], atol=1e-4, rtol=1e-4)
        assert not torch.allclose(g[inner], u[inner], atol=1e-3)
    with pytest.raises(ValueError, match="bins"):
        folded.scale_mel_variance(mean[:10], 1.2)
    with pytest.raises(ValueError, match="> 0"):
        folded.scale_mel_variance(mean, 0.0)
    with pytest.raises(ValueError, match="scale has 3 bins"):
        folded.scale_mel_variance(mean, torch.ones(3))


def test_variance_scales_one_number_or_a_ramp():
    from ttsengine.errors import InvalidInputError
    from ttsengine.training.variance_postfilter import variance_scales

    assert np.array_equal(variance_scales(1.2, 4), np.full(4, 1.2))
    ramp = variance_scales((1.1, 1.6), 80)
    assert ramp[0] == pytest.approx(1.1) and ramp[-1] == pytest.approx(1.6)
    assert np.all(np.diff(ramp) > 0) and np.allclose(np.diff(ramp), 0.5 / 79)
    for bad in (0.0, (1.0, -0.5), (1.0, 1.1, 1.2), float("nan")):
        with pytest.raises(InvalidInputError):
            variance_scales(bad, 80)


@pytest.mark.parametrize("excitation", ["none", "pulse"])
def test_scale_output_scales_the_wave(excitation):
    torch.manual_seed(4)
    model = ISTFTVocoder(ISTFTVocoderConfig(excitation=excitation)).eval()
    mel = torch.randn(1, 80, 24) - 5.0
    with torch.no_grad():
        before = model(mel)
        model.scale_output(0.5)
        after = model(mel)
    assert before.abs().max() > 0
    assert torch.allclose(after, 0.5 * before, atol=1e-6 * float(before.abs().max()) + 1e-9, rtol=1e-4)
    with pytest.raises(ValueError, match="> 0"):
        model.scale_output(0.0)


def test_the_variance_postfilter_keeps_the_loudness_and_widens_the_mel(cpu_voice):
    from ttsengine.training.distill import load_cpu_vocoder
    from ttsengine.training.variance_postfilter import _power, _predicted_mels, fold_variance_postfilter

    model = load_cpu_vocoder(cpu_voice).eval()
    plain = load_cpu_vocoder(cpu_voice).eval()
    provenance = fold_variance_postfilter(cpu_voice, model, speaker=1, scale=1.3)
    assert provenance["mel_variance_scale"] == 1.3 and "speaker 1" in provenance["mel_variance_mean"]
    mels, _ = _predicted_mels(cpu_voice, 1)
    assert _power(model, mels) == pytest.approx(_power(plain, mels), rel=1e-3)  # loudness kept
    assert torch.allclose(model.conv_pre.weight, 1.3 * plain.conv_pre.weight)  # the mel's deviations x 1.3
    ramped = load_cpu_vocoder(cpu_voice).eval()
    provenance = fold_variance_postfilter(cpu_voice, ramped, speaker=1, scale=(1.1, 1.6))
    assert provenance["mel_variance_scale"] == [1.1, 1.6]
    assert _power(ramped, mels) == pytest.approx(_power(plain, mels), rel=1e-3)
    ramp = torch.linspace(1.1, 1.6, plain.config.n_mels)  # each bin's deviations x its own scale
    assert torch.allclose(ramped.conv_pre.weight, plain.conv_pre.weight * ramp[None, :, None], atol=1e-6)

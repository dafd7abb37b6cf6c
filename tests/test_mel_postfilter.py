"""The mel postfilter of the HiFi-GAN vocoder (``vocoder.hparams.mel_sharpening``): the
matrix, the generator, the exported graph and the bundle rule."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine.errors import VoiceLoadError  # noqa: E402
from ttsengine.models.hifigan import HIFIGAN_CONFIGS, HiFiGANConfig, HiFiGANGenerator  # noqa: E402
from ttsengine.models.postfilter import sharpening_matrix  # noqa: E402
from ttsengine.voice import load_voice  # noqa: E402


def test_matrix_is_identity_plus_strength_times_detail():
    rng = np.random.default_rng(0)
    mel = rng.standard_normal((80, 7))
    sigma, radius = 1.5, 6
    kernel = np.exp(-0.5 * (np.arange(-radius, radius + 1) / sigma) ** 2)
    kernel /= kernel.sum()
    padded = np.pad(mel, ((radius, radius), (0, 0)), mode="edge")
    blur = sum(w * padded[k: k + 80] for k, w in enumerate(kernel))
    want = mel + 0.5 * (mel - blur)
    got = sharpening_matrix(80, 0.5).double().numpy() @ mel
    assert np.abs(got - want).max() < 1e-5
    assert torch.equal(sharpening_matrix(80, 0.0), torch.eye(80))
    flat = np.full((80, 1), -4.0)  # a flat spectrum has no detail to sharpen
    assert np.abs(sharpening_matrix(80, 1.0).double().numpy() @ flat - flat).max() < 1e-5


def test_generator_sharpens_its_input_and_keeps_the_official_state_dict():
    torch.manual_seed(0)
    plain = HiFiGANGenerator(HIFIGAN_CONFIGS["v2"]).eval()
    config = HiFiGANConfig.from_dict({**HIFIGAN_CONFIGS["v2"].to_dict(), "mel_sharpening": 0.5})
    sharp = HiFiGANGenerator(config).eval()
    assert sharp.state_dict().keys() == plain.state_dict().keys()  # the matrix is not a weight
    sharp.load_state_dict(plain.state_dict())
    mel = torch.randn(2, 80, 20) - 4
    lengths = torch.tensor([20, 11])
    with torch.no_grad():
        got = sharp(mel, lengths)
        want = plain(sharpening_matrix(80, 0.5) @ mel, lengths)
        single = sharp(mel[1:, :, :11])
    assert torch.allclose(got, want, atol=1e-6)
    assert torch.allclose(got[1, : 11 * 256], single[0], atol=1e-5)  # per frame: padding unaffected
    assert "mel_sharpening" not in HIFIGAN_CONFIGS["v2"].to_dict()  # absent = off
    with pytest.raises(ValueError, match="mel_sharpening"):
        HiFiGANConfig.from_dict({**HIFIGAN_CONFIGS["v2"].to_dict(), "mel_sharpening": 3.0})


def test_bundle_carries_it_into_the_exported_vocoder(tmp_path, tiny_voice):
    pytest.importorskip("onnx")
    from ttsengine import Synthesizer
    from ttsengine.export.onnx_export import export_voice
    from ttsengine.models.loading import load_vocoder

    bundle = shutil.copytree(tiny_voice, tmp_path / "sharp")
    content = json.loads((bundle / "voice.json").read_text())
    content.pop("onnx", None)
    shutil.rmtree(bundle / "onnx", ignore_errors=True)
    content["vocoder"]["hparams"]["mel_sharpening"] = 0.5
    (bundle / "voice.json").write_text(json.dumps(content))
    export_voice(bundle, bundle, force=True)
    voice = load_voice(bundle)
    model = load_vocoder(voice).eval()
    assert model.config.mel_sharpening == 0.5
    runner = Synthesizer(bundle, device="cpu", backend="onnxruntime")._pipeline.runner
    mel = (np.random.default_rng(0).standard_normal((1, 80, 16)) - 4).astype(np.float32)
    got = np.zeros((1, 16 * 256), np.float32)
    runner.vocoder(mel, None, got)
    with torch.no_grad():
        want = model(torch.from_numpy(mel)).numpy()
    assert np.abs(got - want).max() < 1e-4
    content["vocoder"]["hparams"]["mel_sharpening"] = 3.0
    (bundle / "voice.json").write_text(json.dumps(content))
    with pytest.raises(VoiceLoadError, match="mel_sharpening"):
        load_voice(bundle)

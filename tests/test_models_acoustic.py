"""Tests of ttsengine.models.acoustic (tiny sizes, CPU, a few seconds)."""

from __future__ import annotations

import json
import math

import pytest
import torch

from ttsengine.errors import InvalidInputError
from ttsengine.models import (
    ACOUSTIC_SIZES,
    AcousticConfig,
    AcousticModel,
    acoustic_config,
    durations_from_log,
    length_regulate,
)

N_SYMBOLS = 40
TOL = 1e-5


def _n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _tiny(seed: int = 0, **overrides) -> AcousticModel:
    torch.manual_seed(seed)
    model = AcousticModel(acoustic_config("tiny", N_SYMBOLS, 3, **overrides)).eval()
    # Make the predictors' outputs depend on the input (they are initialised almost constant)
    # so the batch-vs-single comparisons below test something.
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("proj.weight") and "predictor" in name:
                p.normal_(0.0, 0.3)
    return model


def _padded_batch(lengths: list[int], seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(seed)
    t_max = max(lengths)
    tokens = torch.zeros(len(lengths), t_max, dtype=torch.long)
    for i, n in enumerate(lengths):
        tokens[i, :n] = torch.randint(1, N_SYMBOLS, (n,), generator=g)
    mask = torch.arange(t_max)[None, :] < torch.tensor(lengths)[:, None]
    return tokens, mask


# --------------------------------------------------------------------------- config
def test_config_roundtrip_json_and_errors() -> None:
    cfg = acoustic_config("base", 200, 4, dropout=0.2)
    assert cfg.d_model == 256 and cfg.enc_layers == 4 and cfg.dec_layers == 4
    assert cfg.n_heads == 2 and cfg.ffn_dim == 1024 and cfg.ffn_kernels == (9, 1)
    assert cfg.use_pitch and cfg.use_energy and cfg.dropout == 0.2
    d = json.loads(json.dumps(cfg.to_dict()))
    assert AcousticConfig.from_dict(d) == cfg
    with pytest.raises(ValueError, match="unknown keys"):
        AcousticConfig.from_dict({**d, "bogus": 1})
    d.pop("d_model")
    with pytest.raises(ValueError, match="missing keys"):
        AcousticConfig.from_dict(d)
    with pytest.raises(ValueError, match="unknown acoustic size"):
        acoustic_config("huge", 200, 1)
    with pytest.raises(ValueError):
        acoustic_config("tiny", 200, 1, n_heads=3)  # 32 not divisible by 3
    with pytest.raises(ValueError):
        acoustic_config("tiny", 200, 1, nonsense=3)


def test_decoder_ffn_kernels_apply_to_the_decoder_only() -> None:
    cfg = acoustic_config("tiny", 50, 1, ffn_kernels=(5, 1), decoder_ffn_kernels=(3, 1))
    model = AcousticModel(cfg)
    assert model.encoder[0].ffn.conv1.kernel_size == (5,)
    assert model.decoder[0].ffn.conv1.kernel_size == (3,)
    d = json.loads(json.dumps(cfg.to_dict()))
    assert d["decoder_ffn_kernels"] == [3, 1] and AcousticConfig.from_dict(d) == cfg
    # unset: absent from the dict (voice.json as before) and the decoder takes ffn_kernels
    plain = acoustic_config("tiny", 50, 1, ffn_kernels=(5, 1))
    assert "decoder_ffn_kernels" not in plain.to_dict()
    assert AcousticModel(plain).decoder[0].ffn.conv1.kernel_size == (5,)
    with pytest.raises(ValueError, match="decoder_ffn_kernels"):
        acoustic_config("tiny", 50, 1, decoder_ffn_kernels=(4, 1))


def test_sizes_parameter_counts() -> None:
    assert {"tiny", "small", "base"} <= set(ACOUSTIC_SIZES)
    counts = {s: _n_params(AcousticModel(acoustic_config(s, 200, 1))) for s in ("tiny", "small", "base")}
    # measured: tiny 54,243; small 3,511,569; base 24,403,731 (200 symbols, 1 speaker)
    assert counts["tiny"] < 100_000, counts
    assert 3.0e6 <= counts["small"] <= 4.0e6, counts
    assert 20e6 <= counts["base"] <= 30e6, counts  # FastSpeech 2 is ~27 M incl. its extras


# --------------------------------------------------------------------------- durations
def test_durations_from_log_values_speed_and_padding() -> None:
    frames = torch.tensor([[0.0, 1.0, 5.0, 10.0], [2.0, 3.0, 7.0, 7.0]])
    logd = torch.log1p(frames)
    logd[0, 0] = -3.0  # exp(-3) - 1 < 0 -> clamped to 0
    mask = torch.tensor([[True, True, True, True], [True, True, False, False]])
    out = durations_from_log(logd, mask)
    expected = torch.tensor([[0.0, 1.0, 5.0, 10.0], [2.0, 3.0, 0.0, 0.0]])
    err = (out - expected).abs().max().item()
    assert err < 1e-5, f"max abs error {err}"
    fast = durations_from_log(logd, mask, speed=2.0)
    assert torch.allclose(fast, expected / 2, atol=1e-5), fast
    slow = durations_from_log(logd, mask, speed=0.5)
    assert torch.allclose(slow, expected * 2, atol=1e-5), slow
    for bad in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(InvalidInputError):
            durations_from_log(logd, mask, speed=bad)


def test_length_regulate_values() -> None:
    hidden = torch.arange(2 * 3 * 2, dtype=torch.float32).reshape(2, 3, 2) + 1.0
    durations = torch.tensor([[2, 0, 1], [1, 3, -4]])  # negative counts as 0
    frames, mask = length_regulate(hidden, durations)
    assert frames.shape == (2, 4, 2) and mask.shape == (2, 4)
    assert mask.tolist() == [[True, True, True, False], [True, True, True, True]]
    exp0 = torch.stack([hidden[0, 0], hidden[0, 0], hidden[0, 2], torch.zeros(2)])
    exp1 = torch.stack([hidden[1, 0], hidden[1, 1], hidden[1, 1], hidden[1, 1]])
    assert torch.equal(frames[0], exp0), frames[0]
    assert torch.equal(frames[1], exp1), frames[1]
    # all-zero durations: no frames at all
    empty, emask = length_regulate(hidden, torch.zeros(2, 3, dtype=torch.long))
    assert empty.shape == (2, 0, 2) and emask.shape == (2, 0)


# --------------------------------------------------------------------------- model
def test_untrained_model_speaks_init_frames_per_token() -> None:
    torch.manual_seed(0)
    model = AcousticModel(acoustic_config("tiny", N_SYMBOLS, 1)).eval()
    tokens, mask = _padded_batch([30, 17])
    with torch.inference_mode():
        _, logd = model.encode(tokens, mask, torch.zeros(2, dtype=torch.long))
    frames = durations_from_log(logd, mask)
    per_token = (frames.sum() / mask.sum()).item()
    init = model.config.init_frames_per_token
    assert abs(per_token - init) < 0.1 * init, f"{per_token:.3f} frames/token, init {init}"
    assert (frames[~mask] == 0).all()


def test_encode_decode_padded_batch_equals_single() -> None:
    model = _tiny()
    lengths = [11, 4, 7]
    tokens, mask = _padded_batch(lengths)
    speakers = torch.tensor([0, 2, 1])
    with torch.inference_mode():
        hidden, logd = model.encode(tokens, mask, speakers, pitch_shift=0.5)
        assert hidden.shape == (3, 11, 32) and logd.shape == (3, 11)
        assert (hidden[~mask] == 0).all() and (logd[~mask] == 0).all()
        assert logd[mask].std() > 0.05, "predictor output is constant: test would be vacuous"
        err_enc = 0.0
        for i, n in enumerate(lengths):
            h1, l1 = model.encode(tokens[i:i + 1, :n], mask[i:i + 1, :n], speakers[i:i + 1],
                                  pitch_shift=0.5)
            err_enc = max(err_enc, (h1[0] - hidden[i, :n]).abs().max().item(),
                          (l1[0] - logd[i, :n]).abs().max().item())
        assert err_enc < TOL, f"encode batch vs single max abs error {err_enc:.3g}"

        durations = torch.randint(1, 4, tokens.shape).masked_fill(~mask, 0)
        frames, fmask = length_regulate(hidden, durations)
        mel = model.decode(frames, fmask)
        assert mel.shape == (3, 80, frames.shape[1])
        assert (mel.transpose(1, 2)[~fmask] == 0).all(), "padded mel frames must be exactly 0"
        err_dec = 0.0
        for i in range(3):
            n = int(fmask[i].sum())
            m1 = model.decode(frames[i:i + 1, :n], fmask[i:i + 1, :n])
            err_dec = max(err_dec, (m1[0] - mel[i, :, :n]).abs().max().item())
        assert err_dec < TOL, f"decode batch vs single max abs error {err_dec:.3g}"
    # measured on CPU: encode 2.4e-06, decode 4.8e-07 (float rounding only)


def test_speaker_and_pitch_shift_change_the_hidden() -> None:
    model = _tiny()
    tokens, mask = _padded_batch([9])
    with torch.inference_mode():
        h0, _ = model.encode(tokens, mask, torch.tensor([0]))
        h1, _ = model.encode(tokens, mask, torch.tensor([1]))
        h2, _ = model.encode(tokens, mask, torch.tensor([0]), pitch_shift=1.0)
    assert (h0 - h1).abs().max() > 1e-3
    assert (h0 - h2).abs().max() > 1e-3
    # without a pitch predictor pitch_shift is ignored
    model = _tiny(use_pitch=False)
    with torch.inference_mode():
        a, _ = model.encode(tokens, mask, torch.tensor([0]))
        b, _ = model.encode(tokens, mask, torch.tensor([0]), pitch_shift=1.0)
    assert torch.equal(a, b)


def test_forward_teacher_forced_matches_encode_path_and_trains() -> None:
    model = _tiny()
    tokens, mask = _padded_batch([8, 5])
    speakers = torch.tensor([1, 0])
    durations = torch.randint(0, 4, tokens.shape).masked_fill(~mask, 0)
    with torch.inference_mode():
        out = model(tokens, mask, speakers, durations)
        hidden, logd = model.encode(tokens, mask, speakers)
        frames, fmask = length_regulate(hidden, durations)
        mel = model.decode(frames, fmask)
    assert set(out) == {"mel", "log_durations", "pitch_pred", "energy_pred", "frame_mask"}
    err = (out["mel"] - mel).abs().max().item()
    assert err < TOL, f"forward vs encode/decode max abs error {err:.3g}"
    assert torch.equal(out["frame_mask"], fmask)
    assert torch.allclose(out["log_durations"], logd, atol=TOL)
    assert out["pitch_pred"].shape == (2, 8) and out["energy_pred"].shape == (2, 8)

    # targets are used when given; a training step runs and reaches every parameter
    model.train()
    pitch = torch.randn(2, 8)
    energy = torch.randn(2, 8)
    out = model(tokens, mask, speakers, durations, pitch=pitch, energy=energy)
    loss = (out["mel"] ** 2).mean() + out["log_durations"].pow(2).mean() \
        + out["pitch_pred"].pow(2).mean() + out["energy_pred"].pow(2).mean()
    loss.backward()
    no_grad = [n for n, p in model.named_parameters() if p.grad is None]
    assert no_grad == [], no_grad
    model.eval()
    with torch.inference_mode():
        with_target = model(tokens, mask, speakers, durations, pitch=pitch)["mel"]
        predicted = model(tokens, mask, speakers, durations)["mel"]
    assert (with_target - predicted).abs().max() > 1e-4


def test_positional_encoding_has_no_length_limit() -> None:
    model = _tiny()
    frames = torch.randn(1, 3000, 32)
    with torch.inference_mode():
        mel = model.decode(frames, torch.ones(1, 3000, dtype=torch.bool))
    assert mel.shape == (1, 80, 3000) and torch.isfinite(mel).all()


class _Enc(torch.nn.Module):
    def __init__(self, m: AcousticModel) -> None:
        super().__init__()
        self.m = m

    def forward(self, tokens, mask, speakers):
        return self.m.encode(tokens, mask, speakers)


class _Dec(torch.nn.Module):
    def __init__(self, m: AcousticModel) -> None:
        super().__init__()
        self.m = m

    def forward(self, frames, mask):
        return self.m.decode(frames, mask)


def test_encode_decode_export_with_dynamic_shapes() -> None:
    """torch.export with dynamic B / T / F: no data-dependent Python control flow."""
    model = _tiny()

    tokens, mask = _padded_batch([9, 6])
    speakers = torch.tensor([0, 1])
    t = torch.export.Dim("T", min=2, max=4096)
    b = torch.export.Dim("B", min=1, max=64)
    ep = torch.export.export(_Enc(model), (tokens, mask, speakers),
                             dynamic_shapes=({0: b, 1: t}, {0: b, 1: t}, {0: b}))
    tokens2, mask2 = _padded_batch([23, 3, 12], seed=5)
    speakers2 = torch.tensor([2, 0, 1])
    with torch.inference_mode():
        ref = model.encode(tokens2, mask2, speakers2)
        got = ep.module()(tokens2, mask2, speakers2)
    err = max((a - b_).abs().max().item() for a, b_ in zip(ref, got))
    assert math.isfinite(err) and err < TOL, f"exported encode vs eager max abs error {err:.3g}"

    frames = torch.randn(2, 30, 32)
    fmask = torch.arange(30)[None, :] < torch.tensor([30, 12])[:, None]
    f = torch.export.Dim("F", min=2, max=100_000)
    ep = torch.export.export(_Dec(model), (frames, fmask),
                             dynamic_shapes=({0: b, 1: f}, {0: b, 1: f}))
    frames2 = torch.randn(3, 57, 32)
    fmask2 = torch.arange(57)[None, :] < torch.tensor([40, 57, 3])[:, None]
    with torch.inference_mode():
        err = (ep.module()(frames2, fmask2) - model.decode(frames2, fmask2)).abs().max().item()
    assert math.isfinite(err) and err < TOL, f"exported decode vs eager max abs error {err:.3g}"

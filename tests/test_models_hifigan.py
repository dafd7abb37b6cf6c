"""Tests of ttsengine.models.hifigan (CPU; small channel counts except where noted)."""

from __future__ import annotations

import dataclasses
import datetime
import json

import pytest
import torch

from ttsengine.errors import VoiceLoadError
from ttsengine.models import (
    HIFIGAN_CONFIGS,
    HiFiGANConfig,
    HiFiGANGenerator,
    load_official_checkpoint,
)

TOL = 1e-5
PAPER_PARAMS = {"v1": 13.92e6, "v2": 0.92e6, "v3": 1.46e6}  # Kong et al. 2020, Table 1


def _n_params(m: torch.nn.Module) -> int:
    return sum(p.numel() for p in m.parameters())


def _small(name: str, channels: int = 16, n_mels: int = 80) -> HiFiGANConfig:
    """Topology of an official config with fewer channels (same hop, same receptive field)."""
    return dataclasses.replace(HIFIGAN_CONFIGS[name], upsample_initial_channel=channels,
                               n_mels=n_mels)


def _expected_params(c: HiFiGANConfig) -> int:
    """Parameter count of the official generator (no weight norm), by hand."""
    ch = c.upsample_initial_channel
    n = c.n_mels * ch * 7 + ch  # conv_pre
    for i, k in enumerate(c.upsample_kernel_sizes):
        cin, cout = ch // 2**i, ch // 2 ** (i + 1)
        n += cin * cout * k + cout
        for rk, dil in zip(c.resblock_kernel_sizes, c.resblock_dilation_sizes):
            n_convs = 2 * len(dil) if c.resblock == "1" else len(dil)
            n += n_convs * (cout * cout * rk + cout)
    return n + (ch // 2 ** len(c.upsample_rates)) * 7 + 1  # conv_post


def _rescale_init(g: HiFiGANGenerator) -> None:
    """Variance-preserving weights: the official N(0, 0.01) init makes far-away contributions
    vanish below float precision, which would hide the true receptive field."""
    with torch.no_grad():
        for m in g.modules():
            if isinstance(m, torch.nn.Conv1d):
                m.weight.normal_(0.0, (m.weight.shape[1] * m.weight.shape[2]) ** -0.5)
            elif isinstance(m, torch.nn.ConvTranspose1d):
                fan_in = m.weight.shape[0] * m.weight.shape[2] / m.stride[0]
                m.weight.normal_(0.0, fan_in ** -0.5)


# --------------------------------------------------------------------------- config
def test_configs_hop_and_roundtrip() -> None:
    assert set(HIFIGAN_CONFIGS) == {"v1", "v2", "v3"}
    for name, c in HIFIGAN_CONFIGS.items():
        assert c.hop_length == 256, name
        d = json.loads(json.dumps(c.to_dict()))
        assert HiFiGANConfig.from_dict(d) == c
    c = HIFIGAN_CONFIGS["v3"]
    assert c.resblock == "2" and c.resblock_dilation_sizes == ((1, 2), (2, 6), (3, 12))
    d = c.to_dict()
    with pytest.raises(ValueError, match="unknown keys"):
        HiFiGANConfig.from_dict({**d, "segment_size": 8192})
    d.pop("upsample_rates")
    with pytest.raises(ValueError, match="missing keys"):
        HiFiGANConfig.from_dict(d)
    with pytest.raises(ValueError):
        dataclasses.replace(c, resblock="3")
    with pytest.raises(ValueError):
        dataclasses.replace(c, upsample_kernel_sizes=(16, 15, 8))  # k - u odd


# --------------------------------------------------------------------------- params
def test_parameter_counts_match_paper() -> None:
    """Counts WITHOUT weight norm (the inference model).

    Measured: V1 13,926,017 (+0.04 %), V2 925,985 (+0.65 %), V3 1,462,273 (+0.16 %);
    with weight norm (one extra gain per output channel): 13,936,130 / 928,514 / 1,464,322.
    The paper's numbers are truncated to two decimals (13.926 M -> "13.92 M"), so V2's
    0.926 M is printed as "0.92 M": for V2 we accept the two-decimal truncation
    (0.92 M <= n < 0.93 M, i.e. up to 1.1 %) instead of 0.5 %; the architecture itself is
    pinned by the exact hand count, which must hold to the parameter.
    """
    for name, c in HIFIGAN_CONFIGS.items():
        g = HiFiGANGenerator(c)
        n = _n_params(g)
        assert n == _expected_params(c), (name, n, _expected_params(c))
        rel = abs(n - PAPER_PARAMS[name]) / PAPER_PARAMS[name]
        truncated = int(n / 1e4) * 1e4  # paper style: M with two decimals, truncated
        assert truncated == PAPER_PARAMS[name], f"{name}: {n} params, paper {PAPER_PARAMS[name]}"
        if name != "v2":
            assert rel < 0.005, f"{name}: {n} params, {rel:.3%} from paper"
        n_wn = _n_params(g.apply_weight_norm())
        assert n_wn - n == sum(m.weight.shape[0] for m in g.modules()
                               if isinstance(m, (torch.nn.Conv1d, torch.nn.ConvTranspose1d)))


def test_official_module_names() -> None:
    keys1 = set(HiFiGANGenerator(_small("v1")).state_dict())
    for k in ("conv_pre.weight", "conv_pre.bias", "ups.0.weight", "ups.3.bias",
              "resblocks.0.convs1.0.weight", "resblocks.11.convs1.2.bias",
              "resblocks.5.convs2.1.weight", "conv_post.weight", "conv_post.bias"):
        assert k in keys1, k
    assert len([k for k in keys1 if k.startswith("resblocks.")]) == 12 * 6 * 2
    keys3 = set(HiFiGANGenerator(_small("v3")).state_dict())
    assert {"resblocks.8.convs.1.weight", "ups.2.weight"} <= keys3
    assert not any("convs1" in k for k in keys3)
    g = HiFiGANGenerator(_small("v3")).apply_weight_norm()
    wn_keys = set(g.state_dict())
    assert "conv_pre.parametrizations.weight.original0" in wn_keys
    assert "ups.1.parametrizations.weight.original1" in wn_keys


# --------------------------------------------------------------------------- forward
def test_v1_forward_shape_and_range() -> None:
    torch.manual_seed(0)
    g = HiFiGANGenerator(HIFIGAN_CONFIGS["v1"]).eval()
    with torch.inference_mode():
        wave = g(torch.randn(2, 80, 3))
    assert wave.shape == (2, 3 * 256)
    assert torch.isfinite(wave).all() and wave.abs().max() < 1.0


def test_weight_norm_apply_remove_keeps_output() -> None:
    torch.manual_seed(0)
    g = HiFiGANGenerator(_small("v2", 32)).eval()
    mel = torch.randn(1, 80, 6)
    with torch.inference_mode():
        ref = g(mel)
    assert not g.has_weight_norm
    g.apply_weight_norm()
    assert g.has_weight_norm
    with torch.inference_mode():
        wn = g(mel)
    g.remove_weight_norm()
    assert not g.has_weight_norm and not any("parametrizations" in k for k in g.state_dict())
    with torch.inference_mode():
        back = g(mel)
    err = max((wn - ref).abs().max().item(), (back - ref).abs().max().item())
    assert err < TOL, f"weight norm round trip max abs error {err:.3g}"


@pytest.mark.parametrize("name", ["v1", "v3"])
def test_masked_padded_batch_equals_single(name: str) -> None:
    torch.manual_seed(0)
    g = HiFiGANGenerator(_small(name, 32)).eval()
    _rescale_init(g)
    lengths = [9, 4, 6]
    mel = torch.randn(3, 80, 9)
    hop = g.hop_length
    with torch.inference_mode():
        batch = g(mel, torch.tensor(lengths))
        unmasked = g(mel)
        assert torch.equal(g(mel, torch.tensor([9, 9, 9])), unmasked), "full lengths == no mask"
        err = err_unmasked = 0.0
        for i, n in enumerate(lengths):
            single = g(mel[i:i + 1, :, :n])[0]
            err = max(err, (batch[i, : n * hop] - single).abs().max().item())
            err_unmasked = max(err_unmasked, (unmasked[i, : n * hop] - single).abs().max().item())
            assert (batch[i, n * hop:] == 0).all(), "padded output must be exactly 0"
    # measured: v1 5.1e-07, v3 8.6e-07 (float rounding); without masks 0.52 / 0.74
    assert err < TOL, f"{name}: padded batch vs single max abs error {err:.3g}"
    assert err_unmasked > 1e-3, f"{name}: masking had no effect ({err_unmasked:.3g}): vacuous test"


# --------------------------------------------------------------------------- receptive field
@pytest.mark.parametrize("name, expected", [("v1", 13), ("v2", 13), ("v3", 11)])
def test_receptive_field_analytical_vs_empirical(name: str, expected: int) -> None:
    c = _small(name, 16, n_mels=8)
    torch.manual_seed(0)
    g = HiFiGANGenerator(c).double().eval()
    _rescale_init(g)
    r = g.receptive_field_frames()
    assert r == HiFiGANGenerator(HIFIGAN_CONFIGS[name]).receptive_field_frames() == expected
    hop, n_frames = c.hop_length, 2 * r + 15
    f = n_frames // 2
    pre: dict[str, torch.Tensor] = {}  # pre-tanh output: tanh saturation cannot hide changes
    g.conv_post.register_forward_hook(lambda mod, inp, out: pre.__setitem__("y", out))
    mel = torch.randn(1, c.n_mels, n_frames, dtype=torch.float64)
    bumped = mel.clone()
    bumped[:, :, f] += 1.0
    with torch.inference_mode():
        g(mel)
        y0 = pre["y"]
        g(bumped)
        y1 = pre["y"]
    per_frame = (y1 - y0).abs().reshape(n_frames, hop).amax(dim=1)  # max change per output frame
    changed = (per_frame > 1e-14 * y0.abs().max()).nonzero().flatten()
    left, right = f - changed.min().item(), changed.max().item() - f
    assert max(left, right) == r, f"{name}: empirical {left}/{right} frames vs analytical {r}"
    outside = torch.cat([per_frame[: f - r], per_frame[f + r + 1:]])
    assert (outside == 0).all(), f"{name}: change beyond the receptive field {outside.max():.3g}"
    # measured (v1): change at distance 13 ~1e-11..1e-10, exactly 0 from distance 14 on

    # practical meaning: a chunk with r frames of context on each side is exact inside
    with torch.inference_mode():
        full = g(mel)
        a, b = f - 3, f + 4
        errs = []
        for ctx in (r, r - 1):
            part = g(mel[:, :, a - ctx: b + ctx])[:, ctx * hop: (ctx + b - a) * hop]
            errs.append((part - full[:, a * hop: b * hop]).abs().max().item())
    assert errs[0] < 1e-12, f"{name}: chunk with context {r} differs by {errs[0]:.3g}"
    assert errs[1] > 1e-14, f"{name}: context {r - 1} already exact ({errs[1]:.3g})"


# --------------------------------------------------------------------------- checkpoints
def _official_state_dict(g: HiFiGANGenerator) -> dict[str, torch.Tensor]:
    """State dict in the official layout: weight-norm tensors as X.weight_g / X.weight_v."""
    sd = {}
    for k, v in g.state_dict().items():
        k = k.replace(".parametrizations.weight.original0", ".weight_g")
        k = k.replace(".parametrizations.weight.original1", ".weight_v")
        sd[k] = v.clone()
    return sd


@pytest.mark.parametrize("name", ["v2", "v3"])
def test_load_official_checkpoint_reproduces_weight_normed_model(name: str, tmp_path) -> None:
    torch.manual_seed(0)
    c = HIFIGAN_CONFIGS[name]  # real sizes (0.93 M / 1.46 M parameters)
    g = HiFiGANGenerator(c).apply_weight_norm().eval()
    with torch.no_grad():  # gains != ||v||, so folding g * v / ||v|| is really exercised
        for m in g.modules():
            if hasattr(m, "parametrizations"):
                m.parametrizations.weight.original0.mul_(
                    torch.empty_like(m.parametrizations.weight.original0).uniform_(0.5, 2.0))
    mel = torch.randn(2, 80, 5)
    with torch.inference_mode():
        ref = g(mel)
    sd = _official_state_dict(g)
    assert any(k.endswith(".weight_g") for k in sd) and not any(k.endswith(".weight") for k in sd)
    path = tmp_path / "g_02500000"
    torch.save({"generator": sd}, path)

    loaded = load_official_checkpoint(path, c)
    assert not loaded.has_weight_norm and not loaded.training
    with torch.inference_mode():
        out = loaded(mel)
    err = (out - ref).abs().max().item()
    scale = ref.abs().max().item()
    # measured: v2 3.7e-09, v3 5.6e-09 abs error, with max |wave| 0.048 / 0.021 (official init)
    assert scale > 1e-2, f"output too small for a meaningful comparison ({scale:.3g})"
    assert err < TOL and err < 1e-4 * scale, (
        f"{name}: loaded vs weight-normed model max abs error {err:.3g} (max |wave| {scale:.3g})")
    # negative control: ignoring the gains (weight = v) must be clearly visible
    wrong = {k.replace(".weight_v", ".weight"): v for k, v in sd.items() if not k.endswith("_g")}
    with torch.inference_mode():
        err_wrong = (load_official_checkpoint(wrong, c)(mel) - ref).abs().max().item()
    assert err_wrong > 100 * err + 1e-3 * scale, f"{name}: gains had no effect ({err_wrong:.3g})"

    # plain-weight state dict (bare or under 'generator') loads too
    plain = {k: v.clone() for k, v in g.remove_weight_norm().state_dict().items()}
    for src in (plain, {"generator": plain}):
        with torch.inference_mode():
            err2 = (load_official_checkpoint(src, c)(mel) - ref).abs().max().item()
        assert err2 < TOL, f"{name}: plain weights max abs error {err2:.3g}"


def test_load_official_checkpoint_errors(tmp_path) -> None:
    c = _small("v2", 32)
    sd = _official_state_dict(HiFiGANGenerator(c).apply_weight_norm())

    with pytest.raises(VoiceLoadError, match="not found"):
        load_official_checkpoint(tmp_path / "missing.pt", c)
    missing = dict(sd)
    missing.pop("conv_post.bias")
    with pytest.raises(VoiceLoadError, match=r"missing keys \['conv_post.bias'\]"):
        load_official_checkpoint({"generator": missing}, c)
    extra = dict(sd, **{"resblocks.99.convs1.0.bias": torch.zeros(3)})
    with pytest.raises(VoiceLoadError, match="unexpected keys"):
        load_official_checkpoint({"generator": extra}, c)
    with pytest.raises(VoiceLoadError, match="shape mismatch"):
        load_official_checkpoint({"generator": sd}, _small("v2", 64))
    orphan = dict(sd)
    orphan.pop("conv_pre.weight_v")
    with pytest.raises(VoiceLoadError, match="without"):
        load_official_checkpoint({"generator": orphan}, c)
    # a pickle with a non-tensor object is refused by torch.load(weights_only=True)
    path = tmp_path / "evil.pt"
    torch.save({"generator": sd, "meta": datetime.date(2020, 10, 12)}, path)
    with pytest.raises(VoiceLoadError, match="cannot read"):
        load_official_checkpoint(path, c)
    garbage = tmp_path / "garbage.pt"
    garbage.write_bytes(b"not a checkpoint")
    with pytest.raises(VoiceLoadError, match="cannot read"):
        load_official_checkpoint(garbage, c)


def test_masked_forward_exports_with_dynamic_shapes() -> None:
    """torch.export with dynamic B / F and frame_lengths: the masks are plain tensor ops."""
    torch.manual_seed(0)
    g = HiFiGANGenerator(_small("v1", 16)).eval()
    b = torch.export.Dim("B", min=1, max=64)
    f = torch.export.Dim("F", min=2, max=100_000)
    ep = torch.export.export(g, (torch.randn(2, 80, 10), torch.tensor([10, 7])),
                             dynamic_shapes=({0: b, 2: f}, {0: b}))
    mel, lengths = torch.randn(3, 80, 23), torch.tensor([23, 5, 17])
    with torch.inference_mode():
        err = (ep.module()(mel, lengths) - g(mel, lengths)).abs().max().item()
    assert err < TOL, f"exported vs eager max abs error {err:.3g}"  # measured: 0.0

"""Alignment: native monotonic alignment search against brute force, aligner and losses."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from ttsengine import _core  # noqa: E402
from ttsengine.training.alignment import (  # noqa: E402
    Aligner,
    AlignerConfig,
    beta_binomial_prior,
    binarization_loss,
    durations_to_attention,
    forward_sum_loss,
    monotonic_alignment_search,
)
from ttsengine.errors import InvalidInputError  # noqa: E402


def _brute_force(lp: np.ndarray) -> tuple[float, np.ndarray]:
    """Best monotonic path by enumerating every split of the frames into >= 1 per token."""
    n_mel, n_text = lp.shape
    best, best_d = -np.inf, None
    for cuts in itertools.combinations(range(1, n_mel), n_text - 1):
        bounds = (0, *cuts, n_mel)
        score = sum(lp[bounds[j]:bounds[j + 1], j].sum(dtype=np.float64) for j in range(n_text))
        if score > best:
            best, best_d = score, np.diff(bounds)
    return best, best_d


def _score(lp: np.ndarray, durations: np.ndarray) -> float:
    bounds = np.concatenate([[0], np.cumsum(durations)])
    return sum(lp[bounds[j]:bounds[j + 1], j].sum(dtype=np.float64) for j in range(len(durations)))


def test_mas_matches_brute_force_on_random_matrices():
    rng = np.random.default_rng(0)
    checked = 0
    for n_mel in range(1, 10):
        for n_text in range(1, n_mel + 1):
            for _ in range(3):
                lp = np.log(rng.dirichlet(np.ones(n_text), size=n_mel)).astype(np.float32)
                d = _core.monotonic_alignment_search(lp)
                best, best_d = _brute_force(lp)
                assert d.dtype == np.int32 and d.sum() == n_mel and d.min() >= 1
                assert _score(lp, d) == pytest.approx(best, abs=1e-9)
                np.testing.assert_array_equal(d, best_d)  # random floats: the optimum is unique
                checked += 1
    assert checked == 135


def test_mas_batched_with_lengths_equals_single_rows():
    rng = np.random.default_rng(1)
    lp = np.log(rng.random((3, 12, 6))).astype(np.float32)
    mel_lengths, text_lengths = np.array([12, 7, 5]), np.array([6, 3, 5])
    d = monotonic_alignment_search(torch.from_numpy(lp), torch.from_numpy(mel_lengths), text_lengths)
    assert d.shape == (3, 6)
    for b in range(3):
        single = _core.monotonic_alignment_search(np.ascontiguousarray(lp[b, :mel_lengths[b], :text_lengths[b]]))
        np.testing.assert_array_equal(d[b, :text_lengths[b]], single)
        assert (d[b, text_lengths[b]:] == 0).all()


def test_mas_follows_a_clear_diagonal_and_rejects_impossible_input():
    target = np.array([3, 1, 4, 2])
    lp = np.full((10, 4), -10.0, np.float32)
    lp[np.arange(10), np.repeat(np.arange(4), target)] = 0.0
    np.testing.assert_array_equal(_core.monotonic_alignment_search(lp), target)
    with pytest.raises(InvalidInputError, match="at least one frame per token"):
        monotonic_alignment_search(np.zeros((3, 5), np.float32))
    with pytest.raises(ValueError):
        _core.monotonic_alignment_search(np.zeros((2, 4, 3), np.float32), np.array([4, 9]), None)


def test_prior_aligner_and_losses():
    prior = beta_binomial_prior(torch.tensor([5, 3]), torch.tensor([20, 9]), 5, 20)
    sums = prior.sum(-1)
    assert torch.allclose(sums[0], torch.ones(20), atol=1e-5)  # each frame: a distribution over tokens
    assert torch.allclose(sums[1, :9], torch.ones(9), atol=1e-5) and sums[1, 9:].abs().max() == 0
    assert prior[0, 0].argmax() == 0 and prior[0, -1].argmax() == 4  # diagonal

    torch.manual_seed(0)
    aligner = Aligner(AlignerConfig(n_symbols=10, n_mels=8, embed_dim=16, hidden_dim=16, attention_dim=8))
    tokens = torch.tensor([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])
    mask = tokens > 0
    mel = torch.randn(2, 8, 20)
    log_attn = aligner(tokens, mask, mel, prior)
    probs = log_attn.exp()
    assert torch.allclose(probs.sum(-1), torch.ones(2, 20), atol=1e-5)
    assert probs[1, :, 3:].max() < 1e-6  # padded tokens get no mass
    loss = forward_sum_loss(log_attn, torch.tensor([5, 3]), torch.tensor([20, 9]))
    assert torch.isfinite(loss) and loss > 0
    loss.backward()
    assert aligner.key_proj[0].weight.grad.abs().sum() > 0
    durations = torch.from_numpy(monotonic_alignment_search(log_attn, [20, 9], [5, 3])).long()
    hard = durations_to_attention(durations, 20)
    assert hard.sum() == 29 and torch.equal(hard.sum(1).long(), durations)
    assert binarization_loss(hard, log_attn.detach()) > 0


def test_forward_sum_loss_prefers_the_diagonal():
    # A sharp diagonal attention must cost less than a uniform one (8 frames, 4 tokens).
    diag = torch.full((1, 8, 4), -20.0)
    diag[0, torch.arange(8), torch.arange(8) // 2] = 0.0
    diag = torch.log_softmax(diag, -1)
    uniform = torch.log_softmax(torch.zeros(1, 8, 4), -1)
    lengths = (torch.tensor([4]), torch.tensor([8]))
    assert forward_sum_loss(diag, *lengths) < forward_sum_loss(uniform, *lengths)

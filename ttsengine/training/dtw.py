"""Dynamic time warping between two mel spectrograms, for durations without an aligner.

A clone's recordings come without phoneme timings, and a base voice trained on exact
durations has no aligner. But the base voice can say the same text with known timings;
warping its rendering onto the recording (:func:`dtw_path` on :func:`mfcc` features, which
are normalised per utterance so a different speaker still matches) carries those timings
over (:func:`warp_durations`). A speaker whose vocal tract differs much from the base
speaker's (a man's voice against a woman's) matches better after stretching the frequency
axis of the recording by a factor :func:`choose_stretch` picks by the least warping cost.
"""

from __future__ import annotations

import numpy as np

__all__ = ["mfcc", "stretch_frequencies", "dtw_path", "warp_durations", "choose_stretch", "STRETCHES"]

#: Frequency stretches tried by :func:`choose_stretch` (1.2 suits a man against a woman).
STRETCHES = (0.8, 0.85, 0.9, 0.95, 1.0, 1.05, 1.1, 1.15, 1.2, 1.25, 1.3, 1.35, 1.4)


def mfcc(log_mel: np.ndarray, n: int = 13) -> np.ndarray:
    """Log-mel [n_mels, F] -> cepstra 1..n [F, n], mean / variance normalised over time."""
    n_mels = log_mel.shape[0]
    k = np.arange(n_mels)
    basis = np.cos(np.pi / n_mels * (k[None, :] + 0.5) * np.arange(1, n + 1)[:, None])
    c = (basis @ log_mel.astype(np.float64)).T
    return (c - c.mean(0)) / (c.std(0) + 1e-5)


def stretch_frequencies(log_mel: np.ndarray, factor: float) -> np.ndarray:
    """Log-mel [n_mels, F] with its frequency axis stretched: bin k takes bin k / factor
    (linear interpolation; the top bin is repeated past the end)."""
    if factor == 1.0:
        return log_mel
    n = log_mel.shape[0]
    src = np.clip(np.arange(n) / factor, 0, n - 1)
    low = np.floor(src).astype(np.int64)
    high = np.minimum(low + 1, n - 1)
    w = (src - low)[:, None]
    return log_mel[low] * (1 - w) + log_mel[high] * w


def dtw_path(cost: np.ndarray) -> np.ndarray:
    """Least-cost monotonic path through ``cost`` [N, M] from (0, 0) to (N-1, M-1) with steps
    (1, 0), (0, 1), (1, 1); returns the path as an int array [L, 2] of (i, j).

    Rows are filled with a vectorised recursion: with ``a[k]`` the best cost of entering
    cell (i, k) from row i-1, ``D[i, j] = min_{k<=j} a[k] + sum_{m=k..j} cost[i, m]``,
    a running minimum over a cumulative sum."""
    cost = np.asarray(cost, dtype=np.float64)
    if cost.ndim != 2 or 0 in cost.shape:
        raise ValueError(f"cost must be a non-empty 2-D array, got shape {cost.shape}")
    n, m = cost.shape
    acc = np.empty((n, m))
    acc[0] = np.cumsum(cost[0])
    for i in range(1, n):
        prev = acc[i - 1]
        enter = np.minimum(prev, np.concatenate(([np.inf], prev[:-1])))  # from above or diagonal
        row = np.cumsum(cost[i])
        acc[i] = row + np.minimum.accumulate(enter - (row - cost[i]))
    i, j = n - 1, m - 1
    path = [(i, j)]
    while i > 0 or j > 0:
        if i == 0:
            j -= 1
        elif j == 0:
            i -= 1
        else:
            steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
            i, j = min(steps, key=lambda s: acc[s])
        path.append((i, j))
    return np.asarray(path[::-1], dtype=np.int64)


def _path(target_mel: np.ndarray, reference_mel: np.ndarray, stretch: float) -> tuple[np.ndarray, float]:
    a, b = mfcc(stretch_frequencies(target_mel, stretch)), mfcc(reference_mel)
    cost = np.sqrt(((a[:, None, :] - b[None, :, :]) ** 2).sum(-1))
    path = dtw_path(cost)
    return path, float(cost[path[:, 0], path[:, 1]].mean())


def warp_durations(target_mel: np.ndarray, reference_mel: np.ndarray,
                   reference_durations: np.ndarray, stretch: float = 1.0) -> np.ndarray:
    """Frames per token of ``target_mel`` [n_mels, F], from a rendering ``reference_mel``
    [n_mels, G] of the same tokens whose frames per token are ``reference_durations`` (sum G).
    ``stretch``: the target's frequency stretch (:func:`choose_stretch`).

    Each target frame goes to the token of the median reference frame the warping path pairs
    it with; the result sums to F (tokens the path skips get 0 frames)."""
    durations = np.asarray(reference_durations, dtype=np.int64)
    if durations.sum() != reference_mel.shape[1]:
        raise ValueError(f"reference durations sum to {durations.sum()}, its mel has {reference_mel.shape[1]} frames")
    path, _ = _path(target_mel, reference_mel, stretch)
    n = target_mel.shape[1]
    starts = np.searchsorted(path[:, 0], np.arange(n), side="left")
    ends = np.searchsorted(path[:, 0], np.arange(n), side="right")
    matched = np.array([int(np.median(path[s:e, 1])) for s, e in zip(starts, ends)], dtype=np.int64)
    token_of_frame = np.searchsorted(np.cumsum(durations), matched, side="right")
    return np.bincount(token_of_frame, minlength=len(durations)).astype(np.int64)


def choose_stretch(pairs: list[tuple[np.ndarray, np.ndarray]], stretches: tuple[float, ...] = STRETCHES) -> float:
    """The frequency stretch of the target mels with the least mean warping cost over
    ``pairs`` of (target mel, reference mel): one speaker-wide factor, like vocal tract length
    normalisation."""
    if not pairs:
        raise ValueError("choose_stretch needs at least one (target, reference) pair")
    costs = [np.mean([_path(t, r, s)[1] for t, r in pairs]) for s in stretches]
    return float(stretches[int(np.argmin(costs))])

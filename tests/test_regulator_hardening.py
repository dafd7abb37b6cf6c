"""Non-finite and huge log-durations through the length regulator.

A NaN or +inf log-duration (an fp16 overflow on a GPU, a broken checkpoint) used to become
frame counts like [1, -1, 0] with a row total of INT64_MIN; the frame limit only looked at
the largest total and the frame expansion then wrote out of bounds (exit 139). Large
finite values wrapped int32. Now the kernels saturate per-token counts (+inf -> 2**30
frames, -inf -> 0), mark a row with a NaN by a total of -1 with all-zero frames, accept any
int32 counts in expand_frames, and ``check_frame_limit`` (which every backend
calls on the totals) raises :class:`ModelOutputError` for a NaN row and the frame-limit
:class:`TTSEngineError` for a saturated one.

The native calls run in a subprocess (a regression must fail the test, not kill pytest),
writing into caller buffers with guard cells on both sides to catch writes out of bounds
that do not crash.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import tempfile
import sys
import textwrap

import numpy as np
import pytest

requires_torch = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")

MAX_TOKEN_FRAMES = 2**30  # kMaxTokenFrames in csrc/core/length_regulator.h
NON_FINITE_TOTAL = -1  # kNonFiniteDurations
INT32_MAX = 2**31 - 1

# (name, log-duration): name is also how the subprocess rebuilds the value.
BAD_VALUES = {
    "nan": np.nan,
    "+inf": np.inf,
    "-inf": -np.inf,
    "1e30": 1e30,
    "-1e30": -1e30,
    "30": 30.0,  # exp(30) ~ 1.1e13 frames: used to wrap int32 into a random count
}

# A padded batch: row 0 full, row 1 shorter (padding at 5..7), row 2 empty.
LENGTHS = [8, 5, 0]
BASE = np.array(
    [
        [0.7, 1.1, 0.2, 1.6, 0.9, 1.3, 0.4, 1.0],
        [1.2, 0.5, 1.8, 0.3, 1.0, 0.0, 0.0, 0.0],
        [0.0] * 8,
    ],
    dtype=np.float32,
)
MAX_FRAMES = 40  # the caller's frame buffer: smaller than a saturated row
GUARD = 16  # guard cells on each side of every caller buffer

_WORKER = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    from ttsengine import _core

    GUARD, SENTINEL_I, SENTINEL_F = {guard}, -777, 777.0

    def guarded(shape, dtype, sentinel):
        size = int(np.prod(shape))
        whole = np.full(size + 2 * GUARD, sentinel, dtype)
        return whole, whole[GUARD : GUARD + size].reshape(shape)

    def guards_intact(whole, sentinel):
        return bool((whole[:GUARD] == sentinel).all() and (whole[-GUARD:] == sentinel).all())

    case = json.loads(sys.argv[1])
    log_d = np.array(case["log_d"], dtype=np.float32)
    for row, col, text in case["inject"]:
        log_d[row, col] = float(text)
    lengths = np.array(case["lengths"], dtype=np.int64)
    batch, tokens = log_d.shape
    result = {{}}
    if case["frames"] is None:
        fw, frames = guarded((batch, tokens), np.int32, SENTINEL_I)
        tw, totals = guarded((batch,), np.int64, SENTINEL_I)
        _core.durations_to_frames(log_d, lengths, case["speed"], frames=frames, frame_lengths=totals)
        result["regulator_guards"] = guards_intact(fw, SENTINEL_I) and guards_intact(tw, SENTINEL_I)
        result["frames"], result["totals"] = frames.tolist(), totals.tolist()
        print("regulated", flush=True)
    else:  # frame counts given as they are (any int32)
        frames = np.array(case["frames"], dtype=np.int32)
        tokens = frames.shape[1]
    max_frames = case["max_frames"]
    hidden = (np.arange(batch * tokens * 2, dtype=np.float32) + 1).reshape(batch, tokens, 2)
    ew, expanded = guarded((batch, max_frames, 2), np.float32, SENTINEL_F)
    _core.expand_frames(hidden, frames, max_frames, out=expanded)
    print("expanded", flush=True)
    result["expanded"] = expanded.tolist()
    result["expand_guards"] = guards_intact(ew, SENTINEL_F)
    print("RESULT " + json.dumps(result), flush=True)
    """
).format(guard=GUARD)


def _run_native(*, log_d=None, lengths=None, inject=(), speed=1.0, frames=None, max_frames=MAX_FRAMES) -> dict:
    """Runs regulator -> expand_frames with guarded caller buffers in a fresh
    interpreter; fails (instead of crashing pytest) if it dies or writes out of bounds."""
    case = {
        "log_d": None if log_d is None else np.asarray(log_d, np.float32).tolist(),
        "lengths": lengths,
        "inject": [list(item) for item in inject],
        "speed": speed,
        "frames": frames,
        "max_frames": max_frames,
    }
    if frames is not None:
        case["log_d"] = np.zeros((len(frames), len(frames[0])), np.float32).tolist()
        case["lengths"] = [len(frames[0])] * len(frames)
    env = dict(os.environ, OMP_NUM_THREADS="1")
    proc = subprocess.run(
        [sys.executable, "-c", _WORKER, json.dumps(case)], capture_output=True, text=True, env=env, timeout=120,
        cwd=tempfile.gettempdir(),  # not the source tree: `python -c` would import its ttsengine (no _core)
    )
    assert proc.returncode == 0, (
        f"the native regulator died (exit {proc.returncode}) after: {proc.stdout.split()!r}\n{proc.stderr[-2000:]}"
    )
    line = next(line for line in proc.stdout.splitlines() if line.startswith("RESULT "))
    result = json.loads(line[len("RESULT "):])
    if frames is None:
        assert result["regulator_guards"], "durations_to_frames wrote outside its caller buffers"
    assert result["expand_guards"], "expand_frames wrote outside its caller buffer"
    return result


def _clean(log_d, lengths, speed=1.0):
    from ttsengine import _core  # in-process: finite input has always been safe

    frames, totals = _core.durations_to_frames(np.asarray(log_d, np.float32), np.asarray(lengths, np.int64), speed)
    return frames, totals


def _check_expand(result, frames, max_frames):
    """expanded equals numpy's repeat of the (non-negative) counts, cut at max_frames."""
    frames = np.asarray(frames, np.int64)
    batch, tokens = frames.shape
    expanded = np.asarray(result["expanded"], np.float32).reshape(batch, max_frames, 2)
    hidden = (np.arange(batch * tokens * 2, dtype=np.float32) + 1).reshape(batch, tokens, 2)
    for b in range(batch):
        counts = np.minimum(np.maximum(frames[b], 0), max_frames)  # np.repeat of 2**30 is too big
        ref = np.repeat(np.arange(tokens), counts)[:max_frames]
        n = len(ref)
        np.testing.assert_array_equal(expanded[b, :n], hidden[b, ref])
        assert (expanded[b, n:] == 0).all()


# -- the native kernels ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_single_row(name):
    log_d = BASE[:1, :5]
    clean_frames, clean_totals = _clean(log_d, [5])
    result = _run_native(log_d=log_d, lengths=[5], inject=[(0, 2, name)])
    frames, totals = np.array(result["frames"]), np.array(result["totals"])
    value = BAD_VALUES[name]
    if np.isnan(value):
        assert totals.tolist() == [NON_FINITE_TOTAL] and (frames == 0).all()
    elif value > 0:  # saturated: the huge token gets 2**30 frames (+-1 from the rounding)
        assert abs(int(frames[0, 2]) - MAX_TOKEN_FRAMES) <= 1
        assert int(totals[0]) == int(frames[0].sum()) >= MAX_TOKEN_FRAMES
        assert (frames >= 0).all() and (frames <= INT32_MAX).all()
    else:  # -inf and very negative: zero frames for that token, the rest as before
        assert frames[0, 2] == 0 and int(totals[0]) == int(frames[0].sum()) > 0
        assert (frames >= 0).all()
        assert abs(int(totals[0]) - int(clean_totals[0] - clean_frames[0, 2])) <= 1
    _check_expand(result, frames, MAX_FRAMES)


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_padded_batch_refuses_only_its_row(name):
    result = _run_native(log_d=BASE, lengths=LENGTHS, inject=[(1, 3, name)], speed=1.3)
    clean_frames, clean_totals = _clean(BASE, LENGTHS, 1.3)
    frames, totals = np.array(result["frames"]), np.array(result["totals"])
    # rows 0 and 2 are untouched by row 1's value
    np.testing.assert_array_equal(frames[[0, 2]], clean_frames[[0, 2]])
    np.testing.assert_array_equal(totals[[0, 2]], clean_totals[[0, 2]])
    value = BAD_VALUES[name]
    if np.isnan(value):
        assert totals[1] == NON_FINITE_TOTAL and (frames[1] == 0).all()
    elif value > 0:
        assert abs(int(frames[1, 3]) - MAX_TOKEN_FRAMES) <= 1 and totals[1] == frames[1].sum()
    else:
        assert frames[1, 3] == 0 and totals[1] == frames[1].sum() > 0
    assert (frames >= 0).all() and (frames[1, LENGTHS[1]:] == 0).all()
    _check_expand(result, frames, MAX_FRAMES)


@pytest.mark.parametrize("name", list(BAD_VALUES))
def test_bad_values_in_the_padding_are_ignored(name):
    clean_frames, clean_totals = _clean(BASE, LENGTHS)
    inject = [(1, 6, name), (2, 0, name), (2, 7, name)]  # past row 1's length; row 2 is empty
    result = _run_native(log_d=BASE, lengths=LENGTHS, inject=inject)
    np.testing.assert_array_equal(result["frames"], clean_frames)
    np.testing.assert_array_equal(result["totals"], clean_totals)


def test_every_token_non_finite_in_every_row():
    log_d = np.full((3, 4), np.nan, np.float32)
    result = _run_native(log_d=log_d, lengths=[4, 2, 1], max_frames=7)
    assert result["totals"] == [NON_FINITE_TOTAL] * 3
    assert np.all(np.array(result["frames"]) == 0)
    assert np.all(np.array(result["expanded"]) == 0)
    # all +inf: every token saturates; the row total stays far inside int64
    result = _run_native(log_d=np.full((2, 6), np.inf, np.float32), lengths=[6, 3], max_frames=7)
    assert result["totals"] == [6 * MAX_TOKEN_FRAMES, 3 * MAX_TOKEN_FRAMES]
    assert np.array(result["expanded"])[0].tolist() == [[1.0, 2.0]] * 7  # token 0 of row 0, 7 times
    # all -inf: zero durations, so each non-empty row still gets one frame
    result = _run_native(log_d=np.full((2, 6), -np.inf, np.float32), lengths=[6, 0], max_frames=7)
    assert result["totals"] == [1, 0]


def test_tiny_speed_saturates_instead_of_wrapping():
    result = _run_native(log_d=BASE[:1], lengths=[8], speed=1e-30)
    frames = np.array(result["frames"])
    assert (frames >= MAX_TOKEN_FRAMES - 1).all() and (frames <= MAX_TOKEN_FRAMES + 1).all()
    assert result["totals"] == [int(frames.sum())]


@pytest.mark.parametrize(
    "frames",
    [
        [[1, -1, 0]],  # what NaN used to produce
        [[2, INT32_MAX, 3], [-(2**31), 5, -1]],  # extremes of int32
        [[-5, -5, -5], [0, 0, 0]],  # only negative / empty rows
        [[3, 1, 2], [1, -(2**31), 40]],
    ],
)
def test_expand_accepts_any_counts(frames):
    for max_frames in (0, 1, 5, MAX_FRAMES):
        result = _run_native(frames=frames, max_frames=max_frames)
        _check_expand(result, frames, max_frames)


# -- the Python layer -------------------------------------------------------------------


def test_check_frame_limit():
    from ttsengine.pipeline import check_frame_limit
    from ttsengine.errors import ModelOutputError, TTSEngineError

    check_frame_limit(np.array([3, 0, 10], np.int64), 10)
    check_frame_limit(np.zeros(0, np.int64), 10)
    with pytest.raises(ModelOutputError, match=r"non-finite \(NaN\) log-durations \(batch row 1\)"):
        check_frame_limit(np.array([3, -1, 10], np.int64), 10)
    with pytest.raises(ModelOutputError, match=r"batch rows 0, 2"):
        check_frame_limit(np.array([-1, 4, np.iinfo(np.int64).min]), 10)  # refused before the limit
    with pytest.raises(TTSEngineError, match="predicted 11 frames") as info:
        check_frame_limit(np.array([3, 11], np.int64), 10)
    assert not isinstance(info.value, ModelOutputError)
    assert issubclass(ModelOutputError, TTSEngineError)


def _patch_log_durations(monkeypatch, acoustic, edit):
    """The acoustic model's encode returns log-durations changed by ``edit(log_d, mask)``."""
    original = acoustic.encode

    def encode(tokens, mask, speakers, *args, **kwargs):
        hidden, log_d = original(tokens, mask, speakers, *args, **kwargs)
        log_d = log_d.clone()
        edit(log_d, mask)
        return hidden, log_d

    monkeypatch.setattr(acoustic, "encode", encode)


def test_pipeline_regulate_refuses_nan_rows():
    """The host pipeline's regulator (every runner on the CPU goes through it)."""
    from ttsengine.errors import ModelOutputError, TTSEngineError
    from ttsengine.pipeline import regulate

    log_d = BASE.copy()
    lengths = np.array(LENGTHS, np.int64)
    frames, totals = regulate(log_d, lengths, 1.0, 1000)
    log_d[1, 6] = np.nan  # padding: ignored
    log_d[2, 0] = np.inf  # empty row: ignored
    got_frames, got_totals = regulate(log_d, lengths, 1.0, 1000)
    np.testing.assert_array_equal(got_frames, frames)
    np.testing.assert_array_equal(got_totals, totals)
    bad = log_d.copy()
    bad[1, 2] = np.nan
    with pytest.raises(ModelOutputError, match="batch row 1"):
        regulate(bad, lengths, 1.0, 1000)
    for value in (np.inf, 1e30, 40.0):
        bad = log_d.copy()
        bad[0, 4] = value
        with pytest.raises(TTSEngineError, match=r"predicted \d+ frames .*limit 1000") as info:
            regulate(bad, lengths, 1.0, 1000)
        assert not isinstance(info.value, ModelOutputError)
    bad = log_d.copy()
    bad[0, :] = -np.inf
    got_frames, got_totals = regulate(bad, lengths, 1.0, 1000)
    assert got_totals[0] == 1 and got_frames[0].sum() == 1


@requires_torch
@pytest.mark.parametrize("where", ["synthesize", "batch", "stream"])
def test_synthesizer_raises_model_output_error_for_nan(tiny_synth, monkeypatch, where):
    from ttsengine.errors import ModelOutputError

    acoustic = tiny_synth._backend.acoustic

    def nan_in_shortest_row(log_d, mask):
        shortest = int(mask.sum(1).argmin())
        log_d[shortest, 0] = float("nan")

    _patch_log_durations(monkeypatch, acoustic, nan_in_shortest_row)
    with pytest.raises(ModelOutputError, match="non-finite"):
        if where == "synthesize":
            tiny_synth.synthesize("Hello there.")
        elif where == "batch":
            tiny_synth.synthesize_batch(["Hi.", "A somewhat longer sentence than the first one."])
        else:
            list(tiny_synth.synthesize_stream("Hello there."))


@requires_torch
@pytest.mark.parametrize("value", [np.inf, 1e30, 60.0])
def test_synthesizer_hits_the_frame_limit_for_huge_durations(tiny_synth, monkeypatch, value):
    from ttsengine.errors import ModelOutputError, TTSEngineError

    def huge(log_d, mask):
        log_d[0, 0] = value

    _patch_log_durations(monkeypatch, tiny_synth._backend.acoustic, huge)
    with pytest.raises(TTSEngineError, match="frames for one sentence") as info:
        tiny_synth.synthesize_batch(["Hi.", "A somewhat longer sentence than the first one."])
    assert not isinstance(info.value, ModelOutputError)


@requires_torch
def test_synthesizer_ignores_non_finite_padding_and_clamps_negative_infinity(tiny_synth, monkeypatch):
    texts = ["Hi.", "A somewhat longer sentence than the first one."]
    want = tiny_synth.synthesize_batch(texts)

    def nan_in_padding(log_d, mask):
        log_d[~mask] = float("nan")

    with monkeypatch.context() as patch:
        _patch_log_durations(patch, tiny_synth._backend.acoustic, nan_in_padding)
        got = tiny_synth.synthesize_batch(texts)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.samples, b.samples, atol=1e-6, rtol=0)

    def all_negative_infinity(log_d, mask):
        log_d[:] = -float("inf")

    with monkeypatch.context() as patch:
        _patch_log_durations(patch, tiny_synth._backend.acoustic, all_negative_infinity)
        audio = tiny_synth.synthesize("Hi.")  # one frame for the sentence: short, not broken
    assert np.isfinite(audio.samples).all() and 0 < len(audio.samples) < len(want[0].samples)


@requires_torch
def test_bucketed_pipeline_refuses_nan_and_saturates_inf(tiny_voice, monkeypatch):
    """The CUDA pipeline (on the CPU: fake device, no graphs) regulates on its own path."""
    import torch

    from ttsengine import Synthesizer
    from ttsengine.errors import ModelOutputError, TTSEngineError
    from ttsengine.pipeline.cuda import CudaPipeline
    from ttsengine.pipeline.workspace import BufferLimits

    synth = Synthesizer(tiny_voice, backend="torch", device="cpu")
    backend = synth._backend
    pipeline = CudaPipeline(
        backend, device=torch.device("cpu"), dtype=torch.float32,
        limits=BufferLimits(max_batch=2, max_tokens=16, max_frames=64),
        d_model=int(synth.voice.acoustic["hparams"]["d_model"]), n_mels=synth.voice.n_mels,
        hop=synth.voice.hop_length, graphs=False,
    )
    segments = [synth.frontend.segments(text)[0] for text in ("Hi.", "A somewhat longer sentence.")]
    from ttsengine.synthesizer import _Job

    batch = synth._batch([_Job(0, s, 0, 1.0) for s in segments], synth._workspaces._free[0])
    tokens, lengths, speakers = batch.tokens.copy(), batch.token_lengths.copy(), batch.speakers.copy()
    want, want_lengths, _ = pipeline._synthesize(tokens, lengths, speakers, 1.0, None, 10_000)

    def nan_in_padding(log_d, mask):
        log_d[~mask] = float("nan")

    with monkeypatch.context() as patch:
        _patch_log_durations(patch, backend.acoustic, nan_in_padding)
        got, got_lengths, _ = pipeline._synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
    np.testing.assert_array_equal(got_lengths, want_lengths)
    np.testing.assert_allclose(got, want, atol=1e-6, rtol=0)

    def nan_in_row_0(log_d, mask):
        log_d[0, 1] = float("nan")

    with monkeypatch.context() as patch:
        _patch_log_durations(patch, backend.acoustic, nan_in_row_0)
        with pytest.raises(ModelOutputError, match="batch row 0"):
            pipeline._synthesize(tokens, lengths, speakers, 1.0, None, 10_000)

    def inf_in_row_1(log_d, mask):
        log_d[1, 0] = float("inf")

    with monkeypatch.context() as patch:
        _patch_log_durations(patch, backend.acoustic, inf_in_row_1)
        with pytest.raises(TTSEngineError, match="predicted") as info:
            pipeline._synthesize(tokens, lengths, speakers, 1.0, None, 10_000)
        assert not isinstance(info.value, ModelOutputError)

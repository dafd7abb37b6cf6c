"""Outputs of synthesize / synthesize_batch / synthesize_stream equal the pre-Segment code's
(fingerprints in tests/data/reference_outputs.json, made by tests/data/make_reference_outputs.py
from commit 6484eea; the ``default`` entry re-made when the default voice's CPU vocoder and
postfilter changed, stop 23, when it dropped its free-phase part, stop 24, and when its
acoustic model learned the LJ Speech lines and its CPU vocoder 20000 more steps, stop 27; ``tiny``
unchanged): same lengths, same chunking, samples within
float rounding. ``default`` runs its fp32 graphs (``precision="fp32"``): the int8 decoder that
``auto`` picks on CPUs since stop 28 is held to them by tests/test_int8_decoder.py and
``ttsengine verify``."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"
sys.path.insert(0, str(DATA))
import make_reference_outputs as ref  # noqa: E402

pytestmark = pytest.mark.skipif(importlib.util.find_spec("torch") is None, reason="torch not installed")


def _compare(got, want, where):
    if isinstance(want, list):
        assert len(got) == len(want), f"{where}: {len(got)} pieces, reference {len(want)}"
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, f"{where}[{i}]")
        return
    assert got["n"] == want["n"], f"{where}: {got['n']} samples, reference {want['n']}"
    np.testing.assert_allclose(got["points"], want["points"], atol=2e-4, err_msg=where)
    assert got["abs_sum"] == pytest.approx(want["abs_sum"], rel=1e-3, abs=1e-3), where


@pytest.mark.parametrize("name", ["tiny", "default"])
def test_outputs_equal_the_reference(tmp_path, name):
    want = json.loads((DATA / "reference_outputs.json").read_text())[name]
    for voice, synth, speaker in ref.synthesizers(str(tmp_path)):
        if voice == name:
            got = ref.outputs(synth, speaker)
            break
    assert set(got) == set(want)
    for case in want:
        _compare(got[case], want[case], f"{name}.{case}")

"""Writes ``reference_outputs.json``: fingerprints of the three public methods' outputs.

Run once with the code BEFORE the Segment refactor (issue #24, commit 6484eea) from the
repository root: ``OMP_NUM_THREADS=1 python tests/data/make_reference_outputs.py``.
``tests/test_reference_outputs.py`` compares today's outputs with these.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile

import numpy as np

TEXTS = ["Hello world.", "The quick brown fox jumps over the lazy dog, then rests. It is 3:30 pm!",
         "One. Two, three."]
POINTS = 256


def fingerprint(samples: np.ndarray) -> dict:
    """Length, sum of |x| and POINTS evenly spaced samples of a wave."""
    samples = np.asarray(samples, np.float32)
    idx = np.linspace(0, len(samples) - 1, POINTS).round().astype(int)
    return {"n": len(samples), "abs_sum": float(np.abs(samples).sum(dtype=np.float64)),
            "points": [round(float(v), 7) for v in samples[idx]]}


def outputs(synth, speaker) -> dict:
    """Each case -> its fingerprint(s)."""
    kw = {} if speaker is None else {"speaker": speaker}
    r = {}
    for i, text in enumerate(TEXTS):
        r[f"synth{i}"] = fingerprint(synth.synthesize(text, speed=1.3 if i == 1 else 1.0, **kw).samples)
    r["synth_16k"] = fingerprint(synth.synthesize(TEXTS[0], sample_rate=16000).samples)
    r["batch"] = [fingerprint(a.samples) for a in synth.synthesize_batch(TEXTS, speed=0.9)]
    r["stream"] = [fingerprint(c.samples) for c in synth.synthesize_stream(TEXTS[1], speed=1.1)]
    r["stream_16k"] = [fingerprint(c.samples) for c in synth.synthesize_stream(TEXTS[0], sample_rate=16000)]
    return r


def synthesizers(root: str):
    from ttsengine import Synthesizer
    from ttsengine.voice_factory import create_random_voice

    tiny = create_random_voice(os.path.join(root, "tiny-en"), name="tiny-en", acoustic_size="tiny",
                               vocoder="v2", speakers=("alice", "bob", "carol"), seed=1)
    yield "tiny", Synthesizer(tiny, device="cpu", backend="torch"), "bob"
    # fp32: the reference path (the int8 decoder that "auto" runs on CPUs is held to the fp32
    # graphs by `ttsengine verify --precision int8`, tests/test_int8_decoder.py)
    yield "default", Synthesizer("default", device="cpu", precision="fp32"), None


if __name__ == "__main__":
    result = {}
    with tempfile.TemporaryDirectory() as root:
        for name, synth, speaker in synthesizers(root):
            result[name] = outputs(synth, speaker)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "reference_outputs.json")
    with open(path if len(sys.argv) < 2 else sys.argv[1], "w") as f:
        json.dump(result, f, separators=(",", ":"))

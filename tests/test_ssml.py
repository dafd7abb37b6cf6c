"""SSML (#24): a text starting with <speak is read as SSML 1.1 (subset); one test per element."""

from __future__ import annotations

import pytest

from ttsengine.errors import InvalidInputError
from ttsengine.frontend.ssml import is_ssml, parse_ssml


def speak(body: str) -> str:
    return f'<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">{body}</speak>'


def texts(ssml: str) -> list[str]:
    return [" ".join(b.text.split()) for b in parse_ssml(ssml)]


@pytest.fixture(scope="module")
def synth():
    from ttsengine import Synthesizer

    return Synthesizer("default", device="cpu")


def _gap(audio, before: str, after: str) -> float:
    words = [w.text for w in audio.words]
    i = words.index(before)
    assert words[i + 1] == after
    return audio.words[i + 1].start - audio.words[i].end


def test_only_text_starting_with_speak_is_ssml(synth):
    assert is_ssml("  <speak>Hi.</speak>") and not is_ssml("Hi <speak>") and not is_ssml(b"<speak>")
    plain = synth.synthesize("Say <b>hello</b> now.")  # markup in plain text is dropped, as before
    assert [w.text for w in plain.words] == ["Say", "hello", "now"]


def test_break_time_makes_the_gap(synth):
    audio = synth.synthesize(speak('Wait <break time="800ms"/> for it.'))
    assert _gap(audio, "Wait", "for") >= 0.75
    plain = synth.synthesize(speak("Wait for it."))
    assert _gap(plain, "Wait", "for") < 0.2
    assert _gap(synth.synthesize(speak('Wait <break time="1.5s"/> for it.')), "Wait", "for") >= 1.45


def test_break_strength():
    blocks = parse_ssml(speak('One <break strength="x-strong"/> two <break/> three <break strength="none"/> four'))
    assert [b.pause_after for b in blocks[:3]] == [1.0, 0.25, 0.0]
    with pytest.raises(InvalidInputError, match="strength"):
        parse_ssml(speak('One <break strength="loud"/> two'))
    with pytest.raises(InvalidInputError, match="at most"):
        parse_ssml(speak('One <break time="60s"/> two'))


def test_prosody_rate(synth):
    blocks = parse_ssml(speak('Normal <prosody rate="slow">slow</prosody> <prosody rate="150%">fast</prosody> '
                              '<prosody rate="+20%">bit</prosody> <prosody rate="x-fast" pitch="high">x</prosody>'))
    assert [(b.text.strip(), b.speed) for b in blocks] == [
        ("Normal", 1.0), ("slow", 0.75), ("fast", 1.5), ("bit", 1.2), ("x", 1.6)]
    normal = synth.synthesize(speak("The weather is lovely today."))
    slow = synth.synthesize(speak('<prosody rate="50%">The weather is lovely today.</prosody>'))
    assert slow.words[-1].end - slow.words[0].start > 1.8 * (normal.words[-1].end - normal.words[0].start)
    with pytest.raises(InvalidInputError, match="rate"):
        parse_ssml(speak('<prosody rate="warp">x</prosody>'))


@pytest.mark.parametrize("kind, content, attrs, spoken", [
    ("characters", "AB1", "", "A B one"),
    ("cardinal", "1,234", "", "one thousand two hundred thirty-four"),
    ("ordinal", "21", "", "twenty-first"),
    ("digits", "2048", "", "two zero four eight"),
    ("date", "6/5/2018", ' format="mdy"', "June fifth, twenty eighteen"),
    ("date", "5.6.2018", ' format="dmy"', "June fifth, twenty eighteen"),
    ("time", "3:30 pm", "", "3:30 pm"),
    ("telephone", "+1 555-1234", "", "plus one, five five five, one two three four"),
])
def test_say_as(kind, content, attrs, spoken):
    got = texts(speak(f'Call <say-as interpret-as="{kind}"{attrs}>{content}</say-as> now.'))
    assert got == [f"Call {spoken} now."]


def test_say_as_reads_in_audio(synth):
    audio = synth.synthesize(speak('Room <say-as interpret-as="digits">42</say-as>.'))
    assert [w.text for w in audio.words] == ["Room", "four", "two"]
    with pytest.raises(InvalidInputError, match="line 1, column"):
        synth.synthesize(speak('<say-as interpret-as="cardinal">many</say-as>'))
    with pytest.raises(InvalidInputError, match="interpret-as"):
        parse_ssml(speak('<say-as interpret-as="music">x</say-as>'))


def test_sub_alias(synth):
    text = speak('Browse the <sub alias="World Wide Web">WWW</sub> today.')
    audio = synth.synthesize(text)
    assert [w.text for w in audio.words] == ["Browse", "the", "World", "Wide", "Web", "today"]
    assert {text[slice(*w.span)] for w in audio.words[2:5]} == {"WWW"}  # spans point into the SSML
    with pytest.raises(InvalidInputError, match="alias"):
        parse_ssml(speak("<sub>WWW</sub>"))


def test_phoneme(synth):
    text = speak('I say <phoneme alphabet="ipa" ph="təˈmɑːtoʊ">tomato</phoneme>.')
    segment = synth._segments(text)[0]
    phonemes = "".join(synth.frontend.symbols[i] for i in segment.ids)
    assert "təˈmɑːtO" in phonemes
    assert [w.text for w in synth.synthesize(text).words] == ["I", "say", "tomato"]
    with pytest.raises(InvalidInputError, match="phoneme"):
        synth.synthesize(speak('<phoneme alphabet="ipa" ph="ʘ\u0c80">x</phoneme>'))
    with pytest.raises(InvalidInputError, match="alphabet"):
        parse_ssml(speak('<phoneme alphabet="x-sampa" ph="t@">x</phoneme>'))


def test_lang_and_paragraphs(synth):
    blocks = parse_ssml(speak('<p><s>One.</s><s>Two.</s></p><p>Three <lang xml:lang="en-GB">colour</lang></p>'))
    assert [(b.text.strip(), b.pause_after, b.language) for b in blocks] == [
        ("One.", 0.25, "en-US"), ("Two.", 0.5, "en-US"), ("Three", None, "en-US"), ("colour", 0.5, "en-GB")]
    audio = synth.synthesize(speak("<p><s>One.</s><s>Two.</s></p><p>Three.</p>"))
    assert [w.text for w in audio.words] == ["One", "Two", "Three"]
    assert _gap(audio, "Two", "Three") > _gap(audio, "One", "Two")


@pytest.mark.parametrize("bad, where", [
    ("<speak>Hello <break time='1s'></speak>", "line 1, column"),
    ("<speak>Hello\n <blink>x</blink></speak>", "line 2, column 2"),
    ('<speak><!DOCTYPE x [<!ENTITY a "b">]>x</speak>', "line 1"),
    ("<speak>Hi &unknown;</speak>", "line 1, column"),
    ("<speak><break/></speak>", "no text"),
])
def test_invalid_ssml_names_the_position(synth, bad, where):
    with pytest.raises(InvalidInputError, match=where) as info:
        synth.synthesize(bad)
    assert isinstance(info.value, ValueError)


def test_entity_expansion_is_refused():
    bomb = ('<speak><!DOCTYPE speak [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;">]>&b;</speak>')
    with pytest.raises(InvalidInputError):
        parse_ssml(bomb)
    assert texts("<speak>Fish &amp; chips &#33;</speak>") == ["Fish & chips !"]


def test_ssml_in_batch_and_stream(synth):
    text = speak('One <break time="500ms"/> <prosody rate="slow">two</prosody> three.')
    whole = synth.synthesize(text)
    chunks = list(synth.synthesize_stream(text))
    assert [w for c in chunks for w in c.words] == list(whole.words)
    assert sum(len(c.samples) for c in chunks) == len(whole.samples)
    batch = synth.synthesize_batch([text, "Plain text."])
    assert len(batch[0].samples) == len(whole.samples)
    assert [w.text for w in batch[1].words] == ["Plain", "text"]

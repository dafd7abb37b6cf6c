"""Default symbol tables and their coverage of espeak-ng (English) and pypinyin output."""

from __future__ import annotations

import importlib.util
import logging

import pytest

from ttsengine.frontend import Frontend, default_symbols
from ttsengine.frontend.symbols import PINYIN_FINALS, PINYIN_INITIALS, is_speakable

needs_espeak = pytest.mark.skipif(
    importlib.util.find_spec("phonemizer") is None
    or importlib.util.find_spec("espeakng_loader") is None,
    reason="phonemizer / espeakng-loader not installed")
needs_pypinyin = pytest.mark.skipif(importlib.util.find_spec("pypinyin") is None,
                                    reason="pypinyin not installed")

# Ordinary English: every vowel / consonant of General American, syllabic consonants,
# flapping, glottal stops, weak vowels, contractions, names, loanwords, numbers, punctuation.
ENGLISH_SENTENCES = [
    "The quick brown fox jumps over the lazy dog.",
    "Pack my box with five dozen liquor jugs!",
    "How vexingly quick daft zebras jump?",
    "She sells seashells by the seashore; the shells she sells are surely seashells.",
    "Peter Piper picked a peck of pickled peppers, didn't he?",
    "I thought the weather would be better, but it wasn't.",
    "Judge Jenkins measured the beige garage with a ruler.",
    "The mischievous child hid the treasure beneath the chair.",
    "Would you like tea or coffee this morning, or maybe orange juice?",
    "Button, bottle, little, water, matter, kitten, mountain, certain.",
    "Our choir sang in the church at the hour of noon.",
    "Thirty-three thousand thieves thought they'd thrilled the throne.",
    "Yesterday the young yak yawned at the yellow yacht.",
    "Whether the weather is warm or wet, we'll go whale watching.",
    "The boy's toy coin was lost in the oily soil.",
    "Cure the pure poor tourist's fury in Europe.",
    "Her first nurse learned to work early in the world.",
    "They're there with their car, a star far from the park.",
    "Could you put the book on the wooden footstool?",
    "Aunt Laura thought the law was awful, naughty and flawed.",
    "I'm sure you've heard, we'd said it's what they'll do.",
    "Schedule the usual casual leisure vision meeting.",
    "Strength, length, width, depth and breadth are measured in sixths.",
    "Massachusetts, Connecticut, Illinois and Arkansas are states.",
    "Tchaikovsky, Nietzsche, Goethe and Dvořák were European.",
    "The entrepreneur ate a croissant at the café with naïve élan.",
    "The genre of the rendezvous was déjà vu, a faux pas.",
    "Loch Ness, Bach's fugue, and the Welsh town Llanelli.",
    "Hmm, uh-huh, oh well, shh, psst, ugh, whoa, wow.",
    "The hour-long interview was, honestly, rather worrying.",
    "Photosynthesis transforms carbon dioxide and water into glucose.",
    "The algorithm's asymptotic complexity is logarithmic.",
    "Pneumonia, psychology, mnemonic, gnome, knight and wrist.",
    "Colonel Worcester's February Wednesday in Leicester was awkward.",
    "It was nineteen ninety-nine, and it cost three dollars and fifty cents.",
    "Twelve, twentieth, hundredth, thousandth, millionth.",
    "Ah! Oh? Eh... Mm-hmm; no, yes: maybe (perhaps) \"quoted\" — dashed.",
    "The cat's cradle, the dogs' kennel, and the children's toys.",
    "Rhythm and rhyme; myth and hymn; crypt and lynx.",
    "A jar of jam, a jug of juice, a jingle, a giraffe and a gem.",
    "Zoos, buzzes, fizzes, vases, visions, azure and seizure.",
    "Bought, caught, taught, fought, sought and thought.",
    "Read, lead, tear, wind, bow, row and live are heteronyms.",
    "Unbelievable, uncomfortable, irresponsibility, antidisestablishmentarianism.",
    "NASA, the FBI, the BBC and UNESCO published the PDF via HTTP.",
]
ENGLISH_WORDS = """
a about above across act add afraid after again against age ago agree air all almost
alone along already also always among anger animal answer any appear apple area arm army
around arrive art ask atom baby back bad ball band bank bar base basket bath bear beat
beauty bed bee before begin behind bell below best between big bird birth bit bitter black
blood blue board boat body bone book born both bottom bought boy brain branch bread break
breath bright bring brother brown build burn business busy buy cake call camera camp cane
capital captain care carry case catch cause cell center century chain chance change charge
check cheese chicken chief child choose circle city claim class clean clear climb clock
close cloth cloud coast coat cold collect colony color column common company compare
complete condition consider contain control cook cool copy corn corner correct cost cotton
count country course cover cow crease create crop cross crowd cry current cut dad dance
danger dark daughter dead deal dear death decide deep degree depend describe desert design
determine develop dictionary die differ difficult direct discuss distant divide doctor
does dog dollar door double down draw dream dress drink drive drop dry duck during duty
each ear early earth ease east eat edge effect egg eight either electric element else
end enemy energy engine enough enter equal equate especially even evening event ever
every exact example except excite exercise expect experience experiment eye face fact
fair fall family famous far farm fast father favor fear feed feel feet fell few field
fig fight figure fill final find fine finger finish fire first fish fit five flat floor
flow flower fly follow food foot force forest form forward found fraction free fresh
friend front fruit full fun game garden gas gather gentle girl glad glass gold govern
grand grass gray great green grew ground group grow guess guide gun hair half hand
happen happy hard hat head health hear heart heat heavy help high hill history hold hole
home hope horse hot hotel house huge human hundred hunt hurry husband ice idea imagine
inch include indicate industry insect instrument interest invent iron island join joy
jump keep key kill kind king kitchen knew knife know lady lake land language large laugh
law lay lead learn leather leave leg length letter level lie lift light like line liquid
list listen little locate long look lost loud love low machine magnet main major make
many map mark market mass master match material matter meant measure meat meet melody
metal method middle might mile milk million mind mine minute miss mix modern molecule
moment money month moon morning mother motion mount mouth move music nation nature near
necessary neck need neighbor nerve never night noise noon north nose note nothing notice
noun number object observe ocean office oil old once only open oxygen page paint pair
paper paragraph parent party pass past path pattern pay people perhaps period person
phrase pitch place plain planet plant play please plural poem point poor position
possible pound power practice prepare present press pretty print probable problem
process produce product protect proud prove provide pull push quart question quick
quiet quite quotient race radio rail rain raise range rather reach ready real reason
receive record region remember repeat reply represent require rest result rich ride
right ring rise river road rock roll room root rope rose round row rub rule safe sail
salt sand save scale school science score search season seat second section seed seem
segment select sense sentence separate serve settle seven several shape share sharp
sheet shine ship shoe shop shore short should shoulder shout show sight sign silent
silver similar simple single sister size skill skin sky sleep slip slow small smell
smile snow soft soil soldier solution solve son song soon sound south space speak
special speech speed spell spend spoke spot spread spring square stand star start state
station stay steam steel step stick still stone stood store storm story straight
strange stream street stretch string strong student study subject substance subtract
success sudden suffix sugar suggest suit summer supply surprise swim syllable symbol
system table tail talk teach team teeth temperature test thank thick thin thing third
though thousand three through throw thus tie tiny tire together tone tool tooth total
touch toward town track trade train travel tree triangle trip trouble truck true try
tube turn twenty type uncle under unit until usual valley value vary verb very view
village visit voice vowel wait walk wall want warm wash watch wave wear weather week
weight west wheel white whole whose wide wife wild window wing winter wire wish woman
wonder wood word work world write wrong yard year yellow young zero zone
""".split()


def test_default_tables_shape():
    for kind, language in (("phonemes", "en-us"), ("pinyin", "zh"), ("chars", "en")):
        table = default_symbols(kind, language)
        assert table[0] == "_" and " " in table
        assert len(set(table)) == len(table), kind
        assert {",", ".", "!", "?"} <= set(table)
        assert default_symbols(kind, language) == table  # deterministic
    phon = default_symbols("phonemes", "en-us")
    assert {"ˈ", "ˌ", "ː", "ə", "ɹ", "ʃ", "θ", "ð", "ŋ", "æ", "ɡ"} <= set(phon)
    assert all(len(s) == 1 for s in phon)
    chars = default_symbols("chars")
    assert set("abcdefghijklmnopqrstuvwxyz'") <= set(chars)
    assert not any(s.isdigit() or s.isupper() for s in chars)
    pinyin = default_symbols("pinyin", "zh")
    assert {"zh", "ch", "sh", "b", "ong1", "ing4", "v3", "iou2", "e5", "er2"} <= set(pinyin)
    assert len(pinyin) == 1 + 15 + 1 + len(PINYIN_INITIALS) + 5 * len(PINYIN_FINALS)
    # sizes new voices are built with; tables only ever grow at the end, so an id keeps its
    # symbol (the 164 phoneme symbols of the first release are a prefix of today's table)
    assert (len(phon), len(pinyin), len(chars)) == (181, 238, 43)
    assert phon[163] == "\u031e" and phon[164:] == list("ʤʧʣʥʦʨᵝꭧAIOQSTWY→")


def test_bad_kind_or_language():
    with pytest.raises(ValueError, match="unknown frontend kind"):
        default_symbols("hieroglyphs")
    with pytest.raises(ValueError, match="Chinese"):
        default_symbols("pinyin", "en-us")


def test_speakable():
    assert not any(is_speakable(s) for s in "_ ,.!?;:'\"()-—…")
    assert all(is_speakable(s) for s in ("a", "ə", "ˈ", "zh", "ong1"))


@needs_espeak
def test_phoneme_table_covers_espeak_english(caplog):
    """Every character espeak-ng emits for ~45 varied sentences and ~800 words is in the
    default phoneme table, and the Frontend reports no unknown symbol."""
    from ttsengine.frontend import get_g2p

    table = set(default_symbols("phonemes", "en-us"))
    g2p = get_g2p("espeak", "en-us")
    texts = ENGLISH_SENTENCES + [" ".join(ENGLISH_WORDS[i:i + 25])
                                 for i in range(0, len(ENGLISH_WORDS), 25)]
    seen: set[str] = set()
    for text in texts:
        seen |= set(g2p.phonemize(text))
    missing = seen - table
    assert not missing, sorted(missing)
    assert len(seen) > 45  # the corpus really exercises the inventory (measured: 59)
    fe = Frontend("phonemes", default_symbols("phonemes", "en-us"), "en-us")
    with caplog.at_level(logging.WARNING, logger="ttsengine"):
        segs = fe.segments(" ".join(ENGLISH_SENTENCES))
    assert not [r for r in caplog.records if "dropping symbol" in r.getMessage()]
    assert len(segs) >= len(ENGLISH_SENTENCES) - 5


@needs_pypinyin
def test_pinyin_table_covers_every_reading():
    """Every reading of every character in pypinyin's dictionary maps into the table
    (measured: 41923 characters, 1549 distinct TONE3 readings, 0 unmapped)."""
    from pypinyin.contrib.tone_convert import to_tone3
    from pypinyin.pinyin_dict import pinyin_dict

    from ttsengine.frontend.pinyin import syllable_to_tokens

    table = set(default_symbols("pinyin", "zh"))
    readings = {to_tone3(r, neutral_tone_with_five=True)
                for v in pinyin_dict.values() for r in v.split(",")}
    bad = [r for r in readings if not syllable_to_tokens(r) or
           not set(syllable_to_tokens(r)) <= table]
    assert len(readings) > 1000
    assert not bad, sorted(bad)[:20]

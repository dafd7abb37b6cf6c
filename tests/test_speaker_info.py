"""Issue #25: voice.json's optional ``speaker_info`` section (each speaker's languages, gender,
licence and origin), validated by load_voice, read by ``VoiceConfig.speaker_info``, shown by
``ttsengine voices`` and ``/v1/audio/voices``, and used to map OpenAI's voice names by gender."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ttsengine.errors import InvalidInputError, VoiceLoadError
from ttsengine.server.voices import (
    OPENAI_FEMALE,
    OPENAI_MALE,
    OPENAI_VOICES,
    alias_table,
)
from ttsengine.voice import load_voice

SPEAKER_INFO = {
    "af_a": {"languages": ["en-us", "zh"], "gender": "female", "license": "Apache-2.0", "origin": "hibari-tts"},
    "am_b": {"languages": ["en-us", "zh"], "gender": "male", "license": "MIT (voice), CC0 (data)"},
    "zf_c": {"languages": ["zh", "en-us"], "gender": "female", "license": "non-commercial research (CSMSC)"},
}


@pytest.fixture(scope="module")
def plain_voice(tmp_path_factory):
    """A seeded random voice with Kokoro-style speaker names and no speaker_info."""
    from ttsengine.voice_factory import create_random_voice

    return create_random_voice(tmp_path_factory.mktemp("voices") / "bi", name="bi", acoustic_size="tiny",
                               vocoder="v2", speakers=("af_a", "am_b", "zf_c"), seed=3)


def _with_info(source: Path, target: Path, info, **sections) -> Path:
    path = Path(shutil.copytree(source, target))
    data = json.loads((path / "voice.json").read_text())
    if info is not None:
        data["speaker_info"] = info
    data.update(sections)
    (path / "voice.json").write_text(json.dumps(data))
    return path


@pytest.fixture(scope="module")
def info_voice(plain_voice, tmp_path_factory):
    return _with_info(plain_voice, tmp_path_factory.mktemp("info") / "bi", SPEAKER_INFO,
                      defaults={"speaker": "zf_c"})


# ------------------------------------------------------------------------------ schema
def test_a_voice_without_the_section_loads_unchanged(plain_voice):
    voice = load_voice(plain_voice)
    assert dict(voice.speaker_infos) == {}
    assert voice.speaker_info("af_a") == {} and voice.speaker_info(None) == {}
    assert "speaker_info" not in voice.to_dict()


def test_the_section_is_read(info_voice):
    voice = load_voice(info_voice)
    assert voice.speaker_info("af_a") == SPEAKER_INFO["af_a"]
    assert voice.speaker_info("am_b") == SPEAKER_INFO["am_b"]  # no origin: none added
    assert voice.speaker_info(2) == SPEAKER_INFO["zf_c"]  # by id
    assert voice.speaker_info("2") == SPEAKER_INFO["zf_c"]
    assert voice.speaker_info() == SPEAKER_INFO["zf_c"]  # the default speaker
    assert "speaker_info" not in voice.extra
    assert voice.to_dict()["speaker_info"] == SPEAKER_INFO
    voice.speaker_info("af_a")["languages"].append("fr")  # a copy: the voice is not changed
    assert voice.speaker_info("af_a")["languages"] == ["en-us", "zh"]
    with pytest.raises(InvalidInputError, match="unknown speaker"):
        voice.speaker_info("nobody")


def test_speakers_may_be_left_out(plain_voice, tmp_path):
    info = {"zf_c": {"languages": ["zh"], "license": "CC0"}}
    voice = load_voice(_with_info(plain_voice, tmp_path / "v", info))
    assert voice.speaker_info("zf_c") == {"languages": ["zh"], "license": "CC0"}
    assert voice.speaker_info("af_a") == {} and voice.speaker_info("am_b") == {}


def test_the_section_survives_a_rewrite(info_voice, tmp_path):
    from ttsengine.voice import write_voice_json

    target = Path(shutil.copytree(info_voice, tmp_path / "copy"))
    write_voice_json(target, load_voice(info_voice).to_dict())
    assert load_voice(target).speaker_info("af_a") == SPEAKER_INFO["af_a"]


def _entry(**change):
    entry = {"languages": ["zh", "en-us"], "gender": "female", "license": "CC0", "origin": "x"}
    for key, value in change.items():
        if value is None:
            del entry[key]
        else:
            entry[key] = value
    return {"zf_c": entry}


BROKEN = {
    "not_object": ([], r"speaker_info must be a JSON object, got \[\]"),
    "unknown_speaker": ({"zf_x": {"languages": ["zh"], "license": "CC0"}},
                        r"speaker_info names \['zf_x'\] that are not speakers of this voice \(speakers: af_a, am_b"),
    "entry_not_object": ({"zf_c": "zh"}, r"speaker_info\.zf_c must be a JSON object, got 'zh'"),
    "unknown_key": (_entry(accent="beijing"), r"speaker_info\.zf_c has unknown keys \['accent'\]"),
    "languages_missing": (_entry(languages=None), r"speaker_info\.zf_c\.languages is missing"),
    "languages_empty": (_entry(languages=[]), r"speaker_info\.zf_c\.languages must be a non-empty list"),
    "languages_string": (_entry(languages="zh"), r"speaker_info\.zf_c\.languages must be a non-empty list"),
    "language_not_string": (_entry(languages=["zh", 1]), r"speaker_info\.zf_c\.languages must hold language codes"),
    "language_blank": (_entry(languages=[" "]), r"speaker_info\.zf_c\.languages must hold language codes"),
    "language_twice": (_entry(languages=["zh", "zh"]), r"speaker_info\.zf_c\.languages lists a language twice"),
    "gender_other": (_entry(gender="f"), r"speaker_info\.zf_c\.gender must be one of 'female', 'male', got 'f'"),
    "gender_list": (_entry(gender=["female"]), r"speaker_info\.zf_c\.gender must be one of"),
    "license_missing": (_entry(license=None), r"speaker_info\.zf_c\.license is missing"),
    "license_empty": (_entry(license=""), r"speaker_info\.zf_c\.license must be a non-empty string"),
    "license_number": (_entry(license=2), r"speaker_info\.zf_c\.license must be a non-empty string"),
    "origin_list": (_entry(origin=[]), r"speaker_info\.zf_c\.origin must be a non-empty string"),
}


@pytest.mark.parametrize("case", list(BROKEN))
def test_broken_sections_are_refused(plain_voice, tmp_path, case):
    info, message = BROKEN[case]
    path = _with_info(plain_voice, tmp_path / "v", info)
    with pytest.raises(VoiceLoadError, match=message) as caught:
        load_voice(path)
    assert str(path / "voice.json") in str(caught.value)


def test_the_schema_checker_alone():
    """The torch-free check: returns the entries with languages as tuples."""
    from ttsengine.voice.schema import _check_speaker_info, _Checker

    checked = _check_speaker_info(_Checker(Path("voice.json")), SPEAKER_INFO, {"af_a": 0, "am_b": 1, "zf_c": 2})
    assert checked["zf_c"]["languages"] == ("zh", "en-us") and checked["am_b"]["gender"] == "male"
    assert _check_speaker_info(_Checker(Path("voice.json")), {}, {"af_a": 0}) == {}


# ------------------------------------------------------------------------------ OpenAI aliases
BILINGUAL = {"af_heart": 0, "am_joe": 1, "zf_baker": 2}
BILINGUAL_INFO = {
    "af_heart": {"languages": ["en-us", "zh"], "gender": "female", "license": "Apache-2.0"},
    "am_joe": {"languages": ["en-us", "zh"], "gender": "male", "license": "MIT"},
    "zf_baker": {"languages": ["zh", "en-us"], "gender": "female", "license": "non-commercial"},
}


def test_openai_voices_are_split_by_gender():
    assert sorted(OPENAI_FEMALE + OPENAI_MALE + ("alloy",)) == sorted(OPENAI_VOICES)


def test_aliases_go_by_gender():
    table = alias_table(BILINGUAL, None, BILINGUAL_INFO, "zf_baker")
    assert table["alloy"] == "zf_baker"  # the default speaker
    # female-sounding voices to the female speakers in turn (by id), male ones to the male speaker
    assert [table[name] for name in OPENAI_FEMALE] == ["af_heart", "zf_baker"] * 3
    assert [table[name] for name in OPENAI_MALE] == ["am_joe"] * 6
    assert set(table) == set(OPENAI_VOICES)
    assert alias_table(BILINGUAL, None, BILINGUAL_INFO)["alloy"] == "af_heart"  # no default given: the first


def test_configured_aliases_still_win():
    table = alias_table(BILINGUAL, {"nova": "am_joe", "alloy": 2}, BILINGUAL_INFO, "af_heart")
    assert table["nova"] == "am_joe" and table["alloy"] == 2 and table["coral"] == "af_heart"


def test_without_genders_the_round_robin_stays():
    round_robin = {name: ["af_heart", "am_joe", "zf_baker"][i % 3] for i, name in enumerate(OPENAI_VOICES)}
    assert alias_table(BILINGUAL, None) == round_robin
    assert alias_table(BILINGUAL, None, {}, "zf_baker") == round_robin
    no_gender = {name: {k: v for k, v in info.items() if k != "gender"} for name, info in BILINGUAL_INFO.items()}
    assert alias_table(BILINGUAL, None, no_gender, "zf_baker") == round_robin


def test_a_gender_without_speakers_keeps_the_round_robin():
    info = {"af_heart": BILINGUAL_INFO["af_heart"]}  # one female speaker; the others unknown
    table = alias_table(BILINGUAL, None, info, "am_joe")
    ordered = ["af_heart", "am_joe", "zf_baker"]
    assert all(table[name] == "af_heart" for name in OPENAI_FEMALE)
    assert all(table[name] == ordered[OPENAI_VOICES.index(name) % 3] for name in OPENAI_MALE)
    assert table["alloy"] == "am_joe"


def test_own_speaker_names_are_not_aliased():
    speakers = {"nova": 0, "am_joe": 1}
    info = {"nova": {"languages": ["en-us"], "gender": "female", "license": "x"},
            "am_joe": {"languages": ["en-us"], "gender": "male", "license": "x"}}
    table = alias_table(speakers, None, info, "nova")
    assert "nova" not in table and table["coral"] == "nova" and table["echo"] == "am_joe"


# ------------------------------------------------------------------------------ /v1/audio/voices
def _listed(voice_dir, **options):
    pytest.importorskip("fastapi")
    pytest.importorskip("httpx")
    from fastapi.testclient import TestClient

    from ttsengine import Synthesizer
    from ttsengine.server import ServerConfig, create_app

    synth = Synthesizer(voice_dir, device="cpu", backend="torch")
    with TestClient(create_app(ServerConfig(synthesizer=synth, rate=None, **options))) as client:
        response = client.get("/v1/audio/voices")
    assert response.status_code == 200, response.text
    return {v["id"]: v for v in response.json()["voices"]}


def test_the_voices_route_gives_languages_gender_and_license(info_voice):
    listed = _listed(info_voice, voice_aliases={"echo": "af_a"})
    assert listed["af_a"] == {"id": "af_a", "name": "af_a", "speaker_id": 0, "default": False,
                              "languages": ["en-us", "zh"], "gender": "female", "license": "Apache-2.0"}
    assert "origin" not in listed["af_a"]
    assert listed["zf_c"]["default"] is True and listed["zf_c"]["languages"] == ["zh", "en-us"]
    assert listed["am_b"]["gender"] == "male" and listed["am_b"]["license"] == "MIT (voice), CC0 (data)"
    # aliases carry their target's fields, and go by gender (echo: configured)
    assert listed["alloy"]["alias_of"] == "zf_c" and listed["alloy"]["languages"] == ["zh", "en-us"]
    assert listed["coral"]["alias_of"] == "af_a" and listed["coral"]["gender"] == "female"
    assert listed["nova"]["alias_of"] == "zf_c" and listed["onyx"]["alias_of"] == "am_b"
    assert listed["onyx"]["license"] == "MIT (voice), CC0 (data)"
    assert listed["echo"]["alias_of"] == "af_a" and listed["echo"]["gender"] == "female"


def test_the_voices_route_without_info_is_unchanged(plain_voice):
    listed = _listed(plain_voice)
    assert listed["am_b"] == {"id": "am_b", "name": "am_b", "speaker_id": 1, "default": False}
    assert listed["alloy"] == {"id": "alloy", "name": "alloy", "speaker_id": 0, "default": False,
                               "alias_of": "af_a"}
    assert listed["ash"]["alias_of"] == "am_b" and listed["ballad"]["alias_of"] == "zf_c"  # in turn


# ------------------------------------------------------------------------------ ttsengine voices
def test_cli_lines_show_each_speakers_languages_and_license(info_voice):
    """``ttsengine voices`` lists only the bundled voices (none has speaker_info yet): its
    formatting function, on a voice with the section."""
    from ttsengine.cli import _voice_lines

    lines = _voice_lines(load_voice(info_voice))
    assert lines[0].startswith("bi\t24000 Hz\tphonemes/en-us\tspeakers: af_a=0, am_b=1, zf_c=2\tUNTRAINED")
    speakers = [line for line in lines if line.startswith("\tspeaker ")]
    assert speakers == [
        "\tspeaker af_a: en-us (native), zh; female; license: Apache-2.0; from hibari-tts",
        "\tspeaker am_b: en-us (native), zh; male; license: MIT (voice), CC0 (data)",
        "\tspeaker zf_c: zh (native), en-us; female; license: non-commercial research (CSMSC)",
    ]
    assert lines[-1] == f"\t{info_voice.resolve()}"


def test_cli_lines_for_a_speaker_without_info(plain_voice, tmp_path):
    from ttsengine.cli import _voice_lines

    voice = load_voice(_with_info(plain_voice, tmp_path / "v", {"zf_c": {"languages": ["zh"], "license": "CC0"}}))
    assert [line for line in _voice_lines(voice) if line.startswith("\tspeaker ")] == [
        "\tspeaker af_a: no speaker_info", "\tspeaker am_b: no speaker_info", "\tspeaker zf_c: zh (native); license: CC0"]


def test_cli_lines_without_the_section_are_as_before(plain_voice):
    from ttsengine.cli import _voice_lines

    voice = load_voice(plain_voice)
    assert _voice_lines(voice) == [
        ("bi\t24000 Hz\tphonemes/en-us\tspeakers: af_a=0, am_b=1, zf_c=2\t"
         "UNTRAINED (random weights: output is noise, not speech)"),
        "\tvocoders: hifigan", f"\t{voice.path}"]


# ------------------------------------------------------------------------------ the demo page
@pytest.mark.browser
def test_the_demo_page_shows_each_speakers_languages(info_voice):
    """In headless Chromium (as tests/test_browser.py; skips without playwright or Chromium):
    the picker's labels carry the languages, its values stay the speaker names."""
    import os

    for module in ("fastapi", "uvicorn", "httpx", "av", "limits", "prometheus_client"):
        pytest.importorskip(module)
    sync_api = pytest.importorskip("playwright.sync_api")
    chromium = os.environ.get("TTSENGINE_CHROMIUM", "/usr/bin/chromium")
    if not (os.path.isfile(chromium) and os.access(chromium, os.X_OK)):
        if os.environ.get("TTSENGINE_REQUIRE_BROWSER", "") == "1":
            pytest.fail(f"no Chromium at {chromium}")
        pytest.skip(f"no Chromium at {chromium}")
    from ttsengine import Synthesizer
    from ttsengine.server import ServerConfig
    from ttsengine.server.background import serve_in_thread

    synth = Synthesizer(info_voice, device="cpu", backend="torch")
    with serve_in_thread(ServerConfig(synthesizer=synth, rate=None), timeout=120) as (url, _), \
            sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium, headless=True, timeout=60_000,
                                             args=["--headless", "--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page()
            errors: list[str] = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            page.goto(url)
            page.wait_for_selector("#voice option", state="attached", timeout=60_000)
            options = page.eval_on_selector_all("#voice option", "os => os.map(o => [o.value, o.text, o.selected])")
        finally:
            browser.close()
    assert errors == []
    assert options == [["af_a", "af_a (en-us, zh)", False], ["am_b", "am_b (en-us, zh)", False],
                       ["zf_c", "zf_c (zh, en-us)", True]]

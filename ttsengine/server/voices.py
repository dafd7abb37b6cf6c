"""OpenAI's voice and model names, mapped to this server's voice; who speaks a request's
voice (:func:`resolve_target`, shared by the HTTP routes and the WebSocket)."""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

from ..errors import InvalidInputError

__all__ = ["OPENAI_VOICES", "OPENAI_FEMALE", "OPENAI_MALE", "OPENAI_MODELS", "Target", "alias_table",
           "check_aliases", "resolve_target", "resolve_voice"]

#: The voices OpenAI's speech API lists (tts-1 / tts-1-hd / gpt-4o-mini-tts).
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
                 "verse", "marin", "cedar")
#: OpenAI's voices by how they sound, for voices whose ``speaker_info`` gives genders
#: (``alloy``, neutral, goes to the voice's default speaker).
OPENAI_FEMALE = ("coral", "nova", "shimmer", "sage", "ballad", "marin")
OPENAI_MALE = ("ash", "echo", "onyx", "fable", "verse", "cedar")
#: OpenAI's speech model names; all run this server's one voice.
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


def alias_table(speakers: Mapping[str, int], configured: Mapping[str, Any] | None,
                speaker_info: Mapping[str, Mapping[str, Any]] | None = None,
                default: str | None = None) -> dict[str, Any]:
    """OpenAI voice name -> speaker (name or id). ``configured`` (``--voice-alias``) wins;
    an OpenAI name that is one of the voice's own speaker names is left to that speaker.

    When ``speaker_info`` (voice.json's section: speaker name -> ``{"gender": ...}``) gives
    some speaker a gender, OpenAI's voices go by how they sound: the female-sounding ones
    (:data:`OPENAI_FEMALE`: coral, nova, shimmer, sage, ballad, marin) to the female speakers
    in turn (by id order: coral the first, nova the second, ...), the male-sounding ones
    (:data:`OPENAI_MALE`: ash, echo, onyx, fable, verse, cedar) to the male speakers in turn,
    and ``alloy`` to ``default`` (the voice's default speaker; the first by id if not given).
    A gender no speaker has leaves its OpenAI names to the round-robin below.

    Otherwise (no ``speaker_info``, or no genders in it) OpenAI's names go to the voice's
    speakers in turn (by id order, in :data:`OPENAI_VOICES`'s order), so ``alloy`` is the
    first speaker, ``ash`` the second, ... (one speaker: all of them)."""
    ordered = sorted(speakers, key=lambda name: speakers[name])
    info = speaker_info or {}
    by_gender = {gender: [name for name in ordered if dict(info.get(name) or {}).get("gender") == gender]
                 for gender in ("female", "male")}
    gendered = any(by_gender.values())
    table: dict[str, Any] = {}
    for index, name in enumerate(OPENAI_VOICES):
        if name in speakers or not ordered:
            continue
        table[name] = ordered[index % len(ordered)]
        if not gendered:
            continue
        if name == "alloy":
            table[name] = default if default in speakers else ordered[0]
        for gender, names in (("female", OPENAI_FEMALE), ("male", OPENAI_MALE)):
            if name in names and by_gender[gender]:
                group = by_gender[gender]
                table[name] = group[names.index(name) % len(group)]
    table.update(configured or {})
    return table


def resolve_voice(voice: Any, speakers: Mapping[str, int], aliases: Mapping[str, Any]) -> Any:
    """The speaker a request's ``voice`` means: the voice's own speaker names and ids first,
    then the aliases (case-insensitive); anything else is returned for the voice to refuse."""
    if isinstance(voice, str) and voice not in speakers:
        alias = aliases.get(voice, aliases.get(voice.strip().lower()))
        if alias is not None:
            return alias
    return voice


class Target(NamedTuple):
    """Who speaks a request: the Synthesizer, its batcher and the speaker id in its voice."""

    synth: Any
    batcher: Any
    speaker: int


def resolve_target(state: Mapping[str, Any], voice: Any) -> Target:
    """Who speaks a request's ``voice`` on an app whose run-time ``state`` (``ServerContext.state``)
    is given: a voice enrolled over HTTP (its own Synthesizer and batcher), else a speaker of
    the served voice (name or id) or an OpenAI voice name (:func:`resolve_voice`).

    Raises:
        InvalidInputError: no one speaks ``voice``.
    """
    enrollment = state.get("enrollment")
    enrolled = enrollment.voice(voice) if enrollment is not None else None
    if enrolled is not None:
        return Target(enrolled.synth, enrolled.batcher, enrolled.synth.voice.speaker_id(enrolled.name))
    synth = state["synth"]
    return Target(synth, state["batcher"],
                  synth.voice.speaker_id(resolve_voice(voice, synth.voice.speakers, state["aliases"])))


def check_aliases(synth: Any, configured: Mapping[str, Any] | None) -> dict[str, Any]:
    """:func:`alias_table` for ``synth``'s voice; InvalidInputError naming a configured
    alias whose speaker the voice does not have."""
    voice = synth.voice
    infos = getattr(voice, "speaker_infos", None)
    default = None
    if infos:  # the default speaker matters only to the mapping by gender (alloy)
        default_id = voice.speaker_id(None)
        default = next((name for name, sid in voice.speakers.items() if sid == default_id), None)
    table = alias_table(voice.speakers, configured, infos, default)
    for name, target in (configured or {}).items():
        try:
            synth.voice.speaker_id(target)
        except InvalidInputError as exc:
            raise InvalidInputError(f"voice alias {name!r}: {exc}") from None
    return table

"""OpenAI's voice and model names, mapped to this server's voice."""

from __future__ import annotations

from typing import Any, Mapping

__all__ = ["OPENAI_VOICES", "OPENAI_MODELS", "alias_table", "check_aliases", "resolve_voice"]

#: The voices OpenAI's speech API lists (tts-1 / tts-1-hd / gpt-4o-mini-tts).
OPENAI_VOICES = ("alloy", "ash", "ballad", "coral", "echo", "fable", "onyx", "nova", "sage", "shimmer",
                 "verse", "marin", "cedar")
#: OpenAI's speech model names; all run this server's one voice.
OPENAI_MODELS = ("tts-1", "tts-1-hd", "gpt-4o-mini-tts")


def alias_table(speakers: Mapping[str, int], configured: Mapping[str, Any] | None) -> dict[str, Any]:
    """OpenAI voice name -> speaker (name or id). ``configured`` (``--voice-alias``) wins;
    other OpenAI names go to the voice's speakers in turn (by id order), so ``alloy`` is
    the first speaker, ``ash`` the second, ... (one speaker: all of them)."""
    ordered = sorted(speakers, key=lambda name: speakers[name])
    table: dict[str, Any] = {}
    for index, name in enumerate(OPENAI_VOICES):
        if name not in speakers and ordered:
            table[name] = ordered[index % len(ordered)]
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


def check_aliases(synth: Any, configured: Mapping[str, Any] | None) -> dict[str, Any]:
    """:func:`alias_table` for ``synth``'s voice; InvalidInputError naming a configured
    alias whose speaker the voice does not have."""
    from ..errors import InvalidInputError

    table = alias_table(synth.voice.speakers, configured)
    for name, target in (configured or {}).items():
        try:
            synth.voice.speaker_id(target)
        except InvalidInputError as exc:
            raise InvalidInputError(f"voice alias {name!r}: {exc}") from None
    return table

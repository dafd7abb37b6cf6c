"""The server's request models, limits and error shape (OpenAI's)."""

from __future__ import annotations

import json
from typing import Annotated, Any, Literal, Optional, Union

from fastapi import Request
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

__all__ = ["SpeechRequest", "CloneRequest", "JSONRoute", "error", "sse", "words_json", "OPENAI_RATE", "MAX_BODY_BYTES",
           "RETRY_AFTER_QUEUE_S", "BUSY_TEXT", "LIMITED_PATHS", "PROTECTED_PREFIXES", "ENROLL_PATH", "ENROLL_FORM_SLACK"]

#: OpenAI's speech endpoint returns 24 kHz audio (``pcm`` is defined as 24 kHz).
OPENAI_RATE = 24000
BUSY_TEXT = "Please try again later."
RETRY_AFTER_QUEUE_S = 1
#: Largest request body read (4096 characters of input, each escaped as \\uXXXX, fit 8 times).
MAX_BODY_BYTES = 64 * 1024
LIMITED_PATHS = ("/v1/audio/speech", "/clone", "/v1/audio/speech/captioned", "/v1/voices")
#: The enrollment upload (its body limit: ``ServerConfig.enroll_max_total_bytes`` + ENROLL_FORM_SLACK).
ENROLL_PATH = "/v1/voices"
#: Room in an enrollment body for its multipart headers, name and transcripts.
ENROLL_FORM_SLACK = 1024 * 1024
PROTECTED_PREFIXES = ("/v1/", "/clone")


def _not_bool(value: Any) -> Any:
    """JSON true / false are not numbers (pydantic would read them as 1 / 0)."""
    if isinstance(value, bool):
        raise ValueError("must not be a boolean (true / false)")
    return value


#: A number (or a speaker id) field that refuses true / false.
NoBool = BeforeValidator(_not_bool)


def _strict_bool(value: Any) -> Any:
    """Only JSON true / false (pydantic would also take "yes", 1, ...)."""
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _voice_id(value: Any) -> Any:
    """OpenAI's voice object ``{"id": "alloy"}`` is its id; true / false are refused."""
    if isinstance(value, dict):
        if set(value) != {"id"}:
            raise ValueError('a voice object must be {"id": VOICE}')
        value = value["id"]
    return _not_bool(value)


class SpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: Optional[str] = None
    input: str = Field(min_length=1, max_length=4096)
    voice: Annotated[Optional[Union[str, int]], BeforeValidator(_voice_id)] = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, NoBool] = Field(default=1.0, ge=0.25, le=4.0)
    instructions: Optional[str] = None
    stream_format: Literal["audio", "sse"] = "audio"
    #: ttsengine's extension: false answers the whole file at once (from a cross-request
    #: batch) instead of streaming it as it is made (OpenAI's behaviour, the default).
    stream: Annotated[bool, BeforeValidator(_strict_bool)] = True


class CloneRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    text: str = Field(min_length=1, max_length=500)
    spk_id: Annotated[Union[int, str], NoBool] = 0


def error(status: int, message: str, type_: str = "invalid_request_error", param: str | None = None,
          code: str | None = None, headers: dict[str, str] | None = None) -> JSONResponse:
    """An error response in OpenAI's shape: ``{"error": {message, type, param, code}}``."""
    body = {"error": {"message": message, "type": type_, "param": param, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def words_json(words: Any, offset: float = 0.0) -> list[dict[str, Any]]:
    """:class:`~ttsengine.Word` s as JSON objects (times rounded to ms, ``offset`` added)."""
    return [{"text": w.text, "start": round(w.start + offset, 3), "end": round(w.end + offset, 3)} for w in words]


def sse(event: dict[str, Any]) -> bytes:
    """One server-sent event: a ``data:`` line of JSON and a blank line."""
    return b"data: " + json.dumps(event, separators=(",", ":")).encode() + b"\n\n"


#: Python's int() limit on digits (sys.get_int_max_str_digits default).
MAX_INT_DIGITS = 4300


def _parse_int(text: str) -> Any:
    """A JSON integer; one of more than MAX_INT_DIGITS digits (which ``int()`` refuses) is
    kept as its digits, so the field that holds it is the one refused, by name."""
    if len(text) > MAX_INT_DIGITS:
        return text
    return int(text)


class _JSONRequest(Request):
    async def json(self) -> Any:
        if not hasattr(self, "_json"):
            self._json = json.loads(await self.body(), parse_int=_parse_int)
        return self._json


class JSONRoute(APIRoute):
    """A route whose JSON body takes integers of any length (see :func:`_parse_int`)."""

    def get_route_handler(self) -> Any:
        handler = super().get_route_handler()

        async def route_handler(request: Request) -> Any:
            return await handler(_JSONRequest(request.scope, request.receive))

        return route_handler

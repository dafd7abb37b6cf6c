"""``POST /v1/audio/speech/captioned``: the audio (base64) and its word timings, as JSON.

The request is OpenAI's speech request (``model``, ``input``, ``voice``, ``response_format``,
``speed``); the answer is ``{"audio": base64, "format", "sample_rate", "words": [{"text",
"start", "end"}]}`` with times in seconds from the start of the audio. Requests join the
server's batches. Auth and the body limit are the app's gate (the path is under ``/v1/``).
"""

from __future__ import annotations

import asyncio
import base64
from typing import Annotated, Any, Literal, Optional, Union

from fastapi import APIRouter
from fastapi.responses import JSONResponse
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field

from ..errors import InvalidInputError, TTSEngineError
from .batcher import QueueFull
from .encode import encode

__all__ = ["CaptionedSpeechRequest", "router", "words_json"]

#: Output rate of the OpenAI-shaped endpoints (``pcm`` is defined as 24 kHz).
OPENAI_RATE = 24000
RETRY_AFTER_S = 1


def _not_bool(value: Any) -> Any:
    if isinstance(value, bool):
        raise ValueError("must not be a boolean (true / false)")
    return value


class CaptionedSpeechRequest(BaseModel):
    model_config = ConfigDict(extra="ignore")

    model: Optional[str] = None
    input: str = Field(min_length=1, max_length=4096)
    voice: Annotated[Optional[Union[str, int]], BeforeValidator(_not_bool)] = None
    response_format: Literal["mp3", "opus", "aac", "flac", "wav", "pcm"] = "mp3"
    speed: Annotated[float, BeforeValidator(_not_bool)] = Field(default=1.0, ge=0.25, le=4.0)


def words_json(words: Any, offset: float = 0.0) -> list[dict[str, Any]]:
    """:class:`~ttsengine.Word` s as JSON objects (times rounded to ms, ``offset`` added)."""
    return [{"text": w.text, "start": round(w.start + offset, 3), "end": round(w.end + offset, 3)} for w in words]


def _error(status: int, message: str, code: str, type_: str = "invalid_request_error",
           headers: dict[str, str] | None = None) -> JSONResponse:
    body = {"error": {"message": message, "type": type_, "param": None, "code": code}}
    return JSONResponse(body, status_code=status, headers=headers)


def router(state: dict[str, Any], metrics: Any = None) -> APIRouter:
    """The captioned-speech route over the app's ``state`` (its ``synth`` and ``batcher``)."""
    api = APIRouter()

    @api.post("/v1/audio/speech/captioned")
    async def captioned(body: CaptionedSpeechRequest):
        synth, batcher = state.get("synth"), state.get("batcher")
        if synth is None or batcher is None:
            return _error(503, "the voice is not loaded yet", "not_ready", "server_error",
                          {"Retry-After": str(RETRY_AFTER_S)})
        try:
            speaker = synth.voice.speaker_id(body.voice)
            audio = await batcher.submit(body.input, speaker=speaker, speed=body.speed, sample_rate=OPENAI_RATE)
        except QueueFull:
            return _error(503, "the server is busy; retry later", "queue_full", "server_error",
                          {"Retry-After": str(RETRY_AFTER_S)})
        except InvalidInputError as exc:
            return _error(400, str(exc), "invalid_value")
        except TTSEngineError as exc:
            return _error(500, f"synthesis failed: {exc}", "synthesis_failed", "server_error")
        if metrics is not None:
            metrics.audio_seconds.inc(audio.duration)
        data, _ = await asyncio.to_thread(encode, audio, body.response_format)
        return {"audio": base64.b64encode(data).decode(), "format": body.response_format,
                "sample_rate": audio.sample_rate, "words": words_json(audio.words)}

    return api

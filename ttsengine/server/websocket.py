"""``WS /v1/audio/speech/ws``: text streamed in (e.g. from an LLM), audio streamed out.

Client -> server, JSON text frames: an optional first ``{"voice", "speed",
"response_format": "pcm"}``, then ``{"text": "..."}`` pieces; ``{"text": ""}`` ends the
input, ``{"flush": true}`` (alone or beside ``text``) synthesizes what is buffered now.

Server -> client: binary frames of PCM16 little-endian mono at the voice's rate, sent as
soon as each sentence (or a clause of a long one) is complete and synthesized chunk by
chunk; ``{"type": "words", "words": [{"text", "start", "end"}]}`` before the audio of those
words (seconds from the start of the connection's audio); ``{"type": "done"}`` last. A
problem is one ``{"type": "error", "error": {"message", "code"}}`` frame, then a close
with a WebSocket code (1008 policy: auth, idle, limits; 1003 unsupported data; 1007 bad
input; 1011 server error; 1013 busy).

Limits per connection: ``MAX_TEXT_CHARS`` of text in all, ``MAX_FRAME_CHARS`` per frame,
``IDLE_TIMEOUT_S`` between client frames, ``MAX_PENDING`` sentences waiting for synthesis
(beyond it the server stops reading: backpressure). When the server has API keys, the app's
gate (:mod:`ttsengine.server.middleware`) wants one, as ``Authorization: Bearer <key>`` or
``?api_key=<key>`` (browsers), compared in constant time, and counts the connection against
the key's (or address's) rate limit; otherwise the handshake is refused (close 1008).
"""

from __future__ import annotations

import asyncio
import functools
import json
import logging
import re
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect

from ..errors import InvalidInputError
from ..frontend.split import _NEVER_END
from .protocol import words_json
from .voices import Target, resolve_target

__all__ = ["router", "complete_prefix", "MAX_TEXT_CHARS", "IDLE_TIMEOUT_S"]

logger = logging.getLogger("ttsengine")

MAX_TEXT_CHARS = 100_000
MAX_FRAME_CHARS = 16_384
IDLE_TIMEOUT_S = 30.0
MAX_PENDING = 4
#: A sentence longer than this is cut at its last clause mark (, ; :) to start sooner.
CLAUSE_CHARS = 160
_END_RE = re.compile(r"[.!?…]+[\"'”’)\]]*")
_CLAUSE_RE = re.compile(r"[,;:—](?=\s)")


def _ends_sentence(before: str, terminator: str) -> bool:
    """Whether a terminator after ``before`` ends a sentence (not "Dr." nor "J." nor "3.")."""
    if terminator[0] in "!?":
        return True
    word = re.search(r"([A-Za-z]+)[\"'”’)\]]*$", before)
    if word is None:
        return False  # "3." may be "3.5"
    return len(word.group(1)) > 1 and word.group(1).lower() not in _NEVER_END


def complete_prefix(buffer: str, force: bool = False) -> int:
    """Length of the complete sentences at the start of ``buffer`` (0: none yet): up to the
    last sentence end followed by white space or ending the buffer, except after an
    abbreviation, an initial or a number ("Hi there." is complete, "Dr." and "3." wait);
    a sentence longer than CLAUSE_CHARS is cut at its last clause mark. ``force``: all."""
    if force:
        return len(buffer)
    cut = 0
    for m in _END_RE.finditer(buffer):
        if m.end() < len(buffer) and not buffer[m.end()].isspace():
            continue
        if _ends_sentence(buffer[: m.start()], m.group()):
            cut = m.end()
    if len(buffer) - cut > CLAUSE_CHARS:
        clauses = [m.end() for m in _CLAUSE_RE.finditer(buffer, cut)]
        if clauses:
            cut = clauses[-1]
    return cut


class _Closing(Exception):
    """Ends the connection: an error frame (unless ``code`` is None) and a close code."""

    def __init__(self, close: int, message: str, code: str | None) -> None:
        super().__init__(message)
        self.close, self.message, self.code = close, message, code




def router(state: dict[str, Any], metrics: Any = None) -> APIRouter:
    """The WebSocket route over the app's ``state`` (``synth``, ``batcher``, ``stream_pool``).
    API keys and rate limits are the app's gate's (:mod:`ttsengine.server.middleware`)."""
    api = APIRouter()

    @api.websocket("/v1/audio/speech/ws")
    async def speech_ws(websocket: WebSocket) -> None:
        await websocket.accept()
        synth, batcher = state.get("synth"), state.get("batcher")
        slot: dict[str, Any] = {"batcher": None}  # the batcher whose queue slot the connection holds
        try:
            if synth is None or batcher is None or not batcher.try_reserve():
                raise _Closing(1013, "the server is busy or not ready; retry later", "busy")
            slot["batcher"] = batcher
            await _session(websocket, state, Target(synth, batcher, synth.voice.speaker_id(None)), slot, metrics)
        except _Closing as exc:
            await _close(websocket, exc)
        except (WebSocketDisconnect, OSError):
            pass  # the client left (uvicorn raises ClientDisconnected, an OSError, on a send after that)
        except Exception as exc:  # a bug: say so, then close as a server error
            logger.exception("websocket synthesis failed")
            await _close(websocket, _Closing(1011, f"internal error: {type(exc).__name__}", "internal_error"))
        finally:
            if slot["batcher"] is not None:
                slot["batcher"].release()

    return api


async def _close(websocket: WebSocket, exc: _Closing) -> None:
    try:
        if exc.code is not None:
            await websocket.send_json({"type": "error", "error": {"message": exc.message, "code": exc.code}})
        await websocket.close(code=exc.close)
    except (WebSocketDisconnect, RuntimeError):
        pass  # the client is gone already


async def _session(websocket: WebSocket, state: dict[str, Any], target: Target, slot: dict[str, Any],
                   metrics: Any) -> None:
    """Reads text frames, synthesizes complete sentences while more text arrives; ``target``:
    who speaks until the first frame names a voice; ``slot``: the queue slot held."""
    pending: asyncio.Queue[str | None] = asyncio.Queue(MAX_PENDING)
    options: dict[str, Any] = {"target": target, "speed": None}
    speaker_task = asyncio.create_task(_speak(websocket, state.get("stream_pool"), pending, options, metrics))
    reader_task = asyncio.create_task(_read(websocket, state, slot, pending, options))
    try:
        done, _ = await asyncio.wait({speaker_task, reader_task}, return_when=asyncio.FIRST_EXCEPTION)
        for task in done:
            task.result()  # re-raises a failure of either side
        await speaker_task
    finally:
        for task in (speaker_task, reader_task):
            task.cancel()
    await websocket.send_json({"type": "done"})
    await websocket.close(code=1000)


async def _read(websocket: WebSocket, state: dict[str, Any], slot: dict[str, Any], pending: asyncio.Queue,
                options: dict[str, Any]) -> None:
    buffer, total, first = "", 0, True
    while True:
        try:
            message = await asyncio.wait_for(websocket.receive(), IDLE_TIMEOUT_S)
        except asyncio.TimeoutError:
            raise _Closing(1008, f"no message for {IDLE_TIMEOUT_S:g} s", "idle_timeout") from None
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        raw = message.get("text")
        if raw is None:
            raise _Closing(1003, "send JSON text frames, not binary", "unsupported_data")
        if len(raw) > MAX_FRAME_CHARS:
            raise _Closing(1009, f"a frame is over {MAX_FRAME_CHARS} characters", "frame_too_large")
        try:
            data = json.loads(raw)
        except ValueError:
            raise _Closing(1007, "a frame is not JSON", "invalid_json") from None
        if not isinstance(data, dict):
            raise _Closing(1007, "a frame must be a JSON object", "invalid_value")
        if first and "text" not in data and "flush" not in data:
            _configure(state, slot, data, options)
            first = False
            continue
        first = False
        text = data.get("text")
        if text is not None and not isinstance(text, str):
            raise _Closing(1007, "'text' must be a string", "invalid_value")
        flush = data.get("flush", False)
        if not isinstance(flush, bool):
            raise _Closing(1007, "'flush' must be true or false", "invalid_value")
        end = text == ""
        if text:
            total += len(text)
            if total > MAX_TEXT_CHARS:
                raise _Closing(1008, f"more than {MAX_TEXT_CHARS} characters of text", "text_too_long")
            buffer += text
        cut = complete_prefix(buffer, force=flush or end)
        if cut:
            sentence, buffer = buffer[:cut], buffer[cut:]
            if sentence.strip():
                await pending.put(sentence)  # waits while MAX_PENDING sentences wait: backpressure
        if end:
            await pending.put(None)
            return


def _configure(state: dict[str, Any], slot: dict[str, Any], data: dict[str, Any], options: dict[str, Any]) -> None:
    """The first frame's options. ``voice`` is resolved as the HTTP routes resolve it
    (:func:`~ttsengine.server.voices.resolve_target`: a voice enrolled over HTTP too, with the
    same ``invalid_voice`` error); a voice with a batcher of its own takes the connection's
    queue slot there."""
    unknown = set(data) - {"voice", "speed", "response_format", "model"}
    if unknown:
        raise _Closing(1007, f"unknown fields in the first frame: {sorted(unknown)}", "invalid_value")
    if data.get("response_format", "pcm") != "pcm":
        raise _Closing(1007, "response_format must be 'pcm'", "invalid_value")
    if "voice" in data:
        try:
            target = resolve_target(state, data["voice"])
        except InvalidInputError as exc:
            raise _Closing(1007, str(exc), "invalid_voice") from None
        if target.batcher is not slot["batcher"]:
            if target.batcher is None or not target.batcher.try_reserve():
                raise _Closing(1013, "the voice is busy or not ready; retry later", "busy")
            slot["batcher"].release()
            slot["batcher"] = target.batcher
        options["target"] = target
    if "speed" in data:
        target = options["target"]
        try:
            options["speed"] = target.synth._options(target.speaker, data["speed"], None)[1]
        except InvalidInputError as exc:
            raise _Closing(1007, str(exc), "invalid_value") from None


async def _speak(websocket: WebSocket, pool: Any, pending: asyncio.Queue, options: dict[str, Any],
                 metrics: Any) -> None:
    """Synthesizes queued sentences in order, sending words and PCM as chunks are made."""
    loop = asyncio.get_running_loop()
    offset = 0.0  # seconds of audio sent before the current sentence
    while True:
        sentence = await pending.get()
        if sentence is None:
            return
        synth, speaker = options["target"].synth, options["target"].speaker
        try:
            chunks = await loop.run_in_executor(pool, functools.partial(
                synth.synthesize_stream, sentence, speaker=speaker, speed=options["speed"]))
        except InvalidInputError as exc:
            if "no speakable" in str(exc) or "empty" in str(exc):
                continue  # punctuation only: nothing to say
            raise _Closing(1007, str(exc), "invalid_value") from None
        try:
            sent = 0.0
            while True:
                chunk = await loop.run_in_executor(pool, next, chunks, None)
                if chunk is None:
                    break
                if chunk.words:
                    await websocket.send_json({"type": "words", "words": words_json(chunk.words, offset)})
                await websocket.send_bytes(chunk.to_pcm16().astype("<i2").tobytes())
                sent += chunk.duration
                if metrics is not None:
                    metrics.audio_seconds.inc(chunk.duration)
            offset += sent
        finally:
            await loop.run_in_executor(pool, chunks.close)

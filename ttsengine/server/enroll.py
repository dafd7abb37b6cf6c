"""Voice enrollment over HTTP: a new speaker cloned from uploaded recordings, served at once.

``POST /v1/voices`` (multipart): ``name`` (the new speaker's name), one or more audio files
(field ``files``, or ``file``), and their transcripts: one ``transcript`` field per file in
the same order, or ``transcripts``: a JSON array (same order) or object (file name ->
text). Without transcripts the recordings are transcribed by
``ttsengine.training.transcribe.transcribe`` where that is installed (:data:`TRANSCRIBER`);
elsewhere: 422. Answer: 202 and the job (``Location: /v1/voices/jobs/{id}``).

``GET /v1/voices/jobs/{id}``: ``state`` (queued, running, succeeded, failed), ``progress``
0..1, ``eta_seconds`` (null until training has timed a few steps), ``stage``, ``warnings``
(noisy, clipped or unused recordings, little speech), ``error``, ``transcripts`` (when
transcribed, for review). ``succeeded`` means the speaker answers now: it is listed by
``/v1/audio/voices`` (``"enrolled": true``) and is a ``voice`` of ``/v1/audio/speech``
and ``/clone``.

``DELETE /v1/voices/{name}``: removes a speaker enrolled this way (its bundle too); the
base voice's speakers and OpenAI's names are refused (403), a name being enrolled: 409.

One job at a time: a POST while a job is queued or running is answered 409 (the running
job's id in the message); nothing is queued. Limits: ``ServerConfig.enroll_max_files``,
``enroll_max_file_bytes``, ``enroll_max_total_bytes`` (the whole body; 413). The routes
are behind the same API keys as the rest of ``/v1``; POSTs count against the rate limit.

Where: each job runs :func:`ttsengine.training.clone.clone_voice` on the served voice (the
base) in a process of its own (:mod:`.enroll_worker`) at nice 19 with one torch thread, so
it takes at most one core, and on a core that synthesis wants, about 1.5 % of it (Linux's
CFS weights nice 19 against nice 0 as 15 to 1024). The clone is written to
``voices_dir/<name>/`` and loaded beside the base voice (a Synthesizer and a batcher of its
own: its memory is that of one more voice); the base voice's speakers are not touched.
Enrolled voices in ``voices_dir`` are served again after a restart.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import shutil
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from starlette.datastructures import UploadFile

from ..errors import InvalidInputError
from .context import ServerContext, get_context
from .enroll_worker import load_callable
from .protocol import error
from .voices import OPENAI_VOICES

__all__ = ["Enrollment", "EnrolledVoice", "Job", "TRANSCRIBER", "find_transcriber", "MARKER", "NAME_PATTERN",
           "enroll_router"]

logger = logging.getLogger("ttsengine")

#: The transcription function tried when a POST has no transcripts ("module:function",
#: called as ``transcribe(paths) -> list[str]`` in the job's process).
TRANSCRIBER = "ttsengine.training.transcribe:transcribe"
#: Written into each enrolled bundle: what marks a voice of ``voices_dir`` as enrolled.
MARKER = "enrollment.json"
#: A speaker name: a letter or digit, then letters, digits, "_", "-" (64 at most).
NAME_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
#: Finished jobs remembered (oldest forgotten first).
KEEP_JOBS = 100
#: Longest a DELETE waits for the requests already queued for the voice.
DRAIN_S = 30.0


def find_transcriber(spec: str | None = None) -> str | None:
    """``spec`` (default :data:`TRANSCRIBER`) if that function can be imported here, else None."""
    spec = spec or TRANSCRIBER
    try:
        found = load_callable(spec)
    except (ImportError, AttributeError):
        return None
    except Exception:  # noqa: BLE001 - a transcriber module that fails to import is absent
        logger.warning("cannot import the transcriber %s", spec, exc_info=True)
        return None
    return spec if callable(found) else None


@dataclass
class Job:
    """One enrollment job (its JSON: :meth:`to_json`)."""

    id: str
    name: str
    files: int
    state: str = "queued"
    stage: str = "queued"
    progress: float = 0.0
    eta_seconds: float | None = None
    warnings: list[str] = field(default_factory=list)
    error: str | None = None
    transcripts: list[str] | None = None
    #: saved file name -> the client's file name (warnings name the client's)
    sources: dict[str, str] = field(default_factory=dict)
    created: float = field(default_factory=time.time)
    started: float | None = None
    finished: float | None = None
    worker: dict[str, Any] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.state in ("queued", "running")

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "object": "voice.enrollment", "name": self.name, "state": self.state,
                "stage": self.stage, "progress": round(self.progress, 4),
                "eta_seconds": None if self.eta_seconds is None else round(self.eta_seconds, 1),
                "warnings": list(self.warnings), "error": self.error, "files": self.files,
                "transcripts": self.transcripts, "created": round(self.created, 3),
                "started": None if self.started is None else round(self.started, 3),
                "finished": None if self.finished is None else round(self.finished, 3),
                "worker": dict(self.worker)}


@dataclass
class EnrolledVoice:
    """A speaker enrolled over HTTP: its bundle, Synthesizer and batcher."""

    name: str
    path: Path
    synth: Any
    batcher: Any


class Enrollment:
    """The enrolled voices and enrollment jobs of one app (``state["enrollment"]``).

    ``load``: ``path -> Synthesizer``; ``make_batcher``: ``synth -> started Batcher`` (both
    called on the event loop's side: ``load`` in a thread)."""

    def __init__(self, config: Any, load: Callable[[Path], Any], make_batcher: Callable[[Any], Any]) -> None:
        self.config = config
        self.root = Path(config.voices_dir)
        self.jobs_root = self.root / ".jobs"
        self.load, self.make_batcher = load, make_batcher
        self.voices: dict[str, EnrolledVoice] = {}
        self.jobs: OrderedDict[str, Job] = OrderedDict()
        self.current: Job | None = None
        self.base_path: Path | None = None
        self._process: Any = None
        self._watch: asyncio.Task | None = None

    # -- life ----------------------------------------------------------------------------
    async def start(self, base_synth: Any) -> None:
        """Loads the voices enrolled earlier; removes what unfinished jobs left."""
        self.base_path = Path(base_synth.voice.path)
        self.root.mkdir(parents=True, exist_ok=True)
        await asyncio.to_thread(shutil.rmtree, self.jobs_root, True)
        for marker in sorted(self.root.glob(f"*/{MARKER}")):
            path = marker.parent
            try:
                name = json.loads(marker.read_text(encoding="utf-8"))["name"]
                if name in base_synth.voice.speakers or name != path.name:
                    raise InvalidInputError(f"{name!r} is a speaker of the served voice or not the folder's name")
                await self._serve(name, path)
            except Exception:  # noqa: BLE001 - one broken bundle does not stop the server
                logger.warning("not serving the enrolled voice in %s", path, exc_info=True)

    async def stop(self) -> None:
        process = self._process
        if process is not None and process.is_alive():
            process.terminate()
            await asyncio.to_thread(process.join, 10)
        if self._watch is not None:
            self._watch.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._watch
        if self.current is not None and self.current.active:
            self._fail(self.current, "the server stopped")
        for voice in list(self.voices.values()):
            await voice.batcher.stop()
        self.voices.clear()

    async def _serve(self, name: str, path: Path) -> None:
        synth = await asyncio.to_thread(self.load, path)
        if name not in synth.voice.speakers:
            raise InvalidInputError(f"{path} has no speaker {name!r}")
        self.voices[name] = EnrolledVoice(name, path, synth, self.make_batcher(synth))

    # -- queries ---------------------------------------------------------------------------
    def voice(self, name: Any) -> EnrolledVoice | None:
        return self.voices.get(name) if isinstance(name, str) else None

    def job(self, job_id: str) -> Job | None:
        return self.jobs.get(job_id)

    @property
    def busy(self) -> Job | None:
        return self.current if self.current is not None and self.current.active else None

    # -- jobs ------------------------------------------------------------------------------
    def new_job(self, name: str, files: int) -> tuple[Job, Path]:
        """A queued job for ``name`` and the empty folder its uploads go to (the caller
        checked that no job runs: nothing awaits between that check and this call)."""
        job = Job(id="enroll_" + uuid.uuid4().hex[:24], name=name, files=files)
        self.current = job
        self.jobs[job.id] = job
        while len(self.jobs) > KEEP_JOBS:
            oldest = next(iter(self.jobs))
            if self.jobs[oldest].active:
                break
            del self.jobs[oldest]
        data = self.jobs_root / job.id / "data"
        data.mkdir(parents=True, exist_ok=True)
        return job, data

    async def launch(self, job: Job, files: list[Path], transcripts: list[str] | None,
                     transcriber: str | None) -> None:
        """Starts ``job``'s process and the task that follows it."""
        import multiprocessing

        from .enroll_worker import run_job

        spec = {"name": job.name, "base_voice": str(self.base_path), "files": [str(p) for p in files],
                "transcripts": transcripts, "transcriber": transcriber,
                "out_dir": str(self.jobs_root / job.id / "voice"), "device": self.config.enroll_device,
                "options": {"steps": self.config.enroll_steps, **(self.config.enroll_options or {})}}
        context = multiprocessing.get_context("spawn")
        receiver, sender = context.Pipe(duplex=False)
        process = context.Process(target=run_job, args=(sender, spec), name=f"ttsengine-enroll-{job.id}",
                                  daemon=True)
        try:
            await asyncio.to_thread(process.start)
        except Exception as exc:
            self._fail(job, f"cannot start the job's process: {exc}")
            raise
        finally:
            sender.close()  # the child holds its own end; EOF here once it exits
        self._process = process
        self._watch = asyncio.get_running_loop().create_task(self._follow(job, process, receiver),
                                                             name=f"ttsengine-enroll-{job.id}")

    async def _follow(self, job: Job, process: Any, receiver: Any) -> None:
        done_path: str | None = None
        try:
            while True:
                message = await asyncio.to_thread(_receive, receiver)
                if message is None:
                    break
                kind = message.get("type")
                if kind == "started":
                    job.state, job.stage, job.started = "running", "starting", time.time()
                    job.worker = {k: message[k] for k in ("pid", "nice") if k in message}
                elif kind == "threads":
                    job.worker["threads"] = message["threads"]
                elif kind == "progress":
                    job.state = "running"
                    job.stage, job.progress = message["stage"], min(float(message["fraction"]), 0.99)
                    job.eta_seconds = message.get("eta_seconds")
                    job.warnings = [_source_names(w, job.sources) for w in message.get("warnings") or job.warnings]
                elif kind == "transcripts":
                    job.transcripts = list(message["transcripts"])
                elif kind == "done":
                    done_path = message["path"]
                elif kind == "error":
                    self._fail(job, message["message"])
            await asyncio.to_thread(process.join, 30)
            if job.active and done_path is None:
                self._fail(job, f"the job's process ended without a result (exit code {process.exitcode})")
            if job.active and done_path is not None:
                job.stage = "loading"
                await self._install(job, Path(done_path))
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - the job fails, the server goes on
            logger.exception("enrollment job %s failed", job.id)
            self._fail(job, f"cannot serve the new voice: {exc}")
        finally:
            receiver.close()
            self._process = None
            if not job.active:
                await asyncio.to_thread(shutil.rmtree, self.jobs_root / job.id, True)

    async def _install(self, job: Job, bundle: Path) -> None:
        """Moves the finished bundle to ``voices_dir/<name>``, marks it and serves it."""
        target = self.root / job.name
        if target.exists():  # cannot happen through the API (the name was free at POST)
            raise InvalidInputError(f"{target} exists")
        (bundle / MARKER).write_text(json.dumps({
            "name": job.name, "job": job.id, "created": time.time(), "base_voice": str(self.base_path),
            "warnings": job.warnings, "transcripts": job.transcripts}, indent=2, ensure_ascii=False) + "\n",
            encoding="utf-8")
        await asyncio.to_thread(shutil.move, str(bundle), str(target))
        try:
            await self._serve(job.name, target)
        except Exception:
            await asyncio.to_thread(shutil.rmtree, target, True)
            raise
        job.state, job.stage, job.progress, job.eta_seconds = "succeeded", "done", 1.0, 0.0
        job.finished = time.time()
        logger.info("enrolled voice %r is served (%s)", job.name, target)

    def _fail(self, job: Job, message: str) -> None:
        if job.active:
            job.state, job.error, job.eta_seconds, job.finished = "failed", message, None, time.time()
            logger.warning("enrollment job %s (%s) failed: %s", job.id, job.name, message)

    # -- delete ----------------------------------------------------------------------------
    async def delete(self, name: str) -> None:
        """Stops serving ``name`` (requests already queued for it finish first, for at most
        DRAIN_S seconds) and removes its bundle."""
        voice = self.voices.pop(name)
        deadline = time.monotonic() + DRAIN_S
        while voice.batcher.depth > 0 and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await voice.batcher.stop()
        await asyncio.to_thread(shutil.rmtree, voice.path, True)


def _source_names(warning: str, sources: dict[str, str]) -> str:
    """A warning about a saved file ("003.wav: noisy ...") about the client's file instead."""
    saved, sep, rest = warning.partition(":")
    return f"{sources[saved]}{sep}{rest}" if sep and saved in sources else warning


def _receive(receiver: Any) -> dict[str, Any] | None:
    """The next message of a job's pipe; None once the process has closed it."""
    try:
        return receiver.recv()
    except (EOFError, OSError):
        return None


# -- routes --------------------------------------------------------------------------------
enroll_router = APIRouter()
Context = Depends(get_context)


def _enrollment(ctx: ServerContext) -> Enrollment | JSONResponse:
    enrollment = ctx.state.get("enrollment")
    if enrollment is None:
        return error(403, "voice enrollment is off on this server: start it with --voices-dir DIR "
                          "(ServerConfig.voices_dir)", code="enrollment_off")
    return enrollment


def _busy(job: Job) -> JSONResponse:
    return error(409, f"an enrollment job is under way ({job.id}, voice {job.name!r}); one runs at a time: "
                      f"retry when GET /v1/voices/jobs/{job.id} says it has ended", code="enrollment_busy",
                 headers={"Retry-After": "30"})


def _name_taken(ctx: ServerContext, enrollment: Enrollment, name: str) -> str | None:
    synth = ctx.state["synth"]
    if name in synth.voice.speakers:
        return f"{name!r} is a speaker of the voice {synth.voice.name!r}"
    if name.lower() in OPENAI_VOICES or name in ctx.state["aliases"]:
        return f"{name!r} is an OpenAI voice name on this server"
    if name in enrollment.voices or (enrollment.root / name).exists():
        return f"a voice named {name!r} is already enrolled (DELETE /v1/voices/{name} first)"
    return None


def _transcripts(form: Any, uploads: list[UploadFile]) -> list[str] | None | JSONResponse:
    """The form's transcripts in the order of ``uploads`` (None: none given), or a 400."""
    listed = [v for v in form.getlist("transcript")]
    packed = form.getlist("transcripts")
    if listed and packed:
        return error(400, "send transcripts either as 'transcript' fields or as one 'transcripts' JSON field, "
                          "not both", param="transcripts", code="invalid_value")
    if len(packed) > 1:
        return error(400, "'transcripts' is one JSON field (an array, or an object file name -> text)",
                     param="transcripts", code="invalid_value")
    texts: list[Any]
    if packed:
        try:
            value = json.loads(packed[0]) if isinstance(packed[0], str) else None
        except ValueError:
            value = None
        if isinstance(value, dict):
            names = [u.filename for u in uploads]
            missing = [n for n in names if n not in value]
            if missing or len(set(names)) != len(names):
                return error(400, f"'transcripts' names no text for {missing[0]!r}" if missing else
                             "'transcripts' as an object needs distinct file names", param="transcripts",
                             code="invalid_value")
            texts = [value[n] for n in names]
        elif isinstance(value, list):
            texts = value
        else:
            return error(400, "'transcripts' must be a JSON array of strings (one per file, same order) or an "
                              "object file name -> text", param="transcripts", code="invalid_value")
    elif listed:
        texts = listed
    else:
        return None
    if len(texts) != len(uploads):
        return error(400, f"{len(texts)} transcripts for {len(uploads)} files: one per file, in the same order",
                     param="transcripts", code="invalid_value")
    for index, text in enumerate(texts):
        if not isinstance(text, str) or not text.strip():
            return error(400, f"transcript {index + 1} ({uploads[index].filename!r}) is empty or not text",
                         param="transcripts", code="invalid_value")
    return [" ".join(t.split()) for t in texts]


def _audio_format(upload: UploadFile) -> str:
    """The upload's audio format as a suffix ("wav", "flac", ...); InvalidInputError if
    soundfile cannot read it (runs on a thread)."""
    import soundfile as sf

    upload.file.seek(0)
    try:
        info = sf.info(upload.file)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise InvalidInputError(f"{upload.filename!r} is not audio this server reads (WAV, FLAC, OGG, MP3): "
                                f"{str(exc).splitlines()[0][:120]}") from None
    finally:
        upload.file.seek(0)
    if info.frames <= 0:
        raise InvalidInputError(f"{upload.filename!r} holds no audio")
    return str(info.format).lower()


def _save(uploads: list[UploadFile], formats: list[str], folder: Path) -> list[Path]:
    paths = []
    for index, (upload, suffix) in enumerate(zip(uploads, formats)):
        path = folder / f"{index:03d}.{suffix}"
        upload.file.seek(0)
        with open(path, "wb") as out:
            shutil.copyfileobj(upload.file, out, 1 << 20)
        paths.append(path)
    return paths


@enroll_router.post("/v1/voices", status_code=202)
async def enroll(request: Request, ctx: ServerContext = Context):
    """Starts an enrollment job (module docstring); 202 and the job."""
    enrollment = _enrollment(ctx)
    if isinstance(enrollment, JSONResponse):
        return enrollment
    if ctx.state["synth"] is None:
        return error(503, "the voice is not loaded yet", type_="server_error", code="not_ready")
    if enrollment.busy is not None:
        return _busy(enrollment.busy)
    config = ctx.config
    async with request.form(max_files=config.enroll_max_files + 1,
                            max_fields=2 * config.enroll_max_files + 16) as form:
        name = form.get("name")
        if not isinstance(name, str) or not NAME_PATTERN.fullmatch(name.strip()):
            return error(400, "'name' must be 1 to 64 letters, digits, '_' or '-' (starting with a letter or digit)",
                         param="name", code="invalid_value")
        name = name.strip()
        if (taken := _name_taken(ctx, enrollment, name)) is not None:
            return error(409, taken, param="name", code="name_taken")
        uploads = [v for key, v in form.multi_items() if isinstance(v, UploadFile)]
        stray = sorted({key for key, v in form.multi_items() if isinstance(v, UploadFile)} - {"files", "file"})
        if stray:
            return error(400, f"files go in 'files' fields, not {stray[0]!r}", param=stray[0], code="invalid_value")
        if not uploads:
            return error(400, "no recordings: send the audio files as 'files' parts of a multipart/form-data body",
                         param="files", code="invalid_value")
        if len(uploads) > config.enroll_max_files:
            return error(413, f"{len(uploads)} files; this server takes at most {config.enroll_max_files} per "
                              "enrollment", param="files", code="too_many_files")
        for upload in uploads:
            size = upload.size if upload.size is not None else len(upload.file.read())
            if size > config.enroll_max_file_bytes:
                return error(413, f"{upload.filename!r} is {size} bytes; this server takes at most "
                                  f"{config.enroll_max_file_bytes} bytes per file", param="files",
                             code="file_too_large")
        transcripts = _transcripts(form, uploads)
        if isinstance(transcripts, JSONResponse):
            return transcripts
        transcriber = None
        if transcripts is None:
            transcriber = find_transcriber(TRANSCRIBER)
            if transcriber is None:
                return error(422, "transcripts are needed: send one 'transcript' field per file (same order) or "
                                  "'transcripts' as a JSON array; this server cannot transcribe "
                                  f"({TRANSCRIBER.split(':')[0]} is not installed)", param="transcripts",
                             code="transcripts_required")
        try:
            formats = await asyncio.to_thread(lambda: [_audio_format(u) for u in uploads])
        except InvalidInputError as exc:
            return error(400, str(exc), param="files", code="invalid_audio")
        if enrollment.busy is not None:  # another POST started one while this body was read
            return _busy(enrollment.busy)
        if (taken := _name_taken(ctx, enrollment, name)) is not None:
            return error(409, taken, param="name", code="name_taken")
        job, folder = enrollment.new_job(name, len(uploads))
        try:
            paths = await asyncio.to_thread(_save, uploads, formats, folder)
            job.sources = {p.name: u.filename or p.name for p, u in zip(paths, uploads)}
            await enrollment.launch(job, paths, transcripts, transcriber)
        except Exception as exc:
            enrollment._fail(job, f"cannot start the job: {exc}")
            raise
    return JSONResponse(job.to_json(), status_code=202, headers={"Location": f"/v1/voices/jobs/{job.id}"})


@enroll_router.get("/v1/voices/jobs/{job_id}")
async def enroll_job(job_id: str, ctx: ServerContext = Context):
    enrollment = _enrollment(ctx)
    if isinstance(enrollment, JSONResponse):
        return enrollment
    job = enrollment.job(job_id)
    if job is None:
        return error(404, f"no enrollment job {job_id!r} (jobs are kept until the server restarts, the last "
                          f"{KEEP_JOBS})", param="job_id", code="job_not_found")
    return job.to_json()


@enroll_router.delete("/v1/voices/{name}")
async def delete_voice(name: str, ctx: ServerContext = Context):
    enrollment = ctx.state.get("enrollment")
    if enrollment is not None and name in enrollment.voices:
        await enrollment.delete(name)
        return {"id": name, "object": "voice", "deleted": True}
    synth = ctx.state["synth"]
    if synth is not None and (name in synth.voice.speakers or name in ctx.state["aliases"]):
        return error(403, f"{name!r} is a speaker of the voice {synth.voice.name!r}, not one enrolled over HTTP: "
                          "only enrolled voices can be deleted", param="name", code="not_enrolled")
    if enrollment is None:
        return _enrollment(ctx)
    if enrollment.busy is not None and enrollment.busy.name == name:
        return error(409, f"{name!r} is being enrolled (job {enrollment.busy.id}); delete it once the job has "
                          "ended", param="name", code="enrollment_busy")
    return error(404, f"no enrolled voice {name!r}", param="name", code="voice_not_found")

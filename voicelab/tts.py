"""Text to speech: offline voices with prosody controls, mel spectrograms and vocoders, Hub models.

Introduced in notebook 07. The steps of a text-to-speech system, each one callable:

* :func:`speak`: text -> waveform with the offline programs (flite, espeak-ng), with
  ``rate``, ``pitch`` (semitones) and ``volume_db``; the engine SSML renders with
  (:mod:`voicelab.ssml`). Text is normalised first (:mod:`voicelab.text`).
* :func:`mel` / :func:`griffin_lim`: the 80-band log-mel spectrogram SpeechT5 and its
  HiFi-GAN use (16 kHz, hop 256), and its classic inversion to a waveform.
* Hub models, loaded through :mod:`voicelab.hub` (offline: tiny random stand-ins of the
  same transformers classes, see :func:`voicelab.hub.is_stand_in`): SpeechT5 + its
  HiFi-GAN vocoder + a speaker x-vector (:func:`load_speecht5`, :func:`speecht5_speak`),
  MMS/VITS (:func:`load_vits`), Bark (:func:`load_bark`), all usable with transformers'
  ``pipeline("text-to-speech")`` (:func:`pipeline`), and a short SpeechT5 fine-tuning
  loop (:func:`finetune_speecht5`).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from . import audio, hub, runtime
from . import text as textmod
from .errors import AudioError, VoicelabError

__all__ = [
    "SR", "TTSError", "FLITE_VOICES", "speak", "trim", "silences", "MEL", "mel", "griffin_lim",
    "SPEECHT5", "SPEECHT5_VOCODER", "XVECTORS", "VITS", "BARK", "load_speecht5", "speaker_xvector",
    "speecht5_speak", "vocode", "load_vits", "load_bark", "pipeline", "finetune_speecht5",
]

#: Sample rate of everything in this module (Hz): flite's, SpeechT5's and MMS's rate.
SR = 16000
#: Offline voices: voicelab.data speaker keys -> flite voice names.
FLITE_VOICES = {"slt": "slt", "rms": "rms", "awb": "awb", "kal": "kal16"}
_RATE = (0.25, 4.0)
_PITCH = (-24.0, 24.0)


class TTSError(VoicelabError, ValueError):
    """A text-to-speech request that cannot be carried out (empty text, bad setting, missing program)."""


# ------------------------------------------------------------------------------ offline voices


def _engine(voice: str) -> tuple[str, str]:
    if voice in FLITE_VOICES:
        return "flite", FLITE_VOICES[voice]
    if voice.startswith("espeak:") and len(voice) > 7:
        return "espeak-ng", voice[7:]
    raise TTSError(f"unknown voice {voice!r}: use one of {sorted(FLITE_VOICES)} (flite, English) "
                   "or 'espeak:LANG' for espeak-ng (e.g. 'espeak:en-us', 'espeak:fr', 'espeak:cmn').")


def speak(text: str, voice: str = "slt", *, rate: float = 1.0, pitch: float = 0.0,
          volume_db: float = 0.0, normalize: bool = True) -> tuple[np.ndarray, int]:
    """Say ``text`` offline and return ``(y, sr)``: float32 mono at :data:`SR` Hz.

    Introduced in notebook 07. ``voice``: ``"slt"``, ``"rms"``, ``"awb"``, ``"kal"`` (flite,
    English; text outside Latin script is refused) or ``"espeak:LANG"`` (espeak-ng, any of its
    languages). ``rate``: speed factor (2.0 = twice as fast, done by the engine, 0.25..4).
    ``pitch``: shift in semitones (WORLD resynthesis, -24..24). ``volume_db``: gain in dB.
    ``normalize`` runs :func:`voicelab.text.normalize` first (numbers, dates, abbreviations).
    Long text is fine: the engines read it from a file, sentence after sentence.
    """
    engine, name = _engine(voice)
    if not isinstance(text, str) or not text.strip():
        raise TTSError("nothing to say: the text is empty. Give at least one word.")
    if not (_RATE[0] <= float(rate) <= _RATE[1]):
        raise TTSError(f"rate={rate} is outside {_RATE[0]}..{_RATE[1]} (1.0 is the voice's own speed).")
    if not (_PITCH[0] <= float(pitch) <= _PITCH[1]):
        raise TTSError(f"pitch={pitch} semitones is outside {_PITCH[0]:g}..{_PITCH[1]:g}.")
    if not np.isfinite(volume_db) or volume_db > 40:
        raise TTSError(f"volume_db={volume_db} must be a finite gain of at most +40 dB.")
    if normalize:
        text = textmod.normalize(text, ascii_only=engine == "flite")
    elif engine == "flite" and any(ord(c) > 127 for c in text):
        raise TTSError("flite voices read ASCII English only; use normalize=True (drops accents) "
                       "or an espeak-ng voice such as 'espeak:fr'.")
    if not any(c.isalnum() for c in text):
        raise TTSError(f"nothing to say: {text!r} has no letters or digits.")
    exe = shutil.which(engine)
    if exe is None:
        raise TTSError(f"{engine} is not installed. Install it (Debian/Ubuntu/Colab: "
                       f"`apt-get install -y {engine}`) or run `make setup`.")
    with tempfile.TemporaryDirectory(prefix="voicelab-speak-") as tmp:
        src, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        src.write_text(text, encoding="utf-8")
        if engine == "flite":
            cmd = [exe, "-voice", name, "--setf", f"duration_stretch={1.0 / float(rate):.4f}",
                   "-f", str(src), "-o", str(wav)]
        else:
            cmd = [exe, "-v", name, "-s", str(int(round(160 * float(rate)))), "-f", str(src), "-w", str(wav)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wav.exists() or wav.stat().st_size <= 44:
            raise TTSError(f"{engine} failed for voice {voice!r}: "
                           f"{done.stderr.strip() or 'no audio written'}. For espeak-ng, list "
                           "voices with `espeak-ng --voices`.")
        y, _ = audio.load(wav, sr=SR, min_seconds=0.0, allow_silence=True)
    if float(np.max(np.abs(y), initial=0.0)) == 0.0:
        raise TTSError(f"{engine} produced silence for {text[:40]!r}: voice {voice!r} cannot read "
                       "this text.")
    if pitch:
        y = _shift_pitch(y, SR, float(pitch))
    if volume_db:
        y = y * np.float32(10.0 ** (volume_db / 20.0))
    return y.astype(np.float32), SR


def _shift_pitch(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """WORLD analysis/synthesis with F0 multiplied by 2**(semitones/12); timing unchanged."""
    from . import vc

    feats = vc.analyze(y, sr, f0_method="dio")
    out = vc.synthesize(feats.f0 * 2.0 ** (semitones / 12.0), feats.sp, feats.ap, sr)
    n = len(y)
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    peak_in, peak_out = np.max(np.abs(y)), np.max(np.abs(out))
    return (out * (peak_in / peak_out) if peak_out > 0 else out).astype(np.float32)


def trim(y, sr: int = SR, top_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing silence: samples more than ``top_db`` dB below the peak.

    Introduced in notebook 07 (SSML joins trimmed pieces so pauses are exactly as asked).
    Works sample by sample, with 5 ms of margin kept where it exists.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        return y
    peak = float(np.max(np.abs(y)))
    if peak == 0.0:
        return y[:0]
    loud = np.flatnonzero(np.abs(y) > peak * 10.0 ** (-top_db / 20.0))
    pad = int(0.005 * sr)
    return y[max(0, loud[0] - pad): loud[-1] + 1 + pad]


def silences(y, sr: int = SR, *, floor_db: float = -60.0, min_seconds: float = 0.05,
             frame_seconds: float = 0.005) -> list[tuple[float, float]]:
    """Silent stretches of ``y`` as ``(start, end)`` seconds: 5 ms frames whose RMS is below ``floor_db`` dBFS.

    Introduced in notebook 07 to measure SSML breaks. Only stretches of at least
    ``min_seconds`` are returned.
    """
    y = np.asarray(y, dtype=np.float64)
    hop = max(1, int(round(frame_seconds * sr)))
    n = len(y) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1))
    quiet = rms < 10.0 ** (floor_db / 20.0)
    out, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * hop / sr >= min_seconds:
                out.append((start * hop / sr, i * hop / sr))
            start = None
    return out


# ------------------------------------------------------------------------ mel and Griffin-Lim

#: The log-mel spectrogram of SpeechT5 and its HiFi-GAN (and of our tiny acoustic model).
MEL = dict(sr=SR, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmin=80.0, fmax=7600.0)


def _mel_basis():
    import librosa

    return librosa.filters.mel(sr=MEL["sr"], n_fft=MEL["n_fft"], n_mels=MEL["n_mels"],
                               fmin=MEL["fmin"], fmax=MEL["fmax"], norm="slaney", htk=False)


def mel(y, sr: int = SR) -> np.ndarray:
    """Log10 mel spectrogram ``S`` of shape (frames, 80): 16 kHz, 64 ms windows, hop 16 ms.

    Introduced in notebook 07. The same features as transformers' SpeechT5FeatureExtractor
    (``audio_target=``), so SpeechT5's HiFi-GAN can turn them into a waveform.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"mel() needs a non-empty mono waveform (n,), got shape {y.shape}.")
    if sr != SR:
        y = audio.resample(y, sr, SR)
    spec = np.abs(librosa.stft(y, n_fft=MEL["n_fft"], hop_length=MEL["hop_length"],
                               win_length=MEL["win_length"], window="hann", center=True,
                               pad_mode="reflect"))
    return np.log10(np.maximum(1e-10, _mel_basis() @ spec)).T.astype(np.float32)


def griffin_lim(S, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Waveform from a log10 mel spectrogram ``S`` (frames, 80) with Griffin-Lim. Introduced in notebook 07.

    The mel bands are mapped back to a linear spectrum (non-negative least squares), and
    Griffin-Lim guesses the phases over ``n_iter`` iterations. Returns float32 at :data:`SR` Hz.
    """
    import librosa

    S = np.asarray(S, dtype=np.float32)
    if S.ndim != 2 or S.shape[1] != MEL["n_mels"]:
        raise ValueError(f"griffin_lim expects a (frames, {MEL['n_mels']}) log-mel array, got {S.shape}.")
    power = 10.0 ** S.T.astype(np.float64)
    linear = librosa.util.nnls(_mel_basis(), power)
    y = librosa.griffinlim(np.maximum(linear, 0.0), n_iter=n_iter, hop_length=MEL["hop_length"],
                           win_length=MEL["win_length"], n_fft=MEL["n_fft"], window="hann",
                           random_state=seed, init="random")
    return y.astype(np.float32)

"""From waveform to spectrogram and back: STFT, mel scale, MFCC, pitch, Griffin-Lim.

Introduced in notebook 02 (and used by 03 for mel-spectrogram autoencoders). The step
every voice model starts with: a waveform ``y`` (float, shape (n,), sample rate ``sr`` Hz)
becomes a *spectrogram* ``S``, a picture of how much energy each frequency has at each
moment, shape ``(n_freq, n_frames)`` (frequency down the rows, time along the columns,
the librosa convention).

Everything here is written out in NumPy so it can be read in one sitting: :func:`stft`
and :func:`istft` frame, window and FFT the signal and undo it; :func:`mel_filterbank`
builds the triangular mel filters; :func:`griffin_lim` recovers a waveform from a
magnitude alone. Pitch tracking (:func:`f0`) uses librosa's probabilistic YIN.

Frame ``t`` of every function is centred on sample ``t * hop_length`` (the signal is
padded by ``n_fft // 2`` at both ends), so its time is ``t * hop_length / sr`` seconds
(:func:`frame_times`).
"""
from __future__ import annotations

import numpy as np

from ..core.errors import SpectralError

__all__ = [
    "stft", "istft", "spectrogram", "to_db", "frequencies", "frame_times", "hz_to_mel",
    "mel_to_hz", "mel_filterbank", "mel_spectrogram", "mfcc", "f0", "griffin_lim",
    "mel_to_audio", "spectral_convergence", "tone", "dominant_frequency", "plot_spectrogram",
    "SpectralError",
]


def _wave(y, n_fft: int | None = None) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 1:
        raise SpectralError(f"y must be a mono waveform of shape (n,), got shape {y.shape}; "
                            "for (channels, n) audio pass one channel or y.mean(axis=0).")
    if y.size == 0:
        raise SpectralError("y is empty: there is nothing to analyse.")
    if not np.isfinite(y).all():
        raise SpectralError("y contains NaN or infinite samples; find where they come from first.")
    if n_fft is not None and y.size <= n_fft // 2:
        raise SpectralError(f"y has {y.size} samples, too short for n_fft={n_fft}: use a smaller "
                            f"n_fft (at most {2 * y.size - 2}) or a longer signal.")
    return y


def _check_fft(n_fft: int, hop_length: int, win_length: int | None = None) -> int:
    if n_fft < 2 or hop_length < 1:
        raise SpectralError(f"n_fft must be >= 2 and hop_length >= 1 samples, got n_fft={n_fft}, "
                            f"hop_length={hop_length}")
    win_length = n_fft if win_length is None else int(win_length)
    if not 1 <= win_length <= n_fft:
        raise SpectralError(f"win_length must be between 1 and n_fft={n_fft}, got {win_length}")
    if hop_length > win_length:
        raise SpectralError(f"hop_length={hop_length} is longer than the window ({win_length}): "
                            "parts of the signal would never be seen. Use hop_length <= win_length "
                            "(typically a quarter of it).")
    return win_length


def _window(n_fft: int, win_length: int, window: str) -> np.ndarray:
    """A periodic window of ``win_length`` samples, zero-padded in the middle of ``n_fft``."""
    from scipy.signal import get_window

    w = get_window(window, win_length, fftbins=True)
    left = (n_fft - win_length) // 2
    return np.pad(w, (left, n_fft - win_length - left))


# ------------------------------------------------------------------------------- STFT


def stft(y, sr: int, n_fft: int = 512, hop_length: int = 128, win_length: int | None = None,
         window: str = "hann") -> np.ndarray:
    """Short-time Fourier transform: complex array ``(1 + n_fft // 2, n_frames)``.

    Introduced in notebook 02. The signal is cut into frames of ``n_fft`` samples every
    ``hop_length`` samples, each multiplied by ``window`` (``win_length`` samples, default
    ``n_fft``) and Fourier transformed. Row ``k`` is frequency ``k * sr / n_fft`` Hz
    (:func:`frequencies`); column ``t`` is time ``t * hop_length / sr`` s. ``sr`` is only
    checked (the transform itself does not need it), so every helper here reads ``(y, sr)``.
    """
    _check_sr(sr)
    return _stft(_wave(y, n_fft), n_fft, hop_length, win_length, window)


def _stft(y: np.ndarray, n_fft: int, hop_length: int, win_length: int | None,
          window: str) -> np.ndarray:
    win_length = _check_fft(n_fft, hop_length, win_length)
    padded = np.pad(y, n_fft // 2, mode="reflect")
    n_frames = 1 + (len(padded) - n_fft) // hop_length
    starts = np.arange(n_frames) * hop_length
    frames = padded[starts[:, None] + np.arange(n_fft)]          # (n_frames, n_fft)
    return np.fft.rfft(frames * _window(n_fft, win_length, window), axis=1).T


def istft(S, hop_length: int = 128, win_length: int | None = None, window: str = "hann",
          length: int | None = None) -> np.ndarray:
    """Inverse of :func:`stft`: complex ``S`` ``(1 + n_fft // 2, n_frames)`` -> waveform ``(n,)``.

    Introduced in notebook 02. Each column is inverse-transformed, windowed again and
    overlap-added; dividing by the summed squared windows makes ``istft(stft(y))`` give
    ``y`` back. ``length`` trims or pads the result to that many samples.
    """
    S = np.asarray(S)
    if S.ndim != 2 or S.shape[0] < 2:
        raise SpectralError(f"S must be a (1 + n_fft // 2, n_frames) spectrogram, got shape {S.shape}")
    n_fft = 2 * (S.shape[0] - 1)
    win_length = _check_fft(n_fft, hop_length, win_length)
    w = _window(n_fft, win_length, window)
    frames = np.fft.irfft(S, n=n_fft, axis=0).T * w              # (n_frames, n_fft)
    n_frames = frames.shape[0]
    out = np.zeros(n_fft + hop_length * (n_frames - 1))
    norm = np.zeros_like(out)
    for t in range(n_frames):
        out[t * hop_length:t * hop_length + n_fft] += frames[t]
        norm[t * hop_length:t * hop_length + n_fft] += w ** 2
    out /= np.where(norm > 1e-8, norm, 1.0)
    out = out[n_fft // 2:]
    if length is None:
        return out[:len(out) - n_fft // 2]
    return np.pad(out[:length], (0, max(0, length - len(out))))


def spectrogram(y, sr: int, n_fft: int = 512, hop_length: int = 128,
                win_length: int | None = None, window: str = "hann",
                power: float = 2.0) -> np.ndarray:
    """``|stft(y)| ** power``: float array ``(1 + n_fft // 2, n_frames)``; power 2 = energy.

    Introduced in notebook 02. ``power=1`` gives the magnitude.
    """
    return np.abs(stft(y, sr, n_fft, hop_length, win_length, window)) ** power


def to_db(S, ref: float | str = 1.0, amin: float = 1e-10, top_db: float | None = 80.0) -> np.ndarray:
    """Power (energy) spectrogram -> decibels: ``10 * log10(S / ref)``.

    Introduced in notebook 02. ``ref="max"`` puts the loudest cell at 0 dB. Values below
    ``amin`` count as ``amin``; with ``top_db`` nothing is drawn more than that many dB
    below the maximum (so silence does not dominate a picture). For a magnitude
    spectrogram pass ``S ** 2``.
    """
    S = np.asarray(S, dtype=np.float64)
    ref_value = float(np.max(S)) if isinstance(ref, str) and ref == "max" else float(ref)
    db = 10.0 * np.log10(np.maximum(S, amin)) - 10.0 * np.log10(max(ref_value, amin))
    if top_db is not None:
        db = np.maximum(db, db.max() - top_db)
    return db


def frequencies(sr: int, n_fft: int) -> np.ndarray:
    """Centre frequency in Hz of each STFT row: ``(1 + n_fft // 2,)``, 0 to ``sr / 2``. Notebook 02."""
    _check_sr(sr)
    return np.arange(1 + n_fft // 2) * sr / n_fft


def frame_times(n_frames: int, sr: int, hop_length: int = 128) -> np.ndarray:
    """Time in seconds of each frame's centre: ``(n_frames,)``. Introduced in notebook 02."""
    _check_sr(sr)
    return np.arange(n_frames) * hop_length / sr


def _check_sr(sr) -> None:
    if not (isinstance(sr, (int, np.integer)) and sr > 0):
        raise SpectralError(f"sr must be the sample rate in Hz, a positive integer, got {sr!r}")


# -------------------------------------------------------------------------------- mel


def hz_to_mel(f):
    """Hertz -> mel (the HTK formula ``2595 * log10(1 + f / 700)``). Introduced in notebook 02.

    Equal steps in mel sound like equal steps in pitch: nearly linear below ~1 kHz,
    logarithmic above.
    """
    return 2595.0 * np.log10(1.0 + np.asarray(f, dtype=np.float64) / 700.0)


def mel_to_hz(m):
    """Mel -> hertz, the inverse of :func:`hz_to_mel`. Introduced in notebook 02."""
    return 700.0 * (10.0 ** (np.asarray(m, dtype=np.float64) / 2595.0) - 1.0)


def mel_filterbank(sr: int, n_fft: int = 512, n_mels: int = 64, fmin: float = 0.0,
                   fmax: float | None = None) -> np.ndarray:
    """Triangular mel filters: array ``(n_mels, 1 + n_fft // 2)``. Introduced in notebook 02.

    ``n_mels + 2`` points equally spaced in mel between ``fmin`` and ``fmax`` (Hz, default
    ``sr / 2``) give the feet and peak of each triangle. Each triangle is scaled to unit
    area over frequency (as librosa's ``norm="slaney"``), so wide high filters do not
    collect more energy just for being wide.
    """
    _check_sr(sr)
    fmax = sr / 2 if fmax is None else float(fmax)
    if not 0 <= fmin < fmax <= sr / 2:
        raise SpectralError(f"need 0 <= fmin < fmax <= sr / 2 = {sr / 2:g} Hz, got fmin={fmin}, "
                            f"fmax={fmax}")
    if n_mels < 1:
        raise SpectralError(f"n_mels must be >= 1, got {n_mels}")
    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))   # Hz
    f = frequencies(sr, n_fft)
    lo, mid, hi = edges[:-2, None], edges[1:-1, None], edges[2:, None]
    rising = (f - lo) / (mid - lo)
    falling = (hi - f) / (hi - mid)
    return np.maximum(0.0, np.minimum(rising, falling)) * (2.0 / (hi - lo))


def mel_spectrogram(y, sr: int, n_fft: int = 512, hop_length: int = 128, n_mels: int = 64,
                    fmin: float = 0.0, fmax: float | None = None, power: float = 2.0) -> np.ndarray:
    """Mel spectrogram: energy in each mel band, array ``(n_mels, n_frames)``.

    Introduced in notebook 02. ``mel_filterbank(...) @ spectrogram(y, ...)``: the
    ``1 + n_fft // 2`` linear frequency rows are pooled into ``n_mels`` bands.
    """
    S = spectrogram(y, sr, n_fft, hop_length, power=power)
    return mel_filterbank(sr, n_fft, n_mels, fmin, fmax) @ S


def mfcc(y, sr: int, n_mfcc: int = 13, n_fft: int = 512, hop_length: int = 128,
         n_mels: int = 40, fmin: float = 0.0, fmax: float | None = None) -> np.ndarray:
    """Mel-frequency cepstral coefficients: array ``(n_mfcc, n_frames)``. Introduced in notebook 02.

    The discrete cosine transform (type II, orthonormal) of each frame's log-mel
    spectrum (dB), keeping the first ``n_mfcc`` coefficients: coefficient 0 is the
    overall level, the next ones describe the smooth shape of the spectrum (the vocal
    tract), and the fine detail (the pitch harmonics) is dropped.
    """
    from scipy.fft import dct

    if not 1 <= n_mfcc <= n_mels:
        raise SpectralError(f"n_mfcc must be between 1 and n_mels={n_mels}, got {n_mfcc}")
    log_mel = to_db(mel_spectrogram(y, sr, n_fft, hop_length, n_mels, fmin, fmax))
    return dct(log_mel, type=2, norm="ortho", axis=0)[:n_mfcc]


# ------------------------------------------------------------------------------ pitch


def f0(y, sr: int, fmin: float = 65.0, fmax: float = 500.0, hop_length: int = 160,
       frame_length: int = 1024) -> np.ndarray:
    """Pitch track: fundamental frequency in Hz per frame, ``(n_frames,)``, 0 where unvoiced.

    Introduced in notebook 02. Probabilistic YIN (``librosa.pyin``): for each frame it
    looks for the period at which the signal best matches a delayed copy of itself,
    between ``fmin`` and ``fmax`` Hz, and decides whether the frame is voiced at all.
    Frame ``t`` is at ``t * hop_length / sr`` seconds (:func:`frame_times`).
    """
    import librosa

    _check_sr(sr)
    y = _wave(y, frame_length)
    if not 0 < fmin < fmax < sr / 2:
        raise SpectralError(f"need 0 < fmin < fmax < sr / 2 = {sr / 2:g} Hz, got fmin={fmin}, "
                            f"fmax={fmax}")
    track, voiced, _ = librosa.pyin(y, fmin=fmin, fmax=fmax, sr=sr, frame_length=frame_length,
                                    hop_length=hop_length)
    return np.where(voiced & np.isfinite(track), track, 0.0)


# ------------------------------------------------------------------------ Griffin-Lim


def griffin_lim(S, hop_length: int = 128, n_iter: int = 32, momentum: float = 0.99,
                seed: int = 0, length: int | None = None, win_length: int | None = None,
                window: str = "hann") -> np.ndarray:
    """Recover a waveform ``(n,)`` from a magnitude spectrogram ``S`` ``(1 + n_fft // 2, n_frames)``.

    Introduced in notebook 02. A spectrogram keeps how loud each frequency is but not its
    phase. Griffin-Lim starts from random phases (seeded) and repeats: make a waveform
    with :func:`istft`, analyse it again with :func:`stft`, keep the new phases but put
    the wanted magnitudes back. ``momentum`` (the "fast Griffin-Lim" of Perraudin et al.,
    2013) speeds this up; ``n_iter=0`` returns the random-phase starting point.
    """
    mag = np.abs(np.asarray(S))
    if mag.ndim != 2 or mag.shape[0] < 2:
        raise SpectralError(f"S must be a (1 + n_fft // 2, n_frames) magnitude, got shape {mag.shape}")
    if n_iter < 0:
        raise SpectralError(f"n_iter must be >= 0, got {n_iter}")
    n_fft = 2 * (mag.shape[0] - 1)
    rng = np.random.default_rng(seed)
    phase = np.exp(2j * np.pi * rng.random(mag.shape))
    previous = np.zeros_like(phase)
    for _ in range(n_iter):
        y = istft(mag * phase, hop_length, win_length, window, length)
        rebuilt = _stft(y, n_fft, hop_length, win_length, window)[:, :mag.shape[1]]
        phase = rebuilt - (momentum / (1 + momentum)) * previous
        phase /= np.maximum(np.abs(phase), 1e-16)
        previous = rebuilt
    return istft(mag * phase, hop_length, win_length, window, length)


def mel_to_audio(M, sr: int, n_fft: int = 512, hop_length: int = 128, fmin: float = 0.0,
                 fmax: float | None = None, power: float = 2.0, n_iter: int = 32, seed: int = 0,
                 length: int | None = None) -> np.ndarray:
    """Waveform ``(n,)`` from a mel spectrogram ``M`` ``(n_mels, n_frames)`` (as made by
    :func:`mel_spectrogram` with the same settings). Introduced in notebook 02.

    First the linear spectrogram that the mel filters map closest to ``M`` (non-negative
    least squares), then :func:`griffin_lim`. Detail the mel bands pooled away is lost,
    so this is the ceiling for anything that outputs mel spectrograms without a vocoder.
    """
    import librosa

    M = np.asarray(M, dtype=np.float64)
    fb = mel_filterbank(sr, n_fft, M.shape[0], fmin, fmax)
    S = librosa.util.nnls(fb, M) ** (1.0 / power)
    return griffin_lim(S, hop_length, n_iter=n_iter, seed=seed, length=length)


def spectral_convergence(S_ref, S) -> float:
    """How far magnitude ``S`` is from ``S_ref``: ``||S_ref| - |S|| / ||S_ref||`` (Frobenius).

    Introduced in notebook 02. 0 means identical; shapes must match (trim to the shorter
    one first when two waveforms differ by a frame).
    """
    A, B = np.abs(np.asarray(S_ref)), np.abs(np.asarray(S))
    if A.shape != B.shape:
        raise SpectralError(f"spectrogram shapes differ: {A.shape} vs {B.shape}; trim both to the "
                            "same number of frames first.")
    return float(np.linalg.norm(A - B) / max(np.linalg.norm(A), 1e-12))


# ----------------------------------------------------------------------- test signals


def tone(freq: float, sr: int, seconds: float = 1.0, amplitude: float = 0.5,
         phase: float = 0.0) -> np.ndarray:
    """A sine wave of ``freq`` Hz sampled at ``sr`` Hz: float32 ``(round(seconds * sr),)``.

    Introduced in notebook 02. Above ``sr / 2`` (the Nyquist frequency) the samples are
    exactly those of a lower frequency: that is aliasing.
    """
    _check_sr(sr)
    t = np.arange(int(round(seconds * sr))) / sr
    return (amplitude * np.sin(2 * np.pi * freq * t + phase)).astype(np.float32)


def dominant_frequency(y, sr: int) -> float:
    """Frequency in Hz of the strongest component of ``y`` (the peak of its Fourier spectrum).

    Introduced in notebook 02. The resolution is ``sr / len(y)`` Hz (the signal is Hann
    windowed first to keep leakage down).
    """
    _check_sr(sr)
    y = _wave(y)
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return float(np.argmax(spectrum) * sr / len(y))


# ------------------------------------------------------------------------------- plot


def plot_spectrogram(S_db, sr: int, hop_length: int = 128, ax=None, title: str | None = None,
                     y_axis: str = "hz", fmax: float | None = None, vmin: float | None = None,
                     cmap: str = "magma"):
    """Draw a dB spectrogram ``(n_rows, n_frames)`` against time (s); returns the Axes.

    Introduced in notebook 02. ``y_axis="hz"``: rows are linear STFT bins from 0 to
    ``sr / 2`` kHz; ``"mel"``: rows are mel bands (numbered); ``"coef"``: MFCCs. Does
    not call ``plt.show()``.
    """
    import matplotlib.pyplot as plt

    S_db = np.asarray(S_db)
    if S_db.ndim != 2:
        raise SpectralError(f"S_db must be 2-D (n_rows, n_frames), got shape {S_db.shape}")
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 2.2))
    seconds = S_db.shape[1] * hop_length / sr
    if y_axis == "hz":
        top = sr / 2000
        ax.set_ylabel("kHz")
    elif y_axis in ("mel", "coef"):
        top = S_db.shape[0]
        ax.set_ylabel("mel band" if y_axis == "mel" else "coefficient")
    else:
        raise SpectralError(f"y_axis must be 'hz', 'mel' or 'coef', got {y_axis!r}")
    image = ax.imshow(S_db, origin="lower", aspect="auto", extent=[0, seconds, 0, top],
                      cmap=cmap, vmin=vmin, interpolation="nearest")
    if fmax is not None and y_axis == "hz":
        ax.set_ylim(0, fmax / 1000)
    ax.set_xlabel("time (s)")
    if title:
        ax.set_title(title)
    ax.figure.colorbar(image, ax=ax, pad=0.01, label="dB" if y_axis != "coef" else None)
    return ax

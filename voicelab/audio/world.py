"""WORLD analysis and synthesis, the mel-cepstrum and dynamic time warping.

Introduced in notebook 10. The signal-processing toolkit of classic voice conversion,
shared by the baseline model (:mod:`voicelab.voice.baseline`), the score card
(:mod:`voicelab.voice.metrics`: F0 and mel-cepstral distortion) and the TTS lesson:

  1. WORLD analysis of a clip (``pyworld``): F0 (DIO + StoneMask), spectral envelope
     (CheapTrick) and aperiodicity (D4C), one frame every 5 ms (:func:`analyze`).
  2. The envelope as a mel-cepstrum: ``ORDER`` + 1 numbers per frame (:func:`mel_cepstrum`).
  3. Dynamic time warping (:func:`dtw`) pairs each frame of one clip with the frame of
     another that says the same thing.
  4. WORLD synthesis from F0, envelope and aperiodicity (:func:`synthesize`).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ..core.errors import AudioError

__all__ = [
    "FRAME_PERIOD", "ORDER", "WorldFeatures", "mono_float64", "analyze", "synthesize", "mel_alpha",
    "mel_cepstrum", "mel_cepstrum_to_envelope", "dtw",
]

#: WORLD frame period in milliseconds (200 frames per second).
FRAME_PERIOD = 5.0
#: Mel-cepstrum order: coefficients c0 (energy) .. c24 (fine spectral detail).
ORDER = 24


@dataclass
class WorldFeatures:
    """What WORLD sees in a recording, one row per 5 ms frame.

    ``f0``: (T,) Hz, 0 where unvoiced; ``sp``: (T, fft_size // 2 + 1) power spectral
    envelope; ``ap``: same shape, aperiodicity in [0, 1] (None when not analysed);
    ``sr`` in Hz; ``frame_period`` ms.
    """

    f0: np.ndarray
    sp: np.ndarray
    ap: np.ndarray | None
    sr: int
    frame_period: float = FRAME_PERIOD

    @property
    def fft_size(self) -> int:
        return 2 * (self.sp.shape[1] - 1)


def mono_float64(y, what: str = "y") -> np.ndarray:
    """``y`` as the contiguous float64 mono waveform WORLD needs; AudioError if empty or not finite."""
    y = np.asarray(y, dtype=np.float64)
    if y.ndim == 2:
        y = y.mean(axis=0) if y.shape[0] < y.shape[1] else y.mean(axis=1)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"{what} must be a non-empty mono waveform of shape (n,), got shape {y.shape}.")
    if not np.isfinite(y).all():
        raise AudioError(f"{what} contains NaN or infinite samples; fix the audio before analysing it.")
    return np.ascontiguousarray(y)


def analyze(y, sr: int, *, f0_method: str = "dio", frame_period: float = FRAME_PERIOD,
            aperiodicity: bool = True) -> WorldFeatures:
    """WORLD analysis of waveform ``y`` at ``sr`` Hz. Introduced in notebook 10.

    ``f0_method``: ``"dio"`` (DIO + StoneMask refinement, fast) or ``"harvest"``
    (slower, more robust against octave errors). ``aperiodicity=False`` skips D4C
    (``ap`` is then None), which halves the time when only F0 and envelope are needed.
    """
    import pyworld as pw

    x = mono_float64(y)
    if len(x) < int(sr * 0.05):
        raise AudioError(f"the recording is only {len(x) / sr:.3f} s long; WORLD needs at least 0.05 s.")
    if f0_method == "dio":
        f0, t = pw.dio(x, sr, frame_period=frame_period)
        f0 = pw.stonemask(x, f0, t, sr)
    elif f0_method == "harvest":
        f0, t = pw.harvest(x, sr, frame_period=frame_period)
    else:
        raise ValueError(f"f0_method must be 'dio' or 'harvest', got {f0_method!r}")
    sp = pw.cheaptrick(x, f0, t, sr)
    ap = pw.d4c(x, f0, t, sr) if aperiodicity else None
    return WorldFeatures(f0, sp, ap, int(sr), frame_period)


def synthesize(f0, sp, ap, sr: int, frame_period: float = FRAME_PERIOD) -> np.ndarray:
    """WORLD synthesis: F0 (T,) Hz, envelope and aperiodicity (T, bins) -> float32 waveform."""
    import pyworld as pw

    y = pw.synthesize(np.ascontiguousarray(f0, dtype=np.float64),
                      np.ascontiguousarray(sp, dtype=np.float64),
                      np.ascontiguousarray(ap, dtype=np.float64), int(sr), frame_period)
    return y.astype(np.float32)


# ------------------------------------------------------------------------- mel-cepstrum


@lru_cache(maxsize=None)
def mel_alpha(sr: int) -> float:
    """All-pass constant whose frequency warping best follows the mel scale at ``sr`` Hz.

    The mel-like scale here is log(1 + f / 1000 Hz), as in SPTK's tables: about 0.41 at
    16 kHz, 0.47 at 24 kHz, 0.54 at 44.1 kHz (found by a least-squares fit).
    """
    omega = np.linspace(0, np.pi, 512)
    mel = np.log1p(omega / np.pi * (sr / 2) / 1000.0)
    mel = mel / mel[-1] * np.pi
    alphas = np.arange(0.0, 0.95, 0.001)
    errors = [np.mean((_warp(omega, a) - mel) ** 2) for a in alphas]
    return round(float(alphas[int(np.argmin(errors))]), 3)


def _warp(omega, alpha: float):
    """Phase of the first-order all-pass filter: linear frequency -> warped frequency (radians)."""
    return omega + 2 * np.arctan(alpha * np.sin(omega) / (1 - alpha * np.cos(omega)))


def mel_cepstrum(sp, sr: int, order: int = ORDER, alpha: float | None = None) -> np.ndarray:
    """Mel-cepstrum (T, order + 1) of a power spectral envelope ``sp`` (T, bins). Notebook 10.

    The log amplitude spectrum is resampled on a mel-like (all-pass warped) frequency axis
    and turned into a cepstrum, in SPTK's convention (log H = sum of c_m z~^-m), so
    the numbers match ``pysptk.sp2mc`` up to the smoothing of the warping.
    """
    sp = np.atleast_2d(np.asarray(sp, dtype=np.float64))
    alpha = mel_alpha(sr) if alpha is None else alpha
    bins = sp.shape[1]
    theta = np.linspace(0, np.pi, bins)                # uniform on the warped axis
    omega = _warp(theta, -alpha)                       # the linear frequency each one comes from
    log_amp = 0.5 * np.log(np.maximum(sp, 1e-16))
    grid = np.linspace(0, np.pi, bins)
    warped = np.stack([np.interp(omega, grid, row) for row in log_amp])
    c = np.fft.irfft(warped, n=2 * (bins - 1), axis=1)[:, : order + 1]
    c[:, 1:] *= 2.0
    return c


def mel_cepstrum_to_envelope(mc, sr: int, fft_size: int, alpha: float | None = None) -> np.ndarray:
    """Inverse of :func:`mel_cepstrum`: (T, order + 1) -> power envelope (T, fft_size // 2 + 1)."""
    mc = np.atleast_2d(np.asarray(mc, dtype=np.float64))
    alpha = mel_alpha(sr) if alpha is None else alpha
    bins = fft_size // 2 + 1
    c = np.zeros((mc.shape[0], fft_size))
    order = mc.shape[1] - 1
    c[:, 0] = mc[:, 0]
    c[:, 1: order + 1] = mc[:, 1:] / 2.0
    c[:, fft_size - order:] = (mc[:, 1:] / 2.0)[:, ::-1]
    warped = np.fft.rfft(c, axis=1).real                # log amplitude on the warped axis
    theta_grid = np.linspace(0, np.pi, bins)
    theta = _warp(np.linspace(0, np.pi, bins), alpha)  # where each linear bin lands
    log_amp = np.stack([np.interp(theta, theta_grid, row) for row in warped])
    return np.exp(2.0 * log_amp)


# ----------------------------------------------------------------------------------- DTW


def dtw(X, Y) -> tuple[np.ndarray, float]:
    """Align two feature sequences X (N, d) and Y (M, d) by dynamic time warping.

    Introduced in notebook 10. Returns ``(path, cost)``: path is an (L, 2) int array of
    frame pairs (i, j) from (0, 0) to (N-1, M-1), each step moving by (1, 0), (0, 1) or
    (1, 1); cost is the mean Euclidean distance along it. Memory is N x M floats.
    """
    X = np.atleast_2d(np.asarray(X, dtype=np.float64))
    Y = np.atleast_2d(np.asarray(Y, dtype=np.float64))
    n, m = len(X), len(Y)
    if n == 0 or m == 0:
        raise ValueError("dtw needs two non-empty sequences")
    if n * m > 40_000_000:
        raise ValueError(f"dtw of {n} x {m} frames needs too much memory; cut the clips to "
                         "under about 30 s each.")
    # pairwise distances, computed in chunks of rows to bound memory
    C = np.sqrt(np.maximum(
        (X ** 2).sum(1)[:, None] + (Y ** 2).sum(1)[None, :] - 2 * X @ Y.T, 0.0))
    D = np.full((n + 1, m + 1), np.inf)
    D[0, 0] = 0.0
    for k in range(2, n + m + 1):  # anti-diagonals i + j = k (1-based), each one vectorised
        i = np.arange(max(1, k - m), min(n, k - 1) + 1)
        j = k - i
        best = np.minimum(np.minimum(D[i - 1, j], D[i, j - 1]), D[i - 1, j - 1])
        D[i, j] = C[i - 1, j - 1] + best
    path = [(n - 1, m - 1)]
    i, j = n, m
    while (i, j) != (1, 1):
        steps = ((i - 1, j - 1), (i - 1, j), (i, j - 1))
        i, j = min(steps, key=lambda s: D[s])
        path.append((i - 1, j - 1))
    path = np.array(path[::-1], dtype=np.int64)
    return path, float(C[path[:, 0], path[:, 1]].mean())

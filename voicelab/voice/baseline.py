"""A classic voice-conversion baseline: WORLD analysis, DTW, a small spectral mapping, WORLD synthesis.

Introduced in notebook 10. This is the "training stage / conversion stage" picture of
classic parallel voice conversion, small enough to train in seconds on a CPU:

Training stage (parallel recordings: both speakers read the same sentences)
  1. WORLD analysis of every clip (:func:`voicelab.audio.world.analyze`): F0, spectral
     envelope and aperiodicity, one frame every 5 ms.
  2. The envelope becomes a mel-cepstrum: ``ORDER`` + 1 numbers per frame
     (:func:`voicelab.audio.world.mel_cepstrum`).
  3. Dynamic time warping (:func:`voicelab.audio.world.dtw`) pairs each source frame with
     the target frame that says the same thing, since the two speakers talk at different speeds.
  4. A small MLP learns source mel-cepstrum (with a few neighbouring frames) -> target
     mel-cepstrum; the pitch is moved by matching the mean and spread of log-F0.

Conversion stage (one source recording)
  analysis -> MLP on the mel-cepstrum, log-F0 transform -> WORLD synthesis with the
  source's own aperiodicity and timing.

No pickle anywhere: :meth:`Baseline.save` writes ``baseline.safetensors`` (tensors) and
``baseline.json`` (settings), and :meth:`Baseline.load` reads them back.
"""
from __future__ import annotations

import json
import math
import os
from pathlib import Path

import numpy as np

from ..audio.world import (FRAME_PERIOD, ORDER, analyze, dtw, mel_alpha, mel_cepstrum,
                           mel_cepstrum_to_envelope, mono_float64, synthesize)
from ..core import files
from ..core.errors import AudioError, BaselineError
from ..core.torchutil import cpu_threads

__all__ = ["Baseline", "train_baseline", "BaselineError"]

_WEIGHTS = "baseline.safetensors"
_CONFIG = "baseline.json"
_FORMAT = "voicelab-vc-baseline-1"


def _context(F: np.ndarray, width: int) -> np.ndarray:
    """Stack each frame with its ``width`` neighbours on both sides: (T, d) -> (T, (2w+1) d)."""
    if width == 0:
        return F
    padded = np.pad(F, ((width, width), (0, 0)), mode="edge")
    return np.concatenate([padded[k: k + len(F)] for k in range(2 * width + 1)], axis=1)


def _speech_frames(mc: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    """Boolean (T,) mask of frames within ``floor_db`` dB of the loudest (c0 is log amplitude)."""
    db = mc[:, 0] * 20 / math.log(10)
    return db > db.max() - floor_db


def _mlp(n_in: int, n_out: int, hidden: int):
    import torch.nn as nn

    return nn.Sequential(nn.Linear(n_in, hidden), nn.Tanh(), nn.Linear(hidden, hidden), nn.Tanh(),
                         nn.Linear(hidden, n_out))


class Baseline:
    """A trained (or identity) source -> target converter. Introduced in notebook 10.

    Use :func:`train_baseline` to make one, :meth:`convert` to use it, :meth:`save` /
    :meth:`load` to keep it. :meth:`identity` is the untrained control: WORLD
    analysis and resynthesis with nothing changed.
    """

    def __init__(self, config: dict, tensors: dict):
        self.config = dict(config)
        self.tensors = dict(tensors)
        self.net = None
        if self.config.get("trained", True):
            import torch

            cfg = self.config
            d = cfg["order"]
            self.net = _mlp(d * (2 * cfg["context"] + 1), d, cfg["hidden"])
            state = {k[len("net."):]: v for k, v in self.tensors.items() if k.startswith("net.")}
            try:
                self.net.load_state_dict(state)
            except RuntimeError as e:
                raise BaselineError(f"the saved mapping does not fit its settings ({e}); save the "
                                    "baseline again with Baseline.save.") from e
            self.net.eval()
            for p in self.net.parameters():
                p.requires_grad_(False)
            self._torch = torch

    # -- construction -----------------------------------------------------------------
    @classmethod
    def identity(cls, sr: int = 16000, order: int = ORDER) -> "Baseline":
        """The untrained control: analysis + resynthesis, spectrum and pitch unchanged."""
        return cls({"format": _FORMAT, "trained": False, "sr": int(sr), "order": order,
                    "alpha": mel_alpha(sr), "context": 0, "hidden": 0, "frame_period": FRAME_PERIOD,
                    "f0_method": "dio", "src_lf0": [0.0, 1.0], "tgt_lf0": [0.0, 1.0]}, {})

    @property
    def sr(self) -> int:
        return int(self.config["sr"])

    # -- conversion -------------------------------------------------------------------
    def map_mel_cepstrum(self, mc: np.ndarray) -> np.ndarray:
        """Apply the learnt mapping to a mel-cepstrum (T, order + 1); c0 (loudness) is kept."""
        if self.net is None:
            return mc.copy()
        t = self.tensors
        x = (mc[:, 1:] - t["x_mean"].numpy()) / t["x_std"].numpy()
        x = _context(x, self.config["context"])
        with self._torch.no_grad():
            out = self.net(self._torch.from_numpy(x.astype(np.float32))).numpy().astype(np.float64)
        out = out * t["y_std"].numpy() + t["y_mean"].numpy()
        return np.concatenate([mc[:, :1], out], axis=1)

    def map_f0(self, f0: np.ndarray) -> np.ndarray:
        """Log-F0 mean/variance transform (Hz in, Hz out; 0 stays 0 = unvoiced)."""
        (ms, ss), (mt, st) = self.config["src_lf0"], self.config["tgt_lf0"]
        out = np.zeros_like(f0, dtype=np.float64)
        v = f0 > 0
        out[v] = np.exp((np.log(f0[v]) - ms) / ss * st + mt)
        return out

    def convert(self, y, sr: int) -> np.ndarray:
        """Convert waveform ``y`` (mono, ``sr`` Hz) to the target voice; float32 at the same ``sr``."""
        from .. import audio

        x = mono_float64(y)
        x_model = audio.resample(x, sr, self.sr) if int(sr) != self.sr else x
        feats = analyze(x_model, self.sr, f0_method=self.config["f0_method"],
                        frame_period=self.config["frame_period"])
        mc = mel_cepstrum(feats.sp, self.sr, self.config["order"], self.config["alpha"])
        sp = mel_cepstrum_to_envelope(self.map_mel_cepstrum(mc), self.sr, feats.fft_size,
                                      self.config["alpha"])
        out = synthesize(self.map_f0(feats.f0), sp, feats.ap, self.sr, self.config["frame_period"])
        out = out[: len(x_model)]
        if int(sr) != self.sr:
            out = audio.resample(out, self.sr, sr)
        peak = float(np.max(np.abs(out))) if out.size else 0.0
        if peak > 0.99:  # keep it savable without clipping
            out = out * (0.99 / peak)
        return out.astype(np.float32)

    # -- persistence --------------------------------------------------------------------
    def save(self, folder) -> Path:
        """Write ``folder/baseline.safetensors`` and ``folder/baseline.json``; return the folder."""
        from ..core import hub

        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        tensors = dict(self.tensors)
        if self.net is not None:
            tensors.update({f"net.{k}": v for k, v in self.net.state_dict().items()})
        if tensors:
            hub.save_weights(tensors, folder / _WEIGHTS, metadata={"format": _FORMAT})
        _write_json(folder / _CONFIG, self.config)
        return folder

    @classmethod
    def load(cls, folder) -> "Baseline":
        """Read a baseline written by :meth:`save` (no pickle: safetensors + JSON)."""
        from ..core import hub

        folder = Path(folder)
        cfg_path = folder / _CONFIG
        if not cfg_path.exists():
            raise BaselineError(f"{cfg_path} does not exist: {folder} is not a saved baseline. "
                                "Make one with train_baseline(...).save(folder).")
        try:
            config = json.loads(cfg_path.read_text(encoding="utf-8"))
        except ValueError as e:
            raise BaselineError(f"{cfg_path} is not valid JSON ({e}); save the baseline again.") from e
        if config.get("format") != _FORMAT:
            raise BaselineError(f"{cfg_path} is not a voicelab baseline (format "
                                f"{config.get('format')!r}, expected {_FORMAT!r}).")
        tensors = {}
        if config.get("trained", True):
            tensors = hub.load_weights(folder / _WEIGHTS)
        return cls(config, tensors)

    def __repr__(self) -> str:
        c = self.config
        kind = "trained" if self.net is not None else "identity (untrained)"
        return (f"Baseline({kind}, sr={c['sr']} Hz, mel-cepstrum order {c['order']}, "
                f"context +-{c['context']} frames, hidden {c['hidden']})")


def _write_json(path: Path, obj) -> None:
    files.write_json(path, obj, indent=1, sort_keys=True)


def _read_clip(item, sr: int) -> np.ndarray:
    from .. import audio

    if isinstance(item, (str, os.PathLike)):
        y, _ = audio.load(item, sr=sr)
        return y.astype(np.float64)
    if isinstance(item, tuple) and len(item) == 2:
        y, item_sr = item
        y = mono_float64(y)
        return audio.resample(y, int(item_sr), sr).astype(np.float64) if int(item_sr) != sr else y
    raise AudioError("A training clip is an array without its sampling rate; pass (y, sr) "
                     "pairs or paths (voicelab never guesses an array's rate).")


def _lf0_stats(f0s) -> list[float]:
    lf0 = np.log(np.concatenate([f[f > 0] for f in f0s]))
    if lf0.size < 10:
        raise BaselineError("fewer than 10 voiced frames in the training clips: are they speech?")
    return [float(lf0.mean()), float(lf0.std() + 1e-8)]


def train_baseline(src_wavs, tgt_wavs, *, seed: int = 0, sr: int = 16000, steps: int = 1500,
                   hidden: int = 256, context: int = 2, order: int = ORDER, iterations: int = 2,
                   f0_method: str = "dio", progress: bool = False) -> Baseline:
    """Train the classic baseline on parallel clips. Introduced in notebook 10.

    ``src_wavs`` and ``tgt_wavs`` are equally long lists of paths (or ``(y, sr)`` pairs) of
    the same sentences read by the source and the target speaker. Every clip is analysed
    at ``sr`` Hz; frames are paired by DTW on the mel-cepstrum, then an MLP (``hidden``
    units, +-``context`` frames of input) is trained for ``steps`` Adam steps. With
    ``iterations=2`` the pairs are re-aligned once with the first model's output, which
    gives cleaner pairs. ``steps=0`` leaves the MLP at its random initialisation (a
    control for experiments). About 10-20 s on one CPU core for 20 clips of 3 s.
    """
    import torch

    if len(src_wavs) != len(tgt_wavs):
        raise BaselineError(f"parallel training needs as many source clips as target clips, got "
                            f"{len(src_wavs)} and {len(tgt_wavs)}; pair them sentence by sentence.")
    if len(src_wavs) == 0:
        raise BaselineError("no training clips: pass lists of parallel source and target recordings.")
    alpha = mel_alpha(sr)
    src, tgt = [], []
    for s_item, t_item in zip(src_wavs, tgt_wavs):
        fs = analyze(_read_clip(s_item, sr), sr, f0_method=f0_method, aperiodicity=False)
        ft = analyze(_read_clip(t_item, sr), sr, f0_method=f0_method, aperiodicity=False)
        src.append((fs.f0, mel_cepstrum(fs.sp, sr, order, alpha)))
        tgt.append((ft.f0, mel_cepstrum(ft.sp, sr, order, alpha)))

    config = {"format": _FORMAT, "trained": True, "sr": int(sr), "order": order, "alpha": alpha,
              "context": context, "hidden": hidden, "frame_period": FRAME_PERIOD,
              "f0_method": f0_method, "steps": steps, "iterations": iterations, "seed": seed,
              "src_lf0": _lf0_stats([f for f, _ in src]), "tgt_lf0": _lf0_stats([f for f, _ in tgt]),
              "clips": len(src)}
    # Normalisation statistics of c1..c_order over speech frames.
    xs = np.concatenate([mc[_speech_frames(mc), 1:] for _, mc in src])
    ys = np.concatenate([mc[_speech_frames(mc), 1:] for _, mc in tgt])
    stats = {"x_mean": xs.mean(0), "x_std": xs.std(0) + 1e-6,
             "y_mean": ys.mean(0), "y_std": ys.std(0) + 1e-6}
    tensors = {k: torch.tensor(v, dtype=torch.float32) for k, v in stats.items()}

    with cpu_threads(1):  # a net this small trains fastest on one thread
        return _fit(src, tgt, config, stats, tensors, seed=seed, steps=steps, hidden=hidden,
                    context=context, order=order, iterations=iterations, progress=progress)


def _fit(src, tgt, config, stats, tensors, *, seed, steps, hidden, context, order, iterations,
         progress) -> Baseline:
    """DTW-pair the frames and train the MLP (see :func:`train_baseline`)."""
    import torch

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    net = _mlp(order * (2 * context + 1), order, hidden)
    model = None
    for it in range(max(1, iterations)):
        X, Y = [], []
        for (_, mc_s), (_, mc_t) in zip(src, tgt):
            keep_s, keep_t = _speech_frames(mc_s), _speech_frames(mc_t)
            xs_n = (mc_s[:, 1:] - stats["x_mean"]) / stats["x_std"]
            ys_n = (mc_t[keep_t, 1:] - stats["y_mean"]) / stats["y_std"]
            xc = _context(xs_n, context)[keep_s]
            query = xs_n[keep_s] if model is None else \
                (model.map_mel_cepstrum(mc_s)[keep_s, 1:] - stats["y_mean"]) / stats["y_std"]
            path, _ = dtw(query, ys_n)
            X.append(xc[path[:, 0]])
            Y.append(ys_n[path[:, 1]])
        X = torch.from_numpy(np.concatenate(X).astype(np.float32))
        Y = torch.from_numpy(np.concatenate(Y).astype(np.float32))
        if steps > 0:
            opt = torch.optim.Adam(net.parameters(), lr=1e-3)
            batch = min(256, len(X))
            n_steps = steps if it == iterations - 1 or iterations <= 1 else max(1, steps // 2)
            iterator = range(n_steps)
            if progress:
                from tqdm.std import tqdm   # a text bar: it renders on GitHub too

                iterator = tqdm(iterator, desc=f"training pass {it + 1}/{iterations}")
            net.train()
            for _ in iterator:
                idx = torch.from_numpy(rng.integers(0, len(X), batch))
                loss = torch.nn.functional.mse_loss(net(X[idx]), Y[idx])
                opt.zero_grad()
                loss.backward()
                opt.step()
        net.eval()
        with torch.no_grad():
            config["train_mse"] = float(torch.nn.functional.mse_loss(net(X), Y))
        config["pairs"] = int(len(X))
        model = Baseline(config, {**tensors, **{f"net.{k}": v.detach().clone()
                                                for k, v in net.state_dict().items()}})
        if steps == 0:
            break
    return model

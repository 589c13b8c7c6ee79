"""Who is speaking: Resemblyzer's pretrained speaker encoder (d-vectors). Introduced in notebook 07.

Resemblyzer's GE2E encoder (a 3-layer LSTM over 40-band mel frames) maps a clip to a unit
vector of 256 numbers; clips of the same voice point the same way. Its weights ship inside
the ``resemblyzer`` wheel and are loaded here as plain tensors, never unpickled. Used by
the embeddings lesson and by the score card (:mod:`voicelab.voice.metrics`).
Every clip is resampled to :data:`SR` (16 kHz) mono first, the rate the encoder was trained on.
"""
from __future__ import annotations

import os
import warnings
from functools import lru_cache
from pathlib import Path

import numpy as np

from ..core.errors import AudioError, VoicelabError

__all__ = ["SR", "clip", "encoder", "embedding", "cosine"]

#: Rate the encoder (and every metric of the score card) works at (Hz).
SR = 16000


def clip(item, sr: int | None = None, what: str = "audio") -> np.ndarray:
    """A path, ``(y, sr)`` pair or array at ``sr`` -> float32 mono at :data:`SR` Hz.

    ``what`` names the clip in error messages ("the reference", ...).
    """
    from .. import audio

    if isinstance(item, (str, os.PathLike)):
        y, _ = audio.load(item, sr=SR)
        return y
    if isinstance(item, tuple) and len(item) == 2:
        item, sr = item
    if sr is None:
        raise AudioError(f"{what} is an array but no sample rate was given; pass (y, sr) or a path.")
    y = np.asarray(item, dtype=np.float32)
    if y.ndim == 2:
        y = audio.to_mono(y)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"{what} must be a non-empty waveform of shape (n,), got shape {y.shape}.")
    if not np.isfinite(y).all():
        raise AudioError(f"{what} contains NaN or infinite samples, so it cannot be scored.")
    if int(sr) != SR:
        y = audio.resample(y, int(sr), SR)
    return np.ascontiguousarray(y, dtype=np.float32)


@lru_cache(maxsize=1)
def encoder():
    """Resemblyzer's VoiceEncoder, its wheel's weights loaded as tensors (no unpickling); one per process."""
    import torch
    from torch import nn

    from ..core import hub

    with warnings.catch_warnings():  # resemblyzer imports a deprecated scipy module path
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            import resemblyzer
            from resemblyzer import VoiceEncoder
            from resemblyzer import hparams as hp
        except ImportError as e:
            raise VoicelabError(
                "speaker similarity needs resemblyzer: `pip install --no-deps resemblyzer` and "
                f"`pip install webrtcvad-wheels` ({e}).") from e

    class _Encoder(VoiceEncoder):
        def __init__(self, weights: Path):  # replaces the parent's full-pickle load of its weights
            nn.Module.__init__(self)
            self.lstm = nn.LSTM(hp.mel_n_channels, hp.model_hidden_size, hp.model_num_layers,
                                batch_first=True)
            self.linear = nn.Linear(hp.model_hidden_size, hp.model_embedding_size)
            self.relu = nn.ReLU()
            self.device = torch.device("cpu")
            state = hub.load_weights(weights)["model_state"]
            self.load_state_dict({k: v for k, v in state.items()
                                  if k.startswith(("lstm.", "linear."))})
            self.eval()

    return _Encoder(Path(resemblyzer.__file__).with_name("pretrained.pt"))


def embedding(y, sr: int | None = None) -> np.ndarray:
    """Speaker embedding (256,) float32, unit length, of one clip. Introduced in notebook 07.

    Resemblyzer's pipeline: 16 kHz, volume normalised, long silences cut by WebRTC VAD,
    40-band mel frames, 1.6 s windows through a 3-layer LSTM, averaged.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from resemblyzer import preprocess_wav

    enc = encoder()
    wav = preprocess_wav(clip(y, sr, "the clip"))
    if wav.size < SR // 10:
        raise AudioError("after cutting silences less than 0.1 s of speech is left; "
                         "speaker similarity needs a clip with speech in it.")
    return enc.embed_utterance(wav).astype(np.float32)


def cosine(a, b) -> float:
    """Cosine similarity of two vectors: 1 for embeddings of the same voice, lower for others."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b) + 1e-12))

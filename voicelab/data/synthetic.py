"""Small data sets the project makes offline for the dev-book models (notebooks 13 and 14).

Introduced in notebook 13. Three tasks, each small enough to train on a CPU in seconds:

* :func:`spoken_words`: the ten digits "zero" .. "nine" spoken by the offline voices of
  :mod:`voicelab.data.speech`, several randomly varied takes each (speed, loudness, position, noise);
  :func:`log_mel` and :func:`mfcc` turn the waveforms into model inputs;
* :func:`sentences`: short English reviews, generated from templates, labelled by topic
  (food or film) and sentiment, where a "not" flips the sentiment; :class:`Vocab` turns
  them into token ids;
* :func:`moving_digits`: tiny videos of a scikit-learn digit sliding across a black frame,
  labelled by the direction of motion.

Waveforms ``y`` are float32 tensors (n, n_samples) at ``sr`` Hz; spectrograms ``S`` are
(n, 1, n_bins, n_frames) in [-1, 1]; videos (n, 1, T, H, W) in [0, 1].
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import digits, speech
from ..core.errors import DevDataError

__all__ = [
    "WORDS", "WordSet", "spoken_words", "log_mel", "mfcc", "TOPICS", "sentences", "Vocab",
    "DIRECTIONS", "moving_digits", "split_indices",
]

WORDS = ("zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine")
SR = 16000
HOP = 320          # 20 ms at 16 kHz
N_FFT = 512
TOP_DB = 80.0      # log spectrograms keep the 80 dB below each clip's peak


# ---------------------------------------------------------------------------- spoken words


@dataclass
class WordSet:
    """Spoken words: ``y`` (n, n_samples) float32 waveforms at ``sr`` Hz, ``labels`` (n,) word
    indices into ``words``, ``spk`` (n,) the voice of each take."""

    y: "torch.Tensor"
    labels: "torch.Tensor"
    spk: list[str]
    words: tuple[str, ...]
    sr: int

    def __len__(self) -> int:
        return len(self.labels)

    def only(self, speakers) -> "WordSet":
        """The takes of the given speakers only."""
        keep = [i for i, s in enumerate(self.spk) if s in set(speakers)]
        if not keep:
            raise DevDataError(f"no takes of {sorted(speakers)}; this set has {sorted(set(self.spk))}")
        return WordSet(self.y[keep], self.labels[keep], [self.spk[i] for i in keep], self.words, self.sr)


def _vary(y: np.ndarray, n_samples: int, rng: np.random.Generator, vary: bool) -> np.ndarray:
    """One take: speed x0.88-1.12, gain, a random place in the window, noise at 20-40 dB SNR."""
    if vary:
        speed = rng.uniform(0.88, 1.12)
        t = np.arange(0, len(y) - 1, speed)
        y = np.interp(t, np.arange(len(y)), y).astype(np.float32)
        y = y * rng.uniform(0.5, 1.0)
    if len(y) >= n_samples:
        start = (len(y) - n_samples) // 2
        out = y[start:start + n_samples].copy()
    else:
        out = np.zeros(n_samples, np.float32)
        offset = rng.integers(0, n_samples - len(y) + 1) if vary else (n_samples - len(y)) // 2
        out[offset:offset + len(y)] = y
    if vary:
        power = float(np.mean(out ** 2)) + 1e-12
        snr_db = rng.uniform(20, 40)
        out = out + rng.normal(0, np.sqrt(power / 10 ** (snr_db / 10)), n_samples).astype(np.float32)
    return out


def _trim(y: np.ndarray, sr: int, top_db: float = 35.0) -> np.ndarray:
    """Cut leading and trailing 10 ms frames quieter than ``top_db`` below the loudest one."""
    frame = sr // 100
    n = len(y) // frame
    rms = np.sqrt(np.mean(y[: n * frame].reshape(n, frame) ** 2, axis=1) + 1e-12)
    loud = np.flatnonzero(20 * np.log10(rms / rms.max()) > -top_db)
    return y[loud[0] * frame:(loud[-1] + 1) * frame]


def spoken_words(speakers=("slt", "rms", "awb", "kal", "espeak_f", "espeak_m"), words=WORDS,
                 takes: int = 4, seconds: float = 0.64, seed: int = 0, sr: int = SR) -> WordSet:
    """Every word of ``words`` spoken by every voice of ``speakers``, ``takes`` times each.

    Introduced in notebook 13. Each word is synthesised once per voice with
    :func:`voicelab.data.speech.synthesize`, its silence trimmed, then varied ``takes`` times
    (speed x0.88-1.12, which also moves the pitch; loudness; position in the window; noise at
    20-40 dB SNR), the first take of each left unvaried. Every take is ``seconds`` long (a word
    that is longer is cut in its middle). Deterministic for a given ``seed``.
    """
    import torch

    unknown = [s for s in speakers if s not in speech.VOICES]
    if unknown or not speakers or not words or takes < 1:
        raise DevDataError(f"spoken_words needs known speakers ({sorted(speech.VOICES)}), at least one "
                           f"word and takes >= 1; got speakers={list(speakers)}, {len(words)} words, "
                           f"takes={takes}.")
    n_samples = int(round(seconds * sr))
    rng = np.random.default_rng(seed)
    ys, labels, spk = [], [], []
    for s in speakers:
        for i, word in enumerate(words):
            y, _ = speech.synthesize(word, s, sr=sr)
            y = _trim(y, sr)
            y = y / (np.abs(y).max() + 1e-9) * 0.9
            for k in range(takes):
                ys.append(_vary(y, n_samples, rng, vary=k > 0))
                labels.append(i)
                spk.append(s)
    return WordSet(torch.tensor(np.stack(ys)), torch.tensor(labels), spk, tuple(words), sr)


def log_mel(y, sr: int, n_bins: int = 32, n_frames: int = 32, hop: int = HOP):
    """Log-mel spectrograms scaled to [-1, 1]: (n, n_samples) at ``sr`` Hz -> (n, 1, n_bins, n_frames).

    Introduced in notebook 13. Power mel spectrogram (``N_FFT`` = 512 samples, ``hop`` samples
    between frames), in dB relative to each clip's own peak, floored at -80 dB, then
    ``dB / 40 + 1``: 1 is the loudest cell of the clip, -1 is 80 dB below it or quieter.
    Frames are cut or zero-padded (-1) to ``n_frames``.
    """
    import torch
    import torchaudio

    y = torch.as_tensor(y, dtype=torch.float32)
    if y.dim() != 2 or y.shape[1] < N_FFT:
        raise DevDataError(f"log_mel wants waveforms of shape (n, n_samples >= {N_FFT}), "
                           f"got {tuple(y.shape)}")
    mel = torchaudio.transforms.MelSpectrogram(sr, n_fft=N_FFT, hop_length=hop, n_mels=n_bins)
    S = 10 * torch.log10(mel(y) + 1e-10)
    S = torch.maximum(S - S.amax(dim=(1, 2), keepdim=True), torch.tensor(-TOP_DB))
    S = S / (TOP_DB / 2) + 1
    if S.shape[-1] < n_frames:
        S = torch.nn.functional.pad(S, (0, n_frames - S.shape[-1]), value=-1.0)
    return S[:, None, :, :n_frames].contiguous()


def mfcc(y, sr: int, n_mfcc: int = 16, n_bins: int = 32, n_frames: int = 32, hop: int = HOP):
    """MFCCs of the :func:`log_mel` spectrogram: (n, n_samples) -> (n, 1, n_mfcc, n_frames).

    Introduced in notebook 13. A DCT along the mel axis of the [-1, 1] log-mel (orthonormal,
    divided by sqrt(n_bins) so that coefficient 0 stays in [-1, 1]), first ``n_mfcc`` kept:
    the smooth outline of each frame's spectrum (the vocal tract) without its fine detail.
    """
    import torchaudio

    S = log_mel(y, sr, n_bins, n_frames, hop)
    dct = torchaudio.functional.create_dct(n_mfcc, n_bins, norm="ortho")  # (n_bins, n_mfcc)
    return (S.transpose(2, 3) @ dct).transpose(2, 3) / np.sqrt(n_bins)


def split_indices(n: int, fractions=(0.8, 0.2), seed: int = 0) -> list[np.ndarray]:
    """Shuffle ``range(n)`` with ``seed`` and cut it into parts of the given fractions."""
    if n < len(fractions) or abs(sum(fractions) - 1) > 1e-6 or min(fractions) <= 0:
        raise DevDataError(f"split_indices: cannot cut {n} items into fractions {fractions} "
                           "(positive, summing to 1, at least one item each).")
    idx = np.random.default_rng(seed).permutation(n)
    cuts = np.round(np.cumsum(fractions)[:-1] * n).astype(int)
    return np.split(idx, cuts)


# ---------------------------------------------------------------------------- text

TOPICS = ("food", "film")
_NOUNS = {"food": ("soup", "pizza", "bread", "cake", "salad", "curry", "pasta", "pie"),
          "film": ("movie", "film", "show", "series", "story", "ending", "plot", "cast")}
_GOOD = ("good", "great", "lovely", "wonderful", "excellent", "fine", "brilliant", "superb")
_BAD = ("bad", "awful", "boring", "dull", "terrible", "poor", "weak", "horrible")
_TEMPLATES = ("the {noun} was {neg}{adv}{adj}", "i thought the {noun} was {neg}{adv}{adj}",
              "honestly the {noun} is {neg}{adv}{adj}", "this {noun} was {neg}{adv}{adj} today",
              "my friends said the {noun} was {neg}{adv}{adj}", "that {noun} is {neg}{adv}{adj}")
_ADVERBS = ("", "", "very ", "really ", "quite ")


def sentences(n: int = 600, seed: int = 0) -> tuple[list[str], "torch.Tensor", tuple[str, ...]]:
    """``n`` generated review sentences, their labels (n,) and the class names.

    Introduced in notebook 14. Four classes: topic (food / film) x sentiment (positive /
    negative). The sentiment comes from the adjective, flipped by "not" half of the time, so
    the order of words matters ("not good" is negative) and a bag of words is not enough.
    """
    import torch

    if n < 1:
        raise DevDataError(f"sentences: n must be >= 1, got {n}")
    rng = np.random.default_rng(seed)
    texts, labels = [], []
    for _ in range(n):
        t = int(rng.integers(len(TOPICS)))
        positive_word = bool(rng.integers(2))
        negated = bool(rng.integers(2))
        adj = rng.choice(_GOOD if positive_word else _BAD)
        text = rng.choice(_TEMPLATES).format(noun=rng.choice(_NOUNS[TOPICS[t]]),
                                             neg="not " if negated else "",
                                             adv=rng.choice(_ADVERBS), adj=adj)
        texts.append(str(text))
        labels.append(2 * t + int(positive_word != negated))
    names = tuple(f"{topic} {mood}" for topic in TOPICS for mood in ("negative", "positive"))
    return texts, torch.tensor(labels), names


class Vocab:
    """Word <-> id table built from texts: id 0 is padding, 1 is an unknown word.

    Introduced in notebook 14. ``encode`` gives (n, max_len) int64 ids, padded with 0 and cut
    at ``max_len``; ``decode`` turns ids back into text (padding dropped).
    """

    PAD, UNK = "<pad>", "<unk>"

    def __init__(self, texts):
        words = sorted({w for t in texts for w in t.split()})
        self.itos = [self.PAD, self.UNK] + words
        self.stoi = {w: i for i, w in enumerate(self.itos)}

    def __len__(self) -> int:
        return len(self.itos)

    def encode(self, texts, max_len: int = 12):
        import torch

        out = torch.zeros(len(texts), max_len, dtype=torch.int64)
        for i, t in enumerate(texts):
            ids = [self.stoi.get(w, 1) for w in t.split()][:max_len]
            out[i, :len(ids)] = torch.tensor(ids, dtype=torch.int64)
        return out

    def decode(self, tokens) -> list[str]:
        return [" ".join(self.itos[int(i)] for i in row if int(i) != 0) for row in tokens]


# ---------------------------------------------------------------------------- video

DIRECTIONS = ("right", "left", "down", "up")
_STEP = {"right": (0, 1), "left": (0, -1), "down": (1, 0), "up": (-1, 0)}


def moving_digits(n: int = 400, frames: int = 8, size: int = 16, digit_classes=range(10),
                  seed: int = 0):
    """``n`` tiny videos of a digit sliding one pixel per frame: ``(X, direction, digit)``.

    Introduced in notebook 14. X is (n, 1, frames, size, size) float32 in [0, 1]; ``direction``
    (n,) indexes :data:`DIRECTIONS` (the label to learn: it needs the time axis); ``digit`` (n,)
    is which scikit-learn digit moves (only digits in ``digit_classes`` are used, so a test set
    can hold shapes the model never saw). A little noise is added to every frame.
    """
    import torch

    side = digits.SIDE
    if size < side + frames - 1:
        raise DevDataError(f"moving_digits: a {side}-pixel digit moving for {frames} frames needs "
                           f"size >= {side + frames - 1}, got {size}")
    X_all, y_all = digits.load()
    pool = np.flatnonzero(np.isin(y_all.numpy(), list(digit_classes)))
    if len(pool) == 0:
        raise DevDataError(f"moving_digits: no digits in classes {list(digit_classes)}")
    rng = np.random.default_rng(seed)
    X = np.zeros((n, 1, frames, size, size), np.float32)
    direction = rng.integers(len(DIRECTIONS), size=n)
    chosen = rng.choice(pool, size=n)
    travel = frames - 1
    for i in range(n):
        dr, dc = _STEP[DIRECTIONS[direction[i]]]
        r0 = rng.integers(0, size - side + 1) if dr == 0 else (0 if dr > 0 else travel) + \
            rng.integers(0, size - side - travel + 1)
        c0 = rng.integers(0, size - side + 1) if dc == 0 else (0 if dc > 0 else travel) + \
            rng.integers(0, size - side - travel + 1)
        img = X_all[chosen[i], 0].numpy()
        for t in range(frames):
            r, c = r0 + dr * t, c0 + dc * t
            X[i, 0, t, r:r + side, c:c + side] = img
    X = np.clip(X + rng.normal(0, 0.05, X.shape).astype(np.float32), 0, 1)
    return torch.tensor(X), torch.tensor(direction), y_all[torch.tensor(chosen)]

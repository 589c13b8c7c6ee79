"""A tiny acoustic model: phonemes (+ a speaker embedding) -> durations -> mel frames.

Introduced in notebook 07. It is the "synthesizer" box of a text-to-speech system, small
enough to train in seconds on a CPU, in the non-autoregressive style of FastSpeech:

1. **Alignment** (:func:`align`): which mel frames belong to which phoneme? Nobody wrote
   it down, so it is found the classic way: start with equal durations ("flat start"),
   fit one mean mel frame per phoneme, then find the best monotonic path of phonemes
   through the frames by dynamic programming (monotonic alignment search), and repeat.
2. **Model** (:class:`AcousticModel`): phoneme embeddings plus the speaker embedding,
   a few 1-D convolutions, a duration head (log frames per phoneme), a length regulator
   that repeats each phoneme's vector for its frames, and more convolutions to 80 mel bands.
3. **Training** (:func:`train`): L1 loss on mel frames (with the aligned durations) plus
   squared error on log-durations.

The mel frames are :func:`voicelab.lessons.tts.mel` (SpeechT5's features), so a neural vocoder
trained for SpeechT5 (HiFi-GAN) or Griffin-Lim can turn them into sound.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import files, hub, runtime
from . import text as textmod
from ..core.errors import AcousticError, VoicelabError
from ..core.torchutil import seeded

__all__ = ["AcousticError", "Utterance", "tokens", "Vocabulary", "align", "mas",
           "AcousticModel", "train", "stretch", "mel_error", "synthesize_mel"]

SIL, WORD, UNK = "_", "|", "<unk>"


def tokens(text: str, lang: str = "en-us") -> list[str]:
    """Normalised text -> phoneme tokens with ``_`` (silence) at both ends and ``|`` between words.

    Introduced in notebook 07. Stress marks are dropped to keep the inventory small.
    """
    words = textmod.phonemes(textmod.normalize(text), lang=lang, stress=False)
    out = [SIL]
    for i, w in enumerate(words):
        if i:
            out.append(WORD)
        out.extend(w)
    return out + [SIL]


@dataclass
class Vocabulary:
    """Phoneme symbols <-> integer ids (0 is padding, 1 is unknown)."""

    symbols: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, token_lists) -> "Vocabulary":
        seen = sorted({t for toks in token_lists for t in toks})
        return cls(["<pad>", UNK] + seen)

    def ids(self, toks: list[str]) -> np.ndarray:
        index = {s: i for i, s in enumerate(self.symbols)}
        return np.array([index.get(t, 1) for t in toks], dtype=np.int64)

    def __len__(self) -> int:
        return len(self.symbols)


@dataclass
class Utterance:
    """One training example: its phoneme tokens, log-mel ``S`` (80, frames) and speaker key."""

    toks: list[str]
    S: np.ndarray
    spk: str
    durations: np.ndarray | None = None


# ------------------------------------------------------------------------------ alignment


def mas(loglik: np.ndarray) -> np.ndarray:
    """Monotonic alignment search: best path of N phonemes through T frames (N <= T).

    Introduced in notebook 07. ``loglik`` is (N, T): how well frame t fits phoneme i.
    Every phoneme gets at least one frame, in order, and every frame exactly one phoneme.
    Returns durations (N,) ints summing to T.
    """
    N, T = loglik.shape
    if N > T:
        raise AcousticError(f"cannot align {N} phonemes to only {T} frames; the clip is too short "
                            "for its text.")
    Q = np.full((N, T), -np.inf)
    Q[0, 0] = loglik[0, 0]
    for t in range(1, T):
        stay = Q[:, t - 1]
        move = np.concatenate([[-np.inf], Q[:-1, t - 1]])
        Q[:, t] = np.maximum(stay, move) + loglik[:, t]
    i, durations = N - 1, np.zeros(N, dtype=np.int64)
    for t in range(T - 1, -1, -1):
        durations[i] += 1
        if i > 0 and (t == i or Q[i - 1, t - 1] > Q[i, t - 1]):
            i -= 1
    return durations


def _uniform(n: int, T: int) -> np.ndarray:
    edges = np.round(np.linspace(0, T, n + 1)).astype(int)
    d = np.diff(edges)
    return np.maximum(d, 1) if d.sum() == T and (d > 0).all() else _fix(d, T)


def _fix(d, T):
    d = np.maximum(d, 1)
    while d.sum() > T:
        d[np.argmax(d)] -= 1
    d[-1] += T - d.sum()
    return d


def align(utts: list[Utterance], iterations: int = 5) -> list[np.ndarray]:
    """Flat start + per-phoneme Gaussian + :func:`mas`, repeated; sets and returns ``utt.durations``.

    Introduced in notebook 07. Means are fitted per speaker and phoneme (frames of
    different voices differ), with one shared variance per mel band.
    """
    if not utts:
        raise AcousticError("align() needs at least one utterance.")
    durs = [_uniform(len(u.toks), u.S.shape[1]) for u in utts]
    for _ in range(iterations):
        sums, counts = {}, {}
        for u, d in zip(utts, durs):
            owner = np.repeat(np.arange(len(u.toks)), d)
            for i, tok in enumerate(u.toks):
                key = (u.spk, tok)
                frames = u.S.T[owner == i]
                sums[key] = sums.get(key, 0) + frames.sum(axis=0)
                counts[key] = counts.get(key, 0) + len(frames)
        means = {k: sums[k] / max(counts[k], 1) for k in sums}
        resid = np.concatenate([u.S.T - np.stack([means[(u.spk, t)] for t in u.toks])[np.repeat(
            np.arange(len(u.toks)), d)] for u, d in zip(utts, durs)])
        var = resid.var(axis=0) + 1e-3
        new = []
        for u in utts:
            mu = np.stack([means[(u.spk, t)] for t in u.toks])              # (N, 80)
            ll = -0.5 * (((u.S.T[None, :, :] - mu[:, None, :]) ** 2) / var).sum(-1)
            new.append(mas(ll))
        durs = new
    for u, d in zip(utts, durs):
        u.durations = d
    return durs


# -------------------------------------------------------------------------------- model


def _torch():
    import torch

    return torch


class AcousticModel:
    """Phonemes + speaker embedding -> (log-durations, mel frames). Introduced in notebook 07.

    A thin wrapper around a torch module: :meth:`predict` for inference, :meth:`save`
    and :meth:`load` (safetensors + JSON, no pickle).
    """

    def __init__(self, vocab: Vocabulary, speakers: dict[str, np.ndarray], hidden: int = 128,
                 n_mels: int = 80, seed: int = 0, kernel: int = 3):
        from torch import nn

        if kernel % 2 == 0 or kernel < 1:
            raise AcousticError(f"kernel={kernel} must be an odd number of frames (1, 3, 5 ...).")
        self.vocab, self.hidden, self.n_mels, self.kernel = vocab, hidden, n_mels, kernel
        self.speakers = {k: np.asarray(v, dtype=np.float32) for k, v in speakers.items()}
        spk_dim = len(next(iter(self.speakers.values())))

        def convs(n):
            layers = []
            for _ in range(n):
                layers += [nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2), nn.ReLU(), nn.Dropout(0.1)]
            return nn.Sequential(*layers)

        with seeded(seed):
            self.net = nn.ModuleDict({
                "embed": nn.Embedding(len(vocab), hidden, padding_idx=0),
                "speaker": nn.Linear(spk_dim, hidden),
                "encoder": convs(3),
                "duration": nn.Conv1d(hidden, 1, 3, padding=1),
                "position": nn.Linear(1, hidden),
                "decoder": convs(3),
                "out": nn.Conv1d(hidden, n_mels, 1),
            })
        self.net.eval()

    # --- pieces
    def _encode(self, ids, spk_emb):
        net = self.net
        h = net["embed"](ids) + net["speaker"](spk_emb)[:, None, :]       # (B, N, H)
        h = net["encoder"](h.transpose(1, 2))                             # (B, H, N)
        logdur = net["duration"](h).squeeze(1)                            # (B, N)
        return h, logdur

    @staticmethod
    def _regulate(durations):
        """Length regulator indices: for each output frame, its phoneme and relative position in it.

        durations: (B, N) ints -> index (B, T) long, pos (B, T, 1) in [0, 1), mask (B, T, 1).
        """
        torch = _torch()
        durations = torch.as_tensor(durations).long()
        B, N = durations.shape
        T = max(int(durations.sum(1).max()), 1)
        index = torch.zeros(B, T, dtype=torch.long)
        pos = torch.zeros(B, T, 1)
        mask = torch.zeros(B, T, 1)
        for b in range(B):
            d = durations[b]
            owner = torch.repeat_interleave(torch.arange(N), d)
            n = len(owner)
            starts = torch.cumsum(d, 0) - d
            index[b, :n] = owner
            pos[b, :n, 0] = (torch.arange(n) - starts[owner]).float() / d[owner].clamp(min=1).float()
            mask[b, :n] = 1
        return index, pos, mask

    def _decode(self, h, regulated, spk_emb):
        """Repeat each phoneme's vector for its frames (``regulated`` from :meth:`_regulate`), decode to mel."""
        net = self.net
        index, pos, mask = regulated
        frames = h.gather(2, index[:, None, :].expand(-1, h.shape[1], -1))     # (B, H, T)
        x = (frames + (net["position"](pos) + net["speaker"](spk_emb)[:, None, :]).transpose(1, 2)) \
            * mask.transpose(1, 2)
        return net["out"](net["decoder"](x)).transpose(1, 2)                    # (B, T, n_mels)

    def _spk(self, spk):
        torch = _torch()
        if isinstance(spk, str):
            if spk not in self.speakers:
                raise AcousticError(f"unknown speaker {spk!r}; this model knows {sorted(self.speakers)}, "
                                    "or pass a speaker embedding vector.")
            spk = self.speakers[spk]
        return torch.as_tensor(np.asarray(spk, dtype=np.float32))[None]

    def predict(self, toks: list[str], spk, durations=None, speed: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
        """Mel frames (T, 80) and durations (N,) for phoneme tokens and a speaker.

        ``spk`` is a speaker key of the model or an embedding vector (256,). With
        ``durations=None`` the model's own duration predictions are used (divided by
        ``speed``); pass the aligner's durations to compare frame by frame.
        """
        torch = _torch()
        ids = torch.as_tensor(self.vocab.ids(toks))[None]
        emb = self._spk(spk)
        with torch.no_grad():
            h, logdur = self._encode(ids, emb)
            if durations is None:
                d = torch.clamp(torch.round(torch.exp(logdur[0]) / speed), min=1).long()
            else:
                d = torch.as_tensor(np.asarray(durations, dtype=np.int64))
            S = self._decode(h, self._regulate(d[None]), emb)[0]
        return S.numpy().T, d.numpy()   # (80, T), like every S in voicelab

    # --- files
    def save(self, folder) -> Path:
        """Write the model to ``folder`` (``acoustic.safetensors`` + ``acoustic.json``); return the folder.

        The folder is written all or nothing and replaces an earlier one as a whole
        (:func:`voicelab.core.files.atomic_folder`): an interrupted save leaves the old model or
        the new one, never weights of one with the settings of the other.
        """
        folder = Path(folder)
        state = {f"net.{k}": v for k, v in self.net.state_dict().items()}
        torch = _torch()
        for name, emb in self.speakers.items():
            state[f"speaker.{name}"] = torch.as_tensor(emb)
        with files.atomic_folder(folder, overwrite=True) as tmp:
            hub.save_weights(state, tmp / "acoustic.safetensors")
            files.write_json(tmp / "acoustic.json", {
                "symbols": self.vocab.symbols, "hidden": self.hidden, "n_mels": self.n_mels,
                "kernel": self.kernel, "speakers": sorted(self.speakers)}, indent=1)
        return folder

    @classmethod
    def load(cls, folder) -> "AcousticModel":
        """The model :meth:`save` wrote to ``folder``; :class:`AcousticError` naming the file when it cannot."""
        folder = Path(folder)
        try:
            config = json.loads((folder / "acoustic.json").read_text())
        except (OSError, ValueError) as e:
            raise AcousticError(f"{folder / 'acoustic.json'} is missing or not JSON ({e}); save the "
                                "model with AcousticModel.save first.") from e
        try:
            state = hub.load_weights(folder / "acoustic.safetensors")
            speakers = {k: state[f"speaker.{k}"].numpy() for k in config["speakers"]}
            model = cls(Vocabulary(config["symbols"]), speakers, config["hidden"], config["n_mels"],
                        kernel=config.get("kernel", 3))
            model.net.load_state_dict({k[4:]: v for k, v in state.items() if k.startswith("net.")})
        except (VoicelabError, KeyError, RuntimeError) as e:
            raise AcousticError(f"{folder}: the saved acoustic model does not load ({e}); it was "
                                "probably saved by another version of voicelab: train and save it "
                                "again.") from e
        return model


def train(utts: list[Utterance], speakers: dict[str, np.ndarray], *, steps: int = 400,
          batch_size: int = 8, hidden: int = 128, kernel: int = 3, lr: float = 2e-3, seed: int = 0,
          progress: bool = True, device: str | None = None) -> tuple[AcousticModel, list[float]]:
    """Train an :class:`AcousticModel` on aligned utterances (see :func:`align`). Introduced in notebook 07.

    Adam for ``steps`` steps on random batches of ``batch_size`` utterances, on ``device``
    (default :func:`voicelab.core.runtime.pick_device`: the GPU in FULL mode where there is one).
    Returns the model, moved back to the CPU for :meth:`AcousticModel.predict`, and the mel
    loss per step. ``progress`` shows a text progress bar.
    """
    torch = _torch()
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    device = torch.device(runtime.pick_device(device))

    if not utts or any(u.durations is None for u in utts):
        raise AcousticError("train() needs utterances with durations: run acoustic.align(utts) first.")
    missing = sorted({u.spk for u in utts} - set(speakers))
    if missing:
        raise AcousticError(f"no speaker embedding for {missing}; pass speakers={{name: embedding}}.")
    vocab = Vocabulary.build(u.toks for u in utts)
    model = AcousticModel(vocab, speakers, hidden=hidden, seed=seed, kernel=kernel)
    B, N, T = len(utts), max(len(u.toks) for u in utts), max(u.S.shape[1] for u in utts)
    ids = torch.zeros(B, N, dtype=torch.long)
    durs = torch.zeros(B, N, dtype=torch.long)
    target = torch.zeros(B, T, model.n_mels)
    mask = torch.zeros(B, T, 1)
    emb = torch.stack([torch.as_tensor(model.speakers[u.spk]) for u in utts])
    for b, u in enumerate(utts):
        ids[b, :len(u.toks)] = torch.as_tensor(vocab.ids(u.toks))
        durs[b, :len(u.toks)] = torch.as_tensor(u.durations)
        target[b, :u.S.shape[1]] = torch.as_tensor(u.S.T)   # the network works frame-major
        mask[b, :u.S.shape[1]] = 1
    tok_mask = (ids > 0).float()
    log_target = torch.log(durs.float().clamp(min=1))
    regulated = tuple(r.to(device) for r in model._regulate(durs))
    ids, emb, target, mask, tok_mask, log_target = (
        t.to(device) for t in (ids, emb, target, mask, tok_mask, log_target))
    model.net.to(device)
    with seeded(seed):
        opt = torch.optim.Adam(model.net.parameters(), lr=lr)
        sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
        model.net.train()
        losses = []
        order = torch.randperm(B).to(device)
        # about ten updates: each is a line of text kept in a saved notebook
        for step in tqdm(range(steps), desc="acoustic model", unit="step", disable=not progress,
                         miniters=max(1, steps // 10), mininterval=1.0, maxinterval=float("inf")):
            start = (step * batch_size) % B
            if start < batch_size and step:
                order = torch.randperm(B).to(device)
            b = order[start:start + batch_size]
            Tb = int(mask[b].sum(1).max())
            reg = tuple(r[b][:, :Tb] for r in regulated)
            h, logdur = model._encode(ids[b], emb[b])
            S = model._decode(h, reg, emb[b])
            m = mask[b][:, :Tb]
            mel_loss = (torch.abs(S - target[b][:, :Tb]) * m).sum() / (m.sum() * model.n_mels)
            dur_loss = (((logdur - log_target[b]) ** 2) * tok_mask[b]).sum() / tok_mask[b].sum()
            loss = mel_loss + dur_loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(float(mel_loss.detach()))
        model.net.eval()
    model.net.to("cpu")
    return model, losses


def stretch(S: np.ndarray, frames: int) -> np.ndarray:
    """Log-mel ``S`` (80, T) stretched or squeezed in time to (80, ``frames``), linearly interpolated.

    Introduced in notebook 07, to compare a spectrogram made with a model's own durations
    with a recording of another length.
    """
    S = np.asarray(S, dtype=np.float32)
    if frames < 1 or S.ndim != 2 or S.shape[1] < 1:
        raise AcousticError(f"stretch() needs a (bands, frames) spectrogram and frames >= 1; got "
                            f"{S.shape} and frames={frames}.")
    src = np.linspace(0, S.shape[1] - 1, frames)
    return np.stack([np.interp(src, np.arange(S.shape[1]), band) for band in S])


def mel_error(model: AcousticModel, utts: list[Utterance], own_durations: bool = False) -> float:
    """Mean absolute log10-mel error of ``model`` on aligned utterances. Lower is better.

    Introduced in notebook 07 (20 * error is roughly dB). By default the model is given each
    utterance's aligned durations (taken from the recording itself), so only the frames are
    judged. With ``own_durations=True`` it uses its own predicted durations, as it must for new
    text, and its output is stretched (:func:`stretch`) to the recording's length before the
    comparison: the error then also counts timing within the sentence, not total length.
    """
    errs = []
    for u in utts:
        if u.durations is None:
            raise AcousticError("mel_error() needs aligned utterances: run acoustic.align first.")
        if own_durations:
            S, _ = model.predict(u.toks, u.spk)
            S = stretch(S, u.S.shape[1])
        else:
            S, _ = model.predict(u.toks, u.spk, durations=u.durations)
        errs.append(np.abs(S - u.S).mean())
    return float(np.mean(errs))


def synthesize_mel(model: AcousticModel, text: str, spk, speed: float = 1.0) -> np.ndarray:
    """Text -> normalise -> phonemes -> log-mel (80, T) with the model's own durations."""
    if not text or not text.strip():
        raise AcousticError("synthesize_mel(): the text is empty.")
    S, _ = model.predict(tokens(text), spk, speed=speed)
    return S

"""Music generation: a plucked string from physics, a tiny melody model, and MusicGen.

Introduced in notebook 12.

* :func:`karplus_strong`: physical-modelling synthesis of a plucked string (a burst of
  noise circulating in a delay line one period long, averaged a little on every trip).
* :func:`render`: a melody (``[(midi_pitch, beats), ...]``) played on that string.
* :data:`TUNES` + :class:`MelodyModel` + :func:`train_melody_model`: a small recurrent
  network over symbolic notes (interval to the previous note, duration), trained in
  seconds on a handful of public-domain tunes written out here, then sampled.
* :func:`load_musicgen` / :func:`generate`: Meta's MusicGen through transformers, with
  text prompts, and the melody variant conditioned on a tune's chromagram. Loaded via
  :mod:`voicelab.core.hub`; offline the stand-ins are tiny random models of the same classes
  (noise, not music: see :func:`voicelab.core.hub.is_stand_in`).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import hub, runtime
from ..core.errors import MusicError
from ..core.torchutil import seeded

__all__ = [
    "MusicError", "midi_to_hz", "note_to_midi", "karplus_strong", "render", "TUNES", "parse_tune",
    "DURATIONS", "INTERVALS", "encode", "decode", "MelodyModel", "train_melody_model",
    "in_key_fraction", "MUSICGEN", "MUSICGEN_MELODY", "load_musicgen", "generate", "SR",
]

SR = 16000
_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


# ------------------------------------------------------------------------------- physics


def midi_to_hz(pitch: float) -> float:
    """MIDI note number -> frequency in Hz (69 = A4 = 440 Hz, 12 notes per octave)."""
    return 440.0 * 2.0 ** ((float(pitch) - 69.0) / 12.0)


def note_to_midi(name: str) -> int:
    """``"C4"`` -> 60, ``"F#3"`` -> 54, ``"Bb4"`` -> 70. Introduced in notebook 12."""
    m = re.fullmatch(r"([A-Ga-g])([#b]?)(-?\d)", name.strip())
    if not m:
        raise MusicError(f"{name!r} is not a note name like 'C4', 'F#3' or 'Bb4'.")
    pitch = _NAMES[m[1].upper()] + {"#": 1, "b": -1, "": 0}[m[2]]
    return 12 * (int(m[3]) + 1) + pitch


def karplus_strong(freq: float, seconds: float, sr: int = SR, *, decay: float = 0.996,
                   brightness: float = 0.5, seed: int = 0) -> np.ndarray:
    """A plucked string at ``freq`` Hz for ``seconds`` s (float32). Introduced in notebook 12.

    Karplus-Strong: a delay line of ``sr / freq`` samples is filled with noise (the pluck);
    every time the wave goes round, each sample is replaced by a weighted average of two
    neighbours (``brightness`` weights the newer one) times ``decay``. The averaging is a
    low-pass filter, so high harmonics die first, as on a real string. A fractional delay
    (first-order all-pass) keeps the pitch in tune.
    """
    if not (20.0 <= freq <= sr / 4):
        raise MusicError(f"freq={freq} Hz is outside 20 Hz .. sr/4 = {sr / 4:g} Hz.")
    if not (0.0 < decay <= 1.0) or not (0.0 <= brightness <= 1.0):
        raise MusicError("decay must be in (0, 1] and brightness in [0, 1].")
    n = int(round(seconds * sr))
    if n <= 0:
        raise MusicError(f"seconds={seconds} gives no samples.")
    period = sr / freq - 0.5                       # the averaging filter delays by half a sample
    delay = int(math.floor(period))
    frac = period - delay
    coef = (1.0 - frac) / (1.0 + frac)            # all-pass for the fractional part
    # The loop "out[n] = pluck[n] + filter(out[n - delay])" written as one IIR filter:
    # y = x * A / (A - decay * z^-delay * (b + (1 - b) z^-1) * (coef + z^-1)), A = 1 + coef z^-1.
    from scipy.signal import lfilter

    rng = np.random.default_rng(seed)
    pluck = np.zeros(n)
    burst = rng.uniform(-1.0, 1.0, min(delay, n))
    pluck[: len(burst)] = burst - burst.mean()
    b = brightness
    den = np.zeros(delay + 3)
    den[0], den[1] = 1.0, coef
    den[delay:delay + 3] -= decay * np.array([b * coef, b + (1.0 - b) * coef, 1.0 - b])
    out = lfilter([1.0, coef], den, pluck)
    return (out / max(1e-9, np.max(np.abs(out)))).astype(np.float32)


def render(notes, bpm: float = 110.0, sr: int = SR, *, ring: float = 0.4, seed: int = 0) -> np.ndarray:
    """Play ``notes`` = ``[(midi_pitch, beats), ...]`` on Karplus-Strong strings; float32 at ``sr``.

    Introduced in notebook 12. A pitch of ``None`` is a rest. Each note rings ``ring`` s
    past its length (overlapping the next), as a plucked string does.
    """
    notes = list(notes)
    if not notes:
        raise MusicError("render(): no notes to play.")
    beat = 60.0 / bpm
    total = sum(b for _, b in notes) * beat + ring
    y = np.zeros(int(total * sr) + 1, dtype=np.float32)
    t = 0.0
    for k, (pitch, beats) in enumerate(notes):
        if beats <= 0:
            raise MusicError(f"note {k} has {beats} beats; durations must be positive.")
        if pitch is not None:
            tone = karplus_strong(midi_to_hz(pitch), beats * beat + ring, sr, seed=seed + k)
            start = int(t * sr)
            y[start:start + len(tone)] += 0.3 * tone[: len(y) - start]
        t += beats * beat
    peak = float(np.max(np.abs(y)))
    return y / peak * 0.9 if peak > 0.9 else y


# ------------------------------------------------------------------------------ symbolic


#: Public-domain tunes (traditional or long out of copyright), written for this project as
#: ``NOTE:BEATS`` tokens (``R`` is a rest). Notes are in C major or A minor for reading ease.
TUNES = {
    "ode_to_joy": "E4:1 E4:1 F4:1 G4:1 G4:1 F4:1 E4:1 D4:1 C4:1 C4:1 D4:1 E4:1 E4:1.5 D4:0.5 D4:2 "
                  "E4:1 E4:1 F4:1 G4:1 G4:1 F4:1 E4:1 D4:1 C4:1 C4:1 D4:1 E4:1 D4:1.5 C4:0.5 C4:2",
    "twinkle": "C4:1 C4:1 G4:1 G4:1 A4:1 A4:1 G4:2 F4:1 F4:1 E4:1 E4:1 D4:1 D4:1 C4:2 "
               "G4:1 G4:1 F4:1 F4:1 E4:1 E4:1 D4:2 G4:1 G4:1 F4:1 F4:1 E4:1 E4:1 D4:2",
    "mary_lamb": "E4:1 D4:1 C4:1 D4:1 E4:1 E4:1 E4:2 D4:1 D4:1 D4:2 E4:1 G4:1 G4:2 "
                 "E4:1 D4:1 C4:1 D4:1 E4:1 E4:1 E4:1 E4:1 D4:1 D4:1 E4:1 D4:1 C4:4",
    "frere_jacques": "C4:1 D4:1 E4:1 C4:1 C4:1 D4:1 E4:1 C4:1 E4:1 F4:1 G4:2 E4:1 F4:1 G4:2 "
                     "G4:0.5 A4:0.5 G4:0.5 F4:0.5 E4:1 C4:1 G4:0.5 A4:0.5 G4:0.5 F4:0.5 E4:1 C4:1 "
                     "C4:1 G3:1 C4:2 C4:1 G3:1 C4:2",
    "saints": "C4:1 E4:1 F4:1 G4:4 C4:1 E4:1 F4:1 G4:4 C4:1 E4:1 F4:1 G4:2 E4:2 C4:2 E4:2 D4:4 "
              "E4:1 E4:1 D4:1 C4:3 C4:1 E4:2 G4:2 G4:1 F4:3",
    "old_macdonald": "G4:1 G4:1 G4:1 D4:1 E4:1 E4:1 D4:2 B4:1 B4:1 A4:1 A4:1 G4:3 D4:1 "
                     "G4:1 G4:1 G4:1 D4:1 E4:1 E4:1 D4:2 B4:1 B4:1 A4:1 A4:1 G4:4",
    "amazing_grace": "G3:1 C4:2 E4:0.5 C4:0.5 E4:2 D4:1 C4:2 A3:1 G3:2 G3:1 C4:2 E4:0.5 C4:0.5 "
                     "E4:2 D4:1 G4:3 G4:2 E4:1 G4:1.5 E4:0.5 C4:1 G3:2 A3:1 C4:1.5 A3:0.5 G3:1 "
                     "G3:2 G3:1 C4:2 E4:0.5 C4:0.5 E4:2 D4:1 C4:3",
    "jingle_bells": "E4:1 E4:1 E4:2 E4:1 E4:1 E4:2 E4:1 G4:1 C4:1.5 D4:0.5 E4:4 F4:1 F4:1 F4:1.5 "
                    "F4:0.5 F4:1 E4:1 E4:1 E4:0.5 E4:0.5 E4:1 D4:1 D4:1 E4:1 D4:2 G4:2",
    "scarborough_fair": "A3:2 A3:1 E4:2 E4:1 B3:1.5 C4:0.5 B3:1 A3:3 E4:1 G4:2 A4:1 G4:2 E4:1 "
                        "F#4:1 D4:1 E4:1 B3:3 E4:2 A4:2 A4:1 G4:2 E4:1 E4:1 D4:1 C4:1 B3:1 A3:1 "
                        "G3:1 A3:2 E4:1 D4:2 C4:1 B3:2 A3:1 G3:2 A3:3",
    "greensleeves": "A3:1 C4:2 D4:1 E4:1.5 F4:0.5 E4:1 D4:2 B3:1 G3:1.5 A3:0.5 B3:1 C4:2 A3:1 "
                    "A3:1.5 G#3:0.5 A3:1 B3:2 G#3:1 E3:2 A3:1 C4:2 D4:1 E4:1.5 F4:0.5 E4:1 D4:2 "
                    "B3:1 G3:1.5 A3:0.5 B3:1 C4:1.5 B3:0.5 A3:1 G#3:1.5 F#3:0.5 G#3:1 A3:3",
}
#: The note lengths (beats) the model knows, and the intervals (semitones) between notes.
DURATIONS = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0)
INTERVALS = tuple(range(-12, 13))


def parse_tune(text: str) -> list[tuple[int | None, float]]:
    """``"C4:1 R:0.5 E4:2"`` -> ``[(60, 1.0), (None, 0.5), (64, 2.0)]``. Introduced in notebook 12."""
    notes = []
    for tok in text.split():
        name, sep, beats = tok.partition(":")
        if not sep:
            raise MusicError(f"{tok!r}: write notes as NOTE:BEATS, e.g. 'C4:1' or 'R:0.5' for a rest.")
        try:
            length = float(beats)
        except ValueError:
            raise MusicError(f"{tok!r}: {beats!r} is not a number of beats.") from None
        notes.append((None if name.upper() == "R" else note_to_midi(name), length))
    if not notes:
        raise MusicError("the tune is empty.")
    return notes


def encode(notes) -> np.ndarray:
    """Notes -> (n-1, 2) ints: interval class (index into :data:`INTERVALS`) and duration class.

    Intervals make the model key-free (a tune and its transposition are the same data).
    Rests are dropped; intervals beyond an octave are folded into it; lengths snap to
    the nearest of :data:`DURATIONS`.
    """
    pitched = [(p, b) for p, b in notes if p is not None]
    if len(pitched) < 2:
        raise MusicError("a tune needs at least two notes to have intervals.")
    rows = []
    for (p0, _), (p1, b1) in zip(pitched, pitched[1:]):
        step = int(np.clip(p1 - p0, -12, 12))
        dur = int(np.argmin([abs(b1 - d) for d in DURATIONS]))
        rows.append((step + 12, dur))
    return np.array(rows, dtype=np.int64)


def decode(rows, start: int = 60) -> list[tuple[int, float]]:
    """Inverse of :func:`encode`, starting from MIDI pitch ``start`` (a crotchet)."""
    notes, pitch = [(start, 1.0)], start
    for step, dur in rows:
        pitch = int(np.clip(pitch + INTERVALS[int(step)], 36, 96))
        notes.append((pitch, DURATIONS[int(dur)]))
    return notes


def in_key_fraction(notes) -> float:
    """Fraction of notes inside the best-fitting major scale (any of the 12 keys; the natural
    minor scales use the same notes). Introduced in notebook 12.

    A cheap check that a melody keeps to a key: real tunes score near 1, random notes
    about 0.7 (over ~30 notes the best of 12 keys fits some by chance).
    """
    pitched = [p for p, _ in notes if p is not None]
    if not pitched:
        raise MusicError("no pitched notes to check.")
    classes = np.array(pitched) % 12
    major = np.array([0, 2, 4, 5, 7, 9, 11])
    return float(max(np.isin((classes - tonic) % 12, major).mean() for tonic in range(12)))


@dataclass
class MelodyModel:
    """A GRU over (interval, duration) tokens with two softmax heads. Introduced in notebook 12."""

    net: object
    hidden: int

    @classmethod
    def create(cls, hidden: int = 64, seed: int = 0) -> "MelodyModel":
        import torch
        from torch import nn

        class Net(nn.Module):
            def __init__(self):
                super().__init__()
                self.step = nn.Embedding(len(INTERVALS) + 1, hidden)      # +1: start token
                self.dur = nn.Embedding(len(DURATIONS) + 1, hidden)
                self.gru = nn.GRU(hidden, hidden, batch_first=True)
                self.head_step = nn.Linear(hidden, len(INTERVALS))
                self.head_dur = nn.Linear(hidden + hidden, len(DURATIONS))

            def forward(self, steps, durs, next_steps, h=None):
                x = self.step(steps) + self.dur(durs)
                out, h = self.gru(x, h)
                # duration is predicted knowing the interval chosen (a two-step factorisation)
                return self.head_step(out), self.head_dur(torch.cat([out, self.step(next_steps)], -1)), h

        with seeded(seed):
            net = Net()
        net.eval()
        return cls(net, hidden)

    def nll(self, rows) -> float:
        """Mean negative log-likelihood (nats per note, interval + duration) of encoded rows."""
        import torch

        steps, durs = _inputs(rows)
        with torch.no_grad():
            ls, ld, _ = self.net(steps, durs, torch.as_tensor(rows[None, :, 0]))
            tgt = torch.as_tensor(rows)[None]
            loss = torch.nn.functional.cross_entropy(ls[0], tgt[0, :, 0]) + \
                torch.nn.functional.cross_entropy(ld[0], tgt[0, :, 1])
        return float(loss)

    def sample(self, n: int = 32, start: int = 60, temperature: float = 0.8, seed: int = 0):
        """Sample ``n`` notes after a first note ``start`` (MIDI); returns ``[(pitch, beats), ...]``."""
        import torch

        if n < 1 or temperature <= 0:
            raise MusicError("sample(): n must be >= 1 and temperature > 0.")
        g = torch.Generator().manual_seed(seed)
        step = torch.tensor([[len(INTERVALS)]])
        dur = torch.tensor([[len(DURATIONS)]])
        h, rows = None, []
        with torch.no_grad():
            for _ in range(n):
                x = self.net.step(step) + self.net.dur(dur)
                out, h = self.net.gru(x, h)
                p = torch.softmax(self.net.head_step(out[0, -1]) / temperature, -1)
                s = int(torch.multinomial(p, 1, generator=g))
                q = torch.softmax(self.net.head_dur(torch.cat([out[0, -1], self.net.step.weight[s]])) /
                                  temperature, -1)
                d = int(torch.multinomial(q, 1, generator=g))
                rows.append((s, d))
                step, dur = torch.tensor([[s]]), torch.tensor([[d]])
        return decode(rows, start)


def _inputs(rows):
    """Teacher forcing: inputs are the previous token (a start token first)."""
    import torch

    rows = np.asarray(rows)
    steps = np.concatenate([[len(INTERVALS)], rows[:-1, 0]])
    durs = np.concatenate([[len(DURATIONS)], rows[:-1, 1]])
    return torch.as_tensor(steps)[None], torch.as_tensor(durs)[None]


def train_melody_model(tunes, *, steps: int = 300, hidden: int = 64, lr: float = 3e-3,
                       seed: int = 0, progress: bool = True) -> tuple[MelodyModel, list[float]]:
    """Train a :class:`MelodyModel` on tunes (lists of notes). Returns the model and the losses.

    Introduced in notebook 12. Each step is one tune (teacher forcing), Adam.
    """
    import torch
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    data = [encode(t) for t in tunes]
    if not data:
        raise MusicError("train_melody_model() needs at least one tune.")
    model = MelodyModel.create(hidden, seed)
    opt = torch.optim.Adam(model.net.parameters(), lr=lr)
    losses = []
    model.net.train()
    with seeded(seed):
        g = torch.Generator().manual_seed(seed)
        for _ in tqdm(range(steps), desc="melody model", unit="step", disable=not progress,
                      mininterval=2):
            rows = data[int(torch.randint(len(data), (1,), generator=g))]
            steps_in, durs_in = _inputs(rows)
            tgt = torch.as_tensor(rows)
            ls, ld, _ = model.net(steps_in, durs_in, tgt[None, :, 0])
            loss = torch.nn.functional.cross_entropy(ls[0], tgt[:, 0]) + \
                torch.nn.functional.cross_entropy(ld[0], tgt[:, 1])
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(float(loss.detach()))
    model.net.eval()
    return model, losses


def unigram_nll(train_tunes, rows) -> float:
    """NLL (nats per note) of encoded ``rows`` under interval and duration frequencies of
    ``train_tunes`` (add-one smoothing): the baseline a sequence model has to beat."""
    data = np.concatenate([encode(t) for t in train_tunes])
    p_step = (np.bincount(data[:, 0], minlength=len(INTERVALS)) + 1.0)
    p_dur = (np.bincount(data[:, 1], minlength=len(DURATIONS)) + 1.0)
    p_step, p_dur = p_step / p_step.sum(), p_dur / p_dur.sum()
    rows = np.asarray(rows)
    return float(-np.mean(np.log(p_step[rows[:, 0]]) + np.log(p_dur[rows[:, 1]])))


# --------------------------------------------------------------------------------- MusicGen

_T5_WORDS = ("a an the and with of in on for to by at from upbeat calm slow fast happy sad sound "
             "music song melody piano guitar drums bass synth violin strings orchestra jazz rock pop "
             "lofi folk electronic dance ambient acoustic electric beat rhythm chill heavy soft loud "
             "80s 90s bpm bach").split()
#: t5-base's tokenizer, as both MusicGen repositories publish it: 32000 sentencepiece pieces plus
#: 100 ``<extra_id_*>`` tokens; the text encoder's embedding has 32128 rows.
_T5_PIECES, _T5_EXTRA_IDS, _T5_VOCAB = 32000, 100, 32128


def _t5_pieces(n: int | None = None) -> list[tuple[str, float]]:
    """Unigram pieces: the prompt words above, the alphabet and digits; ``n`` pads with filler
    pieces to t5-base's count (a full-size tokenizer, not its real vocabulary)."""
    pieces = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("\u2581", -2.0)]
    pieces += [("\u2581" + w, -3.0) for w in _T5_WORDS]
    pieces += [(c, -6.0) for c in "abcdefghijklmnopqrstuvwxyz0123456789,.-'"]
    if n is not None:
        pieces += [(f"\u2581x{k}", -9.0) for k in range(n - len(pieces))]
    return pieces


def _write_t5_tokenizer(folder: Path, pieces, extra_ids: int):
    """Write a T5 tokenizer as t5-base's files are published (``spiece.model``, ``tokenizer.json``,
    ``tokenizer_config.json``, ``special_tokens_map.json``); return the tokenizer."""
    import json

    from sentencepiece import sentencepiece_model_pb2 as spm_pb2
    from transformers import T5Tokenizer

    proto = spm_pb2.ModelProto()
    proto.trainer_spec.model_type = spm_pb2.TrainerSpec.UNIGRAM
    proto.trainer_spec.pad_id, proto.trainer_spec.eos_id = 0, 1
    proto.trainer_spec.unk_id, proto.trainer_spec.bos_id = 2, -1
    proto.normalizer_spec.name = "identity"
    proto.normalizer_spec.add_dummy_prefix = True
    proto.normalizer_spec.remove_extra_whitespaces = True
    kinds = {"<pad>": spm_pb2.ModelProto.SentencePiece.CONTROL,
             "</s>": spm_pb2.ModelProto.SentencePiece.CONTROL,
             "<unk>": spm_pb2.ModelProto.SentencePiece.UNKNOWN}
    for piece, score in pieces:
        proto.pieces.add(piece=piece, score=score,
                         type=kinds.get(piece, spm_pb2.ModelProto.SentencePiece.NORMAL))
    (folder / "spiece.model").write_bytes(proto.SerializeToString())
    tokenizer = T5Tokenizer(vocab=list(pieces), extra_ids=extra_ids)
    tokenizer.save_pretrained(folder)
    specials = {"eos_token": "</s>", "pad_token": "<pad>", "unk_token": "<unk>"}
    if extra_ids:
        specials["additional_special_tokens"] = [f"<extra_id_{k}>" for k in range(extra_ids)]
    (folder / "special_tokens_map.json").write_text(json.dumps(specials, indent=2) + "\n")
    return tokenizer


def _musicgen_configs(n_vocab: int, melody: bool, size: str = "tiny"):
    """Text encoder (T5), audio codec (EnCodec 32 kHz) and decoder configs.

    ``size``: ``"tiny"`` (QUICK's stand-in), ``"small"`` (facebook/musicgen-small's real sizes:
    t5-base, the real 32 kHz EnCodec, a 24-layer 1024-wide decoder) or ``"narrow"`` (the real
    EnCodec, T5 and decoder at 256 wide: MusicGen-melody's classes without its 1.5B parameters).
    """
    from transformers import EncodecConfig, T5Config

    if melody:
        from transformers import MusicgenMelodyDecoderConfig as Decoder
    else:
        from transformers import MusicgenDecoderConfig as Decoder
    ids = dict(vocab_size=2048, num_codebooks=4, max_position_embeddings=2048, pad_token_id=2048,
               bos_token_id=2048)
    if size == "tiny":
        text = T5Config(vocab_size=n_vocab, d_model=16, d_kv=8, d_ff=32, num_layers=1, num_heads=2,
                        decoder_start_token_id=0)
        # the real 32 kHz EnCodec's hop 8*5*4*4 = 640 samples (50 frames/s), 4 codebooks of 2048
        codec = EncodecConfig(sampling_rate=32000, target_bandwidths=[2.2],
                              upsampling_ratios=[8, 5, 4, 4], codebook_size=2048, num_filters=4,
                              hidden_size=8, num_lstm_layers=1, normalize=False)
        return text, codec, Decoder(hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                                    ffn_dim=32, **ids)
    if size not in ("small", "narrow"):
        raise ValueError(f"size={size!r}: one of 'tiny', 'small', 'narrow'.")
    # facebook/encodec_32khz, the codec inside both repositories
    codec = EncodecConfig(sampling_rate=32000, target_bandwidths=[2.2], upsampling_ratios=[8, 5, 4, 4],
                          codebook_size=2048, num_filters=64, hidden_size=128, num_lstm_layers=2,
                          normalize=False, use_causal_conv=False, pad_mode="reflect",
                          norm_type="weight_norm", audio_channels=1)
    if size == "small":
        text = T5Config(vocab_size=_T5_VOCAB, d_model=768, d_kv=64, d_ff=3072, num_layers=12,
                        num_heads=12, decoder_start_token_id=0)
        decoder = Decoder(hidden_size=1024, num_hidden_layers=24, num_attention_heads=16,
                          ffn_dim=4096, **ids)
    else:
        text = T5Config(vocab_size=_T5_VOCAB, d_model=256, d_kv=64, d_ff=1024, num_layers=2,
                        num_heads=4, decoder_start_token_id=0)
        decoder = Decoder(hidden_size=256, num_hidden_layers=2, num_attention_heads=4, ffn_dim=1024,
                          **ids)
    return text, codec, decoder


def _write_musicgen(folder: Path, melody: bool, size: str, shards: int = 1) -> None:
    """A random MusicGen (or MusicGen-melody) with the published file set: config, generation
    settings, weights (safetensors, in ``shards`` files with an index when > 1), the feature
    extractor's ``preprocessor_config.json`` and t5-base's tokenizer files."""
    import json

    from transformers import (EncodecFeatureExtractor, GenerationConfig, MusicgenConfig,
                              MusicgenForConditionalGeneration, MusicgenMelodyConfig,
                              MusicgenMelodyFeatureExtractor, MusicgenMelodyForConditionalGeneration)

    full = size != "tiny"
    tokenizer = _write_t5_tokenizer(folder, _t5_pieces(_T5_PIECES if full else None),
                                    _T5_EXTRA_IDS if full else 0)
    text, codec, decoder = _musicgen_configs(len(tokenizer), melody, size)
    if melody:
        features, processor_class = MusicgenMelodyFeatureExtractor(), "MusicgenMelodyProcessor"
        config_cls, cls = MusicgenMelodyConfig, MusicgenMelodyForConditionalGeneration
    else:
        features, processor_class = EncodecFeatureExtractor(sampling_rate=32000), "MusicgenProcessor"
        config_cls, cls = MusicgenConfig, MusicgenForConditionalGeneration
    features.save_pretrained(folder)
    # published as a processor's part: AutoProcessor finds the processor class here
    prep = json.loads((folder / "preprocessor_config.json").read_text())
    prep["processor_class"] = processor_class
    (folder / "preprocessor_config.json").write_text(json.dumps(prep, indent=2) + "\n")
    config = config_cls(text_encoder=text.to_dict(), audio_encoder=codec.to_dict(),
                        decoder=decoder.to_dict())
    with seeded(0):
        model = cls(config)
    model.generation_config = GenerationConfig(
        decoder_start_token_id=2048, pad_token_id=2048, bos_token_id=2048, do_sample=True,
        guidance_scale=3.0, max_length=1500)
    size_bytes = sum(p.numel() * p.element_size() for p in model.state_dict().values())
    # save_pretrained shards greedily: a limit of ~1/shards of the total gives `shards` files
    limit = size_bytes if shards == 1 else int(size_bytes / shards * 1.05)
    model.save_pretrained(folder, safe_serialization=True, max_shard_size=limit + 1)
    written = sorted(p.name for p in folder.glob("model*.safetensors"))
    want = ["model.safetensors"] if shards == 1 else \
        [f"model-{k:05d}-of-{shards:05d}.safetensors" for k in range(1, shards + 1)]
    if written != want:
        raise MusicError(f"the MusicGen stand-in was written as {written}, not {want}.")


def _write_musicgen_stand_in(folder: Path, melody: bool = False) -> None:
    """Tiny random MusicGen (or MusicGen-melody): QUICK's stand-in, noise not music."""
    _write_musicgen(folder, melody, "tiny", shards=2 if melody else 1)


def _write_musicgen_melody_stand_in(folder: Path) -> None:
    _write_musicgen_stand_in(folder, melody=True)


def _write_musicgen_full_stand_in(folder: Path) -> None:
    """facebook/musicgen-small's architecture at its real size (591M parameters, 2.4 GB of
    float32 safetensors), random weights: for the offline FULL rehearsal."""
    _write_musicgen(folder, melody=False, size="small")


def _write_musicgen_melody_full_stand_in(folder: Path) -> None:
    """MusicGen-melody's classes (MusicgenMelodyConfig, the real 32 kHz EnCodec, t5-base's
    tokenizer) at reduced width, random weights: the real model has 1.5B parameters (6.2 GB),
    too much for the 2-core rehearsal. Sharded in two files with an index, as published."""
    _write_musicgen(folder, melody=True, size="narrow", shards=2)


#: MusicGen small (Meta): text prompt -> 4 EnCodec codebooks at 50 Hz -> 32 kHz audio.
MUSICGEN = hub.asset("musicgen-small", stand_in=_write_musicgen_stand_in,
                     full_stand_in=_write_musicgen_full_stand_in)
#: MusicGen melody: text prompt + the chromagram of a tune -> music that follows the tune.
MUSICGEN_MELODY = hub.asset("musicgen-melody", stand_in=_write_musicgen_melody_stand_in,
                            full_stand_in=_write_musicgen_melody_full_stand_in)


def load_musicgen(melody: bool = False, device: str | None = None):
    """MusicGen (``melody=True``: the melody-conditioned model) and its processor, via :mod:`voicelab.core.hub`.

    Introduced in notebook 12. Returns ``(model, processor, stand_in)``; ``stand_in`` is
    True offline, when the tiny random model was loaded (its output is noise). On a GPU
    the model runs in float16. The weights are read from safetensors only, as both repositories
    publish them (musicgen-melody in two shards with an index).
    """
    import torch
    from transformers import AutoProcessor

    if melody:
        from transformers import MusicgenMelodyForConditionalGeneration as Model
    else:
        from transformers import MusicgenForConditionalGeneration as Model
    with runtime.quiet():
        path = hub.fetch(MUSICGEN_MELODY if melody else MUSICGEN)
        processor = AutoProcessor.from_pretrained(path)
        device = runtime.pick_device(device)
        dtype = torch.float16 if str(device).startswith("cuda") else torch.float32
        model = Model.from_pretrained(path, use_safetensors=True, dtype=dtype)
    return model.to(device).eval(), processor, hub.is_stand_in(path)


def generate(models, prompts, *, seconds: float = 5.0, melody=None, guidance_scale: float = 3.0,
             seed: int = 0) -> tuple[np.ndarray, int]:
    """Generate music for text ``prompts`` (a string or a list); returns ``(y, sr)``, y (n_prompts, samples).

    Introduced in notebook 12. ``models`` comes from :func:`load_musicgen`. ``melody`` is
    ``(y, sr)`` of a tune for the melody model (its chromagram conditions the output).
    MusicGen makes 50 token frames per second; ``guidance_scale`` > 1 pushes the output
    towards the prompt (classifier-free guidance).
    """
    import torch

    model, processor, _ = models
    prompts = [prompts] if isinstance(prompts, str) else list(prompts)
    if not prompts or not all(isinstance(p, str) and p.strip() for p in prompts):
        raise MusicError("generate(): give at least one non-empty text prompt.")
    if not (0.5 <= seconds <= 30.0):
        raise MusicError(f"seconds={seconds}: MusicGen makes 0.5 .. 30 s per call.")
    is_melody = type(model).__name__.startswith("MusicgenMelody")
    kwargs = {}
    if melody is not None:
        if not is_melody:
            raise MusicError("melody conditioning needs the melody model: load_musicgen(melody=True).")
        y, sr = melody
        y = np.asarray(y, dtype=np.float32)
        if y.ndim != 1 or y.size < sr // 2:
            raise MusicError("the melody must be a mono waveform of at least 0.5 s.")
        target_sr = processor.feature_extractor.sampling_rate
        if sr != target_sr:
            from .. import audio
            y = audio.resample(y, sr, target_sr)
        kwargs["audio"] = [y] * len(prompts)
        kwargs["sampling_rate"] = target_sr
    inputs = processor(text=prompts, padding=True, return_tensors="pt", **kwargs)
    device = next(model.parameters()).device
    inputs = {k: (v.to(device) if hasattr(v, "to") else v) for k, v in inputs.items()}
    if "input_features" in inputs and device.type == "cuda":
        inputs["input_features"] = inputs["input_features"].to(next(model.parameters()).dtype)
    frame_rate = model.config.audio_encoder.frame_rate
    with seeded(seed), torch.no_grad():
        out = model.generate(**inputs, do_sample=True, guidance_scale=guidance_scale,
                             max_new_tokens=int(round(seconds * frame_rate)))
    return out[:, 0].float().cpu().numpy(), int(model.config.audio_encoder.sampling_rate)

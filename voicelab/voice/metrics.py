"""The score card: objective numbers after every conversion. Introduced in notebook 10.

Every number says how it was computed (:attr:`ScoreCard.methods`):

* speaker similarity: cosine similarity of speaker embeddings (d-vectors) from
  Resemblyzer's pretrained GE2E speaker encoder, whose weights ship inside its wheel
  (loaded here as plain tensors, never unpickled), to the target speaker's reference
  clips and to the source clip. 1 means "the same voice"; different people typically
  score 0.5-0.8 with this encoder.
* F0 RMSE in cents and voiced/unvoiced (V/UV) error: pitch by WORLD's Harvest
  (``pyworld``), 5 ms frames, against a parallel reference (frames paired by DTW) or,
  without one, against the source (frame by frame: conversions keep the timing).
* MCD: mel-cepstral distortion in dB between the conversion and a parallel reference
  recording of the target speaker, over DTW-paired speech frames (c0, the loudness, left
  out), mel-cepstra of order 24 from the WORLD envelope at 16 kHz.
* MOS: DistillMOS, a small predictor of the mean opinion score (1 bad .. 5 excellent)
  distilled from an XLS-R quality model; weights ship in the ``distillmos`` wheel and
  it runs offline on a CPU. No reference needed.
* CER: character error rate of the words a recogniser hears in the conversion against the
  words of the source: its transcript where known, else the words the same recogniser hears
  in the source. FULL mode: Whisper base.en from the Hub (:data:`WHISPER`, read from the
  cache offline); QUICK mode, and FULL mode when Whisper cannot be had offline (a note says
  so): CMU PocketSphinx, whose US-English model ships inside the ``pocketsphinx`` wheel. The
  card's ``recogniser`` names the one used. 0 = every character heard right; a conversion
  that keeps the voice but loses the words scores high. None where no recogniser is installed.

Besides the converted clip, the card scores two reference rows: the unconverted source
(its CER against its transcript is the recogniser's floor) and target-vs-target (each
target clip against the others: the similarity a real recording of the target reaches,
the ceiling).

All audio is resampled to 16 kHz mono first (the rate the models were trained on).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Callable

import numpy as np

from ..audio import speaker
from ..audio.speaker import SR
from ..core import files, hub, runtime
from ..core.errors import AudioError, DownloadError, HubOfflineError, ScoreError
from ..data import speech

__all__ = [
    "SR", "ScoreCard", "score", "speaker_similarity",
    "f0_contour", "f0_rmse_cents", "vuv_error", "mcd", "mos", "recognise", "recogniser", "Recogniser", "WHISPER", "normalise_text",
    "cer",
    "ScoreError",
]

_MCD_K = 10.0 / math.log(10.0) * math.sqrt(2.0)
KEYS = ("speaker_similarity_target", "speaker_similarity_source", "f0_rmse_cents", "vuv_error",
        "mcd_db", "mos", "cer")


def speaker_similarity(y, refs, sr: int | None = None) -> float:
    """Cosine of ``y``'s speaker embedding with the mean embedding of ``refs`` (a list of clips)."""
    if isinstance(refs, (str, os.PathLike, np.ndarray)) or (isinstance(refs, tuple) and len(refs) == 2
                                                            and np.ndim(refs[1]) == 0):
        refs = [refs]
    if len(refs) == 0:
        raise ScoreError("speaker similarity needs at least one reference clip of the speaker.")
    ref = np.mean([speaker.embedding(r, sr) for r in refs], axis=0)
    return speaker.cosine(speaker.embedding(y, sr), ref)


# -------------------------------------------------------------------------------- pitch


def f0_contour(y, sr: int | None = None, *, method: str = "harvest") -> np.ndarray:
    """F0 in Hz (T,) every 5 ms, 0 where unvoiced, by WORLD (``harvest`` or ``dio``) at 16 kHz."""
    from ..audio import world

    x = speaker.clip(y, sr, "the clip")
    return world.analyze(x, SR, f0_method=method, aperiodicity=False).f0


def _pair(a, b, path):
    if path is None:
        n = min(len(a), len(b))
        return a[:n], b[:n]
    return a[path[:, 0]], b[path[:, 1]]


def f0_rmse_cents(f0, f0_ref, path=None) -> float | None:
    """RMS pitch difference in cents over frames voiced in both. Introduced in notebook 10.

    ``path``: (L, 2) frame pairs from DTW; ``None`` pairs frame i with frame i. 100 cents =
    1 semitone. None when fewer than 10 frames are voiced in both.
    """
    a, b = _pair(np.asarray(f0), np.asarray(f0_ref), path)
    both = (a > 0) & (b > 0)
    if both.sum() < 10:
        return None
    cents = 1200.0 * np.log2(a[both] / b[both])
    return float(np.sqrt(np.mean(cents ** 2)))


def vuv_error(f0, f0_ref, path=None) -> float | None:
    """Fraction (0..1) of paired frames where exactly one of the two is voiced."""
    a, b = _pair(np.asarray(f0), np.asarray(f0_ref), path)
    if len(a) == 0:
        return None
    return float(np.mean((a > 0) != (b > 0)))


# --------------------------------------------------------------------------------- MCD


def _mcep(x: np.ndarray, f0_method: str = "harvest"):
    from ..audio import world

    feats = world.analyze(x, SR, f0_method=f0_method, aperiodicity=False)
    return feats.f0, world.mel_cepstrum(feats.sp, SR, world.ORDER)


def _speech(mc: np.ndarray, floor_db: float = 40.0) -> np.ndarray:
    db = mc[:, 0] * 20 / math.log(10)
    return db > db.max() - floor_db


def _mcd_aligned(mc, mc_ref) -> tuple[float, np.ndarray]:
    """MCD (dB) and the DTW path (indices into the full frame sequences) of two mel-cepstra."""
    from ..audio import world

    ia, ib = np.flatnonzero(_speech(mc)), np.flatnonzero(_speech(mc_ref))
    path, _ = world.dtw(mc[ia, 1:], mc_ref[ib, 1:])
    diff = mc[ia[path[:, 0]], 1:] - mc_ref[ib[path[:, 1]], 1:]
    value = float(np.mean(_MCD_K * np.sqrt((diff ** 2).sum(axis=1))))
    return value, np.stack([ia[path[:, 0]], ib[path[:, 1]]], axis=1)


def mcd(y, ref, sr: int | None = None, *, f0_method: str = "harvest") -> float:
    """Mel-cepstral distortion in dB between ``y`` and a parallel ``ref`` (same words), after DTW.

    Introduced in notebook 10. MCD = 10/ln10 * sqrt(2 * sum_m (c_m - c'_m)^2), m = 1..24,
    averaged over paired speech frames (within 40 dB of each clip's loudest frame).
    0 for identical clips; about 9-10 dB between two flite voices saying the same thing.
    ``f0_method`` is the F0 that WORLD's envelope analysis uses ("dio" is faster).
    """
    _, mc = _mcep(speaker.clip(y, sr, "the clip"), f0_method)
    _, mc_ref = _mcep(speaker.clip(ref, sr, "the reference"), f0_method)
    return _mcd_aligned(mc, mc_ref)[0]


# --------------------------------------------------------------------------------- MOS


@lru_cache(maxsize=1)
def _mos_model():
    from ..core import hub

    try:
        import distillmos
    except ImportError as e:
        raise ScoreError(f"the MOS predictor needs distillmos: `pip install distillmos` ({e}).") from e
    model = distillmos.ConvTransformerSQAModel(load_weights=False)
    weights = Path(distillmos.__file__).parent / "weights" / "distill_mos_v7.pt"
    model.load_state_dict(hub.load_weights(weights)["model"])  # weights_only: nothing is run
    model.eval()
    return model


def mos(y, sr: int | None = None) -> float:
    """Predicted mean opinion score (1..5) of one clip by DistillMOS. Introduced in notebook 10."""
    import torch

    x = torch.from_numpy(speaker.clip(y, sr, "the clip"))[None]
    with torch.no_grad():
        return float(_mos_model()(x).squeeze())


# ------------------------------------------------------------------ intelligibility (CER)


@dataclass(frozen=True)
class Recogniser:
    """The speech recogniser CER is measured with (:func:`recogniser`). Introduced in notebook 10.

    ``name``: what the card's ``recogniser`` field says ("whisper-base.en", "pocketsphinx");
    ``how``: one line for the card's methods; ``stand_in``: True for the FULL rehearsal's
    random-weight Whisper (its words mean nothing); ``note``: why this one was chosen when it is
    not the mode's first choice (or None). Call it on a clip: ``rec(y, sr) -> str``.
    """

    name: str
    how: str
    stand_in: bool = False
    note: str | None = None
    hear: Callable = field(default=None, compare=False, repr=False)

    def __call__(self, y, sr: int | None = None) -> str:
        return self.hear(speaker.clip(y, sr, "the clip"))


def _pocketsphinx_decoder():
    try:
        import pocketsphinx
    except ImportError:
        return None
    decoder = pocketsphinx.Decoder(samprate=SR, loglevel="FATAL")
    return decoder, decoder.get_cmn()


def _pocketsphinx(note: str | None = None) -> Recogniser | None:
    loaded = _pocketsphinx_decoder()
    if loaded is None:
        return None
    decoder, cmn_start = loaded

    def hear(x: np.ndarray) -> str:
        pcm = (np.clip(x, -1.0, 1.0) * 32767).astype(np.int16).tobytes()
        decoder.reinit_feat()          # forget what earlier clips taught its feature normalisation,
        decoder.set_cmn(cmn_start)     # so a clip is heard the same whatever was heard before it
        decoder.start_utt()
        decoder.process_raw(pcm, full_utt=True)
        decoder.end_utt()
        hyp = decoder.hyp()
        return normalise_text(hyp.hypstr) if hyp is not None else ""

    return Recogniser("pocketsphinx", "PocketSphinx en-us (in its wheel)", note=note, hear=hear)


#: Whisper's decoder stops by itself at the end of the words; a stand-in with random weights
#: never does, so generation is capped at this many tokens per second of audio (plus
#: :data:`WHISPER_MIN_TOKENS`): about twice what fast English speech needs.
WHISPER_TOKENS_PER_S = 10
WHISPER_MIN_TOKENS = 10
_WHISPER_WINDOW_S = 30          # Whisper hears 30 s at a time: longer clips go in 30 s pieces


#: openai/whisper-base.en's configuration (its config.json): the full stand-in's architecture.
_WHISPER_BASE_EN = dict(
    vocab_size=51864, num_mel_bins=80, d_model=512, encoder_layers=6, decoder_layers=6,
    encoder_attention_heads=8, decoder_attention_heads=8, encoder_ffn_dim=2048, decoder_ffn_dim=2048,
    max_source_positions=1500, max_target_positions=448, bos_token_id=50257, eos_token_id=50256,
    pad_token_id=50256, decoder_start_token_id=50257, begin_suppress_tokens=[220, 50256],
    activation_function="gelu", scale_embedding=False, use_cache=True)


def _write_whisper_full(folder: Path) -> None:
    """``openai/whisper-base.en`` at full size with random weights, for the offline FULL rehearsal.

    The same: WhisperForConditionalGeneration with base.en's configuration (74M parameters,
    float32 in model.safetensors, 290 MB), its 80-band feature extractor, the English-only
    token layout (50,256 text tokens, <|endoftext|> 50256, <|startoftranscript|> 50257, 99
    language tokens, task tokens, <|notimestamps|> 50362, 1,501 timestamp tokens: 51,864),
    the generation settings an English-only checkpoint needs, and the published file names.
    Different: random weights; the text tokens are the 256 bytes and made-up words (" a",
    " b", ... " bxyz"), not GPT-2's merges; normalizer.json holds two spellings, not the
    real 52.7 kB list; generation_config.json leaves out the alignment heads and suppress list.
    """
    from tokenizers import pre_tokenizers
    from transformers import (WhisperConfig, WhisperFeatureExtractor, WhisperForConditionalGeneration,
                              WhisperTokenizer)
    from transformers.models.whisper.tokenization_whisper import LANGUAGES

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    vocab = {ch: i for i, ch in enumerate(sorted(pre_tokenizers.ByteLevel.alphabet()))}
    words = hub.made_up_words("\u0120")   # made-up words, so every text token decodes to text
    while len(vocab) < 50256:
        vocab.setdefault(next(words), len(vocab))
    vocab["<|endoftext|>"] = 50256
    specials = (["<|startoftranscript|>"] + [f"<|{code}|>" for code in list(LANGUAGES)[:99]]
                + ["<|translate|>", "<|transcribe|>", "<|startoflm|>", "<|startofprev|>",
                   "<|nocaptions|>", "<|notimestamps|>"])
    timestamps = [f"<|{i * 0.02:.2f}|>" for i in range(1501)]
    files.write_json(folder / "vocab.json", vocab, indent=None, ensure_ascii=False)
    files.write_text(folder / "merges.txt", "#version: 0.2\n")
    files.write_json(folder / "normalizer.json", {"colour": "color", "favour": "favor"})
    tokenizer = WhisperTokenizer(vocab=vocab, merges=[], normalizer_file=str(folder / "normalizer.json"))
    tokenizer.add_special_tokens({"additional_special_tokens": specials})
    tokenizer.add_tokens(timestamps)
    if len(tokenizer) != 51864 or tokenizer.convert_tokens_to_ids("<|notimestamps|>") != 50362:
        raise AssertionError(f"stand-in tokenizer: {len(tokenizer)} tokens, not base.en's 51,864")
    tokenizer.save_pretrained(folder)                 # tokenizer.json, tokenizer_config.json
    files.write_json(folder / "added_tokens.json",
                     {t: 50256 + i for i, t in enumerate(["<|endoftext|>"] + specials + timestamps)})
    files.write_json(folder / "special_tokens_map.json", {
        "bos_token": "<|endoftext|>", "eos_token": "<|endoftext|>", "unk_token": "<|endoftext|>",
        "pad_token": "<|endoftext|>", "additional_special_tokens": specials})
    WhisperFeatureExtractor(feature_size=80).save_pretrained(folder)   # preprocessor_config.json
    config = WhisperConfig(**_WHISPER_BASE_EN)
    config.architectures = ["WhisperForConditionalGeneration"]
    WhisperForConditionalGeneration(config).save_pretrained(folder, safe_serialization=True)
    files.write_json(folder / "generation_config.json", {
        "bos_token_id": 50257, "decoder_start_token_id": 50257, "eos_token_id": 50256,
        "pad_token_id": 50256, "begin_suppress_tokens": [220, 50256], "suppress_tokens": [],
        "forced_decoder_ids": [[1, 50362]], "is_multilingual": False, "max_length": 448,
        "no_timestamps_token_id": 50362, "prev_sot_token_id": 50360,
        "max_initial_timestamp_index": 50, "return_timestamps": False})
    for extra in ("processor_config.json", "chat_template.jinja"):
        (folder / extra).unlink(missing_ok=True)


#: Whisper base.en (OpenAI, English only, 74M parameters): the FULL-mode recogniser of CER,
#: pinned to a revision of ``openai/whisper-base.en`` (manifest entry "whisper-base-en"). No
#: tiny stand-in: offline without it, the score card falls back to PocketSphinx and says so;
#: the FULL rehearsal installs the full-size one (:mod:`voicelab.voice.rehearsal`).
WHISPER = hub.asset("whisper-base-en", full_stand_in=_write_whisper_full)


def _whisper(device: str | None = None) -> Recogniser:
    """Whisper base.en from :data:`WHISPER` (raises HubOfflineError offline without it)."""
    import torch
    from transformers import WhisperFeatureExtractor, WhisperForConditionalGeneration, WhisperTokenizer

    with runtime.quiet():
        path = hub.fetch(WHISPER)
        features = WhisperFeatureExtractor.from_pretrained(path)
        tokenizer = WhisperTokenizer.from_pretrained(path)
        model = WhisperForConditionalGeneration.from_pretrained(path)
    device = runtime.pick_device(device)
    model = model.to(device).eval()
    stand_in = hub.is_stand_in(path)

    def hear(x: np.ndarray) -> str:
        window = _WHISPER_WINDOW_S * SR
        words = []
        for start in range(0, max(len(x), 1), window):
            piece = x[start:start + window]
            seconds = len(piece) / SR
            cap = min(WHISPER_MIN_TOKENS + math.ceil(WHISPER_TOKENS_PER_S * seconds),
                      model.config.max_target_positions - 8)
            inputs = features(piece, sampling_rate=SR, return_tensors="pt").input_features.to(device)
            with torch.no_grad(), runtime.quiet():   # a fresh decode per piece: no state carried over
                ids = model.generate(inputs, max_new_tokens=cap, do_sample=False, num_beams=1,
                                     return_timestamps=False)
            words.append(tokenizer.decode(ids[0], skip_special_tokens=True))
        return normalise_text(" ".join(words))

    how = (f"Whisper base.en ({WHISPER.repo_id} at {WHISPER.revision[:7]}, greedy, English, no "
           "timestamps)")
    if stand_in:
        how = "a STAND-IN of " + how + " with random weights"
    return Recogniser("whisper-base.en", how, stand_in=stand_in, hear=hear)


@lru_cache(maxsize=4)
def _recogniser_for(quick: bool, offline: bool, hf_cache: str) -> Recogniser | None:
    # offline and hf_cache are not read here: as keys of the cache they make a change of
    # network state or of Hugging Face cache load the recogniser again
    if quick:
        return _pocketsphinx()
    try:
        return _whisper()
    except (HubOfflineError, DownloadError, ImportError) as err:
        why = "it is not in the cache and voicelab is offline" if isinstance(err, HubOfflineError) \
            else f"it could not be loaded ({type(err).__name__})"
        return _pocketsphinx(note=f"CER by PocketSphinx, not Whisper base.en: {why}")


def recogniser() -> Recogniser | None:
    """The :class:`Recogniser` the score card uses now. Introduced in notebook 10.

    FULL mode: Whisper base.en from the Hub (:data:`WHISPER`, 74M parameters), offline from
    the cache; if it cannot be had (offline and not cached), PocketSphinx with a note saying so.
    QUICK mode: CMU PocketSphinx, whose US-English model ships inside its wheel. None when no
    recogniser is installed. Loaded once per mode, network state and Hugging Face cache.
    """
    return _recogniser_for(runtime.is_quick(), runtime.is_offline(), str(hub.hf_cache_dir()))


def recognise(y, sr: int | None = None) -> str | None:
    """The words the recogniser of this mode (:func:`recogniser`) hears in one clip, lower case.

    Introduced in notebook 10. None without a recogniser. Each clip is heard on its own:
    nothing carries over from the clips heard before it. PocketSphinx (QUICK) is small and
    fast, not state of the art; Whisper base.en (FULL) hears far more; either way, the
    source's own CER is the floor below which no conversion can score.
    """
    rec = recogniser()
    return None if rec is None else rec(y, sr)


def normalise_text(text: str) -> str:
    """Lower case, letters, digits and apostrophes only, single spaces: what CER compares."""
    kept = "".join(ch if ch.isalnum() or ch == "'" else " " for ch in text.lower())
    return " ".join(kept.split())


def cer(heard: str, truth: str) -> float | None:
    """Character error rate: edit distance (insertions, deletions, substitutions) / len(truth).

    Introduced in notebook 10. Both texts are normalised first (:func:`normalise_text`).
    0 when every character matches; it can exceed 1 when much more is heard than was said.
    None when ``truth`` has no characters left to compare against.
    """
    a, b = normalise_text(heard), normalise_text(truth)
    if not b:
        return None
    row = list(range(len(b) + 1))          # distances from a[:0] to every prefix of b
    for i, ca in enumerate(a, start=1):
        prev, row[0] = row[0], i
        for j, cb in enumerate(b, start=1):
            prev, row[j] = row[j], min(row[j] + 1, row[j - 1] + 1, prev + (ca != cb))
    return row[-1] / len(b)


# ---------------------------------------------------------------------------- score card

_LABELS = {
    "speaker_similarity_target": ("similarity to target", ""),
    "speaker_similarity_source": ("similarity to source", ""),
    "f0_rmse_cents": ("F0 RMSE", "cents"),
    "vuv_error": ("V/UV error", ""),
    "mcd_db": ("MCD", "dB"),
    "mos": ("MOS", "1-5"),
    "cer": ("CER of the words heard", ""),
}
#: The columns of :meth:`ScoreCard.rows` (and of the app's score table).
HEADERS = ("metric", "converted", "source", "target vs target", "how it was computed")
HEARD_LABELS = {"truth": "words said (CER compares with these)", "converted": "heard in the conversion",
          "source": "heard in the source", "target": "heard in the target clip"}


@dataclass
class ScoreCard:
    """The numbers of one conversion, None where not computable. Introduced in notebook 10.

    ``before`` holds the same numbers for the unconverted source where they make sense
    (its similarity to the target, its MCD to the parallel reference, its CER against its
    transcript: the recogniser's floor), so a table can show what the conversion changed.
    ``ceiling`` holds them for real recordings of the target (target-vs-target: a target
    clip's similarity to the other target clips, its MOS, its CER), the best a conversion
    can hope for. ``heard`` keeps the recognised words ("converted", "source") and the
    text CER was measured against ("truth"). ``methods`` says how each number was computed;
    ``recogniser`` names the recogniser that heard the words (:func:`recogniser`), None without CER.
    """

    speaker_similarity_target: float | None = None
    speaker_similarity_source: float | None = None
    f0_rmse_cents: float | None = None
    vuv_error: float | None = None
    mcd_db: float | None = None
    mos: float | None = None
    cer: float | None = None
    before: dict = field(default_factory=dict)
    ceiling: dict = field(default_factory=dict)
    heard: dict = field(default_factory=dict)
    methods: dict = field(default_factory=dict)
    notes: list = field(default_factory=list)
    recogniser: str | None = None

    def to_dict(self) -> dict:
        """The seven numbers of the conversion (None where not computable), for JSON."""
        return {k: _round(getattr(self, k)) for k in KEYS}

    def reference_rows(self) -> dict:
        """The reference rows, for JSON: ``{"source": {...}, "target_vs_target": {...}}``."""
        return {"source": {k: _round(self.before.get(k)) for k in KEYS},
                "target_vs_target": {k: _round(self.ceiling.get(k)) for k in KEYS}}

    def rows(self, digits: int = 3) -> list[tuple[str, str, str, str, str]]:
        """One row per number: (metric, converted, source, target vs target, how it was computed)."""
        rows = []
        for key in KEYS:
            name, unit = _LABELS[key]
            label = f"{name} ({unit})" if unit else name
            rows.append((label, _fmt(getattr(self, key), digits), _fmt(self.before.get(key), digits),
                         _fmt(self.ceiling.get(key), digits),
                         self.methods.get(key, "not computable with the inputs given")))
        return rows

    def table(self, digits: int = 3) -> str:
        """A plain-text table: metric, converted, source, target vs target, how computed."""
        rows = [HEADERS] + self.rows(digits)
        widths = [max(len(r[i]) for r in rows) for i in range(4)]
        lines = []
        for n, r in enumerate(rows):
            lines.append("  ".join(r[i].ljust(widths[i]) for i in range(4)) + "  " + r[4])
            if n == 0:
                lines.append("  ".join("-" * w for w in widths) + "  " + "-" * len(r[4]))
        lines += [f'{HEARD_LABELS[name]}: ' + (f'"{words}"' if words else "(no words)")
                  for name, words in self.heard.items() if words is not None]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()

    def _repr_pretty_(self, p, cycle):  # IPython display
        p.text(self.table())

    def plot(self, title: str | None = None):
        """Bar charts of the computable numbers: source (grey), converted (blue), target (green).

        Returns the Figure.
        """
        import matplotlib.pyplot as plt

        groups = [("speaker similarity (cosine)",
                   [("to target", "speaker_similarity_target"), ("to source", "speaker_similarity_source")],
                   (0, 1)),
                  ("F0 RMSE (cents)", [("", "f0_rmse_cents")], None),
                  ("V/UV error (fraction)", [("", "vuv_error")], (0, 1)),
                  ("MCD (dB)", [("", "mcd_db")], None),
                  ("MOS (DistillMOS)", [("", "mos")], (1, 5)),
                  (f"CER ({self.recogniser or 'no recogniser'})", [("", "cer")], None)]
        columns = [("source", self.before, "tab:gray"), ("converted", None, "tab:blue"),
                   ("target", self.ceiling, "tab:green")]
        bars_of = {}
        for name, keys, ylim in groups:
            bars = []
            for label, key in keys:
                for column, values, color in columns:
                    v = getattr(self, key) if values is None else values.get(key)
                    if v is not None:
                        bars.append((f"{label}\n{column}".strip(), v, color))
            if bars:
                bars_of[name] = (bars, ylim)
        fig, axes = plt.subplots(1, max(1, len(bars_of)), figsize=(3.4 * max(1, len(bars_of)), 3.2),
                                 squeeze=False)
        for ax, (name, (bars, ylim)) in zip(axes[0], bars_of.items()):
            labels, values, colors = zip(*bars)
            ax.bar(range(len(values)), values, color=colors)
            ax.set_xticks(range(len(values)), labels, fontsize=7)
            for i, v in enumerate(values):
                ax.annotate(f"{v:.2f}", (i, v), ha="center", va="bottom", fontsize=8)
            lo, hi = ylim or (min(0.0, *values), max(values))
            hi = max(hi, *values)
            ax.set_ylim(lo, hi + 0.15 * ((hi - lo) or 1.0))   # headroom for the labels above the bars
            ax.set_title(name, fontsize=9)
        if title:
            fig.suptitle(title)
        fig.tight_layout()
        return fig


def _round(v):
    return None if v is None else round(float(v), 4)


def _fmt(v, digits: int) -> str:
    return "n/a" if v is None else f"{v:.{digits}f}"


def score(converted, sr: int | None = None, *, target_refs, source=None, reference=None,
          with_mos: bool = True, f0_method: str = "harvest", transpose: float = 0.0,
          text: str | None = None, with_cer: bool = True) -> ScoreCard:
    """Score one conversion, with the source and target-vs-target as reference rows. Notebook 10.

    ``converted``: a path, or an array at ``sr`` Hz. ``target_refs``: clips of the target
    speaker (paths, ``(y, sr)`` pairs, or arrays at ``sr``), or None when there are none
    (e.g. a model from the Hub): then similarity to the target is not computed; with two or
    more, each is also compared with the mean of the others (the target-vs-target ceiling).
    ``source``: the clip that was converted. ``reference``: the target speaker saying the
    same words (a parallel recording), which makes MCD possible. ``transpose`` (semitones):
    the pitch shift the conversion was asked for; F0 against the source is compared with the
    source's F0 shifted by it. ``text``: the words of the source; default the transcript
    ``SOURCE.txt`` beside a source file, else the words the recogniser hears in the source.
    Numbers the inputs cannot give are None. A converted clip in which the speaker
    encoder's voice detector finds no speech (e.g. buzz from an untrained model) gets no
    similarity numbers and a note saying so.
    """
    if isinstance(target_refs, (str, os.PathLike, np.ndarray)):
        target_refs = [target_refs]
    if target_refs is not None and not len(target_refs):
        raise ScoreError("target_refs=[] is empty: give at least one clip of the target speaker "
                         "to measure speaker similarity, or target_refs=None to skip it.")
    y = speaker.clip(converted, sr, "the converted clip")
    src = None if source is None else speaker.clip(source, sr, "the source clip")
    ref = None if reference is None else speaker.clip(reference, sr, "the parallel reference")
    card = ScoreCard()
    _similarities(card, y, src, target_refs, sr)
    _pitch_and_mcd(card, y, src, ref, f0_method, transpose)
    if with_mos:
        card.mos = mos(y, SR)
        card.methods["mos"] = "DistillMOS v7 (distillmos wheel), predicted 1-5, no reference"
        if src is not None:
            card.before["mos"] = mos(src, SR)
        if target_refs is not None:
            card.ceiling["mos"] = mos(speaker.clip(target_refs[0], sr, "a target reference"), SR)
    if with_cer:
        truth = text if text is not None else speech.transcript(source)
        _intelligibility(card, y, src, truth, target_refs, sr)
    return card


def _similarities(card: ScoreCard, y, src, target_refs, sr) -> None:
    enc = "Resemblyzer d-vector (GE2E LSTM), cosine"
    try:
        emb = speaker.embedding(y, SR)
    except AudioError as err:
        emb = None
        card.notes.append(f"no speaker similarity: in the converted clip, {err}")
    tgt_emb = src_emb = None
    if target_refs is None:
        card.notes.append("no clips of the target speaker given: similarity to the target needs some")
    else:
        ref_embs = [speaker.embedding(speaker.clip(r, sr, "a target reference"), SR) for r in target_refs]
        tgt_emb = np.mean(ref_embs, axis=0)
        if len(ref_embs) >= 2:   # the ceiling: each real target clip against the mean of the others
            card.ceiling["speaker_similarity_target"] = float(np.mean(
                [speaker.cosine(e, np.mean(ref_embs[:i] + ref_embs[i + 1:], axis=0))
                 for i, e in enumerate(ref_embs)]))
    if src is not None:
        src_emb = speaker.embedding(src, SR)
    if emb is not None and tgt_emb is not None:
        card.speaker_similarity_target = speaker.cosine(emb, tgt_emb)
        card.methods["speaker_similarity_target"] = (
            f"{enc} with the mean of {len(target_refs)} target clip(s)"
            + ("; target vs target: each target clip with the mean of the others"
               if "speaker_similarity_target" in card.ceiling else ""))
    if emb is not None and src_emb is not None:
        card.speaker_similarity_source = speaker.cosine(emb, src_emb)
        card.methods["speaker_similarity_source"] = f"{enc} with the source clip"
    if src_emb is not None and tgt_emb is not None:
        card.before["speaker_similarity_target"] = speaker.cosine(src_emb, tgt_emb)


def _pitch_and_mcd(card: ScoreCard, y, src, ref, f0_method: str, transpose: float) -> None:
    f0, mc = _mcep(y, f0_method)
    if ref is not None:
        f0_ref, mc_ref = _mcep(ref, f0_method)
        card.mcd_db, path = _mcd_aligned(mc, mc_ref)
        card.methods["mcd_db"] = ("mel-cepstral distortion to the parallel reference, order 24, "
                                  "alpha 0.41, WORLD envelope at 16 kHz, DTW-paired speech frames")
        card.f0_rmse_cents = f0_rmse_cents(f0, f0_ref, path)
        card.vuv_error = vuv_error(f0, f0_ref, path)
        how = f"pyworld {f0_method}, 5 ms frames, vs the parallel reference (DTW-paired)"
        if src is not None:
            f0_src, mc_src = _mcep(src, f0_method)
            card.before["mcd_db"], src_path = _mcd_aligned(mc_src, mc_ref)
            card.before["f0_rmse_cents"] = f0_rmse_cents(f0_src, f0_ref, src_path)
            card.before["vuv_error"] = vuv_error(f0_src, f0_ref, src_path)
    elif src is not None:
        f0_src, _ = _mcep(src, f0_method)
        card.f0_rmse_cents = f0_rmse_cents(f0, f0_src * 2.0 ** (transpose / 12))
        card.vuv_error = vuv_error(f0, f0_src)
        how = f"pyworld {f0_method}, 5 ms frames, vs the source frame by frame"
        how += f", shifted by {transpose:+g} semitones (as asked)" if transpose else ""
        if abs(len(f0) - len(f0_src)) > 0.05 * len(f0_src):
            card.notes.append("the conversion and the source differ in length by more than 5%, so "
                              "frame-by-frame F0 comparison is unreliable")
    else:
        how = None
        card.notes.append("no source or parallel reference given: F0 RMSE, V/UV error and MCD "
                          "need one")
    if how is not None:
        if card.f0_rmse_cents is not None:
            card.methods["f0_rmse_cents"] = "RMS of 1200*log2(F0/F0_ref) over frames voiced in both; " + how
        card.methods["vuv_error"] = "fraction of frames voiced in exactly one of the two; " + how


def _intelligibility(card: ScoreCard, y, src, truth: str | None, target_refs, sr) -> None:
    rec = recogniser()
    if rec is None:
        card.notes.append("no CER: no speech recogniser installed (`pip install pocketsphinx`)")
        return
    card.recogniser = rec.name
    if rec.note:
        card.notes.append(rec.note)
    if rec.stand_in:
        card.notes.append(f"the words and CER are from a stand-in of {rec.name} with random weights "
                          "(an offline rehearsal): they say nothing about the conversion")
    heard = rec(y, SR)
    asr = f"{rec.how}, edit distance over characters / length"
    heard_src = rec(src, SR) if src is not None else None
    if truth is not None and normalise_text(truth):
        card.heard["truth"] = normalise_text(truth)
    card.heard["converted"] = heard
    if truth is not None and normalise_text(truth):
        card.cer = cer(heard, truth)
        card.methods["cer"] = f"{asr}, against the source's transcript"
        if heard_src is not None:
            card.before["cer"] = cer(heard_src, truth)
            card.heard["source"] = heard_src
            card.methods["cer"] += "; the source's own CER is the recogniser's floor"
    elif heard_src:
        card.cer = cer(heard, heard_src)
        card.heard["source"] = heard_src
        card.methods["cer"] = f"{asr}, against the words it hears in the source (no transcript given)"
    else:
        card.notes.append("no CER: it needs the source, its transcript, or words heard in the source")
    for r in target_refs or []:   # the ceiling: a real target clip against its own transcript
        text = speech.transcript(r)
        if text is not None and normalise_text(text):
            words = rec(speaker.clip(r, sr, "a target reference"), SR)
            card.ceiling["cer"] = cer(words, text)
            card.heard["target"] = words
            break

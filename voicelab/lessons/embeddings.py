"""Embeddings: word vectors, speaker embeddings and joint audio-text spaces. Notebook 06.

An embedding maps a thing (a word, a voice, a sound, a sentence) to a vector so that
similar things get nearby vectors, measured by **cosine similarity** (1 = same direction,
0 = unrelated). This module has three parts:

* **Word vectors.** :func:`toy_corpus` writes a small English corpus from templates
  (offline, seconds); :func:`ppmi_svd` turns its co-occurrence counts into vectors
  (positive pointwise mutual information, then a truncated SVD: the count-based cousin
  of word2vec and GloVe). :class:`WordVectors` answers similarity and analogy queries
  (king - man + woman = ?) and :func:`analogy_accuracy` scores the three relations of
  :data:`ANALOGIES`. :func:`load_glove` loads real pretrained GloVe vectors through
  :mod:`voicelab.core.hub` (FULL mode; offline a random stand-in of the same format).
* **Speaker embeddings** from a pretrained speaker encoder (Resemblyzer's, the one
  :func:`voicelab.audio.speaker.embedding` uses): :func:`speaker_embeddings`,
  :func:`similarity_table`, :func:`speakers_separate`, :func:`cluster_agreement`,
  :func:`project_2d`.
* **A joint audio-text space**: CLAP (:func:`load_clap`, :func:`clap_embed_text`,
  :func:`clap_embed_audio`) puts sounds and their descriptions in one space. Offline, a
  small one is trained here in seconds (:func:`train_joint_space`, CLIP's loss
  :func:`clip_loss`): speaker embeddings and a table of label vectors, matched by cosine.
"""
from __future__ import annotations

import json
import random
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import hub, runtime
from ..core.errors import EmbeddingError, SynthesisError, UnsafeModelError
from ..core.torchutil import cpu_threads, seeded

__all__ = [
    "EmbeddingError", "ANALOGIES", "toy_corpus", "cooccurrence", "ppmi", "ppmi_svd",
    "WordVectors", "analogy_accuracy", "GLOVE", "load_glove",
    "speaker_embeddings", "untrained_speaker_encoder", "ESPEAK_VARIANTS", "espeak_variant", "similarity_table",
    "speakers_separate", "cluster_agreement", "project_2d", "CLAP", "load_clap", "clap_embed_text",
    "clap_embed_audio", "demo_sounds", "spread_out", "clip_loss", "JointSpace", "train_joint_space",
]


# ------------------------------------------------------------------------ word vectors

#: Word pairs of three relations, as in the word2vec papers' analogy test. Every word is
#: common English, so the same pairs work for the toy vectors and for GloVe.
ANALOGIES: dict[str, list[tuple[str, str]]] = {
    "male-female": [("man", "woman"), ("king", "queen"), ("boy", "girl"), ("father", "mother"),
                    ("son", "daughter"), ("brother", "sister"), ("uncle", "aunt"),
                    ("prince", "princess")],
    "verb tense": [("walk", "walked"), ("swim", "swam"), ("run", "ran"), ("eat", "ate"),
                   ("write", "wrote"), ("sing", "sang"), ("drive", "drove"), ("speak", "spoke")],
    "country-capital": [("france", "paris"), ("germany", "berlin"), ("italy", "rome"),
                        ("spain", "madrid"), ("japan", "tokyo"), ("egypt", "cairo"),
                        ("russia", "moscow"), ("greece", "athens")],
}

# What the toy corpus says about each word: its topic words (shared by both words of a
# pair) and, separately, what marks the relation (he/she, yesterday/today, country/city).
_PEOPLE = {
    ("man", "woman"): ["adult", "works", "street", "town"],
    ("king", "queen"): ["crown", "throne", "kingdom", "rules"],
    ("boy", "girl"): ["young", "plays", "school", "child"],
    ("father", "mother"): ["family", "children", "home", "parent"],
    ("son", "daughter"): ["family", "parents", "born", "child"],
    ("brother", "sister"): ["sibling", "family", "older", "twin"],
    ("uncle", "aunt"): ["nephew", "niece", "visits", "relative"],
    ("prince", "princess"): ["palace", "royal", "castle", "heir"],
}
_GENDER = {0: ["he", "his", "him", "himself"], 1: ["she", "her", "hers", "herself"]}
_VERBS = {
    ("walk", "walked"): ["park", "slowly", "path", "feet"],
    ("swim", "swam"): ["lake", "water", "pool", "sea"],
    ("run", "ran"): ["race", "fast", "track", "marathon"],
    ("eat", "ate"): ["bread", "apple", "dinner", "hungry"],
    ("write", "wrote"): ["letter", "poem", "pen", "paper"],
    ("sing", "sang"): ["song", "choir", "voice", "melody"],
    ("drive", "drove"): ["car", "road", "wheel", "truck"],
    ("speak", "spoke"): ["words", "loudly", "talk", "listeners"],
}
_TENSE = {0: ["today", "now", "usually", "often"], 1: ["yesterday", "ago", "last", "once"]}
_PLACES = {
    ("france", "paris"): ["french", "seine", "wine"],
    ("germany", "berlin"): ["german", "spree", "beer"],
    ("italy", "rome"): ["italian", "tiber", "pasta"],
    ("spain", "madrid"): ["spanish", "manzanares", "flamenco"],
    ("japan", "tokyo"): ["japanese", "sumida", "sushi"],
    ("egypt", "cairo"): ["egyptian", "nile", "pyramids"],
    ("russia", "moscow"): ["russian", "volga", "winter"],
    ("greece", "athens"): ["greek", "aegean", "olives"],
}
_KIND = {0: ["country", "nation", "border", "population"], 1: ["city", "capital", "streets", "mayor"]}
_FILLER = ["the", "a", "and", "of", "in", "is", "was", "to", "with", "very", "there", "many"]


def toy_corpus(n_sentences: int = 6000, seed: int = 0) -> list[list[str]]:
    """A generated corpus: ``n_sentences`` lists of lower-case words. Introduced in notebook 06.

    Each sentence is about one word of :data:`ANALOGIES` and mixes three of its topic words
    (a king goes with crown and throne, paris with french and seine), two words marking its
    side of the relation (he/his or she/her, yesterday or today, country or city) and
    filler words, shuffled. The structure is put there on purpose: the notebook shows that
    counting and an SVD recover it as directions in space, not that the corpus is natural
    English. Deterministic for a given ``seed``.
    """
    if n_sentences < 100:
        raise EmbeddingError(f"n_sentences={n_sentences} is too few for stable counts; use >= 100.")
    rng = random.Random(seed)
    groups = [(_PEOPLE, _GENDER), (_VERBS, _TENSE), (_PLACES, _KIND)]
    sentences = []
    for _ in range(n_sentences):
        topics, markers = rng.choice(groups)
        pair = rng.choice(list(topics))
        side = rng.randrange(2)
        words = [pair[side]] + rng.sample(topics[pair], 3) + rng.sample(markers[side], 2)
        words += rng.sample(_FILLER, 3)
        rng.shuffle(words)
        sentences.append(words)
    return sentences


def cooccurrence(sentences, window: int = 5, min_count: int = 1):
    """Count how often two words appear within ``window`` words of each other.

    Returns ``(vocab, C)``: vocab a sorted list of the words seen at least ``min_count``
    times, C a (V, V) float64 symmetric matrix of counts.
    """
    counts: dict[str, int] = {}
    for s in sentences:
        for w in s:
            counts[w] = counts.get(w, 0) + 1
    vocab = sorted(w for w, c in counts.items() if c >= min_count)
    if len(vocab) < 3:
        raise EmbeddingError("fewer than 3 distinct words: give a larger corpus.")
    index = {w: i for i, w in enumerate(vocab)}
    C = np.zeros((len(vocab), len(vocab)))
    for s in sentences:
        ids = [index.get(w) for w in s]
        for i, a in enumerate(ids):
            if a is None:
                continue
            for b in ids[i + 1:i + 1 + window]:
                if b is not None and b != a:
                    C[a, b] += 1
                    C[b, a] += 1
    return vocab, C


def ppmi(C) -> np.ndarray:
    """Positive pointwise mutual information of a co-occurrence matrix (V, V).

    PMI(a, b) = log P(a, b) / (P(a) P(b)): how much more often a and b meet than chance
    would make them; negative values (and pairs never seen) become 0.
    """
    C = np.asarray(C, dtype=np.float64)
    total = C.sum()
    if total <= 0:
        raise EmbeddingError("the co-occurrence matrix is empty.")
    row = C.sum(1, keepdims=True)
    col = C.sum(0, keepdims=True)
    with np.errstate(divide="ignore", invalid="ignore"):
        pmi = np.log(C * total / (row * col))
    return np.where(np.isfinite(pmi) & (pmi > 0), pmi, 0.0)


def ppmi_svd(sentences, dim: int = 24, window: int = 5) -> "WordVectors":
    """Word vectors from a corpus: co-occurrence counts -> PPMI -> truncated SVD (``dim``).

    Each word's vector is its row of U * sqrt(S), normalised to length 1. The sign of each
    SVD direction is fixed (largest entry positive), so the result is the same on every
    machine. Introduced in notebook 06.
    """
    vocab, C = cooccurrence(sentences, window)
    M = ppmi(C)
    if not 1 <= dim < len(vocab):
        raise EmbeddingError(f"dim must be between 1 and {len(vocab) - 1} (the vocabulary size - 1), got {dim}.")
    U, S, _ = np.linalg.svd(M)
    U = U[:, :dim] * np.sqrt(S[:dim])
    U *= np.sign(U[np.abs(U).argmax(0), np.arange(dim)])
    return WordVectors(vocab, U)


@dataclass
class WordVectors:
    """A vocabulary and its vectors (V, d), stored normalised to length 1."""

    words: list[str]
    vectors: np.ndarray

    def __post_init__(self):
        self.vectors = np.asarray(self.vectors, dtype=np.float32)
        if self.vectors.ndim != 2 or len(self.vectors) != len(self.words):
            raise EmbeddingError(f"need one vector per word: {len(self.words)} words, vectors of "
                                 f"shape {self.vectors.shape}.")
        norms = np.linalg.norm(self.vectors, axis=1, keepdims=True)
        self.vectors = self.vectors / np.maximum(norms, 1e-12)
        self._index = {w: i for i, w in enumerate(self.words)}

    def __len__(self) -> int:
        return len(self.words)

    def __contains__(self, word: str) -> bool:
        return word in self._index

    def __getitem__(self, word: str) -> np.ndarray:
        try:
            return self.vectors[self._index[word]]
        except KeyError:
            raise EmbeddingError(f"{word!r} is not in the vocabulary ({len(self)} words).") from None

    def similarity(self, a: str, b: str) -> float:
        """Cosine similarity of two words' vectors."""
        return float(self[a] @ self[b])

    def nearest(self, query, n: int = 5, exclude=()) -> list[tuple[str, float]]:
        """The ``n`` words most similar to ``query`` (a word or a vector), with cosines."""
        v = self[query] if isinstance(query, str) else np.asarray(query, dtype=np.float32)
        v = v / max(float(np.linalg.norm(v)), 1e-12)
        sims = self.vectors @ v
        skip = set(exclude) | ({query} if isinstance(query, str) else set())
        order = np.argsort(-sims, kind="stable")
        out = []
        for i in order:
            if self.words[i] not in skip:
                out.append((self.words[i], float(sims[i])))
                if len(out) == n:
                    break
        return out

    def analogy(self, a: str, b: str, c: str, n: int = 1) -> list[tuple[str, float]]:
        """a is to b as c is to ? -> the words nearest to b - a + c (a, b, c left out)."""
        return self.nearest(self[b] - self[a] + self[c], n=n, exclude=(a, b, c))


def analogy_accuracy(wv: WordVectors, pairs=None) -> dict[str, float]:
    """Fraction of analogies answered exactly, per relation of ``pairs`` (default
    :data:`ANALOGIES`). For each ordered couple of pairs (a, b), (c, d) of a relation the
    question is "a : b = c : ?", right when the nearest word to b - a + c is d."""
    pairs = ANALOGIES if pairs is None else pairs
    scores = {}
    for relation, items in pairs.items():
        items = [(a, b) for a, b in items if a in wv and b in wv]
        if len(items) < 2:
            raise EmbeddingError(f"relation {relation!r}: fewer than two of its pairs are in the "
                                 "vocabulary.")
        right = total = 0
        for a, b in items:
            for c, d in items:
                if (a, b) == (c, d):
                    continue
                right += wv.analogy(a, b, c)[0][0] == d
                total += 1
        scores[relation] = right / total
    return scores


# ----------------------------------------------------------------------- GloVe via hub

_GLOVE_DIR = "0_WordEmbeddings"


def _write_glove_stand_in(folder: Path) -> None:
    """A random GloVe look-alike in sentence-transformers' layout: the analogy words only."""
    import torch

    words = ["PADDING_TOKEN"] + sorted({w for items in ANALOGIES.values() for p in items for w in p}
                                       | set(_FILLER))
    gen = torch.Generator().manual_seed(0)
    _save_glove(folder, words, torch.randn(len(words), 300, generator=gen))


def _write_glove_full_stand_in(folder: Path) -> None:
    """GloVe 6B 300-d at full size with random vectors, for the offline FULL rehearsal.

    400,000 words and the padding row, 300 float32 each (480 MB, as published): the words of
    :data:`ANALOGIES` and the toy corpus first (so ``load_glove(max_words=...)`` keeps them),
    then made-up words ``w000000`` ... to fill the vocabulary.
    """
    import torch

    real = sorted({w for items in ANALOGIES.values() for p in items for w in p} | set(_FILLER))
    words = ["PADDING_TOKEN"] + real + [f"w{i:06d}" for i in range(400_000 - len(real))]
    gen = torch.Generator().manual_seed(0)
    matrix = torch.randn(len(words), 300, generator=gen)
    matrix[0] = 0.0   # sentence-transformers' padding row is zeros
    _save_glove(folder, words, matrix)


def _save_glove(folder: Path, words: list[str], matrix) -> None:
    """The files of sentence-transformers' GloVe: the vocabulary, one row of ``matrix`` per word."""
    sub = folder / _GLOVE_DIR
    sub.mkdir(parents=True, exist_ok=True)
    (sub / "whitespacetokenizer_config.json").write_text(
        json.dumps({"vocab": words, "stop_words": [], "do_lower_case": True}))
    hub.save_weights({"emb_layer.weight": matrix}, sub / "model.safetensors")


#: GloVe 6B (Wikipedia 2014 + Gigaword 5, 400,000 words, 300 dimensions; Pennington et al.
#: 2014; vectors ODC-PDDL), as stored by sentence-transformers (repository Apache-2.0): a
#: vocabulary list and one safetensors matrix (about 480 MB).
GLOVE = hub.asset("glove-6B-300d", stand_in=_write_glove_stand_in,
                  full_stand_in=_write_glove_full_stand_in)

#: The weight files sentence-transformers publishes for the matrix, in the order tried.
_GLOVE_WEIGHTS = ("model.safetensors", "pytorch_model.bin")


def load_glove(max_words: int = 50000, path=None) -> tuple[WordVectors, Path]:
    """Pretrained GloVe vectors of the ``max_words`` most frequent words, and their folder.

    Fetched through :mod:`voicelab.core.hub` (offline: the stand-in, random vectors of the same
    format; check with ``hub.is_stand_in(folder)``). ``path`` loads a folder you already have;
    its matrix may be ``model.safetensors`` or ``pytorch_model.bin`` (both published, read
    with :func:`voicelab.core.hub.load_weights`: nothing in them is run). Introduced in notebook 06.
    """
    folder = Path(path) if path is not None else hub.fetch(GLOVE)
    sub = folder / _GLOVE_DIR
    vocab_file = sub / "whitespacetokenizer_config.json"
    if not vocab_file.is_file():
        raise EmbeddingError(f"{vocab_file} is missing: {folder} is not a GloVe download in "
                             "sentence-transformers' layout. Delete it and fetch it again.")
    vocab = json.loads(vocab_file.read_text())["vocab"]
    weights_file = next((sub / n for n in _GLOVE_WEIGHTS if (sub / n).is_file()), None)
    if weights_file is None:
        raise EmbeddingError(f"{sub} has no {' or '.join(_GLOVE_WEIGHTS)}: the GloVe download is "
                             "incomplete. Delete it and fetch it again.")
    matrix = hub.load_weights(weights_file).get("emb_layer.weight")
    if matrix is None or matrix.shape[0] != len(vocab):
        raise EmbeddingError(f"{weights_file} should hold 'emb_layer.weight' with one row per "
                             f"word ({len(vocab)}); it does not. Fetch it again.")
    keep = slice(1, 1 + max_words)   # row 0 is the padding token
    return WordVectors(list(vocab[keep]), matrix[keep].float().numpy()), folder


# ------------------------------------------------------------------ speaker embeddings


def speaker_embeddings(clips, encoder=None) -> np.ndarray:
    """Speaker embeddings (n, 256), unit length, of ``clips`` (paths or ``(y, sr)`` pairs).

    By default :func:`voicelab.audio.speaker.embedding` (Resemblyzer's pretrained GE2E
    encoder); ``encoder`` swaps in another encoder of the same kind, e.g.
    :func:`untrained_speaker_encoder`, with the same preprocessing.
    """
    from ..audio import speaker

    clips = list(clips)
    if not clips:
        raise EmbeddingError("no clips given.")
    with cpu_threads(1):  # a small LSTM on short clips: one thread is faster
        if encoder is None:
            return np.stack([speaker.embedding(c) for c in clips])
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            from resemblyzer import preprocess_wav
        out = []
        for c in clips:
            wav = preprocess_wav(speaker.clip(c))   # 16 kHz mono, as the default encoder's
            out.append(encoder.embed_utterance(wav).astype(np.float32))
        return np.stack(out)


def untrained_speaker_encoder(seed: int = 0):
    """Resemblyzer's encoder with fresh random weights: the control for notebook 06's claim."""
    import copy

    from ..audio import speaker

    enc = copy.deepcopy(speaker.encoder())
    with seeded(seed):
        for layer in (enc.lstm, enc.linear):
            layer.reset_parameters()
    return enc.eval()


#: espeak-ng voices (language + variant) that notebook 06 compares. espeak-ng itself falls
#: back silently to its default voice for a name it does not know, so only these are accepted.
ESPEAK_VARIANTS = ("en-us+m1", "en-us+m3", "en-gb+m3", "en-us+f1", "en-us+f3")


def espeak_variant(text: str, variant: str = "en-us+m3", sr: int = 16000):
    """Speak ``text`` with an espeak-ng voice of :data:`ESPEAK_VARIANTS`; returns ``(y, sr)``.

    :mod:`voicelab.data.speech` offers two espeak-ng voices; notebook 06 compares a few more.
    """
    from .. import audio

    if variant not in ESPEAK_VARIANTS:
        raise EmbeddingError(f"unknown espeak-ng voice {variant!r}; choose one of {ESPEAK_VARIANTS}.")
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise SynthesisError("espeak-ng is not installed. Install it (Debian/Ubuntu/Colab: "
                             "`apt-get install -y espeak-ng`) or run `make setup`.")
    with tempfile.TemporaryDirectory(prefix="voicelab-espeak-") as tmp:
        wav = Path(tmp) / "out.wav"
        done = subprocess.run([exe, "-v", variant, "-s", "150", "-w", str(wav), text],
                              capture_output=True, text=True)
        if done.returncode != 0 or not wav.exists():
            raise SynthesisError(f"espeak-ng failed for voice {variant!r}: {done.stderr.strip()}")
        return audio.load(wav, sr=sr, allow_silence=False)


def similarity_table(E, labels) -> tuple[list[str], np.ndarray]:
    """Mean cosine similarity between the clips of every two labels.

    ``E`` (n, d) embeddings, ``labels`` (n,) names. Returns ``(names, M)`` with M (k, k):
    on the diagonal the mean over *different* clips of the same label, elsewhere over all
    pairs of clips of the two labels. Names keep their first-seen order.
    """
    E = np.asarray(E, dtype=np.float64)
    labels = list(labels)
    if len(E) != len(labels):
        raise EmbeddingError(f"{len(E)} embeddings but {len(labels)} labels.")
    E = E / np.linalg.norm(E, axis=1, keepdims=True)
    names = list(dict.fromkeys(labels))
    groups = [np.flatnonzero(np.array(labels) == n) for n in names]
    if any(len(g) < 2 for g in groups):
        raise EmbeddingError("every label needs at least two clips (to compare a voice with itself).")
    M = np.zeros((len(names), len(names)))
    for i, gi in enumerate(groups):
        for j, gj in enumerate(groups):
            S = E[gi] @ E[gj].T
            M[i, j] = S[~np.eye(len(gi), dtype=bool)].mean() if i == j else S.mean()
    return names, M


def speakers_separate(E, labels, margin: float = 0.1) -> bool:
    """Notebook 06's claim: every label's clips are closer to each other than to any other label's.

    True when, for every label, the mean similarity of its own clips exceeds its largest
    mean similarity to another label by at least ``margin`` (cosine).
    """
    _, M = similarity_table(E, labels)
    off = M - np.diag(np.full(len(M), np.inf))
    return bool(np.all(np.diag(M) - off.max(1) >= margin))


def cluster_agreement(E, labels, seed: int = 0) -> tuple[float, np.ndarray]:
    """Cluster embeddings (n, d) with k-means, k = the number of distinct labels, without
    looking at the labels; return ``(adjusted Rand index, cluster of each row)``.

    The adjusted Rand index compares the clusters with the labels: 1 when they are the same
    partition (whatever the cluster numbers), about 0 for a random one. Introduced in notebook 06.
    """
    from sklearn.cluster import KMeans
    from sklearn.metrics import adjusted_rand_score

    E = np.asarray(E, dtype=np.float64)
    labels = list(labels)
    if len(E) != len(labels):
        raise EmbeddingError(f"{len(E)} embeddings but {len(labels)} labels.")
    k = len(set(labels))
    if not 2 <= k < len(E):
        raise EmbeddingError(f"need at least 2 labels and more rows than labels; got {k} labels "
                             f"for {len(E)} rows.")
    found = KMeans(n_clusters=k, n_init=10, random_state=seed).fit_predict(E)
    return float(adjusted_rand_score(labels, found)), found


def project_2d(E) -> np.ndarray:
    """(n, d) -> (n, 2) by PCA (the two directions of largest spread), signs fixed so the
    picture is the same on every machine."""
    E = np.asarray(E, dtype=np.float64)
    X = E - E.mean(0)
    _, _, Vt = np.linalg.svd(X, full_matrices=False)
    P = X @ Vt[:2].T
    return P * np.sign(P[np.abs(P).argmax(0), [0, 1]])


# ----------------------------------------------------------------------- CLAP via hub


def _write_clap_stand_in(folder: Path) -> None:
    """A tiny random CLAP (same classes and processor as the real one) and a 300-token BPE."""
    from transformers import ClapConfig, ClapModel

    texts = [" ".join(words) for words in toy_corpus(200)] + _SOUND_PROMPTS
    tokenizer = _clap_tokenizer(texts, 300)
    config = ClapConfig(
        text_config=dict(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=1,
                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=80),
        audio_config=dict(patch_embeds_hidden_size=8, depths=(1, 1, 1, 1),
                          num_attention_heads=(1, 1, 1, 1), hidden_size=64),
        projection_dim=16)
    with seeded(0):
        model = ClapModel(config)
    _save_clap(model, tokenizer, folder)


def _write_clap_full_stand_in(folder: Path) -> None:
    """LAION's CLAP (HTSAT-unfused) at full size with random weights, for the FULL rehearsal.

    transformers' ClapConfig defaults are this model's configuration (RoBERTa-base text
    encoder: 12 layers of width 768 over 50,265 tokens; HTSAT-tiny audio encoder: patch width
    96, depths 2-2-6-2; no fusion; 512-d joint space), about 153 M float32 parameters in one
    pytorch_model.bin (~615 MB) as published. The BPE tokenizer is trained here on a few
    sentences, so it knows far fewer than 50,265 tokens (the model's vocabulary keeps its size).
    """
    from transformers import ClapConfig, ClapModel

    config = ClapConfig(audio_config=dict(enable_fusion=False))
    model = ClapModel(config)
    texts = [" ".join(words) for words in toy_corpus(400)] + _SOUND_PROMPTS
    _save_clap(model, _clap_tokenizer(texts, 1000), folder)


def _clap_tokenizer(texts: list[str], vocab_size: int):
    """A RoBERTa byte-level BPE tokenizer trained on ``texts`` (CLAP's text tokenizer class)."""
    from tokenizers import ByteLevelBPETokenizer
    from transformers import RobertaTokenizerFast

    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator(texts, vocab_size=vocab_size, min_frequency=1, show_progress=False,
                            special_tokens=["<s>", "<pad>", "</s>", "<unk>", "<mask>"])
    with tempfile.TemporaryDirectory() as tmp:
        vocab, merges = bpe.save_model(tmp)
        return RobertaTokenizerFast(vocab, merges)


def _save_clap(model, tokenizer, folder: Path) -> None:
    """Write ``model`` and its processor as laion/clap-htsat-unfused publishes them: config.json,
    pytorch_model.bin (torch.save's zip format, tensors only), preprocessor_config.json and the
    tokenizer files."""
    import torch
    from transformers import ClapFeatureExtractor

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)
    state = {k: v.contiguous() for k, v in model.state_dict().items()}
    torch.save(state, folder / "pytorch_model.bin")
    # "rand_trunc": the unfused model's setting (clips over 10 s are cut at random)
    ClapFeatureExtractor(truncation="rand_trunc").save_pretrained(folder)
    tokenizer.save_pretrained(folder)


#: LAION's CLAP (HTSAT audio encoder + RoBERTa text encoder, trained on 630k audio-text
#: pairs; Apache-2.0), in transformers' format. Its weights are a pytorch_model.bin (~615 MB),
#: which transformers opens with torch.load(weights_only=True).
CLAP = hub.asset("clap-htsat-unfused", stand_in=_write_clap_stand_in,
                 full_stand_in=_write_clap_full_stand_in)


def load_clap(path=None, device: str = "cpu"):
    """CLAP model and processor, ``(model, processor, folder)``; fetched through
    :mod:`voicelab.core.hub` (offline: a tiny random stand-in). Introduced in notebook 06.

    The weights are a ``pytorch_model.bin``, which transformers opens with
    ``torch.load(weights_only=True)``: one that needs full unpickling raises
    :class:`~voicelab.core.errors.UnsafeModelError` and nothing in it is run.
    """
    import pickle

    from transformers import ClapModel, ClapProcessor

    folder = Path(path) if path is not None else hub.fetch(CLAP)
    with runtime.quiet():
        try:
            model = ClapModel.from_pretrained(folder).to(device).eval()
        except pickle.UnpicklingError as e:
            raise UnsafeModelError(
                f"{folder}: the CLAP weights contain Python objects that only full unpickling can "
                "rebuild, and full unpickling can run arbitrary code, so voicelab refuses to open "
                "them (nothing in the file was run). Delete the folder and fetch "
                "laion/clap-htsat-unfused again.") from e
        processor = ClapProcessor.from_pretrained(folder)
    return model, processor, folder


def _pooled(out):
    """transformers 4 returns the embedding tensor, 5 an output object with it as pooler_output."""
    import torch

    emb = out if isinstance(out, torch.Tensor) else out.pooler_output
    return torch.nn.functional.normalize(emb, dim=-1).cpu().numpy()


def clap_embed_text(model, processor, texts) -> np.ndarray:
    """Unit-length CLAP embeddings (n, d) of ``texts`` (a list of strings)."""
    import torch

    if isinstance(texts, str) or not texts:
        raise EmbeddingError("give a non-empty list of texts.")
    inputs = processor(text=list(texts), return_tensors="pt", padding=True)
    device = next(model.parameters()).device
    with torch.no_grad():
        return _pooled(model.get_text_features(input_ids=inputs["input_ids"].to(device),
                                               attention_mask=inputs["attention_mask"].to(device)))


def clap_embed_audio(model, processor, clips) -> np.ndarray:
    """Unit-length CLAP embeddings (n, d) of ``clips``: a list of ``(y, sr)`` (resampled to
    the processor's rate, 48 kHz for LAION's CLAP)."""
    import torch

    from .. import audio

    rate = processor.feature_extractor.sampling_rate
    waves = []
    for item in clips:
        if not (isinstance(item, tuple) and len(item) == 2):
            raise EmbeddingError("each clip must be a (y, sr) pair.")
        y, sr = item
        y = np.asarray(y, dtype=np.float32)
        waves.append(audio.resample(y, int(sr), rate) if int(sr) != rate else y)
    if not waves:
        raise EmbeddingError("no clips given.")
    try:
        inputs = processor(audio=waves, sampling_rate=rate, return_tensors="pt")
    except (TypeError, ValueError):  # transformers < 4.46 called the argument `audios`
        inputs = processor(audios=waves, sampling_rate=rate, return_tensors="pt")
    device = next(model.parameters()).device
    with torch.no_grad():
        return _pooled(model.get_audio_features(input_features=inputs["input_features"].to(device)))


_SOUND_PROMPTS = ["a man speaking", "a piano melody", "rain falling", "a drum beat",
                  "an electronic beep"]


def demo_sounds(sr: int = 48000, seconds: float = 3.0, seed: int = 0) -> dict[str, tuple]:
    """Five offline sounds for the CLAP demo, keyed by the prompt that describes them.

    ``a man speaking`` (flite's rms), ``a piano melody`` (decaying harmonic notes), ``rain
    falling`` (filtered noise with random drops), ``a drum beat`` (low thumps and noise
    hits), ``an electronic beep`` (a 1 kHz sine switched on and off). Each ``(y, sr)``.
    """
    from .. import audio
    from ..data.speech import synthesize

    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    t = np.arange(n) / sr
    speech, speech_sr = synthesize("We were away a year ago, and nobody knew where.", "rms")
    speech = audio.resample(speech, speech_sr, sr)[:n]
    piano = np.zeros(n)
    for i, midi in enumerate([60, 64, 67, 72, 67, 64]):
        start, f0 = int(i * n / 6), 440 * 2 ** ((midi - 69) / 12)
        tt = t[: n - start]
        note = sum(np.sin(2 * np.pi * f0 * k * tt) / k ** 1.5 for k in range(1, 7))
        piano[start:] += note * np.exp(-3 * tt)
    noise = rng.standard_normal(n)
    rain = np.convolve(noise, np.ones(4) / 4, "same") * 0.3
    for pos in rng.integers(0, n - 400, 120):
        rain[pos:pos + 400] += rng.standard_normal(400) * np.exp(-np.arange(400) / 60)
    drums = np.zeros(n)
    for i in range(int(seconds * 4)):
        start = int(i * sr / 4)
        tt = t[: min(int(0.2 * sr), n - start)]
        if i % 2 == 0:  # kick: a falling low sine
            hit = np.sin(2 * np.pi * (60 + 80 * np.exp(-tt * 30)) * tt) * np.exp(-tt * 12)
        else:           # snare: a noise burst
            hit = rng.standard_normal(len(tt)) * np.exp(-tt * 25) * 0.6
        drums[start:start + len(tt)] += hit
    beep = np.sin(2 * np.pi * 1000 * t) * ((t * 4) % 1 < 0.5)
    sounds = {"a man speaking": speech, "a piano melody": piano, "rain falling": rain,
              "a drum beat": drums, "an electronic beep": beep}
    return {k: ((0.5 * v / np.max(np.abs(v))).astype(np.float32), sr) for k, v in sounds.items()}


def spread_out(values, min_gap: float) -> np.ndarray:
    """Move ``values`` apart until neighbours are at least ``min_gap`` apart, keeping their
    order and moving them as little as possible (least squares).

    Used in notebook 06 to place word labels of a plot where they do not overlap: give it the
    labels' y positions, draw each label at the returned one. Values already far enough
    apart stay where they are.
    """
    v = np.asarray(values, dtype=float)
    if min_gap < 0:
        raise ValueError(f"min_gap must be >= 0, got {min_gap}")
    order = np.argsort(v, kind="stable")
    steps = min_gap * np.arange(len(v))
    # with the i-th smallest shifted down by i * min_gap, "gaps >= min_gap" becomes "not
    # decreasing": pool neighbours that break it into their mean (pool-adjacent-violators)
    blocks: list[list[float]] = []
    for x in v[order] - steps:
        blocks.append([x, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += count
    fitted = np.concatenate([np.full(int(c), t / c) for t, c in blocks]) if blocks else v
    out = np.empty_like(v)
    out[order] = fitted + steps
    return out


# ----------------------------------------------------------- a joint space trained here


def clip_loss(a, t, temperature: float = 0.1):
    """CLIP's contrastive loss (InfoNCE) for ``n`` matching pairs: row ``i`` of ``a`` goes with
    row ``i`` of ``t`` (both ``(n, d)``, unit length).

    Written out in notebook 06. The cosines of every pair, divided by ``temperature``, are
    scores: each audio row must pick its own text row out of all ``n`` (a cross-entropy), and
    each text row its own audio row; the loss is the mean of the two.
    """
    import torch
    import torch.nn.functional as F

    logits = a @ t.T / temperature
    target = torch.arange(len(a), device=a.device)
    return (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2


class JointSpace:
    """Audio and labels in one space: a linear projection of a (frozen) embedding, and one
    learnt vector per label (the "text encoder": a table). Introduced in notebook 06.

    ``embed_audio(E)`` and ``embed_labels()`` give unit vectors of size ``dim``;
    ``similarity(E)`` is their cosine table ``(len(E), len(names))``; ``classify(E)`` names
    the closest label of each row, as CLIP names the closest caption (zero-shot style).
    """

    def __init__(self, names, in_dim: int, dim: int = 16, seed: int = 0):
        import torch

        self.names = list(names)
        with seeded(seed):
            self.proj = torch.nn.Linear(in_dim, dim, bias=False)
            self.table = torch.nn.Parameter(torch.randn(len(self.names), dim))

    def __repr__(self) -> str:
        return (f"JointSpace({self.proj.in_features} -> {self.proj.out_features} dimensions, "
                f"{len(self.names)} labels)")

    def parameters(self):
        return [*self.proj.parameters(), self.table]

    def _audio(self, E):
        import torch
        import torch.nn.functional as F

        return F.normalize(self.proj(torch.as_tensor(np.asarray(E), dtype=torch.float32)), dim=1)

    def _labels(self):
        import torch.nn.functional as F

        return F.normalize(self.table, dim=1)

    def embed_audio(self, E) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self._audio(E).numpy()

    def embed_labels(self) -> np.ndarray:
        import torch

        with torch.no_grad():
            return self._labels().numpy()

    def similarity(self, E) -> np.ndarray:
        return self.embed_audio(E) @ self.embed_labels().T

    def classify(self, E) -> list[str]:
        return [self.names[i] for i in self.similarity(E).argmax(1)]


def train_joint_space(E, labels, loss_fn=clip_loss, dim: int = 16, steps: int = 300,
                      lr: float = 0.01, seed: int = 0) -> tuple[JointSpace, list[float]]:
    """Train a :class:`JointSpace` on embeddings ``E`` ``(n, d)`` and their ``labels``.

    Introduced in notebook 06. Each step draws one clip of every label (so the ``k`` labels
    make ``k`` matching pairs, as a CLIP batch of images and their captions) and takes an Adam
    step on ``loss_fn(audio vectors, label vectors)``. CPU, a second or two. Returns the space
    and the loss of every step.
    """
    import torch

    E = np.asarray(E, dtype=np.float32)
    labels = list(labels)
    if len(E) != len(labels) or len(E) == 0:
        raise EmbeddingError(f"train_joint_space needs one label per embedding; got {len(E)} "
                             f"embeddings and {len(labels)} labels.")
    names = list(dict.fromkeys(labels))
    if len(names) < 2:
        raise EmbeddingError("train_joint_space needs at least two labels to tell apart.")
    space = JointSpace(names, E.shape[1], dim=dim, seed=seed)
    members = [np.flatnonzero(np.array(labels) == n) for n in names]
    opt = torch.optim.Adam(space.parameters(), lr=lr)
    rng = np.random.default_rng(seed)
    losses = []
    with seeded(seed):
        for _ in range(steps):
            batch = [int(rng.choice(m)) for m in members]
            loss = loss_fn(space._audio(E[batch]), space._labels())
            opt.zero_grad()
            loss.backward()
            opt.step()
            losses.append(loss.item())
    return space, losses

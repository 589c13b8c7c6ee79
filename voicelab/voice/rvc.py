"""Retrieval-based Voice Conversion (RVC): the feature index, and community RVC models.

Introduced in notebook 11. RVC converts like so-vits-svc (content features + F0 into a
VITS decoder with a neural-source-filter vocoder) and adds two things this module shows:

* **retrieval**: every frame of the source's content features is pulled towards its
  ``k`` nearest neighbours among the *target speaker's* training features (RVC keeps
  them in a faiss ``.index`` file), by a ratio RVC calls the *index rate*. A
  :class:`FeatureIndex` does exactly that in plain torch, offline, so it can be seen
  and measured; :meth:`FeatureIndex.as_cluster_model` plugs it into so-vits-svc's own
  blend hook, so :func:`voicelab.voice.svc.convert` can use it too.
* **RMVPE** pitch: a neural F0 estimator that copes with reverb and accompaniment.

Community RVC models (a small ``.pth`` inference file and usually a ``.index``) are run
through the ``huggingface-hub-rvc`` package from PyPI. :func:`hub_model` downloads one
through :mod:`voicelab.core.hub` (offline: a tiny stand-in with the same files), and
:func:`load` opens it only if it holds nothing but tensors and plain containers: a
``.pth`` that needs full unpickling is refused with :class:`voicelab.UnsafeModelError`
before the package sees it.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core import files, hub, runtime
from ..core.errors import (
    MissingFileError, ModelFileError, ModelFileNotFoundError, RVCError, UnknownSpeakerError,
    UnsafeModelError, VoicelabError,
)
from ..core.torchutil import seeded

__all__ = [
    "RVCError", "F0_METHODS", "EXAMPLE_MODEL", "EXAMPLE_ASSET", "RMVPE", "FeatureIndex",
    "content_features",
    "build_index", "index_from_clips", "speaker_probe", "speaker_share", "RVCModel", "hub_model",
    "write_tiny_model", "load", "is_rvc_model", "convert",
]

#: Pitch methods of the RVC path: RMVPE (a neural estimator, weights from the Hub, FULL
#: mode) and "pm" (Praat's autocorrelation via parselmouth: no weights, works offline).
F0_METHODS = ("rmvpe", "pm")
#: A community RVC v2 model on the Hub, as the RVC tools' own examples use it: (repo id,
#: model file, index file). It imitates a game character's voice actor: use it to learn
#: how inference works, not to publish anything.
EXAMPLE_MODEL = ("sail-rvc/yoimiya-jp", "model.pth", "model.index")
#: RMVPE pitch estimator weights (a plain state_dict, ~180 MB), from RVC's asset repository
#: (manifest entry "rvc-rmvpe"). No tiny stand-in: QUICK mode uses "pm" pitch.
def _write_rmvpe_full(path: Path) -> None:
    """Full size (FULL rehearsal): a plain half-precision state_dict of RMVPE's ``E2E(4, 1, (2, 2))``."""
    import torch
    from huggingface_hub_rvc.core.rmvpe import E2E

    net = E2E(4, 1, (2, 2))
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()},
               path)


RMVPE = hub.asset("rvc-rmvpe", filename="rmvpe.pt", full_stand_in=_write_rmvpe_full)

_FRAME_S = 0.02     # ContentVec: one feature vector every 320 samples at 16 kHz


# ---------------------------------------------------------------------------- features


_ENCODER: dict = {}


def _encoder():
    """so-vits-svc-fork's ContentVec model, loaded once from :data:`voicelab.voice.svc.CONTENTVEC`."""
    from . import svc

    source = hub.fetch(svc.CONTENTVEC)
    key = str(source)
    if key not in _ENCODER:
        _ENCODER.clear()
        _ENCODER[key] = svc.contentvec_model("cpu").eval()
    return _ENCODER[key]


def content_features(y, sr: int | None = None) -> np.ndarray:
    """ContentVec features of one clip: float32 ``(frames, 768)``, one frame every 20 ms.

    Introduced in notebook 11. ``y`` is a path or an array at ``sr`` Hz. The encoder is the
    one so-vits-svc trains with (:data:`voicelab.voice.svc.CONTENTVEC`; offline its stand-in),
    so these are the features a model and its index see.
    """
    import torch
    from so_vits_svc_fork import utils as svc_utils

    from .. import audio

    if isinstance(y, (str, os.PathLike)):
        y, _ = audio.load(y, sr=16000)
    else:
        if sr is None:
            raise ValueError("content_features(array) needs sr= (the array's rate in Hz).")
        y = np.asarray(y, dtype=np.float32)
        y = audio.resample(y, sr, 16000) if sr != 16000 else y
    with runtime.quiet():
        c = svc_utils.get_content(_encoder(), torch.from_numpy(np.ascontiguousarray(y)), "cpu", 16000)
    return c[0].T.numpy().astype(np.float32)


# ---------------------------------------------------------------------------- the index


class _Retrieval:
    """so-vits-svc's cluster hook, answered by nearest-neighbour retrieval.

    so-vits-svc-fork blends ``ratio * centers[model.predict(c)] + (1 - ratio) * c``; here
    ``predict`` retrieves every frame's neighbours and returns row numbers into the
    retrieved frames, so the same line performs RVC's blend.
    """

    def __init__(self, index: "FeatureIndex"):
        self.index = index
        self.cluster_centers_ = np.zeros((0, index.dim), np.float32)

    def predict(self, x) -> np.ndarray:
        self.cluster_centers_ = self.index.retrieve(x)
        return np.arange(len(self.cluster_centers_))


@dataclass
class FeatureIndex:
    """A nearest-neighbour index over one speaker's content-feature frames. Introduced in notebook 11.

    ``features`` is float32 ``(N, D)`` (D = 768 for ContentVec). :meth:`retrieve` replaces each
    query frame by the average of its ``k`` nearest frames weighted by 1/distance⁴, RVC's
    rule (its faiss index returns squared distances d², and RVC weights by ``np.square(1 /
    d²)``); :meth:`blend` mixes that with the query by ``ratio`` (RVC's *index rate*).
    """

    features: np.ndarray
    speaker: str = ""
    k: int = 8

    def __post_init__(self):
        f = np.asarray(self.features, dtype=np.float32)
        if f.ndim != 2 or f.shape[0] == 0:
            raise ValueError(f"FeatureIndex needs a non-empty (frames, dim) array, got shape {f.shape}.")
        if not np.isfinite(f).all():
            raise ValueError("FeatureIndex: the features contain NaN or infinite values.")
        if self.k < 1:
            raise ValueError(f"k must be at least 1, got {self.k}.")
        self.features = np.ascontiguousarray(f)

    def __len__(self) -> int:
        return len(self.features)

    @property
    def dim(self) -> int:
        """Feature dimension D."""
        return self.features.shape[1]

    def __repr__(self) -> str:
        who = f" of {self.speaker!r}" if self.speaker else ""
        return f"FeatureIndex({len(self)} frames{who}, dim {self.dim}, k={self.k})"

    def _query(self, query) -> np.ndarray:
        q = np.asarray(query, dtype=np.float32)
        if q.ndim != 2 or q.shape[1] != self.dim:
            raise ValueError(f"query must have shape (frames, {self.dim}), got {q.shape}: "
                             "use features from the same content encoder as the index.")
        return q

    def search(self, query, k: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """``(distances, indices)``, each ``(frames, k)``: the ``k`` nearest index frames (Euclidean)."""
        import torch

        q = self._query(query)
        k = min(k or self.k, len(self))
        keys = torch.from_numpy(self.features)
        dists, idx = [], []
        for start in range(0, len(q), 1024):
            d = torch.cdist(torch.from_numpy(q[start:start + 1024]), keys)
            top = torch.topk(d, k, dim=1, largest=False)
            dists.append(top.values.numpy())
            idx.append(top.indices.numpy())
        if not dists:
            return np.zeros((0, k), np.float32), np.zeros((0, k), np.int64)
        return np.concatenate(dists), np.concatenate(idx)

    def retrieve(self, query) -> np.ndarray:
        """Each query frame replaced by its neighbours' average, weights 1/distance⁴: ``(frames, D)``.

        As RVC's pipeline: ``score, ix = index.search(npy, k=8)`` (faiss, L2 metric: squared
        distances), ``weight = np.square(1 / score)``.
        """
        d, idx = self.search(query)
        squared = np.maximum(np.square(d), 1e-12)
        w = np.square(1.0 / squared)
        w /= w.sum(axis=1, keepdims=True)
        return np.einsum("tk,tkd->td", w, self.features[idx]).astype(np.float32)

    def blend(self, query, ratio: float) -> np.ndarray:
        """``ratio * retrieve(query) + (1 - ratio) * query``; ``ratio`` in [0, 1] (0: no retrieval)."""
        if not 0.0 <= float(ratio) <= 1.0:
            raise ValueError(f"ratio must be between 0 and 1, got {ratio}.")
        q = self._query(query)
        if ratio == 0:
            return q.copy()
        return (ratio * self.retrieve(q) + (1.0 - ratio) * q).astype(np.float32)

    def as_cluster_model(self, speaker: str) -> dict:
        """``{speaker: hook}`` for :func:`voicelab.voice.svc.convert`'s ``cluster=`` (blend by ``cluster_ratio``)."""
        return {speaker: _Retrieval(self)}

    def save(self, path) -> Path:
        """Write the index as safetensors (``features`` + speaker and k as metadata); return the path."""
        import torch

        return hub.save_weights({"features": torch.from_numpy(self.features)}, path,
                                metadata={"format": "voicelab-feature-index",
                                          "speaker": self.speaker, "k": str(self.k)})

    @classmethod
    def load(cls, path) -> "FeatureIndex":
        """Read :meth:`save`'s safetensors file, or an RVC/faiss ``.index`` file (needs faiss-cpu)."""
        path = Path(path)
        if path.suffix == ".index":
            return cls(_faiss_vectors(path), speaker=path.stem)
        from safetensors import safe_open

        tensors = hub.load_weights(path)
        if "features" not in tensors:
            raise ModelFileError(f"{path} holds no 'features' tensor: not a voicelab feature index.")
        with safe_open(str(path), framework="pt") as f:
            meta = f.metadata() or {}
        return cls(tensors["features"].numpy(), speaker=meta.get("speaker", ""),
                   k=int(meta.get("k", 8)))


def _faiss():
    """The faiss module, imported without its INFO lines about CPU instruction sets."""
    try:
        with runtime.quiet():
            import faiss
    except ImportError as e:  # pragma: no cover - faiss-cpu is a dependency
        raise RVCError("reading or writing an RVC .index file needs faiss (`pip install faiss-cpu`).") from e
    return faiss


def _faiss_vectors(path: Path) -> np.ndarray:
    """All vectors stored in a faiss index file (RVC's ``.index``): float32 ``(N, D)``."""
    faiss = _faiss()
    if not path.is_file():
        raise ModelFileNotFoundError(f"{path}: no such index file.")
    try:
        index = faiss.read_index(str(path))
    except RuntimeError as e:
        raise ModelFileError(f"{path} is not a faiss index file faiss can read ({e}).") from e
    try:
        vectors = index.reconstruct_n(0, index.ntotal)
    except RuntimeError:  # an IVF index without its direct map
        faiss.extract_index_ivf(index).make_direct_map()
        vectors = index.reconstruct_n(0, index.ntotal)
    return np.asarray(vectors, dtype=np.float32)


def build_index(run_dir, speaker: str | None = None, *, exclude=(), max_frames: int = 50_000,
                k: int = 8, seed: int = 0) -> FeatureIndex:
    """The retrieval index of a so-vits-svc run: its speaker's training features.

    Introduced in notebook 11. Reads the ContentVec features that ``svc pre-hubert`` stored
    in ``RUN/dataset/44k/{speaker}/*.data.pt`` (opened weights-only), one row per 20 ms
    frame as in RVC's own index (pre-hubert's repeated rows dropped). ``exclude``: clip
    names (e.g. ``"slt_000.wav"``) to leave out, so they can be used to measure. With more
    than ``max_frames`` frames a seeded random subset is kept (RVC itself shrinks big
    indexes with k-means).
    """
    from . import svc

    data = svc.run_layout(run_dir).data
    folders = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    if speaker is not None:
        folders = [f for f in folders if f.name == speaker]
    if not folders:
        who = f" for speaker {speaker!r}" if speaker else ""
        raise MissingFileError(f"No prepared features{who} in {data}: run voicelab.voice.svc.prepare "
                               "(or train) on the run first.")
    frames, skip = [], {Path(name).name for name in exclude}
    for f in sorted(folders[0].glob("*.data.pt")):
        if f.name.removesuffix(".data.pt") in skip:
            continue
        c = hub.load_weights(f)["content"].float().numpy().T
        # pre-hubert repeats each 20 ms frame to the decoder's 11.6 ms frame rate: keep one copy
        frames.append(c[np.r_[True, np.any(c[1:] != c[:-1], axis=1)]])
    if not frames:
        raise MissingFileError(f"No *.data.pt files in {folders[0]}: run voicelab.voice.svc.prepare "
                               "(svc pre-hubert) on the run first.")
    features = np.concatenate(frames)
    if len(features) > max_frames:
        keep = np.sort(np.random.default_rng(seed).choice(len(features), max_frames, replace=False))
        features = features[keep]
    return FeatureIndex(features, speaker=folders[0].name, k=k)


def index_from_clips(clips, speaker: str = "", *, k: int = 8) -> FeatureIndex:
    """A :class:`FeatureIndex` from audio clips (paths), through :func:`content_features`."""
    clips = list(clips)
    if not clips:
        raise ValueError("index_from_clips needs at least one clip.")
    return FeatureIndex(np.concatenate([content_features(c) for c in clips]), speaker=speaker, k=k)


def speaker_probe(features: dict, *, seed: int = 0):
    """A linear classifier that tells speakers apart from single content-feature frames.

    Introduced in notebook 11, to *measure* what retrieval does. ``features`` maps each
    speaker's name to a ``(frames, D)`` array (use clips that are not in the index). Returns
    a fitted scikit-learn pipeline (standardise, logistic regression) whose ``speakers_``
    lists the names in class order; :func:`speaker_share` reads it.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    names = sorted(features)
    if len(names) < 2:
        raise ValueError(f"speaker_probe needs features of at least 2 speakers, got {names}.")
    X = np.concatenate([np.asarray(features[n], dtype=np.float32) for n in names])
    y = np.concatenate([np.full(len(features[n]), i) for i, n in enumerate(names)])
    probe = make_pipeline(StandardScaler(),
                          LogisticRegression(C=0.1, max_iter=1000, random_state=seed)).fit(X, y)
    probe.speakers_ = names
    return probe


def speaker_share(probe, frames, speaker: str) -> float:
    """Mean probability ``probe`` (from :func:`speaker_probe`) gives ``speaker`` over ``frames``."""
    if speaker not in probe.speakers_:
        raise UnknownSpeakerError(f"Speaker {speaker!r} is not one the probe knows: "
                                  f"{', '.join(probe.speakers_)}.")
    proba = probe.predict_proba(np.asarray(frames, dtype=np.float32))
    return float(proba[:, probe.speakers_.index(speaker)].mean())


# ---------------------------------------------------------------------------- models


#: Shrunk RVC v2 generator (arguments of SynthesizerTrnMs768NSFsid, RVC's list order) for
#: the offline stand-in: 40 kHz, a hop of 400 samples = 10 * 10 * 2 * 2.
_TINY_CONFIG = [1025, 32, 16, 16, 32, 2, 1, 3, 0, "1", [3], [[1, 3, 5]], [10, 10, 2, 2], 32,
                [20, 20, 4, 4], 1, 16, 40000]


def write_tiny_model(folder, name: str = "model.pth", index_name: str | None = "model.index",
                     seed: int = 0) -> Path:
    """Write a tiny random RVC v2 model (+ its ``.index``) in RVC's own file layout; return ``folder``.

    Introduced in notebook 11 as the offline stand-in of :func:`hub_model`: the ``.pth`` is
    RVC's inference format (``weight``, ``config``, ``sr``, ``f0``, ``version``, ``info``),
    the index a faiss flat index over ContentVec features of offline speech (speaker awb).
    """
    from huggingface_hub_rvc.core.models import SynthesizerTrnMs768NSFsid

    from ..data import speech

    faiss = _faiss()

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    with seeded(seed), runtime.quiet():
        net = SynthesizerTrnMs768NSFsid(*_TINY_CONFIG, is_half=False)
    weights = {k: v.half() for k, v in net.state_dict().items() if not k.startswith("enc_q.")}
    ckpt = {"weight": weights, "config": list(_TINY_CONFIG), "info": "voicelab stand-in",
            "sr": "40k", "f0": 1, "version": "v2"}
    files.torch_save(ckpt, folder / name)
    if index_name:
        folder_awb = speech.make_speech(["awb"], n_sentences=3) / "awb"   # the cache may hold more
        clips = [folder_awb / f"awb_{i:03d}.wav" for i in range(3)]
        vectors = np.concatenate([content_features(c) for c in clips])
        index = faiss.IndexFlatL2(vectors.shape[1])
        index.add(vectors)
        faiss.write_index(index, str(folder / index_name))
    return folder


def hub_model(repo_id: str = EXAMPLE_MODEL[0], filename: str = EXAMPLE_MODEL[1],
              index: str | None = EXAMPLE_MODEL[2]) -> Path:
    """A folder holding a community RVC model from the Hub (``filename`` and its ``index``).

    Introduced in notebook 11. Downloads through :mod:`voicelab.core.hub` (cached); offline
    (QUICK mode, ``HF_HUB_OFFLINE=1``) with nothing cached it returns a stand-in written by
    :func:`write_tiny_model` (check with :func:`voicelab.core.hub.is_stand_in`). Nothing in the
    files is trusted yet: :func:`load` checks them. The example (the defaults) is the manifest's
    asset :data:`EXAMPLE_ASSET`; another repository is fetched as given (``filename`` and
    ``index``, not checked against the manifest, which lists only the course's own assets).
    """
    if not filename.endswith((".pth", ".safetensors")):
        raise ValueError(f"filename={filename!r}: an RVC model is a .pth or .safetensors file.")
    if index is not None and not index.endswith(".index"):
        raise ValueError(f"index={index!r}: an RVC index file ends in .index.")
    if (repo_id, filename, index) == EXAMPLE_MODEL:
        return hub.fetch(EXAMPLE_ASSET)
    patterns = (filename,) + ((index,) if index else ())
    asset = hub.Asset(
        "rvc-" + repo_id.replace("/", "--"), repo_id=repo_id, allow_patterns=patterns,
        description=f"RVC model {repo_id} ({', '.join(patterns)})",
        stand_in=lambda folder: write_tiny_model(folder, name=filename, index_name=index))
    return hub.fetch(asset)


def _write_example_stand_in(folder: Path) -> None:
    write_tiny_model(folder, name=EXAMPLE_MODEL[1], index_name=EXAMPLE_MODEL[2])


#: RVC v2 40 kHz (SynthesizerTrnMs768NSFsid's arguments in RVC's order, as its exported
#: ``config``): spec channels, segment, inter, hidden, filter, heads, layers, kernel, dropout,
#: resblock, kernel sizes, dilations, upsample rates, initial channel, upsample kernels,
#: speakers, gin channels, sampling rate.
_RVC_V2_40K = [1025, 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11],
               [[1, 3, 5], [1, 3, 5], [1, 3, 5]], [10, 10, 2, 2], 512, [16, 16, 4, 4], 109, 256,
               40000]
_FULL_INDEX_VECTORS = 20_000


def _write_example_full(folder: Path) -> None:
    """Full size (FULL rehearsal): ``model.pth`` in RVC's v2 40 kHz inference format (random fp16
    weights) and ``model.index``, a faiss IVF index as RVC's train_index writes it
    (``IVF{n},Flat``, n = min(16 sqrt(N), N/39)) over random 768-dim vectors."""
    import math

    import torch
    from huggingface_hub_rvc.core.models import SynthesizerTrnMs768NSFsid

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    net = SynthesizerTrnMs768NSFsid(*_RVC_V2_40K, is_half=False)
    weights = {k: v.half() for k, v in net.state_dict().items() if not k.startswith("enc_q.")}
    torch.save({"weight": weights, "config": list(_RVC_V2_40K), "info": "300epoch",
                "sr": "40k", "f0": 1, "version": "v2"}, folder / EXAMPLE_MODEL[1])
    faiss = _faiss()
    vectors = torch.randn(_FULL_INDEX_VECTORS, 768).numpy()
    n_ivf = min(int(16 * math.sqrt(len(vectors))), len(vectors) // 39)
    index = faiss.index_factory(768, f"IVF{n_ivf},Flat")
    faiss.extract_index_ivf(index).nprobe = 1
    index.train(vectors)
    index.add(vectors)
    faiss.write_index(index, str(folder / EXAMPLE_MODEL[2]))


#: :data:`EXAMPLE_MODEL` as a manifest asset (``model.pth`` + ``model.index``).
EXAMPLE_ASSET = hub.asset("rvc-" + EXAMPLE_MODEL[0].replace("/", "--"),
                          stand_in=_write_example_stand_in, full_stand_in=_write_example_full)


@dataclass
class RVCModel:
    """A checked RVC model: what :func:`load` found. Introduced in notebook 11.

    ``weights`` is the ``.pth``/``.safetensors`` file, ``index_path`` the ``.index`` file
    (or None), ``index`` its vectors as a :class:`FeatureIndex` (or None). ``sample_rate``
    in Hz; ``version`` "v1" (256-dim features) or "v2" (768-dim); ``f0``: whether it is
    conditioned on pitch; ``speakers``: rows of its speaker table.
    """

    folder: Path
    weights: Path
    index_path: Path | None
    version: str
    sample_rate: int
    f0: bool
    speakers: int
    info: str = ""
    index: FeatureIndex | None = None

    def __str__(self) -> str:
        idx = f"index of {len(self.index)} frames" if self.index is not None else "no index"
        return (f"RVC {self.version} model {self.weights.name}: {self.sample_rate} Hz, "
                f"{'pitch-conditioned' if self.f0 else 'no pitch input'}, "
                f"{self.speakers} speaker(s), {idx}")


def _rvc_files(path: Path) -> tuple[Path, Path | None]:
    if path.is_file():
        weights, folder = path, path.parent
    elif path.is_dir():
        candidates = sorted(p for p in path.iterdir()
                            if p.suffix in (".pth", ".safetensors") and not p.name.startswith("."))
        if not candidates:
            raise RVCError(f"No RVC model in {path}: expected a .pth or .safetensors file there.")
        if len(candidates) > 1:
            named = [p for p in candidates if p.stem == "model"]
            if len(named) != 1:
                raise RVCError(f"{path} holds several model files ({', '.join(p.name for p in candidates)}); "
                               "pass the one you want.")
            candidates = named
        weights, folder = candidates[0], path
    else:
        raise ModelFileNotFoundError(f"{path}: no such RVC model file or folder.")
    indexes = sorted(p for p in folder.glob("*.index") if not p.name.startswith("."))
    return weights, (indexes[0] if indexes else None)


def is_rvc_model(path) -> bool:
    """True when ``path`` is (or holds) an RVC inference ``.pth``/``.safetensors`` and no so-vits-svc config."""
    if isinstance(path, RVCModel):
        return True
    path = Path(path)
    folder = path.parent if path.is_file() else path
    if (folder / "config.json").is_file():
        try:
            if "spk" in json.loads((folder / "config.json").read_text("utf-8")):
                return False         # a so-vits-svc model folder
        except (OSError, ValueError):
            pass
    try:
        weights, _ = _rvc_files(path)
    except (VoicelabError, OSError):
        return False
    if weights.suffix == ".safetensors":        # huggingface-hub-rvc's own format says so
        from safetensors import safe_open

        try:
            with safe_open(str(weights), framework="pt") as f:
                return "rvc" in (f.metadata() or {}).get("kind", "")
        except Exception:
            return False
    return not weights.name.startswith(("G_", "D_"))


def load(path) -> RVCModel:
    """Check an RVC model file (or the folder holding it) and return an :class:`RVCModel`.

    Introduced in notebook 11. The weights are opened with :func:`voicelab.core.hub.load_weights`
    (safetensors, or ``torch.load(weights_only=True)``): a ``.pth`` that needs full
    unpickling raises :class:`voicelab.UnsafeModelError` and nothing in it runs. A file that
    is not an RVC *inference* model (e.g. a training checkpoint) raises ``RVCError``.
    """
    weights, index_path = _rvc_files(Path(path))
    try:
        ckpt = hub.load_weights(weights)
    except UnsafeModelError as err:
        raise UnsafeModelError(
            f"{err} (Many RVC .pth files were written by tools that stored extra Python objects "
            "next to the weights; torch >= 2.6 no longer unpickles those by default, which is "
            "why such models 'stopped loading'.)") from err
    if weights.suffix == ".safetensors":
        from safetensors import safe_open

        with safe_open(str(weights), framework="pt") as f:
            meta = f.metadata() or {}
        version, sr = meta.get("version", "v2"), int(meta.get("sample_rate", 0) or 0)
        f0, info = json.loads(meta.get("f0", "true")), meta.get("model_name", "")
        state = ckpt
    else:
        if isinstance(ckpt.get("model"), dict) and "weight" not in ckpt:
            raise RVCError(f"{weights} is a training checkpoint (G_*/D_* with optimiser state), not "
                           "the small inference model RVC exports (weights/NAME.pth): use that one.")
        if not isinstance(ckpt.get("weight"), dict) or not isinstance(ckpt.get("config"), (list, tuple)):
            raise RVCError(f"{weights} is not an RVC inference model: it has no 'weight' and "
                           f"'config' entries (it has {', '.join(map(str, list(ckpt)[:6]))}).")
        state, config = ckpt["weight"], ckpt["config"]
        version, f0, info = str(ckpt.get("version", "v1")).lower(), bool(ckpt.get("f0", 1)), str(ckpt.get("info", ""))
        sr_value = str(ckpt.get("sr", config[-1])).lower()
        sr = {"32k": 32000, "40k": 40000, "48k": 48000}.get(sr_value) or int(sr_value)
    emb = state.get("emb_g.weight")
    speakers = int(emb.shape[0]) if emb is not None else 1
    index = FeatureIndex.load(index_path) if index_path is not None else None
    if index is not None and index.dim != (768 if version == "v2" else 256):
        raise RVCError(f"{index_path} holds {index.dim}-dim features but an RVC {version} model "
                       f"expects {768 if version == 'v2' else 256}: the index belongs to another model.")
    return RVCModel(Path(weights.parent), weights, index_path, version, sr, f0, speakers, info, index)


# ---------------------------------------------------------------------------- conversion


def _hubert_dir() -> Path:
    """ContentVec (:data:`voicelab.voice.svc.CONTENTVEC`) as the Transformers folder the RVC package reads.

    RVC calls this encoder ``hubert_base``; the package also wants a feature-extractor
    config, which says "no input normalisation" as in RVC.
    """
    from . import svc

    source = hub.fetch(svc.CONTENTVEC)
    tag = hashlib.sha256(str(source.resolve()).encode()).hexdigest()[:12]
    folder = runtime.cache_dir() / "rvc" / f"contentvec-{tag}"
    links = {f.name: f.resolve() for f in source.iterdir()
             if f.is_file() and not f.name.startswith(".")}
    if not _links_match(folder, links):
        # Made anew when half-made, or when the source changed since (a stand-in rebuilt in
        # another format leaves links to files that are gone).
        with files.atomic_folder(folder, overwrite=True) as tmp:
            for name, target in links.items():
                os.symlink(target, tmp / name)
            (tmp / "preprocessor_config.json").write_text(json.dumps(
                {"feature_extractor_type": "Wav2Vec2FeatureExtractor", "feature_size": 1,
                 "sampling_rate": 16000, "padding_value": 0.0, "do_normalize": False,
                 "return_attention_mask": False}, indent=1))
    return folder


def _links_match(folder: Path, links: dict) -> bool:
    """Whether ``folder`` holds a preprocessor config and exactly ``links`` (name -> target)."""
    if not (folder / "preprocessor_config.json").is_file():
        return False
    found = {f.name: Path(os.readlink(f)) for f in folder.iterdir() if f.is_symlink()}
    return found == links and all(target.is_file() for target in found.values())


_PIPELINES: dict = {}


def _pipeline(model: RVCModel, f0_method: str):
    from huggingface_hub_rvc import RVCPipeline

    config = {"hubert_model_path": str(_hubert_dir())}
    if f0_method == "rmvpe":
        rmvpe = hub.fetch(RMVPE)
        hub.load_weights(rmvpe)          # refuse it here if it ever needs full unpickling
        config["rmvpe_model_path"] = str(rmvpe)
    key = (str(model.weights), model.weights.stat().st_mtime_ns, json.dumps(config, sort_keys=True))
    if key not in _PIPELINES:
        _PIPELINES.clear()
        with runtime.quiet():
            _PIPELINES[key] = RVCPipeline.from_pretrained(str(model.weights), model_config=config)
    return _PIPELINES[key]


def convert(source, model, *, transpose: int = 0, f0_method: str | None = None,
            index_ratio: float = 0.75, protect: float = 0.33, speaker: int = 0, out=None,
            sr: int | None = None, device: str | None = None) -> tuple[np.ndarray, int]:
    """Convert speech with an RVC model; return ``(y, sr)`` at the model's rate.

    Introduced in notebook 11. ``model``: an :class:`RVCModel` or a path for :func:`load`.
    ``source``: an audio file, or an array at ``sr`` Hz. ``transpose`` shifts the pitch in
    semitones; ``f0_method`` is "rmvpe" (FULL default; weights from the Hub) or "pm" (QUICK
    default, offline). ``index_ratio`` (0-1) is RVC's index rate: how far the content
    features move towards the retrieved target features (needs an index). ``protect``
    (0-0.5) keeps unvoiced frames (consonants, breaths) closer to the source's own
    features. ``out`` also writes the result there. Runs ``huggingface-hub-rvc``.
    """
    from .. import audio

    rvc_model = model if isinstance(model, RVCModel) else load(model)
    f0_method = f0_method or runtime.pick("pm", "rmvpe")
    if f0_method not in F0_METHODS:
        raise ValueError(f"f0_method={f0_method!r}; the RVC path offers {', '.join(F0_METHODS)}.")
    if not 0.0 <= float(index_ratio) <= 1.0:
        raise ValueError(f"index_ratio must be between 0 and 1, got {index_ratio}.")
    if not 0.0 <= float(protect) <= 0.5:
        raise ValueError(f"protect must be between 0 and 0.5, got {protect}.")
    if not 0 <= int(speaker) < rvc_model.speakers:
        raise ValueError(f"speaker={speaker}: this model has speaker ids 0..{rvc_model.speakers - 1}.")
    device = runtime.pick_device(device)
    pipe = _pipeline(rvc_model, f0_method)
    with tempfile.TemporaryDirectory(prefix="voicelab-rvc-") as work:
        work = Path(work)
        if isinstance(source, (str, os.PathLike)):
            y_in, sr_in = audio.load(source)     # checks the file and says what is wrong
        else:
            if sr is None:
                raise ValueError("convert(array, ...) needs sr= (the array's sampling rate in Hz).")
            y_in, sr_in = np.asarray(source, dtype=np.float32), int(sr)
        src = audio.save(work / "source.wav", y_in, sr_in, subtype="FLOAT")
        with runtime.quiet():
            pipe.convert_file(src, work / "converted.wav", audio_mode="vocal_only",
                              pitch_shift=float(transpose), f0_method=f0_method,
                              retrieval_strength=float(index_ratio) if rvc_model.index_path else 0.0,
                              protect=float(protect), speaker_id=int(speaker), device=device)
        y_out, sr_out = audio.load(work / "converted.wav", allow_silence=True)
    if out is not None:
        audio.save(out, np.clip(y_out, -1.0, 1.0), sr_out)
    return y_out, sr_out

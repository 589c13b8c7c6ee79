"""Discriminative vs generative on the same small images. Introduced in notebook 01.

Two ways to learn from labelled digits (``voicelab.data.digits``: ``X`` (n, 1, 8, 8) in [0, 1],
``y`` (n,) labels 0-9):

* **Discriminative**: model P(y | x) directly. :class:`Classifier` is softmax regression
  (``hidden=()``: one linear layer, classic machine learning) or a small multi-layer
  perceptron (``hidden=(64,)``: deep learning in miniature). It can label an image; it
  cannot make one.
* **Generative**: model the joint P(x, y) = P(y) P(x | y). :class:`ClassConditionalGaussian`
  fits one Gaussian per digit over the 64 pixels. It can *sample* new images of a chosen
  digit, and, through Bayes' rule P(y | x) ∝ P(x | y) P(y), it can classify too.

:func:`conditional_accuracy` is the check notebook 01 asserts with: sample images of each
digit from a generative model and ask a discriminative classifier what they show.
"""
from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from ..core.errors import ModelNotFittedError
from ..core.torchutil import seeded

__all__ = [
    "ClassConditionalGaussian", "Classifier", "train_classifier", "predict", "accuracy",
    "conditional_accuracy", "classes_covered", "ModelNotFittedError",
]


def _flat(X) -> np.ndarray:
    """Images (n, 1, H, W), (n, H, W) or (n, d), tensor or array -> float64 (n, d)."""
    a = np.asarray(X.detach().cpu() if hasattr(X, "detach") else X, dtype=np.float64)
    if a.ndim < 2 or len(a) == 0:
        raise ValueError(f"expected a batch of images (n, 1, H, W) or vectors (n, d), got shape {a.shape}")
    return a.reshape(len(a), -1)


def _labels(y, n: int) -> np.ndarray:
    lab = np.asarray(y.detach().cpu() if hasattr(y, "detach") else y).astype(np.int64).ravel()
    if len(lab) != n:
        raise ValueError(f"{n} images but {len(lab)} labels: pass one label per image")
    return lab


# ------------------------------------------------------------------------ generative


class ClassConditionalGaussian:
    """A generative model of labelled images: P(y) from counts, P(x | y) a Gaussian per class.

    Introduced in notebook 01. ``covariance="full"`` learns how pixels vary *together*
    (a 64 x 64 matrix per class, plus ``reg`` on the diagonal so it stays invertible);
    ``"diag"`` treats pixels as independent (Gaussian naive Bayes), which samples
    noisier images. Images come back as float32 torch tensors (n, 1, H, W) clipped to
    [0, 1]; the model itself keeps NumPy arrays: ``priors`` (C,), ``means`` (C, d),
    ``covs`` (C, d, d).
    """

    def __init__(self, covariance: str = "full", reg: float = 0.01):
        if covariance not in ("full", "diag"):
            raise ValueError(f"covariance must be 'full' or 'diag', got {covariance!r}")
        if reg <= 0:
            raise ValueError(f"reg must be > 0 (it keeps each covariance invertible), got {reg}")
        self.covariance, self.reg = covariance, float(reg)
        self.priors = self.means = self.covs = None
        self.shape: tuple[int, ...] | None = None

    @property
    def fitted(self) -> bool:
        return self.means is not None

    def fit(self, X, y) -> "ClassConditionalGaussian":
        """Estimate the prior, mean and covariance of every class from images ``X`` and labels ``y``."""
        Xf = _flat(X)
        lab = _labels(y, len(Xf))
        classes = np.unique(lab)
        if not np.array_equal(classes, np.arange(len(classes))):
            raise ValueError(f"labels must be 0..C-1 with every class present, got {classes.tolist()}")
        d = Xf.shape[1]
        self.shape = tuple(np.shape(X)[1:]) if np.ndim(X) > 2 else (d,)
        self.priors = np.array([np.mean(lab == c) for c in classes])
        self.means = np.stack([Xf[lab == c].mean(axis=0) for c in classes])
        covs = []
        for c in classes:
            Xc = Xf[lab == c]
            if len(Xc) < 2:
                raise ValueError(f"class {c} has {len(Xc)} image(s); at least 2 are needed per class")
            cov = np.cov(Xc, rowvar=False)
            if self.covariance == "diag":
                cov = np.diag(np.diag(cov))
            covs.append(cov + self.reg * np.eye(d))
        self.covs = np.stack(covs)
        return self

    @classmethod
    def untrained(cls, n_classes: int = 10, shape=(1, 8, 8), covariance: str = "full",
                  reg: float = 0.01) -> "ClassConditionalGaussian":
        """The same model before it has seen data: every class mid-grey (0.5) with variance 0.25.

        A control for :func:`conditional_accuracy`: its samples are noise with nothing of a digit.
        """
        model = cls(covariance, reg)
        d = int(np.prod(shape))
        model.shape = tuple(shape)
        model.priors = np.full(n_classes, 1.0 / n_classes)
        model.means = np.full((n_classes, d), 0.5)
        model.covs = np.stack([np.eye(d) * 0.25] * n_classes)
        return model

    def _check(self):
        if not self.fitted:
            raise ModelNotFittedError("This ClassConditionalGaussian has not been fitted yet: call "
                                      ".fit(X, y) first (or use ClassConditionalGaussian.untrained()).")

    def log_likelihood(self, X) -> np.ndarray:
        """log P(x | y = c) for every image and class: array (n, C), in nats."""
        self._check()
        Xf = _flat(X)
        out = np.empty((len(Xf), len(self.means)))
        for c, (mu, cov) in enumerate(zip(self.means, self.covs)):
            L = np.linalg.cholesky(cov)
            z = np.linalg.solve(L, (Xf - mu).T)                    # (d, n) whitened
            logdet = 2.0 * np.log(np.diag(L)).sum()
            out[:, c] = -0.5 * ((z ** 2).sum(axis=0) + logdet + Xf.shape[1] * np.log(2 * np.pi))
        return out

    def mean_log_likelihood(self, X, y) -> float:
        """Average log P(x | y) of images ``X`` under their own labels ``y``, in nats per image.

        Higher is better: how probable the model finds real (e.g. held-out) data. A check
        notebook 01 asserts with; an untrained model scores far lower.
        """
        lab = _labels(y, len(_flat(X)))
        return float(self.log_likelihood(X)[np.arange(len(lab)), lab].mean())

    def predict_proba(self, X) -> np.ndarray:
        """P(y = c | x) by Bayes' rule from P(x | y) and P(y): array (n, C), rows sum to 1."""
        logp = self.log_likelihood(X) + np.log(self.priors)
        logp -= logp.max(axis=1, keepdims=True)
        p = np.exp(logp)
        return p / p.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The most probable class of every image: int64 array (n,)."""
        return self.predict_proba(X).argmax(axis=1)

    def sample(self, labels, seed: int = 0):
        """Draw one new image for each label in ``labels``: float32 tensor (n, *shape) in [0, 1].

        Pixels are drawn from the class's Gaussian, then clipped to the valid range [0, 1].
        """
        self._check()
        lab = np.asarray(labels, dtype=np.int64).ravel()
        if lab.size == 0 or lab.min() < 0 or lab.max() >= len(self.means):
            raise ValueError(f"labels must be class numbers 0..{len(self.means) - 1}, got {lab.tolist()}")
        rng = np.random.default_rng(seed)
        d = self.means.shape[1]
        out = np.empty((len(lab), d))
        for c in np.unique(lab):
            idx = np.flatnonzero(lab == c)
            L = np.linalg.cholesky(self.covs[c])
            out[idx] = self.means[c] + rng.standard_normal((len(idx), d)) @ L.T
        out = np.clip(out, 0.0, 1.0).reshape(len(lab), *self.shape)
        return torch.tensor(out, dtype=torch.float32)

    def __repr__(self) -> str:
        state = f"{len(self.means)} classes, {self.means.shape[1]} pixels" if self.fitted else "not fitted"
        return f"ClassConditionalGaussian({self.covariance} covariance, {state})"


# --------------------------------------------------------------------- discriminative


class Classifier(nn.Module):
    """P(y | x) as a softmax over ``n_classes`` scores. Introduced in notebook 01.

    ``hidden=()`` is softmax (multinomial logistic) regression: one linear layer on the
    raw pixels. ``hidden=(64,)`` adds a hidden layer with ReLU, so the network learns its
    own features first (deep learning in miniature). ``forward`` takes images
    (n, 1, H, W) or vectors (n, in_dim) and returns logits (n, n_classes).
    """

    def __init__(self, in_dim: int = 64, n_classes: int = 10, hidden: tuple[int, ...] = ()):
        super().__init__()
        layers, width = [], in_dim
        for h in hidden:
            layers += [nn.Linear(width, h), nn.ReLU()]
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.net = nn.Sequential(*layers)
        self.hidden = tuple(hidden)

    def forward(self, x):
        return self.net(x.reshape(len(x), -1))


def train_classifier(X, y, hidden: tuple[int, ...] = (), epochs: int = 30, lr: float = 0.01,
                     batch_size: int = 64, weight_decay: float = 1e-4, seed: int = 0,
                     progress: bool = True):
    """Train a :class:`Classifier` on images ``X`` and labels ``y`` with cross-entropy and Adam.

    Introduced in notebook 01. Returns ``(model, losses)``: the trained model (eval mode)
    and the mean training loss of every epoch (nats). Seeded: the same inputs and ``seed``
    give the same model. ``progress`` shows a tqdm bar over epochs.
    """
    Xt = torch.as_tensor(_flat(X), dtype=torch.float32)
    yt = torch.as_tensor(_labels(y, len(Xt)))
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    g = torch.Generator().manual_seed(seed)
    with seeded(seed):
        model = Classifier(Xt.shape[1], int(yt.max()) + 1, hidden)
    opt = torch.optim.Adam(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    epochs_iter = range(epochs)
    if progress and epochs:
        from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget
        epochs_iter = tqdm(epochs_iter, desc="classifier", unit="epoch", mininterval=2)
    model.train()
    for _ in epochs_iter:
        order = torch.randperm(len(Xt), generator=g)
        total = 0.0
        for i in range(0, len(Xt), batch_size):
            idx = order[i:i + batch_size]
            loss = F.cross_entropy(model(Xt[idx]), yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(Xt))
    return model.eval(), losses


def predict(model, X) -> np.ndarray:
    """Labels a model predicts for images ``X``: int64 array (n,). Introduced in notebook 01.

    ``model`` is a :class:`Classifier` (torch) or anything with ``.predict(X)`` (such as
    :class:`ClassConditionalGaussian`).
    """
    if hasattr(model, "predict"):
        return np.asarray(model.predict(X), dtype=np.int64)
    with torch.no_grad():
        logits = model(torch.as_tensor(_flat(X), dtype=torch.float32))
    return logits.argmax(dim=1).numpy().astype(np.int64)


def accuracy(model, X, y) -> float:
    """Fraction of images in ``X`` whose predicted label equals ``y`` (0..1). Notebook 01."""
    pred = predict(model, X)
    return float(np.mean(pred == _labels(y, len(pred))))


def conditional_accuracy(generator, classifier, n_per_class: int = 50, seed: int = 0) -> float:
    """Sample ``n_per_class`` images of every class from ``generator``; return how often
    ``classifier`` labels a sample as the class it was conditioned on (0..1).

    Introduced in notebook 01. Chance is 1 / number of classes (0.1 for digits); a
    generative model that learnt what each digit looks like scores far above it, an
    untrained one (:meth:`ClassConditionalGaussian.untrained`) near it.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    n_classes = len(generator.means)
    labels = np.repeat(np.arange(n_classes), n_per_class)
    samples = generator.sample(labels, seed=seed)
    return float(np.mean(predict(classifier, samples) == labels))


def classes_covered(classifier, images, n_classes: int = 10, min_share: float = 0.02) -> int:
    """How many classes ``classifier`` finds among ``images``, each in at least ``min_share``
    of them (0..1). Introduced in notebook 03, on the samples of a VAE.

    A generative model that learnt the whole data set makes samples of every class; one
    that learnt nothing makes near-identical blobs that all land in one or two classes.
    """
    if not 0 <= min_share < 1:
        raise ValueError(f"min_share must be in [0, 1), got {min_share}")
    counts = np.bincount(predict(classifier, images), minlength=n_classes)
    return int(np.sum(counts >= max(1, min_share * counts.sum())))

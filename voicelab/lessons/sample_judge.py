"""A fixed judge for generated digits: how digit-like, how varied. Introduced in notebook 04.

Generated images have no "right answer" to compare with, so notebooks 04 (GANs) and 05
(diffusion) measure their samples the way image papers do, at 8x8 scale:

* a small convolutional classifier, the **judge**, is trained once on real training
  digits (:func:`train_judge`, a few seconds on a CPU) and then never changes;
* its **confidence** on a sample (largest class probability) says how much the sample
  looks like *some* digit; the **class entropy** (bits) of the predicted classes of many
  samples says how many different digits they cover (log2 10 = 3.32 bits for all ten
  equally often, 0 when every sample is the same digit);
* the **Frechet distance** compares the judge's 64-number features of the samples with
  those of real held-out digits, each set summarised by its mean and covariance (as the
  FID of image models does with an Inception network). 0 means the same statistics;
  lower is better.

:func:`closer_to_digits` is the check both notebooks assert (and :func:`refines` the one
for shallow diffusion in notebook 05); the unit tests run the same checks on untrained
models, where they must fail.

Images are float tensors (n, 1, 8, 8) with values in [0, 1], as :mod:`voicelab.data.digits` gives.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from torch import nn

from ..core.errors import JudgeError
from ..core.torchutil import cpu_threads, seeded_module

__all__ = ["Judge", "train_judge", "get_judge", "SampleScore", "judge_samples", "frechet_distance",
           "closer_to_digits", "refines", "JudgeError"]

FEATURES = 64   #: size of the judge's feature vector


class Judge(nn.Module):
    """The judge: two 3x3 convolutions, a 2x2 max-pool, a 64-unit feature layer, 10 logits."""

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(
            nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(),
            nn.Conv2d(16, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
            nn.Flatten(), nn.Linear(32 * 4 * 4, FEATURES), nn.ReLU())
        self.head = nn.Linear(FEATURES, 10)

    def features(self, x):
        """(n, 1, 8, 8) images in [0, 1] -> (n, 64) features."""
        return self.body(x)

    def forward(self, x):
        """(n, 1, 8, 8) images in [0, 1] -> (n, 10) class logits."""
        return self.head(self.body(x))


def train_judge(X, y, epochs: int = 15, seed: int = 0, lr: float = 3e-3, batch_size: int = 64):
    """Train a judge on real digits ``X`` (n, 1, 8, 8) in [0, 1], labels ``y`` (n,); returns it.

    Small random shifts of one pixel are added while training, so the judge does not fire
    on exact pixel positions only. Deterministic for a given ``seed``. Used by :func:`get_judge`.
    """
    X, y = _check_images(X), torch.as_tensor(y, dtype=torch.int64)
    if len(X) != len(y):
        raise JudgeError(f"{len(X)} images but {len(y)} labels; give one label per image.")
    gen = torch.Generator().manual_seed(seed)
    net = seeded_module(Judge, seed)
    opt = torch.optim.Adam(net.parameters(), lr=lr)
    net.train()
    with cpu_threads(1):
        _fit(net, opt, X, y, epochs, batch_size, gen)
    return net.eval()


def _fit(net, opt, X, y, epochs, batch_size, gen):
    for _ in range(epochs):
        order = torch.randperm(len(X), generator=gen)
        for start in range(0, len(X), batch_size):
            idx = order[start:start + batch_size]
            xb = X[idx]
            dx, dy = torch.randint(-1, 2, (2,), generator=gen).tolist()
            xb = torch.roll(xb, shifts=(dy, dx), dims=(2, 3))
            loss = nn.functional.cross_entropy(net(xb), y[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()


@lru_cache(maxsize=2)
def _cached(seed: int):
    from ..data import digits

    X, y = digits.load()
    X_train, y_train, X_test, y_test = digits.split(X, y, 0.2, seed=0)
    net = train_judge(X_train, y_train, seed=seed)
    return net, X_test, y_test


def get_judge(seed: int = 0):
    """The course's judge: trained once per session on the training part of
    ``digits.split(X, y, 0.2, seed=0)``. Returns ``(judge, X_test, y_test)``, the held-out
    real digits it never saw (the reference set of :func:`judge_samples`)."""
    return _cached(seed)


def _check_images(images):
    x = torch.as_tensor(images.detach() if hasattr(images, "detach") else images,
                        dtype=torch.float32).cpu()
    if x.ndim == 3:
        x = x.unsqueeze(1)
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise JudgeError(f"the judge scores 8x8 grey images of shape (n, 1, 8, 8); got {tuple(x.shape)}.")
    if not torch.isfinite(x).all():
        raise JudgeError("the images contain NaN or infinite values; check the model that made them.")
    return x.clamp(0.0, 1.0)


def _features_and_probs(net, x):
    with torch.no_grad(), cpu_threads(1):
        feats = net.features(x)
        probs = torch.softmax(net.head(feats), dim=1)
    return feats.double().numpy(), probs.double().numpy()


def frechet_distance(feats_a, feats_b) -> float:
    """Frechet distance between two sets of feature vectors (n, d), each seen as a Gaussian:
    |mu_a - mu_b|^2 + tr(C_a) + tr(C_b) - 2 tr((C_a C_b)^(1/2))."""
    a, b = np.asarray(feats_a, np.float64), np.asarray(feats_b, np.float64)
    mu_a, mu_b = a.mean(0), b.mean(0)
    ca, cb = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    # tr((C_a C_b)^(1/2)) = tr((S C_b S)^(1/2)) with S = C_a^(1/2): a symmetric matrix, so
    # eigenvalues do it stably even when a covariance is singular (e.g. identical samples).
    w, v = np.linalg.eigh(ca)
    root_a = (v * np.sqrt(np.clip(w, 0, None))) @ v.T
    cross = np.sqrt(np.clip(np.linalg.eigvalsh(root_a @ cb @ root_a), 0, None)).sum()
    value = float(np.sum((mu_a - mu_b) ** 2) + np.trace(ca) + np.trace(cb) - 2.0 * cross)
    return max(value, 0.0)


@dataclass(frozen=True)
class SampleScore:
    """What the judge says about a set of images (see the module docstring)."""

    frechet: float         #: Frechet distance to real held-out digits in judge features (lower = closer)
    confidence: float      #: mean largest class probability, 0.1 .. 1
    class_entropy: float   #: entropy (bits) of the predicted-class histogram, 0 .. 3.32
    accuracy: float | None = None  #: fraction classified as ``labels``, when labels were given
    n: int = 0

    def __str__(self) -> str:
        acc = "" if self.accuracy is None else f", accuracy {self.accuracy:.2f}"
        return (f"Frechet distance {self.frechet:.1f}, confidence {self.confidence:.2f}, "
                f"class entropy {self.class_entropy:.2f} bits{acc} (n={self.n})")


def judge_samples(images, labels=None, judge=None, reference=None) -> SampleScore:
    """Judge ``images`` (n, 1, 8, 8) in [0, 1] (values outside are clipped); n >= 100.

    ``reference`` (real digits) defaults to the judge's held-out test digits; ``judge`` to
    :func:`get_judge`'s. With ``labels`` the accuracy is included too.
    """
    if judge is None or reference is None:
        net, X_test, _ = get_judge()
        judge = net if judge is None else judge
        reference = X_test if reference is None else reference
    x = _check_images(images)
    if len(x) < 100:
        raise JudgeError(f"judge_samples needs at least 100 images for stable statistics, got {len(x)}.")
    feats, probs = _features_and_probs(judge, x)
    ref_feats, _ = _features_and_probs(judge, _check_images(reference))
    pred = probs.argmax(1)
    hist = np.bincount(pred, minlength=10) / len(pred)
    nz = hist[hist > 0]
    entropy = max(0.0, float(-(nz * np.log2(nz)).sum()))
    acc = None
    if labels is not None:
        acc = float((pred == np.asarray(labels)).mean())
    return SampleScore(frechet_distance(feats, ref_feats), float(probs.max(1).mean()), entropy, acc, len(x))


def closer_to_digits(samples, than, factor: float = 0.5, judge=None, reference=None) -> bool:
    """The claim notebooks 04 and 05 assert: ``samples`` look like digits clearly more than ``than``.

    True when the samples' Frechet distance to real digits is below ``factor`` times that of
    ``than`` (e.g. samples of the untrained model, or noise) and they still cover at least
    5 digit classes' worth of variety (class entropy >= log2(5) = 2.32 bits), so that one
    good digit repeated does not pass. (Confidence is not part of the check: the judge is
    confidently wrong on some non-digits, e.g. a flat grey square.)
    Both arguments are images (n, 1, 8, 8) or :class:`SampleScore` objects.
    """
    a = samples if isinstance(samples, SampleScore) else judge_samples(samples, judge=judge, reference=reference)
    b = than if isinstance(than, SampleScore) else judge_samples(than, judge=judge, reference=reference)
    return a.frechet < factor * b.frechet and a.class_entropy >= math.log2(5)


def refines(refined, coarse, labels, factor: float = 0.75, max_drop: float = 0.1,
            judge=None, reference=None) -> bool:
    """Notebook 05's claim about shallow diffusion: ``refined`` is a better version of ``coarse``.

    ``refined`` and ``coarse`` are the same images (n, 1, 8, 8) before and after refinement,
    ``labels`` (n,) the digits they should show. True when the refined images are closer to
    real digits (Frechet distance below ``factor`` times the coarse images') *and* still
    show the same digits (the judge's accuracy falls by at most ``max_drop``). Noise alone
    can lower the distance of very blurry images a little, but it loses the digits.
    """
    a = judge_samples(refined, labels=labels, judge=judge, reference=reference)
    b = judge_samples(coarse, labels=labels, judge=judge, reference=reference)
    return a.frechet < factor * b.frechet and a.accuracy >= b.accuracy - max_drop

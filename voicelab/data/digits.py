"""Small images for the generative-model notebooks: scikit-learn's handwritten digits.

Introduced in notebook 01 and used by 03, 04, 05, 13 and 14. The data set ships inside
scikit-learn (1797 grey-scale images of 8x8 pixels, digits 0-9, from the UCI "Optical
Recognition of Handwritten Digits" set), so it works offline in both modes.

Names: ``X`` is a float32 tensor of images, shape (n, 1, 8, 8), values in [0, 1];
``y`` an int64 tensor of labels, shape (n,).
"""
from __future__ import annotations

import numpy as np

SIDE = 8          #: image side in pixels
N_CLASSES = 10


def load():
    """All 1797 digits as ``(X, y)``: X (n, 1, 8, 8) float32 in [0, 1], y (n,) int64."""
    import torch
    from sklearn.datasets import load_digits

    d = load_digits()
    X = torch.tensor(d.images / 16.0, dtype=torch.float32).unsqueeze(1)
    y = torch.tensor(d.target, dtype=torch.int64)
    return X, y


def split(X, y, test_fraction: float = 0.2, seed: int = 0):
    """Shuffle with ``seed`` and split into ``(X_train, y_train, X_test, y_test)``.

    The split is stratified by label, so every digit appears in both parts in proportion.
    """
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be between 0 and 1, got {test_fraction}")
    rng = np.random.default_rng(seed)
    labels = np.asarray(y)
    test = []
    for c in np.unique(labels):
        idx = rng.permutation(np.flatnonzero(labels == c))
        test.extend(idx[: max(1, round(test_fraction * len(idx)))])
    mask = np.zeros(len(labels), bool)
    mask[test] = True
    train_idx = rng.permutation(np.flatnonzero(~mask))
    test_idx = rng.permutation(np.flatnonzero(mask))
    return X[train_idx], y[train_idx], X[test_idx], y[test_idx]


def show_grid(images, nrow: int | None = None, ax=None, title: str | None = None,
              labels=None, vmin: float = 0.0, vmax: float = 1.0):
    """Draw images (n, 1, H, W) or (n, H, W) as one grid; returns the matplotlib axes.

    ``labels`` (optional, n strings or numbers) are written above the images in a single row.
    """
    import matplotlib.pyplot as plt

    imgs = np.asarray(images.detach().cpu() if hasattr(images, "detach") else images, dtype=float)
    if imgs.ndim == 4:
        imgs = imgs[:, 0]
    if imgs.ndim != 3 or len(imgs) == 0:
        raise ValueError(f"show_grid wants (n, 1, H, W) or (n, H, W) images, got shape {imgs.shape}")
    n, h, w = imgs.shape
    ncol = int(np.ceil(np.sqrt(n))) if nrow is None else int(np.ceil(n / nrow))
    nrow = int(np.ceil(n / ncol))
    canvas = np.full((nrow * (h + 1) - 1, ncol * (w + 1) - 1), np.nan)
    for i, img in enumerate(imgs):
        r, c = divmod(i, ncol)
        canvas[r * (h + 1):r * (h + 1) + h, c * (w + 1):c * (w + 1) + w] = img
    if ax is None:
        _, ax = plt.subplots(figsize=(max(2.0, 0.35 * ncol * w / 8), max(2.0, 0.35 * nrow * h / 8)))
    cmap = plt.get_cmap("gray_r").copy()
    cmap.set_bad("white")
    ax.imshow(canvas, cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
    ax.set_xticks([])
    ax.set_yticks([])
    if labels is not None and nrow == 1:
        ax.set_xticks([c * (w + 1) + (w - 1) / 2 for c in range(n)])
        ax.set_xticklabels([str(v) for v in labels])
        ax.xaxis.tick_top()
        ax.tick_params(length=0)
    if title:
        ax.set_title(title)
    return ax

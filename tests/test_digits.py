"""voicelab.data.digits: the offline image data of the generative-model notebooks."""
import matplotlib
import numpy as np
import pytest
import torch

from voicelab.data import digits

matplotlib.use("Agg")


def test_load_shapes_and_range():
    X, y = digits.load()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == torch.float32
    assert y.shape == (1797,) and y.dtype == torch.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert set(y.tolist()) == set(range(10))


def test_split_is_stratified_disjoint_and_seeded():
    X, y = digits.load()
    idx = torch.arange(len(y))
    a = digits.split(idx, y, 0.2, seed=1)
    b = digits.split(idx, y, 0.2, seed=1)
    c = digits.split(idx, y, 0.2, seed=2)
    train, test = a[0].tolist(), a[2].tolist()
    assert not set(train) & set(test) and len(train) + len(test) == len(y)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], c[0])
    for k in range(10):   # each class close to 20 % in the test part
        n_k = int((y == k).sum())
        assert abs(int((a[3] == k).sum()) - 0.2 * n_k) <= 1
    with pytest.raises(ValueError):
        digits.split(X, y, 1.5)


def test_show_grid_places_every_image():
    X, _ = digits.load()
    ax = digits.show_grid(X[:10], nrow=2)
    canvas = ax.images[0].get_array()
    assert canvas.shape == (2 * 9 - 1, 5 * 9 - 1)
    np.testing.assert_allclose(np.asarray(canvas[9:17, 9:17]), X[6, 0].numpy())
    with pytest.raises(ValueError):
        digits.show_grid(np.zeros((0, 8, 8)))

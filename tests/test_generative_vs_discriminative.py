"""voicelab.lessons.generative_vs_discriminative: the two kinds of model of notebook 01, and its checks."""
import numpy as np
import pytest
import torch

from voicelab.data import digits
from voicelab.lessons import generative_vs_discriminative as gvd

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def split():
    X, y = digits.load()
    return digits.split(X, y, 0.2, seed=0)


@pytest.fixture(scope="module")
def mlp(split):
    X_train, y_train, _, _ = split
    return gvd.train_classifier(X_train, y_train, hidden=(64,), epochs=20, seed=0, progress=False)


@pytest.fixture(scope="module")
def gen(split):
    return gvd.ClassConditionalGaussian().fit(split[0], split[1])


def test_classifier_shapes_loss_falls_and_accuracy(split, mlp):
    X_train, y_train, X_test, y_test = split
    model, losses = mlp
    assert model(X_test[:5]).shape == (5, 10) and model(X_test[:5].reshape(5, 64)).shape == (5, 10)
    assert len(losses) == 20 and losses[-1] < 0.5 * losses[0]
    assert gvd.accuracy(model, X_test, y_test) > 0.9
    linear, _ = gvd.train_classifier(X_train, y_train, hidden=(), epochs=2, progress=False)
    assert [type(m).__name__ for m in linear.net] == ["Linear"]


def test_classifier_is_deterministic_with_a_seed(split):
    X_train, y_train = split[0][:300], split[1][:300]
    a, la = gvd.train_classifier(X_train, y_train, epochs=3, seed=5, progress=False)
    b, lb = gvd.train_classifier(X_train, y_train, epochs=3, seed=5, progress=False)
    c, _ = gvd.train_classifier(X_train, y_train, epochs=3, seed=6, progress=False)
    assert la == lb
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    assert not all(torch.equal(p, q) for p, q in zip(a.parameters(), c.parameters()))


def test_untrained_classifier_is_at_chance(split):
    X_train, y_train, X_test, y_test = split
    model, losses = gvd.train_classifier(X_train, y_train, epochs=0, progress=False)
    assert losses == [] and gvd.accuracy(model, X_test, y_test) < 0.3


def test_gaussian_fit_and_bayes_classification(split, gen):
    _, _, X_test, y_test = split
    assert gen.priors.shape == (10,) and np.isclose(gen.priors.sum(), 1)
    assert gen.means.shape == (10, 64) and gen.covs.shape == (10, 64, 64)
    p = gen.predict_proba(X_test[:7])
    assert p.shape == (7, 10) and np.allclose(p.sum(axis=1), 1)
    assert gvd.accuracy(gen, X_test, y_test) > 0.9
    assert gvd.accuracy(gvd.ClassConditionalGaussian.untrained(), X_test, y_test) < 0.3


def test_gaussian_samples_shape_range_and_seed(gen):
    labels = np.repeat(np.arange(10), 3)
    a = gen.sample(labels, seed=0)
    assert a.shape == (30, 1, 8, 8) and a.dtype == torch.float32
    assert float(a.min()) >= 0.0 and float(a.max()) <= 1.0
    assert torch.equal(a, gen.sample(labels, seed=0)) and not torch.equal(a, gen.sample(labels, seed=1))
    with pytest.raises(ValueError):
        gen.sample([10])


def test_conditional_accuracy_passes_trained_and_fails_untrained(gen, mlp):
    """The notebook's claim (> 0.8) holds for the fitted model and fails for the untrained one."""
    model, _ = mlp
    assert gvd.conditional_accuracy(gen, model, n_per_class=30, seed=1) > 0.8
    untrained = gvd.ClassConditionalGaussian.untrained()
    assert gvd.conditional_accuracy(untrained, model, n_per_class=30, seed=1) < 0.3


def test_log_likelihood_orders_the_models(split, gen):
    X_train, y_train, X_test, y_test = split
    naive = gvd.ClassConditionalGaussian("diag").fit(X_train, y_train)
    untrained = gvd.ClassConditionalGaussian.untrained()
    full, diag, none = (m.mean_log_likelihood(X_test, y_test) for m in (gen, naive, untrained))
    assert full > diag + 5 > none + 5          # the notebook's assert, and it fails untrained


def test_classes_covered(split, mlp):
    model, _ = mlp
    X_test = split[2]
    assert gvd.classes_covered(model, X_test) == 10
    assert gvd.classes_covered(model, X_test[:1].repeat(50, 1, 1, 1)) == 1


def test_bad_input_gets_clear_errors(split):
    X_train, y_train = split[0], split[1]
    with pytest.raises(gvd.ModelNotFittedError, match="fit"):
        gvd.ClassConditionalGaussian().sample([0])
    with pytest.raises(ValueError, match="covariance"):
        gvd.ClassConditionalGaussian("spherical")
    with pytest.raises(ValueError, match="labels"):
        gvd.ClassConditionalGaussian().fit(X_train, y_train[:10])
    with pytest.raises(ValueError, match="0..C-1"):
        gvd.ClassConditionalGaussian().fit(X_train, y_train + 1)

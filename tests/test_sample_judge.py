"""voicelab.lessons.sample_judge: the fixed digit classifier that scores generated digits (notebooks 04-05)."""
import numpy as np
import pytest
import torch

from voicelab.data import digits
from voicelab.lessons import sample_judge


@pytest.fixture(scope="module")
def fixed():
    return sample_judge.get_judge()


def test_judge_classifies_held_out_digits(fixed):
    net, X_test, y_test = fixed
    s = sample_judge.judge_samples(X_test, labels=y_test)
    assert s.accuracy > 0.9
    assert s.frechet == pytest.approx(0.0, abs=1e-6)    # the reference set itself
    assert s.class_entropy > 3.2                        # all ten digits, about equally often
    assert net(X_test[:5]).shape == (5, 10) and net.features(X_test[:5]).shape == (5, sample_judge.FEATURES)


def test_frechet_distance_of_known_gaussians():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((4000, 3))
    assert sample_judge.frechet_distance(a, a) == pytest.approx(0.0, abs=1e-9)
    # same covariance, means 2 apart on one axis: distance = 2**2
    assert sample_judge.frechet_distance(a, a + [2.0, 0, 0]) == pytest.approx(4.0, abs=1e-6)
    # N(0, I) vs N(0, 4I) in 3-D: 3 * (1 + 4 - 2*2) = 3
    b = rng.standard_normal((4000, 3)) * 2
    assert sample_judge.frechet_distance(a, b) == pytest.approx(3.0, rel=0.1)
    # a singular covariance (all samples equal) is handled
    assert np.isfinite(sample_judge.frechet_distance(np.zeros((10, 3)), a))


def test_the_check_passes_for_real_digits_and_fails_for_noise_or_one_repeated_digit(fixed):
    _, X_test, _ = fixed
    X, y = digits.load()
    X_train = digits.split(X, y, 0.2, seed=0)[0]
    noise = torch.rand(300, 1, 8, 8, generator=torch.Generator().manual_seed(0))
    assert sample_judge.closer_to_digits(X_train[:300], than=noise)
    assert not sample_judge.closer_to_digits(noise, than=X_train[:300])
    # a single real digit repeated is close to *a* digit but has no variety
    assert not sample_judge.closer_to_digits(X_train[:1].repeat(300, 1, 1, 1), than=noise)


def test_training_is_deterministic_with_a_seed():
    X, y = digits.load()
    a = sample_judge.train_judge(X[:256], y[:256], epochs=1, seed=3)
    b = sample_judge.train_judge(X[:256], y[:256], epochs=1, seed=3)
    c = sample_judge.train_judge(X[:256], y[:256], epochs=1, seed=4)
    for pa, pb, pc in zip(a.parameters(), b.parameters(), c.parameters()):
        assert torch.equal(pa, pb)
    assert not all(torch.equal(pa, pc) for pa, pc in zip(a.parameters(), c.parameters()))


def test_bad_input_is_refused_clearly():
    with pytest.raises(sample_judge.JudgeError, match="8x8"):
        sample_judge.judge_samples(torch.zeros(200, 1, 28, 28))
    with pytest.raises(sample_judge.JudgeError, match="at least 100"):
        sample_judge.judge_samples(torch.zeros(10, 1, 8, 8))
    with pytest.raises(ValueError, match="NaN"):
        sample_judge.judge_samples(torch.full((200, 1, 8, 8), float("nan")))

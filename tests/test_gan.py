"""voicelab.lessons.gan: the small GAN of notebook 04."""
import copy

import pytest
import torch

from voicelab.core.torchutil import seeded_module
from voicelab.data import digits
from voicelab.lessons import gan, sample_judge


@pytest.fixture(scope="module")
def X_train():
    X, y = digits.load()
    return digits.split(X, y, 0.2, seed=0)[0]


def test_shapes_and_output_range():
    G, D = gan.Generator(z_dim=8, hidden=32), gan.Discriminator(hidden=32)
    with torch.no_grad():
        x = G(torch.randn(5, 8))
    assert x.shape == (5, 1, 8, 8) and float(x.min()) >= 0 and float(x.max()) <= 1
    assert D(x).shape == (5,)
    s = gan.sample(G, 7, seed=0)
    assert s.shape == (7, 1, 8, 8) and torch.equal(s, gan.sample(G, 7, seed=0))


def test_losses_are_the_binary_cross_entropies_of_the_game():
    big, small = torch.full((4,), 20.0), torch.full((4,), -20.0)
    assert float(gan.d_loss(big, small)) < 1e-6              # D sure and right
    # with label smoothing the best D can do on real digits is the entropy of 0.9
    h = -(0.9 * torch.log(torch.tensor(0.9)) + 0.1 * torch.log(torch.tensor(0.1)))
    assert float(gan.d_loss(torch.full((4,), 2.1972), small, real_label=0.9)) == pytest.approx(float(h), abs=1e-4)
    assert float(gan.d_loss(torch.zeros(4), torch.zeros(4))) == pytest.approx(2 * 0.6931, abs=1e-3)
    assert float(gan.g_loss(big)) < 1e-6 and float(gan.g_loss(small)) > 19


def test_discriminator_loss_falls_over_the_first_steps_and_training_is_seeded(X_train):
    G, D, hist = gan.train_gan(X_train[:640], epochs=3, hidden=64, seed=0, progress=False)
    per_epoch = len(hist.d_loss) // 3
    assert per_epoch == hist.steps_per_epoch == 10 and len(hist.samples) == 3
    assert sum(hist.d_loss[-5:]) < sum(hist.d_loss[:5])     # D learns to spot the fakes
    G2, _, hist2 = gan.train_gan(X_train[:640], epochs=3, hidden=64, seed=0, progress=False)
    assert hist.d_loss == hist2.d_loss and torch.equal(gan.sample(G, 4), gan.sample(G2, 4))
    _, _, hist3 = gan.train_gan(X_train[:640], epochs=3, hidden=64, seed=1, progress=False)
    assert hist3.d_loss != hist.d_loss
    for s in hist.samples:
        assert s.shape == (16, 1, 8, 8) and 0 <= float(s.min()) and float(s.max()) <= 1


def test_generator_loss_against_a_frozen_discriminator_falls(X_train):
    G, D, _ = gan.train_gan(X_train[:640], epochs=2, hidden=64, seed=0, progress=False)
    z = torch.randn(256, G.z_dim, generator=torch.Generator().manual_seed(5))
    Gc = gan.collapse(G, D, steps=50, seed=0, progress=False)
    with torch.no_grad():
        assert float(gan.g_loss(D(Gc(z)))) < float(gan.g_loss(D(G(z))))
    assert not torch.equal(G(z), Gc(z))                      # a copy was trained, not G itself


def test_the_notebook_claim_fails_for_an_untrained_generator_and_holds_after_training(X_train):
    untrained = gan.sample(seeded_module(gan.Generator, 0), 300, seed=1)
    other_untrained = gan.sample(seeded_module(gan.Generator, 7), 300, seed=1)
    assert not sample_judge.closer_to_digits(other_untrained, than=untrained)
    G, _, _ = gan.train_gan(X_train, epochs=60, seed=0, progress=False)
    assert sample_judge.closer_to_digits(gan.sample(G, 300, seed=1), than=untrained)


def test_diversity():
    x = torch.rand(10, 1, 8, 8)
    assert gan.diversity(x[:1].repeat(5, 1, 1, 1)) == pytest.approx(0.0, abs=1e-5)
    assert gan.diversity(x) > 1.0
    with pytest.raises(gan.GANError):
        gan.diversity(x[:1])


def test_bad_input_is_refused_clearly():
    with pytest.raises(gan.GANError, match=r"\(n, 1, 8, 8\)"):
        gan.train_gan(torch.zeros(100, 64), epochs=1, progress=False)
    with pytest.raises(ValueError, match="batch"):
        gan.train_gan(torch.zeros(10, 1, 8, 8), epochs=1, progress=False)


def test_a_step_passed_in_is_the_one_the_loop_uses(X_train):
    """Notebook 04 passes its own two-step update to train_gan: the loop must call it (a step
    that moves nothing leaves both networks as they were: the control), and the package's own
    gan_step must update both."""
    calls = []

    def idle_step(G, D, opt_g, opt_d, real, z, real_label):
        calls.append((len(real), tuple(z.shape), real_label))
        return {"d_loss": 1.0, "g_loss": 2.0, "d_real": 0.5, "d_fake": 0.5}

    G0, D0 = seeded_module(gan.Generator, 0, 16, 64), seeded_module(gan.Discriminator, 1, 64)
    G, D, hist = gan.train_gan(X_train[:640], epochs=2, hidden=64, seed=0, progress=False,
                               G=copy.deepcopy(G0), D=copy.deepcopy(D0), step=idle_step)
    assert calls == [(64, (64, 16), 0.9)] * 20 and hist.d_loss == [1.0] * 20 and hist.g_loss == [2.0] * 20
    assert all(torch.equal(p, q) for p, q in zip(G.parameters(), G0.parameters()))
    assert all(torch.equal(p, q) for p, q in zip(D.parameters(), D0.parameters()))
    G1, D1, _ = gan.train_gan(X_train[:640], epochs=2, hidden=64, seed=0, progress=False,
                              G=copy.deepcopy(G0), D=copy.deepcopy(D0))
    assert not any(torch.equal(p, q) for p, q in zip(G1.parameters(), G0.parameters()))
    assert not any(torch.equal(p, q) for p, q in zip(D1.parameters(), D0.parameters()))


def test_gan_step_updates_d_then_g_with_the_two_losses(X_train):
    G, D = seeded_module(gan.Generator, 0, 16, 64), seeded_module(gan.Discriminator, 1, 64, 0.0)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.999))
    real, z = X_train[:64], torch.randn(64, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():
        expected_d = float(gan.d_loss(D(real), D(G(z)), 0.9))
    out = gan.gan_step(G, D, opt_g, opt_d, real, z, 0.9)
    assert set(out) == {"d_loss", "g_loss", "d_real", "d_fake"}
    assert out["d_loss"] == pytest.approx(expected_d, rel=1e-5)     # L_D before D's update
    with torch.no_grad():
        after_d = float(gan.d_loss(D(real), D(G(z)), 0.9))
    assert after_d != pytest.approx(expected_d, rel=1e-4)            # both networks moved


def test_a_step_that_returns_the_wrong_thing_is_refused(X_train):
    with pytest.raises(gan.GANError, match="d_loss"):
        gan.train_gan(X_train[:64], epochs=1, hidden=32, progress=False,
                      step=lambda *args: (1.0, 2.0))

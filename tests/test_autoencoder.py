"""voicelab.lessons.autoencoder: AE, denoising AE and VAE of notebook 03, and the checks it asserts with."""
import numpy as np
import pytest
import torch

from voicelab.data import digits
from voicelab.lessons import autoencoder as ae, generative_vs_discriminative as gvd

pytestmark = pytest.mark.usefixtures("one_thread")


EPOCHS = 40          # as notebook 03 in QUICK mode; about a second per model on one thread


@pytest.fixture(scope="module")
def split():
    X, y = digits.load()
    return digits.split(X, y, 0.2, seed=0)


def _ae(latent_dim, cls=ae.AE, seed=0):
    torch.manual_seed(seed)
    return cls(64, latent_dim)


@pytest.fixture(scope="module")
def trained_pair(split):
    X_train = split[0]
    a2, a5 = _ae(2), _ae(5)
    h2 = ae.train_autoencoder(a2, X_train, epochs=EPOCHS, seed=0, progress=False)
    h5 = ae.train_autoencoder(a5, X_train, epochs=EPOCHS, seed=0, progress=False)
    return a2, a5, h2, h5


@pytest.fixture(scope="module")
def trained_vae(split):
    v = _ae(2, ae.VAE)
    history = ae.train_vae(v, split[0], epochs=EPOCHS, seed=0, progress=False)
    return v, history


def test_shapes():
    x = torch.rand(6, 1, 8, 8)
    model = _ae(3)
    assert model(x).shape == x.shape and model(x.reshape(6, 64)).shape == (6, 64)
    assert model.encode(x).shape == (6, 3) and ae.decode(model, torch.zeros(4, 3), (1, 8, 8)).shape == (4, 1, 8, 8)
    with torch.no_grad():
        out = model(x)
    assert float(out.min()) > 0 and float(out.max()) < 1
    vae = _ae(3, ae.VAE).train()
    rec, mu, logvar = vae(x)
    assert rec.shape == x.shape and mu.shape == logvar.shape == (6, 3)
    assert ae.kl_divergence(mu, logvar).shape == (6,)
    assert ae.latent_grid(-1, 1, 4).shape == (16, 2)


def test_loss_falls_and_training_is_deterministic(split):
    X = split[0][:400]
    a, b, c = _ae(2, seed=0), _ae(2, seed=0), _ae(2, seed=0)
    ha = ae.train_autoencoder(a, X, epochs=4, seed=3, progress=False)
    hb = ae.train_autoencoder(b, X, epochs=4, seed=3, progress=False)
    hc = ae.train_autoencoder(c, X, epochs=4, seed=4, progress=False)
    assert ha[-1] < ha[0]
    assert ha == hb and ha != hc
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    v1, v2 = _ae(2, ae.VAE), _ae(2, ae.VAE)
    h1 = ae.train_vae(v1, X, epochs=4, seed=3, progress=False)
    h2 = ae.train_vae(v2, X, epochs=4, seed=3, progress=False)
    assert h1 == h2 and h1[-1]["recon"] + h1[-1]["kl"] < h1[0]["recon"] + h1[0]["kl"]


def test_reconstruction_claims_hold_trained_and_fail_untrained(split, trained_pair):
    """Notebook 03's asserts: beats the mean image; 5-D < 0.85 x 2-D. Untrained models fail both."""
    X_train, _, X_test, _ = split
    a2, a5, h2, h5 = trained_pair
    baseline = ae.mean_baseline_error(X_train, X_test)
    e2, e5 = ae.reconstruction_error(a2, X_test), ae.reconstruction_error(a5, X_test)
    assert h2[-1] < h2[0] and h5[-1] < h5[0]
    assert e2 < baseline and e5 < 0.85 * e2
    u2, u5 = ae.reconstruction_error(_ae(2), X_test), ae.reconstruction_error(_ae(5), X_test)
    assert u2 > baseline and u5 > baseline
    assert not u5 < 0.85 * u2


def test_denoiser_claim_holds_trained_and_fails_untrained(split):
    X_train, _, X_test, _ = split
    noisy = ae.add_noise(X_test, std=0.3, seed=1)
    noisy_err = ae.rms_error(noisy, X_test)
    untrained = _ae(16)
    assert not ae.reconstruction_error(untrained, noisy, X_test) < 0.7 * noisy_err
    trained = _ae(16)
    ae.train_autoencoder(trained, X_train, epochs=EPOCHS, noise_std=0.3, seed=0, progress=False)
    assert ae.reconstruction_error(trained, noisy, X_test) < 0.7 * noisy_err


def test_vae_claims_hold_trained_and_fail_untrained(split, trained_vae):
    X_train, y_train, X_test, _ = split
    vae, history = trained_vae
    untrained = _ae(2, ae.VAE)
    assert ae.kl_per_example(vae, X_test) > 1.0 > ae.kl_per_example(untrained, X_test)
    assert ae.negative_elbo(vae, X_test) < ae.negative_elbo(untrained, X_test) - 10
    judge, _ = gvd.train_classifier(X_train, y_train, hidden=(64,), epochs=20, seed=0, progress=False)
    assert gvd.classes_covered(judge, vae.sample(200, seed=0, shape=(1, 8, 8))) >= 8
    assert gvd.classes_covered(judge, untrained.sample(200, seed=0, shape=(1, 8, 8))) <= 3


def test_vae_sampling_range_seed_and_gradients(trained_vae):
    vae, _ = trained_vae
    s = vae.sample(16, seed=0, shape=(1, 8, 8))
    assert s.shape == (16, 1, 8, 8) and float(s.min()) >= 0 and float(s.max()) <= 1
    assert torch.equal(s, vae.sample(16, seed=0, shape=(1, 8, 8)))
    assert not torch.equal(s, vae.sample(16, seed=1, shape=(1, 8, 8)))
    mu = torch.zeros(3, 2, requires_grad=True)
    logvar = torch.zeros(3, 2, requires_grad=True)
    ae.VAE.reparameterize(mu, logvar, torch.Generator().manual_seed(0)).sum().backward()
    assert mu.grad is not None and logvar.grad is not None   # the trick lets gradients through
    assert torch.allclose(ae.kl_divergence(torch.zeros(2, 4), torch.zeros(2, 4)), torch.zeros(2))


def test_noise_and_frame_scaling():
    X = torch.rand(10, 64)
    n1, n2 = ae.add_noise(X, 0.5, seed=0), ae.add_noise(X, 0.5, seed=0)
    assert torch.equal(n1, n2) and float(n1.min()) >= 0 and float(n1.max()) <= 1
    assert torch.equal(ae.add_noise(X, 0.0), X)
    S_db = -80 * np.random.default_rng(0).random((64, 30))
    U = ae.frames_to_unit(S_db)
    assert U.shape == (30, 64) and float(U.min()) >= 0 and float(U.max()) <= 1
    np.testing.assert_allclose(ae.unit_to_frames(U), S_db, atol=1e-4)


def test_bad_input_gets_clear_errors():
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        ae.train_autoencoder(_ae(2), torch.rand(10, 64) * 3, epochs=1, progress=False)
    with pytest.raises(ValueError, match="latent_dim"):
        ae.AE(64, 0)
    with pytest.raises(ValueError, match="loss"):
        ae.train_autoencoder(_ae(2), torch.rand(10, 64), epochs=1, loss="l1", progress=False)
    with pytest.raises(ValueError, match="shapes"):
        ae.rms_error(torch.zeros(2, 3), torch.zeros(3, 2))


def test_speech_frame_claim_holds_trained_and_fails_untrained():
    """Notebook 03, section 5: an 8-number code rebuilds held-out log-mel frames with less than
    half the error of the mean frame; an untrained autoencoder does not. Synthetic voiced sweeps
    (harmonics of a gliding F0) stand in for speech so the test needs no speech synthesiser."""
    from voicelab.audio import spectral

    sr = 16000

    def frames(f_start, f_end, seed):
        t = np.arange(sr) / sr
        f0 = np.linspace(f_start, f_end, sr)
        phase = 2 * np.pi * np.cumsum(f0) / sr
        y = sum(np.sin(k * phase) / k for k in range(1, 20) if k * f_end < sr / 2)
        y = y * (0.6 + 0.4 * np.sin(2 * np.pi * 3 * t + seed))
        M = spectral.mel_spectrogram(y.astype(np.float32), sr, n_fft=1024, hop_length=256, n_mels=64)
        return ae.frames_to_unit(spectral.to_db(M, ref="max"))

    train = torch.cat([frames(a, b, i) for i, (a, b) in enumerate([(90, 140), (120, 220), (180, 260), (230, 150)])])
    test = frames(110, 200, 9)
    baseline = ae.mean_baseline_error(train, test)
    untrained = _ae(8)
    assert not ae.reconstruction_error(untrained, test) < 0.5 * baseline
    trained = _ae(8)
    ae.train_autoencoder(trained, train, epochs=60, batch_size=32, loss="mse", seed=0, progress=False)
    assert ae.reconstruction_error(trained, test) < 0.5 * baseline


def test_a_step_passed_in_is_the_one_the_loop_uses(split):
    """Notebook 03 passes its own step to the package's loop: the loop must call it, and the
    package's own step must do what the notebook's does (lower the loss)."""
    X = split[0][:256]
    calls = []

    def idle_step(model, opt, x, target):          # the control: computes the loss, moves nothing
        calls.append(len(x))
        with torch.no_grad():
            return float(torch.nn.functional.binary_cross_entropy(model(x), target, reduction="sum")) / len(x)

    idle, moved = _ae(2), _ae(2)
    before = [p.clone() for p in idle.parameters()]
    h_idle = ae.train_autoencoder(idle, X, epochs=3, batch_size=64, step=idle_step, progress=False)
    h_moved = ae.train_autoencoder(moved, X, epochs=3, batch_size=64, progress=False)
    assert calls == [64] * 12                       # 4 batches x 3 epochs, all through idle_step
    assert all(torch.equal(p, q) for p, q in zip(before, idle.parameters()))
    assert h_idle[-1] == pytest.approx(h_idle[0])   # nothing learnt
    assert h_moved[-1] < 0.9 * h_moved[0]           # the package's step learns

    def noise_calls(model, opt, x, target):
        calls.append(torch.equal(x, target))
        return ae.autoencoder_step(model, opt, x, target)

    calls.clear()
    ae.train_autoencoder(_ae(2), X, epochs=1, noise_std=0.3, step=noise_calls, progress=False)
    assert calls and not any(calls)                 # a denoiser's step gets noisy x, clean target


def test_a_vae_step_passed_in_is_the_one_the_loop_uses_and_gets_beta(split):
    X = split[0][:256]
    betas = []

    def idle_step(model, opt, x, beta, generator):
        betas.append(beta)
        return 1.0, 2.0

    v = _ae(2, ae.VAE)
    before = [p.clone() for p in v.parameters()]
    history = ae.train_vae(v, X, epochs=2, beta=0.25, step=idle_step, progress=False)
    assert history == [{"recon": 1.0, "kl": 2.0}] * 2 and betas == [0.25] * 8
    assert all(torch.equal(p, q) for p, q in zip(before, v.parameters()))
    # the package's own step with the same loop does move the weights and lower the loss
    w = _ae(2, ae.VAE)
    h = ae.train_vae(w, X, epochs=4, progress=False)
    assert h[-1]["recon"] + h[-1]["kl"] < h[0]["recon"] + h[0]["kl"]
    assert not all(torch.equal(p, q) for p, q in zip(before, w.parameters()))


def test_the_default_steps_are_the_documented_maths(split):
    """autoencoder_step and vae_step: the same numbers as writing the loss out by hand."""
    X = split[0][:64]
    a = _ae(2)
    with torch.no_grad():
        by_hand = float(torch.nn.functional.binary_cross_entropy(a(X), X, reduction="sum")) / len(X)
    opt = torch.optim.SGD(a.parameters(), lr=0.0)
    assert ae.autoencoder_step(a, opt, X, X) == pytest.approx(by_hand, rel=1e-5)
    assert ae.autoencoder_step(a, opt, X, X, loss="mse") != pytest.approx(by_hand, rel=1e-2)  # control
    v = _ae(2, ae.VAE).train()
    g1, g2 = torch.Generator().manual_seed(0), torch.Generator().manual_seed(0)
    with torch.no_grad():
        out, mu, logvar = v(X, generator=g1)
        recon = float(torch.nn.functional.binary_cross_entropy(out, X, reduction="sum")) / len(X)
        kl = float(ae.kl_divergence(mu, logvar).mean())
    got = ae.vae_step(v, torch.optim.SGD(v.parameters(), lr=0.0), X, beta=1.0, generator=g2)
    assert got == pytest.approx((recon, kl), rel=1e-5)


def test_step_and_loss_together_are_refused():
    with pytest.raises(ValueError, match="step= or loss="):
        ae.train_autoencoder(_ae(2), torch.rand(10, 64), epochs=1, loss="mse",
                             step=ae.autoencoder_step, progress=False)
    with pytest.raises(ValueError, match="step= or loss="):
        ae.train_vae(_ae(2, ae.VAE), torch.rand(10, 64), epochs=1, loss="bce",
                     step=ae.vae_step, progress=False)

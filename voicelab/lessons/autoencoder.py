"""Autoencoders: squeeze data through a small latent code and rebuild it. Introduced in notebook 03.

* :class:`AE`: encoder (a few fully connected layers) -> latent vector ``z`` of
  ``latent_dim`` numbers -> decoder -> reconstruction. Trained to give its input back,
  it has to keep in ``z`` what matters most.
* Denoising: the same network, trained on noisy inputs (:func:`add_noise`) to output the
  *clean* ones (``train_autoencoder(..., noise_std=...)``).
* :class:`VAE`: the encoder outputs a Gaussian (mean and log-variance) instead of a point;
  training samples ``z`` from it with the reparameterisation trick and adds a KL term
  pulling every Gaussian towards N(0, I), so decoding random N(0, I) vectors gives new data.

One gradient step of each is a small function (:func:`autoencoder_step`, :func:`vae_step`);
notebook 03 writes its own version of each where it teaches it and passes it to
:func:`train_autoencoder` / :func:`train_vae` (``step=``), which only loop over batches.

Data are float tensors with values in [0, 1] of any shape ``(n, ...)`` (digits
``(n, 1, 8, 8)``, mel-spectrogram frames ``(n, n_mels)``); the models flatten them and
give back the same shape. :func:`reconstruction_error`, :func:`mean_baseline_error`,
:func:`kl_per_example` and :func:`negative_elbo` are the checks notebook 03 asserts with.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

__all__ = [
    "AE", "VAE", "add_noise", "autoencoder_step", "vae_step", "train_autoencoder", "train_vae", "reconstruction_error", "rms_error",
    "mean_baseline_error", "kl_divergence", "kl_per_example", "negative_elbo", "encode",
    "decode", "latent_grid", "frames_to_unit", "unit_to_frames",
]


def _mlp(sizes: list[int], last_activation: nn.Module | None = None) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i, (a, b) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(a, b))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    if last_activation is not None:
        layers.append(last_activation)
    return nn.Sequential(*layers)


def _check_dims(in_dim: int, latent_dim: int, hidden) -> tuple[int, ...]:
    if in_dim < 1 or latent_dim < 1:
        raise ValueError(f"in_dim and latent_dim must be >= 1, got {in_dim} and {latent_dim}")
    hidden = tuple(int(h) for h in hidden)
    if any(h < 1 for h in hidden):
        raise ValueError(f"hidden layer sizes must be >= 1, got {hidden}")
    return hidden


class AE(nn.Module):
    """A fully connected autoencoder with a ``latent_dim``-number bottleneck. Introduced in notebook 03.

    ``encoder``: in_dim -> hidden... -> latent_dim (no activation: any real numbers);
    ``decoder``: latent_dim -> reversed hidden... -> in_dim with a sigmoid, so outputs lie
    in (0, 1) like the data. ``forward(x)`` returns the reconstruction, same shape as ``x``.
    """

    def __init__(self, in_dim: int = 64, latent_dim: int = 2, hidden=(128, 64)):
        super().__init__()
        hidden = _check_dims(in_dim, latent_dim, hidden)
        self.in_dim, self.latent_dim, self.hidden = in_dim, latent_dim, hidden
        self.encoder = _mlp([in_dim, *hidden, latent_dim])
        self.decoder = _mlp([latent_dim, *reversed(hidden), in_dim], nn.Sigmoid())

    def encode(self, x):
        """Latent codes ``(n, latent_dim)`` of inputs ``(n, ...)``."""
        return self.encoder(x.reshape(len(x), -1))

    def decode(self, z):
        """Flat reconstructions ``(n, in_dim)`` in (0, 1) of codes ``(n, latent_dim)``."""
        return self.decoder(z)

    def forward(self, x):
        return self.decode(self.encode(x)).reshape(x.shape)

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(in_dim={self.in_dim}, latent_dim={self.latent_dim}, "
                f"hidden={self.hidden}, {sum(p.numel() for p in self.parameters())} parameters)")


class VAE(AE):
    """A variational autoencoder. Introduced in notebook 03.

    The encoder's last layer gives ``2 * latent_dim`` numbers: the mean ``mu`` and the
    log-variance ``logvar`` of a Gaussian q(z | x). ``forward(x)`` returns
    ``(reconstruction, mu, logvar)``; in training mode ``z`` is drawn with the
    reparameterisation trick ``z = mu + exp(logvar / 2) * eps``, ``eps ~ N(0, I)`` (so
    gradients flow through ``mu`` and ``logvar``), in eval mode ``z = mu``.
    """

    def __init__(self, in_dim: int = 64, latent_dim: int = 2, hidden=(128, 64)):
        super().__init__(in_dim, latent_dim, hidden)
        self.encoder = _mlp([in_dim, *self.hidden, 2 * latent_dim])

    def encode_dist(self, x):
        """``(mu, logvar)``, each ``(n, latent_dim)``, of q(z | x)."""
        h = self.encoder(x.reshape(len(x), -1))
        return h[:, :self.latent_dim], h[:, self.latent_dim:]

    def encode(self, x):
        """The mean code ``mu`` ``(n, latent_dim)`` (what plots of the latent space show)."""
        return self.encode_dist(x)[0]

    @staticmethod
    def reparameterize(mu, logvar, generator: torch.Generator | None = None):
        """``z = mu + sigma * eps`` with ``eps ~ N(0, I)``: a sample that gradients can pass through."""
        eps = torch.randn(mu.shape, generator=generator, dtype=mu.dtype, device=mu.device)
        return mu + torch.exp(0.5 * logvar) * eps

    def forward(self, x, generator: torch.Generator | None = None):
        mu, logvar = self.encode_dist(x)
        z = self.reparameterize(mu, logvar, generator) if self.training else mu
        return self.decode(z).reshape(x.shape), mu, logvar

    @torch.no_grad()
    def sample(self, n: int, seed: int = 0, shape: tuple[int, ...] | None = None):
        """Decode ``n`` codes drawn from the prior N(0, I): tensor ``(n, *shape)`` in (0, 1).

        ``shape`` is the shape of one example (default ``(in_dim,)``).
        """
        if n < 1:
            raise ValueError(f"n must be >= 1, got {n}")
        g = torch.Generator().manual_seed(seed)
        z = torch.randn(n, self.latent_dim, generator=g)
        was = self.training
        self.eval()
        out = self.decode(z)
        self.train(was)
        return out.reshape(n, *(shape or (self.in_dim,)))


# ------------------------------------------------------------------------------ data


def add_noise(X, std: float = 0.3, seed: int = 0):
    """``X`` plus Gaussian noise of standard deviation ``std``, clipped to [0, 1]. Seeded.

    Introduced in notebook 03 (the denoising autoencoder's inputs).
    """
    if std < 0:
        raise ValueError(f"std must be >= 0, got {std}")
    X = torch.as_tensor(X, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    return (X + std * torch.randn(X.shape, generator=g)).clamp(0.0, 1.0)


def frames_to_unit(S_db, floor_db: float = -80.0):
    """Log-mel frames in dB (``<= 0``, e.g. ``to_db(M, ref="max")``) -> [0, 1]: ``1 - dB / floor``.

    Introduced in notebook 03, to train an autoencoder with a sigmoid output on
    spectrogram frames. Returns float32 ``(n_frames, n_mels)`` from ``(n_mels, n_frames)``.
    """
    S_db = np.asarray(S_db, dtype=np.float64)
    return torch.tensor(np.clip(1.0 - S_db / floor_db, 0.0, 1.0).T, dtype=torch.float32)


def unit_to_frames(U, floor_db: float = -80.0) -> np.ndarray:
    """Inverse of :func:`frames_to_unit`: ``(n_frames, n_mels)`` in [0, 1] -> dB ``(n_mels, n_frames)``.

    Introduced in notebook 03.
    """
    U = np.asarray(U.detach().cpu() if hasattr(U, "detach") else U, dtype=np.float64)
    return ((1.0 - U) * floor_db).T


# -------------------------------------------------------------------------- training


def _as_data(X):
    X = torch.as_tensor(X, dtype=torch.float32)
    if X.ndim < 2 or len(X) == 0:
        raise ValueError(f"X must be a batch (n, ...) of examples, got shape {tuple(X.shape)}")
    if float(X.min()) < 0.0 or float(X.max()) > 1.0:
        raise ValueError(f"X must lie in [0, 1] (the decoder ends in a sigmoid), got values from "
                         f"{float(X.min()):.3g} to {float(X.max()):.3g}; rescale it first "
                         "(for spectrogram frames: frames_to_unit).")
    return X


def _epochs(epochs: int, progress: bool, desc: str):
    if epochs < 0:
        raise ValueError(f"epochs must be >= 0, got {epochs}")
    if progress and epochs:
        from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget
        return tqdm(range(epochs), desc=desc, unit="epoch", mininterval=2, miniters=max(1, epochs // 10),
                    ascii=True, ncols=80)   # at most about ten lines in a saved notebook
    return range(epochs)


def _recon_loss(out, target, loss: str):
    if loss == "bce":
        return F.binary_cross_entropy(out, target, reduction="sum") / len(out)
    if loss == "mse":
        return F.mse_loss(out, target, reduction="sum") / len(out)
    raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")


def kl_divergence(mu, logvar):
    """KL(q(z|x) || N(0, I)) of each example, in nats: tensor ``(n,)``. Introduced in notebook 03.

    For a diagonal Gaussian: ``0.5 * sum(mu**2 + exp(logvar) - 1 - logvar)``. It is 0
    only when q(z|x) is exactly N(0, I), i.e. when ``z`` says nothing about ``x``.
    """
    return 0.5 * (mu.pow(2) + logvar.exp() - 1.0 - logvar).sum(dim=1)


def autoencoder_step(model: AE, opt, x, target, loss: str = "bce") -> float:
    """One gradient step of an autoencoder: rebuild ``target`` from ``x``; returns the batch's loss.

    Introduced in notebook 03, which writes the same lines itself. The loss is the
    reconstruction error per example (summed over its values): binary cross-entropy
    (``"bce"``, in nats, for pixel intensities) or squared error (``"mse"``). ``x`` is
    ``target`` for a plain autoencoder and a corrupted copy of it for a denoising one.
    """
    batch_loss = _recon_loss(model(x), target, loss)
    opt.zero_grad()
    batch_loss.backward()
    opt.step()
    return float(batch_loss.detach())


def vae_step(model: VAE, opt, x, beta: float = 1.0, generator: torch.Generator | None = None,
             loss: str = "bce") -> tuple[float, float]:
    """One gradient step of a :class:`VAE` on a batch ``x``; returns ``(recon, kl)`` in nats per example.

    Introduced in notebook 03, which writes the same lines itself. Minimises the negative
    evidence lower bound: reconstruction loss + ``beta`` * KL (``beta=1``: the standard
    VAE). ``generator`` draws the noise of the reparameterisation trick.
    """
    out, mu, logvar = model(x, generator=generator)
    recon = _recon_loss(out, x, loss)
    kl = kl_divergence(mu, logvar).mean()
    opt.zero_grad()
    (recon + beta * kl).backward()
    opt.step()
    return float(recon.detach()), float(kl.detach())


def _one_loss(step, loss: str | None) -> str:
    if step is not None and loss is not None:
        raise ValueError("give either step= or loss=, not both: loss= chooses the package's own "
                         "step, and a step of your own computes its own loss.")
    loss = "bce" if loss is None else loss
    if loss not in ("bce", "mse"):
        raise ValueError(f"loss must be 'bce' or 'mse', got {loss!r}")
    return loss


def train_autoencoder(model: AE, X, epochs: int = 50, batch_size: int = 64, lr: float = 3e-3,
                      noise_std: float = 0.0, loss: str | None = None, seed: int = 0,
                      progress: bool = True, step=None) -> list[float]:
    """Train ``model`` to reconstruct ``X`` (values in [0, 1]); returns the loss of every epoch.

    Introduced in notebook 03. The loop: Adam, mini-batches shuffled with ``seed``, and for
    each batch ``step(model, opt, inputs, target) -> loss`` (a float). The default step is
    :func:`autoencoder_step` with ``loss`` (``"bce"`` unless given); notebook 03 passes the
    one it writes. With ``noise_std > 0`` each batch's inputs are corrupted by fresh
    Gaussian noise (clipped to [0, 1]) while the target stays clean: a *denoising*
    autoencoder. ``progress`` shows a text progress bar. The model ends in eval mode.
    """
    X = _as_data(X)
    loss = _one_loss(step, loss)
    if step is None:
        step = functools.partial(autoencoder_step, loss=loss)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    model.train()
    for _ in _epochs(epochs, progress, "denoising AE" if noise_std else "autoencoder"):
        order = torch.randperm(len(X), generator=g)
        total = 0.0
        for i in range(0, len(X), batch_size):
            target = X[order[i:i + batch_size]]
            inputs = target
            if noise_std > 0:
                inputs = (target + noise_std * torch.randn(target.shape, generator=g)).clamp(0, 1)
            total += float(step(model, opt, inputs, target)) * len(target)
        history.append(total / len(X))
    model.eval()
    return history


def train_vae(model: VAE, X, epochs: int = 50, batch_size: int = 64, lr: float = 3e-3,
              beta: float = 1.0, loss: str | None = None, seed: int = 0,
              progress: bool = True, step=None) -> list[dict[str, float]]:
    """Train a :class:`VAE` on ``X`` (values in [0, 1]); returns per-epoch ``{"recon", "kl"}``.

    Introduced in notebook 03. The loop: Adam, mini-batches shuffled with ``seed``, and for
    each batch ``step(model, opt, x, beta, generator) -> (recon, kl)`` in nats per example.
    The default step is :func:`vae_step` with ``loss`` (``"bce"`` unless given): reconstruction
    loss + ``beta`` * KL, the negative evidence lower bound for ``beta=1``; notebook 03 passes
    the one it writes. ``generator`` (seeded with ``seed``) draws the reparameterisation noise.
    """
    X = _as_data(X)
    loss = _one_loss(step, loss)
    if step is None:
        step = functools.partial(vae_step, loss=loss)
    g = torch.Generator().manual_seed(seed)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    history = []
    model.train()
    for _ in _epochs(epochs, progress, "VAE"):
        order = torch.randperm(len(X), generator=g)
        recon_sum = kl_sum = 0.0
        for i in range(0, len(X), batch_size):
            batch = X[order[i:i + batch_size]]
            recon, kl = step(model, opt, batch, beta, g)
            recon_sum += float(recon) * len(batch)
            kl_sum += float(kl) * len(batch)
        history.append({"recon": recon_sum / len(X), "kl": kl_sum / len(X)})
    model.eval()
    return history


# ---------------------------------------------------------------------------- checks


@torch.no_grad()
def encode(model: AE, X):
    """Latent codes ``(n, latent_dim)`` of ``X`` (the mean for a VAE), without gradients. Notebook 03."""
    model.eval()
    return model.encode(torch.as_tensor(X, dtype=torch.float32))


@torch.no_grad()
def decode(model: AE, z, shape: tuple[int, ...] | None = None):
    """Decode codes ``(n, latent_dim)`` to ``(n, *shape)`` (default ``(in_dim,)``), without gradients.

    Introduced in notebook 03.
    """
    model.eval()
    z = torch.as_tensor(z, dtype=torch.float32).reshape(-1, model.latent_dim)
    return model.decode(z).reshape(len(z), *(shape or (model.in_dim,)))


@torch.no_grad()
def reconstruction_error(model: AE, X, target=None) -> float:
    """Root-mean-square error per value between ``model(X)`` and ``target`` (default ``X``).

    Introduced in notebook 03. In the data's own units: for digits a pixel intensity
    (0..1). For a denoiser pass the noisy images as ``X`` and the clean ones as
    ``target``. A VAE is evaluated on its mean code (no sampling).
    """
    model.eval()
    X = torch.as_tensor(X, dtype=torch.float32)
    target = X if target is None else torch.as_tensor(target, dtype=torch.float32)
    out = model(X)
    out = out[0] if isinstance(out, tuple) else out
    return rms_error(out, target)


def rms_error(a, b) -> float:
    """Root-mean-square difference of two same-shaped tensors or arrays (e.g. noisy vs clean).

    Introduced in notebook 03.
    """
    a = torch.as_tensor(a, dtype=torch.float32)
    b = torch.as_tensor(b, dtype=torch.float32)
    if a.shape != b.shape:
        raise ValueError(f"shapes differ: {tuple(a.shape)} vs {tuple(b.shape)}")
    return float(F.mse_loss(a, b).sqrt())


def mean_baseline_error(X_train, X_test) -> float:
    """RMS error of "reconstructing" every test example by the mean training example.

    Introduced in notebook 03: a model that learnt nothing about its input cannot do
    better than this, so a trained autoencoder must beat it clearly.
    """
    X_train = torch.as_tensor(X_train, dtype=torch.float32)
    X_test = torch.as_tensor(X_test, dtype=torch.float32)
    return rms_error(X_train.mean(dim=0).expand_as(X_test), X_test)


@torch.no_grad()
def kl_per_example(model: VAE, X) -> float:
    """Mean KL(q(z|x) || N(0, I)) over ``X``, in nats: how much the codes say about the inputs.

    Introduced in notebook 03. Near 0 means the encoder ignores its input (an untrained
    VAE, or "posterior collapse").
    """
    model.eval()
    mu, logvar = model.encode_dist(torch.as_tensor(X, dtype=torch.float32))
    return float(kl_divergence(mu, logvar).mean())


@torch.no_grad()
def negative_elbo(model: VAE, X, n_samples: int = 8, seed: int = 0, loss: str = "bce") -> float:
    """Negative evidence lower bound per example in nats (lower is better), on ``X``.

    Introduced in notebook 03. Reconstruction loss averaged over ``n_samples`` codes drawn
    from q(z|x) with the reparameterisation trick (seeded), plus the KL term. It is an
    upper bound on -log p(x), so it compares how well two VAEs model the same data.
    """
    model.eval()
    X = torch.as_tensor(X, dtype=torch.float32)
    g = torch.Generator().manual_seed(seed)
    mu, logvar = model.encode_dist(X)
    recon = 0.0
    for _ in range(n_samples):
        out = model.decode(model.reparameterize(mu, logvar, g)).reshape(X.shape)
        recon += float(_recon_loss(out, X, loss)) / n_samples
    return recon + float(kl_divergence(mu, logvar).mean())


def latent_grid(low: float = -2.0, high: float = 2.0, n: int = 10) -> np.ndarray:
    """An ``(n * n, 2)`` grid of 2-D codes from ``low`` to ``high``, row by row (top row: z2 = high).

    Introduced in notebook 03, to draw what each region of a 2-D latent space decodes to.
    """
    values = np.linspace(low, high, n)
    return np.array([[x, y] for y in values[::-1] for x in values], dtype=np.float32)

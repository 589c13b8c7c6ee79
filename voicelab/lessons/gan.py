"""A small generative adversarial network (GAN) for 8x8 digits. Introduced in notebook 04.

Two networks play against each other:

* the **generator** G turns a random vector z (``z_dim`` numbers from N(0, 1)) into an
  image: fake data that should look real;
* the **discriminator** D looks at an image and outputs a logit: high for "real", low for
  "fake".

Each training step (:func:`gan_step`) first updates D to tell a batch of real digits from a
batch of G's fakes (:func:`d_loss`), then updates G so that D calls its fakes real
(:func:`g_loss`, the "non-saturating" form of the game, whose gradient does not vanish when D
wins). Notebook 04 writes that step itself and passes it to :func:`train_gan` (``step=``),
which only loops over batches and keeps the history.

Images are float tensors (n, 1, 8, 8) in [0, 1] (see :mod:`voicelab.data.digits`).
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field

import torch
from torch import nn
from torch.nn import functional as F

from ..core.errors import GANError
from ..core.torchutil import cpu_threads, seeded, seeded_module

__all__ = ["Generator", "Discriminator", "d_loss", "g_loss", "gan_step", "History", "train_gan", "sample",
           "collapse", "diversity", "GANError"]


class Generator(nn.Module):
    """z (n, z_dim) -> images (n, 1, 8, 8) in [0, 1]: two hidden layers of ``hidden`` units."""

    def __init__(self, z_dim: int = 16, hidden: int = 256):
        super().__init__()
        self.z_dim = z_dim
        self.net = nn.Sequential(
            nn.Linear(z_dim, hidden), nn.ReLU(),
            nn.Linear(hidden, hidden), nn.ReLU(),
            nn.Linear(hidden, 64), nn.Sigmoid())

    def forward(self, z):
        return self.net(z).view(-1, 1, 8, 8)


class Discriminator(nn.Module):
    """Images (n, 1, 8, 8) -> logits (n,): > 0 means "real", < 0 "fake".

    Dropout (``dropout``, active in training only) keeps D from memorising the training
    digits, which would leave G with nothing useful to learn from.
    """

    def __init__(self, hidden: int = 256, dropout: float = 0.3):
        super().__init__()
        self.net = nn.Sequential(
            nn.Flatten(),
            nn.Linear(64, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, hidden), nn.LeakyReLU(0.2), nn.Dropout(dropout),
            nn.Linear(hidden, 1))

    def forward(self, x):
        return self.net(x).squeeze(1)


def d_loss(real_logits, fake_logits, real_label: float = 1.0):
    """Discriminator loss: -log D(x) - log(1 - D(G(z))), averaged (binary cross-entropy).

    ``real_label`` < 1 is one-sided label smoothing: D is asked to say 0.9 (say) on real
    digits instead of 1, so it never becomes certain and G keeps a useful gradient.
    """
    return (F.binary_cross_entropy_with_logits(real_logits, torch.full_like(real_logits, real_label))
            + F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits)))


def g_loss(fake_logits):
    """Generator loss, non-saturating form: -log D(G(z)), averaged."""
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def gan_step(G: Generator, D: Discriminator, opt_g, opt_d, real, z,
             real_label: float = 0.9) -> dict[str, float]:
    """One step of the game on a batch of real images and codes ``z``: D's update, then G's.

    Introduced in notebook 04, which writes the same lines itself. Returns the batch's
    ``d_loss`` and ``g_loss`` and D's mean probability of "real" on the real images
    (``d_real``) and on the fakes (``d_fake``), the fields of :class:`History`.
    """
    # 1. discriminator: real -> real_label, fake -> 0 (fakes detached: G is not updated here)
    fake = G(z)
    real_logits, fake_logits = D(real), D(fake.detach())
    loss_d = d_loss(real_logits, fake_logits, real_label)
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    # 2. generator: make D call the same fakes real (only G's optimiser steps)
    loss_g = g_loss(D(fake))
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return {"d_loss": loss_d.item(), "g_loss": loss_g.item(),
            "d_real": torch.sigmoid(real_logits).mean().item(),
            "d_fake": torch.sigmoid(fake_logits).mean().item()}


@dataclass
class History:
    """What happened while training: one entry per step, and samples after each epoch."""

    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)   #: mean D(x) on real digits, 0..1
    d_fake: list[float] = field(default_factory=list)   #: mean D(G(z)) on fakes, 0..1
    samples: list[torch.Tensor] = field(default_factory=list)  #: (n, 1, 8, 8) per epoch, same z
    steps_per_epoch: int = 0


_STEP_KEYS = ("d_loss", "g_loss", "d_real", "d_fake")


def _record(hist: History, out) -> None:
    if not isinstance(out, dict) or set(out) != set(_STEP_KEYS):
        got = sorted(out) if isinstance(out, dict) else type(out).__name__
        raise GANError(f"a training step must return a dict with the keys {list(_STEP_KEYS)}, "
                       f"got {got}; see gan.gan_step.")
    for name in _STEP_KEYS:
        getattr(hist, name).append(float(out[name]))


def sample(G: Generator, n: int = 64, seed: int = 0) -> torch.Tensor:
    """``n`` images (n, 1, 8, 8) in [0, 1] from G, with z drawn from ``seed`` (on G's device)."""
    device = next(G.parameters()).device
    z = torch.randn(n, G.z_dim, generator=torch.Generator().manual_seed(seed)).to(device)
    was_training = G.training
    G.eval()
    with torch.no_grad():
        x = G(z)
    G.train(was_training)
    return x.cpu()


def train_gan(X, epochs: int = 100, z_dim: int = 16, hidden: int = 256, lr: float = 1e-3,
              batch_size: int = 64, real_label: float = 0.9, seed: int = 0, n_show: int = 16,
              device: str = "cpu", G: Generator | None = None, D: Discriminator | None = None,
              progress: bool = True, step=None):
    """Train a GAN on images ``X`` (n, 1, 8, 8) in [0, 1]; returns ``(G, D, history)``.

    The loop: Adam with beta1 = 0.5 (the usual choice for GANs) for each network, batches
    shuffled with ``seed``, and for each batch ``step(G, D, opt_g, opt_d, real, z,
    real_label) -> {"d_loss", "g_loss", "d_real", "d_fake"}`` (default :func:`gan_step`;
    notebook 04 passes the one it writes); ``real_label`` as in :func:`d_loss`. Give
    ``G``/``D`` to continue training them. ``history.samples`` holds ``n_show`` samples
    from the same fixed z after every epoch. Deterministic on a CPU for a given ``seed``
    (torch's global random state is left as it was). ``progress`` shows a text progress bar.
    """
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    X = torch.as_tensor(X, dtype=torch.float32)
    if X.ndim != 4 or tuple(X.shape[1:]) != (1, 8, 8):
        raise GANError(f"train_gan wants images of shape (n, 1, 8, 8), got {tuple(X.shape)}.")
    if len(X) < batch_size:
        raise GANError(f"{len(X)} images is fewer than one batch ({batch_size}); "
                       "give more images or a smaller batch_size.")
    if epochs < 1:
        raise GANError(f"epochs must be at least 1, got {epochs}.")
    step = gan_step if step is None else step
    G = G if G is not None else seeded_module(Generator, seed, z_dim, hidden)
    D = D if D is not None else seeded_module(Discriminator, seed + 1, hidden)
    G, D = G.to(device).train(), D.to(device).train()
    opt_g = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    opt_d = torch.optim.Adam(D.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    fixed_z = torch.randn(n_show, G.z_dim, generator=gen).to(device)
    hist = History(steps_per_epoch=len(X) // batch_size)
    threads = 1 if device == "cpu" else torch.get_num_threads()
    with cpu_threads(threads), seeded(seed):   # D's dropout draws from torch's global generator
        for _ in tqdm(range(epochs), desc="GAN epochs", unit="epoch", disable=not progress,
                      mininterval=2, miniters=max(1, epochs // 10), ascii=True, ncols=80):
            order = torch.randperm(len(X), generator=gen)
            for start in range(0, hist.steps_per_epoch * batch_size, batch_size):
                real = X[order[start:start + batch_size]].to(device)
                z = torch.randn(len(real), G.z_dim, generator=gen).to(device)
                _record(hist, step(G, D, opt_g, opt_d, real, z, real_label))
            with torch.no_grad():
                G.eval()
                hist.samples.append(G(fixed_z).cpu())
                G.train()
    return G.eval(), D.eval(), hist


def collapse(G: Generator, D: Discriminator, steps: int = 200, lr: float = 5e-3,
             batch_size: int = 64, seed: int = 0, progress: bool = True) -> Generator:
    """Mode collapse on purpose: a copy of G trained for ``steps`` against a *frozen* D.

    When D stops adapting, G's best move is to put every z on whatever images D currently
    scores as most real, so its samples lose their variety. (In normal training D adapts
    and punishes that; when it adapts too slowly the same thing happens by accident.)
    G and D themselves are left unchanged.
    """
    from tqdm.std import tqdm

    G = copy.deepcopy(G).train()
    D = copy.deepcopy(D).eval().requires_grad_(False)
    device = next(G.parameters()).device
    opt = torch.optim.Adam(G.parameters(), lr=lr, betas=(0.5, 0.999))
    gen = torch.Generator().manual_seed(seed)
    with cpu_threads(1 if device.type == "cpu" else torch.get_num_threads()):
        for _ in tqdm(range(steps), desc="G vs frozen D", unit="step", disable=not progress,
                      mininterval=2, miniters=max(1, steps // 10), ascii=True, ncols=80):
            z = torch.randn(batch_size, G.z_dim, generator=gen).to(device)
            loss = g_loss(D(G(z)))
            opt.zero_grad()
            loss.backward()
            opt.step()
    return G.eval()


def diversity(images) -> float:
    """Mean Euclidean distance between all pairs of images (n, 1, 8, 8): 0 when all are equal.

    Real digits score about 3.
    """
    x = torch.as_tensor(images, dtype=torch.float32).flatten(1)
    if len(x) < 2:
        raise GANError("diversity needs at least two images.")
    d = torch.cdist(x, x)
    n = len(x)
    return float(d.sum() / (n * (n - 1)))

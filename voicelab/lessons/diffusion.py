"""A small denoising diffusion model (DDPM) for 8x8 digits, and shallow diffusion. Notebook 05.

Diffusion has two processes over ``T`` steps:

* the **forward process** (no learning) adds a little Gaussian noise at every step until
  only noise is left. Its step ``t`` can be jumped to directly:
  ``x_t = sqrt(abar_t) * x_0 + sqrt(1 - abar_t) * eps`` with ``eps ~ N(0, I)`` and
  ``abar_t`` the product of ``1 - beta_s`` up to ``t`` (:class:`Schedule`, :func:`q_sample`);
* the **reverse process** is learnt: a network (:class:`Denoiser`) looks at ``x_t`` and
  ``t`` and predicts the noise ``eps`` that was added; it is trained with a plain mean
  squared error (:func:`ddpm_step`, run by :func:`train_ddpm`). Sampling starts from pure
  noise and removes the predicted noise one step at a time (:func:`ddpm_reverse_step`, run by
  :func:`sample`). Notebook 05 writes both steps out and passes its own to the loops.

**Shallow diffusion** (:func:`shallow_diffusion`, used by so-vits-svc 4.1 and DiffSinger)
does not start from pure noise: it takes the output of a cheaper model, noises it only
up to an intermediate step ``k < T`` and runs the last ``k`` reverse steps. The coarse
output fixes the big picture (which digit, which sentence), diffusion adds the detail,
and it costs ``k`` network calls instead of ``T``.

Pixels are in [0, 1] outside this module (as :mod:`voicelab.data.digits` gives them) and in
[-1, 1] inside it, where the noise lives. Images are tensors (n, 1, 8, 8); step numbers
``t`` run from 1 (almost clean) to ``T`` (pure noise); ``t = 0`` is the data itself.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import torch
from torch import nn

from ..core.errors import DiffusionError
from ..core.torchutil import cpu_threads, seeded_module

__all__ = ["Schedule", "linear_schedule", "cosine_schedule", "q_sample", "Denoiser", "ddpm_step",
           "train_ddpm", "ddpm_reverse_step", "sample", "shallow_diffusion", "DiffusionError"]


@dataclass(frozen=True)
class Schedule:
    """The noise schedule: ``betas[t-1]`` is the variance of the noise added at step t = 1..T."""

    betas: torch.Tensor  # (T,) float64

    @property
    def T(self) -> int:
        return len(self.betas)

    @property
    def alphas(self) -> torch.Tensor:
        return 1.0 - self.betas

    @property
    def alpha_bars(self) -> torch.Tensor:
        """(T,) abar_t: how much of the clean image is left at step t (as a variance share)."""
        return torch.cumprod(self.alphas, 0)

    def signal_to_noise_db(self) -> torch.Tensor:
        """(T,) 10 log10(abar_t / (1 - abar_t)): > 0 dB the image dominates, < 0 dB the noise."""
        ab = self.alpha_bars
        return 10 * torch.log10(ab / (1 - ab))


def linear_schedule(T: int = 100, beta_start: float | None = None,
                    beta_end: float | None = None) -> Schedule:
    """Betas rising linearly; by default DDPM's 1e-4 .. 0.02 for T = 1000, scaled by 1000/T."""
    if T < 2:
        raise DiffusionError(f"a schedule needs at least 2 steps, got T={T}.")
    scale = 1000 / T
    b0 = 1e-4 * scale if beta_start is None else beta_start
    b1 = 0.02 * scale if beta_end is None else beta_end
    if not 0 < b0 <= b1 < 1:
        raise DiffusionError(f"need 0 < beta_start <= beta_end < 1, got {b0} and {b1}.")
    return Schedule(torch.linspace(b0, b1, T, dtype=torch.float64))


def cosine_schedule(T: int = 100, s: float = 0.008) -> Schedule:
    """Improved DDPM's schedule: abar_t follows cos^2, so noise is added more evenly."""
    if T < 2:
        raise DiffusionError(f"a schedule needs at least 2 steps, got T={T}.")
    steps = torch.arange(T + 1, dtype=torch.float64) / T
    f = torch.cos((steps + s) / (1 + s) * math.pi / 2) ** 2
    ab = f / f[0]
    return Schedule((1 - ab[1:] / ab[:-1]).clamp(max=0.999))


def _check_images(x, what="images"):
    x = torch.as_tensor(x, dtype=torch.float32)
    if x.ndim != 4 or tuple(x.shape[1:]) != (1, 8, 8):
        raise DiffusionError(f"{what} must have shape (n, 1, 8, 8), got {tuple(x.shape)}.")
    return x


def q_sample(x0, t, schedule: Schedule, noise=None, generator=None):
    """Forward process: jump clean images ``x0`` (n, 1, 8, 8) in [0, 1] to step ``t``.

    ``t`` is an int or a (n,) tensor of steps 0..T (0 leaves the image as it is). Returns
    ``x_t`` in the model's range (about [-1, 1] plus noise); pass ``noise`` to choose eps.
    """
    x0 = _check_images(x0, "x0") * 2 - 1
    t = torch.as_tensor(t, dtype=torch.int64).reshape(-1).expand(len(x0))
    if int(t.min()) < 0 or int(t.max()) > schedule.T:
        raise DiffusionError(f"steps must be in 0..{schedule.T}, got {t.min().item()}..{t.max().item()}.")
    if noise is None:
        noise = torch.randn(x0.shape, generator=generator)
    ab = torch.cat([torch.ones(1, dtype=torch.float64), schedule.alpha_bars])[t].float()
    ab = ab.view(-1, 1, 1, 1).to(x0.device)
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise.to(x0.device)


def _time_features(t, dim: int = 32):
    """Sinusoidal features of the step number, as in transformers' position encodings."""
    half = dim // 2
    freqs = torch.exp(-math.log(1000.0) * torch.arange(half, device=t.device) / half)
    angles = t.float()[:, None] * freqs[None, :]
    return torch.cat([angles.sin(), angles.cos()], dim=1)


class Denoiser(nn.Module):
    """Predicts the added noise: ``(x_t (n, 1, 8, 8), t (n,)) -> eps (n, 1, 8, 8)``.

    A small residual MLP on the 64 pixels; the step number enters as sinusoidal features
    through a 2-layer MLP and is added before every block.
    """

    def __init__(self, hidden: int = 256, depth: int = 3):
        super().__init__()
        self.time = nn.Sequential(nn.Linear(32, hidden), nn.SiLU(), nn.Linear(hidden, hidden))
        self.inp = nn.Linear(64, hidden)
        self.blocks = nn.ModuleList(
            nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, hidden), nn.SiLU(),
                          nn.Linear(hidden, hidden)) for _ in range(depth))
        self.out = nn.Sequential(nn.LayerNorm(hidden), nn.Linear(hidden, 64))

    def forward(self, x, t):
        temb = self.time(_time_features(t))
        h = self.inp(x.flatten(1))
        for block in self.blocks:
            h = h + block(h + temb)
        return self.out(h).view(-1, 1, 8, 8)


def ddpm_step(model, opt, x0, schedule: Schedule, gen=None) -> float:
    """One DDPM training step on clean images ``x0`` (n, 1, 8, 8) in [0, 1]; returns the loss.

    Draw a step t in 1..T and noise eps per image, jump to
    ``x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) eps`` (:func:`q_sample`), and take one
    optimiser step on the mean squared error between eps and the model's guess. ``gen``
    (a CPU torch.Generator) draws t and eps. Notebook 05 writes this step out and passes
    it to :func:`train_ddpm` as ``step=``; this is the same maths, the default.
    """
    t = torch.randint(1, schedule.T + 1, (len(x0),), generator=gen)
    eps = torch.randn(x0.shape, generator=gen)
    xt = q_sample(x0, t, schedule, noise=eps)
    loss = nn.functional.mse_loss(model(xt, t.to(xt.device)), eps.to(xt.device))
    opt.zero_grad()
    loss.backward()
    opt.step()
    return loss.item()


def train_ddpm(X, schedule: Schedule, steps: int = 3000, hidden: int = 256, depth: int = 3,
               lr: float = 2e-3, batch_size: int = 128, seed: int = 0, device: str = "cpu",
               model: Denoiser | None = None, progress: bool = True, step=None):
    """Train a :class:`Denoiser` on images ``X`` (n, 1, 8, 8) in [0, 1]; returns ``(model, losses)``.

    The loop: pick a batch of real images (on ``device``), call
    ``step(model, opt, x0, schedule, gen) -> loss`` (default :func:`ddpm_step`), and decay
    Adam's learning rate along a cosine to 0. ``losses``: one float per step. ``progress``
    shows a text progress bar (it renders in a saved notebook, unlike a widget).
    """
    from tqdm.std import tqdm

    X = _check_images(X, "X")
    if steps < 1:
        raise DiffusionError(f"steps must be at least 1, got {steps}.")
    step = ddpm_step if step is None else step
    model = model if model is not None else seeded_module(Denoiser, seed, hidden, depth)
    model = model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, steps)
    gen = torch.Generator().manual_seed(seed)
    losses = []
    with cpu_threads(1 if device == "cpu" else torch.get_num_threads()):
        # a text bar updated every 10 s: a saved notebook keeps each update as a line
        for _ in tqdm(range(steps), desc="DDPM steps", disable=not progress, mininterval=10,
                      ascii=True, ncols=80):
            x0 = X[torch.randint(len(X), (batch_size,), generator=gen)].to(device)
            losses.append(float(step(model, opt, x0, schedule, gen)))
            sched.step()
    return model.eval(), losses


def ddpm_reverse_step(model, schedule: Schedule, x, t: int, gen=None):
    """One reverse step: ``x_{t-1}`` from ``x_t`` (n, 1, 8, 8, the model's range) at step t in 1..T.

    The model's noise guess gives a guess of the clean image (clipped to [-1, 1], as DDPM
    code does); ``x_{t-1}`` is drawn around the mean of the forward process's posterior
    q(x_{t-1} | x_t, x_0), with no noise at t = 1. ``gen`` (a CPU torch.Generator) draws the
    noise. Notebook 05 writes this step out and passes it as ``reverse_step=``.
    """
    beta = float(schedule.betas[t - 1])
    abar = float(schedule.alpha_bars[t - 1])
    abar_prev = float(schedule.alpha_bars[t - 2]) if t > 1 else 1.0
    eps = model(x, torch.full((len(x),), t, device=x.device))
    x0 = ((x - (1 - abar) ** 0.5 * eps) / abar ** 0.5).clamp(-1, 1)
    mean = (abar_prev ** 0.5 * beta * x0 + (1 - beta) ** 0.5 * (1 - abar_prev) * x) / (1 - abar)
    if t == 1:
        return mean
    var = beta * (1 - abar_prev) / (1 - abar)
    return mean + var ** 0.5 * torch.randn(x.shape, generator=gen).to(x.device)


def _reverse(model, schedule: Schedule, x, t_from: int, gen, keep_every: int | None, reverse_step):
    """Run reverse steps t_from, ..., 1 on x (model range); returns (x_0, [(t, x_t) kept]) on the CPU."""
    reverse_step = ddpm_reverse_step if reverse_step is None else reverse_step
    device = next(model.parameters()).device
    x = x.to(device)
    kept = []
    with torch.no_grad(), cpu_threads(1 if device.type == "cpu" else torch.get_num_threads()):
        for t in range(t_from, 0, -1):
            if keep_every and (t % keep_every == 0 or t == t_from):
                kept.append((t, x.cpu().clone()))
            x = reverse_step(model, schedule, x, t, gen)
    x = x.cpu()
    kept.append((0, x.clone()))
    return x, kept


def _to_images(x):
    return ((x + 1) / 2).clamp(0, 1)


def sample(model: Denoiser, schedule: Schedule, n: int = 64, seed: int = 0,
           keep_every: int | None = None, reverse_step=None):
    """Draw ``n`` images (n, 1, 8, 8) in [0, 1] by running all T reverse steps from noise.

    With ``keep_every=k`` it returns ``(images, trajectory)`` instead, where trajectory is a
    list of ``(t, images at step t)`` every k steps (and at T and 0), for plotting.
    ``reverse_step(model, schedule, x, t, gen) -> x_{t-1}`` defaults to :func:`ddpm_reverse_step`.
    """
    gen = torch.Generator().manual_seed(seed)
    x = torch.randn(n, 1, 8, 8, generator=gen)
    x, kept = _reverse(model, schedule, x, schedule.T, gen, keep_every, reverse_step)
    if keep_every:
        return _to_images(x), [(t, _to_images(xt)) for t, xt in kept]
    return _to_images(x)


def shallow_diffusion(model: Denoiser, schedule: Schedule, coarse, k: int, seed: int = 0,
                      reverse_step=None):
    """Refine ``coarse`` images (n, 1, 8, 8) in [0, 1]: noise them to step ``k``, run k reverse steps.

    ``k = 0`` returns the coarse images unchanged; ``k = T`` starts from (almost) pure noise
    and is ordinary sampling, which forgets the coarse input. Costs k network calls.
    ``reverse_step`` as in :func:`sample`.
    """
    if not 0 <= k <= schedule.T:
        raise DiffusionError(f"k must be in 0..{schedule.T} (the schedule's T), got {k}.")
    coarse = _check_images(coarse, "coarse").clamp(0, 1)
    gen = torch.Generator().manual_seed(seed)
    x = q_sample(coarse, k, schedule, generator=gen)
    x, _ = _reverse(model, schedule, x, k, gen, None, reverse_step)
    return _to_images(x)

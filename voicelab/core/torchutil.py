"""Small PyTorch helpers shared by the course's own models. torch is imported on first use."""
from __future__ import annotations

from contextlib import contextmanager

__all__ = ["cpu_threads", "seeded", "seeded_module"]


@contextmanager
def cpu_threads(n: int = 1):
    """Run the block with ``n`` CPU threads for torch, then restore the previous number.

    The course's image models are tiny (thousands of weights, 8x8 images): splitting such
    small matrix products across threads costs more than it saves, and on a busy machine
    the threads wait for each other. One thread is several times faster for them.
    """
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


@contextmanager
def seeded(seed: int):
    """Inside the block torch's (CPU) random numbers come from ``seed``; after it, torch's
    global random state is what it was before (so seeding here does not disturb a caller)."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def seeded_module(cls, seed: int, *args, **kwargs):
    """``cls(*args, **kwargs)`` with its random initial weights drawn from ``seed``, leaving
    torch's global random state as it was."""
    with seeded(seed):
        return cls(*args, **kwargs)

"""Small PyTorch helpers shared by the course's own models (notebooks 04-06)."""
from __future__ import annotations

from contextlib import contextmanager

import torch

__all__ = ["cpu_threads", "seeded_module"]


@contextmanager
def cpu_threads(n: int = 1):
    """Run the block with ``n`` CPU threads for torch, then restore the previous number.

    The course's image models are tiny (thousands of weights, 8x8 images): splitting such
    small matrix products across threads costs more than it saves, and on a busy machine
    the threads wait for each other. One thread is several times faster for them.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(n)
    try:
        yield
    finally:
        torch.set_num_threads(before)


def seeded_module(cls, seed: int, *args, **kwargs):
    """``cls(*args, **kwargs)`` with its random initial weights drawn from ``seed``, leaving
    torch's global random state as it was."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        return cls(*args, **kwargs)

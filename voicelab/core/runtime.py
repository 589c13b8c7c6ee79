"""Where the course is running and how big it may be: QUICK or FULL mode, device, versions.

Introduced in notebook 00; every notebook calls :func:`report` in its second cell.

QUICK mode runs every notebook offline on a CPU with tiny sizes (CI, laptops);
FULL mode is the real thing (a CUDA GPU, internet, real training lengths).
"""
from __future__ import annotations

import contextlib
import os
import platform
import random
import sys
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path

__all__ = [
    "Runtime", "detect", "report", "is_quick", "is_offline", "is_colab",
    "cache_dir", "seed_everything", "pick", "steps", "steps_cap", "flag", "quiet",
]

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off"}
VERSIONED = ("python", "voicelab", "torch", "torchaudio", "torchcodec", "numpy", "so-vits-svc-fork")


def flag(name: str) -> bool | None:
    """Read an on/off environment variable: True, False, or None when unset or empty."""
    value = os.environ.get(name, "").strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    return None if value == "" else True


def is_colab() -> bool:
    """True inside Google Colab."""
    return "google.colab" in sys.modules or "COLAB_RELEASE_TAG" in os.environ


def _cuda_available() -> bool:
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        return False
    return bool(torch.cuda.is_available())


def _mode(has_gpu: bool) -> tuple[str, list[str]]:
    """Return ("QUICK" | "FULL", reasons). VOICELAB_QUICK overrides everything else."""
    forced = flag("VOICELAB_QUICK")
    if forced is True:
        return "QUICK", ["VOICELAB_QUICK=1"]
    if forced is False:
        reasons = ["VOICELAB_QUICK=0"]
        if not has_gpu:
            reasons.append("no CUDA GPU: FULL sizes on a CPU will be very slow")
        return "FULL", reasons
    reasons = []
    if flag("CI"):
        reasons.append("CI is set")
    if not has_gpu:
        reasons.append("no CUDA GPU")
    return ("QUICK", reasons) if reasons else ("FULL", ["CUDA GPU found"])


def is_quick() -> bool:
    """True in QUICK mode: no CUDA GPU, or ``CI`` set, or ``VOICELAB_QUICK=1`` (``=0`` forces FULL)."""
    forced = flag("VOICELAB_QUICK")
    if forced is not None:
        return forced
    return bool(flag("CI")) or not _cuda_available()


def is_offline() -> bool:
    """True when nothing may be downloaded: QUICK mode or ``HF_HUB_OFFLINE=1``."""
    return bool(flag("HF_HUB_OFFLINE")) or is_quick()


def pick_device(device: str | None = None) -> str:
    """The torch device to run on: ``device`` if given, else "cuda" in FULL mode with a CUDA GPU.

    QUICK mode stays on the CPU even where there is a GPU, so its results are the ones CI sees.
    Every model in voicelab that can use a GPU chooses with this function.
    """
    if device:
        return str(device)
    return "cuda" if not is_quick() and _cuda_available() else "cpu"


def pick(quick, full):
    """Return ``quick`` in QUICK mode and ``full`` in FULL mode (sizes, step counts, data)."""
    return quick if is_quick() else full


def steps_cap() -> int | float | None:
    """The rehearsal's cap on FULL step counts, from ``$VOICELAB_REHEARSAL_STEPS``; None when unset or QUICK.

    A whole number N (at most N steps) or a fraction below 1 (that share of every FULL count).
    Set only by the FULL rehearsal (``make rehearse``), which runs FULL code paths on a CPU: every
    count that goes through :func:`steps` is cut, data and model sizes stay FULL.
    """
    value = os.environ.get("VOICELAB_REHEARSAL_STEPS", "").strip()
    if not value or is_quick():
        return None
    try:
        cap = float(value)
    except ValueError:
        cap = 0.0
    if not (cap >= 1 and cap.is_integer()) and not 0 < cap < 1:
        raise ValueError(f"VOICELAB_REHEARSAL_STEPS={value!r}: give a whole number of steps (1 or "
                         "more) or a fraction of the FULL counts between 0 and 1.")
    return int(cap) if cap >= 1 else cap


def steps(quick, full, *, least=None):
    """A number of steps, epochs or seconds to generate: ``quick`` in QUICK mode, ``full`` in FULL mode.

    In FULL mode with ``VOICELAB_REHEARSAL_STEPS`` set (the rehearsal) it is cut: to ``min(full, N)``
    for a whole number N, to that share of ``full`` for a fraction (at least 1 of a whole count),
    never below ``least`` (e.g. the shortest music a model makes). Such a run checks the FULL code path on a CPU, not what FULL training reaches; :func:`report`
    says so. Introduced in notebook 03; notebooks use it for lengths of runs, :func:`pick` for sizes.
    """
    if is_quick():
        return quick
    cap = steps_cap()
    if cap is None:
        return full
    if isinstance(cap, int):
        cut = min(full, cap)
    else:
        cut = max(1, round(full * cap)) if isinstance(full, int) else full * cap
    return cut if least is None else min(full, max(least, cut))


def cache_dir() -> Path:
    """Folder for downloads and generated data: ``$VOICELAB_CACHE`` or ``~/.cache/voicelab``.

    Always an absolute path: a relative ``$VOICELAB_CACHE`` is taken from the working folder
    now, so paths handed to other tools still mean the same folder.
    """
    root = os.environ.get("VOICELAB_CACHE") or Path.home() / ".cache" / "voicelab"
    path = Path(root).expanduser().absolute()
    path.mkdir(parents=True, exist_ok=True)
    return path


def _version(dist: str) -> str | None:
    if dist == "python":
        return platform.python_version()
    if dist == "torch" and "torch" in sys.modules:
        return sys.modules["torch"].__version__  # includes the build, e.g. 2.11.0+cu130
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return None


@dataclass
class Runtime:
    """What :func:`detect` found. Printing it gives the report every notebook shows."""

    mode: str
    reasons: list[str]
    device: str
    colab: bool
    gpu_name: str | None = None
    gpu_total_gb: float | None = None
    gpu_free_gb: float | None = None
    versions: dict[str, str | None] = field(default_factory=dict)
    steps_cap: int | None = None

    @property
    def quick(self) -> bool:
        return self.mode == "QUICK"

    def __str__(self) -> str:
        where = "Google Colab" if self.colab else "local machine"
        lines = [f"voicelab mode: {self.mode} ({'; '.join(self.reasons)}) on {where}"]
        if self.gpu_name:
            lines.append(f"device: {self.device} = {self.gpu_name}, "
                         f"{self.gpu_total_gb:.1f} GB total, {self.gpu_free_gb:.1f} GB free")
        else:
            lines.append(f"device: {self.device} (no CUDA GPU)")
        lines.append(" | ".join(f"{k} {v or 'not installed'}" for k, v in self.versions.items()))
        if self.quick:
            lines.append("QUICK mode: offline, tiny models and data made on this machine; "
                         "results show that the code works, not how good it can get.")
        if self.steps_cap is not None:
            cap = self.steps_cap if isinstance(self.steps_cap, int) else f"{self.steps_cap:.0%} of FULL"
            lines.append(f"REHEARSAL: FULL code paths with step counts capped at {cap} "
                         "(VOICELAB_REHEARSAL_STEPS); results show that the code runs, not what "
                         "FULL training reaches, and quality claims are not checked.")
        return "\n".join(lines)

    __repr__ = __str__

    def _repr_pretty_(self, p, cycle):  # IPython display
        p.text(str(self))


def detect() -> Runtime:
    """Look at the environment and return a :class:`Runtime` (mode, device, GPU memory, versions)."""
    has_gpu = _cuda_available()
    mode, reasons = _mode(has_gpu)
    gpu_name = total = free = None
    device = "cpu"
    if has_gpu:
        import torch

        props = torch.cuda.get_device_properties(0)
        gpu_name = props.name
        free_b, total_b = torch.cuda.mem_get_info(0)
        total, free = total_b / 1e9, free_b / 1e9
        # QUICK mode stays on the CPU so its outputs are the same everywhere.
        device = pick_device()
    versions = {name: _version(name) for name in VERSIONED}
    return Runtime(mode, reasons, device, is_colab(), gpu_name, total, free, versions, steps_cap())


def report(seed: int | None = 0) -> Runtime:
    """Detect the runtime, seed every random generator (unless ``seed`` is None) and return it.

    The notebooks' second cell is ``voicelab.core.runtime.report()``; its printed form says the
    mode and why, the device and its memory, and the versions that matter.
    """
    if seed is not None:
        seed_everything(seed)
    return detect()


def seed_everything(seed: int = 0) -> None:
    """Seed Python's, NumPy's and torch's random generators."""
    random.seed(seed)
    os.environ["PYTHONHASHSEED"] = str(seed)
    try:
        import numpy as np

        np.random.seed(seed)
    except ImportError:  # pragma: no cover
        pass
    try:
        import torch

        torch.manual_seed(seed)
    except ImportError:  # pragma: no cover
        pass


#: The first cell of every notebook (tests/test_notebooks.py checks they all match).
#: On Colab it installs voicelab from the repository plus two offline speech programs;
#: elsewhere it does nothing (locally, `make lab` has installed everything).
SETUP_CELL = '''\
# Setup. On Colab: install voicelab (about 3 minutes the first time, because pyworld,
# a so-vits-svc-fork dependency, has no wheel for Python 3.13 yet and builds from source).
# Colab's own torch, torchaudio and numpy are kept. Locally (after `make lab`): nothing to do.
import os, subprocess, sys
if "google.colab" in sys.modules and subprocess.run(["pip", "show", "-q", "voicelab"]).returncode:
    repo = os.environ.get("VOICELAB_REPO", "https://github.com/voicelab-course/voicelab")
    subprocess.run("apt-get update -qq && apt-get install -y -qq espeak-ng flite ffmpeg > /dev/null",
                   shell=True, check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", f"voicelab @ git+{repo}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "resemblyzer"], check=True)'''


# ---------------------------------------------------------------------------- quiet


_NOISY = ("so_vits_svc_fork", "lightning", "lightning.pytorch", "lightning_fabric",
          "transformers", "py.warnings", "numba", "matplotlib")


@contextlib.contextmanager
def quiet(logs: bool = True):
    """Switch off progress bars and (with ``logs``, the default) INFO logs and warnings in the block.

    Progress bars: transformers' and huggingface_hub's (a stand-in's "Writing shards", a
    model's "Loading weights"); voicelab's own tqdm bars stay. Logs: importing so_vits_svc_fork
    configures the root logger at INFO and routes warnings to it; with ``logs`` only errors
    get through from it, Lightning and transformers, and warnings are ignored. Everything is
    restored after. ``logs=False`` (:mod:`voicelab.core.hub`) leaves logs and warnings alone.
    """
    import logging
    import warnings

    restore = []
    try:
        from transformers.utils import logging as tf_logging
    except ImportError:  # pragma: no cover - transformers is a dependency
        tf_logging = None
    if tf_logging is not None and tf_logging.is_progress_bar_enabled():
        tf_logging.disable_progress_bar()
        restore.append(tf_logging.enable_progress_bar)
    try:
        import huggingface_hub.utils as hf_utils
    except ImportError:  # pragma: no cover - huggingface_hub is a dependency
        hf_utils = None
    if hf_utils is not None and not hf_utils.are_progress_bars_disabled():
        hf_utils.disable_progress_bars()
        restore.append(hf_utils.enable_progress_bars)
    loggers = [logging.getLogger()] + [logging.getLogger(n) for n in _NOISY] if logs else []
    levels = [lg.level for lg in loggers]
    for lg in loggers:
        lg.setLevel(logging.ERROR)
    try:
        with warnings.catch_warnings():
            if logs:
                warnings.simplefilter("ignore")
            yield
    finally:
        for lg, level in zip(loggers, levels):
            lg.setLevel(level)
        for undo in restore:
            undo()

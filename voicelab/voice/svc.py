"""Train and use a so-vits-svc voice model with so-vits-svc-fork. Introduced in notebook 09.

The steps are so-vits-svc-fork's own, called from Python instead of ``!svc`` lines, in the
order its users know them:

====================  =====================================================================
``svc pre-resample``  :func:`prepare` step 1: trim, normalise and resample to 44.1 kHz
``svc pre-config``    :func:`prepare` step 2: train/val/test file lists and ``config.json``
``svc pre-hubert``    :func:`prepare` step 3: ContentVec features, F0 and spectrograms
``svc train``         :func:`train`: the VITS generator and discriminator (resumes by default)
``svc infer``         :func:`convert`: speech in, the trained voice out
====================  =====================================================================

A run folder holds everything, laid out like so-vits-svc-fork's defaults, so ``svc`` commands
work on it too::

    RUN/dataset_raw/{spk}/*.wav     copies of the input clips (inputs are never touched)
    RUN/dataset/44k/{spk}/*.wav     after pre-resample, plus *.data.pt after pre-hubert
    RUN/filelists/44k/*.txt         train/val/test lists
    RUN/configs/44k/config.json     the config (QUICK: shrunk)
    RUN/logs/44k/                   G_*.pth, D_*.pth, config.json, lightning_logs/ (TensorBoard)

On Colab, put ``RUN`` on Google Drive: notebooks 08-11 use the workspace's
``runs/{speaker}`` (:mod:`voicelab.voice.workspace`, on Drive on Colab). Checkpoints land
there, and after a disconnect the same call resumes from the newest one.

QUICK mode (no GPU, CI) trains the real so-vits-svc-fork model with a shrunk config for a
few steps, on a tiny randomly initialised ContentVec-shaped stand-in. It proves the code
path works; the result does not sound like anyone. FULL mode uses the real ContentVec
(``lengyue233/content-vec-best``) and the pretrained G_0/D_0, all through :mod:`voicelab.core.hub`.
"""
from __future__ import annotations

import contextlib
import io
import json
import math
import os
import re
import shutil
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core import files, hub, runtime
from ..core.errors import (
    CheckpointWarning, DatasetError, MissingFileError, ModelFileError, TrainError, TrainWarning,
    UnknownSpeakerError,
)
from .dataset import check_trainable   # the data set rules (notebook 08)
from ..core.torchutil import seeded

__all__ = [
    "TrainResult", "TrainError", "DatasetError", "CONTENTVEC", "PRETRAINED_G", "PRETRAINED_D",
    "F0_METHODS", "BATCH_TABLE", "steps_per_epoch", "epochs_for_steps", "batch_size_for_memory",
    "auto_batch_size", "quick_config", "prepare", "train", "convert", "find_model",
    "checkpoints", "latest_checkpoint", "prune_checkpoints", "set_aside_damaged", "CheckpointWarning", "misfit", "saving_atomically", "read_losses", "train_cluster",
    "load_cluster", "EXPORTED_WEIGHTS", "EXAMPLE_MODEL", "EXAMPLE_ASSET", "write_tiny_model",
    "hub_model",
    "example_run", "RunLayout", "run_layout", "contentvec_model",
    "using_contentvec", "TrainWarning", "FULL_MINUTES", "PRECISIONS", "precision_for",
]

SR = 44100
HOLD_OUT = 4  # pre-config keeps 2 clips for validation and 2 for test
F0_METHODS = ("dio", "harvest", "parselmouth", "crepe", "crepe-tiny")
_CKPT = re.compile(r"([GD])_(\d+)\.pth")
#: The generator's weights in an exported model folder (notebook 11), next to config.json.
EXPORTED_WEIGHTS = "model.safetensors"


# ---------------------------------------------------------------------------- assets


def _write_contentvec_stand_in(folder: Path) -> None:
    """A tiny random model shaped like ContentVec (768-dim output, a 256-dim final_proj), in the
    repository's own files: ``config.json`` and ``pytorch_model.bin`` (a zip ``torch.save``)."""
    from transformers import HubertConfig
    from so_vits_svc_fork.utils import HubertModelWithFinalProj

    config = HubertConfig(hidden_size=768, num_hidden_layers=1, num_attention_heads=12,
                          intermediate_size=256, conv_dim=(32,) * 7, num_conv_pos_embeddings=16,
                          num_conv_pos_embedding_groups=16, classifier_proj_size=256)
    with seeded(0):
        model = HubertModelWithFinalProj(config)
    model.config.architectures = [type(model).__name__]
    model.config.save_pretrained(folder)               # config.json, with the architecture
    _save_contentvec_weights(model, Path(folder) / "pytorch_model.bin")


def _save_contentvec_weights(model, path: Path) -> None:
    """``model``'s state dict as the published ``pytorch_model.bin``: a zip ``torch.save`` with the
    2022 file's weight-norm names (``weight_g``/``weight_v``). transformers 5 saves only
    safetensors, so the stand-ins (tiny and full-size) write this file themselves."""
    import torch

    state = {}
    for key, value in model.state_dict().items():
        key = key.replace("parametrizations.weight.original0", "weight_g")
        key = key.replace("parametrizations.weight.original1", "weight_v")
        state[key] = value.contiguous()
    torch.save(state, path)


# Full-size stand-ins for the FULL rehearsal (voicelab.voice.rehearsal, whose docstring says what
# is the same as the real files and what is not): the real architectures at full size, random
# weights from torch's generator, which hub.install_stand_in seeds.


def _contentvec_hparams() -> dict:
    from transformers import HubertConfig

    config = HubertConfig(classifier_proj_size=256)   # HuBERT base: 12 x 768, 3072, conv 512 x 7
    out = config.to_dict()
    out["architectures"] = ["HubertModelWithFinalProj"]
    return out


def _write_contentvec_full(folder: Path) -> None:
    """``lengyue233/content-vec-best`` at full size: ``config.json`` + ``pytorch_model.bin``."""
    from so_vits_svc_fork.utils import HubertModelWithFinalProj
    from transformers import HubertConfig

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hparams = _contentvec_hparams()
    files.write_json(folder / "config.json", hparams)
    model = HubertModelWithFinalProj(HubertConfig(**{
        k: v for k, v in hparams.items() if k != "architectures"}))
    _save_contentvec_weights(model, folder / "pytorch_model.bin")


def _template_config(spk: dict) -> dict:
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    config = _read_json(CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json")
    config["spk"] = dict(spk)
    return config


def _write_full_checkpoint(path: Path, kind: str, iteration: int = 1) -> None:
    """A full-size 4.0v1 ``G``/``D`` training checkpoint as ``save_checkpoint`` writes it, with
    random AdamW moments."""
    import torch
    from so_vits_svc_fork.modules.descriminators import MultiPeriodDiscriminator
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn

    config = _template_config({})
    if kind == "G":
        net = SynthesizerTrn(config["data"]["filter_length"] // 2 + 1,
                             config["train"]["segment_size"] // config["data"]["hop_length"],
                             **config["model"])
    else:
        net = MultiPeriodDiscriminator(config["model"]["use_spectral_norm"])
    train = config["train"]
    optimizer = torch.optim.AdamW(net.parameters(), train["learning_rate"],
                                  betas=train["betas"], eps=train["eps"])
    state = {}
    for i, p in enumerate(net.parameters()):
        state[i] = {"step": torch.tensor(float(iteration)),
                    "exp_avg": torch.randn_like(p) * 1e-4,
                    "exp_avg_sq": torch.rand_like(p) * 1e-8}
    saved = optimizer.state_dict()
    saved["state"] = state
    torch.save({"model": net.state_dict(), "iteration": iteration, "optimizer": saved,
                "learning_rate": train["learning_rate"]}, path)


#: ContentVec, the speech-content encoder so-vits-svc-fork loads (768-dim features):
#: ``config.json`` + ``pytorch_model.bin`` of ``lengyue233/content-vec-best`` (manifest entry
#: "contentvec"); transformers opens the ``.bin`` weights-only.
CONTENTVEC = hub.asset("contentvec", stand_in=_write_contentvec_stand_in,
                       full_stand_in=_write_contentvec_full)
CONTENTVEC_ID = CONTENTVEC.repo_id
#: The pretrained generator and discriminator so-vits-svc-fork's 4.0v1 template starts from
#: (its ``model.pretrained`` URLs), stored as ``G_0.pth`` / ``D_0.pth``.
PRETRAINED_G = hub.asset("so-vits-svc-G0",
                         full_stand_in=lambda path: _write_full_checkpoint(path, "G"))
PRETRAINED_D = hub.asset("so-vits-svc-D0",
                         full_stand_in=lambda path: _write_full_checkpoint(path, "D"))


def contentvec_model(device="cpu", final_proj: bool = True):
    """ContentVec from :data:`CONTENTVEC` (offline: its stand-in), ready for inference on ``device``.

    so-vits-svc-fork's ``utils.get_hubert_model`` with a path instead of its hard-coded Hub id
    ``lengyue233/content-vec-best``: ``final_proj`` adds the 256-dim projection legacy
    configs use, and the weight norms are removed as there.
    """
    import torch
    from so_vits_svc_fork.utils import HubertModelWithFinalProj, remove_weight_norm_if_exists
    from transformers import HubertModel

    with runtime.quiet():
        source = hub.fetch(CONTENTVEC)
        model = (HubertModelWithFinalProj if final_proj else HubertModel).from_pretrained(source)
    for m in model.modules():
        if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)):
            remove_weight_norm_if_exists(m)
    return model.to(device)


_SWAP_LOCK = threading.RLock()


@contextlib.contextmanager
def _swapping(module, name: str, replacement):
    """Inside the block ``module.name`` is ``replacement``; the original comes back after it.

    so-vits-svc-fork looks its helpers up on its modules when it calls them, so a swap there
    changes what it calls without editing it. One re-entrant lock for every swap: two threads
    (the app's) never swap at once, and swaps nest. Yields the original.
    """
    with _SWAP_LOCK:
        original = getattr(module, name)
        setattr(module, name, replacement)
        try:
            yield original
        finally:
            setattr(module, name, original)


@contextlib.contextmanager
def using_contentvec():
    """Inside the block, so-vits-svc-fork loads ContentVec with :func:`contentvec_model`.

    so-vits-svc-fork's pre-hubert and ``Svc`` call ``utils.get_hubert_model``, which reads
    ``lengyue233/content-vec-best`` from the Hub (or from a folder of that name in the working
    directory) and takes no path. This block swaps that one function for :func:`contentvec_model`,
    so the model is the one :func:`voicelab.core.hub.fetch` chose, nothing is downloaded, and
    relative paths keep meaning what they meant (the working directory is never changed).
    Yields the model's folder.
    """
    from so_vits_svc_fork import utils as svc_utils

    with _SWAP_LOCK:
        source = hub.fetch(CONTENTVEC)
        with _swapping(svc_utils, "get_hubert_model", contentvec_model):
            yield source


# ---------------------------------------------------------------------------- arithmetic


def steps_per_epoch(n_clips: int, batch_size: int) -> int:
    """Training steps (batches) in one epoch: ``ceil(n_clips / batch_size)``.

    Introduced in notebook 09. The tutorial's example: 200 clips, batch size 20 -> 10 steps.
    so-vits-svc-fork keeps the last, smaller batch, hence the ceiling.
    """
    if n_clips < 1 or batch_size < 1:
        raise ValueError(f"n_clips ({n_clips}) and batch_size ({batch_size}) must be at least 1.")
    return math.ceil(n_clips / batch_size)


def epochs_for_steps(target_steps: int, n_clips: int, batch_size: int) -> int:
    """Epochs needed to reach at least ``target_steps`` steps (the config's ``epochs``).

    Introduced in notebook 09. The tutorial's example: 20000 steps at 10 steps per epoch
    -> 2000 epochs.
    """
    if target_steps < 1:
        raise ValueError(f"target_steps must be at least 1, got {target_steps}.")
    return math.ceil(target_steps / steps_per_epoch(n_clips, batch_size))


#: (minimum total GPU memory in GiB, batch size) for the FULL 4.0v1 config, first match wins.
#: An estimate with headroom (about 0.75 GiB per clip of batch plus 2 GiB for the models and
#: CUDA). Measured on an H200 (benchmarks/svc_gpu.py): 0.56 GiB per clip in fp32, 0.46 in mixed
#: precision, plus 1.5 GiB; under a T4's 14.2 GiB, batch 16 fits in fp32 and 24 in fp16. Out of
#: memory anyway (another card, cuDNN's choices), :func:`train` halves the batch and carries on.
BATCH_TABLE: tuple[tuple[float, int], ...] = (
    (38.0, 32),  # A100 40/80 GB, H100
    (20.0, 16),  # L4, A10G, RTX 3090/4090 (22-24 GiB)
    (14.0, 12),  # T4 and V100 16 GB (Colab's free GPU shows ~14.7 GiB)
    (10.0, 8),   # RTX 3080/4070 (10-12 GiB)
    (7.0, 4),    # 8 GB cards
    (5.0, 2),    # 6 GB cards
    (0.0, 1),
)


def batch_size_for_memory(total_gib: float) -> int:
    """Batch size for a GPU with ``total_gib`` GiB of memory, from :data:`BATCH_TABLE`.

    Introduced in notebook 09.
    """
    if not total_gib >= 0:
        raise ValueError(f"total_gib must be a number >= 0, got {total_gib!r}.")
    return next(batch for least, batch in BATCH_TABLE if total_gib >= least)


def auto_batch_size() -> int:
    """Batch size for this machine: 2 in QUICK mode or without a GPU, else from GPU memory.

    Introduced in notebook 09.
    """
    import torch

    if runtime.pick_device() == "cpu":
        return 2
    _, total = torch.cuda.mem_get_info(0)
    return batch_size_for_memory(total / 2**30)


# ---------------------------------------------------------------------------- config


def quick_config(config: dict) -> dict:
    """A copy of a so-vits-svc-fork config shrunk to train in seconds on a CPU.

    Introduced in notebook 09. Fewer channels and layers in the generator, one resblock, a
    shorter training segment (5120 samples = 10 frames) and batch 2. The sampling rate, hop
    (512) and upsampling (8*8*2*2*2 = 512) stay, so the data and the code path are the
    real ones; the discriminator has no size settings (46.7 M parameters whatever we do).
    """
    c = json.loads(json.dumps(config))
    c["model"].update({
        "inter_channels": 16, "hidden_channels": 16, "filter_channels": 32, "n_heads": 2,
        "n_layers": 1, "n_layers_q": 1, "resblock_kernel_sizes": [3],
        "resblock_dilation_sizes": [[1, 3, 5]], "upsample_initial_channel": 32,
        "gin_channels": 16,
    })
    c["train"].update({"batch_size": 2, "segment_size": 5120, "num_workers": 1,
                       "log_interval": 10**9})
    return c


def _tune_config(config: dict, *, batch_size: int, epochs: int, keep: int) -> dict:
    c = json.loads(json.dumps(config))
    c["train"].update({"batch_size": batch_size, "epochs": epochs, "keep_ckpts": keep})
    # voicelab puts G_0/D_0 in place through voicelab.core.hub; "none" stops so-vits-svc-fork's
    # own downloader (an unknown name makes it skip the download with a warning).
    c["model"]["pretrained"] = "none"
    return c


def _read_json(path: Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def _write_json(path: Path, data: dict) -> Path:
    return files.write_json(path, data)


# ---------------------------------------------------------------------------- data set


def _fingerprint(files: list[Path]) -> list[list]:
    """Name, size and SHA-256 of each clip: the same clips re-made or copied (new mtimes) match."""
    return [[p.name, p.stat().st_size, hub.sha256sum(p)] for p in files]


@dataclass(frozen=True)
class RunLayout:
    """Where a run folder keeps each step's files (so-vits-svc-fork's layout, see the module doc)."""

    raw: Path       # dataset_raw/: copies of the input clips, one folder per speaker
    data: Path      # dataset/44k/: resampled clips and their *.data.pt features
    lists: Path     # filelists/44k/: train.txt, val.txt, test.txt
    config: Path    # configs/44k/config.json
    model: Path     # logs/44k/: G_*.pth, D_*.pth, config.json, lightning_logs/
    stamp: Path     # prepared.json: what prepare() last prepared


def run_layout(run_dir) -> RunLayout:
    """The paths inside run folder ``run_dir``. Introduced in notebook 09."""
    run_dir = Path(run_dir)
    return RunLayout(
        raw=run_dir / "dataset_raw", data=run_dir / "dataset" / "44k",
        lists=run_dir / "filelists" / "44k", config=run_dir / "configs" / "44k" / "config.json",
        model=run_dir / "logs" / "44k", stamp=run_dir / "prepared.json",
    )


def prepare(dataset_dir, run_dir, speaker: str, *, f0_method: str = "dio",
            quick: bool | None = None) -> Path:
    """Run pre-resample, pre-config and pre-hubert for ``dataset_dir/speaker``; return config.json.

    Introduced in notebook 09. The clips are copied into ``run_dir/dataset_raw/{speaker}``
    (the input folder is never modified), then so-vits-svc-fork's own functions run.
    ``quick`` (default: QUICK mode) writes the shrunk config of :func:`quick_config`.
    A second call with the same clips (by content: copies with new dates count as the same)
    reuses the prepared data (it only rewrites the config). The run folder is self-contained:
    when ``dataset_dir/speaker`` is gone (a new Colab machine, the run folder on Drive) the
    run's own copy of the clips is used, so a resume needs nothing but the run folder.
    """
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import preprocess_config
    from so_vits_svc_fork.preprocessing.preprocess_hubert_f0 import preprocess_hubert_f0
    from so_vits_svc_fork.preprocessing.preprocess_resample import preprocess_resample

    if f0_method not in F0_METHODS:
        raise ValueError(f"f0_method={f0_method!r}; choose one of {', '.join(F0_METHODS)}.")
    quick = runtime.is_quick() if quick is None else quick
    dataset_dir, run_dir = Path(dataset_dir).absolute(), Path(run_dir).absolute()
    paths = run_layout(run_dir)
    own_copy = not (dataset_dir / speaker).is_dir() and (paths.raw / speaker).is_dir()
    source = paths.raw if own_copy else dataset_dir
    clips = check_trainable(source, speaker)   # refuses what cannot train, saying why
    stamp = {"speaker": speaker, "files": _fingerprint(clips), "f0_method": f0_method}
    done = paths.stamp.is_file() and _read_json(paths.stamp) == stamp
    if not done:
        for folder in (paths.data, paths.lists) if own_copy else (paths.raw, paths.data, paths.lists):
            shutil.rmtree(folder, ignore_errors=True)
        if not own_copy:
            raw = paths.raw / speaker
            raw.mkdir(parents=True)
            for p in clips:
                shutil.copy2(p, raw / p.name)
        # `svc pre-resample`, with its CLI's silence settings; one job: on 2 cores the
        # default (all cores, separate processes) is about 6x slower.
        with runtime.quiet():
            preprocess_resample(paths.raw, paths.data, SR, n_jobs=1, top_db=30,
                                frame_seconds=1.0, hop_seconds=0.3)
        kept = sorted((paths.data / speaker).glob("*.wav"))
        if len(kept) < HOLD_OUT + 1:
            raise DatasetError(
                f"After trimming silence only {len(kept)} of the {len(clips)} clips in "
                f"{dataset_dir / speaker} are at least 0.3 s long; so-vits-svc needs "
                f"{HOLD_OUT + 1}. Check that the clips contain speech and are not silent.")
    # `svc pre-config`: file lists and the config from the 4.0v1 template
    with runtime.quiet(), contextlib.redirect_stderr(io.StringIO()):  # its bar only counts files
        preprocess_config(paths.data, paths.lists / "train.txt", paths.lists / "val.txt",
                          paths.lists / "test.txt", paths.config, "so-vits-svc-4.0v1")
    config = _read_json(paths.config)
    if quick:
        config = quick_config(config)
    config["model"]["pretrained"] = "none"
    _write_json(paths.config, config)
    if not done:
        # `svc pre-hubert`: ContentVec features, F0 and spectrograms into *.data.pt (one job:
        # it runs in this process, where using_contentvec applies)
        with runtime.quiet(), using_contentvec():
            preprocess_hubert_f0(paths.data, paths.config, n_jobs=1, f0_method=f0_method,
                                 force_rebuild=True)
        _write_json(paths.stamp, stamp)
    return paths.config


# ---------------------------------------------------------------------------- checkpoints


def checkpoints(folder, kind: str = "G") -> list[Path]:
    """``{kind}_N.pth`` files in ``folder``, oldest (smallest N) first. Introduced in notebook 09."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(2)), p) for p in folder.iterdir()
             if (m := _CKPT.fullmatch(p.name)) and m.group(1) == kind and p.is_file()]
    return [p for _, p in sorted(found)]


def latest_checkpoint(folder, kind: str = "G") -> Path | None:
    """The newest ``G_N.pth`` (largest N) in ``folder``, or None. Introduced in notebook 09."""
    found = checkpoints(folder, kind)
    return found[-1] if found else None


def _readable(path: Path) -> bool:
    """True when ``path`` is a whole torch checkpoint: a zip file whose every member checks out.

    A save cut short (a kill or a Colab disconnect while the file is written) leaves a file
    without the zip's closing directory, or with a member whose CRC fails.
    """
    import zipfile

    try:
        with zipfile.ZipFile(path) as z:
            return z.testzip() is None
    except (OSError, zipfile.BadZipFile, EOFError, ValueError):
        return False


SET_ASIDE = "set-aside"


def set_aside_damaged(folder) -> list[Path]:
    """Move the newest checkpoints that cannot be resumed from into ``folder/set-aside/``.

    Introduced in notebook 09. so-vits-svc-fork resumes from the newest ``G_N.pth`` and the
    newest ``D_N.pth``; if either was cut short it stops with "Failed to load checkpoint". This
    walks down from the newest step: a step whose G_ and D_ are both present and readable is
    kept and ends the walk; a step with a damaged or missing half is moved (never deleted) to
    ``set-aside/``, so training resumes from the newest whole pair. Returns the moved files'
    new paths. ``G_0.pth``/``D_0.pth`` (the pretrained start) are checked like any other.
    """
    folder = Path(folder)
    steps = sorted({int(m.group(2)) for p in folder.iterdir() if (m := _CKPT.fullmatch(p.name))},
                   reverse=True) if folder.is_dir() else []
    moved = []
    for n in steps:
        pair = [folder / f"{kind}_{n}.pth" for kind in ("G", "D")]
        if all(p.is_file() and _readable(p) for p in pair):
            break
        aside = folder / SET_ASIDE
        aside.mkdir(exist_ok=True)
        for p in pair:
            if p.exists():
                dest = aside / p.name
                k = 1
                while dest.exists():   # an earlier recovery set aside the same name
                    dest, k = aside / f"{p.stem}.{k}{p.suffix}", k + 1
                p.rename(dest)
                moved.append(dest)
    return moved


def prune_checkpoints(folder, keep: int = 2) -> list[Path]:
    """Delete all but the newest ``keep`` G_ and D_ checkpoints; return what was deleted.

    Introduced in notebook 09. ``G_0.pth``/``D_0.pth`` (the pretrained start) are kept.
    Each D_ file of the full model is ~560 MB, so on Google Drive this matters: a deleted file
    goes to Drive's bin and still counts against the quota for 30 days, so each file is emptied
    first and only an empty file reaches the bin (so-vits-svc-fork's own pruning does the same
    on Colab).
    """
    if keep < 1:
        raise ValueError(f"keep must be at least 1, got {keep}.")
    deleted = []
    for kind in ("G", "D"):
        old = [p for p in checkpoints(folder, kind) if p.name != f"{kind}_0.pth"][:-keep]
        for p in old:
            os.truncate(p, 0)
            p.unlink()
            deleted.append(p)
    return deleted


def _save_checkpoint(model, optimizer, learning_rate: float, iteration: int, checkpoint_path) -> None:
    """so-vits-svc-fork's ``utils.save_checkpoint``, the same file written all or nothing."""
    module = model.module if hasattr(model, "module") else model
    files.torch_save({"model": module.state_dict(), "iteration": iteration,
                      "optimizer": optimizer.state_dict(), "learning_rate": learning_rate},
                     checkpoint_path)


@contextlib.contextmanager
def saving_atomically():
    """Inside the block, so-vits-svc-fork writes each checkpoint to a temporary file and renames
    it onto ``G_N.pth``/``D_N.pth`` when it is whole (:func:`voicelab.core.files.torch_save`).

    Its own ``save_checkpoint`` writes straight into the final name, so a kill or a Colab
    disconnect during the ~1 GB write leaves a cut-short newest checkpoint. The swap is undone
    after the block.
    """
    from so_vits_svc_fork import utils as svc_utils

    with _swapping(svc_utils, "save_checkpoint", _save_checkpoint):
        yield


def _place_pretrained(model_dir: Path) -> None:
    """FULL mode: G_0/D_0 from voicelab.core.hub, re-saved as weights-only dicts at iteration 0.

    When they are stand-ins (a rehearsal, :mod:`voicelab.voice.rehearsal`), ``model_dir`` is
    labelled too, so every checkpoint trained from them is a stand-in for
    :func:`voicelab.core.hub.is_stand_in`: random weights fine-tuned are still not a voice.
    """
    for asset, name in ((PRETRAINED_G, "G_0.pth"), (PRETRAINED_D, "D_0.pth")):
        dest = model_dir / name
        if dest.exists():
            continue
        source = hub.fetch(asset)
        if hub.is_stand_in(source) and not (model_dir / hub.STAND_IN_MARKER).exists():
            files.write_json(model_dir / hub.STAND_IN_MARKER, {
                "note": f"trained from stand-ins of {PRETRAINED_G.source} and "
                        f"{PRETRAINED_D.source} (random weights), not the real pretrained model"})
        ckpt = hub.load_weights(source)
        state = ckpt.get("model", ckpt)
        files.torch_save({"model": state, "iteration": 0, "optimizer": None,
                          "learning_rate": 1e-4}, dest)


# ---------------------------------------------------------------------------- training


#: FULL mode's time budget for one :func:`train` call when neither ``steps`` nor ``minutes`` is
#: given, in minutes. A free Colab session ends after at most 12 h, earlier when usage limits hit
#: (not published; often a few GPU hours a day) and after about 90 min without interaction with
#: the browser tab. 80 min of training (from the call, preparing included) plus the setup cell,
#: the ~1 GB G_0/D_0 download and the last checkpoint's save fits inside that 90 min, so a
#: student who starts the notebook and walks away still gets a saved model; the next call
#: (a new session) resumes and trains another 80 min.
FULL_MINUTES = 80.0
#: Lightning's precision names :func:`train` accepts.
PRECISIONS = ("32", "16-mixed", "bf16-mixed")
_WARMUP = 2            # steps not timed: CUDA and data loader start-up, cuDNN autotuning
_MOST_EPOCHS = 10000   # so-vits-svc-fork's template value: the cap when only minutes is given


def precision_for(device) -> str:
    """Lightning precision for training on ``device``: one of :data:`PRECISIONS`.

    Introduced in notebook 09. ``device`` is a name ("cpu", "cuda", "cuda:0", "mps") or a CUDA
    compute capability ``(major, minor)``. "bf16-mixed" from capability 8.0 (A100, L4, H100),
    "16-mixed" on 7.x (T4, V100: fp16 tensor cores, no bf16), "32" elsewhere (CPU, older GPUs).
    """
    if isinstance(device, str):
        if not device.startswith("cuda"):
            return "32"
        import torch

        device = torch.cuda.get_device_capability(device)
    major = int(device[0])
    return "bf16-mixed" if major >= 8 else "16-mixed" if major >= 7 else "32"


@dataclass
class TrainResult:
    """What :func:`train` did. Introduced in notebook 09.

    ``steps`` counts batches trained in total (this call and earlier ones, at this call's batch
    size), ``seconds`` is this call's wall time, ``model_path`` the newest ``G_*.pth``.
    """

    run_dir: Path
    config_path: Path
    model_path: Path | None
    steps: int
    seconds: float
    epochs: int = 0
    batch_size: int = 0
    steps_per_epoch: int = 0
    log_dir: Path | None = None
    set_aside: list[Path] = field(default_factory=list)   #: damaged checkpoints moved aside
    resumed_from: Path | None = None   #: the G_ checkpoint training continued from (None: the start)
    minutes: float | None = None       #: the time budget of this call (None: steps only)
    steps_per_second: float | None = None   #: measured after the warm-up steps (None: too few)
    precision: str = "32"              #: Lightning precision trained with
    scratch: Path | None = None        #: where the features were read from, if not the run folder


def budget_steps(done: int, rate: float, seconds_left: float, steps_per_epoch: int,
                 most: int) -> int:
    """The step target a time budget allows: whole epochs (checkpoints are saved per epoch).

    ``done`` steps so far, ``rate`` in steps/s, ``seconds_left`` of the budget (may be < 0).
    At least the epoch in progress is finished, and the target never passes ``most`` steps.
    """
    reach = done + max(seconds_left, 0.0) * rate
    epochs = max(math.floor(reach / steps_per_epoch), math.ceil(done / steps_per_epoch))
    return min(epochs * steps_per_epoch, most)


def _progress_callback(total: int, done: int, steps_per_epoch: int = 1,
                       deadline: float | None = None, clock=time.perf_counter):
    """A Lightning callback: one tqdm bar, the measured speed and, with a deadline, the budget."""
    import lightning.pytorch as pl
    from tqdm.std import tqdm   # a text bar: it renders on GitHub too

    class Progress(pl.Callback):
        """One tqdm bar over the target steps, with the generator and discriminator losses.

        After :data:`_WARMUP` steps it measures steps/s; with a ``deadline`` (a ``clock()``
        time) it sets the target (the bar's total, so tqdm's ETA is the budget's end) with
        :func:`budget_steps` and stops at the end of the epoch that reaches it.
        """

        rate: float | None = None
        target = total

        def on_train_start(self, trainer, pl_module):
            self.bar = tqdm(total=total, initial=min(done, total), desc="training", unit="step")
            self.steps, self.timed = done, None

        def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
            m = trainer.callback_metrics
            loss = {k.split("/")[1]: float(m[k]) for k in ("loss/g/total", "loss/d/total") if k in m}
            self.bar.set_postfix({f"loss_{k}": f"{v:.2f}" for k, v in loss.items()}, refresh=False)
            self.steps += 1
            now = clock()
            if self.steps - done == _WARMUP:
                self.timed = (now, self.steps)
            elif self.timed and now > self.timed[0]:
                self.rate = (self.steps - self.timed[1]) / (now - self.timed[0])
            if deadline is not None and (self.rate or now >= deadline):
                self.target = budget_steps(self.steps, self.rate or 0.0, deadline - now,
                                           steps_per_epoch, total)
                self.bar.total = self.target
            self.bar.update(1)

        def on_train_epoch_end(self, trainer, pl_module):
            if self.steps >= self.target:
                trainer.should_stop = True   # so-vits-svc-fork saves G_/D_ in on_train_end

        def on_train_end(self, trainer, pl_module):
            self.bar.close()

        def on_exception(self, trainer, pl_module, exception):
            # e.g. out of memory: train() retries with a smaller batch and a new bar
            if hasattr(self, "bar"):
                self.bar.close()

    return Progress()


def _is_out_of_memory(error: BaseException) -> bool:
    import torch

    return isinstance(error, torch.cuda.OutOfMemoryError) or (
        isinstance(error, RuntimeError) and "out of memory" in str(error))


def _free_memory() -> None:
    import gc

    import torch

    gc.collect()
    torch.cuda.empty_cache()   # does nothing where CUDA was never used


def _fit_halving(fit, batch_size: int, where: Path):
    """``fit(batch_size)``, again with half the batch after each out-of-memory error.

    Returns ``(fit's value, the batch size that fitted)``. Each halving warns with a
    :class:`TrainWarning`; out of memory at batch size 1 raises :class:`TrainError`.
    """
    while True:
        try:
            return fit(batch_size), batch_size
        except Exception as e:   # noqa: BLE001 - only out-of-memory is handled, the rest re-raised
            if not _is_out_of_memory(e):
                raise
            if batch_size <= 1:
                raise TrainError(f"Out of GPU memory at batch size 1 while training {where}: free "
                                 "the GPU (restart the runtime) or use a GPU with more memory.") from e
        _free_memory()   # after the except block, when the error's frames are released
        smaller = max(1, batch_size // 2)
        warnings.warn(f"Out of GPU memory at batch size {batch_size}: training {where} carries on "
                      f"from its newest checkpoint with batch size {smaller}.", TrainWarning,
                      stacklevel=3)
        batch_size = smaller


def _stamp(p: Path) -> tuple[int, int]:
    st = p.stat()
    return st.st_size, int(st.st_mtime)


def _to_scratch(paths: RunLayout, scratch: Path) -> tuple[Path, Path]:
    """Copy the run's prepared clips and features into ``scratch``; return train/val lists there.

    A file is copied when its copy is missing or differs in size or modification time (whole
    seconds: a re-prepared feature file can keep its size). The lists are ``scratch/filelists/
    44k/{train,val}.txt`` naming the copies; the run folder's own files are not changed.
    """
    data = scratch / "dataset" / "44k"
    for src in sorted(paths.data.rglob("*")):
        if src.is_file() and (src.suffix == ".wav" or src.name.endswith(".data.pt")):
            dest = data / src.relative_to(paths.data)
            if not dest.is_file() or _stamp(dest) != _stamp(src):
                dest.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dest)
    lists = []
    for name in ("train.txt", "val.txt"):
        lines = [ln for ln in (paths.lists / name).read_text("utf-8").splitlines() if ln.strip()]
        moved = [str(data / Path(ln).relative_to(paths.data)) for ln in lines]
        lists.append(files.write_text(scratch / "filelists" / "44k" / name, "\n".join(moved) + "\n"))
    return lists[0], lists[1]


def _plot_to_numpy(draw) -> np.ndarray:
    """An ``(H, W, 4)`` uint8 RGBA image of a 10 x 2 inch figure that ``draw(fig, ax)`` fills."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(10, 2))
    canvas = FigureCanvasAgg(fig)
    ax = fig.subplots()
    draw(fig, ax)
    fig.tight_layout()
    canvas.draw()
    buffer = canvas.buffer_rgba()
    return np.frombuffer(buffer, dtype=np.uint8).reshape(buffer.shape).copy()


def _plot_spectrogram_to_numpy(spectrogram: np.ndarray) -> np.ndarray:
    """so-vits-svc-fork's ``utils.plot_spectrogram_to_numpy`` without ``np.fromstring`` or pyplot."""
    def draw(fig, ax):
        im = ax.imshow(spectrogram, aspect="auto", origin="lower", interpolation="none")
        fig.colorbar(im, ax=ax)
        ax.set_xlabel("Frames")
        ax.set_ylabel("Channels")

    return _plot_to_numpy(draw)


def _plot_data_to_numpy(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """so-vits-svc-fork's ``utils.plot_data_to_numpy`` without ``np.fromstring`` or pyplot."""
    return _plot_to_numpy(lambda fig, ax: (ax.plot(x), ax.plot(y)))


#: The generator's speaker table (one embedding per speaker of the config's "spk").
_SPEAKER_TABLE = "emb_g."


@contextlib.contextmanager
def _training_swaps(unfit: list[str], ignore: tuple[str, ...] = ()):
    """so-vits-svc-fork's helpers swapped for the length of a training run.

    Checkpoints saved all or nothing (:func:`saving_atomically`); ``safe_load`` first adds to
    ``unfit`` how each checkpoint misfits its module (:func:`misfit`), without reading the
    ~1 GB pair a second time; its image logging without ``np.fromstring`` (deprecated in
    numpy 2.0-2.2, an error from 2.3) and without switching a notebook's matplotlib backend
    to Agg; ``torch.stft``, which its bf16 set-up replaces for good, put back afterwards.
    Keys starting with an ``ignore`` prefix are not counted as misfits.
    """
    import torch
    from so_vits_svc_fork import utils as svc_utils

    original = svc_utils.safe_load

    def safe_load(module, state_dict):
        if isinstance(module, torch.nn.Module):
            unfit.extend(f"{type(module).__name__} {p}" for p in misfit(state_dict, module, ignore))
        original(module, state_dict)

    with contextlib.ExitStack() as stack:
        stack.enter_context(saving_atomically())
        stack.enter_context(_swapping(svc_utils, "safe_load", safe_load))
        stack.enter_context(_swapping(svc_utils, "plot_spectrogram_to_numpy",
                                      _plot_spectrogram_to_numpy))
        stack.enter_context(_swapping(svc_utils, "plot_data_to_numpy", _plot_data_to_numpy))
        stack.enter_context(_swapping(torch, "stft", torch.stft))
        yield


def train(dataset_dir, run_dir, *, speaker: str, steps: int | None = None,
          minutes: float | None = None, resume: bool = True, batch_size: int | None = None,
          keep: int = 2, f0_method: str = "dio", eval_interval: int | None = None,
          log_interval: int | None = None, precision: str | None = None, scratch=None,
          allow_mismatch: bool = False) -> TrainResult:
    """Prepare (if needed) and train a so-vits-svc model for ``steps`` steps or ``minutes``.

    Introduced in notebook 09. ``steps`` is the total target, as ``epochs = epochs_for_steps(
    steps, clips, batch_size)``. ``minutes`` is this call's time budget (preparing included):
    after :data:`_WARMUP` steps the measured speed turns it into a step target (whole epochs,
    never past ``steps``), shown as the progress bar's total and ETA. Neither given: 12 steps
    in QUICK mode, :data:`FULL_MINUTES` in FULL. Training stops at the end of an epoch and
    saves ``G_{epoch}.pth``/``D_{epoch}.pth``; with ``resume=True`` the next call continues from
    the newest pair in ``run_dir/logs/44k`` (``resume=False`` refuses to overwrite a run).

    ``batch_size`` defaults to :func:`auto_batch_size` and halves after an out-of-memory error
    (a :class:`TrainWarning`; training carries on from the newest checkpoint). ``precision``
    (one of :data:`PRECISIONS`) defaults to :func:`precision_for` the device and is written to
    the config as so-vits-svc-fork's ``fp16_run``/``bf16_run``. ``eval_interval`` and
    ``log_interval`` are in steps: validation (with a checkpoint) and image logging.
    ``scratch`` is a folder on a fast local disk (Colab's VM disk while ``run_dir`` is on
    Drive): the features are copied there and read from there; the run folder's config and
    lists still name its own files. ``keep`` newest G_/D_ pairs are kept. Checkpoints that do
    not fit the config's model raise TrainError unless ``allow_mismatch=True``; a newest
    checkpoint cut short is set aside (see :func:`set_aside_damaged`). Losses go to
    TensorBoard logs in ``run_dir/logs/44k/lightning_logs``.
    """
    import lightning.pytorch as pl
    from lightning.pytorch.loggers import TensorBoardLogger
    from so_vits_svc_fork import utils as svc_utils
    from so_vits_svc_fork.train import VCDataModule, VitsLightning

    start = time.perf_counter()
    quick = runtime.is_quick()
    run_dir = Path(run_dir).absolute()
    paths = run_layout(run_dir)
    model_dir = paths.model
    if minutes is not None and not minutes > 0:
        raise ValueError(f"minutes must be a number > 0, got {minutes!r}.")
    device = runtime.pick_device()
    precision = precision or precision_for(device)
    if precision not in PRECISIONS:
        raise ValueError(f"precision={precision!r}; choose one of {', '.join(PRECISIONS)}.")
    if precision == "16-mixed" and not device.startswith("cuda"):
        raise TrainError(f"precision='16-mixed' needs a CUDA GPU; training {run_dir} runs on "
                         f"{device}: pass precision='32' (or 'bf16-mixed').")
    if not resume and (checkpoints(model_dir, "G") or checkpoints(model_dir, "D")):
        found = [p.name for p in checkpoints(model_dir, "G") + checkpoints(model_dir, "D")
                 if not p.name.endswith("_0.pth")]
        if found:
            raise TrainError(
                f"{model_dir} already holds checkpoints ({', '.join(found[:4])}) and "
                "resume=False. Use a new run folder, delete those files, or pass resume=True "
                "to continue training them.")
    config_path = prepare(dataset_dir, run_dir, speaker, f0_method=f0_method, quick=quick)
    n_train = len([ln for ln in (paths.lists / "train.txt").read_text("utf-8").splitlines()
                   if ln.strip()])
    batch_size = min(batch_size or auto_batch_size(), n_train)
    if steps is None and minutes is None:
        steps, minutes = (12, None) if quick else (None, FULL_MINUTES)
    deadline = start + 60 * minutes if minutes is not None else None
    scratch = Path(scratch).absolute() if scratch is not None else None
    lists = _to_scratch(paths, scratch) if scratch is not None else None

    model_dir.mkdir(parents=True, exist_ok=True)
    set_aside = set_aside_damaged(model_dir)
    if not quick:
        _place_pretrained(model_dir)
    latest = resumed_from = latest_checkpoint(model_dir, "G")
    if set_aside:
        warnings.warn(f"{', '.join(p.name for p in set_aside)} could not be read (cut short?): moved "
                      f"to {set_aside[0].parent}; training resumes from "
                      f"{latest.name if latest else 'the start'}.", CheckpointWarning, stacklevel=2)
    log_dir = model_dir / "lightning_logs"
    plan = {}

    def fit(batch_size: int):
        """Write the config for ``batch_size``, then train from the newest checkpoint."""
        spe = steps_per_epoch(n_train, batch_size)
        epochs = epochs_for_steps(steps, n_train, batch_size) if steps else _MOST_EPOCHS
        config = _tune_config(_read_json(config_path), batch_size=batch_size, epochs=epochs, keep=keep)
        config["train"]["eval_interval"] = eval_interval or (10**9 if quick else 1000)
        if log_interval is not None:
            config["train"]["log_interval"] = log_interval
        config["train"].update({"fp16_run": precision == "16-mixed",
                                "bf16_run": precision == "bf16-mixed"})
        _write_json(config_path, config)
        latest = latest_checkpoint(model_dir, "G")
        done_epochs = int(_CKPT.fullmatch(latest.name).group(2)) if latest else 0
        plan.update(spe=spe, epochs=epochs, progress=None)
        if done_epochs >= epochs:
            return
        unfit: list[str] = []
        # from the pretrained base, the speaker table is expected not to fit (other speakers,
        # or none in a "clean" base): the new speakers start from scratch
        from_base = latest is None or latest.name == "G_0.pth"
        with runtime.quiet(), _training_swaps(unfit, (_SPEAKER_TABLE,) if from_base else ()):
            hparams = svc_utils.get_backup_hparams(config_path, model_dir)  # copies config.json
            if lists is not None:   # read from the scratch copies; config.json names the run's
                hparams.data.training_files, hparams.data.validation_files = map(str, lists)
            runtime.seed_everything(config["train"]["seed"])
            datamodule = VCDataModule(hparams)
            model = VitsLightning(reset_optimizer=False, **hparams)   # loads the newest G_/D_
            if unfit and not allow_mismatch:
                d = latest_checkpoint(model_dir, "D")
                raise TrainError(
                    f"{latest.name if latest else 'G_0'} and {d.name if d else 'D_0'} in {model_dir} "
                    f"do not fit the model of {config_path} ({len(unfit)} problems, e.g. "
                    f"{'; '.join(unfit[:2])}): those layers would train from random weights. "
                    "Start a new run folder (or use the config the checkpoints were made with), "
                    "or pass allow_mismatch=True to train anyway.")
            progress = _progress_callback(epochs * spe, done_epochs * spe, spe, deadline)
            plan["progress"] = progress
            trainer = pl.Trainer(  # the settings of so-vits-svc-fork's train(), minus its device
                # statistics and with our progress bar
                logger=TensorBoardLogger(model_dir, "lightning_logs", hparams.train.get("log_version", 0)),
                val_check_interval=hparams.train.eval_interval, max_epochs=epochs,
                check_val_every_n_epoch=None, precision=precision,
                accelerator="cpu" if device == "cpu" else "auto", devices=1,
                # cuDNN autotuning off (so-vits-svc-fork turns it on): clips differ in length, so
                # it tunes again and again; on an H200 its trials took 133 of 140 GiB and 59 s of
                # warm-up for no steady gain (benchmarks/README.md, svc_gpu.py)
                callbacks=[progress], benchmark=False, enable_checkpointing=False,
                enable_progress_bar=False, enable_model_summary=False, num_sanity_val_steps=0)
            trainer.fit(model, datamodule=datamodule)

    _, batch_size = _fit_halving(fit, batch_size, run_dir)
    prune_checkpoints(model_dir, keep)
    progress = plan["progress"]
    latest = latest_checkpoint(model_dir, "G")
    total = int(_CKPT.fullmatch(latest.name).group(2)) * plan["spe"] if latest else 0
    epochs = progress.target // plan["spe"] if progress is not None else plan["epochs"]
    return TrainResult(run_dir, config_path, latest, total, time.perf_counter() - start,
                       epochs=epochs, batch_size=batch_size, steps_per_epoch=plan["spe"],
                       log_dir=log_dir, set_aside=set_aside, resumed_from=resumed_from,
                       minutes=minutes, steps_per_second=progress.rate if progress else None,
                       precision=precision, scratch=scratch)


def example_run(steps: int = 18) -> Path:
    """Notebook 09's QUICK run folder (speaker ``"slt"``, 10 offline sentences); trains it if missing.

    Introduced in notebook 10, so conversion can be shown without running notebook 09
    first (training takes about a minute on 2 CPU cores). The folder is
    ``cache_dir()/runs/09_quick``, the data ``cache_dir()/runs/09_data``, as in notebook 09,
    and 18 steps end at the same checkpoint name (``G_6.pth``) as notebook 09's run.
    """
    from ..data import speech

    run_dir = runtime.cache_dir() / "runs" / "09_quick"
    if latest_checkpoint(run_layout(run_dir).model, "G") is None:
        dataset_dir = speech.make_speech(["slt"], n_sentences=10, out_dir=run_dir.with_name("09_data"))
        train(dataset_dir, run_dir, speaker="slt", steps=steps, batch_size=2, keep=2)
    return run_dir


def read_losses(run_dir) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Scalars from a run's TensorBoard logs: ``{tag: (steps, values)}``, e.g. ``"loss/g/total"``.

    Introduced in notebook 09. ``run_dir`` is a run folder or any folder holding event files.
    """
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    root = Path(run_dir)
    logs = run_layout(root).model / "lightning_logs"
    root = logs if logs.is_dir() else root
    series: dict[str, dict[int, float]] = {}
    for events in sorted(root.rglob("events.out.tfevents.*")):
        acc = EventAccumulator(str(events), size_guidance={"scalars": 0})
        acc.Reload()
        for tag in acc.Tags().get("scalars", []):
            for e in acc.Scalars(tag):
                series.setdefault(tag, {})[e.step] = e.value
    return {tag: (np.array(sorted(v)), np.array([v[s] for s in sorted(v)], dtype=np.float32))
            for tag, v in sorted(series.items())}


# ---------------------------------------------------------------------------- conversion


#: The tutorial's example of a community model on the Hub: (repo id, generator file).
#: It imitates a real artist; use it to learn how inference works, not to publish.
EXAMPLE_MODEL = ("Entreprenerdly/drake-so-vits-svc", "G_106000.pth")


def _write_example_stand_in(folder: Path) -> None:
    write_tiny_model(folder, name=EXAMPLE_MODEL[1])


def _write_example_full(folder: Path) -> None:
    """Full size: the 4.0v1 template's config with one speaker ("drake") and a generator."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _write_json(folder / "config.json", _template_config({"drake": 0}))
    _write_full_checkpoint(folder / EXAMPLE_MODEL[1], "G", iteration=1000)


#: :data:`EXAMPLE_MODEL` as a manifest asset (``config.json`` + the generator).
EXAMPLE_ASSET = hub.asset("svc-" + EXAMPLE_MODEL[0].replace("/", "--"),
                          stand_in=_write_example_stand_in, full_stand_in=_write_example_full)


def write_tiny_model(folder, speakers=("stand-in",), name: str = "G_0.pth", seed: int = 0) -> Path:
    """Write a shrunk ``config.json`` and a randomly initialised ``G`` checkpoint into ``folder``.

    Introduced in notebook 10, where it stands in (offline) for a model from the Hub: same
    files, same loader, random weights. Returns ``folder``.
    """
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    folder = Path(folder)
    config = quick_config(_read_json(CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json"))
    config["spk"] = {s: i for i, s in enumerate(speakers)}
    config["model"]["pretrained"] = "none"
    _write_json(folder / "config.json", config)
    with seeded(seed), runtime.quiet():
        net = SynthesizerTrn(config["data"]["filter_length"] // 2 + 1,
                             config["train"]["segment_size"] // config["data"]["hop_length"],
                             **config["model"])
    files.torch_save({"model": net.state_dict(), "iteration": 0, "optimizer": None,
                      "learning_rate": 1e-4}, folder / name)
    return folder


def hub_model(repo_id: str = EXAMPLE_MODEL[0], filename: str = EXAMPLE_MODEL[1]) -> Path:
    """A folder with ``config.json`` and ``filename`` (a ``G_*.pth``) of a model on the Hub.

    Introduced in notebook 10, as in the tutorial. Downloads through :mod:`voicelab.core.hub`
    (cached); offline (QUICK mode, ``HF_HUB_OFFLINE=1``) with nothing cached it returns a
    stand-in written by :func:`write_tiny_model` (check with :func:`voicelab.core.hub.is_stand_in`).
    The generator is later opened weights-only by :func:`convert`: a file that needs full
    unpickling is refused, not run. The example (the defaults) is the manifest's asset
    :data:`EXAMPLE_ASSET`; another repository is fetched as given (``config.json`` and
    ``filename``, not checked against the manifest, which lists only the course's own assets).
    """
    if not _CKPT.fullmatch(filename) or not filename.startswith("G_"):
        raise ValueError(f"filename={filename!r}: a so-vits-svc generator is named G_<step>.pth.")
    if (repo_id, filename) == EXAMPLE_MODEL:
        return hub.fetch(EXAMPLE_ASSET)
    asset = hub.Asset(
        "svc-" + repo_id.replace("/", "--"), repo_id=repo_id,
        allow_patterns=("config.json", filename),
        description=f"so-vits-svc model {repo_id} ({filename} + config.json)",
        stand_in=lambda folder: write_tiny_model(folder, name=filename))
    return hub.fetch(asset)


def find_model(model, *, allow_base: bool = False) -> tuple[Path, Path]:
    """``(G_*.pth, config.json)`` for a run folder, a model folder, or a G_*.pth file.

    Introduced in notebook 10. A run folder is searched in ``logs/44k`` first; a model
    folder (e.g. downloaded from the Hub, as in the tutorial) holds ``config.json`` and
    one or more ``G_*.pth``, of which the newest is used, or (a folder exported by
    :func:`voicelab.voice.share.export_space`, notebook 11) ``model.safetensors``.
    A folder whose newest generator is ``G_0.pth`` holds only the pretrained multi-speaker
    base that training starts from, not a trained voice: it is refused unless
    ``allow_base=True`` (a ``G_0.pth`` file given by name is taken as asked).
    """
    model = Path(model)
    if model.is_file():
        config = model.parent / "config.json"
        if not config.is_file():
            raise MissingFileError(f"{config} is missing: a so-vits-svc model needs the "
                                   f"config.json it was trained with next to {model.name}.")
        return model, config
    for folder in (run_layout(model).model, model):
        ckpt = latest_checkpoint(folder, "G")
        if ckpt is None and (folder / EXPORTED_WEIGHTS).is_file():
            ckpt = folder / EXPORTED_WEIGHTS
        if ckpt is not None and (folder / "config.json").is_file():
            if ckpt.name == "G_0.pth" and not allow_base:
                raise ModelFileError(
                    f"{folder} holds only G_0.pth, the pretrained base that training starts from, not "
                    "a trained voice (training has not saved a checkpoint yet). Train first (notebook "
                    "09, voicelab train), or pass allow_base=True to hear the base model.")
            return ckpt, folder / "config.json"
    raise MissingFileError(
        f"No so-vits-svc model in {model}: expected config.json and G_*.pth (or "
        f"{EXPORTED_WEIGHTS}) there or in {run_layout(model).model}. Train one with "
        "voicelab.voice.svc.train (notebook 09) or download a model folder from the Hub.")


_MODEL_CACHE: dict = {}


def misfit(state: dict, model, ignore: tuple[str, ...] = ()) -> list[str]:
    """How the weights ``state`` fail to fit ``model`` (a torch module): missing keys, unexpected
    keys, shapes that differ. Empty when every tensor fits. :func:`convert` checks with it.
    Keys starting with one of the ``ignore`` prefixes are not checked.

    so-vits-svc-fork loads what fits and only warns about the rest, which then keeps its random
    initial values: a model that does not match its config would train or convert from noise.
    """
    own = {k: v for k, v in model.state_dict().items() if not k.startswith(ignore)}
    state = {k: v for k, v in state.items() if not k.startswith(ignore)}
    problems = [f"missing {k}" for k in own if k not in state]
    problems += [f"unexpected {k}" for k in state if k not in own]
    problems += [f"{k}: {tuple(state[k].shape)} in the file, {tuple(v.shape)} in the model"
                 for k, v in own.items() if k in state and hasattr(state[k], "shape")
                 and tuple(state[k].shape) != tuple(v.shape)]
    return problems


def _load_svc(ckpt: Path, config: Path, device: str, allow_mismatch: bool = False):
    """so-vits-svc-fork's Svc, with G loaded through voicelab.core.hub.load_weights.

    Weights that do not fit the model built from ``config`` are refused (ModelFileError) unless
    ``allow_mismatch``.
    """
    from so_vits_svc_fork import utils as svc_utils
    from so_vits_svc_fork.inference.core import Svc
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn

    class SafeSvc(Svc):
        def load_model(self):
            self.net_g = SynthesizerTrn(self.hps.data.filter_length // 2 + 1,
                                        self.hps.train.segment_size // self.hps.data.hop_length,
                                        **self.hps.model)
            weights = hub.load_weights(self.net_g_path)
            state = weights.get("model", weights)
            problems = misfit(state, self.net_g)
            if problems and not allow_mismatch:
                raise ModelFileError(
                    f"{self.net_g_path} does not fit the model its config.json describes "
                    f"({len(problems)} problems, e.g. {'; '.join(problems[:3])}): those layers would "
                    "convert from random weights. Use the config.json the model was trained with, "
                    "or pass allow_mismatch=True to convert anyway.")
            svc_utils.safe_load(self.net_g, state)
            self.net_g.eval()
            for m in self.net_g.modules():
                svc_utils.remove_weight_norm_if_exists(m)
            self.net_g.to(self.device, dtype=self.dtype)

    key = (str(ckpt), ckpt.stat().st_mtime_ns, str(config), config.stat().st_mtime_ns, device,
           str(hub.fetch(CONTENTVEC)), allow_mismatch)
    if key not in _MODEL_CACHE:
        _MODEL_CACHE.clear()
        with runtime.quiet(), using_contentvec():
            _MODEL_CACHE[key] = SafeSvc(net_g_path=str(ckpt), config_path=str(config), device=device)
    return _MODEL_CACHE[key]


def convert(source, model, *, speaker: str | None = None, transpose: int = 0,
            f0_method: str | None = None, out=None, sr: int | None = None,
            cluster=None, cluster_ratio: float = 0.0, noise_scale: float = 0.4,
            device: str | None = None, allow_base: bool = False,
            allow_mismatch: bool = False) -> tuple[np.ndarray, int]:
    """Convert speech into a trained voice; return ``(y, sr)`` at the model's rate (44.1 kHz).

    Introduced in notebook 09 (a first listen); notebook 10 is about conversion. ``source`` is
    an audio file or an array (then give ``sr``);
    ``model`` a run folder, a folder with ``config.json`` + ``G_*.pth`` or a ``G_*.pth``
    file. ``speaker`` defaults to the model's first speaker. ``transpose`` shifts the pitch
    in semitones (+12 = an octave up). ``f0_method`` is one of :data:`F0_METHODS` (default
    "dio": fast; "crepe" is better and slow without a GPU). ``cluster`` (a file from
    :func:`train_cluster`, or a :class:`voicelab.voice.rvc.FeatureIndex` for RVC-style retrieval,
    notebook 11) with ``cluster_ratio`` in (0, 1] pulls the content features towards the
    speaker's. ``out`` also writes the result there. Output length = input length.
    ``allow_base=True`` lets a run that holds only the pretrained ``G_0.pth`` convert (see
    :func:`find_model`); ``allow_mismatch=True`` one whose weights do not fit its config (see
    :func:`misfit`).
    """
    from .. import audio

    f0_method = f0_method or "dio"
    if f0_method not in F0_METHODS:
        raise ValueError(f"f0_method={f0_method!r}; choose one of {', '.join(F0_METHODS)}.")
    ckpt, config = find_model(model, allow_base=allow_base)
    device = runtime.pick_device(device)
    svc = _load_svc(ckpt, config, device, allow_mismatch)
    names = list(svc.spk2id.__dict__)
    if speaker is None:
        speaker = names[0]
    elif speaker not in names:
        raise UnknownSpeakerError(f"Speaker {speaker!r} is not in {config}; it has: {', '.join(names)}.")
    target = svc.target_sample
    if isinstance(source, (str, os.PathLike)):
        y, _ = audio.load(source, sr=target)
    else:
        if sr is None:
            raise ValueError("convert(array, ...) needs sr= (the array's sampling rate in Hz).")
        y = audio.resample(np.asarray(source, dtype=np.float32), sr, target) if sr != target \
            else np.asarray(source, dtype=np.float32)
    if cluster is None:
        svc.cluster_model = None
    elif hasattr(cluster, "as_cluster_model"):      # a retrieval index (voicelab.voice.rvc)
        svc.cluster_model = cluster.as_cluster_model(speaker)
    else:
        svc.cluster_model = load_cluster(cluster)
    if cluster_ratio and svc.cluster_model is None:
        raise ValueError("cluster_ratio > 0 needs cluster= (a file made by train_cluster).")
    with runtime.quiet():  # content features come from svc.hubert_model, loaded with the model
        y_out = svc.infer_silence(y.astype(np.float32), speaker=speaker, transpose=int(transpose),
                                  f0_method=f0_method, cluster_infer_ratio=cluster_ratio,
                                  noise_scale=noise_scale, db_thresh=-40)
    y_out = np.asarray(y_out, dtype=np.float32)
    if out is not None:
        audio.save(out, np.clip(y_out, -1.0, 1.0), target)
    return y_out, target


# ---------------------------------------------------------------------------- clusters


def train_cluster(run_dir, n_clusters: int = 100, out=None) -> Path:
    """k-means over each speaker's ContentVec features, saved as safetensors; return the path.

    so-vits-svc-fork's ``svc train-cluster``; notebook 11 builds a retrieval index instead.
    so-vits-svc-fork saves its cluster model with pickle
    (numpy arrays), which torch >= 2.6 refuses to load by default; this file holds only
    tensors (``{spk}.centers``), so it opens without unpickling anything.
    """
    import torch
    from so_vits_svc_fork.cluster.train_cluster import train_cluster as _train

    data = run_layout(Path(run_dir)).data
    speakers = sorted(p for p in data.iterdir() if p.is_dir()) if data.is_dir() else []
    if not speakers:
        raise MissingFileError(f"No prepared features in {data}: run voicelab.voice.svc.prepare first.")
    tensors = {}
    for folder in speakers:
        fit = _train(folder, n_clusters=n_clusters, use_minibatch=True)
        tensors[f"{folder.name}.centers"] = torch.from_numpy(
            np.asarray(fit["cluster_centers_"], dtype=np.float32))
    out = Path(out) if out is not None else run_layout(Path(run_dir)).model / "kmeans.safetensors"
    return hub.save_weights(tensors, out, metadata={"format": "voicelab-svc-kmeans"})


def load_cluster(path) -> dict:
    """``{spk: KMeans}`` from :func:`train_cluster`'s file, or a so-vits-svc-fork ``.pt`` one.

    Introduced in notebook 10. A ``.pt`` file is opened weights-only, with numpy's array
    rebuilding functions as the only extra allowed names, so no code from it can run.
    """
    import torch
    from sklearn.cluster import KMeans

    path = Path(path)
    if path.suffix == ".safetensors":
        centers = {k.rsplit(".", 1)[0]: v.numpy() for k, v in hub.load_weights(path).items()}
    else:
        try:
            reconstruct = np._core.multiarray._reconstruct
        except AttributeError:  # numpy < 2
            reconstruct = np.core.multiarray._reconstruct
        allowed = [reconstruct, np.ndarray, np.dtype, type(np.dtype(np.float32)),
                   type(np.dtype(np.float64))]
        if not path.is_file():
            raise MissingFileError(f"{path}: no such cluster model file. Make one with "
                                   "voicelab.voice.svc.train_cluster.")
        try:
            with torch.serialization.safe_globals(allowed):
                ckpt = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as e:
            raise ModelFileError(
                f"{path} is not a cluster model voicelab can open safely ({type(e).__name__}). "
                "Train one with voicelab.voice.svc.train_cluster.") from e
        centers = {spk: np.asarray(d["cluster_centers_"]) for spk, d in ckpt.items()}
    models = {}
    for spk, c in centers.items():
        km = KMeans(n_clusters=len(c))
        km.cluster_centers_ = np.asarray(c, dtype=np.float32)
        km.n_features_in_ = km.cluster_centers_.shape[1]
        km._n_threads = 1
        models[spk] = km
    return models

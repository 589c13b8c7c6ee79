"""Full-size stand-ins for a FULL rehearsal offline: the real models' files, with random weights.

Introduced for the FULL rehearsal of notebooks 08-11 (issue 12) and ``benchmarks/svc_speed.py
--full``. QUICK mode's stand-ins (``voicelab.core.hub``) are tiny; these have the real models'
architecture, size, file names and file formats, and :func:`install_stand_ins` puts them where
:func:`voicelab.core.hub.fetch` looks first (the Hugging Face cache, ``cache_dir()/downloads``),
so FULL mode (``VOICELAB_QUICK=0 HF_HUB_OFFLINE=1``) runs its real code path, a cache hit, with no
network. The writers below are the ``full_stand_in`` of the assets that :mod:`voicelab.voice.svc`
and :mod:`voicelab.voice.rvc` declare from the manifest (:func:`voicelab.core.hub.asset`), and
:func:`voicelab.core.hub.install_stand_in` places them, after checking each file against the
asset's manifest entry (published names and formats). Every one is labelled: its folder holds the ``.voicelab-stand-in`` marker, so
:func:`voicelab.core.hub.is_stand_in` is True for it and a notebook can say so.

Install them only into caches made for the rehearsal (point ``VOICELAB_CACHE`` and ``HF_HOME`` at
a fresh folder): online, a cached URL download is used as it is, so a stand-in ``G_0.pth`` in a
user's own cache would be trained from later instead of the real one (:func:`install_stand_ins`
refuses to run online for that reason).

=================  ==========================================  ==========================================
stand-in            the same as the real thing                  different
=================  ==========================================  ==========================================
``contentvec``      Hub repo ``lengyue233/content-vec-best``:   random weights; the commit hash (made up,
                    ``config.json`` (HuBERT base, 12 layers,    stable); no README/.gitattributes (the
                    768 hidden, 3072 intermediate, conv 512x7,  allow_patterns skip them anyway);
                    ``classifier_proj_size`` 256, architecture  ``transformers_version`` says this one
                    ``HubertModelWithFinalProj``) and
                    ``pytorch_model.bin``: a zip ``torch.save``
                    of the state dict with the old weight-norm
                    names (``weight_g``/``weight_v``) as the
                    2022 file has, 94.6 M float32 = 378 MB;
                    in the HF cache layout (blobs, refs/main,
                    snapshots/<commit>)
``G_0``/``D_0``     so-vits-svc 4.0v1 ``SynthesizerTrn`` (the   random weights and optimiser moments; the
                    fork's template: 768-dim ContentVec, 200    iteration number and learning rate; the
                    speakers in ``emb_g``, 45.6 M params) and   real files are the upstream so-vits-svc's
                    ``MultiPeriodDiscriminator`` (46.7 M), each  checkpoints (4.0/4.1 code); their keys
                    as so-vits-svc's ``save_checkpoint``        could not be read here (no network): the
                    writes it: ``{"model", "iteration",         stand-in has exactly the keys the fork's
                    "optimizer" (AdamW state_dict with           model has; whether the real G keeps its
                    exp_avg/exp_avg_sq), "learning_rate"}``,    optimiser state (548 vs 183 MB) is not
                    float32: G 548 MB, D 561 MB; at             known here
                    ``cache_dir()/downloads/<sha256(url)[:16]>
                    /G_0.pth`` (``D_0.pth``) as ``hub.url_file``
                    stores the URL download
``svc-example``     Hub repo ``Entreprenerdly/drake-so-vits-    what the repo really holds is not known
                    svc``: ``config.json`` + ``G_106000.pth``,  here: the config is the fork's 4.0v1
                    a full-size 4.0v1 generator as a training   template with one speaker ("drake"); the
                    checkpoint with optimiser state (548 MB)    generator random
``rvc-example``     Hub repo ``sail-rvc/yoimiya-jp``:           random weights; ``info``; whether the
                    ``model.pth`` in RVC's v2 40 kHz inference  real model is v2 40k is assumed; the
                    format (``weight`` fp16 without enc_q,      index holds 20 000 random vectors, not
                    ``config`` list, ``sr`` "40k", ``f0`` 1,    speech frames (63 MB); the repo's
                    ``version`` "v2", ``info``; 55 MB) and      other files are not written (voicelab
                    ``model.index``: a faiss ``IVF<n>,Flat``    fetches only these two)
                    index of 768-dim vectors, n as RVC picks it
``rmvpe``           ``lj1995/VoiceConversionWebUI``             random weights; batch-norm running
                    ``rmvpe.pt``: a plain ``state_dict`` of     statistics are the initial ones
                    RMVPE's ``E2E(4, 1, (2, 2))``, half
                    precision (181 MB), as RVC loads it
=================  ==========================================  ==========================================
"""
from __future__ import annotations

import json
import math
from pathlib import Path

from ..core import files, hub, runtime
from ..core.errors import VoicelabError

__all__ = ["install_stand_ins", "STAND_INS", "write_contentvec", "write_pretrained_g",
           "write_pretrained_d", "write_svc_example", "write_rvc_example", "write_rmvpe",
           "save_contentvec_weights"]

#: What :func:`install_stand_ins` writes, by key.
STAND_INS = ("contentvec", "G_0", "D_0", "svc-example", "rvc-example", "rmvpe")

_TEMPLATE = "so-vits-svc-4.0v1.json"
_EXAMPLE_SPEAKER = "drake"
#: RVC v2 40 kHz (SynthesizerTrnMs768NSFsid's arguments in RVC's order, as its exported
#: ``config``): spec channels, segment, inter, hidden, filter, heads, layers, kernel, dropout,
#: resblock, kernel sizes, dilations, upsample rates, initial channel, upsample kernels,
#: speakers, gin channels, sampling rate.
_RVC_V2_40K = [1025, 32, 192, 192, 768, 2, 6, 3, 0, "1", [3, 7, 11],
               [[1, 3, 5], [1, 3, 5], [1, 3, 5]], [10, 10, 2, 2], 512, [16, 16, 4, 4], 109, 256,
               40000]
_INDEX_VECTORS = 20_000


def _assets() -> dict[str, hub.Asset]:
    """The manifest assets behind :data:`STAND_INS` (imported here: svc and rvc import this module)."""
    from . import rvc, svc

    return {"contentvec": svc.CONTENTVEC, "G_0": svc.PRETRAINED_G, "D_0": svc.PRETRAINED_D,
            "svc-example": svc.EXAMPLE_ASSET, "rvc-example": rvc.EXAMPLE_ASSET, "rmvpe": rvc.RMVPE}


def install_stand_ins(*, seed: int = 0, only=None) -> dict[str, Path]:
    """Write the full-size stand-ins (module docstring) into the current caches; return their paths.

    Introduced for the FULL rehearsal (issue 12; no notebook calls it). Each asset goes through
    :func:`voicelab.core.hub.install_stand_in`, which puts it where
    :func:`voicelab.core.hub.fetch` finds it: Hub repos into :func:`voicelab.core.hub.hf_cache_dir`
    as huggingface_hub lays its cache out, the pretrained G_0/D_0 into
    ``runtime.cache_dir()/downloads``. What is already there is kept (a second call writes
    nothing); each is written all or nothing. ``seed`` fixes the random weights; ``only``
    (keys of :data:`STAND_INS`) limits what is written. Keys of the result: ``contentvec``,
    ``svc-example``, ``rvc-example`` (snapshot folders), ``G_0``, ``D_0``, ``rmvpe`` (files).
    Refused online (see the module docstring): set ``HF_HUB_OFFLINE=1``.
    """
    if not runtime.is_offline():
        raise VoicelabError(
            "install_stand_ins writes random weights where the real downloads are cached; online, "
            "voicelab would later use them as if they were real. Run it offline (HF_HUB_OFFLINE=1) "
            "with VOICELAB_CACHE and HF_HOME pointing at folders made for the rehearsal.")
    keys = STAND_INS if only is None else tuple(only)
    unknown = [k for k in keys if k not in STAND_INS]
    if unknown:
        raise ValueError(f"only={unknown}: choose from {', '.join(STAND_INS)}.")
    assets = _assets()
    return {key: hub.install_stand_in(assets[key], seed=seed + STAND_INS.index(key))
            for key in keys}


# ---------------------------------------------------------------------------- the writers
# Each writes the published file (or fills the snapshot folder) it is given; the random weights
# come from torch's generator, which install_stand_in seeds.


def _contentvec_hparams() -> dict:
    from transformers import HubertConfig

    config = HubertConfig(classifier_proj_size=256)   # HuBERT base: 12 x 768, 3072, conv 512 x 7
    out = config.to_dict()
    out["architectures"] = ["HubertModelWithFinalProj"]
    return out


def write_contentvec(folder: Path) -> None:
    """``lengyue233/content-vec-best`` at full size: ``config.json`` + ``pytorch_model.bin``."""
    from so_vits_svc_fork.utils import HubertModelWithFinalProj
    from transformers import HubertConfig

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    hparams = _contentvec_hparams()
    files.write_json(folder / "config.json", hparams)
    model = HubertModelWithFinalProj(HubertConfig(**{
        k: v for k, v in hparams.items() if k != "architectures"}))
    save_contentvec_weights(model, folder / "pytorch_model.bin")


def save_contentvec_weights(model, path: Path) -> None:
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


def _svc_config(spk: dict) -> dict:
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    config = json.loads((CONFIG_TEMPLATE_DIR / _TEMPLATE).read_text("utf-8"))
    config["spk"] = dict(spk)
    return config


def _svc_checkpoint(path: Path, kind: str, iteration: int = 1) -> None:
    """A so-vits-svc training checkpoint as ``save_checkpoint`` writes it, with AdamW moments."""
    import torch
    from so_vits_svc_fork.modules.descriminators import MultiPeriodDiscriminator
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn

    config = _svc_config({})
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


def write_pretrained_g(path: Path) -> None:
    """so-vits-svc 4.0's pretrained generator as ``G_0.pth`` (a training checkpoint, 548 MB)."""
    _svc_checkpoint(path, "G")


def write_pretrained_d(path: Path) -> None:
    """so-vits-svc 4.0's pretrained discriminator as ``D_0.pth`` (a training checkpoint, 561 MB)."""
    _svc_checkpoint(path, "D")


def write_svc_example(folder: Path) -> None:
    """The example so-vits-svc model (``config.json`` + ``G_106000.pth``), one speaker."""
    from . import svc

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    files.write_json(folder / "config.json", _svc_config({_EXAMPLE_SPEAKER: 0}))
    _svc_checkpoint(folder / svc.EXAMPLE_MODEL[1], "G", iteration=1000)


def _rvc_model(path: Path) -> None:
    import torch
    from huggingface_hub_rvc.core.models import SynthesizerTrnMs768NSFsid

    net = SynthesizerTrnMs768NSFsid(*_RVC_V2_40K, is_half=False)
    weights = {k: v.half() for k, v in net.state_dict().items() if not k.startswith("enc_q.")}
    torch.save({"weight": weights, "config": list(_RVC_V2_40K), "info": "300epoch",
                "sr": "40k", "f0": 1, "version": "v2"}, path)


def _rvc_index(path: Path) -> None:
    """A faiss IVF index as RVC's train_index writes it (IVF{n},Flat, n = min(16 sqrt(N), N/39))."""
    import torch

    faiss = _faiss()
    vectors = torch.randn(_INDEX_VECTORS, 768).numpy()
    n_ivf = min(int(16 * math.sqrt(len(vectors))), len(vectors) // 39)
    index = faiss.index_factory(768, f"IVF{n_ivf},Flat")
    faiss.extract_index_ivf(index).nprobe = 1
    index.train(vectors)
    index.add(vectors)
    faiss.write_index(index, str(path))


def write_rvc_example(folder: Path) -> None:
    """The example RVC model: ``model.pth`` (v2 40 kHz inference format) + ``model.index``."""
    from . import rvc

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    _rvc_model(folder / rvc.EXAMPLE_MODEL[1])
    _rvc_index(folder / rvc.EXAMPLE_MODEL[2])


def _faiss():
    with runtime.quiet():
        import faiss
    return faiss


def write_rmvpe(path: Path) -> None:
    """RVC's ``rmvpe.pt``: a plain half-precision state_dict of ``E2E(4, 1, (2, 2))``."""
    import torch
    from huggingface_hub_rvc.core.rmvpe import E2E

    net = E2E(4, 1, (2, 2))
    torch.save({k: v.half() if v.is_floating_point() else v for k, v in net.state_dict().items()},
               path)

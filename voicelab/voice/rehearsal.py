"""Full-size stand-ins for a FULL rehearsal offline: the real models' files, with random weights.

Introduced for the FULL rehearsal of notebooks 08-11 (issue 12) and ``benchmarks/svc_speed.py
--full``. QUICK mode's stand-ins (``voicelab.core.hub``) are tiny; these have the real models'
architecture, size, file names and file formats, and :func:`install_stand_ins` puts them where
:func:`voicelab.core.hub.fetch` looks first (the Hugging Face cache, ``cache_dir()/downloads``),
so FULL mode (``VOICELAB_QUICK=0 HF_HUB_OFFLINE=1``) runs its real code path, a cache hit, with no
network. They are the ``full_stand_in`` of the assets that :mod:`voicelab.voice.svc`,
:mod:`voicelab.voice.rvc` and :mod:`voicelab.voice.metrics` (Whisper, the FULL recogniser) declare
from the manifest (:func:`voicelab.core.hub.asset`, written
there next to the tiny ones), and :func:`voicelab.core.hub.install_stand_in` places them after
checking each file against the asset's manifest entry (published names and formats). Every one
is labelled: its folder holds the ``.voicelab-stand-in`` marker, so
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
``whisper``         Hub repo ``openai/whisper-base.en`` at its  random weights; text tokens are the 256
                    pinned revision: WhisperForConditionalGen-  bytes and made-up words (no GPT-2 merges);
                    eration with base.en's config (d_model      normalizer.json holds two spellings;
                    512, 6+6 layers, 51,864 tokens in the       generation_config.json without alignment
                    English-only layout, <|notimestamps|>       heads or suppress list; the repo's other
                    50362), float32 ``model.safetensors``       weight formats (.bin, .h5, .msgpack) not
                    (290 MB), tokenizer and feature-extractor   written (not listed, never fetched)
                    files under their published names
=================  ==========================================  ==========================================
"""
from __future__ import annotations

from pathlib import Path

from ..core import hub, runtime
from ..core.errors import VoicelabError
from . import metrics, rvc, svc

__all__ = ["install_stand_ins", "STAND_INS"]

#: What :func:`install_stand_ins` writes, by key.
STAND_INS = ("contentvec", "G_0", "D_0", "svc-example", "rvc-example", "rmvpe", "whisper")


def _assets() -> dict[str, hub.Asset]:
    """The manifest assets behind :data:`STAND_INS`, whose ``full_stand_in`` writes each."""
    return {"contentvec": svc.CONTENTVEC, "G_0": svc.PRETRAINED_G, "D_0": svc.PRETRAINED_D,
            "svc-example": svc.EXAMPLE_ASSET, "rvc-example": rvc.EXAMPLE_ASSET, "rmvpe": rvc.RMVPE,
            "whisper": metrics.WHISPER}


def install_stand_ins(*, seed: int = 0, only=None) -> dict[str, Path]:
    """Write the full-size stand-ins (module docstring) into the current caches; return their paths.

    Introduced for the FULL rehearsal (issue 12; no notebook calls it). Each asset goes through
    :func:`voicelab.core.hub.install_stand_in`, which puts it where
    :func:`voicelab.core.hub.fetch` finds it: Hub repos into :func:`voicelab.core.hub.hf_cache_dir`
    as huggingface_hub lays its cache out, the pretrained G_0/D_0 into
    ``runtime.cache_dir()/downloads``. What is already there is kept (a second call writes
    nothing); each is written all or nothing. ``seed`` fixes the random weights; ``only``
    (keys of :data:`STAND_INS`) limits what is written. Keys of the result: ``contentvec``,
    ``svc-example``, ``rvc-example``, ``whisper`` (snapshot folders), ``G_0``, ``D_0``, ``rmvpe``
    (files).
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

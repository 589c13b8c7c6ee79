"""The FULL rehearsal's full-size stand-ins: found offline by the real FULL code path, labelled,
opened weights-only, and fitting the loaders exactly.

The tests marked slow install all of them once (about 2.3 GB and 40 s on 2 cores) into a
temporary cache that is deleted afterwards.
"""
from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import pytest

from voicelab.core import hub
from voicelab.core.errors import HubOfflineError, VoicelabError
from voicelab.voice import rehearsal, rvc, svc


@pytest.fixture(scope="module")
def installed(full_offline):
    """All stand-ins, installed once into a temporary FULL-offline cache (removed at the end)."""
    root = Path(tempfile.mkdtemp(prefix="voicelab-rehearsal-"))
    try:
        with pytest.MonkeyPatch.context() as mp:
            full_offline(mp, root)
            yield rehearsal.install_stand_ins(seed=0)
    finally:
        shutil.rmtree(root, ignore_errors=True)


# ---------------------------------------------------------------------------- fast


def test_refused_online(tmp_path, monkeypatch, rehearsal_sandbox):
    monkeypatch.delenv("HF_HUB_OFFLINE")
    with pytest.raises(VoicelabError, match="offline"):
        rehearsal.install_stand_ins()
    assert not (tmp_path / "hf-home").exists()


def test_unknown_key_refused(rehearsal_sandbox):
    with pytest.raises(ValueError, match="contentvec"):
        rehearsal.install_stand_ins(only=["G_1"])


def test_interrupted_install_leaves_nothing_fetch_would_use(tmp_path, rehearsal_sandbox):
    """install_stand_ins places each asset with hub.install_stand_in: all or nothing, then kept."""

    def crash(folder):
        (folder / "config.json").write_text("{}")
        (folder / "model.pth").write_bytes(b"half a file")
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        hub.install_stand_in(hub.Asset("x", repo_id="someone/model", full_stand_in=crash))
    with pytest.raises(HubOfflineError):
        hub.fetch(hub.Asset("x", repo_id="someone/model"))
    repo = hub.hf_cache_dir() / "models--someone--model"
    assert not (repo / "refs").exists() and not (repo / "snapshots").exists()
    assert not [p for p in (repo / "blobs").iterdir() if p.is_file()]
    # and a completed one is found, labelled, and not written twice
    write = lambda folder: (folder / "config.json").write_text("{}")   # noqa: E731
    path = hub.install_stand_in(hub.Asset("x", repo_id="someone/model", full_stand_in=write))
    assert hub.fetch(hub.Asset("x", repo_id="someone/model")) == path and hub.is_stand_in(path)
    mtime = (path / "config.json").stat().st_mtime_ns
    assert hub.install_stand_in(hub.Asset("x", repo_id="someone/model", full_stand_in=crash)) == path
    assert (path / "config.json").stat().st_mtime_ns == mtime


def test_install_stand_ins_uses_the_manifest_assets():
    """The stand-ins are those of the assets svc and rvc declare from the manifest."""
    assets = rehearsal._assets()
    assert tuple(assets) == rehearsal.STAND_INS
    for key, asset in assets.items():
        assert asset.manifest is not None and asset.full_stand_in is not None, key
        assert asset.manifest in hub.MANIFEST, key
    assert not hasattr(rehearsal, "_hf_repo") and not hasattr(rehearsal, "_url_asset")


# ---------------------------------------------------------------------------- slow: all of them


@pytest.mark.slow
def test_fetch_finds_them_offline_in_full_mode(installed, no_network):
    from voicelab.core import runtime

    assert not runtime.is_quick() and runtime.is_offline()
    assert hub.fetch(svc.CONTENTVEC) == installed["contentvec"]
    assert hub.fetch(svc.PRETRAINED_G) == installed["G_0"]
    assert hub.fetch(svc.PRETRAINED_D) == installed["D_0"]
    assert hub.fetch(rvc.RMVPE) == installed["rmvpe"]
    assert svc.hub_model() == installed["svc-example"]
    assert rvc.hub_model() == installed["rvc-example"]
    assert not (runtime.cache_dir() / "stand-ins").exists()   # cache hits, not hub's own stand-ins
    for path in installed.values():
        assert hub.is_stand_in(path), path
    assert installed["G_0"].name == "G_0.pth" and installed["D_0"].name == "D_0.pth"
    assert sorted(p.name for p in installed["contentvec"].iterdir()) == [
        ".voicelab-stand-in", "config.json", "pytorch_model.bin"]


@pytest.mark.slow
def test_second_install_writes_nothing(installed):
    before = {k: v.stat().st_mtime_ns for k, v in installed.items()}
    assert rehearsal.install_stand_ins(seed=0) == installed
    assert {k: v.stat().st_mtime_ns for k, v in installed.items()} == before


@pytest.mark.slow
def test_full_sizes(installed):
    mb = lambda p: p.stat().st_size / 1e6   # noqa: E731
    assert 370 < mb(installed["contentvec"] / "pytorch_model.bin") < 390     # real: 378 MB
    assert 540 < mb(installed["D_0"]) < 580                                 # real: ~560 MB
    assert 500 < mb(installed["G_0"]) < 600
    assert 170 < mb(installed["rmvpe"]) < 190                               # real: ~181 MB
    assert 50 < mb(installed["rvc-example"] / "model.pth") < 60             # RVC v2 40k: ~55 MB


@pytest.mark.slow
def test_contentvec_loads_with_no_missing_keys(installed):
    import torch
    from so_vits_svc_fork.utils import HubertModelWithFinalProj

    config = json.loads((installed["contentvec"] / "config.json").read_text())
    assert (config["num_hidden_layers"], config["hidden_size"], config["intermediate_size"],
            config["conv_dim"], config["classifier_proj_size"], config["architectures"]) == (
        12, 768, 3072, [512] * 7, 256, ["HubertModelWithFinalProj"])
    state = hub.load_weights(installed["contentvec"] / "pytorch_model.bin")
    assert "encoder.pos_conv_embed.conv.weight_g" in state and "final_proj.weight" in state
    _, info = HubertModelWithFinalProj.from_pretrained(installed["contentvec"],
                                                       output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    model = svc.contentvec_model()
    with torch.no_grad():
        out = model(torch.zeros(1, 16000)).last_hidden_state
    assert out.shape == (1, 49, 768)


@pytest.mark.slow
def test_pretrained_g_and_d_fit_the_4_0v1_models(installed):
    from so_vits_svc_fork.modules.descriminators import MultiPeriodDiscriminator
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    config = json.loads((CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json").read_text())
    net_g = SynthesizerTrn(config["data"]["filter_length"] // 2 + 1,
                           config["train"]["segment_size"] // config["data"]["hop_length"],
                           **config["model"])
    for key, net in (("G_0", net_g), ("D_0", MultiPeriodDiscriminator(False))):
        ckpt = hub.load_weights(installed[key])
        assert set(ckpt) == {"model", "iteration", "optimizer", "learning_rate"}
        assert svc.misfit(ckpt["model"], net) == [], key
        assert len(ckpt["optimizer"]["state"]) == len(list(net.parameters()))
    assert tuple(hub.load_weights(installed["G_0"])["model"]["emb_g.weight"].shape) == (200, 256)
    # control: a config with another speaker table does not fit, and misfit says so
    config["model"]["n_speakers"] = 1
    other = SynthesizerTrn(1025, 20, **config["model"])
    assert any("emb_g.weight" in p for p in svc.misfit(hub.load_weights(installed["G_0"])["model"], other))


@pytest.mark.slow
def test_example_svc_model_loads_for_conversion(installed):
    ckpt, config = svc.find_model(installed["svc-example"])
    assert ckpt.name == "G_106000.pth"
    model = svc._load_svc(ckpt, config, "cpu")          # refuses any misfit
    assert dict(model.spk2id.items()) == {"drake": 0}


@pytest.mark.slow
def test_rvc_model_index_and_rmvpe(installed, tmp_path):
    import numpy as np
    import torch
    from huggingface_hub_rvc.core.models import SynthesizerTrnMs768NSFsid
    from huggingface_hub_rvc.core.rmvpe import E2E

    model = rvc.load(installed["rvc-example"])
    assert (model.version, model.sample_rate, model.f0, model.speakers) == ("v2", 40000, True, 109)
    assert model.index is not None and model.index.dim == 768 and len(model.index) == 20_000
    ckpt = hub.load_weights(model.weights)
    net = SynthesizerTrnMs768NSFsid(*ckpt["config"], is_half=False)
    problems = svc.misfit(ckpt["weight"], net)
    assert problems and all(p.startswith("missing enc_q.") for p in problems)   # RVC drops enc_q
    assert {v.dtype for v in ckpt["weight"].values()} == {torch.float16}
    e2e = E2E(4, 1, (2, 2))
    e2e.load_state_dict(hub.load_weights(installed["rmvpe"]))          # strict: every key fits
    sr = 16000
    t = np.arange(sr) / sr
    y, sr_out = rvc.convert(0.3 * np.sin(2 * np.pi * 150 * t).astype(np.float32), model, sr=sr,
                            f0_method="rmvpe")
    assert sr_out == 40000 and len(y) > 0

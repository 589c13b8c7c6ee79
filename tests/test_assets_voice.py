"""The voice pipeline's Hub assets (notebooks 08-11) against the manifest: each is declared from
its entry, its tiny stand-in has the published file names and formats and goes through the loader
the FULL path uses, and a stand-in in another format than the repository's is refused.

Full-size stand-ins (the FULL rehearsal) are tested in tests/test_rehearsal.py; the slow test
here installs only RMVPE's, which has no tiny one.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from voicelab.core import hub, manifest
from voicelab.core.errors import HubOfflineError
from voicelab.voice import dataset, rehearsal, rvc, separate, svc

pytestmark = pytest.mark.usefixtures("offline_quick")


def _listed(asset) -> tuple[str, ...]:
    return tuple(f.path for f in manifest.entry(asset.manifest).files)


# ---------------------------------------------------------------------------- declarations


@pytest.mark.parametrize("asset, entry", [
    (svc.CONTENTVEC, "contentvec"), (svc.PRETRAINED_G, "so-vits-svc-G0"),
    (svc.PRETRAINED_D, "so-vits-svc-D0"), (svc.EXAMPLE_ASSET, "svc-Entreprenerdly--drake-so-vits-svc"),
    (rvc.EXAMPLE_ASSET, "rvc-sail-rvc--yoimiya-jp"), (rvc.RMVPE, "rvc-rmvpe"),
    (separate.DEMUCS_ASSET, "demucs-htdemucs"),
])
def test_each_asset_is_its_manifest_entry(asset, entry):
    e = manifest.entry(entry)
    assert asset.manifest == entry and asset.name == entry
    assert e.evidence, entry                               # every entry says where names come from
    if e.url:
        assert (asset.url, asset.filename) == (e.url, e.files[0].path)
    elif asset.filename:
        assert asset.repo_id == e.repo_id and e.file(asset.filename) is not None
    else:                                                  # a snapshot downloads exactly the list
        assert asset.repo_id == e.repo_id and asset.allow_patterns == _listed(asset)


def test_the_examples_are_the_manifest_assets_and_other_repos_stay_ad_hoc():
    assert (svc.EXAMPLE_ASSET.repo_id, svc.EXAMPLE_MODEL[1]) == svc.EXAMPLE_MODEL
    assert svc.EXAMPLE_ASSET.allow_patterns == ("config.json", svc.EXAMPLE_MODEL[1])
    assert rvc.EXAMPLE_ASSET.allow_patterns == rvc.EXAMPLE_MODEL[1:]
    assert "someone/some-svc-model" not in {e.repo_id for e in hub.MANIFEST.values()}


def test_demucs_is_loaded_from_safetensors_only():
    """demucs 4.1's files: the bag yaml and <sig>.safetensors; no .th pickle is listed."""
    e = manifest.entry("demucs-htdemucs")
    assert {f.format for f in e.files} == {"yaml", "safetensors"}
    assert not any(f.path.endswith((".th", ".pt", ".pth")) for f in e.files)


def test_demucs_class_check_allows_demucs_classes_only(tmp_path):
    from safetensors.torch import save_file

    ok, bad = tmp_path / "955717e8.safetensors", tmp_path / "other.safetensors"
    save_file({"w": torch.zeros(2)}, ok, metadata={"klass": "demucs.htdemucs.HTDemucs"})
    save_file({"w": torch.zeros(2)}, bad, metadata={"klass": "os.system"})
    separate._check_demucs_class(ok)
    with pytest.raises(separate.SeparationError, match="not a demucs model"):
        separate._check_demucs_class(bad)                 # control: another class is refused
    packed = tmp_path / "packed.safetensors"               # a class hidden in the state structure
    save_file({"w": torch.zeros(2)}, packed, metadata={
        "klass": "demucs.htdemucs.HTDemucs",
        "structure": json.dumps({"_dict": [["q", {"_class": "subprocess.Popen"}]]})})
    with pytest.raises(separate.SeparationError, match="subprocess.Popen"):
        separate._check_demucs_class(packed)
    assert manifest.FORMATS["safetensors"](ok)
    th = tmp_path / "955717e8-8726e21a.th"                # demucs 4.0's format: a torch pickle
    torch.save({"state": {}}, th)
    with pytest.raises(manifest.ManifestError, match="format"):
        manifest.check_file(manifest.entry("demucs-htdemucs"), th, "955717e8.safetensors")


# ---------------------------------------------------------------------------- ContentVec


def test_contentvec_stand_in_is_the_published_files_and_encodes_a_second():
    folder = hub.fetch(svc.CONTENTVEC)
    assert hub.is_stand_in(folder)
    assert sorted(p.name for p in folder.iterdir() if not p.name.startswith(".")) == [
        "config.json", "pytorch_model.bin"]
    assert manifest.FORMATS["torch-zip"](folder / "pytorch_model.bin")
    hub.load_weights(folder / "pytorch_model.bin")         # weights-only, nothing run
    model = svc.contentvec_model("cpu")                    # the loader FULL mode uses
    with torch.no_grad():
        out = model(torch.zeros(1, 16000)).last_hidden_state
    assert out.shape == (1, 49, 768)                       # 20 ms frames of 768 dims
    assert model.final_proj.out_features == 256


def test_contentvec_stand_in_as_safetensors_is_refused(tmp_path, monkeypatch):
    """Control: the repository publishes pytorch_model.bin, so a safetensors stand-in cannot be made."""
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "cache"))

    def as_safetensors(folder):
        from transformers import HubertConfig
        from so_vits_svc_fork.utils import HubertModelWithFinalProj

        config = HubertConfig(hidden_size=48, num_hidden_layers=1, num_attention_heads=2,
                              intermediate_size=32, conv_dim=(8,) * 7, num_conv_pos_embeddings=4,
                              num_conv_pos_embedding_groups=2, classifier_proj_size=16)
        HubertModelWithFinalProj(config).save_pretrained(folder, safe_serialization=True)

    with pytest.raises(manifest.ManifestError, match="model.safetensors is not a file"):
        hub.fetch(hub.asset("contentvec", stand_in=as_safetensors))
    assert not (tmp_path / "cache" / "stand-ins" / "contentvec").exists()


# ---------------------------------------------------------------------------- the examples


def test_svc_example_stand_in_is_the_published_files_and_loads_for_conversion():
    folder = svc.hub_model()
    assert hub.is_stand_in(folder) and folder.name == svc.EXAMPLE_ASSET.name
    manifest.check_folder(manifest.entry(svc.EXAMPLE_ASSET.manifest), folder,
                          ignore=(hub.STAND_IN_MARKER,))
    ckpt, config = svc.find_model(folder)
    assert ckpt.name == "G_106000.pth"
    model = svc._load_svc(ckpt, config, "cpu")             # what convert() loads, misfits refused
    assert dict(model.spk2id.items()) == json.loads(config.read_text())["spk"]


def test_svc_example_stand_in_in_another_format_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "cache"))

    def generator_as_safetensors(folder):
        (folder / "config.json").write_text("{}")
        from safetensors.torch import save_file

        save_file({"w": torch.zeros(2)}, folder / "G_106000.pth")

    asset = hub.asset(svc.EXAMPLE_ASSET.manifest, stand_in=generator_as_safetensors)
    with pytest.raises(manifest.ManifestError, match="G_106000.pth is not in the format"):
        hub.fetch(asset)


def test_rvc_example_stand_in_is_the_published_files_and_converts():
    folder = rvc.hub_model()
    assert hub.is_stand_in(folder)
    manifest.check_folder(manifest.entry(rvc.EXAMPLE_ASSET.manifest), folder,
                          ignore=(hub.STAND_IN_MARKER,))
    model = rvc.load(folder)                               # the FULL loader: checked, weights-only
    assert model.index is not None and model.index.dim == 768
    sr = 16000
    t = np.arange(sr // 2) / sr
    y, sr_out = rvc.convert((0.3 * np.sin(2 * np.pi * 150 * t)).astype(np.float32), model, sr=sr,
                            f0_method="pm")
    assert sr_out == 40000 and len(y) > 0 and np.isfinite(y).all()


def test_rvc_example_index_in_another_format_is_refused(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "cache"))

    def index_as_numpy(folder):
        rvc.write_tiny_model(folder, index_name=None)
        np.save(folder / "model.npy", np.zeros((4, 768), np.float32))
        (folder / "model.npy").rename(folder / "model.index")

    with pytest.raises(manifest.ManifestError, match="model.index is not in the format"):
        hub.fetch(hub.asset(rvc.EXAMPLE_ASSET.manifest, stand_in=index_as_numpy))


# ---------------------------------------------------------------------------- RMVPE, LJ Speech


def test_rmvpe_in_the_old_pickle_format_is_refused(tmp_path, monkeypatch):
    """Control for the full-size stand-in: rmvpe.pt must be a zip torch.save, as published."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def legacy(path):
        torch.save({"w": torch.zeros(2)}, path, _use_new_zipfile_serialization=False)

    with pytest.raises(manifest.ManifestError, match="rmvpe.pt is not in the format"):
        hub.install_stand_in(hub.asset("rvc-rmvpe", filename="rmvpe.pt", full_stand_in=legacy))
    with pytest.raises(HubOfflineError):
        hub.fetch(hub.asset("rvc-rmvpe", filename="rmvpe.pt"))


@pytest.mark.slow
def test_rmvpe_full_stand_in_loads_strictly_and_runs(tmp_path, monkeypatch):
    from huggingface_hub_rvc.core.rmvpe import E2E

    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = hub.install_stand_in(rvc.RMVPE)
    assert hub.fetch(rvc.RMVPE) == path and hub.is_stand_in(path)
    net = E2E(4, 1, (2, 2))
    net.load_state_dict({k: v.float() for k, v in hub.load_weights(path).items()})   # strict
    with torch.no_grad():
        out = net.eval()(torch.zeros(1, 128, 32))          # mel (batch, 128 bins, frames)
    assert out.shape == (1, 32, 360)                       # 360 pitch bins per frame
    assert rehearsal.install_stand_ins(only=["rmvpe"]) == {"rmvpe": path}   # kept, not rewritten


def test_ljspeech_clips_are_url_assets_of_the_manifest_entry():
    asset = dataset._example_clip("LJ001-0001")
    assert asset.manifest == "ljspeech" and asset.url == (
        "https://huggingface.co/datasets/flexthink/ljspeech/resolve/"
        "7367bcc33648be329bbef057cc97d0b83cadee11/wavs/LJ001-0001.wav")   # as before: same cache
    with pytest.raises(ValueError, match="not one of the clips"):
        dataset._example_clip("LJ050-0001")
    with pytest.raises(HubOfflineError, match="LJ Speech"):
        dataset.example_voice(2)

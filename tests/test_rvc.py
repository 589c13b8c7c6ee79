"""voicelab.voice.rvc: the retrieval index, the probe that measures it, community RVC models."""
from __future__ import annotations

import shutil

import numpy as np
import pytest
import soundfile
import torch

from voicelab import UnsafeModelError
from voicelab.core.errors import MissingFileError, UnknownSpeakerError
from voicelab.core import hub
from voicelab.data import speech
from voicelab.voice import app, disclosure, metrics, rvc, svc


pytestmark = pytest.mark.usefixtures("offline_app")


@pytest.fixture(scope="module")
def community():
    """The offline stand-in of the example community model, checked by rvc.load."""
    return rvc.load(rvc.hub_model(*rvc.EXAMPLE_MODEL))


def two_speakers(n=600, seed=0, dim=16):
    """Frames of two synthetic 'speakers': random content, each speaker with its own offset."""
    rng = np.random.default_rng(seed)
    a, b = rng.normal(scale=3.0, size=(2, dim))
    return ((rng.normal(size=(n, dim)) + a).astype(np.float32),
            (rng.normal(size=(n, dim)) + b).astype(np.float32))


# ---------------------------------------------------------------------------- the index


def test_retrieve_weights_neighbours_as_rvc_does_one_over_distance_to_the_fourth():
    import faiss

    rng = np.random.default_rng(1)
    keys = rng.normal(size=(50, 4)).astype(np.float32)
    query = rng.normal(size=(7, 4)).astype(np.float32)
    index = rvc.FeatureIndex(keys, speaker="x", k=3)
    d = np.linalg.norm(query[:, None] - keys[None], axis=2)
    nearest = np.argsort(d, axis=1)[:, :3]
    # RVC's own lines, on a faiss L2 index (which returns squared distances)
    flat = faiss.IndexFlatL2(4)
    flat.add(keys)
    score, ix = flat.search(query, 3)
    np.testing.assert_allclose(score, np.take_along_axis(d, nearest, axis=1) ** 2, rtol=1e-4)
    weight = np.square(1 / score)
    weight /= weight.sum(axis=1, keepdims=True)
    expected = np.sum(keys[ix] * np.expand_dims(weight, axis=2), axis=1)
    np.testing.assert_allclose(index.retrieve(query), expected, rtol=1e-4, atol=1e-5)
    # control: weights of 1/d^2 give a different average
    w2 = 1 / np.take_along_axis(d, nearest, axis=1) ** 2
    by_d2 = (keys[nearest] * (w2 / w2.sum(1, keepdims=True))[..., None]).sum(1)
    assert np.abs(index.retrieve(query) - by_d2).max() > 1e-2
    dist, idx = index.search(query)
    assert (np.sort(idx, 1) == np.sort(nearest, 1)).all() and (np.diff(dist, axis=1) >= 0).all()
    np.testing.assert_array_equal(index.blend(query, 0.0), query)
    np.testing.assert_allclose(index.blend(query, 1.0), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(index.blend(query, 0.25), 0.25 * expected + 0.75 * query,
                               rtol=1e-4, atol=1e-5)
    # a query frame that is in the index retrieves (almost) itself
    np.testing.assert_allclose(index.retrieve(keys[:3]), keys[:3], atol=1e-4)


def test_index_rejects_bad_input():
    with pytest.raises(ValueError, match="non-empty"):
        rvc.FeatureIndex(np.zeros((0, 4)))
    with pytest.raises(ValueError, match="NaN"):
        rvc.FeatureIndex(np.full((3, 4), np.nan))
    index = rvc.FeatureIndex(np.ones((3, 4)))
    with pytest.raises(ValueError, match=r"shape \(frames, 4\)"):
        index.retrieve(np.ones((2, 5)))
    with pytest.raises(ValueError, match="between 0 and 1"):
        index.blend(np.ones((2, 4)), 1.5)


def test_index_saves_as_safetensors_and_reads_faiss_index_files(tmp_path):
    import faiss

    feats = np.random.default_rng(0).normal(size=(20, 8)).astype(np.float32)
    index = rvc.FeatureIndex(feats, speaker="slt", k=5)
    back = rvc.FeatureIndex.load(index.save(tmp_path / "i.safetensors"))
    assert (back.speaker, back.k) == ("slt", 5)
    np.testing.assert_array_equal(back.features, feats)
    flat = faiss.IndexFlatL2(8)
    flat.add(feats)
    faiss.write_index(flat, str(tmp_path / "added_x_v2.index"))
    np.testing.assert_array_equal(rvc.FeatureIndex.load(tmp_path / "added_x_v2.index").features, feats)
    (tmp_path / "bad.index").write_bytes(b"not an index")
    with pytest.raises(hub.ModelFileError, match="bad.index"):
        rvc.FeatureIndex.load(tmp_path / "bad.index")


def test_index_plugs_into_so_vits_svc_cluster_hook():
    from so_vits_svc_fork import cluster

    a, _ = two_speakers()
    index = rvc.FeatureIndex(a, speaker="a")
    x = np.random.default_rng(3).normal(size=(9, a.shape[1])).astype(np.float32)
    hook = index.as_cluster_model("slt")
    np.testing.assert_allclose(cluster.get_cluster_center_result(hook, x, "slt"), index.retrieve(x))


def test_retrieval_moves_frames_to_the_target_and_the_control_does_not():
    a, b = two_speakers()
    probe = rvc.speaker_probe({"a": a[:150], "b": b[:150]})
    target, control = rvc.FeatureIndex(b[150:], "b"), rvc.FeatureIndex(a[150:300], "a")
    source = a[300:]                         # in neither the probe's data nor an index
    assert rvc.speaker_share(probe, source, "b") < 0.2
    assert rvc.speaker_share(probe, target.blend(source, 1.0), "b") > 0.9
    assert rvc.speaker_share(probe, control.blend(source, 1.0), "b") < 0.2   # the check can fail
    shares = [rvc.speaker_share(probe, target.blend(source, r), "b") for r in (0, 0.5, 1)]
    assert shares == sorted(shares)
    with pytest.raises(UnknownSpeakerError, match="^Speaker 'c' is not one the probe knows: a, b.$"):
        rvc.speaker_share(probe, source, "c")
    with pytest.raises(ValueError, match="at least 2 speakers"):
        rvc.speaker_probe({"a": a})


def test_build_index_reads_the_runs_features(tiny_run):
    index = rvc.build_index(tiny_run)
    n = sum(hub.load_weights(p)["content"].shape[1]
            for p in (tiny_run / "dataset" / "44k" / "slt").glob("*.data.pt"))
    assert (index.speaker, len(index), index.dim) == ("slt", n, 768)
    assert len(rvc.build_index(tiny_run, max_frames=50)) == 50
    first = hub.load_weights(tiny_run / "dataset" / "44k" / "slt" / "slt_000.wav.data.pt")["content"]
    assert len(rvc.build_index(tiny_run, exclude=["slt_000.wav"])) == n - first.shape[1]
    with pytest.raises(MissingFileError, match="speaker 'rms' in .*44k: run voicelab.voice.svc.prepare"):
        rvc.build_index(tiny_run, speaker="rms")


def test_build_index_keeps_one_copy_of_pre_huberts_repeated_frames(tmp_path):
    folder = tmp_path / "dataset" / "44k" / "slt"
    folder.mkdir(parents=True)
    frames = torch.randn(768, 40)
    torch.save({"content": torch.repeat_interleave(frames, 2, dim=1)}, folder / "a.wav.data.pt")
    np.testing.assert_array_equal(rvc.build_index(tmp_path).features, frames.numpy().T)


def test_svc_convert_blends_with_a_retrieval_index(tiny_run):
    from voicelab import audio

    index = rvc.build_index(tiny_run)
    y, sr_in = audio.load(speech.example("rms", 0))
    y = y[:int(1.5 * sr_in)]                     # 1.5 s is enough and keeps the test short
    y0, sr = svc.convert(y, tiny_run, sr=sr_in, noise_scale=0.0)
    y1, _ = svc.convert(y, tiny_run, sr=sr_in, cluster=index, cluster_ratio=1.0, noise_scale=0.0)
    assert sr == 44100 and y0.shape == y1.shape
    assert not np.allclose(y0, y1, atol=1e-3)   # the features the decoder saw were changed


# ---------------------------------------------------------------------------- models


def test_hub_model_offline_is_a_stand_in_in_rvcs_own_layout(community, tmp_path):
    assert hub.is_stand_in(community.folder)
    assert (community.weights.name, community.index_path.name) == ("model.pth", "model.index")
    assert (community.version, community.sample_rate, community.f0, community.speakers) == \
        ("v2", 40000, True, 1)
    assert community.index.dim == 768 and len(community.index) > 100
    raw = torch.load(community.weights, weights_only=True)
    assert set(raw) == {"weight", "config", "info", "sr", "f0", "version"}
    assert rvc.is_rvc_model(community.folder) and rvc.is_rvc_model(community)
    assert not rvc.is_rvc_model(svc.write_tiny_model(tmp_path / "svc", speakers=("slt",)))
    hub.save_weights({"w": torch.zeros(2)}, tmp_path / "other" / "model.safetensors")
    assert not rvc.is_rvc_model(tmp_path / "other")
    with pytest.raises(ValueError, match=".pth or .safetensors"):
        rvc.hub_model("someone/model", "model.onnx")


def test_contentvec_folder_follows_its_source_when_the_stand_in_is_rebuilt(tmp_path, monkeypatch):
    """The Transformers folder RVC reads links to ContentVec's files. When the stand-in is rebuilt
    in another format (an older voicelab wrote model.safetensors; the repository publishes
    pytorch_model.bin), the folder is made again instead of keeping links to files that are gone
    (this failed in CI with a cache from an earlier run)."""
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "cache"))
    source = tmp_path / "contentvec"
    source.mkdir()
    (source / "config.json").write_text("{}")
    (source / "model.safetensors").write_bytes(b"old")
    monkeypatch.setattr(rvc.hub, "fetch", lambda asset: source)
    first = rvc._hubert_dir()
    assert (first / "model.safetensors").read_bytes() == b"old"
    assert (first / "preprocessor_config.json").is_file()

    (source / "model.safetensors").unlink()
    (source / "pytorch_model.bin").write_bytes(b"new")
    # control: the folder as it stands now holds a link to nothing and no weights
    assert (first / "model.safetensors").is_symlink() and not (first / "model.safetensors").exists()
    assert not (first / "pytorch_model.bin").exists()

    again = rvc._hubert_dir()
    assert again == first
    assert (again / "pytorch_model.bin").read_bytes() == b"new"
    assert not (again / "model.safetensors").is_symlink()
    assert sorted(f.name for f in again.iterdir()) == [
        "config.json", "preprocessor_config.json", "pytorch_model.bin"]
    # unchanged source: the folder is kept as it is
    mtime = (again / "preprocessor_config.json").stat().st_mtime_ns
    assert rvc._hubert_dir() == again
    assert (again / "preprocessor_config.json").stat().st_mtime_ns == mtime


def test_rvc_convert_follows_the_pitch_shift(community):
    from voicelab import audio

    y_src, sr_src = audio.load(speech.example("rms", 0))
    y_src = y_src[:int(2 * sr_src)]               # 2 s: enough voiced frames, a shorter test
    f0_src = metrics.f0_contour(y_src, sr_src, method="dio")
    median = {}
    for t in (0, 12):
        y, sr = rvc.convert(y_src, community, sr=sr_src, transpose=t, index_ratio=0.5)
        f0 = metrics.f0_contour(y, sr, method="dio")
        median[t] = np.median(f0[f0 > 0])
    assert sr == 40000 and abs(len(y) / sr - len(y_src) / sr_src) < 0.05
    assert abs(12 * np.log2(median[12] / median[0]) - 12) < 1.0
    assert abs(12 * np.log2(median[0] / np.median(f0_src[f0_src > 0]))) < 1.0


def test_rvc_convert_rejects_bad_settings(community):
    src = speech.example("rms", 0)
    with pytest.raises(ValueError, match="offers rmvpe, pm"):
        rvc.convert(src, community, f0_method="crepe")
    with pytest.raises(ValueError, match="index_ratio"):
        rvc.convert(src, community, index_ratio=2)
    with pytest.raises(ValueError, match="speaker ids 0..0"):
        rvc.convert(src, community, speaker=3)
    with pytest.raises(hub.HubOfflineError):      # RMVPE's weights: FULL mode only
        rvc.convert(src, community, f0_method="rmvpe")


class _WouldRunCode:
    """Unpickling this creates a file: proof of whether a loader ran code from a model file."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        from pathlib import Path

        return Path.touch, (Path(self.marker),)


def test_load_refuses_a_pth_that_needs_full_unpickling_and_runs_nothing(community, tmp_path):
    folder = tmp_path / "evil"
    folder.mkdir()
    ckpt = torch.load(community.weights, weights_only=True)
    ckpt["info"] = _WouldRunCode(tmp_path / "ran.txt")
    torch.save(ckpt, folder / "model.pth")
    with pytest.raises(UnsafeModelError, match="torch >= 2.6") as err:
        rvc.load(folder)
    assert "pathlib" in str(err.value) and not (tmp_path / "ran.txt").exists()
    # the same file unpickled the unsafe way does run the code: the test can tell
    torch.load(folder / "model.pth", weights_only=False)
    assert (tmp_path / "ran.txt").exists()


def test_load_explains_files_that_are_not_rvc_inference_models(community, tmp_path):
    torch.save({"model": {"w": torch.zeros(2)}, "iteration": 3}, tmp_path / "G_3.pth")
    with pytest.raises(rvc.RVCError, match="training checkpoint"):
        rvc.load(tmp_path / "G_3.pth")
    torch.save({"w": torch.zeros(2)}, tmp_path / "other.pth")
    with pytest.raises(rvc.RVCError, match="no 'weight' and 'config'"):
        rvc.load(tmp_path / "other.pth")
    with pytest.raises(rvc.RVCError, match="several model files"):
        rvc.load(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(rvc.RVCError, match="No RVC model"):
        rvc.load(tmp_path / "empty")
    import faiss

    wrong = tmp_path / "wrong-index"
    shutil.copytree(community.folder, wrong)
    flat = faiss.IndexFlatL2(256)                 # v1-sized features next to a v2 model
    flat.add(np.ones((4, 256), np.float32))
    faiss.write_index(flat, str(wrong / "model.index"))
    with pytest.raises(rvc.RVCError, match="256-dim"):
        rvc.load(wrong)


def test_app_serves_an_rvc_model_with_an_index_ratio_slider(community):
    from gradio_client import Client, handle_file

    demo = app.build_app(community.folder, with_mos=False)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None,
                inline=False, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        out, table = client.predict(handle_file(str(speech.example("rms", 1))), 0, "pm", 0.75,
                                    api_name="/convert")
        assert soundfile.info(out).samplerate == 40000 and disclosure.is_marked_synthetic(out)
        assert table["headers"] == app.SCORE_HEADERS
    finally:
        demo.close()

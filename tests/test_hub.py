"""Tests for voicelab.core.hub: registry, offline rule, stand-ins, checksums, safe weight loading.

Nothing here reaches the internet: sockets may only connect to 127.0.0.1, Hub downloads
are replaced by fakes that write into a Hugging Face cache under tmp_path, and every
cache (VOICELAB_CACHE, HF_HOME) points into tmp_path.
"""
from __future__ import annotations

import functools
import hashlib
import http.server
import os
import pathlib
import pickle
import random
import threading

import huggingface_hub
import pytest
import torch

import voicelab
from voicelab.core import hub
from voicelab.core.errors import ChecksumError, HubOfflineError, UnsafeModelError, VoicelabError

COMMIT = "0123456789abcdef0123456789abcdef01234567"


# ---------------------------------------------------------------------------- fixtures


pytestmark = pytest.mark.usefixtures("sandbox")


@pytest.fixture
def full_mode(monkeypatch):
    """FULL mode with HF_HUB_OFFLINE unset: downloads are allowed."""
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)


@pytest.fixture
def hub_calls(monkeypatch):
    """Record hf_hub_download/snapshot_download calls; any networked call fails the test."""
    calls = []

    def guard(real):
        @functools.wraps(real)
        def wrapper(*args, **kwargs):
            calls.append(kwargs)
            assert kwargs.get("local_files_only") is True, "a network download was attempted offline"
            return real(*args, **kwargs)
        return wrapper

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", guard(huggingface_hub.hf_hub_download))
    monkeypatch.setattr(huggingface_hub, "snapshot_download",
                        guard(huggingface_hub.snapshot_download))
    return calls


@pytest.fixture
def no_urlopen(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("urlopen called while offline")

    monkeypatch.setattr(hub.urllib.request, "urlopen", refuse)


def put_in_hf_cache(repo_id: str, filename: str, data: bytes) -> pathlib.Path:
    """Lay out a file the way huggingface_hub caches it (refs, blobs, snapshot symlink)."""
    repo = hub.hf_cache_dir() / ("models--" + repo_id.replace("/", "--"))
    (repo / "refs").mkdir(parents=True, exist_ok=True)
    (repo / "refs" / "main").write_text(COMMIT)
    blob = repo / "blobs" / hashlib.sha256(data).hexdigest()
    blob.parent.mkdir(parents=True, exist_ok=True)
    blob.write_bytes(data)
    link = repo / "snapshots" / COMMIT / filename
    link.parent.mkdir(parents=True, exist_ok=True)
    link.symlink_to(os.path.relpath(blob, link.parent))
    return link


def tiny_weights_stand_in(calls: list):
    def build(path: pathlib.Path):
        calls.append(path)
        hub.save_weights({"proj.weight": torch.randn(4, 3), "proj.bias": torch.zeros(4)}, path)
    return build


# ---------------------------------------------------------------------------- registry


def test_hub_is_reachable_from_package():
    assert voicelab.core.hub is hub


def test_asset_validation():
    asset = hub.Asset("tiny", repo_id="org/tiny", filename="model.safetensors",
                      description="a tiny test model")
    assert asset.source == "org/tiny/model.safetensors" and not asset.is_snapshot
    snap = hub.Asset("snap", repo_id="org/snap", allow_patterns=["*.json", "*.safetensors"])
    assert snap.is_snapshot and snap.allow_patterns == ("*.json", "*.safetensors") and hash(snap)
    with pytest.raises(ValueError, match="exactly one"):
        hub.Asset("both", repo_id="org/x", url="https://example.org/x.bin")
    with pytest.raises(ValueError, match="exactly one"):
        hub.Asset("neither")
    with pytest.raises(ValueError, match="folder name"):
        hub.Asset("a/b", repo_id="org/x", filename="x.bin")
    with pytest.raises(ValueError, match="SHA-256"):
        hub.Asset("bad-sha", repo_id="org/x", filename="x.bin", sha256="1234")
    with pytest.raises(ValueError, match="single file"):
        hub.Asset("snap-sha", repo_id="org/x", sha256="0" * 64)
    with pytest.raises(TypeError, match="takes an Asset"):  # no global registry of names
        hub.fetch("tiny")
    assert not hasattr(hub, "ASSETS") and not hasattr(hub, "register")


# ---------------------------------------------------------------------------- offline rule


def test_offline_nothing_cached_raises_without_network(hub_calls):
    cv = hub.Asset("cv", repo_id="lengyue233/content-vec-best", filename="pytorch_model.bin")
    with pytest.raises(HubOfflineError) as info:
        hub.fetch(cv)
    msg = str(info.value)
    assert "lengyue233/content-vec-best/pytorch_model.bin" in msg
    assert "missing" in msg and "QUICK" in msg
    assert "FULL mode" in msg and "hf download lengyue233/content-vec-best pytorch_model.bin" in msg
    assert "huggingface-cli download" in msg and str(hub.hf_cache_dir()) in msg
    assert len(hub_calls) == 1 and hub_calls[0]["local_files_only"] is True
    assert hub_calls[0]["cache_dir"] == str(hub.hf_cache_dir())


def test_hf_hub_offline_env_alone_is_offline(monkeypatch, hub_calls):
    monkeypatch.setenv("VOICELAB_QUICK", "0")  # FULL mode, but HF_HUB_OFFLINE wins
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(HubOfflineError, match="HF_HUB_OFFLINE=1") as info:
        hub.hf_snapshot("org/some-repo", revision="v2")
    assert "org/some-repo" in str(info.value) and "--revision v2" in str(info.value)
    assert hub_calls and all(c["local_files_only"] is True for c in hub_calls)


def test_offline_url_not_cached(no_urlopen):
    with pytest.raises(HubOfflineError) as info:
        hub.url_file("https://example.org/data/speech.wav")
    msg = str(info.value)
    assert "https://example.org/data/speech.wav" in msg and "missing" in msg
    assert str(hub.runtime.cache_dir() / "downloads") in msg and "speech.wav" in msg


def test_offline_stand_in_built_once(hub_calls):
    built = []
    tiny = hub.Asset("tiny", repo_id="org/tiny", filename="weights/model.safetensors",
                     stand_in=tiny_weights_stand_in(built))
    first = hub.fetch(tiny)
    assert first == hub.runtime.cache_dir() / "stand-ins" / "tiny" / "weights" / "model.safetensors"
    assert hub.is_stand_in(first) and hub.is_stand_in(first.parent)
    assert len(built) == 1
    assert set(hub.load_weights(first)) == {"proj.weight", "proj.bias"}
    mtime = first.stat().st_mtime_ns
    second = hub.fetch(tiny)
    assert second == first and len(built) == 1 and first.stat().st_mtime_ns == mtime
    assert all(c["local_files_only"] is True for c in hub_calls)
    # no temporary build folders are left next to it
    assert sorted(p.name for p in first.parents[1].parent.iterdir()) == ["tiny"]


def test_offline_snapshot_stand_in(hub_calls):
    def build(folder):
        (folder / "config.json").write_text('{"hidden_size": 8}')

    repo = hub.Asset("repo", repo_id="org/repo", stand_in=build)
    folder = hub.fetch(repo)
    assert folder.is_dir() and (folder / "config.json").is_file()
    assert hub.is_stand_in(folder) and hub.is_stand_in(folder / "config.json")


def test_stand_in_that_fails_leaves_nothing(hub_calls):
    def broken(path):
        path.write_bytes(b"partial")
        raise RuntimeError("boom")

    failing = hub.Asset("broken", repo_id="org/b", filename="m.bin", stand_in=broken)
    with pytest.raises(RuntimeError, match="boom"):
        hub.fetch(failing)
    lazy = hub.Asset("lazy", repo_id="org/l", filename="m.bin", stand_in=lambda p: None)
    with pytest.raises(VoicelabError, match="wrote nothing"):
        hub.fetch(lazy)
    assert list((hub.runtime.cache_dir() / "stand-ins").iterdir()) == []


def test_cached_file_used_offline_before_stand_in(hub_calls):
    data = b"real weights"
    link = put_in_hf_cache("org/tiny", "model.bin", data)
    built = []
    tiny = hub.Asset("tiny", repo_id="org/tiny", filename="model.bin",
                     sha256=hashlib.sha256(data).hexdigest(), stand_in=tiny_weights_stand_in(built))
    path = hub.fetch(tiny)
    assert path == link and path.read_bytes() == data
    assert not hub.is_stand_in(path) and built == []
    assert hub.hf_snapshot("org/tiny") == link.parent
    assert all(c["local_files_only"] is True for c in hub_calls)


def test_cached_url_file_used_offline(no_urlopen):
    url = "https://example.org/files/table.csv"
    dest = hub._url_cache_path(url, None)
    dest.parent.mkdir(parents=True)
    dest.write_text("a,b\n1,2\n")
    assert hub.url_file(url) == dest
    assert hub.url_file(url, sha256=hub.sha256sum(dest)) == dest


def test_is_stand_in_false_for_ordinary_files(tmp_path):
    f = tmp_path / "model.safetensors"
    f.write_bytes(b"x")
    assert not hub.is_stand_in(f) and not hub.is_stand_in(tmp_path / "missing.bin")


# ---------------------------------------------------------------------------- downloads, checksums


def fake_download(monkeypatch, payload: bytes, calls: list):
    """Replace hf_hub_download by one that 'downloads' payload into the HF cache layout."""
    def download(repo_id, filename, *, revision=None, cache_dir=None, local_files_only=False, **kw):
        calls.append(dict(repo_id=repo_id, filename=filename, cache_dir=cache_dir,
                          local_files_only=local_files_only))
        assert cache_dir == str(hub.hf_cache_dir())
        return str(put_in_hf_cache(repo_id, filename, payload))

    monkeypatch.setattr(huggingface_hub, "hf_hub_download", download)


def test_hf_file_downloads_in_full_mode_and_checks_sha(monkeypatch, full_mode):
    payload, calls = b"weights" * 100, []
    fake_download(monkeypatch, payload, calls)
    good = hashlib.sha256(payload).hexdigest()
    path = hub.hf_file("org/tiny", "model.bin", sha256=good.upper())
    assert path.read_bytes() == payload and calls[0]["local_files_only"] is False


def test_hf_file_checksum_mismatch_discards_file(monkeypatch, full_mode):
    payload, calls = b"corrupted download", []
    fake_download(monkeypatch, payload, calls)
    wrong = "f" * 64
    with pytest.raises(ChecksumError) as info:
        hub.hf_file("org/tiny", "model.bin", sha256=wrong)
    msg = str(info.value)
    got = hashlib.sha256(payload).hexdigest()
    assert "org/tiny/model.bin" in msg and wrong in msg and got in msg
    repo = hub.hf_cache_dir() / "models--org--tiny"
    assert not (repo / "snapshots" / COMMIT / "model.bin").exists()
    assert not (repo / "snapshots" / COMMIT / "model.bin").is_symlink()
    assert not (repo / "blobs" / got).exists()


def test_hf_file_offline_cached_but_corrupt(hub_calls):
    link = put_in_hf_cache("org/tiny", "model.bin", b"bit rot")
    with pytest.raises(ChecksumError):
        hub.hf_file("org/tiny", "model.bin", sha256="0" * 64)
    assert not link.exists()


def test_url_file_checksum_match_and_mismatch(tmp_path, full_mode):
    src = tmp_path / "source" / "clip.bin"
    src.parent.mkdir()
    data = random.Random(1).randbytes(50_000)
    src.write_bytes(data)
    url = src.as_uri()
    wrong = "0" * 64
    with pytest.raises(ChecksumError) as info:
        hub.url_file(url, sha256=wrong)
    msg = str(info.value)
    assert url in msg and wrong in msg and hashlib.sha256(data).hexdigest() in msg
    folder = hub._url_cache_path(url, None).parent
    assert list(folder.iterdir()) == []  # neither the file nor a temporary part is kept

    path = hub.url_file(url, sha256=hashlib.sha256(data).hexdigest())
    assert path.read_bytes() == data and path.name == "clip.bin"
    assert src.read_bytes() == data  # the source is untouched


def test_url_file_redownloads_bad_cached_copy(tmp_path, full_mode):
    src = tmp_path / "good.txt"
    src.write_text("good content")
    dest = hub._url_cache_path(src.as_uri(), "renamed.txt")
    dest.parent.mkdir(parents=True)
    dest.write_text("stale")
    path = hub.url_file(src.as_uri(), sha256=hub.sha256sum(src), filename="renamed.txt")
    assert path == dest and path.read_text() == "good content"


def test_url_file_over_local_http(tmp_path, full_mode, monkeypatch):
    served = tmp_path / "www"
    served.mkdir()
    (served / "voice.txt").write_text("hello from http")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    monkeypatch.setattr(http.server.SimpleHTTPRequestHandler, "log_message", lambda *a: None)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        base = f"http://127.0.0.1:{server.server_address[1]}"
        path = hub.url_file(f"{base}/voice.txt")
        assert path.read_text() == "hello from http"
        with pytest.raises(hub.DownloadError, match="missing.txt"):
            hub.url_file(f"{base}/missing.txt")
    finally:
        server.shutdown()
        server.server_close()
    # offline afterwards: the cached copy is still found
    monkeypatch.setenv("VOICELAB_QUICK", "1")
    assert hub.url_file(f"{base}/voice.txt") == path


def test_sha256sum(tmp_path):
    f = tmp_path / "x.bin"
    f.write_bytes(b"abc")
    assert hub.sha256sum(f) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


# ---------------------------------------------------------------------------- weights


def test_safetensors_round_trip(tmp_path):
    sd = {"enc.weight": torch.randn(3, 5), "enc.bias": torch.arange(3, dtype=torch.float16)}
    sd["tied"] = sd["enc.weight"]  # shared storage is stored as a copy
    path = hub.save_weights(sd, tmp_path / "out" / "model.safetensors")
    loaded = hub.load_weights(path)
    assert set(loaded) == set(sd)
    for k in sd:
        assert loaded[k].dtype == sd[k].dtype and torch.equal(loaded[k], sd[k])
    assert [p.name for p in path.parent.iterdir()] == ["model.safetensors"]  # no temp files


def test_save_weights_refuses_non_tensors_and_wrong_suffix(tmp_path):
    with pytest.raises(TypeError, match="iteration"):
        hub.save_weights({"w": torch.zeros(2), "iteration": 3}, tmp_path / "m.safetensors")
    with pytest.raises(ValueError, match="safetensors"):
        hub.save_weights({"w": torch.zeros(2)}, tmp_path / "m.pth")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("suffix", [".pth", ".pt", ".bin", ".ckpt"])
def test_torch_weights_only_round_trip(tmp_path, suffix):
    sd = {"conv.weight": torch.randn(2, 1, 3), "conv.bias": torch.zeros(2)}
    ckpt = tmp_path / f"G_3{suffix}"
    torch.save(sd, ckpt)
    loaded = hub.load_weights(ckpt)
    assert set(loaded) == set(sd) and all(torch.equal(loaded[k], sd[k]) for k in sd)


def test_so_vits_svc_like_checkpoint(tmp_path):
    sd = {"emb_g.weight": torch.randn(4, 8)}
    opt = torch.optim.AdamW([torch.nn.Parameter(torch.zeros(2))], lr=1e-4).state_dict()
    ckpt = tmp_path / "G_3.pth"
    torch.save({"model": sd, "iteration": 3, "optimizer": opt, "learning_rate": 1e-4}, ckpt)
    loaded = hub.load_weights(ckpt)
    assert loaded["iteration"] == 3 and loaded["learning_rate"] == pytest.approx(1e-4)
    assert torch.equal(loaded["model"]["emb_g.weight"], sd["emb_g.weight"])
    assert loaded["optimizer"]["param_groups"][0]["lr"] == pytest.approx(1e-4)


class OpenFile:
    """Unpickling this calls open(target, "w"): it creates a file. Only ever pickled here."""

    def __init__(self, target):
        self.target = str(target)

    def __reduce__(self):
        return (open, (self.target, "w"))


class TouchFile:
    """Unpickling this calls pathlib.Path.touch(target)."""

    def __init__(self, target):
        self.target = pathlib.Path(target)

    def __reduce__(self):
        return (pathlib.Path.touch, (self.target,))


def write_payload(path, obj, fmt):
    if fmt == "torch-zip":
        torch.save({"model": obj, "iteration": 1}, path)
    elif fmt == "torch-legacy":
        torch.save({"model": obj}, path, _use_new_zipfile_serialization=False)
    else:
        with open(path, "wb") as f:
            pickle.dump(obj, f)


def test_payload_is_live(tmp_path):
    """The payloads really act when fully unpickled (so the refusal tests below mean something)."""
    target = tmp_path / "created-by-pickle"
    pickle.loads(pickle.dumps(OpenFile(target))).close()
    assert target.exists()


@pytest.mark.parametrize("fmt", ["torch-zip", "torch-legacy", "raw-pickle"])
@pytest.mark.parametrize("payload", [OpenFile, TouchFile])
def test_malicious_pth_is_refused_and_never_runs(tmp_path, fmt, payload):
    target = tmp_path / "PWNED"
    ckpt = tmp_path / "evil.pth"
    write_payload(ckpt, payload(target), fmt)
    assert ckpt.stat().st_size > 0 and not target.exists()
    with pytest.raises(UnsafeModelError) as info:
        hub.load_weights(ckpt)
    msg = str(info.value)
    assert str(ckpt) in msg and "arbitrary code" in msg and ".safetensors" in msg
    assert "Nothing in the file was run" in msg and "trust" in msg
    assert isinstance(info.value.__cause__, Exception)
    assert not target.exists()
    if payload is OpenFile:  # the message names what the file asks for
        assert "io.open" in msg or "builtins.open" in msg


def test_numpy_checkpoint_needs_unpickling(tmp_path):
    np = pytest.importorskip("numpy")
    ckpt = tmp_path / "np.pth"
    torch.save({"w": np.zeros(3)}, ckpt)
    with pytest.raises(UnsafeModelError):
        hub.load_weights(ckpt)


def _write_garbage(path, kind):
    if kind == "text":
        path.write_text("this is not a model\n" * 10)
    elif kind == "random":
        path.write_bytes(random.Random(0).randbytes(4096))
    elif kind == "html":
        path.write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    elif kind == "lfs":
        path.write_text("version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n")
    elif kind == "truncated":
        torch.save({"w": torch.randn(64, 64)}, path)
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
@pytest.mark.parametrize("kind", ["text", "random", "html", "lfs", "truncated"])
def test_garbage_files_give_clear_error(tmp_path, suffix, kind):
    path = tmp_path / f"model{suffix}"
    _write_garbage(path, kind)
    before = path.read_bytes()
    with pytest.raises(hub.ModelFileError) as info:
        hub.load_weights(path)
    assert not isinstance(info.value, UnsafeModelError)
    assert str(path) in str(info.value)
    assert path.read_bytes() == before  # inputs are never modified
    if kind == "lfs":
        assert "Git LFS pointer" in str(info.value)
    if kind == "html":
        assert "HTML" in str(info.value)


@pytest.mark.parametrize("suffix", [".pth", ".safetensors"])
def test_empty_file(tmp_path, suffix):
    path = tmp_path / f"empty{suffix}"
    path.touch()
    with pytest.raises(hub.ModelFileError, match="empty") as info:
        hub.load_weights(path)
    assert str(path) in str(info.value)


def test_missing_folder_unknown_suffix_and_non_dict(tmp_path):
    missing = tmp_path / "nope.safetensors"
    with pytest.raises(hub.ModelFileError) as info:
        hub.load_weights(missing)
    assert isinstance(info.value, FileNotFoundError) and str(missing) in str(info.value)
    with pytest.raises(hub.ModelFileError, match="folder"):
        hub.load_weights(tmp_path)
    onnx = tmp_path / "model.onnx"
    onnx.write_bytes(b"\x08\x07")
    with pytest.raises(hub.ModelFileError, match="model.onnx"):
        hub.load_weights(onnx)
    tensor_only = tmp_path / "t.pt"
    torch.save(torch.zeros(3), tensor_only)
    with pytest.raises(hub.ModelFileError, match="Tensor"):
        hub.load_weights(tensor_only)
    assert issubclass(hub.ModelFileError, VoicelabError) and issubclass(hub.ModelFileError, ValueError)


def test_url_stand_in_is_replaced_online_but_used_offline(tmp_path, full_mode, monkeypatch):
    # a rehearsal leaves a marked stand-in where the real download goes (voicelab.voice.rehearsal)
    src = tmp_path / "real.pth"
    src.write_text("the real weights")
    dest = hub._url_cache_path(src.as_uri(), "G_0.pth")
    dest.parent.mkdir(parents=True)
    dest.write_text("stand-in")
    (dest.parent / hub.STAND_IN_MARKER).write_text("{}")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert hub.url_file(src.as_uri(), filename="G_0.pth").read_text() == "stand-in"   # offline: used
    monkeypatch.delenv("HF_HUB_OFFLINE")
    path = hub.url_file(src.as_uri(), filename="G_0.pth")                      # online: replaced
    assert path.read_text() == "the real weights" and not hub.is_stand_in(path)
    # the control: an ordinary cached file (no marker) is kept online
    src.write_text("changed upstream")
    assert hub.url_file(src.as_uri(), filename="G_0.pth").read_text() == "the real weights"


def test_made_up_words_are_distinct_and_start_from_a():
    from itertools import islice
    words = list(islice(hub.made_up_words("\u0120q"), 60000))
    assert words[:3] == ["\u0120qa", "\u0120qb", "\u0120qc"] and words[26] == "\u0120qba"
    assert len(set(words)) == len(words)                  # every filler token is a new entry
    control = [w[:3] for w in words[:100]]               # a filler that ignores the count repeats
    assert len(set(control)) < len(control)

"""Fixtures shared by the test files: no network, an offline QUICK sandbox, one torch thread,
and a tiny so-vits-svc run folder made offline in a few seconds."""
from __future__ import annotations

import shutil
import socket

import pytest


@pytest.fixture
def no_network(monkeypatch):
    """Sockets may connect to this machine only: a test that reaches the internet fails."""
    real_connect = socket.socket.connect

    def local_only(sock, address):
        host = address[0] if isinstance(address, tuple) else None
        if host is not None and host not in ("127.0.0.1", "::1", "localhost"):
            raise AssertionError(f"test tried to reach the network: {address}")
        return real_connect(sock, address)

    monkeypatch.setattr(socket.socket, "connect", local_only)


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory):
    """One voicelab cache for the test run, so stand-ins and offline speech are built once."""
    return tmp_path_factory.mktemp("voicelab-cache")


@pytest.fixture
def offline_quick(tmp_path, monkeypatch, shared_cache, no_network):
    """QUICK mode, offline: voicelab's cache shared by the run, Hugging Face's per test, no internet."""
    monkeypatch.setenv("VOICELAB_CACHE", str(shared_cache))
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf-home"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "CI"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("VOICELAB_QUICK", "1")
    return tmp_path


def _isolated_caches(mp, root, *, full: bool) -> None:
    """voicelab's and Hugging Face's caches under ``root``, no Hub download: QUICK mode, or FULL
    mode with ``HF_HUB_OFFLINE`` (what the rehearsal runs)."""
    mp.setenv("VOICELAB_CACHE", str(root / "voicelab-cache"))
    mp.setenv("HF_HOME", str(root / "hf-home"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE", "HF_HUB_OFFLINE", "CI"):
        mp.delenv(name, raising=False)
    mp.setenv("VOICELAB_QUICK", "0" if full else "1")
    if full:
        mp.setenv("HF_HUB_OFFLINE", "1")


@pytest.fixture
def sandbox(tmp_path, monkeypatch, no_network):
    """QUICK mode, no internet, empty voicelab and Hugging Face caches of the test's own."""
    from voicelab.core import hub

    _isolated_caches(monkeypatch, tmp_path, full=False)
    hub._VERIFIED.clear()
    return tmp_path


@pytest.fixture
def rehearsal_sandbox(tmp_path, monkeypatch, no_network):
    """FULL mode offline with empty caches of the test's own, as `make rehearse` runs it."""
    _isolated_caches(monkeypatch, tmp_path, full=True)
    return tmp_path


@pytest.fixture(scope="session")
def full_offline():
    """``full_offline(mp, root)``: what :func:`rehearsal_sandbox` sets up, for module fixtures."""
    def setup(mp, root):
        _isolated_caches(mp, root, full=True)
    return setup


@pytest.fixture
def offline_app(monkeypatch, no_network):
    """QUICK mode, no internet, and no usage statistics from Gradio (they would only time out)."""
    monkeypatch.setenv("VOICELAB_QUICK", "1")
    monkeypatch.setenv("GRADIO_ANALYTICS_ENABLED", "False")


@pytest.fixture(scope="module")
def one_thread():
    """Tiny models run fastest on one torch thread (extra threads only wait on each other)."""
    from voicelab.core.torchutil import cpu_threads

    with cpu_threads(1):
        yield


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder laid out like notebook 09's: a random tiny G, 3 clips of ``slt``, their features.

    ``logs/44k/{config.json, G_2.pth}`` (random weights), ``dataset_raw/slt/*.wav`` and
    ``dataset/44k/slt/*.data.pt`` holding real ContentVec(-stand-in) features of those clips,
    as ``svc pre-hubert`` writes them. Copy it before changing it.
    """
    import torch

    from voicelab.data import speech
    from voicelab.voice import rvc, svc

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICELAB_QUICK", "1")
        run = tmp_path_factory.mktemp("tiny_run")
        svc.write_tiny_model(run / "logs" / "44k", speakers=("slt",), name="G_2.pth")
        raw, feats = run / "dataset_raw" / "slt", run / "dataset" / "44k" / "slt"
        raw.mkdir(parents=True)
        feats.mkdir(parents=True)
        for i in range(3):
            clip = shutil.copy2(speech.example("slt", i), raw / f"slt_{i:03d}.wav")
            content = torch.from_numpy(rvc.content_features(clip).T.copy())
            torch.save({"content": content}, feats / f"slt_{i:03d}.wav.data.pt")
    return run

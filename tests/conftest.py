"""Shared fixtures: a tiny so-vits-svc run folder made offline in a few seconds."""
from __future__ import annotations

import shutil

import pytest


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A run folder laid out like notebook 09's: a random tiny G, 3 clips of ``slt``, their features.

    ``logs/44k/{config.json, G_2.pth}`` (random weights), ``dataset_raw/slt/*.wav`` and
    ``dataset/44k/slt/*.data.pt`` holding real ContentVec(-stand-in) features of those clips,
    as ``svc pre-hubert`` writes them. Copy it before changing it.
    """
    import torch

    from voicelab import data, rvc, svc

    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICELAB_QUICK", "1")
        run = tmp_path_factory.mktemp("tiny_run")
        svc.write_tiny_model(run / "logs" / "44k", speakers=("slt",), name="G_2.pth")
        raw, feats = run / "dataset_raw" / "slt", run / "dataset" / "44k" / "slt"
        raw.mkdir(parents=True)
        feats.mkdir(parents=True)
        for i in range(3):
            clip = shutil.copy2(data.example("slt", i), raw / f"slt_{i:03d}.wav")
            content = torch.from_numpy(rvc.content_features(clip).T.copy())
            torch.save({"content": content}, feats / f"slt_{i:03d}.wav.data.pt")
    return run

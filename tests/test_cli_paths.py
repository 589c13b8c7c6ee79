"""The ``voicelab`` command with relative paths and paths holding spaces, run from a folder that
is not the repository: the README's ``voicelab convert "in put.wav" --model run --out out.wav``,
and the whole chain prep -> train -> convert -> score.

Each verb runs as its own process (``python -m voicelab.cli``, the entry point's ``main``) in
``tmp_path / "my work"``, so nothing here depends on pytest's working directory. Until
voicelab stopped changing the working directory during a conversion (so-vits-svc-fork's
ContentVec lookup), the README's example failed with ``No such file or directory:
'run/logs/44k/config.json'``.
"""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from voicelab import audio
from voicelab.data import speech as speech_data

pytestmark = pytest.mark.usefixtures("offline_quick")

ROOT = Path(__file__).resolve().parents[1]   # this checkout, whatever voicelab is installed


def voicelab(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    """Run ``voicelab ARGS`` in ``cwd`` with this checkout's voicelab, offline, QUICK mode."""
    env = dict(os.environ, HF_HUB_OFFLINE="1", VOICELAB_QUICK="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-m", "voicelab.cli", *args], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, f"voicelab {' '.join(args)} failed:\n{proc.stderr[-3000:]}"
    return proc


def check_conversion(out: Path, source: Path) -> None:
    """``out`` is the model's 44.1 kHz rendering of ``source``: same duration, finite, not silent."""
    y, sr = audio.load(out)
    src, src_sr = audio.load(source)
    assert sr == 44100 and abs(len(y) - len(src) * 44100 / src_sr) <= 2
    assert np.isfinite(y).all() and np.abs(y).max() > 1e-3


@pytest.fixture
def work(tmp_path) -> Path:
    folder = tmp_path / "my work"
    folder.mkdir()
    return folder


def test_readme_convert_example_with_relative_paths(work, tiny_run):
    shutil.copytree(tiny_run / "logs", work / "run" / "logs")
    shutil.copy2(tiny_run / "dataset_raw" / "slt" / "slt_000.wav", work / "in put.wav")
    proc = voicelab("convert", "in put.wav", "--model", "run", "--out", "out.wav", cwd=work)
    assert "wrote out.wav" in proc.stdout
    check_conversion(work / "out.wav", work / "in put.wav")
    assert sorted(p.name for p in work.iterdir()) == ["in put.wav", "out.wav", "run"]


@pytest.mark.slow  # 2-4 min on 2 cores: six processes, pre-hubert and three short trainings
def test_prep_train_convert_score_with_relative_paths_and_spaces(work):
    # its own folder: the shared cache's speech/ is what other tests count clips in
    corpus = speech_data.make_speech(["slt"], n_sentences=7, out_dir=work.parent / "corpus")
    takes = work / "raw takes"
    takes.mkdir()
    for i, clip in enumerate(sorted((corpus / "slt").glob("*.wav"))):
        shutil.copy2(clip, takes / f"take {i}.wav")

    proc = voicelab("prep", "raw takes", "--speaker", "slt", "--out", "data set",
                    "--min-seconds", "1", cwd=work)
    assert "wrote" in proc.stdout
    clips = sorted((work / "data set" / "slt").glob("*.wav"))
    report = json.loads((work / "data set" / "slt.report.json").read_text())
    assert len(clips) == report["clips"] >= 5    # enough for so-vits-svc's train/val/test split

    proc = voicelab("train", "data set", "--speaker", "slt", "--out", "my run", "--steps", "1",
                    cwd=work)
    result = json.loads(proc.stdout)
    assert result["epochs"] == 1 and result["steps"] >= 1 and Path(result["model"]).is_file()
    assert Path(result["model"]).parent == work / "my run" / "logs" / "44k"

    # a second epoch, then its checkpoint pair cut short (a kill or disconnect while saving):
    # the next `voicelab train` sets the pair aside in one line and resumes from the older one
    spe = result["steps"]
    model_dir = work / "my run" / "logs" / "44k"
    voicelab("train", "data set", "--speaker", "slt", "--out", "my run", "--steps", str(2 * spe),
             cwd=work)
    for kind in "GD":
        newest = model_dir / f"{kind}_2.pth"
        newest.write_bytes(newest.read_bytes()[:1000])
    proc = voicelab("train", "data set", "--speaker", "slt", "--out", "my run",
                    "--steps", str(3 * spe), cwd=work)
    resumed = json.loads(proc.stdout)
    assert [Path(p).name for p in resumed["set_aside"]] == ["G_2.pth", "D_2.pth"]
    assert "could not be read" in proc.stderr and "resumed from G_1.pth" in proc.stderr
    assert "Traceback" not in proc.stderr and Path(resumed["model"]).name == "G_3.pth"
    assert sorted(p.name for p in (model_dir / "set-aside").iterdir()) == ["D_2.pth", "G_2.pth"]

    voicelab("convert", "raw takes/take 0.wav", "--model", "my run",
             "--out", "out put/take 0.wav", cwd=work)
    check_conversion(work / "out put" / "take 0.wav", takes / "take 0.wav")

    target = [str(p.relative_to(work)) for p in clips[:2]]   # read, or the verb exits with 2
    proc = voicelab("score", "out put/take 0.wav", "--target", *target,
                    "--source", "raw takes/take 0.wav", "--reference", "raw takes/take 0.wav",
                    "--no-mos", cwd=work)
    card = json.loads(proc.stdout)
    # a model trained for one step may give no voice to measure; MCD against the reference
    # (the same words) is always computable, so it shows the relative paths were read
    assert card["mcd_db"] > 0 and card["mos"] is None

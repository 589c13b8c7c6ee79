"""Tests for training that fits a Colab session (voicelab.voice.svc.train): the time budget,
mixed precision, halving the batch after running out of memory, features on a scratch disk,
the checks on checkpoints that do not fit, and so-vits-svc-fork's image logging.

The unit tests use fake clocks, trainers and fits; four tests (marked slow) train the real
QUICK model for one or two steps each: 15-50 s each on 2 cores, plus about a minute to prepare.
"""
from __future__ import annotations

import json
import os
import shutil
import types
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from voicelab.core.errors import TrainError, TrainWarning
from voicelab.voice import svc

pytestmark = pytest.mark.usefixtures("offline_quick")


# ---------------------------------------------------------------------------- precision


@pytest.mark.parametrize("device, expected", [
    ((9, 0), "bf16-mixed"),    # H100
    ((8, 0), "bf16-mixed"),    # A100
    ((8, 9), "bf16-mixed"),    # L4
    ((7, 5), "16-mixed"),      # T4, Colab's free GPU
    ((7, 0), "16-mixed"),      # V100
    ((6, 0), "32"),            # P100: no tensor cores
    ("cpu", "32"), ("mps", "32"),
])
def test_precision_for_the_gpu(device, expected):
    assert svc.precision_for(device) == expected


def test_precision_for_a_cuda_name_asks_torch(monkeypatch):
    asked = []
    monkeypatch.setattr(torch.cuda, "get_device_capability",
                        lambda d=None: asked.append(d) or (7, 5))
    assert svc.precision_for("cuda:0") == "16-mixed" and asked == ["cuda:0"]
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda d=None: (8, 6))
    assert svc.precision_for("cuda") == "bf16-mixed"   # control: another card, another answer


def test_train_refuses_fp16_without_a_gpu_and_unknown_precisions(tmp_path):
    with pytest.raises(TrainError, match="16-mixed.*needs a CUDA GPU"):
        svc.train(tmp_path / "data", tmp_path / "run", speaker="slt", precision="16-mixed")
    with pytest.raises(ValueError, match="precision"):
        svc.train(tmp_path / "data", tmp_path / "run", speaker="slt", precision="fp8")
    with pytest.raises(ValueError, match="minutes"):
        svc.train(tmp_path / "data", tmp_path / "run", speaker="slt", minutes=0)
    assert not (tmp_path / "run").exists()   # refused before anything was written


# ---------------------------------------------------------------------------- time budget


def test_budget_steps_is_whole_epochs_within_the_cap():
    # 10 steps done, 2 steps/s, 30 s left -> could reach 70 = 10 epochs of 7
    assert svc.budget_steps(10, 2.0, 30.0, 7, 1000) == 70
    assert svc.budget_steps(10, 2.0, 31.0, 7, 1000) == 70     # 72 is not a whole epoch: 70
    assert svc.budget_steps(10, 2.0, 35.0, 7, 1000) == 77
    assert svc.budget_steps(10, 2.0, 30.0, 7, 56) == 56       # never past the steps asked for
    assert svc.budget_steps(10, 2.0, -5.0, 7, 1000) == 14     # time is up: finish the epoch
    assert svc.budget_steps(14, 2.0, -5.0, 7, 1000) == 14     # at an epoch's end: stop there


class _Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


def _run_steps(cb, trainer, clock, durations, spe):
    """Feed the callback batches of the given durations (s); return the step it stopped after."""
    for i, seconds in enumerate(durations):
        clock.t += seconds
        cb.on_train_batch_end(trainer, None, None, None, i % spe)
        if (i + 1) % spe == 0:
            cb.on_train_epoch_end(trainer, None)
            if trainer.should_stop:
                return i + 1
    return None


def test_the_budget_is_measured_after_the_warm_up_and_stops_at_an_epoch_end():
    clock, spe = _Clock(), 4
    # 100 s budget: 2 slow warm-up steps (10 s each), then 2 steps/s
    cb = svc._progress_callback(total=400, done=0, steps_per_epoch=spe, deadline=100.0, clock=clock)
    trainer = types.SimpleNamespace(callback_metrics={}, should_stop=False)
    cb.on_train_start(trainer, None)
    stopped = _run_steps(cb, trainer, clock, [10.0, 10.0] + [0.5] * 400, spe)
    assert cb.rate == pytest.approx(2.0)        # the warm-up is not counted (with it: ~0.18/s)
    # 80 s left after the warm-up at 2 steps/s: 162 steps -> 160, 40 whole epochs
    assert cb.target == 160 and cb.bar.total == 160 and stopped == 160
    cb.on_train_end(trainer, None)


def test_without_a_deadline_the_target_is_the_step_count_and_the_speed_still_measured():
    clock = _Clock()
    cb = svc._progress_callback(total=12, done=4, steps_per_epoch=2, clock=clock)
    trainer = types.SimpleNamespace(callback_metrics={}, should_stop=False)
    cb.on_train_start(trainer, None)
    stopped = _run_steps(cb, trainer, clock, [5.0, 5.0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25], 2)
    assert stopped == 8 and cb.steps == 12 and cb.rate == pytest.approx(4.0)
    cb.on_train_end(trainer, None)


# ---------------------------------------------------------------------------- out of memory


def test_out_of_memory_halves_the_batch_and_carries_on(monkeypatch):
    tried = []
    freed = []
    monkeypatch.setattr(svc, "_free_memory", lambda: freed.append(1))

    def fit(batch_size):
        tried.append(batch_size)
        if batch_size > 3:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 2.00 GiB")
        if batch_size == 3:
            raise RuntimeError("CUDA error: out of memory")    # the older message counts too
        return "trained"

    with pytest.warns(TrainWarning) as caught:
        assert svc._fit_halving(fit, 12, Path("run")) == ("trained", 1)
    assert tried == [12, 6, 3, 1] and len(freed) == 3
    assert [str(w.message).split(":")[0] for w in caught] == [
        "Out of GPU memory at batch size 12", "Out of GPU memory at batch size 6",
        "Out of GPU memory at batch size 3"]
    assert all("\n" not in str(w.message) for w in caught)


def test_out_of_memory_at_batch_one_stops_and_other_errors_pass_through(monkeypatch):
    monkeypatch.setattr(svc, "_free_memory", lambda: None)

    def oom(batch_size):
        raise torch.cuda.OutOfMemoryError("CUDA out of memory")

    with pytest.warns(TrainWarning), pytest.raises(TrainError, match="at batch size 1 .* run"):
        svc._fit_halving(oom, 2, Path("run"))
    tried = []

    def bug(batch_size):   # control: not a memory error, so no halving
        tried.append(batch_size)
        raise RuntimeError("mat1 and mat2 shapes cannot be multiplied")

    with warnings.catch_warnings():
        warnings.simplefilter("error", TrainWarning)
        with pytest.raises(RuntimeError, match="shapes"):
            svc._fit_halving(bug, 8, Path("run"))
    assert tried == [8]


# ---------------------------------------------------------------------------- swaps


def test_swapping_restores_the_original_even_after_an_error():
    box = types.SimpleNamespace(f=len)
    with pytest.raises(KeyError):
        with svc._swapping(box, "f", abs) as original:
            assert original is len and box.f is abs
            with svc._swapping(box, "f", round):   # nested, same thread: no deadlock
                assert box.f is round
            assert box.f is abs
            raise KeyError("boom")
    assert box.f is len


def test_loading_a_checkpoint_that_does_not_fit_is_recorded():
    from so_vits_svc_fork import utils as svc_utils

    net = torch.nn.Linear(3, 2)
    good = {k: v.clone() for k, v in net.state_dict().items()}
    bad = {"weight": torch.zeros(2, 4), "bias": torch.zeros(2), "extra": torch.zeros(1)}
    unfit: list[str] = []
    with svc._training_swaps(unfit):
        svc_utils.safe_load(net, good)
        assert unfit == []                          # control: a fitting state adds nothing
        svc_utils.safe_load(net, bad)
    assert unfit == ["Linear unexpected extra", "Linear weight: (2, 4) in the file, (2, 3) in the model"]
    assert torch.equal(net.weight, good["weight"])  # so-vits-svc-fork's own load still ran
    unfit.clear()
    svc_utils.safe_load(net, bad)                   # after the block: its own function again
    assert unfit == []


def test_image_logging_works_without_fromstring_and_keeps_the_backend():
    import matplotlib
    from so_vits_svc_fork import utils as svc_utils

    spec = np.random.default_rng(0).random((80, 30)).astype(np.float32)
    x, y = np.linspace(0, 1, 50), np.linspace(1, 0, 50)
    backend = matplotlib.get_backend()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = svc._plot_spectrogram_to_numpy(spec), svc._plot_data_to_numpy(x, y)
        assert matplotlib.get_backend() == backend
        # control: so-vits-svc-fork's own uses np.fromstring, deprecated (numpy 2.0-2.2) or
        # gone (2.3 and later): either way it fails once warnings are errors
        with pytest.raises((DeprecationWarning, ValueError, TypeError)):
            svc_utils.plot_spectrogram_to_numpy(spec)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        try:
            theirs = svc_utils.plot_spectrogram_to_numpy(spec), svc_utils.plot_data_to_numpy(x, y)
        except (ValueError, TypeError):   # numpy >= 2.3
            theirs = None
    for image in ours:
        assert image.dtype == np.uint8 and image.shape == (200, 1000, 4)
        assert (image[..., 3] == 255).all()         # RGBA: opaque alpha last, as TensorBoard reads HWC
        assert image[..., :3].std() > 10            # something was drawn
    if theirs is not None:                          # same size; theirs is ARGB (alpha first)
        assert [t.shape for t in theirs] == [o.shape for o in ours]
        assert (theirs[0][..., 0] == 255).all()


# ---------------------------------------------------------------------------- scratch disk


def _fake_run(root: Path) -> svc.RunLayout:
    paths = svc.run_layout(root)
    (paths.data / "slt").mkdir(parents=True)
    for i in range(3):
        (paths.data / "slt" / f"c{i}.wav").write_bytes(b"RIFF" + bytes(100 + i))
        (paths.data / "slt" / f"c{i}.wav.data.pt").write_bytes(bytes(1000 + i))
    paths.lists.mkdir(parents=True)
    for name, ids in (("train.txt", [0, 1]), ("val.txt", [2])):
        (paths.lists / name).write_text("".join(f"{paths.data / 'slt' / f'c{i}.wav'}\n" for i in ids))
    return paths


def test_features_are_copied_to_scratch_once_and_again_after_a_wipe(tmp_path, monkeypatch):
    paths = _fake_run(tmp_path / "drive" / "run")
    before = {n: (paths.lists / n).read_text() for n in ("train.txt", "val.txt")}
    scratch = tmp_path / "vm"
    copied = []
    copy2 = shutil.copy2
    monkeypatch.setattr(shutil, "copy2", lambda s, d: copied.append(Path(s).name) or copy2(s, d))
    train_list, val_list = svc._to_scratch(paths, scratch)
    assert len(copied) == 6
    named = train_list.read_text().split()
    assert named == [str(scratch / "dataset" / "44k" / "slt" / f"c{i}.wav") for i in (0, 1)]
    assert val_list.read_text().split() == [str(scratch / "dataset" / "44k" / "slt" / "c2.wav")]
    assert (Path(named[0] + ".data.pt")).read_bytes() == bytes(1000)   # what the loader reads
    copied.clear()
    svc._to_scratch(paths, scratch)
    assert copied == []                                  # nothing changed: nothing copied
    (paths.data / "slt" / "c1.wav.data.pt").write_bytes(bytes(5))     # re-prepared features
    svc._to_scratch(paths, scratch)
    assert copied == ["c1.wav.data.pt"]
    copied.clear()
    same_size = paths.data / "slt" / "c2.wav.data.pt"  # re-made with another F0 method: same size
    same_size.write_bytes(b"\x01" * 1002)
    os.utime(same_size, (same_size.stat().st_mtime + 10,) * 2)
    svc._to_scratch(paths, scratch)
    assert copied == ["c2.wav.data.pt"]
    assert (scratch / "dataset" / "44k" / "slt" / "c2.wav.data.pt").read_bytes() == b"\x01" * 1002
    shutil.rmtree(scratch)                               # a new VM: the local disk is empty
    copied.clear()
    svc._to_scratch(paths, scratch)
    assert len(copied) == 6
    assert {n: (paths.lists / n).read_text() for n in before} == before   # the run's own lists


# ---------------------------------------------------------------------------- real training


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Offline speech (6 clips of slt) and a run folder prepared from it, to copy."""
    from voicelab.data import speech

    root = tmp_path_factory.mktemp("svc-train")
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICELAB_CACHE", str(root / "cache"))
        mp.setenv("VOICELAB_QUICK", "1")
        data = speech.make_speech(["slt"], n_sentences=6, out_dir=root / "speech")
        svc.prepare(data, root / "run", "slt")
    return data, root / "run"


def _copy_run(prepared, tmp_path) -> tuple[Path, Path]:
    data, run = prepared
    shutil.copytree(run, tmp_path / "drive" / "run")
    return data, tmp_path / "drive" / "run"


def _config(run: Path) -> dict:
    return json.loads((run / "logs" / "44k" / "config.json").read_text())


@pytest.mark.slow
def test_a_budget_stops_saves_and_the_next_call_resumes_from_a_wiped_scratch(prepared, tmp_path):
    data, run = _copy_run(prepared, tmp_path)
    vm = tmp_path / "vm"
    # 6 clips - 4 held out = 2 to train on, batch 2: one step per epoch. 0.01 min is over
    # before the first step ends, so training stops at the end of the first epoch.
    result = svc.train(data, run, speaker="slt", steps=12, minutes=0.01, scratch=vm)
    assert result.model_path.name == "G_1.pth" and result.steps == 1 and result.epochs == 1
    assert result.minutes == 0.01 and result.scratch == vm and result.precision == "32"
    assert sorted(p.name for p in (run / "logs" / "44k").glob("*.pth")) == ["D_1.pth", "G_1.pth"]
    assert (vm / "filelists" / "44k" / "train.txt").read_text().startswith(str(vm))
    for key in ("training_files", "validation_files"):   # the run folder names its own files
        assert _config(run)["data"][key].startswith(str(run))
    assert _config(run)["train"]["fp16_run"] is False and _config(run)["train"]["bf16_run"] is False

    shutil.rmtree(vm)                                    # the VM is gone, Drive is not
    again = svc.train(data, run, speaker="slt", steps=12, minutes=0.01, scratch=vm)
    assert again.resumed_from.name == "G_1.pth" and again.model_path.name == "G_2.pth"
    assert again.steps == 2 and (vm / "dataset" / "44k" / "slt").is_dir()


@pytest.mark.slow
def test_out_of_memory_in_a_real_run_halves_the_batch_and_trains(prepared, tmp_path, monkeypatch):
    import lightning.pytorch as pl

    data, run = _copy_run(prepared, tmp_path)
    fit = pl.Trainer.fit
    calls = []

    def fit_once_out_of_memory(self, *args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            raise torch.cuda.OutOfMemoryError("CUDA out of memory. Tried to allocate 1.00 GiB")
        return fit(self, *args, **kwargs)

    monkeypatch.setattr(pl.Trainer, "fit", fit_once_out_of_memory)
    with pytest.warns(TrainWarning, match="batch size 2.*batch size 1"):
        result = svc.train(data, run, speaker="slt", steps=2, batch_size=2)
    # batch 1: two steps per epoch, so 2 steps are one epoch
    assert len(calls) == 2 and result.batch_size == 1 and result.steps_per_epoch == 2
    assert result.model_path.name == "G_1.pth" and result.steps == 2
    assert _config(run)["train"]["batch_size"] == 1


@pytest.mark.slow
def test_logging_every_step_writes_images_to_tensorboard(prepared, tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    data, run = _copy_run(prepared, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        result = svc.train(data, run, speaker="slt", steps=2, eval_interval=1, log_interval=1)
    assert result.model_path.name == "G_2.pth"
    assert not [w for w in caught if "fromstring" in str(w.message) or "Failed to log" in str(w.message)]
    tags = {}
    for events in (run / "logs" / "44k" / "lightning_logs").rglob("events.out.tfevents.*"):
        acc = EventAccumulator(str(events), size_guidance={"images": 0})
        acc.Reload()
        for tag in acc.Tags()["images"]:
            tags[tag] = [(e.step, e.width, e.height) for e in acc.Images(tag)]
    # training images every step (log_interval=1), validation images every step (eval_interval=1)
    assert {"slice/mel_org", "slice/mel_gen", "all/mel", "all/lf0", "all/norm_lf0"} <= set(tags)
    assert {"gen/mel", "gt/mel"} <= set(tags)
    assert len(tags["slice/mel_org"]) == 2 and tags["slice/mel_org"][0][1:] == (1000, 200)
    assert _config(run)["train"]["log_interval"] == 1


@pytest.mark.slow
def test_cli_train_takes_minutes_and_reports_the_budget(prepared, tmp_path, capsys):
    from voicelab import cli

    data, run = _copy_run(prepared, tmp_path)
    assert cli.main(["train", str(data), "--speaker", "slt", "--out", str(run), "--minutes", "0.01",
                     "--scratch", str(tmp_path / "vm"), "--precision", "32"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["minutes"] == 0.01 and report["steps"] == 1 and report["precision"] == "32"
    assert report["steps_per_second"] is None            # one step: nothing after the warm-up
    assert report["scratch"] == str(tmp_path / "vm")


@pytest.mark.slow
def test_a_pretrained_base_with_another_speaker_table_trains_and_other_misfits_stop(prepared, tmp_path):
    # the real G_0 was trained on other speakers (or has its speaker table stripped): its emb_g
    # cannot fit a run's speakers, and must not stop training; any other misfit must
    import torch

    data, prepared_run = prepared
    run = tmp_path / "run"
    shutil.copytree(prepared_run, run)
    model_dir = svc.run_layout(run).model
    svc.train(data, run, speaker="slt", steps=1, keep=1)            # a G_/D_ pair of this config
    g, d = svc.latest_checkpoint(model_dir, "G"), svc.latest_checkpoint(model_dir, "D")
    base = torch.load(g, weights_only=True)
    width = base["model"]["emb_g.weight"].shape[1]
    for variant, fits in (("other speakers", True), ("no speaker table", True), ("extra layer", False)):
        for p in model_dir.glob("*.pth"):
            if p not in (g, d):
                p.unlink()
        state = dict(base["model"])
        if variant == "other speakers":
            state["emb_g.weight"] = torch.zeros(7, width)
        elif variant == "no speaker table":
            del state["emb_g.weight"]
        else:
            state["extra.weight"] = torch.zeros(2)
        torch.save({**base, "model": state, "iteration": 0}, model_dir / "G_0.pth")
        shutil.copy2(d, model_dir / "D_0.pth")
        g.rename(tmp_path / "G.keep"), d.rename(tmp_path / "D.keep")
        try:
            if fits:
                result = svc.train(data, run, speaker="slt", steps=1, keep=1)
                assert result.resumed_from.name == "G_0.pth" and result.model_path.name == "G_1.pth", variant
            else:
                with pytest.raises(svc.TrainError, match="extra.weight"):
                    svc.train(data, run, speaker="slt", steps=1, keep=1)
        finally:
            for p in model_dir.glob("G_1.pth"), model_dir.glob("D_1.pth"):
                for q in p:
                    q.unlink()
            (tmp_path / "G.keep").rename(g), (tmp_path / "D.keep").rename(d)

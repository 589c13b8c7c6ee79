"""Tests for voicelab.voice.svc: config arithmetic, batch sizes, the shrunk config, the offline
ContentVec stand-in, checkpoints (resume, pruning), safe loading, conversion and the CLI.

Everything runs offline in QUICK mode: sockets may only connect to localhost and the
caches live under pytest's tmp folders. The one end-to-end training test is marked slow.
"""
from __future__ import annotations

import json
import os
import pickle
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch

from voicelab import cli
from voicelab.core import hub
from voicelab.core.errors import MissingFileError, UnknownSpeakerError, UnsafeModelError
from voicelab.voice import svc

pytestmark = pytest.mark.usefixtures("offline_quick")


def _template() -> dict:
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    return json.loads((CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json").read_text())


def _tiny_model(folder, speakers=("slt",), name="G_3.pth"):
    """A folder with a shrunk config.json and a random generator checkpoint."""
    return svc.write_tiny_model(folder, speakers=speakers, name=name)


def _tone(seconds=1.0, sr=16000, f0=180.0):
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * f0 * t) * (1 + 0.3 * np.sin(2 * np.pi * 3 * t))
    return y.astype(np.float32), sr


# ---------------------------------------------------------------------------- arithmetic


def test_steps_per_epoch_follows_the_tutorial():
    assert svc.steps_per_epoch(200, 20) == 10  # the tutorial's example
    assert svc.steps_per_epoch(201, 20) == 11  # the last, smaller batch still counts
    assert svc.steps_per_epoch(3, 16) == 1


def test_epochs_for_steps_follows_the_tutorial():
    assert svc.epochs_for_steps(20000, 200, 20) == 2000
    assert svc.epochs_for_steps(1000, 200, 20) == 100
    assert svc.epochs_for_steps(15, 4, 2) == 8  # rounds up: 8 epochs * 2 steps >= 15


@pytest.mark.parametrize("args", [(0, 4), (4, 0), (-1, 2)])
def test_arithmetic_refuses_nonsense(args):
    with pytest.raises(ValueError):
        svc.steps_per_epoch(*args)
    with pytest.raises(ValueError):
        svc.epochs_for_steps(0, 10, 2)


@pytest.mark.parametrize("gib, batch", [(79.6, 32), (39.4, 32), (22.0, 16), (14.7, 12),
                                         (11.7, 8), (7.8, 4), (5.8, 2), (3.9, 1), (0.0, 1)])
def test_batch_size_from_gpu_memory(gib, batch):
    assert svc.batch_size_for_memory(gib) == batch


def test_batch_size_never_decreases_with_more_memory():
    sizes = [svc.batch_size_for_memory(g / 4) for g in range(0, 400)]
    assert sizes == sorted(sizes) and sizes[0] >= 1
    with pytest.raises(ValueError):
        svc.batch_size_for_memory(-1)
    with pytest.raises(ValueError):
        svc.batch_size_for_memory(float("nan"))


def test_auto_batch_size_reads_the_gpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (10 * 2**30, int(14.7 * 2**30)))
    assert svc.auto_batch_size() == 2  # QUICK mode: always small
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    assert svc.auto_batch_size() == 12  # a Colab T4
    monkeypatch.setattr(torch.cuda, "mem_get_info", lambda *a: (1, 80 * 2**30))
    assert svc.auto_batch_size() == 32


# ---------------------------------------------------------------------------- config


def test_quick_config_is_valid_for_so_vits_svc_fork():
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn

    full = _template()
    quick = svc.quick_config(full)
    assert full["model"]["hidden_channels"] == 192  # the input is not changed
    data, model, train = quick["data"], quick["model"], quick["train"]
    assert np.prod(model["upsample_rates"]) == data["hop_length"]
    assert train["segment_size"] % data["hop_length"] == 0
    assert model["ssl_dim"] == 768 and not data["contentvec_final_proj"]
    assert len(model["resblock_kernel_sizes"]) == len(model["resblock_dilation_sizes"])
    net = SynthesizerTrn(data["filter_length"] // 2 + 1,
                         train["segment_size"] // data["hop_length"], **model)
    small = sum(p.numel() for p in net.parameters())
    assert small < 2_000_000
    frames = 20
    c = torch.randn(1, 768, frames)
    f0 = torch.full((1, frames), 200.0)
    with torch.no_grad():
        y = net.infer(c, f0=f0, uv=torch.ones(1, frames), g=torch.LongTensor([[0]]))
    assert y.shape[-1] == frames * data["hop_length"]


# ---------------------------------------------------------------------------- ContentVec


def test_contentvec_stand_in_is_used_offline(monkeypatch):
    import huggingface_hub
    from so_vits_svc_fork import utils as svc_utils

    def no_download(*args, **kwargs):
        assert kwargs.get("local_files_only") is True, "a download was attempted offline"
        raise huggingface_hub.errors.LocalEntryNotFoundError("not cached")

    monkeypatch.setattr(huggingface_hub, "snapshot_download", no_download)
    monkeypatch.setattr(huggingface_hub, "hf_hub_download", no_download)
    original = svc_utils.get_hubert_model
    here = os.getcwd()
    with svc.using_contentvec() as folder:
        assert hub.is_stand_in(folder)
        model = svc_utils.get_hubert_model("cpu", final_proj=False)   # what so-vits-svc-fork calls
        with_proj = svc_utils.get_hubert_model("cpu", final_proj=True)
        assert os.getcwd() == here  # found by path, not by changing the working directory
    assert svc_utils.get_hubert_model is original  # so-vits-svc-fork's own loader is back
    c = svc_utils.get_content(model, torch.zeros(16000), "cpu", sr=16000)
    assert c.shape[:2] == (1, 768)  # what ssl_dim 768 expects
    assert with_proj.final_proj.out_features == 256  # legacy 256-dim configs
    assert sum(p.numel() for p in model.parameters()) < 10_000_000


# ---------------------------------------------------------------------------- checkpoints


def _touch_checkpoints(folder, numbers):
    folder.mkdir(parents=True, exist_ok=True)
    for i, n in enumerate(numbers):
        for kind in "GD":
            p = folder / f"{kind}_{n}.pth"
            p.write_bytes(b"x")
            os.utime(p, (1_000_000 + i, 1_000_000 + i))


def test_resume_picks_the_newest_checkpoint(tmp_path):
    from so_vits_svc_fork.utils import latest_checkpoint_path

    _touch_checkpoints(tmp_path, [0, 2, 9, 10])
    # so-vits-svc-fork resumes from the same file
    assert latest_checkpoint_path(tmp_path, "G_*.pth").name == "G_10.pth"
    (tmp_path / "G_best.pth").write_bytes(b"x")
    assert svc.latest_checkpoint(tmp_path).name == "G_10.pth"  # by number, not by name
    assert svc.latest_checkpoint(tmp_path, "D").name == "D_10.pth"
    assert svc.latest_checkpoint(tmp_path / "missing") is None


def test_prune_keeps_the_newest_n(tmp_path, monkeypatch):
    _touch_checkpoints(tmp_path, [0, 1, 2, 3, 4, 5])
    sizes = []                                   # what reaches Drive's bin: emptied files only
    unlink = Path.unlink
    monkeypatch.setattr(Path, "unlink", lambda self, *a, **k: (sizes.append(self.stat().st_size),
                                                              unlink(self, *a, **k))[1])
    deleted = svc.prune_checkpoints(tmp_path, keep=2)
    assert sizes == [0] * 6
    left = sorted(p.name for p in tmp_path.iterdir())
    assert left == ["D_0.pth", "D_4.pth", "D_5.pth", "G_0.pth", "G_4.pth", "G_5.pth"]
    assert len(deleted) == 6
    with pytest.raises(ValueError):
        svc.prune_checkpoints(tmp_path, keep=0)


def test_so_vits_svc_fork_keep_ckpts_works_too(tmp_path):
    """Its own pruning (config key keep_ckpts) keeps the newest N by time, and G_0/D_0."""
    from so_vits_svc_fork.utils import clean_checkpoints

    _touch_checkpoints(tmp_path, [0, 1, 2, 3, 4])
    clean_checkpoints(tmp_path, n_ckpts_to_keep=2, sort_by_time=True)
    assert sorted(p.name for p in tmp_path.iterdir()) == [
        "D_0.pth", "D_3.pth", "D_4.pth", "G_0.pth", "G_3.pth", "G_4.pth"]


def _save_checkpoints(folder, numbers):
    """Small but real checkpoints, written as so-vits-svc-fork writes them (torch.save of a dict)."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    for n in numbers:
        for kind in "GD":
            torch.save({"model": {"w": torch.full((64,), float(n))}, "iteration": n,
                        "optimizer": None, "learning_rate": 1e-4}, folder / f"{kind}_{n}.pth")


def _names(folder):
    return sorted(p.name for p in folder.iterdir() if p.is_file())


def test_checkpoints_are_saved_all_or_nothing(tmp_path, monkeypatch):
    import torch
    from so_vits_svc_fork import utils as svc_utils

    net = torch.nn.Linear(3, 2)
    opt = torch.optim.AdamW(net.parameters(), lr=1e-4)
    original = svc_utils.save_checkpoint
    with svc.saving_atomically():
        assert svc_utils.save_checkpoint is not original
        svc_utils.save_checkpoint(net, opt, 1e-4, 7, tmp_path / "G_7.pth")
        saved = torch.load(tmp_path / "G_7.pth", weights_only=True)   # the format so-vits-svc-fork reads
        assert saved["iteration"] == 7 and saved["learning_rate"] == 1e-4
        assert torch.equal(saved["model"]["weight"], net.weight) and "state" in saved["optimizer"]
        before = (tmp_path / "G_7.pth").read_bytes()

        def cut_short(obj, f, *args, **kwargs):
            Path(f).write_bytes(b"PK partial")
            raise KeyboardInterrupt                            # a kill in the middle of the write

        monkeypatch.setattr(torch, "save", cut_short)
        with pytest.raises(KeyboardInterrupt):
            svc_utils.save_checkpoint(net, opt, 1e-4, 8, tmp_path / "G_8.pth")
        with pytest.raises(KeyboardInterrupt):
            svc_utils.save_checkpoint(net, opt, 1e-4, 7, tmp_path / "G_7.pth")
    assert svc_utils.save_checkpoint is original
    assert sorted(p.name for p in tmp_path.iterdir()) == ["G_7.pth"]   # no G_8, no temporary file
    assert (tmp_path / "G_7.pth").read_bytes() == before              # the older file untouched


def test_a_cut_short_checkpoint_is_set_aside_not_deleted(tmp_path):
    _save_checkpoints(tmp_path, [0, 5, 10])
    assert svc.set_aside_damaged(tmp_path) == []          # control: whole pairs stay where they are
    g10 = tmp_path / "G_10.pth"
    data = g10.read_bytes()
    g10.write_bytes(data[: len(data) // 2])               # a save cut short
    moved = svc.set_aside_damaged(tmp_path)
    assert [p.name for p in moved] == ["G_10.pth", "D_10.pth"]
    assert _names(tmp_path) == ["D_0.pth", "D_5.pth", "G_0.pth", "G_5.pth"]
    assert (tmp_path / "set-aside" / "G_10.pth").read_bytes() == data[: len(data) // 2]
    assert svc.latest_checkpoint(tmp_path).name == "G_5.pth"


def test_a_step_missing_its_discriminator_or_with_a_bad_crc_is_set_aside(tmp_path):
    _save_checkpoints(tmp_path, [0, 5, 10, 15])
    (tmp_path / "D_15.pth").unlink()                      # killed between the G and the D save
    d10 = tmp_path / "D_10.pth"
    data = bytearray(d10.read_bytes())
    i = data.index(np.full(64, 10.0, np.float32).tobytes())
    data[i + 3] ^= 0xFF                                   # one flipped byte inside the weights
    d10.write_bytes(bytes(data))
    moved = svc.set_aside_damaged(tmp_path)
    assert sorted(p.name for p in moved) == ["D_10.pth", "G_10.pth", "G_15.pth"]
    assert svc.latest_checkpoint(tmp_path).name == "G_5.pth"
    _save_checkpoints(tmp_path, [20])                     # a later recovery keeps both copies
    (tmp_path / "D_20.pth").unlink()
    moved = svc.set_aside_damaged(tmp_path)
    assert [p.name for p in moved] == ["G_20.pth"]
    _save_checkpoints(tmp_path, [20])
    (tmp_path / "D_20.pth").unlink()
    assert [p.name for p in svc.set_aside_damaged(tmp_path)] == ["G_20.1.pth"]


def test_train_refuses_to_overwrite_without_resume(tmp_path):
    _touch_checkpoints(tmp_path / "run" / "logs" / "44k", [0, 5])
    with pytest.raises(svc.TrainError, match="resume"):
        svc.train(tmp_path / "data", tmp_path / "run", speaker="slt", resume=False)


@pytest.mark.parametrize("n_clips", [0, 3])
def test_train_refuses_a_dataset_that_cannot_work(tmp_path, n_clips):
    from voicelab import audio

    folder = tmp_path / "data" / "slt"
    folder.mkdir(parents=True)
    y, sr = _tone()
    for i in range(n_clips):
        audio.save(folder / f"c{i}.wav", y, sr)
    with pytest.raises(svc.DatasetError) as err:
        svc.train(tmp_path / "data", tmp_path / "run", speaker="slt")
    assert "slt" in str(err.value)
    assert not (tmp_path / "run" / "logs").exists()


def test_missing_speaker_folder_is_refused(tmp_path):
    (tmp_path / "data").mkdir()
    with pytest.raises(svc.DatasetError):
        svc.prepare(tmp_path / "data", tmp_path / "run", "nobody")


# ---------------------------------------------------------------------------- conversion


def test_convert_returns_audio_of_the_right_length_and_rate(tmp_path):
    model = _tiny_model(tmp_path / "model")
    y, sr = _tone(1.0, 16000)
    out = tmp_path / "out.wav"
    y_out, sr_out = svc.convert(y, model, sr=sr, transpose=3, out=out)
    assert sr_out == 44100
    assert y_out.shape == (44100,) and y_out.dtype == np.float32
    assert np.isfinite(y_out).all() and np.abs(y_out).max() > 0
    import soundfile

    info = soundfile.info(str(out))
    assert (info.samplerate, info.frames) == (44100, 44100)


def test_convert_accepts_files_and_checks_arguments(tmp_path):
    from voicelab import audio

    model = _tiny_model(tmp_path / "model", speakers=("a", "b"))
    y, sr = _tone(0.7, 22050)
    wav = audio.save(tmp_path / "in.wav", y, sr)
    y_out, sr_out = svc.convert(wav, model / "G_3.pth", speaker="b", f0_method="harvest")
    assert abs(len(y_out) - 0.7 * 44100) <= 2  # resampling 22.05 -> 44.1 kHz may round
    with pytest.raises(UnknownSpeakerError) as unknown:
        svc.convert(wav, model, speaker="nobody")
    assert str(unknown.value) == f"Speaker 'nobody' is not in {model / 'config.json'}; it has: a, b."
    with pytest.raises(ValueError, match="f0_method"):
        svc.convert(wav, model, f0_method="guess")
    with pytest.raises(ValueError, match="sr="):
        svc.convert(y, model)
    with pytest.raises(MissingFileError, match=f"No so-vits-svc model in {tmp_path}.*Train one"):
        svc.convert(wav, tmp_path)
    (model / "config.json").rename(tmp_path / "moved.json")
    with pytest.raises(MissingFileError, match="config.json is missing"):
        svc.find_model(model / "G_3.pth")


def test_hub_model_offline_is_a_marked_stand_in_that_converts(tmp_path):
    folder = svc.hub_model("someone/some-svc-model", "G_800.pth")
    assert hub.is_stand_in(folder)
    ckpt, config = svc.find_model(folder)
    assert ckpt.name == "G_800.pth" and json.loads(config.read_text())["spk"] == {"stand-in": 0}
    assert svc.hub_model("someone/some-svc-model", "G_800.pth") == folder  # built once, reused
    y, sr = _tone(0.5)
    y_out, sr_out = svc.convert(y, folder, sr=sr)
    assert sr_out == 44100 and len(y_out) == 22050 and np.isfinite(y_out).all()
    with pytest.raises(ValueError, match="G_<step>.pth"):
        svc.hub_model("someone/some-svc-model", "model.safetensors")


def test_find_model_prefers_the_newest_generator(tmp_path):
    model = _tiny_model(tmp_path / "m", name="G_100.pth")
    (model / "G_20.pth").write_bytes((model / "G_100.pth").read_bytes())
    ckpt, config = svc.find_model(model)
    assert ckpt.name == "G_100.pth" and config.name == "config.json"


def test_weights_that_do_not_fit_their_config_are_refused_unless_asked(tmp_path):
    import torch

    model = _tiny_model(tmp_path / "m")
    y, sr = _tone(0.3)
    assert svc.convert(y, model, sr=sr)[1] == 44100                      # control: it fits
    ckpt = torch.load(model / "G_3.pth", weights_only=True)
    key = next(k for k in ckpt["model"] if k.startswith("emb_g"))
    ckpt["model"][key] = torch.zeros(7, 3)                                # another model's layer
    ckpt["model"]["extra.weight"] = torch.zeros(2)
    torch.save(ckpt, model / "G_3.pth")
    with pytest.raises(svc.ModelFileError, match=r"G_3.pth does not fit.*2 problems.*allow_mismatch=True"):
        svc.convert(y, model, sr=sr)
    assert svc.convert(y, model, sr=sr, allow_mismatch=True)[1] == 44100


def test_a_run_with_only_the_pretrained_base_is_refused_unless_asked(tmp_path):
    run = tmp_path / "run"
    base = _tiny_model(svc.run_layout(run).model, name="G_0.pth")   # training never saved a step
    with pytest.raises(svc.ModelFileError, match="only G_0.pth, the pretrained base.*allow_base=True"):
        svc.find_model(run)
    y, sr = _tone(0.2)
    with pytest.raises(svc.ModelFileError, match="Train first"):
        svc.convert(y, run, sr=sr)
    assert svc.find_model(run, allow_base=True)[0].name == "G_0.pth"
    assert svc.find_model(base / "G_0.pth")[0].name == "G_0.pth"              # asked for by name
    (base / "G_6.pth").write_bytes((base / "G_0.pth").read_bytes())          # a trained step
    assert svc.find_model(run)[0].name == "G_6.pth"                          # control


class Evil:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def test_a_generator_that_needs_unpickling_is_refused(tmp_path):
    model = _tiny_model(tmp_path / "m")
    with open(model / "G_9.pth", "wb") as f:
        pickle.dump({"model": Evil()}, f)
    y, sr = _tone()
    with pytest.raises(UnsafeModelError):
        svc.convert(y, model, sr=sr)


# ---------------------------------------------------------------------------- clusters


def test_cluster_model_round_trip_without_pickle(tmp_path):
    spk_dir = tmp_path / "run" / "dataset" / "44k" / "slt"
    spk_dir.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i in range(3):
        content = torch.from_numpy(rng.normal(size=(768, 40)).astype(np.float32))
        torch.save({"content": content}, spk_dir / f"c{i}.wav.data.pt")
    path = svc.train_cluster(tmp_path / "run", n_clusters=4)
    assert path.suffix == ".safetensors"
    models = svc.load_cluster(path)
    assert list(models) == ["slt"]
    assert models["slt"].cluster_centers_.shape == (4, 768)
    labels = models["slt"].predict(rng.normal(size=(5, 768)).astype(np.float32))
    assert labels.shape == (5,) and labels.max() < 4


def test_so_vits_svc_fork_cluster_files_load_weights_only(tmp_path):
    centers = np.random.default_rng(1).normal(size=(3, 768)).astype(np.float32)
    good = tmp_path / "kmeans.pt"
    torch.save({"slt": {"n_features_in_": 768, "_n_threads": 1, "cluster_centers_": centers}}, good)
    assert np.array_equal(svc.load_cluster(good)["slt"].cluster_centers_, centers)
    bad = tmp_path / "evil.pt"
    torch.save({"slt": {"cluster_centers_": Evil()}}, bad)
    with pytest.raises(hub.ModelFileError):
        svc.load_cluster(bad)


# ---------------------------------------------------------------------------- CLI


def test_cli_convert(tmp_path, capsys):
    from voicelab import audio

    model = _tiny_model(tmp_path / "model")
    wav = audio.save(tmp_path / "in.wav", *_tone(0.5))
    out = tmp_path / "out.wav"
    assert cli.main(["convert", str(wav), "--model", str(model), "--out", str(out),
                     "--transpose", "-2"]) == 0
    assert "44100 Hz" in capsys.readouterr().out
    y, sr = audio.load(out)
    assert sr == 44100 and len(y) == 22050
    assert cli.main(["convert", str(wav), "--model", str(model), "--speaker", "nobody",
                     "--out", str(out)]) == 2
    assert capsys.readouterr().err == (f"voicelab: error: Speaker 'nobody' is not in "
                                       f"{model / 'config.json'}; it has: slt.\n")
    assert cli.main(["convert", str(wav), "--model", str(tmp_path / "none"),
                     "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"voicelab: error: No so-vits-svc model in {tmp_path / 'none'}")
    assert "Traceback" not in err


def test_cli_train_reports_a_bad_dataset(tmp_path, capsys):
    (tmp_path / "data" / "slt").mkdir(parents=True)
    assert cli.main(["train", str(tmp_path / "data"), "--speaker", "slt",
                     "--out", str(tmp_path / "run")]) == 2
    assert "slt" in capsys.readouterr().err


# ---------------------------------------------------------------------------- end to end


@pytest.mark.slow  # ~60 s on 2 cores: the whole QUICK chain, three times (train, resume twice)
def test_quick_chain_trains_resumes_prunes_and_converts(tmp_path, capsys):
    from voicelab import audio
    from voicelab.data import speech as speech_data

    speech = speech_data.make_speech(["slt"], n_sentences=6, out_dir=tmp_path / "speech")
    before = sorted((p.name, p.stat().st_mtime_ns) for p in (speech / "slt").iterdir())
    run = tmp_path / "run"
    assert cli.main(["train", str(speech), "--speaker", "slt", "--out", str(run),
                     "--steps", "4", "--keep", "1"]) == 0
    report = json.loads(capsys.readouterr().out)
    # 6 clips - 4 held out = 2 training clips, batch 2: 1 step per epoch, 4 epochs
    assert report["steps"] == 4 and report["batch_size"] == 2 and report["epochs"] == 4
    model_dir = run / "logs" / "44k"
    assert sorted(p.name for p in model_dir.glob("*.pth")) == ["D_4.pth", "G_4.pth"]
    config = json.loads((model_dir / "config.json").read_text())
    assert config["model"]["pretrained"] == "none" and config["train"]["keep_ckpts"] == 1
    assert config["model"]["hidden_channels"] == 16  # the QUICK config was used

    result = svc.train(speech, run, speaker="slt", steps=6, keep=1)  # resume: 2 more steps
    assert result.model_path.name == "G_6.pth" and result.steps == 6
    assert sorted(p.name for p in model_dir.glob("*.pth")) == ["D_6.pth", "G_6.pth"]
    losses = svc.read_losses(run)
    steps, values = losses["loss/g/total"]
    assert len(steps) == 6 and np.isfinite(values).all()
    assert sorted((p.name, p.stat().st_mtime_ns) for p in (speech / "slt").iterdir()) == before

    # a new machine: the data set folder is gone (it was on the old VM's disk), only the run
    # folder is left (on Drive). Training resumes from the run's own copy of the clips, without
    # running pre-resample or pre-hubert again.
    features = sorted((p.name, p.stat().st_mtime_ns) for p in (run / "dataset" / "44k" / "slt").iterdir())
    shutil.move(str(speech), str(tmp_path / "old-vm"))
    result = svc.train(speech, run, speaker="slt", steps=7, keep=1)
    assert result.model_path.name == "G_7.pth"
    assert sorted((p.name, p.stat().st_mtime_ns)
                  for p in (run / "dataset" / "44k" / "slt").iterdir()) == features
    shutil.move(str(tmp_path / "old-vm"), str(speech))
    for clip in (speech / "slt").iterdir():     # the same clips re-made: new dates, same content
        os.utime(clip, None)
    svc.prepare(speech, run, "slt")
    assert sorted((p.name, p.stat().st_mtime_ns)
                  for p in (run / "dataset" / "44k" / "slt").iterdir()) == features

    # a checkpoint that does not fit the config (another model's file) stops training, saying so
    import torch

    newest = run / "logs" / "44k" / "G_7.pth"
    original = newest.read_bytes()
    ckpt = torch.load(newest, weights_only=True)
    ckpt["model"]["extra.weight"] = torch.zeros(2)
    torch.save(ckpt, newest)
    with pytest.raises(svc.TrainError, match="do not fit the model.*allow_mismatch=True"):
        svc.train(speech, run, speaker="slt", steps=8, keep=1)
    newest.write_bytes(original)

    out = tmp_path / "converted.wav"
    assert cli.main(["convert", str(speech / "slt" / "slt_000.wav"), "--model", str(run),
                     "--out", str(out)]) == 0
    y, sr = audio.load(out)
    src, src_sr = audio.load(speech / "slt" / "slt_000.wav")
    assert sr == 44100 and abs(len(y) - len(src) * 44100 / src_sr) <= 2

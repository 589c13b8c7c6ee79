"""voicelab.core.files: every write is all or nothing."""
import os
import stat

import pytest
import torch

from voicelab.core import files


def test_a_failed_write_leaves_the_old_file_and_no_temp(tmp_path):
    target = files.write_text(tmp_path / "sub dir" / "report.json", "old")
    with pytest.raises(RuntimeError):
        with files.atomic_path(target) as tmp:
            tmp.write_text("half of the new")
            raise RuntimeError("killed mid-write")
    assert target.read_text() == "old"
    assert sorted(p.name for p in target.parent.iterdir()) == ["report.json"]


def test_a_crash_while_syncing_leaves_nothing_behind(tmp_path, monkeypatch):
    def full_disk(fd):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(files, "_fsync", full_disk)
    with pytest.raises(OSError, match="No space"):
        files.write_bytes(tmp_path / "clip.wav", b"RIFF....")
    assert list(tmp_path.iterdir()) == []


def test_new_files_get_normal_permissions_and_old_ones_keep_theirs(tmp_path):
    new = files.write_json(tmp_path / "config.json", {"a": 1})
    mask = os.umask(0)
    os.umask(mask)
    assert stat.S_IMODE(new.stat().st_mode) == 0o666 & ~mask      # not mkstemp's 0o600
    os.chmod(new, 0o640)
    files.write_json(new, {"a": 2})
    assert stat.S_IMODE(new.stat().st_mode) == 0o640 and new.read_text() == '{\n  "a": 2\n}\n'


def test_torch_save_opens_weights_only(tmp_path):
    path = files.torch_save({"model": {"w": torch.ones(2)}, "iteration": 3}, tmp_path / "G_3.pth")
    ckpt = torch.load(path, weights_only=True)
    assert ckpt["iteration"] == 3 and torch.equal(ckpt["model"]["w"], torch.ones(2))


def test_a_folder_appears_whole_or_not_at_all(tmp_path):
    out = tmp_path / "space"
    with pytest.raises(RuntimeError):
        with files.atomic_folder(out) as tmp:
            (tmp / "model.safetensors").write_bytes(b"weights")
            raise RuntimeError("interrupted before the model card")
    assert list(tmp_path.iterdir()) == []
    with files.atomic_folder(out) as tmp:
        (tmp / "README.md").write_text("v1")
    mask = os.umask(0)
    os.umask(mask)
    assert (out / "README.md").read_text() == "v1"
    assert stat.S_IMODE(out.stat().st_mode) == 0o777 & ~mask          # not mkdtemp's 0o700
    with pytest.raises(FileExistsError):
        with files.atomic_folder(out):
            pass
    with files.atomic_folder(out, overwrite=True) as tmp:
        (tmp / "README.md").write_text("v2")
    assert (out / "README.md").read_text() == "v2" and len(list(tmp_path.iterdir())) == 1


def test_a_folder_made_meanwhile_by_someone_else_is_kept(tmp_path):
    out = tmp_path / "stand-in"
    with pytest.raises(FileExistsError, match="theirs is kept"):
        with files.atomic_folder(out) as tmp:
            (tmp / "mine.txt").write_text("mine")
            out.mkdir()                                   # another process finishes first
            (out / "theirs.txt").write_text("theirs")
    assert [p.name for p in tmp_path.iterdir()] == ["stand-in"]
    assert [p.name for p in out.iterdir()] == ["theirs.txt"]

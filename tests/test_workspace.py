"""voicelab.voice.workspace: one folder per student's voice, shared by notebooks 08-11."""
from pathlib import Path

import numpy as np
import pytest

from voicelab import audio
from voicelab.core.errors import DatasetError
from voicelab.voice import workspace


def test_layout_is_under_the_root_and_named_by_speaker(tmp_path):
    ws = workspace.open_workspace("ana", root=tmp_path / "drive", local=tmp_path / "vm")
    assert ws.recordings == tmp_path / "drive" / "recordings" / "ana"
    assert ws.clips == ws.dataset_raw / "ana" and ws.dataset_raw == tmp_path / "drive" / "dataset_raw"
    assert ws.report == ws.dataset_raw / "ana.report.json"
    assert ws.run_dir == tmp_path / "drive" / "runs" / "ana"
    assert ws.scratch == tmp_path / "vm" / "ana"
    # everything a resume needs is on the root ("Drive"), nothing on the local disk
    for p in (ws.recordings, ws.clips, ws.report, ws.run_dir, ws.exports):
        assert tmp_path / "drive" in p.parents
    assert tmp_path / "drive" not in ws.scratch.parents


def test_environment_chooses_root_and_local(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICELAB_WORKSPACE", str(tmp_path / "w"))
    monkeypatch.setenv("VOICELAB_LOCAL", str(tmp_path / "l"))
    ws = workspace.open_workspace()
    assert (ws.speaker, ws.root, ws.local) == ("me", tmp_path / "w", tmp_path / "l")
    assert ws.root.is_dir()
    monkeypatch.delenv("VOICELAB_WORKSPACE")
    monkeypatch.delenv("COLAB_RELEASE_TAG", raising=False)
    assert workspace.default_root() == Path.home() / "voicelab"   # the control: no variable, not Colab


def test_colab_uses_drive_and_the_vm_disk(monkeypatch, tmp_path):
    monkeypatch.delenv("VOICELAB_WORKSPACE", raising=False)
    monkeypatch.delenv("VOICELAB_LOCAL", raising=False)
    monkeypatch.setenv("COLAB_RELEASE_TAG", "test")
    mounted = []
    monkeypatch.setattr(workspace, "DRIVE_MOUNT", tmp_path / "content" / "drive")
    import sys
    import types

    drive = types.SimpleNamespace(mount=lambda where: mounted.append(where))
    monkeypatch.setitem(sys.modules, "google.colab", types.SimpleNamespace(drive=drive))
    monkeypatch.setitem(sys.modules, "google", types.SimpleNamespace(colab=sys.modules["google.colab"]))
    assert workspace.default_root() == workspace.DRIVE_ROOT
    assert mounted == [str(tmp_path / "content" / "drive")]           # Drive was mounted first
    assert workspace.default_local() == Path("/content/voicelab-local")


@pytest.mark.parametrize("name", ["", "a/b", "..", "-x", "my voice", "x" * 65, 3])
def test_bad_speaker_names_are_refused(tmp_path, name):
    with pytest.raises(DatasetError, match="Speaker name"):
        workspace.open_workspace(name, root=tmp_path)
    assert not any(tmp_path.iterdir())        # nothing was created


def test_takes_are_numbered_and_never_overwritten(tmp_path):
    ws = workspace.open_workspace("me", root=tmp_path)
    assert ws.takes() == []
    first = ws.next_take()
    audio.save(first, np.zeros(4410, np.float32), 44100)
    second = ws.next_take()
    assert (first.name, second.name) == ("take-001.wav", "take-002.wav")
    (ws.recordings / "notes.txt").write_text("not audio")
    (ws.recordings / "phone.m4a").write_bytes(b"")
    assert [p.name for p in ws.takes()] == ["phone.m4a", "take-001.wav"]
    assert "2 takes" in ws.describe() and "no checkpoints yet" in ws.describe()

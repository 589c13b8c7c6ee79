"""One folder for a student's voice, shared by notebooks 08-11 and the CLI. Introduced in notebook 08.

On Colab every notebook runs on its own machine, and a machine's disk is wiped when the
session ends. So the voice journey (record in 08, train in 09, convert in 10, share in 11)
keeps everything in a *workspace* on Google Drive, under one speaker name::

    ROOT/recordings/{speaker}/         the takes you recorded or uploaded (never modified)
    ROOT/dataset_raw/{speaker}/        the clips notebook 08 cut from them (what 09 trains on)
    ROOT/dataset_raw/{speaker}.report.json   notebook 08's data set report
    ROOT/runs/{speaker}/               the so-vits-svc run: its own copy of the clips and
                                       features, config, checkpoints (resume needs only this)
    ROOT/exports/{speaker}/            notebook 11's shareable folders
    LOCAL/{speaker}/                   scratch on the machine's own fast disk (training
                                       reads its features from here); may vanish any time

``ROOT`` is ``$VOICELAB_WORKSPACE`` if set; else on Colab ``/content/drive/MyDrive/voicelab``
(Drive is mounted first; Colab asks for permission); else ``~/voicelab``. ``LOCAL`` is
``$VOICELAB_LOCAL`` if set; else ``/content/voicelab-local`` on Colab; else
``cache_dir()/local``. Nothing here deletes anything: the notebooks add takes and clips,
and training adds checkpoints.
"""
from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from ..core import runtime
from ..core.errors import DatasetError

__all__ = ["Workspace", "open_workspace", "default_root", "default_local", "DRIVE_ROOT"]

#: Where Colab mounts Google Drive, and the workspace folder on it.
DRIVE_MOUNT = Path("/content/drive")
DRIVE_ROOT = DRIVE_MOUNT / "MyDrive" / "voicelab"
_SPEAKER = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")


@dataclass(frozen=True)
class Workspace:
    """The folders of one speaker's voice (see the module docstring). Introduced in notebook 08."""

    speaker: str
    root: Path
    local: Path

    @property
    def recordings(self) -> Path:
        """Your takes, as recorded or uploaded: the input of notebook 08."""
        return self.root / "recordings" / self.speaker

    @property
    def dataset_raw(self) -> Path:
        """The folder holding ``{speaker}/`` clips: notebook 08's output, notebook 09's input."""
        return self.root / "dataset_raw"

    @property
    def clips(self) -> Path:
        """``dataset_raw/{speaker}``: the clips themselves."""
        return self.dataset_raw / self.speaker

    @property
    def report(self) -> Path:
        """Notebook 08's data set report (JSON)."""
        return self.dataset_raw / f"{self.speaker}.report.json"

    @property
    def run_dir(self) -> Path:
        """The so-vits-svc run folder of notebooks 09-11 (see :func:`voicelab.voice.svc.run_layout`)."""
        return self.root / "runs" / self.speaker

    @property
    def exports(self) -> Path:
        """Where notebook 11 writes shareable folders."""
        return self.root / "exports" / self.speaker

    @property
    def scratch(self) -> Path:
        """This machine's fast local folder for the speaker (may be wiped between sessions)."""
        return self.local / self.speaker

    def takes(self) -> list[Path]:
        """The audio files in :attr:`recordings`, by name."""
        from .dataset import AUDIO_SUFFIXES

        folder = self.recordings
        return sorted(p for p in folder.iterdir() if p.is_file()
                      and p.suffix.lower() in AUDIO_SUFFIXES) if folder.is_dir() else []

    def next_take(self, suffix: str = ".wav") -> Path:
        """A new, unused file name in :attr:`recordings`: ``take-001.wav``, ``take-002.wav`` ..."""
        self.recordings.mkdir(parents=True, exist_ok=True)
        n = 1
        while any((self.recordings / f"take-{n:03d}{s}").exists() for s in (suffix, ".wav")):
            n += 1
        return self.recordings / f"take-{n:03d}{suffix}"

    def describe(self) -> str:
        """A few lines saying what is there so far (for the notebooks' first cells)."""
        from .svc import checkpoints, run_layout

        n_clips = len(list(self.clips.glob("*.wav"))) if self.clips.is_dir() else 0
        ckpts = [p.name for p in checkpoints(run_layout(self.run_dir).model, "G")]
        return "\n".join([
            f"workspace {self.root} (speaker {self.speaker!r})",
            f"  recordings: {len(self.takes())} takes in {self.recordings}",
            f"  clips:      {n_clips} in {self.clips}",
            f"  run:        {', '.join(ckpts) if ckpts else 'no checkpoints yet'} in {self.run_dir}",
        ])


def default_root() -> Path:
    """The workspace root this machine uses (see the module docstring); mounts Drive on Colab."""
    if os.environ.get("VOICELAB_WORKSPACE"):
        return Path(os.environ["VOICELAB_WORKSPACE"]).expanduser().absolute()
    if runtime.is_colab():
        if not (DRIVE_MOUNT / "MyDrive").is_dir():
            from google.colab import drive

            drive.mount(str(DRIVE_MOUNT))
        return DRIVE_ROOT
    return Path.home() / "voicelab"


def default_local() -> Path:
    """This machine's fast scratch folder (see the module docstring)."""
    if os.environ.get("VOICELAB_LOCAL"):
        return Path(os.environ["VOICELAB_LOCAL"]).expanduser().absolute()
    if runtime.is_colab():
        return Path("/content/voicelab-local")
    return runtime.cache_dir() / "local"


def open_workspace(speaker: str = "me", root=None, local=None) -> Workspace:
    """The workspace of ``speaker`` under ``root`` (default :func:`default_root`); creates the root.

    Introduced in notebook 08; notebooks 09-11 open the same one with the same speaker name.
    ``speaker`` is a short name of letters, digits, ``-`` and ``_`` (it becomes folder names and
    the speaker id in the model's config).
    """
    if not isinstance(speaker, str) or not _SPEAKER.fullmatch(speaker):
        raise DatasetError(f"Speaker name {speaker!r}: use 1-64 letters, digits, '-' or '_', "
                           "starting with a letter or digit (e.g. 'me' or 'ana'); it becomes a "
                           "folder name and the model's speaker id.")
    root = Path(root).expanduser().absolute() if root is not None else default_root()
    local = Path(local).expanduser().absolute() if local is not None else default_local()
    root.mkdir(parents=True, exist_ok=True)
    return Workspace(speaker, root, local)

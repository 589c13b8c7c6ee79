"""Writing files all or nothing. Introduced in notebook 00 (``audio.save`` writes this way).

Every file voicelab writes (audio, clips, reports, configs, checkpoints) goes to a temporary
file next to its target, is flushed to disk, and then renamed over the target in one step.
An interrupted run (a Colab disconnect, a full disk) leaves the old file or the new one,
never half of one. Temporary files are named ``.{name}.{random}.tmp``.
"""
from __future__ import annotations

import contextlib
import json
import os
import shutil
import stat
import tempfile
from pathlib import Path

__all__ = ["atomic_path", "atomic_folder", "write_bytes", "write_text", "write_json", "torch_save",
           "new_file_mode", "move"]

_fsync = os.fsync   # tests replace this to simulate a crash in the middle of a write


def new_file_mode(path) -> int:
    """Permissions for a file written at ``path``: the old file's, else 0o666 minus the umask."""
    try:
        return stat.S_IMODE(Path(path).stat().st_mode)
    except FileNotFoundError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


@contextlib.contextmanager
def atomic_path(path):
    """Yield a temporary path next to ``path``; write it inside the block.

    When the block ends normally the file is synced to disk and renamed onto ``path`` (made
    with the usual permissions, not the temporary file's 0o600). When it raises, the
    temporary file is deleted and ``path`` is left as it was.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    mode = new_file_mode(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        with open(tmp, "rb+") as f:
            _fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
    with contextlib.suppress(OSError):   # make the rename itself durable (POSIX)
        dir_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)


def move(src, dst) -> Path:
    """Rename the whole file ``src`` onto ``dst`` in one step (same file system); return ``dst``.

    For a file whose final name is known only once it is written (e.g. named by its hash):
    write it with :func:`atomic_path` under a provisional name, then move it.
    """
    os.replace(src, dst)
    return Path(dst)


def write_bytes(path, data: bytes) -> Path:
    """Write ``data`` to ``path`` all or nothing; return the path."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)
    return Path(path)


def write_text(path, text: str) -> Path:
    """Write ``text`` (UTF-8) to ``path`` all or nothing; return the path."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path, obj, **dump_kwargs) -> Path:
    """Write ``obj`` as JSON (``indent=2`` unless given) all or nothing; return the path."""
    dump_kwargs.setdefault("indent", 2)
    return write_text(path, json.dumps(obj, **dump_kwargs) + "\n")


def torch_save(obj, path) -> Path:
    """``torch.save(obj)`` to ``path`` all or nothing; return the path.

    Save only plain data (tensors, numbers, strings, dicts and lists of them), so that the
    file opens again with ``torch.load(..., weights_only=True)``.
    """
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
    return Path(path)


@contextlib.contextmanager
def atomic_folder(path, *, overwrite: bool = False):
    """Yield a new temporary folder next to ``path``; fill it inside the block.

    When the block ends normally the folder becomes ``path``: an existing ``path`` is
    replaced only with ``overwrite=True`` (else :class:`FileExistsError` before anything is
    written, or at the end if another process made ``path`` meanwhile: theirs is kept).
    When the block raises, the temporary folder is deleted and ``path`` is untouched.
    """
    path = Path(path)
    if path.exists() and not overwrite and (path.is_file() or any(path.iterdir())):
        raise FileExistsError(f"{path} already exists and is not empty; choose a new folder "
                              "or pass overwrite=True.")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp"))
    try:
        yield tmp
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o777 & ~mask)          # mkdtemp makes it 0o700
        if overwrite and path.exists():
            shutil.rmtree(path) if path.is_dir() else path.unlink()
        try:
            os.replace(tmp, path)   # onto nothing or an empty folder; a full one refuses
        except OSError as e:
            if overwrite or not path.exists():
                raise
            raise FileExistsError(f"{path} was made by someone else while this one was being "
                                  "written; theirs is kept.") from e
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

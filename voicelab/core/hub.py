"""The one place that downloads: model weights and data from the Hugging Face Hub or a URL.

Introduced in notebook 00. Like d2l's ``DATA_HUB`` and ``download``, every notebook asks
this module for files instead of downloading on its own, so caching, checksums and the
offline rule live here and nowhere else:

* An :class:`Asset` names a file (or a whole Hub repo) once, as a constant of the module that
  uses it (``voicelab.voice.svc.CONTENTVEC``); :func:`fetch` returns a local path for it. There is
  no global registry: an asset is a value, passed to :func:`fetch`.
* Hub files go to Hugging Face's own cache (``$HF_HOME/hub``), so transformers and
  so-vits-svc find them there too; URL downloads go to ``cache_dir()/downloads``.
* When :func:`voicelab.core.runtime.is_offline` is true (QUICK mode or ``HF_HUB_OFFLINE=1``)
  nothing touches the network: a cached copy is used, else the asset's stand-in (a small
  local substitute, built once under ``cache_dir()/stand-ins/<name>/``), else
  :class:`~voicelab.core.errors.HubOfflineError` says what is missing and how to get it.
* :func:`load_weights` opens ``.safetensors`` and ``.pt/.pth/.bin/.ckpt`` files without
  running any code stored in them; :func:`save_weights` writes safetensors.
* :data:`MANIFEST` (:mod:`voicelab.core.manifest`) lists every external asset as its repository
  publishes it; :func:`asset` builds an :class:`Asset` from it, and every stand-in of such an
  asset is checked against it when written (same file names, same formats).
  :func:`install_stand_in` writes an asset's full-size stand-in where the real download is
  cached, for the offline FULL rehearsal (``make rehearse``).
"""
from __future__ import annotations

import hashlib
import io
import json
import os
import pickle
import pickletools
import re
import shutil
import urllib.error
import urllib.parse
import urllib.request
import warnings
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Mapping

from . import files, manifest, runtime
from .errors import (
    ChecksumError, DownloadError, HubOfflineError, ModelFileError, ModelFileNotFoundError,
    UnsafeModelError, VoicelabError,
)

__all__ = [
    "Asset", "asset", "MANIFEST", "install_stand_in", "fetch", "hf_file", "hf_snapshot", "url_file",
    "is_stand_in", "made_up_words", "load_weights", "save_weights", "sha256sum", "hf_cache_dir",
    "ModelFileError", "ModelFileNotFoundError", "DownloadError",
]

TORCH_SUFFIXES = (".pt", ".pth", ".bin", ".ckpt")
STAND_IN_MARKER = ".voicelab-stand-in"
#: Every external asset as published (see :mod:`voicelab.core.manifest`).
MANIFEST = manifest.MANIFEST
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")


# ---------------------------------------------------------------------------- assets


@dataclass(frozen=True)
class Asset:
    """A file or repo the course downloads, declared once; ``name`` names its stand-in folder.

    Give ``repo_id`` (a Hugging Face Hub repo) or ``url``, not both. With ``repo_id``,
    ``filename`` picks one file of the repo; ``filename=None`` means the whole repo
    (a snapshot folder, optionally limited by ``allow_patterns``). ``sha256`` (64 hex
    digits) is checked for single files when given. ``stand_in(path)`` writes a small
    local substitute (e.g. a tiny randomly initialised model) for offline runs: it gets
    the file path to write for a single file, or the folder to fill for a snapshot.
    ``full_stand_in`` (same call) writes the full-size one the FULL rehearsal installs
    (:func:`install_stand_in`). ``manifest`` names the asset's :data:`MANIFEST` entry; both
    stand-ins are then checked against it. Build manifest assets with :func:`asset`.
    """

    name: str
    repo_id: str | None = None
    filename: str | None = None
    url: str | None = None
    revision: str | None = None
    sha256: str | None = None
    description: str = ""
    allow_patterns: tuple[str, ...] | None = None
    stand_in: Callable[[Path], object] | None = field(default=None, compare=False, repr=False)
    full_stand_in: Callable[[Path], object] | None = field(default=None, compare=False, repr=False)
    manifest: str | None = None

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"Asset name {self.name!r} must be letters, digits, '.', '_' or '-' "
                             "(it becomes a folder name).")
        if (self.repo_id is None) == (self.url is None):
            raise ValueError(f"Asset {self.name!r}: give exactly one of repo_id= or url=.")
        if self.url is not None and (self.revision or self.allow_patterns):
            raise ValueError(f"Asset {self.name!r}: revision= and allow_patterns= are for Hub repos, "
                             "not URLs.")
        if self.sha256 is not None:
            if self.repo_id is not None and self.filename is None:
                raise ValueError(f"Asset {self.name!r}: sha256= needs a single file (filename=), "
                                 "not a whole repo snapshot.")
            object.__setattr__(self, "sha256", _check_sha(self.sha256))
        if self.allow_patterns is not None:  # a tuple, so the frozen Asset stays hashable
            patterns = self.allow_patterns
            object.__setattr__(self, "allow_patterns",
                               (patterns,) if isinstance(patterns, str) else tuple(patterns))

    @property
    def is_snapshot(self) -> bool:
        """True when the asset is a whole Hub repo (a folder) rather than one file."""
        return self.repo_id is not None and self.filename is None

    @property
    def source(self) -> str:
        """Where it comes from, for messages: ``repo_id/filename`` or the URL."""
        if self.url is not None:
            return self.url
        return self.repo_id if self.filename is None else f"{self.repo_id}/{self.filename}"


def asset(name: str, *, filename: str | None = None,
          stand_in: Callable[[Path], object] | None = None,
          full_stand_in: Callable[[Path], object] | None = None) -> Asset:
    """The :class:`Asset` of :data:`MANIFEST` entry ``name``: its repository (the whole listed
    file set, a snapshot) or, with ``filename``, one listed file of it; or its URL.

    Introduced in notebook 00. Modules declare their assets with this, so no loader can be
    handed a file the manifest does not list.
    """
    e = manifest.entry(name)
    description = f"{e.source} ({e.licence})"
    if e.url is not None:
        return Asset(name, url=e.url, filename=e.files[0].path, description=description,
                     stand_in=stand_in, full_stand_in=full_stand_in, manifest=name)
    if e.kind != "model":
        raise ValueError(f"{name}: a {e.kind} repository; fetch its files by URL "
                         "(Asset(url=..., manifest=...)).")
    if filename is not None and (e.file(filename) is None or any(c in filename for c in "*?[")):
        raise ValueError(f"{name}: {filename!r} is not one of the files the manifest lists.")
    patterns = None if filename else tuple(f.path for f in e.files)
    return Asset(name, repo_id=e.repo_id, filename=filename, revision=e.revision,
                 allow_patterns=patterns, description=description, stand_in=stand_in,
                 full_stand_in=full_stand_in, manifest=name)


def fetch(asset: Asset) -> Path:
    """Local path of ``asset`` (a file, or a folder for a repo snapshot).

    Introduced in notebook 09 (notebook 00 explains the hub). Online: download into the cache
    (or reuse it). Offline
    (QUICK mode or ``HF_HUB_OFFLINE=1``): the cached copy, else the asset's stand-in
    (see :func:`is_stand_in`), else :class:`HubOfflineError`.
    """
    if not isinstance(asset, Asset):
        raise TypeError(f"fetch() takes an Asset (e.g. voicelab.voice.svc.CONTENTVEC), "
                        f"got {type(asset).__name__} {asset!r}.")
    try:
        if asset.url is not None:
            return url_file(asset.url, sha256=asset.sha256, filename=asset.filename)
        if asset.is_snapshot:
            return hf_snapshot(asset.repo_id, allow_patterns=asset.allow_patterns,
                               revision=asset.revision)
        return hf_file(asset.repo_id, asset.filename, revision=asset.revision, sha256=asset.sha256)
    except HubOfflineError:
        if asset.stand_in is None:
            raise
        return _stand_in_path(asset)


# ---------------------------------------------------------------------------- Hub and URL


def hf_cache_dir() -> Path:
    """The Hugging Face Hub cache folder, read from the environment now.

    ``$HF_HUB_CACHE``, else ``$HF_HOME/hub``, else ``~/.cache/huggingface/hub`` (the same
    rule huggingface_hub applies when it is imported).
    """
    hub = os.environ.get("HF_HUB_CACHE") or os.environ.get("HUGGINGFACE_HUB_CACHE")
    if not hub:
        home = os.environ.get("HF_HOME") or os.path.join(
            os.environ.get("XDG_CACHE_HOME") or os.path.join("~", ".cache"), "huggingface")
        hub = os.path.join(home, "hub")
    return Path(os.path.expandvars(os.path.expanduser(hub)))


def hf_file(repo_id: str, filename: str, revision: str | None = None,
            sha256: str | None = None) -> Path:
    """Path of one file of a Hub repo, downloaded into the Hugging Face cache if needed.

    Used by :func:`fetch`. Offline, only the cache is looked at (no network) and a
    missing file raises :class:`HubOfflineError`. With ``sha256`` the file is checked;
    a mismatch deletes it from the cache and raises :class:`ChecksumError`.
    """
    hf = _hf()
    sha256 = _check_sha(sha256) if sha256 is not None else None
    cache = hf_cache_dir()
    what = f"{repo_id}/{filename}" + (f" (revision {revision})" if revision else "")
    offline = runtime.is_offline()
    try:
        path = hf.hf_hub_download(repo_id, filename, revision=revision, cache_dir=str(cache),
                                  local_files_only=offline)
    except _local_miss_errors() as e:
        if offline:
            raise HubOfflineError(_offline_hub_message(what, cache, repo_id, filename, revision)) from e
        raise DownloadError(
            f"Could not download {what} from the Hugging Face Hub and it is not cached in {cache} "
            f"({e.__class__.__name__}). Check the internet connection and the repo name, "
            "then run again.") from e
    path = Path(path)
    if sha256 is not None:
        _verify(path, sha256, what, discard=True)
    return path


def hf_snapshot(repo_id: str, allow_patterns: str | Iterable[str] | None = None,
                revision: str | None = None) -> Path:
    """Folder holding a Hub repo's files (all, or those matching ``allow_patterns``).

    Used by :func:`fetch`. Uses the Hugging Face cache; offline, only the cache is
    looked at and a missing snapshot raises :class:`HubOfflineError`.
    """
    hf = _hf()
    patterns = [allow_patterns] if isinstance(allow_patterns, str) else (
        list(allow_patterns) if allow_patterns is not None else None)
    cache = hf_cache_dir()
    what = repo_id + (f" (revision {revision})" if revision else "")
    offline = runtime.is_offline()
    try:
        path = hf.snapshot_download(repo_id, revision=revision, allow_patterns=patterns,
                                    cache_dir=str(cache), local_files_only=offline)
    except _local_miss_errors() as e:
        if offline:
            raise HubOfflineError(_offline_hub_message(what, cache, repo_id, None, revision)) from e
        raise DownloadError(
            f"Could not download {what} from the Hugging Face Hub and it is not cached in {cache} "
            f"({e.__class__.__name__}). Check the internet connection and the repo name, "
            "then run again.") from e
    return Path(path)


def url_file(url: str, sha256: str | None = None, filename: str | None = None) -> Path:
    """Path of a file downloaded from ``url`` into ``cache_dir()/downloads`` (once).

    Used by :func:`fetch`. ``filename`` defaults to the last part of the URL. The
    download is written to a temporary file and moved into place only when complete
    and, with ``sha256``, only when the checksum matches (else :class:`ChecksumError`,
    nothing kept). Offline, only the cache is used (else :class:`HubOfflineError`).
    """
    sha256 = _check_sha(sha256) if sha256 is not None else None
    dest = _url_cache_path(url, filename)
    if dest.is_file() and not runtime.is_offline() and is_stand_in(dest):
        # a rehearsal's stand-in left in this cache (voicelab.voice.rehearsal): online, the real
        # file replaces it, and the folder stops being marked as a stand-in
        (dest.parent / STAND_IN_MARKER).unlink(missing_ok=True)
        dest.unlink()
    if dest.is_file():
        if sha256 is None:
            return dest
        try:
            return _verify(dest, sha256, url, discard=True)
        except ChecksumError:
            if runtime.is_offline():
                raise
            # online: the cached copy was bad and is gone; download a fresh one below
    if runtime.is_offline():
        raise HubOfflineError(
            f"{url} is not in the download cache and voicelab is offline ({_offline_reason()}), "
            f"so it was not downloaded: {dest} is missing. To get it: run this notebook once in "
            "FULL mode with internet (VOICELAB_QUICK=0), or download the file yourself and "
            f"put it at {dest}.")
    dest.parent.mkdir(parents=True, exist_ok=True)
    _download(url, dest, sha256)
    return dest


def _url_cache_path(url: str, filename: str | None) -> Path:
    if filename is None:
        filename = Path(urllib.parse.unquote(urllib.parse.urlparse(url).path)).name or "download"
    if Path(filename).name != filename or filename in (".", ".."):
        raise ValueError(f"filename={filename!r} must be a plain file name, not a path.")
    key = hashlib.sha256(url.encode("utf-8")).hexdigest()[:16]
    return runtime.cache_dir() / "downloads" / key / filename


def _download(url: str, dest: Path, sha256: str | None) -> None:
    """Stream ``url`` into ``dest`` all or nothing (:func:`voicelab.core.files.atomic_path`),
    checking its SHA-256 before it is put in place."""
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    request = urllib.request.Request(url, headers={"User-Agent": "voicelab"})
    with files.atomic_path(dest) as tmp:
        digest = hashlib.sha256()
        with open(tmp, "wb") as out:
            try:
                response = urllib.request.urlopen(request, timeout=60)
            except (urllib.error.URLError, OSError, ValueError) as e:
                raise DownloadError(
                    f"Could not download {url}: {e}. Check the URL and the internet connection, "
                    f"or download the file yourself and put it at {dest}.") from e
            with response:
                total = response.headers.get("Content-Length")
                total = int(total) if total and total.isdigit() else None
                with tqdm(total=total, unit="B", unit_scale=True, desc=dest.name, mininterval=10,
                          disable=total is not None and total < 2**20) as bar:
                    while chunk := response.read(2**20):
                        out.write(chunk)
                        digest.update(chunk)
                        bar.update(len(chunk))
        got = digest.hexdigest()
        if sha256 is not None and got != sha256:
            raise ChecksumError(_checksum_message(url, sha256, got, dest))


def _hf():
    import huggingface_hub

    return huggingface_hub


def _local_miss_errors() -> tuple[type[BaseException], ...]:
    """The exceptions huggingface_hub raises when a file is neither cached nor downloadable."""
    try:
        from huggingface_hub.errors import LocalEntryNotFoundError
    except ImportError:  # pragma: no cover - huggingface_hub < 0.25
        from huggingface_hub.utils import LocalEntryNotFoundError
    return (LocalEntryNotFoundError, FileNotFoundError)


def _offline_reason() -> str:
    reasons = []
    if runtime.flag("HF_HUB_OFFLINE"):
        reasons.append("HF_HUB_OFFLINE=1")
    if runtime.is_quick():
        reasons.append("QUICK mode")
    return " and ".join(reasons) or "offline"


def _offline_hub_message(what: str, cache: Path, repo_id: str, filename: str | None,
                         revision: str | None) -> str:
    args = repo_id + (f" {filename}" if filename else "") + (f" --revision {revision}" if revision else "")
    unset = " or unset HF_HUB_OFFLINE," if runtime.flag("HF_HUB_OFFLINE") else ""
    return (f"{what} is missing: it is not in the Hugging Face cache ({cache}) and voicelab is "
            f"offline ({_offline_reason()}), so it was not downloaded. To get it: run this "
            f"notebook once in FULL mode with internet (VOICELAB_QUICK=0),{unset} or, on a "
            f"machine with internet, run `hf download {args}` (older huggingface_hub: "
            f"`huggingface-cli download {args}`) and copy its cache folder to {cache} "
            "(or point HF_HOME at it).")


# ---------------------------------------------------------------------------- stand-ins


def made_up_words(prefix: str = ""):
    """``prefix`` + "a", "b", ... "z", "ba", "bb", ... without end: filler entries for a
    stand-in tokenizer's vocabulary, so it has the real model's size and every token id a
    random model generates decodes to some text (SmolLM2's and Whisper's stand-ins)."""
    n = 0
    while True:
        word, k = "", n
        while True:
            word, k = chr(ord("a") + k % 26) + word, k // 26
            if k == 0:
                break
        yield prefix + word
        n += 1


def is_stand_in(path: str | os.PathLike) -> bool:
    """True when ``path`` (a file or folder) is a stand-in that :func:`fetch` built offline.

    Introduced in notebook 01, so a notebook can say "this is a tiny random model, not the
    real one" instead of presenting stand-in results as real.
    """
    path = Path(path).absolute()
    return any((p / STAND_IN_MARKER).is_file() for p in (path, *path.parents))


def _stand_in_path(asset: Asset) -> Path:
    """Build the asset's stand-in once under cache_dir()/stand-ins/<name>/ and return its path."""
    root = runtime.cache_dir() / "stand-ins"
    final = root / asset.name
    rel = None if asset.is_snapshot else Path(asset.filename or _url_cache_path(asset.url, None).name)
    if (final / STAND_IN_MARKER).is_file() and (rel is None or (final / rel).exists()) \
            and _matches_manifest(asset, final, rel):
        return final if rel is None else final / rel
    root.mkdir(parents=True, exist_ok=True)
    if final.exists():  # half-built, or built by an older voicelab than the manifest: rebuild
        shutil.rmtree(final, ignore_errors=True)
    try:
        with files.atomic_folder(final) as tmp:
            _build_stand_in(asset, tmp, rel)
    except FileExistsError:  # another process finished first: use its copy
        if not (final / STAND_IN_MARKER).is_file():
            raise
    return final if rel is None else final / rel


_CHECKED: dict[tuple[str, int], bool] = {}


def _matches_manifest(asset: Asset, folder: Path, rel: Path | None) -> bool:
    """Whether a stand-in built earlier still has the manifest's files and formats (checked once
    per process; a stand-in from an older voicelab, e.g. safetensors where the repository
    publishes a .bin, is rebuilt)."""
    key = (str(folder), (folder / STAND_IN_MARKER).stat().st_mtime_ns)
    if key not in _CHECKED:
        try:
            _check_against_manifest(asset, folder, rel)
            _CHECKED[key] = True
        except manifest.ManifestError:
            _CHECKED[key] = False
    return _CHECKED[key]


def _build_stand_in(asset: Asset, tmp: Path, rel: Path | None) -> None:
    """Fill the folder ``tmp`` with ``asset``'s stand-in and its marker file."""
    target = tmp if rel is None else tmp / rel
    target.parent.mkdir(parents=True, exist_ok=True)
    with runtime.quiet(logs=False):   # built once: its "Writing shards" bar is noise
        asset.stand_in(target)
    made = any(tmp.iterdir()) if rel is None else (target.exists() and (
        target.is_dir() or target.stat().st_size > 0))
    if not made:
        raise VoicelabError(f"The stand-in for asset {asset.name!r} wrote nothing at {target}; "
                            "its stand_in function must write the file (or fill the folder) "
                            "it is given.")
    _check_against_manifest(asset, tmp, rel)
    (tmp / STAND_IN_MARKER).write_text(json.dumps(
        {"asset": asset.name, "replaces": asset.source,
         "note": "small local stand-in built offline by voicelab.core.hub, not the real weights"},
        indent=1) + "\n")


def _check_against_manifest(asset: Asset, folder: Path, rel: Path | None) -> None:
    """A stand-in of a manifest asset holds exactly the published file names, in their formats.

    ``rel=None``: ``folder`` is a whole snapshot. Otherwise ``folder / rel`` is one file, checked
    as the entry's file of that name or, failing that, as ``asset.filename`` (a file being
    written under a temporary name).
    """
    if asset.manifest is None:
        return
    e = manifest.entry(asset.manifest)
    if rel is None:
        manifest.check_folder(e, folder, ignore=(STAND_IN_MARKER,))
    else:
        listed = e.file(rel.as_posix()) or (e.file(asset.filename) if asset.filename else None)
        manifest.check_file(e, folder / rel, listed.path if listed else rel.as_posix())


# ---------------------------------------------------------------------------- rehearsal


def install_stand_in(asset: Asset, *, seed: int = 0) -> Path:
    """Write ``asset``'s full-size stand-in where :func:`fetch` finds the real download; return that path.

    For the FULL rehearsal (``make rehearse``; no notebook calls it): Hub repos go into
    :func:`hf_cache_dir` as huggingface_hub lays its cache out (blobs, a snapshot of symlinks,
    ``refs/<revision or main>``), URL files into ``cache_dir()/downloads``, so FULL code offline
    (``VOICELAB_QUICK=0 HF_HUB_OFFLINE=1``) takes them as a cache hit. The files are checked
    against the asset's manifest entry and labelled (:func:`is_stand_in`). What is there already
    is kept; an interrupted install leaves nothing :func:`fetch` would pick up. Refused online:
    a stand-in in a user's real cache would later be taken for the real file.
    """
    import contextlib

    from .torchutil import seeded

    if not runtime.is_offline():
        raise VoicelabError(
            f"install_stand_in({asset.name}) writes random weights where the real download is "
            "cached; online, voicelab would later use them as if they were real. Run it offline "
            "(HF_HUB_OFFLINE=1) with VOICELAB_CACHE and HF_HOME pointing at folders made for "
            "the rehearsal.")
    write = asset.full_stand_in or asset.stand_in
    if write is None:
        raise VoicelabError(f"asset {asset.name!r} has no stand-in to install.")
    quiet = runtime.quiet(logs=True)
    if asset.url is not None:
        dest = _url_cache_path(asset.url, asset.filename)
        if dest.is_file():
            return dest
        dest.parent.mkdir(parents=True, exist_ok=True)
        with files.atomic_path(dest) as tmp, seeded(seed), quiet:
            write(tmp)
            _check_against_manifest(asset, tmp.parent, Path(tmp.name))
        _stand_in_marker(dest.parent, asset)
        return dest
    repo = hf_cache_dir() / ("models--" + asset.repo_id.replace("/", "--"))
    ref = repo / "refs" / (asset.revision or "main")
    wanted = [asset.filename] if asset.filename else None
    if ref.is_file():
        current = repo / "snapshots" / ref.read_text().strip()
        if current.is_dir() and (all((current / n).is_file() for n in wanted) if wanted
                                 else (current / STAND_IN_MARKER).is_file() or any(current.iterdir())):
            return current / asset.filename if asset.filename else current
    commit = asset.revision if asset.revision and re.fullmatch(r"[0-9a-f]{40}", asset.revision) \
        else hashlib.sha1(f"voicelab stand-in of {asset.repo_id}".encode()).hexdigest()
    blobs = repo / "blobs"
    blobs.mkdir(parents=True, exist_ok=True)
    with contextlib.ExitStack() as stack:
        staging = Path(stack.enter_context(_temp_folder(blobs)))
        with seeded(seed), quiet:
            write(staging / asset.filename if asset.filename else staging)
        _check_against_manifest(asset, staging, Path(asset.filename) if asset.filename else None)
        snapshot = repo / "snapshots" / commit
        links = {}
        for path in sorted(p for p in staging.rglob("*") if p.is_file()):
            rel = path.relative_to(staging)
            lfs = not rel.name.endswith((".json", ".txt", ".yaml"))
            blob = files.move(path, blobs / _blob_name(path, lfs))
            links[rel] = blob.name
        with files.atomic_folder(snapshot, overwrite=True) as tmp:
            for rel, blob in links.items():
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                up = Path(*[".."] * (len(rel.parts) + 1))
                os.symlink(up / "blobs" / blob, tmp / rel)
            _stand_in_marker(tmp, asset)
    files.write_text(ref, commit)
    return snapshot / asset.filename if asset.filename else snapshot


def _temp_folder(parent: Path):
    import tempfile

    return tempfile.TemporaryDirectory(prefix=".stand-in-", dir=parent)


def _blob_name(path: Path, lfs: bool) -> str:
    """The Hub's blob name: sha256 for LFS files, the git blob hash for small text files."""
    if lfs:
        return sha256sum(path)
    data = path.read_bytes()
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def _stand_in_marker(folder: Path, asset: Asset) -> None:
    files.write_json(folder / STAND_IN_MARKER, {
        "asset": asset.name, "replaces": asset.source,
        "written_by": "voicelab.core.hub.install_stand_in",
        "note": "full-size stand-in with random weights for an offline FULL rehearsal, "
                "not the real model"}, indent=1)


# ---------------------------------------------------------------------------- checksums


def sha256sum(path: str | os.PathLike) -> str:
    """SHA-256 of a file as 64 lowercase hex digits (the form of :class:`Asset`'s ``sha256``)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(2**20):
            digest.update(chunk)
    return digest.hexdigest()


_VERIFIED: dict[tuple[str, int, int], str] = {}


def _check_sha(sha256: str) -> str:
    value = str(sha256).strip().lower()
    if not _SHA256.fullmatch(value):
        raise ValueError(f"sha256={sha256!r} is not a SHA-256 (64 hex digits).")
    return value


def _checksum_message(what: str, expected: str, got: str, path: Path) -> str:
    return (f"{what}: the file's SHA-256 is {got}, expected {expected}. The download is "
            f"corrupt or the file changed upstream, so it was not kept ({path}). Run again to "
            "download it again; if it keeps failing, check the expected checksum.")


def _verify(path: Path, expected: str, what: str, discard: bool) -> Path:
    """Check ``path`` against ``expected``; on mismatch delete it (and its HF blob) and raise."""
    st = path.stat()
    key = (str(path.resolve()), st.st_size, st.st_mtime_ns)
    got = _VERIFIED.get(key) or sha256sum(path)
    if got == expected:
        _VERIFIED[key] = got
        return path
    if discard:
        blob = path.resolve() if path.is_symlink() else None
        path.unlink(missing_ok=True)
        if blob is not None:
            blob.unlink(missing_ok=True)
    raise ChecksumError(_checksum_message(what, expected, got, path))


# ---------------------------------------------------------------------------- weights


def save_weights(state_dict: Mapping[str, object], path: str | os.PathLike,
                 metadata: Mapping[str, str] | None = None) -> Path:
    """Write a flat ``{name: tensor}`` dict to a ``.safetensors`` file, atomically.

    Introduced in notebook 00. Only tensors can be stored (no Python objects, so nothing
    can run when the file is opened); keep step counts or optimiser state elsewhere.
    Returns the path.
    """
    import torch
    from safetensors.torch import save_file

    path = Path(path)
    if path.suffix != ".safetensors":
        raise ValueError(f"{path}: save_weights writes safetensors, so the name must end in "
                         ".safetensors.")
    tensors, seen = {}, set()
    for key, value in state_dict.items():
        if not isinstance(key, str):
            raise TypeError(f"save_weights: key {key!r} is not a string.")
        if not isinstance(value, torch.Tensor):
            raise TypeError(f"save_weights stores tensors only, but {key!r} is a "
                            f"{type(value).__name__}; save it separately (e.g. JSON).")
        t = value.detach().cpu().contiguous()
        ptr = t.untyped_storage().data_ptr() if t.numel() else None
        if ptr is not None and ptr in seen:  # tied/shared weights: store a copy
            t = t.clone()
        elif ptr is not None:
            seen.add(ptr)
        tensors[key] = t
    with files.atomic_path(path) as tmp:
        save_file(tensors, str(tmp), metadata=dict(metadata) if metadata else None)
    return path


def load_weights(path: str | os.PathLike) -> dict:
    """Open a weights file safely and return its dict (usually ``{name: tensor}``).

    Introduced in notebook 00. ``.safetensors`` via safetensors; ``.pt/.pth/.bin/.ckpt``
    via ``torch.load(weights_only=True)``, which rebuilds tensors and plain containers
    only. A file that needs full unpickling (it could run code) raises
    :class:`~voicelab.core.errors.UnsafeModelError`; nothing in it is run. Missing, empty
    or unreadable files raise :class:`ModelFileError` naming the file.
    """
    path = Path(path)
    if not path.exists():
        raise ModelFileNotFoundError(f"{path}: no such weights file. Check the path, or get it "
                                     "with voicelab.core.hub.fetch(...).")
    if path.is_dir():
        raise ModelFileError(f"{path} is a folder; pass the weights file inside it "
                             "(.safetensors, .pt, .pth, .bin or .ckpt).")
    suffix = path.suffix.lower()
    if suffix != ".safetensors" and suffix not in TORCH_SUFFIXES:
        raise ModelFileError(f"{path}: unknown weights format {suffix or '(no suffix)'!r}; "
                             "voicelab loads .safetensors, .pt, .pth, .bin and .ckpt files.")
    if path.stat().st_size == 0:
        raise ModelFileError(f"{path} is empty (0 bytes): the download or save was probably "
                             "interrupted. Delete it and download or save it again.")
    obj = _load_safetensors(path) if suffix == ".safetensors" else _load_torch(path)
    if not isinstance(obj, dict):
        raise ModelFileError(f"{path} holds a {type(obj).__name__}, not a dict of weights; "
                             "save a state_dict (a dict of tensors) instead.")
    return obj


def _load_safetensors(path: Path) -> dict:
    from safetensors.torch import load_file

    try:
        return load_file(str(path), device="cpu")
    except Exception as e:  # SafetensorError, OSError, ...
        raise ModelFileError(f"{path} is not a readable safetensors file ({e}). "
                             f"{_what_it_looks_like(path)}") from e


def _load_torch(path: Path) -> dict:
    import torch

    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message=".*pickle protocol.*", category=UserWarning)
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:
        refused = isinstance(e, pickle.UnpicklingError) or "weights only load failed" in str(e).lower()
        if refused:
            needs, names = _scan_pickles(path)
            if needs:
                asks = f" (it asks for {', '.join(names)})" if names else ""
                raise UnsafeModelError(
                    f"{path} contains Python objects{asks} that only full unpickling can rebuild, "
                    "and full unpickling can run arbitrary code, so voicelab refuses to open it. "
                    "Nothing in the file was run. Ask its author for a .safetensors file or, only "
                    "if you trust the source completely, convert it yourself to a plain state_dict "
                    "saved with voicelab.core.hub.save_weights.") from e
        if refused:  # torch's own advice here (weights_only=False) is exactly what not to do
            why = "its contents are not valid pickle data"
        elif isinstance(e, EOFError):
            why = "it ends too early, as if cut off"
        else:
            why = f"{type(e).__name__}: {_first_sentence(e)}"
        raise ModelFileError(f"{path} is not a PyTorch weights file that can be read ({why}). "
                             f"{_what_it_looks_like(path)}") from e


_OBJECT_OPS = {"GLOBAL", "STACK_GLOBAL", "INST", "OBJ", "REDUCE", "NEWOBJ", "NEWOBJ_EX",
               "BUILD", "EXT1", "EXT2", "EXT4"}
_STRING_OPS = {"SHORT_BINUNICODE", "BINUNICODE", "BINUNICODE8", "UNICODE", "STRING",
               "BINSTRING", "SHORT_BINSTRING"}


def _scan_pickles(path: Path, limit: int = 64 * 2**20) -> tuple[bool, list[str]]:
    """Read (never run) the pickle data in ``path``: does it build Python objects, and which?

    Returns (True, [names it imports, torch's own left out]) when a well-formed pickle in
    the file uses object-building opcodes; (False, []) for data that is not pickle at all.
    """
    streams = []
    try:
        if zipfile.is_zipfile(path):
            with zipfile.ZipFile(path) as zf:
                streams = [zf.read(n) for n in zf.namelist() if n.endswith(".pkl")]
        else:
            with open(path, "rb") as f:
                streams = [f.read(limit)]
    except (OSError, zipfile.BadZipFile, RuntimeError):
        return False, []
    needs, names = False, []
    for data in streams:
        stream = io.BytesIO(data)
        for _ in range(16):  # torch's old format is several pickles in a row
            if stream.tell() >= len(data):
                break
            try:
                ops = list(pickletools.genops(stream))
            except Exception:  # not (or no longer) pickle data
                break
            if not any(op.name in _OBJECT_OPS for op, _, _ in ops):
                continue
            needs = True
            for i, (op, arg, _) in enumerate(ops):
                name = None
                if op.name == "GLOBAL" and isinstance(arg, str):
                    name = arg.replace(" ", ".")
                elif op.name == "STACK_GLOBAL" and i >= 4:
                    pushed = [(o.name, a) for o, a, _ in ops[i - 4:i] if o.name != "MEMOIZE"]
                    if len(pushed) >= 2 and all(o in _STRING_OPS for o, _ in pushed[-2:]):
                        name = f"{pushed[-2][1]}.{pushed[-1][1]}"
                if name and not name.startswith("torch.") and name != "collections.OrderedDict" \
                        and name not in names:
                    names.append(name)
    return needs, names[:5]


def _first_sentence(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0].split(". ")[0].rstrip(".")[:200] if text else repr(e)


def _what_it_looks_like(path: Path) -> str:
    """A hint from the first bytes: LFS pointer, HTML page, other text, or unknown."""
    with open(path, "rb") as f:
        head = f.read(256)
    if head.startswith(b"version https://git-lfs"):
        return ("It is a Git LFS pointer, not the weights: the repo was cloned without git-lfs. "
                "Download the file with voicelab.core.hub (or `git lfs pull`).")
    if head.lstrip()[:15].lower().startswith((b"<!doctype", b"<html")):
        return ("It is an HTML page (a failed download or a login page?), not weights. "
                "Download it again from the right link.")
    try:
        head.decode("utf-8")
        text = True
    except UnicodeDecodeError as e:  # a character cut at the 256-byte edge is still text
        text = e.start >= len(head) - 3 and b"\0" not in head
    if text:
        return "It looks like a text file, not weights: check that it is the right file."
    return "It may be damaged or in another format: download or save it again."

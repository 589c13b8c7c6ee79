"""The manifest (voicelab.core.manifest): every asset the code can fetch is listed as published,
stand-ins are checked against it, and install_stand_in puts a stand-in where FULL code finds it.

Nothing here reaches the internet; caches point into tmp_path.
"""
from __future__ import annotations

import importlib
import json
import pkgutil

import pytest
import torch

import voicelab
from voicelab.core import hub, manifest, runtime
from voicelab.core.errors import VoicelabError
from voicelab.core.manifest import Entry, File, ManifestError


pytestmark = pytest.mark.usefixtures("sandbox")


def package_assets() -> dict[str, hub.Asset]:
    """Every hub.Asset a voicelab module defines at import time, by ``module.NAME``."""
    found = {}
    for info in pkgutil.walk_packages(voicelab.__path__, "voicelab."):
        if info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        for name, value in vars(module).items():
            if isinstance(value, hub.Asset):
                found.setdefault(value.name, (f"{info.name}.{name}", value))
    return {key: value for key, (_, value) in found.items()}


# ---------------------------------------------------------------------------- the entries


def test_every_entry_says_where_licence_and_evidence():
    for e in manifest.MANIFEST.values():
        assert (e.repo_id is None) != (e.url is None), e.name
        assert e.files and e.licence and e.used_in, e.name
        assert e.evidence or "unverified" in e.note, f"{e.name}: no evidence and not marked unverified"
        assert all(n.isdigit() and len(n) == 2 for n in e.used_in), e.name
        assert e.kind in ("model", "dataset"), e.name


def test_every_asset_of_the_package_comes_from_the_manifest():
    assets = package_assets()
    assert len(assets) >= 10, sorted(assets)   # SmolLM2, GloVe, CLAP, SpeechT5, ... are found
    for name, a in assets.items():
        assert a.manifest is not None, f"{name} is not declared from the manifest (hub.asset)"
        e = manifest.entry(a.manifest)
        asked = ([a.filename] if a.filename else []) + list(a.allow_patterns or ())
        for pattern in asked:
            assert any(f.path == pattern or e.file(pattern) for f in e.files), \
                f"{name} asks for {pattern}, which {e.name} does not list"


def test_non_commercial_licences_are_said():
    for name in ("mms-tts-eng", "musicgen-small", "musicgen-melody"):
        assert "CC-BY-NC" in manifest.entry(name).licence


def test_unknown_entry_is_a_clear_error():
    with pytest.raises(KeyError, match="not in voicelab's manifest"):
        manifest.entry("no-such-model")
    with pytest.raises(ValueError, match="unknown format"):
        File("x.bin", "pickle")


# ---------------------------------------------------------------------------- format checks

ENTRY = Entry("demo", repo_id="someone/demo", licence="MIT", used_in=("00",), evidence=("test",),
              files=(File("config.json", "json"), File("pytorch_model.bin", "torch-zip"),
                     File("extra/*.npy", "npy", required=False)))


def write_good(folder):
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps({"a": 1}))
    torch.save({"w": torch.zeros(2)}, folder / "pytorch_model.bin")


def test_a_folder_as_published_passes(tmp_path):
    write_good(tmp_path / "ok")
    manifest.check_folder(ENTRY, tmp_path / "ok")


def test_safetensors_where_the_repository_publishes_a_torch_zip_is_refused(tmp_path):
    from safetensors.torch import save_file

    folder = tmp_path / "bad"
    write_good(folder)
    save_file({"w": torch.zeros(2)}, str(folder / "pytorch_model.bin"))   # the wrong format
    with pytest.raises(ManifestError, match="not in the format"):
        manifest.check_folder(ENTRY, folder)


def test_an_unlisted_or_missing_file_is_refused(tmp_path):
    folder = tmp_path / "extra"
    write_good(folder)
    (folder / "model.safetensors").write_bytes(b"x")
    with pytest.raises(ManifestError, match="not a file the manifest lists"):
        manifest.check_folder(ENTRY, folder)
    folder = tmp_path / "missing"
    write_good(folder)
    (folder / "pytorch_model.bin").unlink()
    with pytest.raises(ManifestError, match="missing"):
        manifest.check_folder(ENTRY, folder)


@pytest.mark.parametrize("fmt, good, bad", [
    ("npy", b"\x93NUMPY\x01\x00", b"PK\x03\x04"),
    ("wav", b"RIFF\x00\x00\x00\x00WAVEfmt ", b"ID3\x03"),
    ("json", b'{"a": 1}', b"{not json"),
    ("float32", b"\x00" * 8, b"\x00" * 7),
])
def test_format_checks(tmp_path, fmt, good, bad):
    (tmp_path / "good").write_bytes(good)
    (tmp_path / "bad").write_bytes(bad)
    assert manifest.FORMATS[fmt](tmp_path / "good")
    assert not manifest.FORMATS[fmt](tmp_path / "bad")


# ---------------------------------------------------------------------------- stand-ins


def test_a_stand_in_in_the_wrong_format_cannot_be_built(monkeypatch):
    monkeypatch.setitem(manifest.MANIFEST, "demo", ENTRY)

    def as_safetensors(folder):
        from safetensors.torch import save_file
        (folder / "config.json").write_text("{}")
        save_file({"w": torch.zeros(2)}, str(folder / "pytorch_model.bin"))

    bad = hub.asset("demo", stand_in=as_safetensors)
    with pytest.raises(ManifestError, match="not in the format"):
        hub.fetch(bad)
    good = hub.asset("demo", stand_in=write_good)           # the control
    folder = hub.fetch(good)
    assert hub.is_stand_in(folder) and (folder / "pytorch_model.bin").is_file()


def test_asset_lists_exactly_the_published_files():
    a = hub.asset("speecht5-hifigan")
    assert set(a.allow_patterns) == {f.path for f in manifest.entry("speecht5-hifigan").files}
    with pytest.raises(ValueError, match="not one of the files"):
        hub.asset("rvc-rmvpe", filename="rmvpe.onnx")


def test_install_stand_in_is_found_by_full_code_offline(monkeypatch):
    monkeypatch.setitem(manifest.MANIFEST, "demo", ENTRY)
    a = hub.asset("demo", stand_in=write_good)
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    with pytest.raises(VoicelabError, match="offline"):          # online: refused
        hub.install_stand_in(a)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = hub.install_stand_in(a)
    assert path.parent.parent.name == "models--someone--demo"   # the HF cache layout
    assert hub.fetch(a) == path and hub.is_stand_in(path)        # a cache hit, labelled
    assert hub.load_weights(path / "pytorch_model.bin")["w"].shape == (2,)
    assert hub.install_stand_in(a) == path                       # a second call keeps it


def test_install_stand_in_checks_a_url_file_against_the_manifest(monkeypatch):
    """A URL asset (one file in voicelab's download cache) is checked like a Hub snapshot: written
    in another format it is refused and nothing is left where fetch looks."""
    entry = Entry("url-demo", url="https://example.org/files/xvector.bin", licence="MIT",
                  used_in=("00",), evidence=("test",), files=(File("xvector.bin", "float32", 2048),))
    monkeypatch.setitem(manifest.MANIFEST, "url-demo", entry)
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")

    def torch_file(path):
        torch.save({"w": torch.zeros(512)}, path)

    wrong = hub.asset("url-demo", filename="xvector.bin", full_stand_in=torch_file)
    with pytest.raises(ManifestError, match="xvector.bin"):
        hub.install_stand_in(wrong)
    downloads = runtime.cache_dir() / "downloads"
    assert not downloads.exists() or not any(p.is_file() for p in downloads.rglob("*"))
    # control: the published format (512 raw float32) installs, labelled, and fetch finds it
    good = hub.asset("url-demo", filename="xvector.bin",
                     full_stand_in=lambda path: path.write_bytes(bytes(2048)))
    path = hub.install_stand_in(good)
    assert path.name == "xvector.bin" and path.stat().st_size == 2048
    assert hub.fetch(good) == path and hub.is_stand_in(path)


def test_install_stand_in_keeps_nested_paths(monkeypatch):
    import numpy as np

    entry = Entry("nested", repo_id="someone/nested", licence="MIT", used_in=("00",),
                  evidence=("test",), files=(File("0_Sub/config.json", "json"),
                                             File("prompts/v2/*.npy", "npy")))
    monkeypatch.setitem(manifest.MANIFEST, "nested", entry)

    def write(folder):
        (folder / "0_Sub").mkdir(parents=True)
        (folder / "0_Sub" / "config.json").write_text("{}")
        (folder / "prompts" / "v2").mkdir(parents=True)
        np.save(folder / "prompts" / "v2" / "en_0.npy", np.zeros(3))

    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = hub.install_stand_in(hub.asset("nested", stand_in=write))
    assert json.loads((path / "0_Sub" / "config.json").read_text()) == {}
    assert np.load(path / "prompts" / "v2" / "en_0.npy").shape == (3,)


def test_every_entry_is_used_by_the_code():
    """No stale entries: each is declared by a module (hub.asset("name") or manifest="name")."""
    from pathlib import Path

    source = "\n".join(p.read_text() for p in Path(voicelab.__file__).parent.rglob("*.py")
                       if p.name != "manifest.py")
    declared = {a.manifest for a in package_assets().values()}
    for name in manifest.MANIFEST:
        assert name in declared or f'manifest="{name}"' in source, \
            f"{name} is listed in the manifest but no module uses it"


def test_voicelab_assets_lists_every_entry(capsys):
    from voicelab import cli

    assert cli.main(["assets"]) == 0
    out = capsys.readouterr().out
    for e in manifest.MANIFEST.values():
        assert f"`{e.name}`" in out and e.licence in out
    assert cli.main(["assets", "--json"]) == 0
    names = [e["name"] for e in json.loads(capsys.readouterr().out)]
    assert names == list(manifest.MANIFEST)


def test_readme_table_is_the_manifest():
    """README's "What the course downloads" is manifest.table(): regenerate it when an entry changes
    (`voicelab assets`)."""
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text()
    assert "\n".join(manifest.table()) in readme, "README's asset table differs from `voicelab assets`"


def test_a_stand_in_built_by_an_older_voicelab_is_rebuilt(monkeypatch):
    """A QUICK cache from before the manifest may hold model.safetensors where the repository
    publishes pytorch_model.bin: fetch rebuilds it instead of handing it to the loader."""
    from safetensors.torch import save_file

    monkeypatch.setitem(manifest.MANIFEST, "demo", ENTRY)
    good = hub.asset("demo", stand_in=write_good)
    folder = hub.fetch(good)
    save_file({"w": torch.zeros(2)}, str(folder / "pytorch_model.bin"))   # the old format
    hub._CHECKED.clear()
    assert not manifest.FORMATS["torch-zip"](folder / "pytorch_model.bin")
    again = hub.fetch(good)
    assert again == folder and manifest.FORMATS["torch-zip"](again / "pytorch_model.bin")

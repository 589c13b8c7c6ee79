"""Colab drift guard: would `pip install voicelab[test]` still work on Colab today?

Colab (since 2026-08) runs Python 3.13 on Ubuntu 22.04 (glibc 2.35) with torch
2.11, torchaudio 2.11, torchcodec 0.11 and numpy 2.1 preinstalled; nbval is not.
The network tests ask pip to resolve voicelab's dependencies plus the `test`
extra for that interpreter and platform, with Colab's packages held at their
versions (`-c`), without installing anything (`--dry-run --report`) and reading
only wheel metadata. A failure means the notebooks' install cell would break, or
would replace Colab's torch, on Colab.

pip refuses source builds when a foreign platform is given, but a few packages
have no wheel for Colab and are compiled there from their sdist. Those are
listed in SOURCE_BUILDS_ON_COLAB: for each, the test checks that PyPI has an
sdist and that its build requirements resolve for Python 3.13, then stands in
for it with a metadata-only wheel that carries the sdist's real requirements, so
that everything else is resolved for real.

This guard answers "does it install?" from metadata alone, installing nothing. Its
behavioural half is `make colab` (run by `make test`): a real Python 3.13 venv
started from the same preinstalled set (COLAB_PINS in the Makefile, kept equal
to the one here by a test below), voicelab installed as the setup cell does,
then notebooks 08-11 executed. What that run finds broken in a version pip
picks for Colab goes into INCOMPATIBLE below with its reason, so that the
resolution here fails at once if voicelab's requirements ever let it back in.

PyPI unreachable: a failure when the CI environment variable is set, a skip
otherwise. Run alone with `pytest -m network -rP tests/test_colab_guard.py`
(-rP shows the timings).
"""

from __future__ import annotations

import email.parser
import importlib.metadata
import json
import os
import re
import shlex
import subprocess
import sys
import tarfile
import time
import types
import urllib.error
import urllib.request
import warnings
import zipfile
from pathlib import Path

import pytest
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.tags import compatible_tags, cpython_tags
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPI_SIMPLE = "https://pypi.org/simple"

# What a fresh Colab runtime has. Update together with the notebooks' install cell and the
# Makefile's COLAB_PINS. torch and torchaudio are a matched pair there: PyPI's torchaudio 2.11.1
# (2026-10) does not load with torch 2.11.0 (undefined symbol in libtorchaudio.so).
COLAB_PYTHON = (3, 13)
COLAB_PINS = ("torch==2.11.0", "torchaudio==2.11.0", "torchcodec==0.11.*", "numpy==2.1.*")
COLAB_GLIBC_MINOR = 35  # Ubuntu 22.04
# pip does not widen manylinux_2_X to older glibc versions by itself, so list
# them all (a manylinux_2_27-only wheel such as nvidia-cudnn's is otherwise
# invisible); it does widen manylinux2014 to manylinux2010 and manylinux1.
COLAB_PLATFORMS = tuple(
    f"manylinux_2_{minor}_x86_64" for minor in range(COLAB_GLIBC_MINOR, 4, -1)
) + ("manylinux2014_x86_64",)
EXTRAS_ON_COLAB = ("test",)  # nbval runs the notebooks there

# Packages with no wheel for Colab's Python; pip builds them from source there.
SOURCE_BUILDS_ON_COLAB = {
    "pyworld": (
        "needed by so-vits-svc-fork; PyPI has no cp313 Linux wheel (0.3.5 has cp313 "
        "for Windows only, 0.3.6 has wheels only up to cp38), so Colab compiles the "
        "0.3.5 sdist with its gcc."
    ),
}

# Releases the course does not run with, from the first one on (found by `make colab`), and why.
# pyproject.toml bounds each one; the tests below check that the bound is there and holds on Colab.
INCOMPATIBLE = {
    "librosa": (
        "1.0",
        "librosa 1.0 removed get_duration(filename=), which so-vits-svc-fork 4.2.30's pre-config "
        "calls (notebooks 09 and 10 stop with a TypeError)",
    ),
}

TOP_UP_ROUNDS = 3  # resolutions of what only Python 3.13 needs (each may need more)
DRY_RUN_LIMIT_S = 180  # the whole resolution; it reads metadata only
BIG_FETCH_BYTES = 1_000_000  # a full wheel at least this big means pip fetched more than metadata
PIP_TIMEOUT_S = 600


# ------------------------------------------------------------ pure helpers
def colab_marker_env() -> dict[str, str]:
    """PEP 508 marker variables of a Colab runtime (lowest 3.13 patch release)."""
    env = dict(default_environment())
    version = ".".join(map(str, COLAB_PYTHON))
    env.update(
        implementation_name="cpython",
        implementation_version=f"{version}.0",
        os_name="posix",
        platform_machine="x86_64",
        platform_python_implementation="CPython",
        platform_system="Linux",
        python_full_version=f"{version}.0",
        python_version=version,
        sys_platform="linux",
    )
    return env


def colab_tags() -> set:
    """Wheel tags Colab's pip accepts (CPython 3.13, glibc 2.35, x86_64)."""
    platforms = list(COLAB_PLATFORMS) + ["manylinux2010_x86_64", "manylinux1_x86_64"]
    abi = "cp" + "".join(map(str, COLAB_PYTHON))
    tags = set(cpython_tags(COLAB_PYTHON, abis=[abi], platforms=platforms))
    tags |= set(compatible_tags(COLAB_PYTHON, interpreter=abi, platforms=platforms))
    return tags


def colab_wheels(files: list[dict]) -> list[str]:
    """Names of the non-yanked wheels in a PEP 691 file list that Colab could install."""
    ok = colab_tags()
    found = []
    for f in files:
        name = f["filename"]
        if not name.endswith(".whl") or f.get("yanked"):
            continue
        try:
            tags = parse_wheel_filename(name)[3]
        except ValueError:
            continue
        if tags & ok:
            found.append(name)
    return found


_FETCH = re.compile(
    r"^\s*(?:Downloading|Using cached) (?:\S+/)?(\S+?\.whl) \(([\d.]+) (bytes|kB|MB|GB)\)",
    re.MULTILINE,
)
_UNIT = {"bytes": 1, "kB": 1e3, "MB": 1e6, "GB": 1e9}


def full_wheel_fetches(log: str) -> list[tuple[str, int]]:
    """(wheel file, bytes) for every whole wheel pip's log says it fetched.

    PEP 658 metadata lines end in `.whl.metadata (...)` and do not count.
    """
    return [(m[1], int(float(m[2]) * _UNIT[m[3]])) for m in _FETCH.finditer(log)]


def read_sdist(path: Path) -> dict:
    """Name, version, Requires-Python, extras, Requires-Dist and build requirements of an sdist."""
    if path.name.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            members = {n: n for n in z.namelist()}
            read = lambda n: z.read(n).decode("utf-8")  # noqa: E731
            return _sdist_fields(path, members, read)
    with tarfile.open(path) as t:
        members = {m.name: m for m in t.getmembers() if m.isfile()}
        read = lambda n: t.extractfile(members[n]).read().decode("utf-8")  # noqa: E731
        return _sdist_fields(path, members, read)


def _sdist_fields(path: Path, members: dict, read) -> dict:
    top = [n for n in members if n.count("/") == 1 and n.endswith("/PKG-INFO")]
    if not top:
        raise ValueError(f"{path.name}: no PKG-INFO at the top of the sdist; is it really one?")
    pkg_info = email.parser.HeaderParser().parsestr(read(top[0]))
    build_requires = ["setuptools>=40.8.0"]  # what pip assumes without a pyproject.toml
    pyproject = top[0].replace("PKG-INFO", "pyproject.toml")
    if pyproject in members:
        build = tomllib.loads(read(pyproject)).get("build-system", {})
        build_requires = list(build.get("requires", build_requires))
    return {
        "name": pkg_info["Name"],
        "version": pkg_info["Version"],
        "requires_python": pkg_info.get("Requires-Python"),
        "provides_extra": pkg_info.get_all("Provides-Extra") or [],
        "requires_dist": pkg_info.get_all("Requires-Dist") or [],
        "build_requires": build_requires,
    }


def stand_in_wheel(meta: dict, folder: Path) -> Path:
    """Write `<name>-<version>-py3-none-any.whl` holding only `meta`'s metadata; return its path.

    It lets pip resolve around a package that Colab compiles from source; it
    installs no code.
    """
    stem = f"{canonicalize_name(meta['name']).replace('-', '_')}-{meta['version']}"
    lines = [
        "Metadata-Version: 2.1",
        f"Name: {meta['name']}",
        f"Version: {meta['version']}",
        "Summary: metadata-only stand-in for a source build (voicelab Colab guard)",
    ]
    if meta["requires_python"]:
        lines.append(f"Requires-Python: {meta['requires_python']}")
    lines += [f"Provides-Extra: {e}" for e in meta["provides_extra"]]
    lines += [f"Requires-Dist: {r}" for r in meta["requires_dist"]]
    files = {
        f"{stem}.dist-info/METADATA": "\n".join(lines) + "\n",
        f"{stem}.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: voicelab-tests\nRoot-Is-Purelib: true\n"
            "Tag: py3-none-any\n"
        ),
    }
    files[f"{stem}.dist-info/RECORD"] = "".join(f"{n},,\n" for n in files) + (
        f"{stem}.dist-info/RECORD,,\n"
    )
    folder.mkdir(parents=True, exist_ok=True)
    out = folder / f"{stem}-py3-none-any.whl"
    tmp = folder / f".{out.name}.part"
    with zipfile.ZipFile(tmp, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    os.replace(tmp, out)
    return out


def marker_gaps(report: dict, top_level: list[str]) -> list[str]:
    """Requirements that apply on Colab but were skipped by pip's host-Python markers.

    pip evaluates environment markers for the interpreter running it, not for
    --python-version, so `dep; python_version >= "3.13"` is silently dropped when
    the test runs on 3.11. This walks the resolved metadata again with Colab's
    marker values and lists what is missing or at a wrong version.
    """
    return sorted({
        f"{name} {version} needs {line!r} on Colab; the resolution has {have or 'nothing'}"
        for name, version, line, have in _unsatisfied_on_colab(report, top_level)
    })


def colab_only_requirements(report: dict, top_level: list[str]) -> list[str]:
    """The requirements behind :func:`marker_gaps`, markers dropped, ready to resolve."""
    out = set()
    for _, _, line, _ in _unsatisfied_on_colab(report, top_level):
        req = Requirement(line)
        req.marker = None
        out.add(str(req))
    return sorted(out)


def _unsatisfied_on_colab(report: dict, top_level: list[str]):
    """(name, version, requirement line, resolved version or None) for each gap."""
    host, colab = report["environment"], colab_marker_env()
    items = {canonicalize_name(i["metadata"]["name"]): i for i in report["install"]}
    extras: dict[str, set[str]] = {name: set() for name in items}
    for line in top_level:
        req = Requirement(line)
        extras.setdefault(canonicalize_name(req.name), set()).update(req.extras)
    gaps = []
    changed = True
    while changed:  # extras requested deeper down can switch on more requirements
        changed = False
        for name, item in items.items():
            for line in item["metadata"].get("requires_dist") or []:
                dep = Requirement(line)
                dep_name = canonicalize_name(dep.name)
                for extra in [""] + sorted(extras.get(name, ())):
                    on_colab = dep.marker is None or dep.marker.evaluate({**colab, "extra": extra})
                    if not on_colab:
                        continue
                    if not dep.extras <= extras.setdefault(dep_name, set()):
                        extras[dep_name] |= dep.extras
                        changed = True
                    if dep.marker is None or dep.marker.evaluate({**host, "extra": extra}):
                        continue  # pip saw this one too
                    have = items.get(dep_name)
                    version = have and Version(have["metadata"]["version"])
                    if version is None or not dep.specifier.contains(version, prereleases=True):
                        gaps.append((name, item["metadata"]["version"], line, version))
    return gaps


def _pyproject_requirements() -> list[str]:
    """voicelab's requirements as Colab's pip sees them: markers evaluated for Colab.

    pip would evaluate `dep; python_version >= "3.13"` for the Python running the test
    and drop it; here such a line becomes plain `dep` and lines for other Pythons go.
    """
    with (ROOT / "pyproject.toml").open("rb") as f:
        project = tomllib.load(f)["project"]
    lines = list(project["dependencies"])
    for extra in EXTRAS_ON_COLAB:
        lines += project["optional-dependencies"][extra]
    colab_env = colab_marker_env()
    out = []
    for line in lines:
        req = Requirement(line)
        if req.marker is None or req.marker.evaluate(colab_env):
            req.marker = None
            out.append(str(req))
    return out


# ------------------------------------------------------- network helpers
class _Unreachable(Exception):
    pass


def _pypi_files(project: str) -> list[dict]:
    """PEP 691 file list of `project` on PyPI; raise _Unreachable when PyPI does not answer."""
    url = f"{PYPI_SIMPLE}/{canonicalize_name(project)}/"
    req = urllib.request.Request(url, headers={"Accept": "application/vnd.pypi.simple.v1+json"})
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return json.load(r)["files"]
    except urllib.error.HTTPError:
        raise
    except (urllib.error.URLError, OSError) as e:
        raise _Unreachable(f"{url}: {e}") from e


def _pip(*args: str) -> tuple[subprocess.CompletedProcess, float]:
    """Run this interpreter's pip against PyPI alone, ignoring local pip configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1", PIP_NO_INPUT="1")
    cmd = [sys.executable, "-m", "pip", "--isolated", *args]
    start = time.perf_counter()
    try:
        proc = subprocess.run(
            cmd, env=env, capture_output=True, text=True, timeout=PIP_TIMEOUT_S, cwd=ROOT
        )
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"pip ran past {PIP_TIMEOUT_S} s: {' '.join(cmd)}\n{e.output or ''}"[-4000:])
    return proc, time.perf_counter() - start


def _tail(proc: subprocess.CompletedProcess, lines: int = 40) -> str:
    """The end of pip's output, from its explanation of the failure when there is one."""
    text = ((proc.stdout or "") + (proc.stderr or "")).splitlines()[-lines:]
    start = next(
        (i for i, line in enumerate(text)
         if line.lstrip().startswith(("The conflict is caused by", "ERROR:"))),
        0,
    )
    return "\n".join(text[start:])


def _colab_args() -> list[str]:
    """pip options that describe Colab's interpreter and platform, and its index."""
    version = ".".join(map(str, COLAB_PYTHON))
    args = ["--python-version", version, "--implementation", "cp",
            "--abi", "cp" + version.replace(".", "")]
    for platform in COLAB_PLATFORMS:
        args += ["--platform", platform]
    return args + ["--index-url", PYPI_SIMPLE, "--progress-bar", "off"]


def _dry_run(work: Path, label: str, requirements: list[str], extra_args: list[str]):
    (work / f"{label}-requirements.txt").write_text("\n".join(requirements) + "\n")
    proc, seconds = _pip(
        "install", "--dry-run", "--ignore-installed", "--only-binary=:all:",
        "--report", str(work / f"{label}-report.json"),
        "--target", str(work / f"{label}-target"), *_colab_args(),
        "-r", str(work / f"{label}-requirements.txt"), *extra_args,
    )
    report = None
    if proc.returncode == 0:
        report = json.loads((work / f"{label}-report.json").read_text())
    return types.SimpleNamespace(proc=proc, seconds=seconds, report=report,
                                 log=proc.stdout + proc.stderr)


# ------------------------------------------------------------- fixture
@pytest.fixture(scope="module")
def colab(tmp_path_factory):
    """Resolve the Colab install once; each test below checks one property of it."""
    try:
        probe = _pypi_files("so-vits-svc-fork")
    except _Unreachable as e:
        if os.environ.get("CI"):
            pytest.fail(f"PyPI is unreachable in CI, so the Colab guard cannot run: {e}")
        pytest.skip(f"PyPI is unreachable, so the Colab guard cannot run (fails in CI): {e}")
    work = tmp_path_factory.mktemp("colab")
    links = work / "stand-ins"
    links.mkdir()

    # Without PEP 658 metadata on the index (some mirrors), pip would fetch whole
    # wheels, gigabytes for torch and CUDA; read their zip directories instead.
    pep658 = any(f.get("core-metadata") or f.get("data-dist-info-metadata") for f in probe)
    fetch_args = [] if pep658 else ["--use-feature=fast-deps"]

    sources = {}
    colab_env = colab_marker_env()
    for name in SOURCE_BUILDS_ON_COLAB:
        wheels = colab_wheels(_pypi_files(name))
        dest = work / f"sdist-{name}"
        proc, seconds = _pip(
            "download", "--no-deps", "--no-binary", name, "--dest", str(dest),
            *_colab_args(), name,
        )
        found = sorted(dest.glob("*")) if dest.exists() else []
        meta = read_sdist(found[0]) if proc.returncode == 0 and found else None
        build = None
        if meta:
            stand_in_wheel(meta, links)
            build_reqs = []  # what pip's build isolation installs on Colab, markers applied
            for line in meta["build_requires"]:
                req = Requirement(line)
                if req.marker is None or req.marker.evaluate(colab_env):
                    req.marker = None
                    build_reqs.append(str(req))
            build = _dry_run(work, f"build-{name}", build_reqs, fetch_args)
        sources[name] = types.SimpleNamespace(
            proc=proc, seconds=seconds, files=found, meta=meta, wheels=wheels, build=build
        )

    top_level = _pyproject_requirements()
    (work / "colab-constraints.txt").write_text("\n".join(COLAB_PINS) + "\n")
    main = _dry_run(
        work, "colab", top_level,
        ["-c", str(work / "colab-constraints.txt"), "--find-links", str(links), *fetch_args],
    )
    # pip applied its own Python's markers, so what only 3.13 needs is not in the resolution
    # (librosa 0.11 needs `standard-aifc; python_version >= "3.13"`). Resolve that next to
    # the rest, which is held at its resolved versions, until nothing is missing.
    report, top_up, added = main.report, None, []
    for round_ in range(1, TOP_UP_ROUNDS + 1):
        missing = colab_only_requirements(report, top_level) if report else []
        if not missing:
            break
        held = [f"{i['metadata']['name']}=={i['metadata']['version']}" for i in report["install"]]
        constraints = work / f"colab-held-{round_}.txt"
        constraints.write_text("\n".join(list(COLAB_PINS) + held) + "\n")
        top_up = _dry_run(
            work, f"colab-top-up-{round_}", missing,
            ["-c", str(constraints), "--find-links", str(links), *fetch_args],
        )
        if not top_up.report:
            break
        have = {canonicalize_name(i["metadata"]["name"]) for i in report["install"]}
        new = [i for i in top_up.report["install"]
               if canonicalize_name(i["metadata"]["name"]) not in have]
        if not new:
            break
        report = {**report, "install": report["install"] + new}
        added += [i["metadata"]["name"] for i in new]
    resolved = {}
    if report:
        resolved = {canonicalize_name(i["metadata"]["name"]): i for i in report["install"]}
    return types.SimpleNamespace(
        main=main, report=report, top_up=top_up, added=added, sources=sources,
        resolved=resolved, top_level=top_level, pep658=pep658,
    )


# ---------------------------------------------------------- network tests
@pytest.mark.network
def test_colab_install_resolves(colab):
    assert colab.main.proc.returncode == 0, (
        "pip cannot install voicelab[test] on Colab (Python "
        f"{'.'.join(map(str, COLAB_PYTHON))}, {', '.join(COLAB_PINS)}). pip said:\n"
        + _tail(colab.main.proc)
    )


@pytest.mark.network
def test_colab_keeps_its_preinstalled_packages(colab):
    if not colab.resolved:
        pytest.fail("no resolution to check; see test_colab_install_resolves")
    for pin in COLAB_PINS:
        req = Requirement(pin)
        item = colab.resolved.get(canonicalize_name(req.name))
        assert item is not None, f"{req.name} is missing from the Colab resolution."
        version = item["metadata"]["version"]
        assert req.specifier.contains(version, prereleases=True), (
            f"The Colab install would replace {req.name} {req.specifier} with {version}."
        )
    assert colab.resolved["torch"]["metadata"]["version"].startswith("2.11.")


@pytest.mark.network
def test_colab_install_includes_the_course_tools(colab):
    if not colab.resolved:
        pytest.fail("no resolution to check; see test_colab_install_resolves")
    for name in ("so-vits-svc-fork", "nbval", *SOURCE_BUILDS_ON_COLAB):
        assert name in colab.resolved, f"{name} is not in the Colab resolution."
    for name in SOURCE_BUILDS_ON_COLAB:
        if colab.sources[name].wheels:
            continue  # a real wheel may win now; test_source_build_on_colab_has_an_sdist warns
        url = colab.resolved[name]["download_info"]["url"]
        assert url.startswith("file:") and url.endswith("-py3-none-any.whl"), (
            f"{name} resolved from {url}, not from the stand-in for its sdist."
        )


@pytest.mark.network
def test_colab_dry_run_reads_only_metadata(colab):
    fetched = full_wheel_fetches(colab.main.log)
    big = [f"{name} ({size / 1e6:.1f} MB)" for name, size in fetched if size >= BIG_FETCH_BYTES]
    source = "PEP 658 metadata" if colab.pep658 else "zip directories (fast-deps; no PEP 658 here)"
    print(
        f"Colab dry run: {colab.main.seconds:.1f} s, {len(colab.resolved)} packages, "
        f"metadata from {source}, {len(fetched)} whole wheels fetched "
        f"({sum(s for _, s in fetched) / 1e6:.1f} MB)"
    )
    assert not big, "The dry run downloaded whole wheels: " + ", ".join(big)
    assert colab.main.seconds < DRY_RUN_LIMIT_S, (
        f"The Colab dry run took {colab.main.seconds:.0f} s (limit {DRY_RUN_LIMIT_S} s); "
        "is pip backtracking? Look at its log."
    )


@pytest.mark.network
def test_colab_markers_hold_for_python_313(colab):
    if not colab.report:
        pytest.fail("no resolution to check; see test_colab_install_resolves")
    if colab.top_up:
        print(f"Only Python 3.13 needs {', '.join(colab.added) or 'nothing more'} "
              f"(last resolved in {colab.top_up.seconds:.1f} s)")
        assert colab.top_up.proc.returncode == 0, (
            "What only Python 3.13 needs does not install next to the rest. pip said:\n"
            + _tail(colab.top_up.proc)
        )
    gaps = marker_gaps(colab.report, colab.top_level)
    assert not gaps, (
        "Requirements that only Python 3.13 sees are not satisfied:\n  " + "\n  ".join(gaps)
    )


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(SOURCE_BUILDS_ON_COLAB))
def test_source_build_on_colab_has_an_sdist(colab, name):
    src = colab.sources[name]
    assert src.proc.returncode == 0 and src.meta, (
        f"{name} has no wheel for Colab and pip found no sdist on PyPI to build "
        "(so Colab cannot install it). pip said:\n" + _tail(src.proc)
    )
    assert src.files[0].name.endswith((".tar.gz", ".zip")), src.files
    assert canonicalize_name(src.meta["name"]) == name
    print(f"{name} {src.meta['version']} sdist: {src.files[0].name}, "
          f"Requires-Dist {src.meta['requires_dist']}, fetched in {src.seconds:.1f} s")
    if src.wheels:
        warnings.warn(
            f"{name} now has wheels Colab can install ({', '.join(src.wheels[:3])}); "
            f"remove it from SOURCE_BUILDS_ON_COLAB in {Path(__file__).name} "
            f"(the note says: {SOURCE_BUILDS_ON_COLAB[name]})",
            UserWarning,
            stacklevel=1,
        )
    if colab.resolved and name not in colab.resolved:
        warnings.warn(
            f"{name} is no longer part of the Colab install; "
            f"remove it from SOURCE_BUILDS_ON_COLAB in {Path(__file__).name}",
            UserWarning,
            stacklevel=1,
        )


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(SOURCE_BUILDS_ON_COLAB))
def test_source_build_requirements_resolve_on_colab(colab, name):
    build = colab.sources[name].build
    if build is None:
        pytest.fail(f"no sdist of {name}; see test_source_build_on_colab_has_an_sdist")
    assert build.proc.returncode == 0, (
        f"Colab could not build {name}: its build requirements do not install on Python "
        f"{'.'.join(map(str, COLAB_PYTHON))}. pip said:\n" + _tail(build.proc)
    )
    print(f"{name} build requirements resolve for Colab in {build.seconds:.1f} s")


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(INCOMPATIBLE))
def test_colab_install_avoids_incompatible_releases(colab, name):
    if not colab.resolved:
        pytest.fail("no resolution to check; see test_colab_install_resolves")
    assert name in colab.resolved, f"{name} is not in the Colab resolution; update INCOMPATIBLE."
    first_bad, reason = INCOMPATIBLE[name]
    version = Version(colab.resolved[name]["metadata"]["version"])
    print(f"Colab resolves {name} {version} (incompatible from {first_bad} on)")
    assert version < Version(first_bad), (
        f"On Colab, pip would install {name} {version}, but {reason}. "
        f"pyproject.toml must keep {name} below {first_bad}."
    )


# ------------------------------------------- offline tests of the helpers
def test_pyproject_excludes_incompatible_releases():
    reqs = {canonicalize_name(r.name): r for r in map(Requirement, _pyproject_requirements())}
    for name, (first_bad, reason) in INCOMPATIBLE.items():
        req = reqs.get(name)
        assert req is not None, f"pyproject.toml no longer requires {name}; update INCOMPATIBLE."
        assert not req.specifier.contains(first_bad, prereleases=True), (
            f"pyproject.toml allows {req}, but {reason}. Keep {name} below {first_bad}."
        )


def test_makefile_colab_job_starts_from_colab_pins():
    """`make colab` (the behavioural half) installs the same preinstalled set this guard resolves."""
    line = re.search(r"^COLAB_PINS\s*:=(.*)$", (ROOT / "Makefile").read_text(), re.MULTILINE)
    assert line, "The Makefile has no COLAB_PINS line (the preinstalled set of `make colab`)."
    assert tuple(shlex.split(line[1])) == COLAB_PINS, (
        f"The Makefile's COLAB_PINS ({line[1].strip()}) differ from {COLAB_PINS} here; "
        "both describe a fresh Colab runtime."
    )


def test_full_wheel_fetches_ignores_metadata_lines():
    log = (
        "Collecting torch==2.11.*\n"
        "  Downloading torch-2.11.0-cp313-cp313-manylinux_2_28_x86_64.whl.metadata (29 kB)\n"
        "  Downloading numpy-2.1.3-cp313-cp313-manylinux_2_17_x86_64.whl (16.0 MB)\n"
        "  Using cached tqdm-4.70.1-py3-none-any.whl (80 kB)\n"
        "  Downloading cuda_toolkit-13.0.2-py2.py3-none-any.whl (512 bytes)\n"
    )
    assert full_wheel_fetches(log) == [
        ("numpy-2.1.3-cp313-cp313-manylinux_2_17_x86_64.whl", 16_000_000),
        ("tqdm-4.70.1-py3-none-any.whl", 80_000),
        ("cuda_toolkit-13.0.2-py2.py3-none-any.whl", 512),
    ]


def test_colab_wheels_match_only_colab_tags():
    files = [
        {"filename": "pyworld-0.3.5-cp313-cp313-win_amd64.whl"},
        {"filename": "pyworld-0.3.5-cp312-cp312-manylinux_2_17_x86_64.whl"},
        {"filename": "pyworld-0.3.5.tar.gz"},
        {"filename": "pyworld-0.3.7-cp313-cp313-manylinux_2_27_x86_64.whl", "yanked": True},
        {"filename": "pyworld-0.3.7-cp313-cp313-manylinux_2_39_x86_64.whl"},
    ]
    assert colab_wheels(files) == []
    good = [
        "pyworld-0.3.7-cp313-cp313-manylinux_2_27_x86_64.manylinux_2_28_x86_64.whl",
        "pyworld-0.3.7-cp310-abi3-manylinux2014_x86_64.whl",
        "pyworld-0.3.7-py3-none-any.whl",
    ]
    assert colab_wheels(files + [{"filename": g} for g in good]) == good


def test_stand_in_wheel_carries_the_sdist_metadata(tmp_path):
    sdist = tmp_path / "Demo_Pkg-1.2.tar.gz"
    pkg_info = (
        "Metadata-Version: 2.1\nName: Demo_Pkg\nVersion: 1.2\nRequires-Python: >=3.8\n"
        "Provides-Extra: test\nRequires-Dist: numpy\nRequires-Dist: nose; extra == \"test\"\n\n"
        "Long description.\n"
    )
    pyproject = '[build-system]\nrequires = ["setuptools", "cython; python_version<\'4\'"]\n'
    src = tmp_path / "src" / "Demo_Pkg-1.2"
    src.mkdir(parents=True)
    (src / "PKG-INFO").write_text(pkg_info)
    (src / "pyproject.toml").write_text(pyproject)
    (src / "nested").mkdir()
    (src / "nested" / "PKG-INFO").write_text("Name: wrong\n")
    with tarfile.open(sdist, "w:gz") as t:
        t.add(src, arcname="Demo_Pkg-1.2")

    meta = read_sdist(sdist)
    assert meta == {
        "name": "Demo_Pkg", "version": "1.2", "requires_python": ">=3.8",
        "provides_extra": ["test"], "requires_dist": ["numpy", 'nose; extra == "test"'],
        "build_requires": ["setuptools", "cython; python_version<'4'"],
    }
    wheel = stand_in_wheel(meta, tmp_path / "links")
    assert wheel.name == "demo_pkg-1.2-py3-none-any.whl"
    assert [p.name for p in wheel.parent.iterdir()] == [wheel.name]  # no temp file left
    with zipfile.ZipFile(wheel) as z:
        z.extractall(tmp_path / "unpacked")
    dist = importlib.metadata.PathDistribution(tmp_path / "unpacked" / "demo_pkg-1.2.dist-info")
    assert dist.metadata["Name"] == "Demo_Pkg" and dist.version == "1.2"
    assert dist.requires == ["numpy", 'nose; extra == "test"']
    assert dist.metadata["Requires-Python"] == ">=3.8"


def test_marker_gaps_finds_requirements_only_python_313_sees():
    host = dict(default_environment(), python_version="3.11", python_full_version="3.11.7")

    def item(name, version, requires):
        return {"metadata": {"name": name, "version": version, "requires_dist": requires}}

    report = {
        "environment": host,
        "install": [
            item("a", "1.0", ['b>=2; python_version >= "3.13"', 'c; extra == "x"']),
            item("b", "1.5", []),
            item("c", "1.0", ['d; python_version >= "3.13"']),
        ],
    }
    gaps = marker_gaps(report, ["a[x]"])
    assert len(gaps) == 2, gaps
    assert "a 1.0 needs 'b>=2; python_version >= \"3.13\"'" in gaps[0] and "has 1.5" in gaps[0]
    assert "c 1.0 needs" in gaps[1] and "has nothing" in gaps[1]
    report["install"][1]["metadata"]["version"] = "2.0"
    report["install"].append(item("d", "0.1", []))
    assert marker_gaps(report, ["a[x]"]) == []

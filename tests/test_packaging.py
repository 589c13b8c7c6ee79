"""Packaging rules: loose requirements in the package, exact pins only in CI.

pyproject.toml is the source of truth; environment.yml repeats its requirements
for conda users and .ci/constraints.txt pins what CI installs. These tests keep
the three files consistent without touching the network.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import pytest
import yaml  # PyYAML: a dependency of huggingface_hub, so always installed with voicelab
from packaging.markers import default_environment
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name
from packaging.version import Version

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = ROOT / "pyproject.toml"
ENVIRONMENT_YML = ROOT / "environment.yml"
CONSTRAINTS = ROOT / ".ci" / "constraints.txt"
CI_FILE = ".ci/constraints.txt"  # as named in messages

# Extras that environment.yml installs alongside the core dependencies.
CONDA_EXTRAS = ("test", "lab")
# Colab preinstalls these; an upper bound in the package would make pip replace them.
COLAB_PREINSTALLED = ("torch", "torchaudio", "numpy")
# What CI must pin (see the comments in .ci/constraints.txt).
CI_MUST_PIN = ("torch", "torchaudio", "torchcodec", "numpy", "so-vits-svc-fork")
CI_REQUIRED_CLAUSES = {"torch": "==2.11.0", "torchaudio": "==2.11.0", "numpy": "<2.3"}


# ----------------------------------------------------------------- helpers
def _pyproject() -> dict:
    with PYPROJECT.open("rb") as f:
        return tomllib.load(f)


def _requirement_key(req: Requirement) -> tuple[str, str, str, str]:
    """Comparable form of a requirement: PEP 503 name, extras, specifiers, marker."""
    return (
        canonicalize_name(req.name),
        ",".join(sorted(canonicalize_name(e) for e in req.extras)),
        ",".join(sorted(str(s) for s in req.specifier)),
        str(req.marker) if req.marker else "",
    )


def _index(lines: list[str], where: str) -> dict[str, tuple[str, str, str, str]]:
    """Map normalised name -> requirement key; fail on a name listed twice."""
    out: dict[str, tuple[str, str, str, str]] = {}
    for line in lines:
        key = _requirement_key(Requirement(line))
        assert key[0] not in out, f"{where} lists {key[0]!r} twice; keep one line per package."
        out[key[0]] = key
    return out


def requirement_drift(expected: list[str], actual: list[str]) -> list[str]:
    """Differences between two requirement lists, one readable line each (empty: in sync)."""
    exp, act = _index(expected, "pyproject.toml"), _index(actual, "environment.yml")
    problems = []
    for name in sorted(exp.keys() - act.keys()):
        problems.append(f"missing from environment.yml: {_show(exp[name])}")
    for name in sorted(act.keys() - exp.keys()):
        problems.append(f"in environment.yml but not in pyproject.toml: {_show(act[name])}")
    for name in sorted(exp.keys() & act.keys()):
        if exp[name] != act[name]:
            problems.append(
                f"{name}: pyproject.toml says {_show(exp[name])!r}, "
                f"environment.yml says {_show(act[name])!r}"
            )
    return problems


def _show(key: tuple[str, str, str, str]) -> str:
    name, extras, spec, marker = key
    text = name + (f"[{extras}]" if extras else "") + spec
    return text + (f"; {marker}" if marker else "")


def _pyproject_requirements(extras: tuple[str, ...]) -> list[str]:
    project = _pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in extras:
        lines += project["optional-dependencies"][extra]
    return lines


def _environment() -> dict:
    with ENVIRONMENT_YML.open(encoding="utf-8") as f:
        env = yaml.safe_load(f)
    assert isinstance(env, dict), f"{ENVIRONMENT_YML.name} is not a YAML mapping."
    return env


def _conda_and_pip_entries(env: dict) -> tuple[list[str], list[str]]:
    conda, pip = [], []
    for entry in env.get("dependencies") or []:
        if isinstance(entry, dict) and "pip" in entry:
            pip += [str(p) for p in entry["pip"]]
        else:
            conda.append(str(entry))
    return conda, pip


def _constraints() -> dict[str, Requirement]:
    out = {}
    for raw in CONSTRAINTS.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if line:
            req = Requirement(line)
            out[canonicalize_name(req.name)] = req
    return out


def _installed_closure(roots: list[str]) -> set[str]:
    """Normalised names of `roots` and everything they require, from installed metadata."""
    env = default_environment()
    seen: set[str] = set()
    todo = [Requirement(r) for r in roots]
    while todo:
        req = todo.pop()
        name = canonicalize_name(req.name)
        if name in seen:
            continue
        seen.add(name)
        try:
            requires = importlib.metadata.distribution(name).requires or []
        except importlib.metadata.PackageNotFoundError:
            continue  # not installed here: its own dependencies stay unknown
        for line in requires:
            dep = Requirement(line)
            wanted = [""] + sorted(req.extras)
            if dep.marker is None or any(dep.marker.evaluate({**env, "extra": e}) for e in wanted):
                todo.append(dep)
    return seen


# ------------------------------------------------------------------- tests
def test_drift_helper_reports_each_kind_of_difference():
    problems = requirement_drift(
        ["numpy>=1.24", "Torch_Audio>=2.6", "scipy>=1.10", "tqdm>=4.60"],
        ["NumPy>=1.24", "torch-audio>=2.7", "librosa>=0.10", "tqdm>=4.60"],
    )
    text = "\n".join(problems)
    assert len(problems) == 3, text
    assert "missing from environment.yml: scipy>=1.10" in text
    assert "not in pyproject.toml: librosa>=0.10" in text
    assert "torch-audio: pyproject.toml says 'torch-audio>=2.6'" in text
    assert requirement_drift(["a.b_c>=1,<2"], ["A-B-C<2,>=1"]) == []


def test_environment_yml_pip_list_matches_pyproject():
    _, pip = _conda_and_pip_entries(_environment())
    local = [p for p in pip if p.startswith("-")]
    assert local == ["-e ."], (
        f"environment.yml's pip: list should hold exactly one option line, '-e .'; found {local}."
    )
    listed = [p for p in pip if not p.startswith("-")]
    expected = _pyproject_requirements(CONDA_EXTRAS)
    problems = requirement_drift(expected, listed)
    assert not problems, (
        "environment.yml and pyproject.toml disagree "
        f"(dependencies + extras {', '.join(CONDA_EXTRAS)}); copy pyproject.toml's lines:\n  "
        + "\n  ".join(problems)
    )


def test_environment_yml_conda_part():
    env = _environment()
    assert env.get("name") == "voicelab"
    assert env.get("channels") == ["conda-forge"]
    conda, _ = _conda_and_pip_entries(env)
    names = {c.split("=")[0].split(">")[0].split("<")[0].strip() for c in conda}
    assert {"python", "pip", "ffmpeg"} <= names, f"environment.yml conda packages: {conda}"
    python = next(c for c in conda if c.startswith("python"))
    assert python == "python=3.11", f"environment.yml pins {python!r}; CI and the venv use 3.11."
    requires_python = _pyproject()["project"]["requires-python"]
    assert Requirement(f"python{requires_python}").specifier.contains("3.11"), requires_python


def test_pyproject_requirements_stay_loose():
    project = _pyproject()["project"]
    lines = list(project["dependencies"])
    for extra in project.get("optional-dependencies", {}).values():
        lines += extra
    pinned = [
        line for line in lines
        if any(s.operator in ("==", "===") for s in Requirement(line).specifier)
    ]
    assert not pinned, f"pyproject.toml pins {pinned}; exact versions belong in {CI_FILE}."
    capped = []
    for line in project["dependencies"]:
        req = Requirement(line)
        if canonicalize_name(req.name) in COLAB_PREINSTALLED:
            capped += [f"{req.name}{s}" for s in req.specifier if s.operator in ("<", "<=", "~=")]
    assert not capped, (
        f"pyproject.toml caps {capped}: Colab preinstalls {', '.join(COLAB_PREINSTALLED)} and pip "
        f"would replace them. Put the cap in {CI_FILE} instead."
    )


def test_ci_constraints_pin_the_colab_sensitive_packages():
    pins = _constraints()
    missing = [n for n in CI_MUST_PIN if n not in pins]
    assert not missing, f"{CI_FILE} does not constrain {missing}."
    for name, clause in CI_REQUIRED_CLAUSES.items():
        have = {str(s) for s in pins[name].specifier}
        assert clause in have, f"{CI_FILE}: expected {name}{clause}, found {pins[name]}."


def test_ci_constraints_fit_pyproject():
    """Every CI pin names a real dependency, and an exact pin satisfies pyproject."""
    lines = _pyproject_requirements(tuple(_pyproject()["project"]["optional-dependencies"]))
    direct = {canonicalize_name(Requirement(line).name): Requirement(line) for line in lines}
    known = _installed_closure(lines)
    for name, pin in _constraints().items():
        assert name in known, (
            f"{CI_FILE} pins {name!r}, which nothing in pyproject.toml needs; "
            "drop the stale pin."
        )
        exact = [s.version for s in pin.specifier if s.operator == "=="]
        if name in direct and exact and "*" not in exact[0]:
            assert direct[name].specifier.contains(Version(exact[0]), prereleases=True), (
                f"{CI_FILE} pins {pin}, outside pyproject.toml's {direct[name]}."
            )

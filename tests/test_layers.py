"""The package's layers: the import-linter contracts of pyproject.toml hold, and they bite.

core <- audio <- data <- lessons | voice | devbook <- cli (README, "Layout"). The controls copy
the package to a temporary folder, add one import that breaks the rule and check that the
same command then fails, naming that import. A second check reads every module for another
module's ``_private`` names.
"""
from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("importlinter", reason="import-linter is in the test extra: pip install -e '.[test]'")

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "voicelab"
# lint-imports' own entry point, run in a fresh interpreter so that the copy (not the package
# this process has imported) is the one analysed.
LINT = "import sys; from importlinter.cli import lint_imports_command; sys.exit(lint_imports_command())"


def lint_imports(root: Path) -> subprocess.CompletedProcess:
    """Run lint-imports on the pyproject.toml and voicelab/ found in ``root``."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    return subprocess.run([sys.executable, "-c", LINT, "--no-cache", "pyproject.toml"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)


def copy_package(tmp_path: Path) -> Path:
    shutil.copytree(PACKAGE, tmp_path / "voicelab", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def test_layer_contracts_hold():
    run = lint_imports(ROOT)
    assert run.returncode == 0, run.stdout + run.stderr
    assert "2 kept, 0 broken" in run.stdout, run.stdout


@pytest.mark.parametrize("module, line, named", [
    # sideways: a lesson reaching into the voice pipeline (tts once borrowed svc's quiet helper)
    ("lessons/tts.py", "from ..voice import svc", "voicelab.lessons.tts -> voicelab.voice.svc"),
    # upwards: the core importing a layer above it
    ("core/hub.py", "from .. import audio", "voicelab.core.hub -> voicelab.audio"),
    # a cycle between siblings (app and share imported each other once)
    ("voice/app.py", "from . import share", "No cycles are allowed in voicelab.voice"),
])
def test_a_broken_rule_fails_the_check(tmp_path, module, line, named):
    root = copy_package(tmp_path)
    path = root / "voicelab" / module
    path.write_text(path.read_text(encoding="utf-8") + f"\n{line}  # breaks the rule\n", encoding="utf-8")
    run = lint_imports(root)
    assert run.returncode != 0, run.stdout
    assert "BROKEN" in run.stdout and named in run.stdout, run.stdout


# ------------------------------------------------------------------------- private names


def _module_name(path: Path, root: Path) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(module: str, is_package: bool, level: int, target: str | None) -> str:
    """Absolute name of ``from <level dots><target> import ...`` written in ``module``."""
    if level == 0:
        return target or ""
    base = module.split(".")
    base = base if is_package else base[:-1]
    base = base[: len(base) - (level - 1)]
    return ".".join(base + ([target] if target else []))


def _is_module(name: str) -> bool:
    path = ROOT / Path(*name.split("."))
    return path.with_suffix(".py").exists() or path.is_dir()


def private_reaches(path: Path, root: Path = ROOT) -> list[str]:
    """``from other import _name`` and ``other._name`` where ``other`` is another voicelab module."""
    module, is_package = _module_name(path, root), path.name == "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    modules: set[str] = set()   # local names bound to voicelab modules
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            source = _resolve(module, is_package, node.level, node.module)
            if not source.startswith("voicelab"):
                continue
            for alias in node.names:
                full = f"{source}.{alias.name}"
                if alias.name.startswith("_") and not alias.name.startswith("__") and source != module:
                    found.append(f"{path.name}:{node.lineno} imports {full}")
                if _is_module(full):
                    modules.add(alias.asname or alias.name)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("voicelab"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id in modules and node.attr.startswith("_") \
                and not node.attr.startswith("__"):
            found.append(f"{path.name}:{node.lineno} uses {node.value.id}.{node.attr}")
    return found


def test_no_module_uses_another_modules_private_names():
    found = [hit for path in sorted(PACKAGE.rglob("*.py")) for hit in private_reaches(path)]
    assert found == []


def test_the_private_name_check_sees_a_reach(tmp_path):
    # control: the patterns this package once had (svc._quiet, metrics._speaker_encoder)
    fake = tmp_path / "voicelab" / "lessons" / "fake.py"
    fake.parent.mkdir(parents=True)
    fake.write_text("from ..voice.svc import _quiet\nfrom ..voice import metrics\n"
                    "enc = metrics._speaker_encoder()\n", encoding="utf-8")
    hits = private_reaches(fake, root=tmp_path)
    assert any("voicelab.voice.svc._quiet" in h for h in hits), hits
    assert any("metrics._speaker_encoder" in h for h in hits), hits

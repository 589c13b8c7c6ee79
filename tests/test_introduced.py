"""Every "Introduced in notebook NN" in a public docstring names the right notebook.

The rule (STYLE.md, d2l's habit): a docstring says which notebook introduces the function.
"Right" means the first notebook, by number, whose code cells use it: found by reading the
code cells' imports (``from voicelab.voice import svc``, ``from voicelab.audio import world``,
``from voicelab.voice.baseline import Baseline`` ...) and every ``name.attr`` chain on
those names. A function no notebook's code uses directly is introduced through one that
is: the notebook its docstring gives must call a voicelab function whose code refers to it
(``text.normalize`` -> ``number_to_words``), or name it in its text. Otherwise the
docstring should say who uses it instead.
"""
from __future__ import annotations

import ast
import importlib
import inspect
import json
import pkgutil
import re
import textwrap
from functools import lru_cache
from pathlib import Path

import voicelab

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
INTRODUCED = re.compile(r"Introduced in notebooks? (\d\d)")


def _modules():
    yield voicelab
    for info in pkgutil.walk_packages(voicelab.__path__, "voicelab."):
        yield importlib.import_module(info.name)


def _key(obj) -> str | None:
    """``module`` or ``module:qualname`` of a voicelab module, function or class."""
    if inspect.ismodule(obj):
        return obj.__name__ if obj.__name__.startswith("voicelab") else None
    if inspect.isfunction(obj) or inspect.isclass(obj):
        module = getattr(obj, "__module__", "") or ""
        return f"{module}:{obj.__qualname__}" if module.startswith("voicelab") else None
    return None


def claims() -> dict[str, int]:
    """``{key: NN}`` for every module, public function and public class whose docstring says so."""
    found = {}
    for module in _modules():
        match = INTRODUCED.search(module.__doc__ or "")
        if match:
            found[module.__name__] = int(match.group(1))
        for name, obj in vars(module).items():
            key = _key(obj)
            if name.startswith("_") or key is None or not key.startswith(module.__name__ + ":"):
                continue
            match = INTRODUCED.search(inspect.getdoc(obj) or "")
            if match:
                found[key] = int(match.group(1))
    return found


def _lookup(dotted: str):
    parts = dotted.split(".")
    obj = importlib.import_module(parts[0])
    for i, part in enumerate(parts[1:], 1):
        if hasattr(obj, part):
            obj = getattr(obj, part)
            continue
        try:
            obj = importlib.import_module(".".join(parts[: i + 1]))
        except ImportError:
            return None
    return obj


def _code_cells(path: Path) -> list[str]:
    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return ["".join(c["source"]) for c in cells if c["cell_type"] == "code"]


def _parse(code: str):
    """A cell as Python: IPython's ``!`` and ``%`` lines become ``pass`` at their indentation."""
    lines = [line[: len(line) - len(line.lstrip())] + "pass" if line.lstrip().startswith(("!", "%"))
             else line for line in code.splitlines()]
    return ast.parse("\n".join(lines))


def uses(code_cells: list[str]) -> set[str]:
    """Keys of the voicelab modules, functions and classes a notebook's code refers to."""
    trees = [_parse(code) for code in code_cells]
    bound = {}   # local name -> dotted voicelab name
    for tree in trees:
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module \
                    and node.module.split(".")[0] == "voicelab":
                for alias in node.names:
                    bound[alias.asname or alias.name] = f"{node.module}.{alias.name}"
            elif isinstance(node, ast.Import):
                for alias in node.names:
                    if alias.name.split(".")[0] == "voicelab":
                        bound[alias.asname or "voicelab"] = alias.name if alias.asname else "voicelab"
    found = set()
    for tree in trees:
        for node in ast.walk(tree):
            chain = []
            while isinstance(node, ast.Attribute):
                chain.append(node.attr)
                node = node.value
            if not isinstance(node, ast.Name) or node.id not in bound:
                continue
            dotted = bound[node.id]
            for attr in [None, *reversed(chain)]:
                dotted = dotted if attr is None else f"{dotted}.{attr}"
                obj = _lookup(dotted)
                key = _key(obj) if obj is not None else None
                if key is None:
                    break
                found.add(key)
                if not inspect.ismodule(obj):     # a function or class: its module is used too
                    found.add(obj.__module__)
                    break
    return found


@lru_cache(maxsize=1)
def first_use() -> dict[str, int]:
    first: dict[str, int] = {}
    for path in NOTEBOOKS:
        for key in uses(_code_cells(path)):
            first.setdefault(key, int(path.name[:2]))
    return first


def refers_to(key: str) -> set[str]:
    """Keys of the voicelab functions and classes that the code of function/class ``key`` names."""
    module_name, _, qualname = key.partition(":")
    module = importlib.import_module(module_name)
    obj = module
    for part in qualname.split("."):
        obj = getattr(obj, part)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(obj)))
    except (OSError, TypeError, SyntaxError):
        return set()
    names = dict(vars(module))
    for node in ast.walk(tree):          # imports inside the function: from ..audio import world
        if isinstance(node, ast.ImportFrom) and node.level:
            package = module_name.split(".")[: -node.level] if not hasattr(module, "__path__") \
                else module_name.split(".")[: len(module_name.split(".")) - node.level + 1]
            source = ".".join(package + ([node.module] if node.module else []))
            for alias in node.names:
                found = _lookup(f"{source}.{alias.name}")
                if found is not None:
                    names[alias.asname or alias.name] = found
    out = set()
    for node in ast.walk(tree):
        target = None
        if isinstance(node, ast.Name):
            target = names.get(node.id)
        elif isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and inspect.ismodule(names.get(node.value.id)):
            target = getattr(names[node.value.id], node.attr, None)
        k = _key(target) if target is not None else None
        if k and ":" in k:
            out.add(k)
    return out


def introduced_through(nn: int) -> set[str]:
    """Keys the functions that notebook ``nn`` (all its classes: 07 has two files) uses directly refer to."""
    return {k for path in NOTEBOOKS if int(path.name[:2]) == nn
            for used in uses(_code_cells(path)) if ":" in used for k in refers_to(used)}


def test_introduced_in_names_the_first_notebook_that_uses_it():
    texts = {}
    for p in NOTEBOOKS:                 # a notebook in two classes (07) is one notebook here
        texts[int(p.name[:2])] = texts.get(int(p.name[:2]), "") + p.read_text(encoding="utf-8")
    first = first_use()
    through = {}
    wrong = []
    for key, nn in sorted(claims().items()):
        if key in first:
            if first[key] != nn:
                wrong.append(f"{key}: says notebook {nn:02d}, first used in notebook {first[key]:02d}")
            continue
        name = key.split(":")[-1].split(".")[-1] if ":" in key else key.rsplit(".", 1)[-1]
        if re.search(rf"\b{re.escape(name)}\b", texts.get(nn, "")):
            continue
        if nn not in through:
            through[nn] = introduced_through(nn) if nn in texts else set()
        if key not in through[nn]:
            wrong.append(f"{key}: says notebook {nn:02d}, which neither uses nor names it")
    assert wrong == []


def test_the_check_finds_uses_and_misses():
    # control: a use through a module alias, a from-import and an import of the package
    cells = ["from voicelab.voice import svc as s\nfrom voicelab.audio.world import dtw\nimport voicelab",
             "!voicelab info\nif True:\n    %time s.train(1)\n    s.prepare(0)\ndtw([1], [1])",
             "voicelab.audio.load('x.wav')"]
    found = uses(cells)
    assert {"voicelab.voice.svc:prepare", "voicelab.audio.world:dtw",
            "voicelab.audio.io:load"} <= found
    assert "voicelab.voice.svc:train" not in found          # only inside an IPython magic
    assert "voicelab.voice.svc:convert" not in found


def test_first_use_and_indirect_use_on_known_cases():
    first = first_use()
    assert first["voicelab.voice.svc:train"] == 9 and first["voicelab.audio.world:dtw"] == 10
    assert "voicelab.lessons.text:number_to_words" in introduced_through(7)   # through normalize
    assert "voicelab.lessons.text:number_to_words" not in introduced_through(2)

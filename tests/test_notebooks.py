"""Conventions every notebook keeps (nbval itself checks their outputs)."""
import json
from pathlib import Path

import pytest

from voicelab import runtime

NOTEBOOKS = sorted((Path(__file__).parent.parent / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def cells(path):
    return json.loads(path.read_text())["cells"]


def source(cell):
    return "".join(cell["source"])


def test_there_are_notebooks():
    assert NOTEBOOKS, "no notebooks found"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_standard_first_cells(path):
    code = [c for c in cells(path) if c["cell_type"] == "code"]
    assert source(code[0]) == runtime.SETUP_CELL, f"{path.name}: first code cell must be runtime.SETUP_CELL"
    assert "runtime.report(" in source(code[1]), f"{path.name}: second code cell must report the runtime"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_committed_with_quick_outputs(path):
    assert path.stat().st_size < 2 * 1024 * 1024, f"{path.name} is over 2 MB"
    for c in cells(path):
        if c["cell_type"] != "code" or not source(c).strip():
            continue
        assert c.get("execution_count") is not None, f"{path.name}: a code cell was committed unrun"
        assert not any(o.get("output_type") == "error" for o in c.get("outputs", [])), \
            f"{path.name}: an error output was committed"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_ends_with_summary_and_exercises(path):
    text = "\n".join(source(c) for c in cells(path) if c["cell_type"] == "markdown")
    assert "## Summary" in text and "## Exercises" in text

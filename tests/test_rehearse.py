"""tests/rehearse.py's bookkeeping: slow cells from papermill's metadata and their T4 estimates."""
import json
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rehearse  # noqa: E402


def _executed(tmp_path, durations):
    cells = [{"cell_type": "code", "source": ["# a comment\n", f"step_{i} = {i}\n"],
              "metadata": {"papermill": {"duration": d}}, "outputs": []} for i, d in enumerate(durations)]
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps({"cells": cells}))
    return path


def test_slow_cells_are_the_ones_over_the_threshold(tmp_path):
    slow = rehearse.slow_cells(_executed(tmp_path, [3.0, 42.0, None]), "05")
    assert [(c["cell"], c["first_line"], c["rehearsal_s"]) for c in slow] == [(1, "step_1 = 1", 42.0)]


def test_t4_estimate_scales_capped_cells_and_says_when_it_cannot():
    estimates = {"05": [{"match": "step_", "scaled": True, "full": 20000, "t4_speedup": 4, "basis": "why"}],
                 "12": [{"match": "gen", "scaled": False, "t4_speedup": 1, "basis": "size", "t4_s": 60}]}
    cell = {"notebook": "05", "first_line": "step_1 = 1", "rehearsal_s": 2.0}
    assert rehearse.t4_estimate(cell, estimates, "0.01")["t4_s"] == 50       # 2 s x 20000/200 / 4
    assert rehearse.t4_estimate(cell, estimates, "2")["t4_s"] == 5000        # 2 s x 20000/2 / 4
    few = {"05": [{**estimates["05"][0], "full": 20}]}                        # 1 % of 20: one epoch
    assert rehearse.t4_estimate(cell, few, "0.01")["t4_s"] == 10             # 2 s x 20/1 / 4
    assert rehearse.t4_estimate({**cell, "notebook": "12", "first_line": "gen()"}, estimates,
                                "0.01")["t4_s"] == 60                       # a fixed estimate
    other = rehearse.t4_estimate({**cell, "first_line": "other"}, estimates, "0.01")
    assert other["t4_s"] is None and "no entry" in other["basis"]           # control: no match


def test_every_estimate_gives_its_basis():
    doc = json.loads(rehearse.ESTIMATES.read_text())
    assert set(doc["notebooks"]) == set(rehearse.LESSONS)
    for entries in doc["notebooks"].values():
        for e in entries:
            assert e["basis"] and e["t4_speedup"] >= 1 and isinstance(e["scaled"], bool)
            assert not e["scaled"] or e["full"] >= 1                           # scaled: by how much


@pytest.mark.parametrize("name", rehearse.LESSONS)
def test_lesson_notebooks_exist(name):
    assert (rehearse.NOTEBOOKS / f"{rehearse.NOTEBOOK_FILES[name]}.ipynb").is_file()


def test_every_notebook_has_exactly_one_name():
    on_disk = sorted(p.stem for p in rehearse.NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    named = list(rehearse.NOTEBOOK_FILES.values())
    assert sorted(named) == on_disk and len(set(named)) == len(named)
    assert all(rehearse.NOTEBOOK_FILES[k].startswith(k[:2] + "_") for k in rehearse.NOTEBOOK_FILES)
    # every notebook but 00 (setup) is rehearsed: as a lesson, or as a step of the voice journey (08-11)
    assert set(rehearse.NOTEBOOK_FILES) == set(rehearse.LESSONS) | {"00", "08", "09", "10", "11"}

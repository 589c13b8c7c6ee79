"""Notebook 02 says which window and hop the course's models use; check that against the models.

Notebook 02 cannot import voicelab.lessons.tts (introduced in notebook 07), so it writes the
settings down; this test holds them to ``tts.MEL`` and to notebook 03's ``MEL``."""
import json
import re
from pathlib import Path

from voicelab.lessons import tts

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"


def _dict_line(notebook: str, start: str) -> dict:
    cells = json.loads((NOTEBOOKS / notebook).read_text(encoding="utf-8"))["cells"]
    for cell in cells:
        if cell["cell_type"] != "code":
            continue
        for line in "".join(cell["source"]).splitlines():
            if line.startswith(start):
                return eval(re.sub(r"#.*", "", line.split("=", 1)[1]), {"dict": dict})
    raise AssertionError(f"{notebook} has no line starting with {start!r}")


def _same_settings(stated: dict, actual: dict) -> bool:
    return all(actual[k] == v for k, v in stated.items())


def test_notebook_02_states_the_windows_of_notebooks_03_and_07():
    stated = _dict_line("02_sound_and_spectrograms.ipynb", "model = dict(")
    assert set(stated) == {"sr", "n_fft", "hop_length"}
    assert _same_settings(stated, tts.MEL)
    in_03 = _dict_line("03_autoencoders.ipynb", "MEL = dict(")
    assert _same_settings({k: stated[k] for k in ("n_fft", "hop_length")}, in_03)
    # the control: a notebook that said 512-sample windows would fail the same check
    assert not _same_settings({**stated, "n_fft": 512}, tts.MEL)

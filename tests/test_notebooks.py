"""Conventions every notebook keeps (nbval itself checks their outputs)."""
import configparser
import difflib
import json
import re
from pathlib import Path

import pytest
from nbval.plugin import comment_markers, find_comment_markers, find_metadata_tags, metadata_tags

from voicelab.core import runtime

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


# ------------------------------------------------------------------ nbval markers and compared outputs
# nbval recognises a marker only when a comment line is exactly the marker (`# NBVAL_IGNORE_OUTPUT`);
# `# NBVAL_IGNORE_OUTPUT: a reason` is silently not a marker, and that cell is compared after all.
# The reason goes on the next comment line. These tests read nbval's own tables, so they follow it.

SANITIZE_CFG = Path(__file__).parent / "nbval_sanitize.cfg"
# What nbval leaves out of every comparison (nbval 0.11, IPyNbFile.skip_compare, without --nbdime).
NBVAL_SKIPPED_KEYS = {"metadata", "traceback", "prompt_number", "output_type", "name", "execution_count",
                      "application/vnd.jupyter.widget-view+json", "image/png", "image/jpeg"}
# Bytes of audio, pictures or video, in their own MIME type or inlined as a data: URI (IPython's Audio).
MEDIA = re.compile(r"^(audio|image|video)/|data:(audio|image|video)/[^,]*;base64,[A-Za-z0-9+/]", re.I)


def sanitize_patterns(cfg=SANITIZE_CFG):
    """The (regex, replacement) pairs nbval applies, read the way nbval reads the file."""
    parser = configparser.ConfigParser()
    parser.read(cfg)
    return [(parser.get(s, "regex"), parser.get(s, "replace")) for s in parser.sections()]


def marker_problems(cell) -> list[str]:
    """Comments and tags in one cell that mention nbval but that nbval will not act on."""
    text = source(cell)
    if cell["cell_type"] != "code":
        return [f"an nbval marker in a {cell['cell_type']} cell does nothing: {line.strip()!r}"
                for line in text.splitlines() if re.search(r"nbval|pytest_validate", line, re.I)]
    problems = []
    for line in text.splitlines():
        comment = line.strip()
        if not comment.startswith("#"):
            continue
        words = comment.lstrip("#").strip()
        first = re.split(r"[\s:,;(]", words, maxsplit=1)[0]
        looks_like_marker = re.search(r"nbval|pytest_validate", words, re.I) or any(
            difflib.SequenceMatcher(None, first.upper(), m).ratio() > 0.8 for m in comment_markers)
        if looks_like_marker and words not in comment_markers:
            problems.append(f"{comment!r} is not an nbval marker: the comment must be exactly one of "
                            f"{sorted(comment_markers)}; put a reason on the next comment line")
    for tag in cell.get("metadata", {}).get("tags", []):
        if re.search(r"nbval|raises", tag, re.I) and tag not in metadata_tags:
            problems.append(f"cell tag {tag!r} is not one nbval knows: {sorted(metadata_tags)}")
    return problems


def is_compared(cell) -> bool:
    """Whether nbval (run with --nbval) compares this code cell's outputs with the committed ones."""
    options = dict(find_metadata_tags(cell.get("metadata", {})))
    options.update(find_comment_markers(source(cell)))
    return not options.get("skip", False) and options.get("check", True)


def compared_media(cell, patterns) -> list[str]:
    """MIME types of a compared cell's outputs that still carry audio/image/video bytes after the
    sanitizers: output that would be compared byte for byte, and bytes differ between CPUs."""
    found = []
    for out in cell.get("outputs", []):
        for mime, value in out.get("data", {}).items():
            if mime in NBVAL_SKIPPED_KEYS:
                continue
            text = "".join(value) if isinstance(value, list) else str(value)
            for regex, replace in patterns:
                text = re.sub(regex, replace, text)
            if MEDIA.search(mime) or MEDIA.search(text):
                found.append(mime)
    return found


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_nbval_markers_are_ones_nbval_recognises(path):
    problems = [f"cell {i}: {p}" for i, c in enumerate(cells(path)) for p in marker_problems(c)]
    assert not problems, f"{path.name}:\n  " + "\n  ".join(problems)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_audio_or_image_bytes_are_compared(path):
    patterns = sanitize_patterns()
    bad = [f"cell {i} ({', '.join(m)})" for i, c in enumerate(cells(path))
           if c["cell_type"] == "code" and is_compared(c) and (m := compared_media(c, patterns))]
    assert not bad, (f"{path.name}: outputs that embed audio or images are compared byte for byte: "
                     f"{'; '.join(bad)}. Ignore the cell's output (a line '# NBVAL_IGNORE_OUTPUT') "
                     "or leave the bytes to the sanitizer in tests/nbval_sanitize.cfg.")


def _code(src, outputs=(), tags=None):
    return {"cell_type": "code", "source": src, "outputs": list(outputs),
            "metadata": {"tags": tags} if tags else {}}


AUDIO_OUT = {"output_type": "display_data", "data": {
    "text/plain": "<IPython.lib.display.Audio object>",
    "text/html": '<audio controls="controls"><source src="data:audio/wav;base64,UklGRsRyAQBXQVZF" '
                 'type="audio/wav" /></audio>'}}


def test_marker_check_catches_what_nbval_would_miss():
    # the controls: each of these is a marker nbval silently ignores
    assert marker_problems(_code("# NBVAL_IGNORE_OUTPUT: a progress bar\nx = 1"))
    assert marker_problems(_code("# NBVAL_IGNORE_OUPUT\nx = 1"))            # a typo
    assert marker_problems(_code("# nbval_ignore_output\nx = 1"))           # wrong case
    assert marker_problems(_code("#NBVAL_SKIP please\nx = 1"))
    assert marker_problems({"cell_type": "markdown", "source": "# NBVAL_IGNORE_OUTPUT"})
    assert marker_problems(_code("x = 1", tags=["nbval-ignore-outputs"]))
    # and what nbval does recognise passes
    assert not marker_problems(_code("# NBVAL_IGNORE_OUTPUT\n# (a progress bar)\nx = 1"))
    assert not marker_problems(_code("  #   NBVAL_SKIP  \nx = 1", tags=["nbval-ignore-output"]))
    assert not marker_problems(_code("# plain comment about values\nx = 1"))


def test_media_check_follows_markers_and_sanitizers():
    patterns = sanitize_patterns()
    assert compared_media(_code("audio.player(y, sr)", [AUDIO_OUT]), []) == ["text/html"]
    assert compared_media(_code("audio.player(y, sr)", [AUDIO_OUT]), patterns) == []   # bytes sanitised
    assert not is_compared(_code("# NBVAL_IGNORE_OUTPUT\naudio.player(y, sr)", [AUDIO_OUT]))
    assert is_compared(_code("# NBVAL_IGNORE_OUTPUT: reason\naudio.player(y, sr)", [AUDIO_OUT]))
    picture = {"output_type": "display_data", "data": {"image/png": "iVBORw0KGgo=", "image/svg+xml": "<svg/>",
                                                      "text/plain": "<Figure size 100x100 with 1 Axes>"}}
    assert compared_media(_code("plt.show()", [picture]), patterns) == ["image/svg+xml"]  # png is skipped

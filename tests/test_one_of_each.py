"""One of each: the device is chosen, logs are quietened, files are replaced and torch's
threads are set in one place each, and nothing changes the working directory.

A scan of voicelab's code (not its docstrings or comments) for the calls that do those jobs:
each may appear only in the module that owns the job.
"""
from __future__ import annotations

import io
import re
import tokenize
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "voicelab"

#: call -> the only modules (paths under voicelab/) allowed to make it
OWNERS = {
    "cuda.is_available": {"core/runtime.py"},             # runtime.pick_device
    "disable_progress_bar": {"core/runtime.py"},          # runtime.quiet (also ..._bars)
    "set_verbosity": {"core/runtime.py"},
    "set_num_threads": {"core/torchutil.py"},             # torchutil.cpu_threads
    "os.replace": {"core/files.py"},                      # files.atomic_path / atomic_folder
    "os.rename": {"core/files.py"},
    "mkstemp": {"core/files.py"},
    "os.chdir": set(),                                    # pass paths or cwd= instead
}


def _code(path: Path) -> str:
    """The file's code without its strings and comments, dotted names written ``a.b.c``."""
    tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
    code = " ".join(t.string for t in tokens if t.type not in (tokenize.STRING, tokenize.COMMENT))
    return re.sub(r"\s*\.\s*", ".", code)


def calls_outside_their_owner(package: Path = PACKAGE) -> list[str]:
    found = []
    for path in sorted(package.rglob("*.py")):
        rel, code = path.relative_to(package).as_posix(), _code(path)
        found += [f"{rel}: {call}" for call, owners in OWNERS.items()
                  if call in code and rel not in owners]
    return found


def test_each_job_is_done_in_one_place():
    assert calls_outside_their_owner() == []


def test_the_scan_sees_calls_and_ignores_words(tmp_path):
    (tmp_path / "voice").mkdir()
    (tmp_path / "voice" / "m.py").write_text(
        '"""Calls os.chdir in a docstring: fine."""\n'
        "import os  # os.replace in a comment: fine\n"
        "os.replace('a', 'b')\n"
        "ok = torch.cuda.is_available()\n")
    assert calls_outside_their_owner(tmp_path) == ["voice/m.py: cuda.is_available",
                                                   "voice/m.py: os.replace"]

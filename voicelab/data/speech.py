"""Speech the project makes itself, so QUICK mode and the tests need no download.

Introduced in notebook 00. Several synthetic speakers read the same short sentences
(``voicelab/sentences.txt``, written for this project). Voices come from two offline
Debian programs:

- ``flite`` (CMU, BSD-style licence): ``slt`` (US female), ``rms`` (US male) and
  ``awb`` (Scottish male) are statistical voices built from recordings of three
  different real people (CMU ARCTIC); ``kal`` is a diphone voice of a fourth.
- ``espeak-ng`` (GPL-3 program; its output is not covered by the GPL): formant
  synthesis, robotic but light. Its voice variants sound different to us but are
  NOT distinct speakers to a speaker encoder, so use the flite voices wherever
  speaker identity matters.

Everything is deterministic for a given version of the two programs; files are
16 kHz mono 16-bit WAV written to ``runtime.cache_dir()/speech`` (or ``out_dir``).
"""
from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .. import audio
from ..core import files, runtime
from ..core.errors import SynthesisError, UnknownSpeakerError

__all__ = ["Voice", "VOICES", "SPEAKERS", "sentences", "synthesize", "make_speech", "example",
           "transcript"]

SR = 16000


@dataclass(frozen=True)
class Voice:
    """One synthetic speaker: the program, its voice name and a human description."""

    engine: str  # "flite" or "espeak-ng"
    voice: str
    description: str


VOICES: dict[str, Voice] = {
    "slt": Voice("flite", "slt", "US English, female (CMU ARCTIC speaker slt)"),
    "rms": Voice("flite", "rms", "US English, male (CMU ARCTIC speaker rms)"),
    "awb": Voice("flite", "awb", "Scottish English, male (CMU ARCTIC speaker awb)"),
    "kal": Voice("flite", "kal16", "US English, male (diphone voice kal)"),
    "espeak_f": Voice("espeak-ng", "en-us+f3", "espeak-ng formant voice, female variant"),
    "espeak_m": Voice("espeak-ng", "en-gb+m3", "espeak-ng formant voice, male variant"),
}
#: The speakers a QUICK-mode data set uses by default: four real, distinct voices.
SPEAKERS = ("slt", "rms", "awb", "kal")
_APT = {"flite": "flite", "espeak-ng": "espeak-ng"}


def sentences() -> list[str]:
    """The project's sentences (English, one per line of ``voicelab/sentences.txt``)."""
    text = Path(__file__).with_name("sentences.txt").read_text(encoding="utf-8")
    return [s.strip() for s in text.splitlines() if s.strip() and not s.startswith("#")]


def _engine_version(engine: str) -> str:
    exe = shutil.which(engine)
    if exe is None:
        raise SynthesisError(
            f"{engine} is not installed, and QUICK-mode speech is made with it. "
            f"Install it (Debian/Ubuntu/Colab: `apt-get install -y {_APT[engine]}`) or run `make setup`.")
    out = subprocess.run([exe, "--version"], capture_output=True, text=True)
    lines = [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if "version" in ln.lower()]
    lines += [ln.strip() for ln in (out.stdout + out.stderr).splitlines() if ln.strip()]
    return lines[0] if lines else "unknown"


def synthesize(text: str, spk: str = "slt", sr: int = SR):
    """Speak ``text`` with speaker ``spk`` (a key of :data:`VOICES`) and return ``(y, sr)``.

    ``y`` is float32 mono at ``sr`` Hz. Raises SynthesisError when the program is missing.
    """
    if spk not in VOICES:
        raise UnknownSpeakerError(f"unknown speaker {spk!r}; choose one of {', '.join(sorted(VOICES))}.")
    if not text.strip():
        raise ValueError("nothing to say: the text is empty")
    v = VOICES[spk]
    _engine_version(v.engine)
    with tempfile.TemporaryDirectory(prefix="voicelab-tts-") as tmp:
        wav = Path(tmp) / "out.wav"
        if v.engine == "flite":
            cmd = ["flite", "-voice", v.voice, "-t", text, "-o", str(wav)]
        else:
            cmd = ["espeak-ng", "-v", v.voice, "-s", "150", "-w", str(wav), text]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wav.exists():
            raise SynthesisError(f"{v.engine} failed for speaker {spk}: {done.stderr.strip()}")
        y, sr = audio.load(wav, sr=sr, allow_silence=False)
    return y, sr


def _digest(paths: list[Path]) -> str:
    h = hashlib.sha256()
    for p in paths:
        h.update(p.read_bytes())
    return h.hexdigest()


def make_speech(speakers=SPEAKERS, n_sentences: int | None = None, out_dir=None, sr: int = SR):
    """Write ``out_dir/{spk}/{spk}_{i:03d}.wav`` for each speaker and sentence; return the folder.

    Speakers all read the same sentences (a parallel corpus, handy for voice conversion).
    ``n_sentences=None`` uses every sentence. Files already made (same text, same
    program version, recorded in ``manifest.json``) are kept, so calling it twice costs
    nothing. A transcript ``{spk}_{i:03d}.txt`` sits beside each clip.
    """
    out = Path(out_dir) if out_dir is not None else runtime.cache_dir() / "speech"
    texts = sentences()[: n_sentences or None]
    manifest_path = out / "manifest.json"
    manifest = json.loads(manifest_path.read_text()) if manifest_path.exists() else {}
    for spk in speakers:
        if spk not in VOICES:
            raise UnknownSpeakerError(f"unknown speaker {spk!r}; choose one of "
                                      f"{', '.join(sorted(VOICES))}.")
        version = _engine_version(VOICES[spk].engine)
        for i, text in enumerate(texts):
            name = f"{spk}_{i:03d}"
            wav = out / spk / f"{name}.wav"
            key = {"text": text, "engine": version, "voice": VOICES[spk].voice, "sr": sr}
            if wav.exists() and manifest.get(f"{spk}/{name}") == key:
                continue
            y, _ = synthesize(text, spk, sr=sr)
            audio.save(wav, y, sr)
            _write_text(wav.with_suffix(".txt"), text + "\n")
            manifest[f"{spk}/{name}"] = key
            _write_text(manifest_path, json.dumps(manifest, indent=1, sort_keys=True))
    return out


def example(spk: str = "slt", index: int = 0) -> Path:
    """Path of one generated clip (made on first use): speaker ``spk`` reading sentence ``index``."""
    folder = make_speech([spk], n_sentences=index + 1)
    return folder / spk / f"{spk}_{index:03d}.wav"


def _write_text(path: Path, text: str) -> None:
    files.write_text(path, text)


def transcript(clip) -> str | None:
    """The words said in ``clip``, from the ``.txt`` of the same name beside it (as
    :func:`make_speech` writes them and a data set of one's own can), or None when there is no
    such file, it is empty, or ``clip`` is not a path."""
    if not isinstance(clip, (str, os.PathLike)):
        return None
    txt = Path(clip).with_suffix(".txt")
    if not txt.is_file():
        return None
    return txt.read_text(encoding="utf-8").strip() or None

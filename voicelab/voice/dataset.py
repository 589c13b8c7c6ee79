"""From raw recordings to a so-vits-svc training set: separate, slice, normalise, report.

Introduced in notebook 08. :func:`prepare_dataset` reads recordings (files or folders of
anything :func:`voicelab.audio.load` reads; they are never modified), optionally separates
the voice from its accompaniment (:mod:`voicelab.voice.separate`), resamples to 44.1 kHz mono,
cuts the audio into clips of about 10 s *at pauses* (audioslicer, plus a maximum length it
lacks), trims the silence at both ends of each clip, normalises its loudness (LUFS) and
writes ``out_dir/{speaker}/{speaker}_{n:04d}.wav``, the ``dataset_raw/{speaker}/*.wav``
layout so-vits-svc-fork expects, next to ``out_dir/{speaker}.report.json``.

The :class:`DatasetReport` (JSON, a table and plots) checks the tutorial's rules: clips of
about 10 s, at least 200 clips, at least 5 minutes in total. :func:`check_trainable`
refuses a folder so-vits-svc-fork cannot train on, with a message saying what to do.

Running so-vits-svc-fork's ``svc pre-resample`` by hand? Point it at a folder holding only
speaker folders: with a file at its top level (like the report) it pairs inputs and outputs
up wrongly and silently loses a clip (so-vits-svc-fork 4.2.30). ``voicelab.voice.svc`` copies only
the speaker folder, so it is not affected.

Levels, silence thresholds, pauses and the cutting itself are :mod:`voicelab.voice.slicing`.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

from .. import audio
from ..core import files, manifest
from ..core.errors import AudioError, DatasetError, HubOfflineError
from .slicing import frame_levels, silence_threshold, slice_recording

__all__ = [
    "DatasetError", "DatasetReport", "prepare_dataset", "report_dataset",
    "check_trainable", "find_inputs", "example_voice",
    "MIN_CLIPS_TO_TRAIN", "RULE_CLIPS", "RULE_TOTAL_SECONDS", "AUDIO_SUFFIXES",
]

#: so-vits-svc-fork's ``pre-config`` puts 2 clips in validation and 2 in test and refuses a
#: speaker with 4 or fewer clips (preprocess_flist_config.py: "expected at least 5").
MIN_CLIPS_TO_TRAIN = 5
#: ... and it skips clips shorter than this (seconds).
SVC_MIN_CLIP_SECONDS = 0.3
#: The tutorial's rules: at least 200 clips, at least 5 minutes, clips of about 10 s.
RULE_CLIPS = 200
RULE_TOTAL_SECONDS = 300.0
RULE_CLIP_SECONDS = (5.0, 15.0)       # the median clip length should lie in this range

AUDIO_SUFFIXES = frozenset({".wav", ".flac", ".ogg", ".oga", ".mp3", ".m4a", ".mp4", ".aac",
                            ".webm", ".opus", ".aif", ".aiff", ".wma", ".caf"})
CLIPPED = 0.999                       # |sample| at or above this counts as clipped
SNR_CAP_DB = 60.0                     # digital silence would give an infinite SNR

_CLIP_NAME = re.compile(r"^(?P<spk>.+)_(?P<n>\d{4})\.wav$")


# ----------------------------------------------------------------------------- report


@dataclass
class DatasetReport:
    """What a data set holds and whether it meets the rules. Introduced in notebook 08.

    Lengths in seconds, loudness in LUFS, SNR in dB. ``rules`` is a list of
    ``{"name", "rule", "value", "met", "advice"}``; ``problems`` lists what went wrong
    (skipped files, audio left out) in words. ``clip_stats`` has one dict per clip.
    """

    speaker: str
    sr: int | None
    clips: int
    total_seconds: float
    min_seconds: float
    max_seconds: float
    median_seconds: float
    lengths: list[float]
    loudness_lufs: list[float]
    clipped_clips: int
    silence_ratio: float
    snr_db: float | None
    rules: list[dict]
    problems: list[str]
    inputs: list[str] = field(default_factory=list)
    separation: str | None = None
    dropped_seconds: float = 0.0
    clip_stats: list[dict] = field(default_factory=list)

    @property
    def total_minutes(self) -> float:
        return self.total_seconds / 60.0

    @property
    def ok(self) -> bool:
        """True when every rule is met."""
        return all(r["met"] for r in self.rules)

    def rule(self, name: str) -> dict:
        """The rule called ``name`` ("clip_length", "clip_count", "total_minutes", "trainable")."""
        for r in self.rules:
            if r["name"] == name:
                return r
        raise KeyError(f"no rule {name!r}; rules: {[r['name'] for r in self.rules]}")

    def to_dict(self) -> dict:
        return asdict(self)

    def to_json(self, path=None) -> str:
        """The report as JSON text; with ``path``, also written there atomically."""
        text = json.dumps(self.to_dict(), indent=1, ensure_ascii=False) + "\n"
        if path is not None:
            files.write_bytes(Path(path), text.encode("utf-8"))
        return text

    @classmethod
    def from_json(cls, path) -> "DatasetReport":
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))

    def table(self) -> str:
        """A plain-text summary table, then the rules with met / NOT MET and what to do."""
        rows = [("speaker", self.speaker), ("clips", str(self.clips)),
                ("total", f"{self.total_minutes:.2f} min ({self.total_seconds:.1f} s)"),
                ("clip length", f"{self.min_seconds:.1f}-{self.max_seconds:.1f} s, "
                                f"median {self.median_seconds:.1f} s"),
                ("loudness", _range(self.loudness_lufs, "LUFS")),
                ("clips with clipping", str(self.clipped_clips)),
                ("silence ratio", f"{self.silence_ratio:.0%} of frames (mean)"),
                ("estimated SNR", _snr_text(self.snr_db)),
                ("audio left out", f"{self.dropped_seconds:.1f} s"),
                ("separation", self.separation or "none")]
        width = max(len(k) for k, _ in rows)
        lines = [f"{k:<{width}}  {v}" for k, v in rows]
        lines.append("")
        for r in self.rules:
            lines.append(f"[{'met' if r['met'] else 'NOT MET'}] {r['rule']}: {r['value']}")
            if not r["met"]:
                lines.append(f"    -> {r['advice']}")
        if self.problems:
            lines.append("")
            lines.append("problems:")
            lines.extend(f"  - {p}" for p in self.problems)
        return "\n".join(lines)

    def plot(self):
        """Four panels: clip lengths, loudness, estimated SNR, silence ratio. Returns the Figure."""
        import matplotlib.pyplot as plt

        fig, axes = plt.subplots(1, 4, figsize=(14, 2.8))
        stats = self.clip_stats
        panels = [
            (self.lengths, "clip length (s)", RULE_CLIP_SECONDS),
            (self.loudness_lufs, "loudness (LUFS)", ()),
            ([s["snr_db"] for s in stats], f"estimated SNR (dB, capped at {SNR_CAP_DB:g})", (20.0,)),
            ([s["silence_ratio"] for s in stats], "silence ratio", ()),
        ]
        for ax, (values, label, lines) in zip(axes, panels):
            values = [v for v in values if v is not None and np.isfinite(v)]
            if values:
                ax.hist(values, bins=min(20, max(5, len(values))), color="tab:blue", alpha=0.8)
            for x in lines:
                ax.axvline(x, color="tab:red", linestyle="--", linewidth=1)
            ax.set_xlabel(label)
        axes[0].set_ylabel("clips")
        fig.suptitle(f"{self.speaker}: {self.clips} clips, {self.total_minutes:.1f} min")
        fig.tight_layout()
        return fig


def _range(values, unit):
    values = [v for v in values if v is not None and np.isfinite(v)]
    if not values:
        return "n/a"
    return f"{min(values):.1f} to {max(values):.1f} {unit}"


def _rules(lengths: list[float]) -> list[dict]:
    n = len(lengths)
    total = float(sum(lengths))
    median = float(np.median(lengths)) if lengths else 0.0
    longest = max(lengths) if lengths else 0.0
    lo, hi = RULE_CLIP_SECONDS
    need_clips = max(0, RULE_CLIPS - n)
    need_min = max(0.0, RULE_TOTAL_SECONDS - total) / 60
    return [
        {"name": "clip_length", "rule": f"clips of about 10 s (median {lo:g}-{hi:g} s, none over {hi:g} s)",
         "value": f"median {median:.1f} s, longest {longest:.1f} s",
         "met": bool(n and lo <= median <= hi and longest <= hi + 1e-6),
         "advice": ("Record longer passages (whole sentences with short pauses) so clips can be "
                    "about 10 s; very short clips teach the model little context."
                    if median < lo else "Re-run prep with max_seconds=15 so long clips are split.")},
        {"name": "clip_count", "rule": f"at least {RULE_CLIPS} clips", "value": f"{n} clips",
         "met": n >= RULE_CLIPS,
         "advice": f"Add about {need_clips} more clips (~{need_clips * 10 / 60:.0f} more minutes "
                   "of speech or singing, e.g. reading varied sentences aloud) and run prep again."},
        {"name": "total_minutes", "rule": f"at least {RULE_TOTAL_SECONDS / 60:g} minutes in total",
         "value": f"{total / 60:.2f} min", "met": total >= RULE_TOTAL_SECONDS,
         "advice": f"Record at least {need_min:.1f} more minutes and run prep again."},
        {"name": "trainable", "rule": f"at least {MIN_CLIPS_TO_TRAIN} clips, so-vits-svc-fork's "
                                      "minimum (2 validation + 2 test + training)",
         "value": f"{n} clips", "met": n >= MIN_CLIPS_TO_TRAIN,
         "advice": "Training will refuse this folder: add recordings until prep makes at least "
                   f"{MIN_CLIPS_TO_TRAIN} clips."},
    ]


def _clip_measures(y, sr, threshold_db=None) -> dict:
    """Loudness, peak, silence ratio and SNR of one clip (mono float32)."""
    threshold = silence_threshold(y, sr) if threshold_db is None else threshold_db
    _, db = frame_levels(y, sr)
    silent = db < threshold
    loud = float(np.percentile(db, 95))
    noise = float(np.median(db[silent])) if silent.sum() >= 5 else float(np.percentile(db, 5))
    try:
        lufs = audio.loudness(y, sr)
    except AudioError:
        lufs = float("nan")
    peak = float(np.max(np.abs(y))) if y.size else 0.0
    return {"seconds": round(len(y) / sr, 3),
            "lufs": round(lufs, 2) if np.isfinite(lufs) else None,
            "peak_db": round(20 * np.log10(peak), 2) if peak > 0 else None,
            "silence_ratio": round(float(silent.mean()), 3),
            "snr_db": round(min(SNR_CAP_DB, loud - noise), 1)}


def _summarise(speaker, sr, stats, problems, *, inputs=(), separation=None, dropped=0.0):
    lengths = [s["seconds"] for s in stats]
    return DatasetReport(
        speaker=speaker, sr=sr, clips=len(stats), total_seconds=round(float(sum(lengths)), 3),
        min_seconds=round(min(lengths), 3) if lengths else 0.0,
        max_seconds=round(max(lengths), 3) if lengths else 0.0,
        median_seconds=round(float(np.median(lengths)), 3) if lengths else 0.0,
        lengths=lengths, loudness_lufs=[s["lufs"] for s in stats],
        clipped_clips=sum(1 for s in stats if s["clipped_fraction"] > 0.001),
        silence_ratio=round(float(np.mean([s["silence_ratio"] for s in stats])), 3) if stats else 0.0,
        snr_db=round(float(np.median([s["snr_db"] for s in stats])), 1) if stats else None,
        rules=_rules(lengths), problems=list(problems), inputs=list(inputs),
        separation=separation, dropped_seconds=round(float(dropped), 3), clip_stats=list(stats))


def report_dataset(folder) -> DatasetReport:
    """Measure the clips in ``folder`` (e.g. ``dataset_raw/alice``) and check the rules.

    The report of :func:`prepare_dataset`, for any folder: works on WAV files not only those
    :func:`prepare_dataset` made; unreadable files are listed in ``problems``.
    Here clipping is measured in the files themselves (|sample| >= 0.999).
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError(f"'{folder}' is not a folder. Pass the speaker folder, e.g. "
                           "dataset_raw/alice, that holds the .wav clips.")
    stats, problems, sr_seen = [], [], set()
    for p in sorted(folder.glob("*.wav")):
        try:
            y, sr = audio.load(p, min_seconds=0.0)
        except AudioError as err:
            problems.append(f"{p.name}: {err}")
            continue
        sr_seen.add(sr)
        s = {"file": p.name, **_clip_measures(y, sr),
             "clipped_fraction": round(float(np.mean(np.abs(y) >= CLIPPED)), 5)}
        stats.append(s)
    if len(sr_seen) > 1:
        problems.append(f"clips have different sample rates {sorted(sr_seen)}; so-vits-svc-fork's "
                        "pre-resample makes them equal, but check where they came from.")
    _quality_problems(stats, problems)
    return _summarise(folder.name, sr_seen.pop() if len(sr_seen) == 1 else None, stats, problems)


def _quality_problems(stats, problems) -> None:
    clipped = [s["file"] for s in stats if s["clipped_fraction"] > 0.001]
    if clipped:
        problems.append(f"{len(clipped)} clip(s) are clipped (distorted) in the recording, e.g. "
                        f"{clipped[0]}: record again with the input gain lower.")
    noisy = [s["file"] for s in stats if s["snr_db"] < 20]
    if noisy:
        problems.append(f"{len(noisy)} clip(s) have an estimated SNR below 20 dB, e.g. {noisy[0]}: "
                        "record somewhere quieter, or try vocal separation (--separate).")


# ----------------------------------------------------------------------------- inputs


def find_inputs(inputs, *, exclude=()) -> list[tuple[Path, str]]:
    """Expand files and folders into ``[(path, label), ...]`` in a fixed (sorted) order.

    Introduced in notebook 08. Folders are searched recursively for audio suffixes
    (:data:`AUDIO_SUFFIXES`), hidden files are skipped, and so is anything inside an
    ``exclude`` folder (the output, so a re-run never reads its own clips). A file named
    directly is used whatever its suffix. Raises DatasetError for a missing path or an
    input with no audio at all.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    exclude = [Path(e).resolve() for e in exclude]
    found: list[tuple[Path, str]] = []
    for item in inputs:
        p = Path(item)
        if not p.exists():
            raise DatasetError(f"Input '{p}' does not exist (looked for {p.absolute()}). Check the "
                               "path; on Colab upload the files first.")
        if p.is_file():
            found.append((p, p.name))
            continue
        audio_files = sorted(f for f in p.rglob("*") if f.is_file()
                             and f.suffix.lower() in AUDIO_SUFFIXES
                             and not any(part.startswith(".") for part in f.relative_to(p).parts)
                             and not any(_inside(f, e) for e in exclude))
        if not audio_files:
            raise DatasetError(f"The folder '{p}' holds no audio files (looked for "
                               f"{', '.join(sorted(AUDIO_SUFFIXES))}). Put your recordings in "
                               "it, or pass the files themselves.")
        found.extend((f, f.relative_to(p).as_posix()) for f in audio_files)
    if not found:
        raise DatasetError("No inputs given: pass at least one audio file or folder.")
    return found


def _inside(path: Path, folder: Path) -> bool:
    try:
        path.resolve().relative_to(folder)
        return True
    except ValueError:
        return False


# ----------------------------------------------------------------------------- writing


def _wav_bytes(y, sr) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, np.asarray(y, dtype=np.float32), int(sr), format="WAV", subtype="PCM_16")
    return buf.getvalue()


def _write_clip(path: Path, y, sr) -> bool:
    """Write the clip unless an identical file is already there; True if written."""
    data = _wav_bytes(y, sr)
    if path.is_file() and path.stat().st_size == len(data) and path.read_bytes() == data:
        return False
    files.write_bytes(path, data)
    return True


# ----------------------------------------------------------------------------- pipeline


def _separator(separate):
    """Turn the ``separate`` argument into a function ``(y, sr) -> (vocals, description)``."""
    if separate is None or separate is False:
        return None
    if callable(separate):
        def run(y, sr):
            out = separate(y, sr)
            vocals = getattr(out, "vocals", out)
            return np.asarray(vocals, dtype=np.float32), getattr(out, "backend", "custom")
        return run
    from . import separate as separation
    backend = "auto" if separate is True else str(separate)

    def run(y, sr):
        out = separation.separate(y, sr, backend=backend)
        return np.asarray(out.vocals, dtype=np.float32), out.backend
    return run


def prepare_dataset(inputs, speaker: str, out_dir, *, separate=None, min_seconds: float = 3.0,
                    max_seconds: float = 15.0, target_seconds: float = 10.0,
                    target_lufs: float = -23.0, sr: int = 44100, min_pause: float = 0.3,
                    progress: bool = False) -> DatasetReport:
    """Build ``out_dir/{speaker}/{speaker}_{n:04d}.wav`` from recordings; return the report.

    Introduced in notebook 08. ``inputs``: audio files and/or folders (searched recursively;
    never modified). ``separate``: None, a :mod:`voicelab.voice.separate` backend name ("auto",
    "spleeter", "demucs", "dsp") or a function ``(y, sr) -> vocals``. Each input becomes
    mono, is separated, resampled to ``sr`` Hz, sliced at pauses into clips of
    ``min_seconds``..``max_seconds`` (see :func:`slice_recording`), trimmed, and set to
    ``target_lufs`` LUFS (peaks kept below -1 dBFS). The report is also written to
    ``out_dir/{speaker}.report.json``.

    A file that cannot be read is skipped and named in ``report.problems`` (the others
    still count); DatasetError if no input gives any audio. Running again with the same
    inputs gives the same files: unchanged clips are not rewritten, numbered clips left
    over from a bigger earlier run are removed (other files in the folder are left alone).
    Every file is written atomically, and the old report is removed first, so an
    interrupted run leaves only whole clips and no report.
    """
    speaker = str(speaker)
    if not speaker or speaker in (".", "..") or Path(speaker).name != speaker:
        raise DatasetError(f"Speaker name {speaker!r} must be a plain folder name like 'alice'.")
    out_dir = Path(out_dir)
    spk_dir = out_dir / speaker
    report_path = out_dir / f"{speaker}.report.json"
    found = find_inputs(inputs, exclude=[spk_dir])
    run_separation = _separator(separate)

    spk_dir.mkdir(parents=True, exist_ok=True)
    for stale in spk_dir.glob(f".{speaker}_*.tmp"):          # left by a killed run
        stale.unlink()
    with contextlib.suppress(FileNotFoundError):
        report_path.unlink()

    problems: list[str] = []
    stats: list[dict] = []
    backends: set[str] = set()
    dropped = 0.0
    usable = 0
    iterator = found
    if progress:
        from tqdm.std import tqdm   # a text bar: it renders on GitHub too
        iterator = tqdm(found, desc=f"prep {speaker}", unit="file")
    for path, label in iterator:
        try:
            y0, sr0 = audio.load(path, mono=True)
        except AudioError as err:
            problems.append(f"skipped {label}: {err}")
            continue
        usable += 1
        y = y0
        if run_separation is not None:
            y, backend = run_separation(y0, sr0)
            backends.add(str(backend))
        y = audio.resample(y, sr0, sr)
        plan = slice_recording(y, sr, min_seconds=min_seconds, max_seconds=max_seconds,
                               target_seconds=target_seconds, min_pause=min_pause)
        problems.extend(f"{label}: {p}" for p in plan.problems)
        dropped += sum(b - a for a, b, _ in plan.dropped)
        if not plan.spans:
            problems.append(f"{label}: no clip of at least {min_seconds:g} s of sound was found; "
                            "it is too short or silent.")
        for start, end in plan.spans:
            a, b = int(round(start * sr)), int(round(end * sr))
            clip = audio.loudness_normalize(y[a:b], sr, target_lufs=target_lufs)
            name = f"{speaker}_{len(stats):04d}.wav"
            _write_clip(spk_dir / name, clip, sr)
            source = y0[int(start * sr0):int(np.ceil(end * sr0))]
            stats.append({"file": name, "source": label, "start_s": round(start, 3),
                          "end_s": round(end, 3), **_clip_measures(clip, sr),
                          "clipped_fraction": round(float(np.mean(np.abs(source) >= CLIPPED)), 5)})
    if usable == 0:
        raise DatasetError(f"None of the {len(found)} input file(s) could be read:\n  "
                           + "\n  ".join(problems) + "\nFix or replace them and run again.")
    for old in spk_dir.glob(f"{speaker}_*.wav"):             # clips of an earlier, bigger run
        m = _CLIP_NAME.match(old.name)
        if m and m.group("spk") == speaker and int(m.group("n")) >= len(stats):
            old.unlink()
    _quality_problems(stats, problems)
    separation = ", ".join(sorted(backends)) if backends else None
    report = _summarise(speaker, sr, stats, problems, inputs=[label for _, label in found],
                        separation=separation, dropped=dropped)
    report.to_json(report_path)
    return report


# ----------------------------------------------------------------------------- training check


def check_trainable(dataset_dir, speaker: str) -> list[Path]:
    """Refuse a data set so-vits-svc-fork cannot train on; return the usable clip paths.

    Introduced in notebook 08 (training calls it first, notebook 09). ``dataset_dir`` is the
    ``dataset_raw`` folder holding ``{speaker}/``. Raises DatasetError, saying what to do,
    when the folder is missing or empty or has fewer than 5 clips of at least 0.3 s
    (so-vits-svc-fork's pre-config keeps 2 for validation and 2 for test and refuses fewer).
    """
    dataset_dir = Path(dataset_dir)
    spk_dir = dataset_dir / str(speaker)
    if not dataset_dir.is_dir():
        raise DatasetError(f"The data set folder '{dataset_dir}' does not exist. Make it with "
                           f"`voicelab prep RECORDINGS --speaker {speaker} --out {dataset_dir}`.")
    if not spk_dir.is_dir():
        others = sorted(p.name for p in dataset_dir.iterdir() if p.is_dir())
        hint = f" Speakers there: {', '.join(others)}." if others else ""
        raise DatasetError(f"There is no speaker folder '{spk_dir}'.{hint} Check the speaker "
                           f"name, or run `voicelab prep RECORDINGS --speaker {speaker} --out "
                           f"{dataset_dir}`.")
    wavs = sorted(p for p in spk_dir.rglob("*.wav") if not p.name.startswith("."))
    if not wavs:
        raise DatasetError(f"The speaker folder '{spk_dir}' holds no .wav clips, so training "
                           "would do nothing. Put recordings through `voicelab prep` first.")
    usable, short, broken = [], [], []
    for p in wavs:
        try:
            info = sf.info(str(p))
        except Exception:          # noqa: BLE001 - any unreadable file is reported the same way
            broken.append(p.name)
            continue
        (usable if info.duration >= SVC_MIN_CLIP_SECONDS else short).append(p)
    if len(usable) < MIN_CLIPS_TO_TRAIN:
        detail = f"{len(usable)} usable clip(s)"
        if short:
            detail += f" ({len(short)} more are shorter than {SVC_MIN_CLIP_SECONDS} s and skipped)"
        if broken:
            detail += f" ({len(broken)} cannot be read, e.g. {broken[0]})"
        raise DatasetError(
            f"'{spk_dir}' has {detail}; so-vits-svc-fork needs at least {MIN_CLIPS_TO_TRAIN} "
            "(2 go to validation, 2 to test, the rest to training), and a useful model needs "
            f"about {RULE_CLIPS} clips of ~10 s (5+ minutes). Record more and run `voicelab prep` again.")
    if broken:
        raise DatasetError(f"'{spk_dir}' holds clips that cannot be read ({', '.join(broken[:3])}"
                           f"{' ...' if len(broken) > 3 else ''}); so-vits-svc-fork would pair "
                           "the remaining files up wrongly. Delete them or run `voicelab prep` again.")
    return usable


# ----------------------------------------------------------------------------- Hub example voice

#: LJ Speech (public domain: LibriVox recordings of public-domain books, one female
#: US English reader), as individual 22.05 kHz WAV files in a Hub copy, pinned to a commit.
#: (Manifest entry "ljspeech"; each clip is fetched by URL as an Asset of that entry.)
EXAMPLE_VOICE_REPO = manifest.entry("ljspeech").repo_id
EXAMPLE_VOICE_REVISION = manifest.entry("ljspeech").revision


def _example_names(n_files: int) -> list[str]:
    names = [f"LJ001-{i:04d}" for i in range(1, 181)] + [f"LJ002-{i:04d}" for i in range(1, 201)]
    if not 1 <= n_files <= len(names):
        raise ValueError(f"n_files must be 1..{len(names)}, got {n_files}")
    return names[:n_files]


def _example_clip(name: str):
    """One LJ Speech clip (``LJ001-0001``) as a URL asset of the manifest entry "ljspeech"."""
    from ..core import hub

    entry = manifest.entry("ljspeech")
    if entry.file(f"wavs/{name}.wav") is None:
        raise ValueError(f"{name}.wav is not one of the clips the manifest lists for {entry.source}.")
    return hub.Asset(name=f"ljspeech-{name}",
                     url=f"{entry.source}/resolve/{entry.revision}/wavs/{name}.wav",
                     description=f"LJ Speech clip ({entry.licence})", manifest="ljspeech")


def example_voice(n_files: int = 240) -> list[Path]:
    """FULL mode: paths of ``n_files`` LJ Speech clips from the Hub, a ready-made example voice.

    Introduced in notebook 08. Downloaded once through :mod:`voicelab.core.hub` (cached).
    Offline (QUICK mode or ``HF_HUB_OFFLINE=1``) with nothing cached it raises
    HubOfflineError saying what to use instead.
    """
    from ..core import hub

    paths = []
    for name in _example_names(n_files):
        asset = _example_clip(name)
        try:
            paths.append(hub.fetch(asset))
        except HubOfflineError as err:
            raise HubOfflineError(
                "The example voice (LJ Speech, public domain) comes from the Hugging Face Hub "
                f"({EXAMPLE_VOICE_REPO}) and voicelab is offline, with {name}.wav not cached. "
                "Use your own recordings (or voicelab.data.speech.make_speech() in QUICK mode), or run "
                f"once in FULL mode with internet. Details: {err}") from err
    return paths


def _snr_text(snr_db: float | None) -> str:
    """The median SNR for the table; at the cap it is a lower bound, not a measurement."""
    if snr_db is None:
        return "n/a"
    if snr_db >= SNR_CAP_DB:
        return (f"at least {SNR_CAP_DB:g} dB (median; the estimate's cap: the quietest frames are "
                "near digital silence)")
    return f"{snr_db:.0f} dB (median)"

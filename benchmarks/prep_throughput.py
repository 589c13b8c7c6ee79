"""Prep throughput: seconds of audio prepared per second of wall time.

    .venv/bin/python benchmarks/prep_throughput.py [--minutes 10] [--separate dsp,spleeter] [--jobs 1]

Builds a long 44.1 kHz recording from the offline speech (sentences with pauses of
0.3-1.2 s, a quiet repeating accompaniment under it), then times

1. voicelab: ``voicelab.voice.dataset.prepare_dataset`` without separation, then once per backend
   named in ``--separate`` (slice at pauses, trim, loudness-normalise, resample
   to 44.1 kHz, write the clips and the report), in this process;
2. so-vits-svc-fork: ``svc pre-split`` then ``svc pre-resample`` on the same file, each as
   the command a user runs (``-n JOBS`` worker processes; the default -1 is much slower on
   2 cores), so their start-up time (importing torch ...) is included, and once more as the
   same two functions called in-process, without the start-up.

It prints one line per run and the throughput ratios. Note what each does: pre-split cuts
speech into <= 10 s pieces at fixed places inside voiced stretches (not at pauses) and
pre-resample peak-normalises and trims; neither separates vocals nor reports anything.
Nothing is downloaded; everything is written to a temporary folder.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from voicelab import audio
from voicelab.data import speech
from voicelab.voice import dataset, slicing


def make_recording(path: Path, minutes: float, sr: int = 44100, music: bool = True):
    """Write a ``minutes``-long speech recording with pauses to ``path``.

    Returns ``(seconds, dry)``: its length and the speech alone (before the music), the
    reference for "is this clip edge inside speech?".
    """
    speakers = ["slt"]
    folder = speech.make_speech(speakers, out_dir=Path(path).parent / "speech")
    clips = [audio.load(p, sr=sr)[0] for p in sorted((folder / "slt").glob("*.wav"))]
    rng = np.random.default_rng(0)
    parts, total = [], 0.0
    while total < minutes * 60:
        y = clips[len(parts) // 2 % len(clips)]
        gap = np.zeros(int(rng.uniform(0.3, 1.2) * sr), np.float32)
        parts += [y, gap]
        total += (len(y) + len(gap)) / sr
    y = np.concatenate(parts)
    dry = y.copy()
    if music:                                   # a 2 s loop: bass note + a plucked chord
        t = np.arange(2 * sr) / sr
        loop = 0.4 * np.sin(2 * np.pi * 55 * t) * np.exp(-t)
        for f in (220.0, 277.2, 329.6):
            loop += 0.2 * np.sin(2 * np.pi * f * t) * np.exp(-3 * (t % 0.5))
        bed = np.tile(loop, len(y) // len(loop) + 1)[: len(y)]
        y = y + 0.03 * bed / np.max(np.abs(bed))
    y = (0.9 * y / np.max(np.abs(y))).astype(np.float32)
    audio.save(path, y, sr)
    return len(y) / sr, dry


def time_voicelab(src: Path, work: Path, separate: str | None):
    start = time.perf_counter()
    report = dataset.prepare_dataset([src], "bench", work / "voicelab", separate=separate)
    wall = time.perf_counter() - start
    edges = [t for s in report.clip_stats for t in (s["start_s"], s["end_s"])]
    return wall, edges


def loud_edges(y, sr, edges) -> str:
    """How many clip edges (seconds in the source) fall where the dry speech is not quiet."""
    threshold = slicing.silence_threshold(y, sr)
    bad = sum(not slicing.quiet_at(y, sr, t, threshold) for t in edges)
    return f"{bad}/{len(edges)} clip edges inside sound"


def svc_edges(folder: Path):
    """Clip edges of pre-split's output, read from its file names (stem_START_END.wav)."""
    edges = []
    for p in folder.rglob("*.wav"):
        start, end = p.stem.rsplit("_", 2)[1:]
        edges += [float(start), float(end)]
    return edges


def time_svc_cli(src: Path, work: Path, jobs: int) -> tuple[float, float]:
    svc = shutil.which("svc", path=str(Path(sys.executable).parent)) or shutil.which("svc")
    if svc is None:
        raise SystemExit("so-vits-svc-fork's `svc` command was not found (pip install so-vits-svc-fork)")
    raw_raw = work / "svc_cli" / "dataset_raw_raw" / "bench"
    raw_raw.mkdir(parents=True)
    shutil.copy(src, raw_raw / src.name)
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    times = []
    for args in (["pre-split", "-i", str(raw_raw.parent), "-o", str(work / "svc_cli" / "raw"),
                  "-n", str(jobs)],
                 ["pre-resample", "-i", str(work / "svc_cli" / "raw"), "-o",
                  str(work / "svc_cli" / "44k"), "-n", str(jobs)]):
        start = time.perf_counter()
        subprocess.run([svc, *args], check=True, env=env, stdout=subprocess.DEVNULL,
                       stderr=subprocess.DEVNULL)
        times.append(time.perf_counter() - start)
    return times[0], times[1]


def time_svc_functions(src: Path, work: Path, jobs: int) -> float:
    from so_vits_svc_fork.preprocessing.preprocess_resample import preprocess_resample
    from so_vits_svc_fork.preprocessing.preprocess_split import preprocess_split

    raw_raw = work / "svc_fn" / "dataset_raw_raw" / "bench"
    raw_raw.mkdir(parents=True)
    shutil.copy(src, raw_raw / src.name)
    start = time.perf_counter()
    quiet = contextlib.redirect_stderr(io.StringIO())
    # the CLI's defaults: split max 10 s, top_db 30, frame 1 s, hop 0.3 s; resample to 44.1 kHz
    with quiet:
        preprocess_split(raw_raw.parent, work / "svc_fn" / "raw", 44100, max_length=10, top_db=30,
                         frame_seconds=1, hop_seconds=0.3, n_jobs=jobs)
        preprocess_resample(work / "svc_fn" / "raw", work / "svc_fn" / "44k", 44100,
                            n_jobs=jobs, top_db=30, frame_seconds=1, hop_seconds=0.3)
    return time.perf_counter() - start


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="length of the test recording")
    parser.add_argument("--separate", default=None,
                        help="voicelab separation backends to time, comma-separated (e.g. dsp,spleeter)")
    parser.add_argument("--jobs", type=int, default=1, help="so-vits-svc-fork worker processes")
    args = parser.parse_args(argv)

    with tempfile.TemporaryDirectory(prefix="voicelab-bench-") as tmp:
        work = Path(tmp)
        src = work / "long recording.wav"
        seconds, dry = make_recording(src, args.minutes)
        print(f"machine: {platform.machine()}, {os.cpu_count()} CPU cores, Python "
              f"{platform.python_version()}; input: {seconds:.0f} s at 44.1 kHz mono")
        ours_plain, edges = time_voicelab(src, work / "a", None)
        rows = [("voicelab prep (slice+trim+LUFS+resample)", ours_plain)]
        ours_sep = {}
        for backend in filter(None, (args.separate or "").split(",")):
            ours_sep[backend], _ = time_voicelab(src, work / backend, backend)
            rows.append((f"voicelab prep --separate {backend}", ours_sep[backend]))
        split_s, resample_s = time_svc_cli(src, work, args.jobs)
        rows.append((f"svc pre-split + pre-resample CLI -n {args.jobs}", split_s + resample_s))
        rows.append((f"  (pre-split {split_s:.1f} s, pre-resample {resample_s:.1f} s)", None))
        theirs_fn = time_svc_functions(src, work, args.jobs)
        rows.append((f"svc preprocess_split+resample in-process n_jobs={args.jobs}", theirs_fn))
        for name, wall in rows:
            if wall is None:
                print(name)
            else:
                print(f"{name:<58} {wall:6.1f} s wall  {seconds / wall:7.1f} s audio per s")
        print(f"cut quality, voicelab: {loud_edges(dry, 44100, edges)}; svc pre-split: "
              f"{loud_edges(dry, 44100, svc_edges(work / 'svc_cli' / 'raw'))}")
        theirs_cli = split_s + resample_s
        print(f"ratio voicelab / svc CLI (same steps, no separation):   {theirs_cli / ours_plain:.2f}x")
        print(f"ratio voicelab / svc in-process (no start-up):          {theirs_fn / ours_plain:.2f}x")
        for backend, wall in ours_sep.items():
            print(f"ratio voicelab --separate {backend} / svc CLI:{'':<{18 - len(backend)}}"
                  f"{theirs_cli / wall:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""so-vits-svc speed: training steps per second and conversion real-time factor.

    .venv/bin/python benchmarks/svc_speed.py [--full] [--steps 12] [--seconds 10]

Everything runs offline (a lent GPU machine has no internet either), so it measures speed, not
quality. QUICK uses the small ContentVec stand-in. ``--full`` first installs the full-size
stand-ins of :mod:`voicelab.voice.rehearsal` (ContentVec as the Hub ships it, the pretrained
G_0/D_0, random weights, real sizes and formats) into caches of its own in the temporary folder
(never your own caches), so FULL mode runs its real code path, a cache hit, with no network;
the install's time and size are printed. Each figure is printed with how it was taken:

1. Training: one data set of 12 offline sentences (speaker slt) is prepared once
   (``svc.prepare``); then two fresh runs train from scratch to S and 3*S steps. Steps per
   second = 2*S / (difference of their wall times), so start-up (Lightning, data loader
   workers, model building) cancels out. Config: QUICK's shrunk one, or with ``--full``
   so-vits-svc-fork's 4.0v1 template at the batch size :func:`voicelab.voice.svc.auto_batch_size`
   picks. Peak memory of the longer run: on a GPU ``max_memory_allocated``; always the
   peak resident memory (RSS) of this process plus its data-loader workers, sampled every
   0.1 s with psutil, and ``getrusage``'s peak RSS of this process over the whole script.
2. Conversion: ``svc.convert`` on a ``--seconds`` long clip with (a) the QUICK model just
   trained and (b) a full-size generator (the 4.0v1 template, random weights). One warm-up
   call, then the median of three. Real-time factor = wall time / audio duration (below 1
   is faster than real time). In QUICK, with the real ContentVec (95 M parameters instead of
   the stand-in's 3.6 M) conversion is somewhat slower than printed here; ``--full`` uses a
   full-size ContentVec.
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import sys
import tempfile
import threading
import time
import warnings
from pathlib import Path

import numpy as np


def _env(full: bool) -> None:
    os.environ["VOICELAB_QUICK"] = "0" if full else "1"
    os.environ["HF_HUB_OFFLINE"] = "1"  # nothing is downloaded, even in FULL sizes


class _PeakRSS:
    """Peak resident memory (GiB) of this process and its children while the block runs."""

    def __init__(self, every: float = 0.1):
        self.every, self.peak, self._stop = every, 0, threading.Event()

    def _sample(self):
        import psutil

        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(self.every)

    def __enter__(self):
        self._thread = threading.Thread(target=self._sample, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()

    @property
    def gib(self) -> float:
        return self.peak / 2**30


def _train_speed(speech: Path, work: Path, steps: int, full: bool) -> dict:
    import torch
    from voicelab.voice import svc

    base = work / "prepared"
    svc.prepare(speech, base, "slt", quick=not full)
    times, peaks, done, rss = {}, {}, {}, {}
    for n in (steps, 3 * steps):
        run = work / f"run{n}"
        shutil.copytree(base, run)
        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
        start = time.perf_counter()
        with _PeakRSS() as peak:
            result = svc.train(speech, run, speaker="slt", steps=n, keep=1)
        times[n] = time.perf_counter() - start
        rss[n] = peak.gib
        assert result.steps >= n, result
        done[n] = result.steps
        if torch.cuda.is_available():
            peaks[n] = torch.cuda.max_memory_allocated() / 2**30
    rate = (done[3 * steps] - done[steps]) / (times[3 * steps] - times[steps])
    out = {"batch_size": result.batch_size, "steps": done, "wall_s": times, "steps_per_s": rate,
           "model": str(result.run_dir), "peak_rss_gib": rss[3 * steps]}
    if peaks:
        out["peak_gib"] = peaks[3 * steps]
    return out


def _full_size_model(folder: Path) -> Path:
    import torch
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    config = json.loads((CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json").read_text())
    config["spk"] = {"slt": 0}
    config["model"]["pretrained"] = "none"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    with warnings.catch_warnings():  # so-vits-svc-fork's deprecation warnings
        warnings.simplefilter("ignore")
        net = SynthesizerTrn(config["data"]["filter_length"] // 2 + 1,
                             config["train"]["segment_size"] // config["data"]["hop_length"],
                             **config["model"])
    torch.save({"model": net.state_dict(), "iteration": 0, "optimizer": None,
                "learning_rate": 1e-4}, folder / "G_1.pth")   # G_0.pth would be refused as the base
    return folder


def _rtf(model, y, sr) -> float:
    from voicelab.voice import svc

    svc.convert(y, model, sr=sr)  # warm-up: loads the models
    walls = []
    for _ in range(3):
        start = time.perf_counter()
        svc.convert(y, model, sr=sr)
        walls.append(time.perf_counter() - start)
    return statistics.median(walls) / (len(y) / sr)


def _ru_maxrss_gib() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20   # KiB on Linux


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--full", action="store_true", help="train the full-size config (GPU)")
    parser.add_argument("--steps", type=int, default=12, help="S: the runs train S and 3*S steps")
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the clip converted")
    args = parser.parse_args(argv)
    _env(args.full)

    import torch
    from voicelab import audio
    from voicelab.core import runtime
    from voicelab.data import speech as speech_data

    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "CPU"
    print(f"# svc_speed on {platform.node() or 'this machine'}: {os.cpu_count()} CPU cores, "
          f"{device}, torch {torch.__version__}, torch threads {torch.get_num_threads()}")
    with tempfile.TemporaryDirectory(prefix="svc-speed-") as tmp:
        work = Path(tmp)
        os.environ.setdefault("VOICELAB_CACHE", str(work / "cache"))
        if args.full:   # stand-ins go into caches of this run only
            os.environ["VOICELAB_CACHE"] = str(work / "cache")
            os.environ["HF_HOME"] = str(work / "hf")
            os.environ.pop("HF_HUB_CACHE", None)
            os.environ.pop("HUGGINGFACE_HUB_CACHE", None)
            from voicelab.voice import rehearsal

            start = time.perf_counter()
            rehearsal.install_stand_ins()
            wall = time.perf_counter() - start
            written = sum(p.stat().st_size for d in (work / "cache", work / "hf")
                          for p in d.rglob("*") if p.is_file() and not p.is_symlink())
            print(f"full-size stand-ins installed in {wall:.1f} s, {written / 1e9:.2f} GB written "
                  f"(peak RSS so far {_ru_maxrss_gib():.2f} GiB)")
        speech = speech_data.make_speech(["slt"], n_sentences=12, out_dir=work / "speech")
        t = _train_speed(speech, work, args.steps, args.full)
        size = "full-size 4.0v1" if args.full else "QUICK (shrunk)"
        print(f"training, {size} config, batch {t['batch_size']}: {t['steps_per_s']:.2f} steps/s "
              f"({t['steps']} steps took {[round(v, 1) for v in t['wall_s'].values()]} s "
              "including start-up)" + (f", peak GPU memory {t['peak_gib']:.1f} GiB"
                                       if "peak_gib" in t else "")
              + f", peak RSS of the longer run {t['peak_rss_gib']:.2f} GiB (process + workers)")

        clips = sorted((speech / "slt").glob("*.wav"))
        parts, sr = [], 16000
        while sum(len(p) for p in parts) < args.seconds * sr:
            y, _ = audio.load(clips[len(parts) % len(clips)], sr=sr)
            parts += [y, np.zeros(int(0.3 * sr), np.float32)]
        y = np.concatenate(parts)[: int(args.seconds * sr)]
        where = "GPU" if torch.cuda.is_available() and not runtime.is_quick() else "CPU"
        rtf_quick = _rtf(t["model"], y, sr)
        rtf_full = _rtf(_full_size_model(work / "full"), y, sr)
        print(f"conversion on {where}, {args.seconds:.0f} s clip: real-time factor "
              f"{rtf_quick:.3f} ({'trained' if args.full else 'QUICK'} model), {rtf_full:.3f} "
              "(full-size generator)")
    print(f"peak RSS of this process over the whole script (getrusage): {_ru_maxrss_gib():.2f} GiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())

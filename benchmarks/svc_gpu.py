"""so-vits-svc on a GPU: training speed and memory by batch size and precision, conversion RTF.

    python benchmarks/svc_gpu.py --out results.json              # on a CUDA GPU, ~4 minutes
    python benchmarks/svc_gpu.py --tiny --precisions 32 --batches 1 --frames 40 --no-convert
                                                                 # CPU smoke test, shrunk model

Needs torch, lightning, transformers and so-vits-svc-fork with what its training, model and
inference modules import (librosa, soundfile, pyworld, cm-time, ...); not voicelab. torchcrepe
is imported by so-vits-svc-fork but only used by the crepe f0 methods, which this script does
not run: when it is missing, an empty stand-in module takes its place.

1. Training (``--batches``, ``--precisions``): so-vits-svc-fork's own ``VitsLightning`` training
   step (train.py: generator + multi-period discriminator, AdamW, manual optimisation) through a
   Lightning ``Trainer`` set up as ``so_vits_svc_fork.train.train`` sets it up (precision from
   ``fp16_run``/``bf16_run``, TensorBoard logger, DeviceStatsMonitor; importing train.py sets
   float32 matmul precision "high", i.e. TF32 on GPUs that have it), on the FULL 4.0v1 template
   (CONFIG_TEMPLATE_DIR/so-vits-svc-4.0v1.json, segment_size 10240) with random weights.
   The data are in memory, of the real shapes and value ranges: clips of ``--frames`` frames
   (790 = a clip of 9.2 s or longer after TextAudioDataset's 800-frame cut; voicelab prep makes
   3-15 s clips, most about 10 s, so this is the usual and the largest case), with spec and mel
   computed by so-vits-svc-fork's mel_processing from a synthetic voiced 44.1 kHz signal, f0 and
   uv from that signal, and a random 768-dim content tensor (ContentVec layer 12). They go
   through so-vits-svc-fork's TextAudioCollate in a DataLoader with 4 workers, as in training;
   nothing is read from disk. Per batch size and precision: ``--warmup`` steps are dropped,
   then up to ``--steps`` steps are timed (CUDA synchronised at each step end; the run stops
   early once ``--max-seconds`` of timed steps have passed, after at least 3). Peak memory
   (``peak_*``) is ``torch.cuda.max_memory_allocated`` / ``max_memory_reserved`` over the timed
   steps (statistics reset and cache emptied after warm-up); ``warmup_peak_*`` covers the
   warm-up. The CUDA context (a few hundred MiB) is in neither.
   cuDNN autotuning (``Trainer(benchmark=True)``, which so-vits-svc-fork uses) is OFF unless
   ``--cudnn-benchmark``: on an H200 its trials took about a minute per batch size and
   precision and, during warm-up, 133 GiB of the card's 140 (cuDNN tries algorithms with huge
   workspaces when memory is free), for no gain in steady speed (2.59 against 2.66 steps/s,
   fp32, batch 16). A card with less memory gets trials that fit it.
2. T4 check (``--t4-gib``, default 14.2): for each precision, the largest batch size whose
   peak reserved memory is at most that is run again with the caching allocator capped at that
   many GiB (``torch.cuda.set_per_process_memory_fraction``), and so is the next larger one
   measured: fits or "out of memory". A T4 on Colab shows 14.7 GiB in total; 14.2 leaves about
   0.5 GiB for the CUDA context and cuDNN/cuBLAS handles.
3. Conversion: so-vits-svc-fork's ``Svc.infer_silence`` (as ``voicelab.voice.svc.convert``
   calls it: f0 "dio" on the CPU, db_thresh -40, noise_scale 0.4, fp32) with the full-size
   generator (random weights) and a full-size, randomly initialised HuBERT base (12 layers,
   768 wide, 94 M parameters: the shape of ContentVec, which the 4.0v1 config reads at its last
   layer) on a ``--seconds`` long synthetic voiced clip with pauses. One warm-up call, then the
   median of three; real-time factor = wall time / audio duration. The three stages are also
   timed once each on the whole clip (HuBERT without a warm-up at that length).

Everything runs offline; nothing is downloaded. Results go to ``--out`` as JSON (rewritten after
each measurement, so a run cut short keeps what it measured) and a summary is printed.
``--budget-s`` starts no new training run after that many seconds.
"""
from __future__ import annotations

import argparse
import contextlib
import copy
import gc
import json
import logging
import os
import platform
import statistics
import sys
import tempfile
import time
import types
import warnings
from pathlib import Path

import numpy as np

SR = 44100
GIB = 2**30


def _stub_torchcrepe() -> None:
    """An empty ``torchcrepe`` if it is not installed (only the crepe f0 methods use it)."""
    try:
        import torchcrepe  # noqa: F401
    except ImportError:
        stub = types.ModuleType("torchcrepe")

        def _missing(name):
            raise AttributeError(f"torchcrepe is not installed (torchcrepe.{name} was asked for)")

        stub.__getattr__ = _missing
        sys.modules["torchcrepe"] = stub


def voiced_signal(seconds: float, sr: int = SR, seed: int = 0, pauses: bool = True):
    """A speech-like signal: harmonic tones with gliding pitch and syllable envelopes.

    Returns ``(y, f0_track)`` with ``f0_track`` in Hz per sample (0 in pauses). Pauses of 0.3 s
    every ~2 s when ``pauses``.
    """
    rng = np.random.default_rng(seed)
    n = int(seconds * sr)
    t = np.arange(n) / sr
    f0 = 140 + 40 * np.sin(2 * np.pi * 0.35 * t + rng.uniform(0, 6)) + 10 * np.sin(2 * np.pi * 5 * t)
    phase = 2 * np.pi * np.cumsum(f0) / sr
    y = sum(np.sin(k * phase) / k for k in range(1, 25) if k * 200 < sr / 2)
    env = 0.5 + 0.5 * np.sin(2 * np.pi * 3.5 * t) ** 2           # syllables
    voiced = np.ones(n, bool)
    if pauses:
        for start in np.arange(1.7, seconds, 2.0):
            voiced[int(start * sr):int((start + 0.3) * sr)] = False
    y = y * env * voiced + 0.003 * rng.standard_normal(n)
    y = (0.3 * y / np.abs(y).max()).astype(np.float32)
    return y, np.where(voiced, f0, 0.0).astype(np.float32)


def full_config() -> dict:
    from so_vits_svc_fork.preprocessing.preprocess_flist_config import CONFIG_TEMPLATE_DIR

    config = json.loads((CONFIG_TEMPLATE_DIR / "so-vits-svc-4.0v1.json").read_text())
    config["spk"] = {"me": 0}
    config["model"]["pretrained"] = "none"
    return config


def shrink(config: dict) -> dict:
    """A tiny model of the same layout, for a CPU smoke test of this script (``--tiny``)."""
    config = copy.deepcopy(config)
    config["model"].update(inter_channels=16, hidden_channels=16, filter_channels=32, n_layers=1,
                           upsample_initial_channel=64, gin_channels=16, n_speakers=2)
    return config


def make_items(config: dict, frames: int, n: int = 4) -> list[dict]:
    """``n`` training items of ``frames`` frames, as TextAudioDataset returns them."""
    import torch
    from so_vits_svc_fork.hparams import HParams
    from so_vits_svc_fork.modules.mel_processing import spec_to_mel_torch, spectrogram_torch

    hps = HParams(**config)
    hop = hps.data.hop_length
    items = []
    for i in range(n):
        y, f0_samples = voiced_signal(frames * hop / SR + 0.1, seed=i, pauses=False)
        audio = torch.from_numpy(y[: frames * hop]).unsqueeze(0)
        spec = spectrogram_torch(audio, hps).squeeze(0)[:, :frames]
        mel = spec_to_mel_torch(spec, hps)
        f0 = torch.from_numpy(f0_samples[::hop][:frames].copy())
        uv = (f0 > 0).float()
        gen = torch.Generator().manual_seed(i)
        content = 0.5 * torch.randn(hps.model.ssl_dim, frames, generator=gen)
        assert spec.shape[1] == frames, spec.shape
        items.append({"spec": spec, "mel_spec": mel, "f0": f0, "uv": uv, "content": content,
                      "audio": audio, "spk": torch.tensor(0).long()})
    return items


class _Items:
    def __init__(self, items, length):
        self.items, self.length = items, length

    def __len__(self):
        return self.length

    def __getitem__(self, i):
        return self.items[i % len(self.items)]


def _cuda() -> bool:
    import torch

    return torch.cuda.is_available()


def _sync() -> None:
    import torch

    if torch.cuda.is_available():
        torch.cuda.synchronize()


def train_once(config: dict, items: list, batch: int, precision: str, *, warmup: int, steps: int,
               max_seconds: float, workers: int, work: Path, cudnn_benchmark: bool = True) -> dict:
    """One training run of ``warmup + steps`` steps; returns speed and peak memory."""
    import lightning.pytorch as pl
    import torch
    from lightning.pytorch.callbacks import DeviceStatsMonitor
    from lightning.pytorch.loggers import TensorBoardLogger
    from so_vits_svc_fork.dataset import TextAudioCollate
    from so_vits_svc_fork.hparams import HParams
    from so_vits_svc_fork.train import VitsLightning
    from torch.utils.data import DataLoader

    class Bench(VitsLightning):
        def on_train_end(self):  # so-vits-svc-fork saves G_*/D_* here; not timed, not wanted
            pass

    ends: list[float] = []

    warm_peak = {}

    class Clock(pl.Callback):
        def on_train_batch_end(self, trainer, *args):
            _sync()
            ends.append(time.perf_counter())
            if len(ends) == warmup and _cuda():  # steady state from here: cuDNN tuned
                warm_peak["allocated"] = torch.cuda.max_memory_allocated() / GIB
                warm_peak["reserved"] = torch.cuda.max_memory_reserved() / GIB
                torch.cuda.empty_cache()
                torch.cuda.reset_peak_memory_stats()
            if len(ends) > warmup and ends[-1] - ends[warmup - 1] > max_seconds \
                    and len(ends) >= warmup + 3:
                trainer.should_stop = True

    config = copy.deepcopy(config)
    config["train"]["batch_size"] = batch
    config["train"]["fp16_run"] = precision == "16-mixed"
    config["train"]["bf16_run"] = precision == "bf16-mixed"
    model_dir = work / f"run-{batch}-{precision}"
    model_dir.mkdir(parents=True, exist_ok=True)
    hps = HParams(**config)
    hps.model_dir = model_dir.as_posix()
    loader = DataLoader(_Items(items, (warmup + steps) * batch), batch_size=batch,
                        num_workers=workers, persistent_workers=workers > 0,
                        collate_fn=TextAudioCollate())
    result = {"batch_size": batch, "precision": precision}
    if _cuda():
        gc.collect()
        torch.cuda.empty_cache()
        torch.cuda.reset_peak_memory_stats()
        result["allocated_before_gib"] = torch.cuda.memory_allocated() / GIB
    stft = torch.stft  # VitsLightning.on_train_start replaces it for bf16; put it back after
    model = trainer = None
    try:
        model = Bench(**hps)
        trainer = pl.Trainer(
            accelerator="gpu" if _cuda() else "cpu", devices=1, max_epochs=1,
            precision=precision if precision != "32" else 32,
            logger=TensorBoardLogger(model_dir, "lightning_logs", 0),
            callbacks=[DeviceStatsMonitor(), Clock()], benchmark=cudnn_benchmark,
            enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
            limit_val_batches=0, num_sanity_val_steps=0)
        start = time.perf_counter()
        trainer.fit(model, train_dataloaders=loader)
        timed = len(ends) - warmup
        if timed < 1:
            raise RuntimeError(f"only {len(ends)} steps ran")
        step_s = np.diff([ends[warmup - 1]] + ends[warmup:]) if warmup else np.diff(ends)
        result.update(
            ok=True, steps_timed=timed, warmup_s=round(ends[warmup - 1] - start, 2) if warmup else None,
            steps_per_s=timed / (ends[-1] - ends[warmup - 1]),
            median_step_s=float(np.median(step_s)),
            clips_per_s=batch * timed / (ends[-1] - ends[warmup - 1]))
    except torch.OutOfMemoryError as e:
        result.update(ok=False, error="out of memory", detail=str(e).splitlines()[0][:300])
    except Exception as e:  # noqa: BLE001  (recorded; the other runs go on)
        import traceback

        traceback.print_exc()
        result.update(ok=False, error=f"{type(e).__name__}: {str(e)[:300]}")
    finally:
        torch.stft = stft
        del model, trainer, loader
        gc.collect()
        if _cuda():
            # peak_*: timed steps only (after warm-up); warmup_peak_*: cuDNN autotuning included
            result["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / GIB
            result["peak_reserved_gib"] = torch.cuda.max_memory_reserved() / GIB
            result.update({f"warmup_peak_{k}_gib": v for k, v in warm_peak.items()})
            torch.cuda.empty_cache()
    return result


@contextlib.contextmanager
def memory_cap(gib: float):
    import torch

    total = torch.cuda.get_device_properties(0).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, gib * GIB / total))
    try:
        yield
    finally:
        torch.cuda.set_per_process_memory_fraction(1.0)


def conversion(config: dict, seconds: float, work: Path, tiny: bool) -> dict:
    """RTF of Svc.infer_silence with the full-size generator and a full-size random HuBERT."""
    import torch
    from so_vits_svc_fork import f0 as svc_f0
    from so_vits_svc_fork import utils as svc_utils
    from so_vits_svc_fork.inference.core import Svc
    from so_vits_svc_fork.modules.synthesizers import SynthesizerTrn
    from transformers import HubertConfig, HubertModel

    folder = work / "model"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "config.json").write_text(json.dumps(config))
    torch.manual_seed(0)
    net = SynthesizerTrn(config["data"]["filter_length"] // 2 + 1,
                         config["train"]["segment_size"] // config["data"]["hop_length"],
                         **config["model"])
    torch.save({"model": net.state_dict(), "iteration": 0, "optimizer": None,
                "learning_rate": 1e-4}, folder / "G_0.pth")
    n_params_g = sum(p.numel() for p in net.parameters())
    del net
    # ContentVec's shape: HuBERT base (the defaults), 12 layers, 768 wide, random weights.
    hubert_config = (HubertConfig(num_hidden_layers=1, intermediate_size=256, conv_dim=(32,) * 7)
                     if tiny else HubertConfig())

    def random_hubert(device, final_proj=True):
        torch.manual_seed(0)
        model = HubertModel(hubert_config).eval()
        for m in model.modules():
            if isinstance(m, (torch.nn.Conv1d, torch.nn.Conv2d)):
                svc_utils.remove_weight_norm_if_exists(m)
        return model.to(device)

    device = "cuda" if _cuda() else "cpu"
    original = svc_utils.get_hubert_model
    svc_utils.get_hubert_model = random_hubert
    try:
        svc = Svc(net_g_path=str(folder / "G_0.pth"), config_path=str(folder / "config.json"),
                  device=device)
    finally:
        svc_utils.get_hubert_model = original
    n_params_h = sum(p.numel() for p in svc.hubert_model.parameters())
    y, _ = voiced_signal(seconds, seed=1, pauses=True)

    def call():
        _sync()
        start = time.perf_counter()
        out = svc.infer_silence(y.copy(), speaker="me", transpose=0, f0_method="dio",
                                cluster_infer_ratio=0, noise_scale=0.4, db_thresh=-40)
        _sync()
        assert len(out) == len(y), (len(out), len(y))
        return time.perf_counter() - start

    if _cuda():
        torch.cuda.reset_peak_memory_stats()
    call()  # warm-up
    walls = [call() for _ in range(3)]
    # the stages alone, on the whole clip
    stages = {}
    _sync()
    t0 = time.perf_counter()
    f0 = svc_f0.compute_f0(y.copy(), sampling_rate=SR, hop_length=config["data"]["hop_length"],
                           method="dio")
    stages["f0_dio_cpu_s"] = time.perf_counter() - t0
    f0, uv = svc_f0.interpolate_f0(f0)
    _sync()
    t0 = time.perf_counter()
    c = svc_utils.get_content(svc.hubert_model, y, device, SR, False)
    _sync()
    stages["hubert_s"] = time.perf_counter() - t0
    c = svc_utils.repeat_expand_2d(c.squeeze(0), len(f0)).unsqueeze(0)
    f0_t = torch.as_tensor(f0, device=device).unsqueeze(0).float()
    uv_t = torch.as_tensor(uv, device=device).unsqueeze(0).float()
    sid = torch.LongTensor([[0]]).to(device)
    with torch.no_grad():
        svc.net_g.infer(c, f0=f0_t, uv=uv_t, g=sid, noice_scale=0.4)  # warm-up at this length
        _sync()
        t0 = time.perf_counter()
        svc.net_g.infer(c, f0=f0_t, uv=uv_t, g=sid, noice_scale=0.4)
        _sync()
    stages["generator_s"] = time.perf_counter() - t0
    result = {"device": device, "seconds": seconds, "walls_s": walls,
              "rtf": statistics.median(walls) / seconds,
              "stages_rtf": {k: v / seconds for k, v in stages.items()},
              "generator_params_m": n_params_g / 1e6, "hubert_params_m": n_params_h / 1e6,
              "f0_method": "dio", "what": "Svc.infer_silence(db_thresh=-40), fp32"}
    if _cuda():
        result["peak_allocated_gib"] = torch.cuda.max_memory_allocated() / GIB
    return result


def t4_choice(runs: list[dict], precision: str, cap: float) -> int | None:
    fits = [r["batch_size"] for r in runs if r["precision"] == precision and r.get("ok")
            and r.get("peak_reserved_gib", 0) <= cap]
    return max(fits) if fits else None


def summary(results: dict) -> str:
    lines = [f"# {results['machine']}"]
    lines.append("| precision | batch | steps/s | clips/s | peak allocated GiB | peak reserved GiB |")
    lines.append("|---|---|---|---|---|---|")
    for r in results["training"]:
        if r.get("ok"):
            lines.append(f"| {r['precision']} | {r['batch_size']} | {r['steps_per_s']:.2f} | "
                         f"{r['clips_per_s']:.1f} | {r.get('peak_allocated_gib', float('nan')):.2f}"
                         f" | {r.get('peak_reserved_gib', float('nan')):.2f} |")
        else:
            lines.append(f"| {r['precision']} | {r['batch_size']} | {r.get('error')} | | | |")
    for r in results.get("t4_check", []):
        lines.append(f"T4 cap {r['cap_gib']} GiB, {r['precision']}, batch {r['batch_size']}: "
                     + ("fits" if r.get("ok") else r.get("error", "failed"))
                     + (f" ({r['steps_per_s']:.2f} steps/s)" if r.get("ok") else ""))
    if "conversion" in results:
        c = results["conversion"]
        lines.append(f"conversion on {c['device']}, {c['seconds']:.0f} s clip: RTF {c['rtf']:.4f} "
                     f"(stages: " + ", ".join(f"{k} {v:.4f}" for k, v in c["stages_rtf"].items())
                     + ")")
    return "\n".join(lines)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", type=Path, default=Path("svc_gpu.json"))
    parser.add_argument("--batches", default="4,8,12,16,24,32")
    parser.add_argument("--precisions", default="16-mixed,32,bf16-mixed")
    parser.add_argument("--frames", type=int, default=790, help="frames per training clip")
    parser.add_argument("--warmup", type=int, default=2, help="steps not timed, per run")
    parser.add_argument("--steps", type=int, default=6, help="steps timed, per run (at most)")
    parser.add_argument("--max-seconds", type=float, default=2.0,
                        help="stop timing a run after this many seconds (at least 3 steps)")
    parser.add_argument("--workers", type=int, default=min(4, os.cpu_count() or 1))
    parser.add_argument("--t4-gib", type=float, default=14.2,
                        help="T4 check: allocator cap in GiB (0 = no check)")
    parser.add_argument("--seconds", type=float, default=10.0, help="clip length for conversion")
    parser.add_argument("--no-convert", action="store_true")
    parser.add_argument("--no-train", action="store_true")
    parser.add_argument("--budget-s", type=float, default=0,
                        help="start no new training run after this many seconds (0 = no limit)")
    parser.add_argument("--cudnn-benchmark", action="store_true",
                        help="Trainer(benchmark=True), as so-vits-svc-fork trains: cuDNN "
                             "autotuning, about a minute per batch size and precision on an H200, "
                             "whose trials take most of a large GPU's memory during warm-up")
    parser.add_argument("--tiny", action="store_true", help="shrunk model (CPU smoke test)")
    args = parser.parse_args(argv)
    began = time.perf_counter()

    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    warnings.filterwarnings("ignore")
    _stub_torchcrepe()
    import lightning
    import torch
    import so_vits_svc_fork

    for name in ("so_vits_svc_fork", "lightning", "lightning.pytorch", "pytorch_lightning"):
        logging.getLogger(name).setLevel(logging.ERROR)
    device = torch.cuda.get_device_name(0) if _cuda() else "CPU"
    total = torch.cuda.get_device_properties(0).total_memory / GIB if _cuda() else None
    machine = (f"{device}" + (f" ({total:.1f} GiB)" if total else "") + f", {os.cpu_count()} CPU "
               f"cores, torch {torch.__version__}, lightning {lightning.__version__}, "
               f"so-vits-svc-fork {so_vits_svc_fork.__version__}, Python {platform.python_version()}")
    print("#", machine, flush=True)
    config = full_config()
    if args.tiny:
        config = shrink(config)
    results = {"machine": machine, "gpu": device, "gpu_total_gib": total,
               "torch": torch.__version__, "frames": args.frames, "tiny": args.tiny,
               "segment_size": config["train"]["segment_size"], "training": [], "t4_check": []}

    def save():
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(results, indent=1))

    with tempfile.TemporaryDirectory(prefix="svc-gpu-") as tmp:
        work = Path(tmp)
        if not args.no_train:
            items = make_items(config, args.frames)
            import so_vits_svc_fork.train  # noqa: F401  (sets float32 matmul precision "high")
            results["tf32"] = {"matmul_precision": torch.get_float32_matmul_precision(),
                               "cudnn_allow_tf32": torch.backends.cudnn.allow_tf32}
            for precision in args.precisions.split(","):
                for batch in [int(b) for b in args.batches.split(",")]:
                    if args.budget_s and time.perf_counter() - began > args.budget_s:
                        print(f"budget reached: skipping {precision} batch {batch}", flush=True)
                        results["training"].append({"batch_size": batch, "precision": precision,
                                                    "ok": False, "error": "skipped (time budget)"})
                        continue
                    r = train_once(config, items, batch, precision, warmup=args.warmup,
                                   steps=args.steps, max_seconds=args.max_seconds,
                                   workers=args.workers, work=work,
                                   cudnn_benchmark=args.cudnn_benchmark)
                    r["cudnn_benchmark"] = args.cudnn_benchmark
                    print(json.dumps(r), flush=True)
                    results["training"].append(r)
                    save()
            if args.t4_gib and _cuda():
                for precision in args.precisions.split(","):
                    if args.budget_s and time.perf_counter() - began > args.budget_s:
                        break
                    best = t4_choice(results["training"], precision, args.t4_gib)
                    measured = sorted(r["batch_size"] for r in results["training"]
                                      if r["precision"] == precision and r.get("ok"))
                    bigger = [b for b in measured if best is None or b > best][:1]
                    for batch in ([best] if best else []) + bigger:
                        with memory_cap(args.t4_gib):
                            r = train_once(config, items, batch, precision, warmup=2, steps=3,
                                           max_seconds=2, workers=args.workers, work=work,
                                           cudnn_benchmark=args.cudnn_benchmark)
                        r["cap_gib"] = args.t4_gib
                        print("T4 check:", json.dumps(r), flush=True)
                        results["t4_check"].append(r)
                        save()
        if not args.no_convert:
            results["conversion"] = conversion(config, args.seconds, work, args.tiny)
            print(json.dumps(results["conversion"]), flush=True)
    results["wall_s"] = time.perf_counter() - began
    save()
    print(summary(results), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

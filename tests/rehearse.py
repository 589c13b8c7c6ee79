"""The FULL rehearsal: the lessons (01-07, 12-14) and the voice journey (08 -> 11) in FULL mode, offline, on the CPU.

``make rehearse`` runs both parts; ``--part lessons`` or ``--part voice`` runs one.

No machine of CI has a GPU, the Hub or a microphone, so FULL mode is checked like this: the same
notebooks, their FULL code paths (``VOICELAB_QUICK=0``), offline (``HF_HUB_OFFLINE=1``), on the CPU.

The lessons part: notebooks 01-07 (07 in two classes, ``07`` and ``07_part2``) and 12-14 run top
to bottom (FULL data and model sizes), with full-size stand-ins of their Hub models installed in the
caches (``hub.install_stand_in``, random weights, labelled), and only the step counts small: ``VOICELAB_REHEARSAL_STEPS`` (``--steps``: a
share of every FULL count, or at most N) cuts every count a notebook takes from ``runtime.steps``
(epochs, training steps, seconds of generated music, and 14's numbers of seeded runs: a pair of
seeds per fine-tuning condition, one run per ablation variant), and the notebooks' runtime report
says so.
Claims about what training reaches are skipped under the cap, with a printed label; their
controls are still checked. Each notebook must run to the end and say that its models are
stand-ins. Notebooks in ``CUT`` run only up to a cell (the rest is printed as left out). For every
cell over ``SLOW_S`` seconds the table at the end shows its seconds here and what FULL takes on a
Colab T4: an ESTIMATE, never measured (no T4 here), from ``benchmarks/t4_estimates.json``, each
with its basis. Each notebook's kernel CPU seconds are printed too (the wall clock depends on what
else the machine runs).

The voice part, notebooks 08-11, with

* stand-ins for the Hub's models that have the real files' names, formats, sizes and architecture
  (random weights), put where voicelab.core.hub caches the real ones
  (:func:`voicelab.voice.rehearsal.install_stand_ins`), so FULL code finds them as a cache hit;
* a "Google Drive" and a "VM disk" that are two local folders (``VOICELAB_WORKSPACE``,
  ``VOICELAB_LOCAL``);
* the student's "takes": offline speech (flite's slt, with pauses) put in the workspace's
  ``recordings`` folder, as an upload would;
* only the numbers of training steps small (papermill sets the notebooks' settings cells).

The story, checked at each step (any failed check stops the run with exit status 1):

1. 08 cuts the takes into clips in the workspace, where 09 reads them;
2. 09 prepares and trains a few steps, validating and logging every step (so-vits-svc-fork's
   FULL-only image and audio logging runs), checkpoints on "Drive";
3. the "VM disk" is wiped (a new Colab machine) and 09 runs again: it resumes from the newest
   checkpoint and does not prepare (pre-hubert) again;
4. the newest checkpoint is cut short (a disconnect while saving) and 09 runs again: it resumes from
   the older pair and says so; then ``voicelab train`` does the same from the command line (exit 0);
5. 10 refuses a run that holds only the pretrained ``G_0.pth``, then converts and scores the run;
6. 11 refuses to export with the placeholder consent, then exports with a consent statement filled in.

Executed notebooks, a log and ``times.json`` (every step, and the slow cells with their T4 estimates)
go to ``build/rehearsal/`` (``--out``). Each run
starts from an empty "Drive" and "VM disk"; the caches (stand-ins, offline speech) are kept
between runs in ``build/rehearsal/cache`` unless ``--fresh``.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
SPEAKER = "me"
#: the notebook each name stands for, exactly (07 is two classes, so a glob on "07_*" would be ambiguous)
NOTEBOOK_FILES = {"00": "00_setup", "01": "01_generative_ai", "02": "02_sound_and_spectrograms",
                  "03": "03_autoencoders", "04": "04_gans", "05": "05_diffusion", "06": "06_embeddings",
                  "07": "07_text_to_speech", "07_part2": "07_text_to_speech_part2",
                  "08": "08_voice_dataset", "09": "09_train", "10": "10_convert",
                  "11": "11_rvc_and_hugging_face", "12": "12_music_generation", "13": "13_audio_model",
                  "14": "14_image_text_video_models"}
#: in the order they run (07_part2 loads the acoustic model 07 saves)
LESSONS = ("01", "02", "03", "04", "05", "06", "07", "07_part2", "12", "13", "14")
#: the lesson assets whose full-size stand-ins the lessons part installs ("module:NAME")
LESSON_ASSETS = ("voicelab.lessons.llm:TEXT_MODEL", "voicelab.lessons.embeddings:GLOVE",
                 "voicelab.lessons.embeddings:CLAP", "voicelab.lessons.tts:SPEECHT5",
                 "voicelab.lessons.tts:SPEECHT5_VOCODER", "voicelab.lessons.tts:XVECTORS",
                 "voicelab.lessons.tts:VITS", "voicelab.lessons.tts:BARK",
                 "voicelab.lessons.music:MUSICGEN", "voicelab.lessons.music:MUSICGEN_MELODY",
                 "voicelab.devbook.models:RESNET18")
#: notebooks too heavy to rehearse whole within the budget on 2 cores, even with the steps capped:
#: run up to and including this cell; the rest is left out (printed, and in times.json)
CUT: dict[str, tuple[int, str]] = {
    # e.g. "13": (19, "why"). None now: every lesson ran whole in 13.5 min on 2 idle cores (README).
}
#: notebooks that load a Hub model and must say when it is a stand-in
USES_HUB = ("01", "06", "07_part2", "12", "14")
STEPS = "0.01"      # the default cap on step counts (--steps): 1 % of every FULL count, at least 1
SLOW_S = 10.0       # cells slower than this are listed with their T4 estimate
ESTIMATES = ROOT / "benchmarks" / "t4_estimates.json"


class RehearsalError(Exception):
    """A check of the rehearsal failed."""


def check(ok: bool, what: str) -> None:
    if not ok:
        raise RehearsalError(what)
    print(f"  ok: {what}", flush=True)


def environment(out: Path) -> dict[str, str]:
    """The FULL-offline-CPU environment of the rehearsal, with its own Drive, VM disk and caches."""
    env = {
        "VOICELAB_QUICK": "0", "HF_HUB_OFFLINE": "1", "CUDA_VISIBLE_DEVICES": "",
        "VOICELAB_WORKSPACE": str(out / "drive" / "voicelab"), "VOICELAB_LOCAL": str(out / "vm"),
        "VOICELAB_CACHE": str(out / "cache" / "voicelab"), "HF_HOME": str(out / "cache" / "hf"),
        "GRADIO_ANALYTICS_ENABLED": "False", "PYTHONHASHSEED": "0", "MPLBACKEND": "Agg",
        # the venv's programs (tensorboard, for notebook 09's %tensorboard) as on Colab
        "PATH": os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")]),
    }
    env.pop("CI", None)
    return env


class Rehearsal:
    def __init__(self, out: Path):
        self.out = out
        self.times: list[tuple[str, float, str]] = []
        self.slow: list[dict] = []
        self.left_out: list[dict] = []
        self.ws = None

    def notebook(self, name: str, label: str, expect_error: str | None = None, last_cell: int | None = None,
                 **parameters) -> str:
        """Run notebook ``name`` with papermill (up to ``last_cell`` if given); return its text output."""
        import papermill
        from papermill.exceptions import PapermillExecutionError

        source = NOTEBOOKS / f"{NOTEBOOK_FILES[name]}.ipynb"
        if last_cell is not None:                       # a copy of its first cells, run where it lives
            import nbformat

            nb = nbformat.read(source, as_version=4)
            nb.cells = nb.cells[:last_cell + 1]
            source = self.out / "cut" / source.name
            source.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(nb, source)
        executed = self.out / "notebooks" / f"{label}.ipynb"
        executed.parent.mkdir(parents=True, exist_ok=True)
        print(f"\n== {label}: {source.name} {parameters or ''}", flush=True)
        start, cpu = time.perf_counter(), _children_cpu()
        error = None
        try:
            papermill.execute_notebook(str(source), str(executed), parameters=parameters,
                                       cwd=str(NOTEBOOKS), kernel_name="python3",
                                       progress_bar=False, log_output=False,
                                       execution_timeout=1800)
        except PapermillExecutionError as e:
            error = e
        wall = time.perf_counter() - start
        cpu = _children_cpu() - cpu              # the kernel's CPU seconds, all its threads
        text = _outputs(executed)
        if expect_error is None:
            if error is not None:
                raise RehearsalError(f"{label} failed at cell {error.exec_count}: {error.ename}: "
                                     f"{error.evalue} (see {executed})")
            outcome = "ran to the end"
        else:
            if error is None:
                raise RehearsalError(f"{label} ran to the end, but it should have stopped ({expect_error})")
            message = f"{error.ename}: {error.evalue}"
            check(expect_error in message, f"{label} stopped with {message[:160]!r}")
            text += "\n" + message
            outcome = f"stopped as it should ({error.ename})"
        self.times.append((label, wall, f"{outcome}; kernel CPU {cpu:.0f} s"))
        print(f"   {label}: {wall:.0f} s (kernel CPU {cpu:.0f} s), {outcome}", flush=True)
        self.slow += slow_cells(executed, label)
        return text

    # ---------------------------------------------------------------- the lessons

    def lessons(self, steps: str, names=LESSONS) -> None:
        """Notebooks 01-07 and 12-14: FULL code paths, full-size stand-ins, step counts capped."""
        import importlib

        from voicelab.core import hub

        print(f"== lessons: FULL mode, step counts capped at {steps}; full-size stand-ins "
              "(real names, formats and architectures; random weights)", flush=True)
        start = time.perf_counter()
        for spec in LESSON_ASSETS:
            module, name = spec.split(":")
            asset = getattr(importlib.import_module(module), name)
            if asset.full_stand_in is None and asset.stand_in is None:
                print(f"  NOT INSTALLED: {asset.name} has no stand-in; its notebook must cope offline",
                      flush=True)
                continue
            kind = "full-size" if asset.full_stand_in is not None else "TINY (no full_stand_in yet)"
            t0 = time.perf_counter()
            path = hub.install_stand_in(asset)
            check(hub.is_stand_in(path), f"{asset.name}: {kind} stand-in installed and labelled "
                                         f"({time.perf_counter() - t0:.0f} s)")
        self.times.append(("lesson stand-ins", time.perf_counter() - start, f"{len(LESSON_ASSETS)} assets"))
        # FULL resumes a training run it finds (13's); each rehearsal trains from the start
        shutil.rmtree(Path(os.environ["VOICELAB_CACHE"]) / "runs" / "13_audio", ignore_errors=True)
        os.environ["VOICELAB_REHEARSAL_STEPS"] = str(steps)
        try:
            for name in names:
                last, why = CUT.get(name, (None, ""))
                if last is not None:
                    print(f"   LEFT OUT: {name}'s cells after cell {last} ({why})", flush=True)
                    self.left_out.append({"notebook": name, "after_cell": last, "why": why})
                text = self.notebook(name, name, last_cell=last)
                check("REHEARSAL: FULL code paths with step counts capped at" in text,
                      f"{name}'s runtime report says the step counts are capped")
                if name in USES_HUB:
                    check("stand-in" in text.lower(), f"{name} says its models are stand-ins")
        finally:
            del os.environ["VOICELAB_REHEARSAL_STEPS"]

    # ---------------------------------------------------------------- the story

    def takes(self) -> None:
        """The student's takes: offline speech, two long recordings with pauses, as uploads."""
        import numpy as np

        from voicelab import audio
        from voicelab.data import speech
        from voicelab.voice import workspace

        self.ws = workspace.open_workspace(SPEAKER)
        folder = speech.make_speech(["slt"]) / "slt"
        clips = sorted(folder.glob("slt_*.wav"))
        rng = np.random.default_rng(0)
        # 18 sentences in three takes: about 6 clips, so 2 train clips and one step per epoch
        # (so-vits-svc-fork trains whole epochs and names checkpoints by epoch)
        for n, half in enumerate((clips[:6], clips[6:12], clips[12:18]), start=1):
            parts = []
            for p in half:
                y, sr = audio.load(p, sr=44100)
                parts += [y, np.zeros(int(rng.uniform(0.5, 1.0) * sr), np.float32)]
            audio.save(self.ws.next_take(), 0.5 * np.concatenate(parts), 44100)
        check(len(self.ws.takes()) == 3, f"three takes in {self.ws.recordings}")

    def features(self) -> dict[str, int]:
        from voicelab.voice import svc

        data = svc.run_layout(self.ws.run_dir).data
        return {p.name: p.stat().st_mtime_ns for p in data.rglob("*.data.pt")}

    def checkpoints(self) -> list[str]:
        from voicelab.voice import svc

        model = svc.run_layout(self.ws.run_dir).model
        return [p.name for p in svc.checkpoints(model, "G")]

    def voice(self) -> None:
        from voicelab.core import hub
        from voicelab.voice import rehearsal, svc

        print("== stand-ins in the caches (real names, formats and sizes; random weights)", flush=True)
        start = time.perf_counter()
        placed = rehearsal.install_stand_ins()
        self.times.append(("stand-ins", time.perf_counter() - start, f"{len(placed)} assets"))
        for name, path in placed.items():
            check(hub.is_stand_in(path), f"{name} is labelled a stand-in ({path.name})")

        self.takes()
        self.notebook("08", "08")
        clips = sorted(self.ws.clips.glob("*.wav"))
        check(len(clips) >= 5, f"08 left {len(clips)} clips in {self.ws.clips}, where 09 reads them")
        check(self.ws.report.is_file(), "08 wrote its report into the workspace")
        check(len(self.ws.takes()) == 3, "08 left the takes alone")

        # the first run validates and logs every step (FULL-only code paths); the later ones only
        # need to resume, and save their checkpoints when they stop
        train = dict(LOG_INTERVAL=1, EXTRA_STEPS=1, MINUTES=None)
        text = self.notebook("09", "09-first", STEPS=2, EVAL_INTERVAL=1, **train)
        first = self.checkpoints()
        check(first and first[-1] != "G_0.pth", f"09 saved checkpoints on Drive: {first}")
        events = list((svc.run_layout(self.ws.run_dir).model / "lightning_logs").rglob("events.*"))
        check(bool(events) and _has_images(events), "validation logged spectrogram images (np.fromstring path)")
        features = self.features()
        check(bool(features), f"{len(features)} feature files in the run folder")

        shutil.rmtree(os.environ["VOICELAB_LOCAL"], ignore_errors=True)   # a new Colab machine
        text = self.notebook("09", "09-new-machine", STEPS=4, EVAL_INTERVAL=1000, **train)
        check(f"resumed from {first[-1]}" in text, f"after the VM-disk wipe, 09 resumed from {first[-1]}")
        check(self.features() == features, "and did not run pre-hubert again (features untouched)")
        second = self.checkpoints()
        check(second[-1] != first[-1], f"and trained on: {second}")

        newest = svc.run_layout(self.ws.run_dir).model / second[-1]
        with open(newest, "r+b") as f:                                      # a save cut short
            f.truncate(newest.stat().st_size // 2)
        text = self.notebook("09", "09-damaged-checkpoint", STEPS=6, EVAL_INTERVAL=1000, **train)
        older = second[-2]
        check(f"resumed from {older}" in text, f"with {newest.name} cut short, 09 resumed from {older}")
        check("could not be read" in text and "set-aside" in text,
              "and said that it set the damaged pair aside")

        third = self.checkpoints()
        newest = svc.run_layout(self.ws.run_dir).model / third[-1]
        with open(newest, "r+b") as f:
            f.truncate(newest.stat().st_size // 2)
        start = time.perf_counter()
        cli = subprocess.run([str(Path(sys.executable).parent / "voicelab"), "train", str(self.ws.dataset_raw),
                              "--speaker", SPEAKER, "--out", str(self.ws.run_dir), "--steps", "8"],
                             capture_output=True, text=True)
        self.times.append(("voicelab train (CLI)", time.perf_counter() - start, f"exit {cli.returncode}"))
        print(cli.stdout[-600:], cli.stderr[-600:])
        check(cli.returncode == 0, f"voicelab train after a cut-short {newest.name} exited {cli.returncode}")

        base = self.ws.root / "runs" / "base" / "logs" / "44k"          # training never saved
        base.mkdir(parents=True)
        model = svc.run_layout(self.ws.run_dir).model
        for name in ("G_0.pth", "D_0.pth", "config.json"):
            shutil.copy2(model / name, base / name)
        self.notebook("10", "10-untrained", expect_error="holds only G_0.pth", SPEAKER="base", LAUNCH_APP=False)
        self.notebook("10", "10")

        self.notebook("11", "11-placeholder-consent", expect_error="Not exported")
        check(not self.ws.exports.exists() or not any(self.ws.exports.rglob("*.safetensors")),
              "11 exported nothing with the placeholder consent")
        consent = ("Rehearsal: the voice is flite's synthetic 'slt' (CMU ARCTIC, free licence); "
                   "exported only to test the export, never to be published.")
        self.notebook("11", "11", CONSENT=consent, CONSENT_CONFIRMED=True)
        check(any(self.ws.exports.rglob("model.safetensors")), "11 exported into the workspace")


def _has_images(events) -> bool:
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    for path in events:
        acc = EventAccumulator(str(path), size_guidance={"images": 0})
        acc.Reload()
        if acc.Tags().get("images"):
            return True
    return False


def _children_cpu() -> float:
    """CPU seconds (user + system) of this process's finished children: papermill's kernels."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def slow_cells(path: Path, label: str) -> list[dict]:
    """The cells of an executed notebook that took over SLOW_S s (papermill's cell metadata)."""
    if not path.is_file():
        return []
    nb = json.loads(path.read_text())
    slow = []
    for index, cell in enumerate(nb["cells"]):
        seconds = (cell.get("metadata", {}).get("papermill") or {}).get("duration")
        if cell["cell_type"] == "code" and seconds is not None and seconds > SLOW_S:
            source = "".join(cell["source"]).strip()
            first = next((line for line in source.splitlines() if not line.startswith("#")),
                         source.splitlines()[0] if source else "")
            slow.append({"notebook": label, "cell": index, "first_line": first[:70], "source": source,
                         "rehearsal_s": round(seconds, 1)})
    return slow


def t4_estimate(cell: dict, estimates: dict, steps: str) -> dict:
    """FULL on a Colab T4 for a slow cell, ESTIMATED from this run's seconds on the CPU (no T4 here).

    ``estimates`` (benchmarks/t4_estimates.json) gives, per cell (the first entry whose ``match``
    is in its source), whether its time is in step counts the rehearsal cut (``scaled``: then FULL on this CPU is
    the seconds here times FULL count / capped count, an upper bound as the cell's fixed work is scaled
    too; ``full`` is the FULL count), the assumed T4/CPU speed ratio (``t4_speedup``) and the reason for it (``basis``).
    """
    entry = next((e for e in estimates.get(cell["notebook"], [])
                  if e["match"] in cell.get("source", cell["first_line"])), None)
    if entry is None:
        return {"t4_s": None, "basis": f"no entry in {ESTIMATES.relative_to(ROOT)} for this cell"}
    if "t4_s" in entry:
        return {"t4_s": entry["t4_s"], "basis": "a fixed estimate: " + entry["basis"]}
    scale = 1.0
    if entry["scaled"]:                  # the count runtime.steps gave under this cap
        full, cap = entry["full"], float(steps)
        scale = full / (min(full, cap) if cap >= 1 else max(1, round(full * cap)))
    return {"t4_s": round(cell["rehearsal_s"] * scale / entry["t4_speedup"]),
            "basis": ("FULL on this CPU = rehearsal s x " + (f"{scale:.0f} (FULL count / capped count)" if entry["scaled"]
                      else "1 (not capped)") + f", / {entry['t4_speedup']} (assumed T4/CPU ratio): "
                      + entry["basis"])}


def _outputs(path: Path) -> str:
    """Every text output of an executed notebook (streams, results, errors), joined."""
    if not path.is_file():
        return ""
    nb = json.loads(path.read_text())
    parts = []
    for cell in nb["cells"]:
        for o in cell.get("outputs", []):
            if "text" in o:
                parts.append("".join(o["text"]))
            parts.append("".join(o.get("data", {}).get("text/plain", "")))
            if o.get("output_type") == "error":
                parts.append(f"{o['ename']}: {o['evalue']}")
    return "\n".join(parts)


def _duration(seconds: float) -> str:
    return f"{seconds:.0f} s" if seconds < 120 else f"{seconds / 60:.0f} min"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--out", default=str(ROOT / "build" / "rehearsal"), help="work folder")
    parser.add_argument("--fresh", action="store_true", help="also rebuild the caches (stand-ins)")
    parser.add_argument("--part", choices=("lessons", "voice", "both"), default="both",
                        help="the lessons (01-07, 12-14), the voice journey (08-11), or both")
    parser.add_argument("--notebooks", nargs="+", default=LESSONS, choices=LESSONS, metavar="NN",
                        help="the lesson notebooks to run (default: all of " + " ".join(LESSONS) + ")")
    parser.add_argument("--steps", default=STEPS,
                        help="the lessons' cap on step counts (VOICELAB_REHEARSAL_STEPS): a whole "
                             "number N (at most N) or a fraction of each FULL count")
    args = parser.parse_args(argv)
    out = Path(args.out).absolute()
    for folder in ("drive", "vm", "notebooks") + (("cache",) if args.fresh else ()):
        shutil.rmtree(out / folder, ignore_errors=True)
    out.mkdir(parents=True, exist_ok=True)
    os.environ.update(environment(out))
    os.environ.pop("CI", None)          # CI=... would force QUICK mode
    rehearsal = Rehearsal(out)
    start = time.perf_counter()
    status = 0
    try:
        if args.part in ("lessons", "both"):
            rehearsal.lessons(args.steps, args.notebooks)
        if args.part in ("voice", "both"):
            rehearsal.voice()
    except RehearsalError as e:
        print(f"\nREHEARSAL FAILED: {e}", flush=True)
        status = 1
    total = time.perf_counter() - start
    # %tensorboard (notebook 09) leaves its server running, as on Colab; stop the rehearsal's
    subprocess.run(["pkill", "-f", f"tensorboard.*{out}"], check=False)
    print(f"\n{'step':28s} {'seconds':>8s}  outcome")
    for label, wall, outcome in rehearsal.times:
        print(f"{label:28s} {wall:8.0f}  {outcome}")
    print(f"{'total':28s} {total:8.0f}  {'PASSED' if status == 0 else 'FAILED'}")
    estimates = json.loads(ESTIMATES.read_text())["notebooks"]
    slow = [{**{k: v for k, v in cell.items() if k != "source"}, **t4_estimate(cell, estimates, args.steps)}
            for cell in rehearsal.slow]
    if slow:
        print(f"\ncells over {SLOW_S:.0f} s: seconds here (wall clock on this CPU, step counts capped in the "
              "lessons) and FULL on a Colab T4 (ESTIMATED, not measured: basis in times.json and "
              f"{ESTIMATES.relative_to(ROOT)})")
        print(f"{'notebook':24s} {'cell':>4s} {'here s':>7s} {'T4 est.':>9s}  first line")
        for c in slow:
            t4 = "?" if c["t4_s"] is None else f"~{_duration(c['t4_s'])}"
            print(f"{c['notebook']:24s} {c['cell']:4d} {c['rehearsal_s']:7.0f} {t4:>9s}  {c['first_line']}")
    for cut in rehearsal.left_out:
        print(f"left out: {cut['notebook']}'s cells after cell {cut['after_cell']} ({cut['why']})")
    (out / "times.json").write_text(json.dumps(
        {"total_s": round(total, 1), "passed": status == 0, "part": args.part,
         "steps_cap": args.steps if args.part != "voice" else None,
         "steps": [{"step": s, "seconds": round(w, 1), "outcome": o} for s, w, o in rehearsal.times],
         "slow_cells": slow, "left_out": rehearsal.left_out}, indent=1) + "\n")
    return status


if __name__ == "__main__":
    sys.exit(main())

"""The ``voicelab`` command line. Introduced in notebook 10 (its verbs are the pipeline's steps).

    voicelab info                                  mode, device and versions
    voicelab assets [--json]                       what the course can download, with licences
    voicelab speech [--out DIR]                    the offline example speech (QUICK-mode data)
    voicelab prep INPUT... --speaker NAME --out DIR    recordings -> a data set and its report
    voicelab train DIR --speaker NAME --out RUN    train so-vits-svc on it (resumes)
    voicelab convert INPUT --model RUN --out OUT   speech in, the trained voice out
    voicelab score OUT --target REF...             the score card, as JSON
    voicelab app RUN                               the Gradio app

This is the only module that parses arguments or prints: every verb is ``add_<verb>_arguments``
and ``run_<verb>`` here, calling library functions that return values and raise
:class:`~voicelab.core.errors.VoicelabError`. A verb's library module is imported only when that
verb runs, so ``voicelab info`` stays fast.
"""
from __future__ import annotations

import argparse
import json
import sys
import warnings
from pathlib import Path

#: verb -> one-line help. Each verb has add_<verb>_arguments and run_<verb> below.
VERBS: dict[str, str] = {
    "info": "print mode, device and versions",
    "assets": "list every model and data file the course can download, with sizes and licences",
    "speech": "make the offline example speech",
    "prep": "turn recordings into a so-vits-svc data set with a report",
    "train": "train a so-vits-svc model on a prepared data set",
    "convert": "convert audio into a trained voice",
    "score": "score a conversion (speaker similarity, F0, MCD, MOS, CER)",
    "app": "start the Gradio conversion app for a trained model",
}


def add_info_arguments(parser: argparse.ArgumentParser) -> None:
    """``voicelab info`` takes no arguments."""


def run_info(args: argparse.Namespace) -> int:
    """Print the runtime report."""
    from .core import runtime

    print(runtime.report(seed=None))
    return 0


def add_assets_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab assets``."""
    parser.add_argument("--json", action="store_true", help="the manifest as JSON")


def run_assets(args: argparse.Namespace) -> int:
    """Print the manifest: one line per asset (or JSON with every file)."""
    import dataclasses

    from .core import manifest

    entries = list(manifest.MANIFEST.values())
    if args.json:
        print(json.dumps([dataclasses.asdict(e) for e in entries], indent=1))
        return 0
    for line in manifest.table(entries):
        print(line)
    return 0


def add_speech_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab speech``."""
    parser.add_argument("--out", default=None, help="output folder (default: the voicelab cache)")
    parser.add_argument("--speakers", nargs="+", default=None,
                        help="speaker names (default: slt rms awb kal)")
    parser.add_argument("-n", "--sentences", type=int, default=None,
                        help="how many sentences per speaker")


def run_speech(args: argparse.Namespace) -> int:
    """Make the offline speech and say where it is."""
    from .data import speech

    speakers = args.speakers or speech.SPEAKERS
    out = speech.make_speech(speakers, n_sentences=args.sentences, out_dir=args.out)
    count = sum(len(list((out / spk).glob("*.wav"))) for spk in speakers)
    print(f"{count} clips from {len(speakers)} speakers in {out}")
    return 0


def add_prep_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab prep``."""
    parser.add_argument("inputs", nargs="+", metavar="INPUT", help="audio files or folders")
    parser.add_argument("--speaker", required=True, help="speaker name (the folder name)")
    parser.add_argument("--out", required=True, help="data set folder (so-vits-svc's dataset_raw)")
    from .voice.separate import BACKENDS as backends
    parser.add_argument("--separate", default=None, metavar="BACKEND", choices=backends,
                        help=f"separate the voice first: {', '.join(backends)}")
    parser.add_argument("--min-seconds", type=float, default=3.0, help="shortest clip (s)")
    parser.add_argument("--max-seconds", type=float, default=15.0, help="longest clip (s)")
    parser.add_argument("--lufs", type=float, default=-23.0, help="loudness of each clip (LUFS)")
    parser.add_argument("--sr", type=int, default=44100, help="sample rate (Hz)")


def run_prep(args: argparse.Namespace) -> int:
    """Run prep, print the report table; 0 if trainable, 1 if written but too small to train."""
    from .voice.dataset import prepare_dataset

    report = prepare_dataset(args.inputs, args.speaker, args.out, separate=args.separate,
                             min_seconds=args.min_seconds, max_seconds=args.max_seconds,
                             target_lufs=args.lufs, sr=args.sr, progress=True)
    out = Path(args.out)
    print(report.table())
    print(f"\nwrote {report.clips} clips to {out / args.speaker} and the report to "
          f"{out / (args.speaker + '.report.json')}")
    return 0 if report.rule("trainable")["met"] else 1


def _f0_methods() -> tuple[str, ...]:
    from .voice.svc import F0_METHODS

    return F0_METHODS


def add_train_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab train DIR --speaker NAME --out RUN``."""
    parser.add_argument("dataset", help="data set folder holding DIR/NAME/*.wav (from voicelab prep)")
    parser.add_argument("--speaker", required=True, help="speaker folder name inside DIR")
    parser.add_argument("--out", required=True, help="run folder (checkpoints, logs, config)")
    parser.add_argument("--steps", type=int, default=None,
                        help="total training steps (default: 12 in QUICK mode; in FULL, "
                             "as many as --minutes allows)")
    parser.add_argument("--minutes", type=float, default=None,
                        help="time budget of this run in minutes, turned into steps from the "
                             "measured speed (default in FULL: 80, one Colab session)")
    parser.add_argument("--precision", choices=("32", "16-mixed", "bf16-mixed"), default=None,
                        help="default: bf16-mixed on recent GPUs, 16-mixed on a T4/V100, 32 on CPU")
    parser.add_argument("--scratch", default=None, metavar="DIR",
                        help="fast local folder to read the features from (Colab: the VM "
                             "disk when --out is on Google Drive)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="default: chosen from the GPU's memory")
    parser.add_argument("--keep", type=int, default=2, help="newest checkpoints to keep")
    parser.add_argument("--f0-method", choices=_f0_methods(), default="dio")
    parser.add_argument("--no-resume", action="store_true",
                        help="refuse to continue an existing run instead of resuming it")


def run_train(args: argparse.Namespace) -> int:
    """Train and print where the model is (a checkpoint set aside, a smaller batch: one line each)."""
    from .voice.svc import CheckpointWarning, TrainWarning, train

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", CheckpointWarning)   # said below, in one line
        shown = warnings.showwarning

        def one_line(message, category, *rest, **kwargs):
            if issubclass(category, TrainWarning):           # said when it happens, in one line
                print(f"voicelab: {message}", file=sys.stderr)
            else:
                shown(message, category, *rest, **kwargs)

        warnings.showwarning = one_line
        result = train(args.dataset, args.out, speaker=args.speaker, steps=args.steps,
                       minutes=args.minutes, resume=not args.no_resume,
                       batch_size=args.batch_size, keep=args.keep, f0_method=args.f0_method,
                       precision=args.precision, scratch=args.scratch)
    if result.set_aside:
        start = result.resumed_from.name if result.resumed_from else "the start"
        print(f"voicelab: {', '.join(p.name for p in result.set_aside)} could not be read (cut "
              f"short?): moved to {result.set_aside[0].parent}; resumed from {start}.", file=sys.stderr)
    print(json.dumps({"run_dir": str(result.run_dir), "model": str(result.model_path),
                      "config": str(result.config_path), "steps": result.steps,
                      "epochs": result.epochs, "batch_size": result.batch_size,
                      "seconds": round(result.seconds, 1), "minutes": result.minutes,
                      "steps_per_second": result.steps_per_second, "precision": result.precision,
                      "scratch": str(result.scratch) if result.scratch else None,
                      "set_aside": [str(p) for p in result.set_aside]}, indent=1))
    return 0


def add_convert_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab convert INPUT --model RUN --out OUT.wav``."""
    parser.add_argument("input", help="audio file to convert")
    parser.add_argument("--model", required=True,
                        help="run folder, or a folder with config.json and G_*.pth")
    parser.add_argument("--speaker", default=None, help="default: the model's first speaker")
    parser.add_argument("--out", required=True, help="output audio file (.wav, .flac, .ogg)")
    parser.add_argument("--transpose", type=int, default=0, help="pitch shift in semitones")
    parser.add_argument("--f0-method", choices=_f0_methods(), default="dio")


def run_convert(args: argparse.Namespace) -> int:
    """Convert one file and say where the result is."""
    from .voice.svc import convert

    y, sr = convert(args.input, args.model, speaker=args.speaker, transpose=args.transpose,
                    f0_method=args.f0_method, out=args.out)
    print(f"wrote {args.out} ({len(y) / sr:.2f} s at {sr} Hz)")
    return 0


def add_score_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab score``."""
    parser.add_argument("converted", help="the converted audio file")
    parser.add_argument("--target", nargs="+", required=True, metavar="REF",
                        help="one or more recordings of the target speaker")
    parser.add_argument("--source", default=None, help="the recording that was converted")
    parser.add_argument("--reference", default=None,
                        help="the target speaker saying the same words (enables MCD)")
    parser.add_argument("--transpose", type=float, default=0.0, metavar="SEMITONES",
                        help="the pitch shift the conversion was asked for (F0 against the source)")
    parser.add_argument("--text", default=None,
                        help="the words of the source, for CER (default: SOURCE.txt beside the "
                             "source if there is one, else the words heard in the source)")
    parser.add_argument("--no-mos", action="store_true", help="skip the MOS predictor")


def run_score(args: argparse.Namespace) -> int:
    """Print the score card as JSON (null where not computable), with its reference rows."""
    from .voice.metrics import score

    card = score(args.converted, target_refs=list(args.target), source=args.source,
                 reference=args.reference, with_mos=not args.no_mos, transpose=args.transpose,
                 text=args.text)
    print(json.dumps({**card.to_dict(), "reference_rows": card.reference_rows(),
                      "recogniser": card.recogniser, "words": card.heard, "notes": card.notes},
                     indent=2))
    return 0


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab app RUN``."""
    parser.add_argument("model", help="run folder, a folder with config.json and G_*.pth (or "
                        "model.safetensors, as exported), or an RVC model (.pth or its folder)")
    parser.add_argument("--speaker", default=None, help="default: the model's first speaker")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    parser.add_argument("--no-mos", action="store_true", help="skip the MOS predictor (faster)")
    parser.add_argument("--index", default=None,
                        help="retrieval index for a so-vits-svc model (index.safetensors or an "
                             ".index file): adds an index-ratio slider")


def run_app(args: argparse.Namespace) -> int:
    """Build the app and serve it until interrupted."""
    from .voice.app import build_app

    demo = build_app(args.model, speaker=args.speaker, with_mos=not args.no_mos, index=args.index)
    demo.launch(server_port=args.port, share=args.share, inline=False)
    return 0


def _verb_functions(verb: str):
    return globals()[f"add_{verb}_arguments"], globals()[f"run_{verb}"]


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``voicelab`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="voicelab", description="voicelab course tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")
    chosen = next((a for a in argv if a in VERBS), None)
    for verb, help_text in VERBS.items():
        verb_parser = sub.add_parser(verb, help=help_text)
        if verb == chosen:  # import only the module of the verb in use
            _verb_functions(verb)[0](verb_parser)
    args = parser.parse_args(argv)

    from .core.errors import VoicelabError

    try:
        return int(_verb_functions(args.command)[1](args) or 0)
    except VoicelabError as err:   # anything else is a bug: let its traceback show
        print(f"voicelab: error: {err}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

"""The ``voicelab`` command line. Introduced in notebook 10 (its verbs are the pipeline's steps).

    voicelab info                 mode, device and versions (what notebooks print at the top)
    voicelab speech [--out DIR]   make the offline example speech (QUICK-mode data)

Other verbs live next to the code they drive: a module listed in :data:`VERBS` provides
``add_<verb>_arguments(parser)`` and ``run_<verb>(args) -> int``; it is imported only when
its verb is used, so ``voicelab info`` stays fast.
"""
from __future__ import annotations

import argparse
import importlib
import sys

#: verb -> (module, one-line help). Each module defines add_<verb>_arguments and run_<verb>.
VERBS: dict[str, tuple[str, str]] = {
    "info": ("voicelab.cli", "print mode, device and versions"),
    "speech": ("voicelab.cli", "make the offline example speech"),
    "prep": ("voicelab.voice.dataset", "turn recordings into a so-vits-svc data set with a report"),
    "train": ("voicelab.voice.svc", "train a so-vits-svc model on a prepared data set"),
    "convert": ("voicelab.voice.svc", "convert audio into a trained voice"),
    "score": ("voicelab.voice.metrics", "score a conversion (speaker similarity, F0, MCD, MOS)"),
    "app": ("voicelab.voice.app", "start the Gradio conversion app for a trained model"),
}


def add_info_arguments(parser: argparse.ArgumentParser) -> None:
    """``voicelab info`` takes no arguments."""


def run_info(args: argparse.Namespace) -> int:
    """Print the runtime report."""
    from .core import runtime

    print(runtime.report(seed=None))
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


def _verb_functions(verb: str):
    module = importlib.import_module(VERBS[verb][0])
    return getattr(module, f"add_{verb}_arguments"), getattr(module, f"run_{verb}")


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``voicelab`` command; returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    parser = argparse.ArgumentParser(prog="voicelab", description="voicelab course tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="VERB")
    chosen = next((a for a in argv if a in VERBS), None)
    for verb, (_, help_text) in VERBS.items():
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

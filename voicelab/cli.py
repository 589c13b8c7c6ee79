"""The ``voicelab`` command line. Introduced in notebook 00.

    voicelab info                 mode, device and versions (what notebooks print at the top)
    voicelab speech [--out DIR]   make the offline example speech (QUICK-mode data)
"""
from __future__ import annotations

import argparse
import sys


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``voicelab`` command; returns the exit status."""
    parser = argparse.ArgumentParser(prog="voicelab", description="voicelab course tools")
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("info", help="print mode, device and versions")
    sp = sub.add_parser("speech", help="make the offline example speech")
    sp.add_argument("--out", default=None, help="output folder (default: the voicelab cache)")
    sp.add_argument("--speakers", nargs="+", default=None, help="speaker names (default: slt rms awb kal)")
    sp.add_argument("-n", "--sentences", type=int, default=None, help="how many sentences per speaker")
    args = parser.parse_args(argv)

    from .errors import VoicelabError

    try:
        if args.command == "info":
            from . import runtime

            print(runtime.report(seed=None))
        elif args.command == "speech":
            from . import data

            speakers = args.speakers or data.SPEAKERS
            out = data.make_speech(speakers, n_sentences=args.sentences, out_dir=args.out)
            count = sum(len(list((out / spk).glob("*.wav"))) for spk in speakers)
            print(f"{count} clips from {len(speakers)} speakers in {out}")
    except (VoicelabError, KeyError) as err:
        print(f"voicelab: error: {err}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())

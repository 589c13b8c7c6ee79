"""A Gradio app: convert uploaded or recorded speech into a voice and show its score card.

Introduced in notebook 10 (a demo of the model you trained) and shared in notebook 11.
:func:`build_app` builds it around one so-vits-svc model (a run folder from notebook 09,
or a folder with ``config.json`` + ``G_*.pth`` such as :func:`voicelab.svc.hub_model`
returns); :func:`launch` opens it inline in a notebook, with a public share link on Colab;
``voicelab app RUN`` starts it from a terminal.
"""
from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from . import runtime

__all__ = ["reference_clips", "convert_and_score", "build_app", "launch",
           "add_app_arguments", "run_app"]

SCORE_HEADERS = ["metric", "converted", "source", "how it was computed"]


def reference_clips(model, speaker: str | None = None, n: int = 5) -> list[Path]:
    """Up to ``n`` training clips of ``speaker`` from a run folder (``dataset_raw/{spk}``).

    Introduced in notebook 10. They are the "target" of the score card's speaker
    similarity. A model folder from the Hub has none: the result is then ``[]``.
    """
    raw = Path(model) / "dataset_raw"
    if not raw.is_dir():
        return []
    folders = [raw / speaker] if speaker else sorted(p for p in raw.iterdir() if p.is_dir())
    clips = [p for f in folders if f.is_dir() for p in sorted(f.glob("*.wav"))]
    return clips[:n]


def convert_and_score(source, model, *, speaker: str | None = None, transpose: int = 0,
                      f0_method: str = "dio", target_refs=None, out=None,
                      with_mos: bool = True):
    """Convert ``source`` (an audio file) with ``model`` and score the result.

    Introduced in notebook 10. Returns ``(out_path, card)``: the converted WAV (44.1 kHz,
    written atomically to ``out``, default a new temporary file) and its
    :class:`voicelab.metrics.ScoreCard` against ``target_refs`` (default: the run's own
    training clips, :func:`reference_clips`) and the source. A result that cannot be scored
    (e.g. no speech left in it, as from an untrained model) gets an empty card whose note
    says why, instead of an error: the audio is still worth hearing.
    """
    from . import metrics, svc
    from .errors import VoicelabError

    if out is None:
        out = Path(tempfile.mkdtemp(prefix="voicelab-app-")) / "converted.wav"
    y, sr = svc.convert(source, model, speaker=speaker, transpose=transpose,
                        f0_method=f0_method, out=out)
    refs = target_refs if target_refs is not None else reference_clips(model, speaker) or None
    try:
        card = metrics.score((y, sr), target_refs=refs, source=source, with_mos=with_mos,
                             transpose=transpose)
    except VoicelabError as err:
        card = metrics.ScoreCard(notes=[f"not scored: {err}"])
    return Path(out), card


def build_app(model, *, speaker: str | None = None, target_refs=None, title: str | None = None,
              with_mos: bool = True):
    """A ``gradio.Blocks`` app that converts with ``model`` and shows the score card.

    Introduced in notebook 10. Inputs: an uploaded or recorded clip, a pitch shift in
    semitones and the F0 method; outputs: the converted audio and the score table. Bad input
    (no clip, a file that is not audio) is shown as an error message in the app.
    """
    import os

    if runtime.is_offline():   # no usage statistics sent from offline runs (they would only time out)
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from . import svc
    from .errors import VoicelabError

    ckpt, config = svc.find_model(model)   # fail now, not at the first click
    work = Path(tempfile.mkdtemp(prefix="voicelab-app-"))
    counter = iter(range(10**9))

    def run(path, transpose, f0_method):
        if not path:
            raise gr.Error("No audio yet: upload a file or record a clip first.")
        try:
            out, card = convert_and_score(path, model, speaker=speaker, transpose=int(transpose),
                                          f0_method=f0_method, target_refs=target_refs,
                                          out=work / f"converted_{next(counter):04d}.wav",
                                          with_mos=with_mos)
        except (VoicelabError, ValueError, KeyError, FileNotFoundError) as err:
            raise gr.Error(str(err)) from err
        return str(out), [list(r) for r in card.rows(digits=2)] + [["note", "", "", n] for n in card.notes]

    heading = title or f"voicelab: convert into {model if isinstance(model, str) else Path(model).name}"
    with gr.Blocks(title="voicelab") as demo:
        gr.Markdown(f"## {heading}\n\nModel `{ckpt.name}` ({runtime.detect().mode} mode). "
                    "Upload or record speech, choose a pitch shift, press **Convert**.")
        with gr.Row():
            source = gr.Audio(sources=["upload", "microphone"], type="filepath", label="source",
                              elem_id="source")
            result = gr.Audio(type="filepath", label="converted", elem_id="converted")
        with gr.Row():
            transpose = gr.Slider(-12, 12, value=0, step=1, label="pitch shift (semitones)")
            f0_method = gr.Dropdown(list(svc.F0_METHODS), value="dio", label="F0 method")
        button = gr.Button("Convert", variant="primary", elem_id="convert")
        scores = gr.Dataframe(headers=SCORE_HEADERS, label="score card", elem_id="scores",
                              interactive=False)
        button.click(run, inputs=[source, transpose, f0_method], outputs=[result, scores],
                     api_name="convert")
    demo.voicelab_workdir = work
    demo.unload(lambda: shutil.rmtree(work, ignore_errors=True))
    return demo


def launch(demo, *, share: bool | None = None, inline: bool | None = None, **kwargs):
    """Start ``demo``: inline in a notebook, with a public ``*.gradio.live`` link on Colab.

    Introduced in notebook 10. ``share`` defaults to :func:`voicelab.runtime.is_colab`
    (Colab's own localhost is not reachable from your browser otherwise).
    """
    share = runtime.is_colab() if share is None else share
    return demo.launch(share=share, inline=inline, **kwargs)


def add_app_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``voicelab app RUN``."""
    parser.add_argument("model", help="run folder, or a folder with config.json and G_*.pth")
    parser.add_argument("--speaker", default=None, help="default: the model's first speaker")
    parser.add_argument("--port", type=int, default=7860)
    parser.add_argument("--share", action="store_true", help="also make a public gradio.live link")
    parser.add_argument("--no-mos", action="store_true", help="skip the MOS predictor (faster)")


def run_app(args: argparse.Namespace) -> int:
    """Build the app and serve it until interrupted."""
    demo = build_app(args.model, speaker=args.speaker, with_mos=not args.no_mos)
    demo.launch(server_port=args.port, share=args.share, inline=False)
    return 0

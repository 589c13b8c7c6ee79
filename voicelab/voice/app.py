"""A Gradio app: convert uploaded or recorded speech into a voice and show its score card.

Introduced in notebook 10 (a demo of the model you trained) and shared in notebook 11.
:func:`build_app` builds it around one model: a so-vits-svc run folder from notebook 09, a
folder with ``config.json`` + ``G_*.pth`` such as :func:`voicelab.voice.svc.hub_model` returns, a
folder exported by :func:`voicelab.voice.share.export_space`, or an RVC model
(:func:`voicelab.voice.rvc.hub_model`). With a retrieval index it also gets an index-ratio
slider. :func:`launch` opens it inline in a notebook, with a public share link on Colab;
``voicelab app RUN`` starts it from a terminal. Every converted file is labelled as
synthetic in its metadata (:func:`voicelab.voice.disclosure.mark_synthetic`).
"""
from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from ..core import runtime

__all__ = ["reference_clips", "convert_and_score", "build_app", "launch"]

SCORE_HEADERS = ["metric", "converted", "source", "target vs target", "how it was computed"]


def reference_clips(model, speaker: str | None = None, n: int = 5) -> list[Path]:
    """Up to ``n`` training clips of ``speaker`` from a run folder (``dataset_raw/{spk}``).

    Introduced in notebook 10. They are the "target" of the score card's speaker
    similarity. An exported folder (notebook 11) keeps a few in ``reference/``; a model
    folder from the Hub has none: the result is then ``[]``.
    """
    if not isinstance(model, (str, os.PathLike)):
        return []
    shipped = Path(model) / "reference"
    if shipped.is_dir():
        return sorted(shipped.glob("*.wav"))[:n]
    raw = Path(model) / "dataset_raw"
    if not raw.is_dir():
        return []
    folders = [raw / speaker] if speaker else sorted(p for p in raw.iterdir() if p.is_dir())
    clips = [p for f in folders if f.is_dir() for p in sorted(f.glob("*.wav"))]
    return clips[:n]


def _engine(model, index=None):
    """What converts with ``model``: ("svc" | "rvc", loaded model, F0 methods, default, index).

    ``index`` (so-vits-svc only) is a :class:`voicelab.voice.rvc.FeatureIndex` or a path to one;
    an exported folder's own ``index.safetensors`` is used when none is given.
    """
    from . import rvc, svc

    if rvc.is_rvc_model(model):
        if index is not None:
            raise ValueError("index= is for so-vits-svc models; an RVC model brings its own .index.")
        loaded = model if isinstance(model, rvc.RVCModel) else rvc.load(model)
        return "rvc", loaded, rvc.F0_METHODS, runtime.pick("pm", "rmvpe"), loaded.index
    svc.find_model(model)                     # fail now, not at the first click
    if index is None and (Path(model) / "index.safetensors").is_file():
        index = Path(model) / "index.safetensors"
    if index is not None and not isinstance(index, rvc.FeatureIndex):
        index = rvc.FeatureIndex.load(index)
    return "svc", model, svc.F0_METHODS, "dio", index


def convert_and_score(source, model, *, speaker: str | None = None, transpose: int = 0,
                      f0_method: str | None = None, target_refs=None, out=None,
                      with_mos: bool = True, index=None, index_ratio: float = 0.0):
    """Convert ``source`` (an audio file) with ``model`` and score the result.

    Introduced in notebook 10. Returns ``(out_path, card)``: the converted WAV (44.1 kHz
    for so-vits-svc, the model's rate for RVC; written atomically to ``out``, default a new
    temporary file, and labelled as synthetic in its metadata) and its
    :class:`voicelab.voice.metrics.ScoreCard` against ``target_refs`` (default: the run's own
    training clips, :func:`reference_clips`) and the source. ``model`` may also be an RVC
    model (notebook 11); ``index`` + ``index_ratio`` (0-1) blend in retrieved target
    features (for RVC: its own index, ``index_ratio`` is its index rate). A result that
    cannot be scored (e.g. no speech left in it, as from an untrained model) gets an empty
    card whose note says why, instead of an error: the audio is still worth hearing.
    """
    from . import disclosure, metrics, rvc, svc
    from ..core.errors import VoicelabError

    kind, loaded, _, default_f0, index = _engine(model, index)
    if out is None:
        out = Path(tempfile.mkdtemp(prefix="voicelab-app-")) / "converted.wav"
    if kind == "rvc":
        y, sr = rvc.convert(source, loaded, transpose=transpose, f0_method=f0_method or default_f0,
                            index_ratio=index_ratio, out=out)
        name = loaded.weights.name
    else:
        use = index is not None and index_ratio > 0
        y, sr = svc.convert(source, model, speaker=speaker, transpose=transpose,
                            f0_method=f0_method or default_f0, out=out,
                            cluster=index if use else None, cluster_ratio=index_ratio if use else 0.0)
        name = Path(model).name
    disclosure.mark_synthetic(out, f"voice conversion by voicelab ({kind}, model {name})")
    refs = target_refs if target_refs is not None else reference_clips(model, speaker) or None
    try:
        card = metrics.score((y, sr), target_refs=refs, source=source, with_mos=with_mos,
                             transpose=transpose)
    except VoicelabError as err:
        card = metrics.ScoreCard(notes=[f"not scored: {err}"])
    return Path(out), card


def build_app(model, *, speaker: str | None = None, target_refs=None, title: str | None = None,
              with_mos: bool = True, index=None):
    """A ``gradio.Blocks`` app that converts with ``model`` and shows the score card.

    Introduced in notebook 10. Inputs: an uploaded or recorded clip, a pitch shift in
    semitones and the F0 method, plus (notebook 11) an index-ratio slider when there is a
    retrieval index (``index``, an exported folder's own, or an RVC model's); outputs: the
    converted audio and the score table. ``model``: anything :func:`convert_and_score`
    takes. Bad input (no clip, a file that is not audio) is shown as an error message.
    """
    if runtime.is_offline():   # no usage statistics sent from offline runs (they would only time out)
        os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
    import gradio as gr

    from . import metrics
    from ..core.errors import VoicelabError

    kind, loaded, f0_methods, default_f0, index = _engine(model, index)   # fails now if bad
    work = Path(tempfile.mkdtemp(prefix="voicelab-app-"))
    counter = iter(range(10**9))

    def run(path, transpose, f0_method, ratio=0.0):
        if not path:
            raise gr.Error("No audio yet: upload a file or record a clip first.")
        try:
            out, card = convert_and_score(path, loaded, speaker=speaker, transpose=int(transpose),
                                          f0_method=f0_method, target_refs=target_refs,
                                          out=work / f"converted_{next(counter):04d}.wav",
                                          with_mos=with_mos, index=index if kind == "svc" else None,
                                          index_ratio=float(ratio))
        except (VoicelabError, ValueError, KeyError, FileNotFoundError) as err:
            raise gr.Error(str(err)) from err
        words = [[metrics.HEARD_LABELS[name], "", "", "", text] for name, text in card.heard.items()]
        return str(out), [list(r) for r in card.rows(digits=2)] + words + [["note", "", "", "", n]
                                                                          for n in card.notes]

    if kind == "rvc":
        label, weights = loaded.weights.parent.name, loaded.weights.name
    else:
        label = model if isinstance(model, str) else Path(model).name
        from . import svc
        weights = svc.find_model(model)[0].name
    heading = title or f"voicelab: convert into {label}"
    with gr.Blocks(title="voicelab") as demo:
        gr.Markdown(f"## {heading}\n\n{'RVC' if kind == 'rvc' else 'so-vits-svc'} model "
                    f"`{weights}` ({runtime.detect().mode} mode). Upload or record speech, choose "
                    "a pitch shift, press **Convert**. The result is synthetic speech: say so "
                    "wherever you share it (the file's metadata already does).")
        with gr.Row():
            source = gr.Audio(sources=["upload", "microphone"], type="filepath", label="source",
                              elem_id="source")
            result = gr.Audio(type="filepath", label="converted", elem_id="converted")
        with gr.Row():
            transpose = gr.Slider(-12, 12, value=0, step=1, label="pitch shift (semitones)")
            f0_method = gr.Dropdown(list(f0_methods), value=default_f0, label="F0 method")
            inputs = [source, transpose, f0_method]
            if index is not None:
                inputs.append(gr.Slider(0, 1, value=0.75 if kind == "rvc" else 0.5, step=0.05,
                                        label=f"index ratio (retrieval from {len(index)} frames)",
                                        elem_id="index_ratio"))
        button = gr.Button("Convert", variant="primary", elem_id="convert")
        scores = gr.Dataframe(headers=SCORE_HEADERS, label="score card", elem_id="scores",
                              interactive=False)
        button.click(run, inputs=inputs, outputs=[result, scores], api_name="convert")
    demo.voicelab_workdir = work
    demo.unload(lambda: shutil.rmtree(work, ignore_errors=True))
    return demo


def launch(demo, *, share: bool | None = None, inline: bool | None = None, **kwargs):
    """Start ``demo``: inline in a notebook, with a public ``*.gradio.live`` link on Colab.

    Introduced in notebook 10. ``share`` defaults to :func:`voicelab.core.runtime.is_colab`
    (Colab's own localhost is not reachable from your browser otherwise).
    """
    share = runtime.is_colab() if share is None else share
    return demo.launch(share=share, inline=inline, **kwargs)

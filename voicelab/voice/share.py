"""Sharing a voice model: a Hugging Face-ready folder, a model card, an opt-in upload.

Introduced in notebook 11. :func:`export_space` turns a trained so-vits-svc run into a
folder that is at once a model repository and a Gradio Space::

    model.safetensors   the generator's weights (tensors only: nothing runs when opened)
    config.json         the so-vits-svc config it was trained with (local paths removed)
    index.safetensors   the speaker's content features, for retrieval (optional)
    reference/*.wav     a few training clips, for the score card's speaker similarity (optional)
    voicelab.json       what was exported, by which mode, with SHA-256 of every file
    README.md           the model card (Space metadata, data, consent, licence, score card)
    app.py              the Gradio app (voicelab.voice.app.build_app on this folder)
    requirements.txt    what a Space installs before running app.py

It converts with nothing but its own files (and the packages in requirements.txt).
:func:`push_to_hub` uploads it, only when asked to explicitly and only in FULL mode.
The app labels converted audio as synthetic (:mod:`voicelab.voice.disclosure`).
"""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

from ..core import files, hub, runtime
from ..core.errors import HubOfflineError, MissingFileError, ShareError, UnknownSpeakerError
from .disclosure import SYNTHETIC_TAG

__all__ = [
    "ShareError", "REPO_URL", "LICENCES", "CONSENT_PLACEHOLDER", "export_space", "model_card", "check_space", "push_to_hub",
]

#: Where a Space installs voicelab from (the same default as the notebooks' setup cell).
REPO_URL = "https://github.com/voicelab-course/voicelab"
#: Licence ids the Hub knows that fit a voice model, with what each allows (short).
LICENCES = {
    "cc-by-nc-4.0": "share and adapt with credit, no commercial use",
    "cc-by-nc-sa-4.0": "as cc-by-nc-4.0, and adaptations under the same licence",
    "cc-by-4.0": "share and adapt with credit, commercial use allowed",
    "openrail": "open use with behavioural restrictions (no deception, no harm)",
    "mit": "almost anything, with the copyright notice kept",
    "other": "a licence of your own: write it in the model card",
}
_FILES = ("model.safetensors", "config.json", "voicelab.json", "README.md", "app.py",
          "requirements.txt")
_MIN_CONSENT = 30   # characters: a name and a sentence, at least
#: What notebook 11 shows in FULL mode until the student writes their own statement; never accepted.
CONSENT_PLACEHOLDER = "WRITE HERE: whose voice this is, and that they agreed to this model being published."


# ---------------------------------------------------------------------------- export


def _check_consent(consent: str) -> str:
    text = " ".join(str(consent or "").split())
    if "WRITE HERE" in text.upper():
        raise ShareError("consent= is still the placeholder text. Replace it with your own statement: "
                         "whose voice this is and that they agreed to this model being trained and "
                         "shared.")
    if len(text) < _MIN_CONSENT:
        raise ShareError(
            f"consent={consent!r} is too short to say anything. Write who the voice belongs to "
            "and that they agreed to this model being trained and shared, e.g. \"Recorded by "
            "me, Ada Lovelace, who agrees to this voice model being published for "
            "non-commercial demos.\"")
    return text


def _check_licence(licence: str) -> str:
    if licence not in LICENCES:
        raise ShareError(f"licence={licence!r} is not one voicelab knows; choose one of "
                         f"{', '.join(LICENCES)} (or 'other' and explain it in the model card).")
    return licence


def _durations(clips) -> float:
    import soundfile as sf

    return float(sum(sf.info(str(c)).duration for c in clips))


def export_space(run_dir, out_dir, *, consent: str, consent_confirmed: bool = False,
                 licence: str = "cc-by-nc-4.0",
                 speaker: str | None = None, data_description: str | None = None, card=None,
                 title: str | None = None, index: bool = True, n_reference: int = 3,
                 overwrite: bool = False) -> Path:
    """Write a trained run as a Hugging Face-ready folder (model repo + Gradio Space); return it.

    Introduced in notebook 11. ``run_dir``: a run folder (notebook 09) or a model folder.
    ``consent`` (required): whose voice it is and that they agreed (:data:`CONSENT_PLACEHOLDER`
    never passes); ``consent_confirmed=True`` is your confirmation that the person whose voice
    ``speaker`` is agreed to it: without it nothing is exported. ``licence``: one of
    :data:`LICENCES`. ``card``: the :class:`voicelab.voice.metrics.ScoreCard` of a test
    conversion, shown in the model card. ``index``: also export the speaker's content
    features for retrieval. ``n_reference`` training clips go into ``reference/`` (0 to
    publish no recordings). An existing non-empty ``out_dir`` is refused unless ``overwrite``.
    """
    from . import app, rvc, svc

    consent, licence = _check_consent(consent), _check_licence(licence)
    run_dir, out_dir = Path(run_dir), Path(out_dir)
    ckpt, config_path = svc.find_model(run_dir)
    config = json.loads(config_path.read_text("utf-8"))
    speakers = list(config.get("spk", {}))
    speaker = speaker or (speakers[0] if speakers else None)
    if speaker not in speakers:
        raise UnknownSpeakerError(f"Speaker {speaker!r} is not in {config_path}; it has: "
                                  f"{', '.join(speakers) or 'no speakers'}.")
    if consent_confirmed is not True:
        raise ShareError(f"export_space needs consent_confirmed=True: your confirmation that the person "
                         f"whose voice '{speaker}' is agreed to this model being trained and shared, as "
                         "the consent statement says. Nothing was exported.")
    if out_dir.exists() and any(out_dir.iterdir()) and not overwrite:
        raise ShareError(f"{out_dir} is not empty; choose a new folder or pass overwrite=True.")
    final = out_dir
    # Everything is written into a temporary folder that becomes out_dir at the end, so an
    # interrupted export leaves no half-written model folder (nor loses an older one).
    with files.atomic_folder(final, overwrite=overwrite) as out_dir:
        weights = hub.load_weights(ckpt)
        state = weights.get("model", weights)
        hub.save_weights(state, out_dir / "model.safetensors",
                         metadata={"format": "so-vits-svc 4.0 generator", "exported_by": "voicelab",
                                   "source_checkpoint": ckpt.name})
        for key in ("training_files", "validation_files"):   # local paths of the training machine
            if key in config.get("data", {}):
                config["data"][key] = f"filelists/44k/{Path(config['data'][key]).name}"
        config["model"]["pretrained"] = "none"
        (out_dir / "config.json").write_text(json.dumps(config, indent=2) + "\n", encoding="utf-8")

        frames = None
        if index:
            try:
                feature_index = rvc.build_index(run_dir, speaker)
            except MissingFileError:
                feature_index = None          # a model folder without its training features
            if feature_index is not None:
                feature_index.save(out_dir / "index.safetensors")
                frames = len(feature_index)
        train_clips = app.reference_clips(run_dir, speaker, n=10**6)
        refs = train_clips[:max(0, int(n_reference))]
        if refs:
            (out_dir / "reference").mkdir()
            for clip in refs:
                shutil.copy2(clip, out_dir / "reference" / clip.name)

        stand_in = hub.is_stand_in(hub.fetch(svc.CONTENTVEC))
        info = {
            "title": title or f"voicelab: {speaker}",
            "speaker": speaker,
            "model": "so-vits-svc 4.0 (so-vits-svc-fork)",
            "source_checkpoint": ckpt.name,
            "mode": runtime.detect().mode,
            "content_encoder": svc.CONTENTVEC_ID,
            "content_encoder_stand_in": stand_in,
            "index_frames": frames,
            "training_clips": len(train_clips),
            "training_seconds": round(_durations(train_clips), 1),
            "reference_clips": [f"reference/{c.name}" for c in refs],
            "licence": licence,
            "consent": consent,
            "consent_speaker": speaker,
            "consent_confirmed": True,
            "data": data_description,
            "score_card": card.to_dict() if card is not None else None,
        }
        written = sorted(p for p in out_dir.rglob("*") if p.is_file())
        info["sha256"] = {str(p.relative_to(out_dir)): hub.sha256sum(p) for p in written}
        (out_dir / "voicelab.json").write_text(json.dumps(info, indent=2) + "\n", encoding="utf-8")
        (out_dir / "README.md").write_text(model_card(info, card), encoding="utf-8")
        (out_dir / "app.py").write_text(_APP_PY, encoding="utf-8")
        (out_dir / "requirements.txt").write_text(
            "# What the Space installs before it runs app.py (gradio itself comes with the Space).\n"
            f"voicelab @ git+{REPO_URL}\n", encoding="utf-8")
    return final


def model_card(info: dict, card=None) -> str:
    """The README.md of an exported folder: Space metadata, then the model card. Notebook 11.

    ``info`` is the folder's ``voicelab.json`` content; ``card`` a ScoreCard (or None).
    """
    import gradio

    quick = info.get("content_encoder_stand_in") or info.get("mode") == "QUICK"
    title = info["title"]
    front = ["---", f"title: {json.dumps(title)}", "emoji: 🎙️", "colorFrom: indigo",
             "colorTo: gray", "sdk: gradio", f"sdk_version: {gradio.__version__}",
             "app_file: app.py", f"license: {info['licence']}",
             "tags:", "- voice-conversion", "- so-vits-svc", "- voicelab", "- audio-to-audio",
             f"short_description: {json.dumps('Voice conversion into ' + info['speaker'] + ' (consented)')}",
             "---", ""]
    lines = [f"# {title}", ""]
    if quick:
        lines += ["> **QUICK-mode demonstration.** This model was trained for a few steps on a CPU "
                  "with a random stand-in content encoder. It shows how exporting works; it does "
                  "not sound like anyone. Do not publish it.", ""]
    data = info.get("data") or (f"{info['training_clips']} clips, {info['training_seconds']:.0f} s "
                                f"in total, of speaker `{info['speaker']}`.")
    lines += [
        "## Model", "",
        f"A {info['model']} voice-conversion model: speech in, the voice of "
        f"`{info['speaker']}` out (44.1 kHz). Exported from `{info['source_checkpoint']}` as "
        "`model.safetensors` (tensors only) with the `config.json` it was trained with. Content "
        f"features come from `{info['content_encoder']}`"
        + (" (here: voicelab's offline stand-in)" if info.get("content_encoder_stand_in") else "")
        + ", downloaded on first use.", "",
    ]
    if info.get("index_frames"):
        lines += [f"`index.safetensors` holds {info['index_frames']} content-feature frames of the "
                  "speaker for retrieval (the app's *index ratio*).", ""]
    lines += ["## Data", "", data, "",
              "## Consent", "", f"Speaker `{info['speaker']}`: {info['consent']}", "",
              "The exporter confirmed that this person agreed (voicelab's `consent_confirmed=True`).", "",
              "## Licence", "",
              f"`{info['licence']}`: {LICENCES[info['licence']]}. The licence covers these files; it "
              "gives no right to the voice itself beyond what the consent above says.", "",
              "## Score card", ""]
    if card is not None:
        lines += ["One held-out clip converted by this model (voicelab's score card, notebook 10):", "",
                  "| metric | converted | source | target vs target | how it was computed |",
                  "|---|---|---|---|---|"]
        lines += [f"| {' | '.join(row)} |" for row in card.rows(digits=2)]
        lines += [f"\nNote: {n}" for n in card.notes] + [""]
    else:
        lines += ["Not measured.", ""]
    lines += [
        "## Use and misuse", "",
        "- Use it only for the purposes the consent above covers. Do not use it to impersonate "
        "anyone, to deceive, or to make someone appear to say what they did not say.",
        f"- Say that the audio is synthetic wherever you share it. The app writes \"{SYNTHETIC_TAG}: "
        "...\" into every converted file's metadata, which is a label, not a watermark: it is "
        "lost when the audio is re-encoded or re-recorded.",
        "- If you are the person whose voice this is and you no longer agree, ask the owner of "
        "this repository to take it down.", "",
        "## Run it", "",
        "On a Hugging Face Space this folder runs as is (`app.py`, `requirements.txt`). Locally: "
        "`pip install -r requirements.txt && python app.py`, or in Python:", "",
        "```python", "from voicelab.voice import svc",
        "y, sr = svc.convert(\"input.wav\", \".\")   # this folder", "```", "",
        "## Files", "", "| file | SHA-256 |", "|---|---|",
    ]
    lines += [f"| `{name}` | `{digest}` |" for name, digest in sorted(info.get("sha256", {}).items())]
    return "\n".join(front + lines) + "\n"


_APP_PY = '''\
"""The Gradio app of this voice model (written by voicelab.voice.share.export_space).

On Hugging Face Spaces it is the Space's app; locally: `python app.py`. It needs only this
folder's files and the packages in requirements.txt.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
INFO = json.loads((HERE / "voicelab.json").read_text(encoding="utf-8"))
# A model trained with voicelab's offline stand-in content encoder converts with the same one;
# a real model uses the real encoder (FULL mode), with or without a GPU.
os.environ.setdefault("VOICELAB_QUICK", "1" if INFO["content_encoder_stand_in"] else "0")
if os.environ.get("SPACE_ID"):
    try:
        import resemblyzer  # noqa: F401  (speaker similarity on the score card)
    except ImportError:     # its declared dependency webrtcvad does not build: install without it
        subprocess.run([sys.executable, "-m", "pip", "install", "-q", "--no-deps", "resemblyzer"],
                       check=False)

from voicelab.voice import app  # noqa: E402

demo = app.build_app(HERE, speaker=INFO["speaker"], title=INFO["title"])

if __name__ == "__main__":
    app.launch(demo, inline=False)
'''


def check_space(folder) -> dict:
    """Check an exported folder: every file present and unchanged; return its ``voicelab.json``.

    Introduced in notebook 11. Raises :class:`ShareError` naming what is missing, or which
    file no longer matches the SHA-256 recorded at export.
    """
    folder = Path(folder)
    missing = [name for name in _FILES if not (folder / name).is_file()]
    if missing:
        raise ShareError(f"{folder} is not an exported voicelab folder: {', '.join(missing)} "
                         "missing. Make one with voicelab.voice.share.export_space.")
    info = json.loads((folder / "voicelab.json").read_text("utf-8"))
    for name, digest in info.get("sha256", {}).items():
        path = folder / name
        if not path.is_file():
            raise ShareError(f"{path} is listed in voicelab.json but missing.")
        if hub.sha256sum(path) != digest:
            raise ShareError(f"{path} changed since it was exported (SHA-256 differs); export again.")
    if len(" ".join(str(info.get("consent", "")).split())) < _MIN_CONSENT:
        raise ShareError(f"{folder}/voicelab.json has no consent statement; export again with consent=.")
    if info.get("consent_confirmed") is not True or info.get("consent_speaker") != info.get("speaker"):
        raise ShareError(f"{folder}/voicelab.json has no confirmed consent for speaker "
                         f"{info.get('speaker')!r}; export again with consent_confirmed=True.")
    return info


def push_to_hub(folder, repo_id: str, *, confirm: bool = False, private: bool = True,
                token: str | None = None, api=None) -> str:
    """Upload an exported folder as a Hugging Face Space; return its URL. Opt-in, FULL mode only.

    Introduced in notebook 11. Nothing is uploaded unless ``confirm=True``: publishing puts
    a voice online. The folder must pass :func:`check_space`, must not be a QUICK-mode
    stand-in, and the session must be online (not QUICK mode, no ``HF_HUB_OFFLINE``). The
    Space is private unless ``private=False``. ``token``: a Hugging Face write token (default:
    the one ``huggingface-cli login`` saved). ``api`` is for tests (an ``HfApi``-like object).
    """
    if confirm is not True:
        raise ShareError("push_to_hub uploads a voice model for others to use, so it needs an "
                         "explicit confirm=True. Check the consent statement and licence in the "
                         "model card first.")
    if not re.fullmatch(r"[A-Za-z0-9][\w.-]*/[A-Za-z0-9][\w.-]*", repo_id or ""):
        raise ShareError(f"repo_id={repo_id!r}: use 'your-user-name/space-name'.")
    info = check_space(folder)
    if info.get("content_encoder_stand_in"):
        raise ShareError(f"{folder} holds a QUICK-mode model trained with a stand-in content "
                         "encoder: it does not sound like anyone, so it is not uploaded.")
    if runtime.is_offline():
        raise HubOfflineError("push_to_hub: this session is offline (QUICK mode or "
                              "HF_HUB_OFFLINE=1), so nothing was uploaded. Run in FULL mode.")
    if api is None:
        from huggingface_hub import HfApi

        api = HfApi(token=token)
    api.create_repo(repo_id, repo_type="space", space_sdk="gradio", private=private,
                    exist_ok=True)
    api.upload_folder(folder_path=str(folder), repo_id=repo_id, repo_type="space",
                      commit_message="Upload voice model and app (voicelab.voice.share.export_space)")
    return f"https://huggingface.co/spaces/{repo_id}"

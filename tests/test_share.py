"""voicelab.voice.share: the exported Space folder, its model card, the opt-in upload, disclosure."""
from __future__ import annotations

import json
import runpy
import shutil

import numpy as np
import pytest
import soundfile
import torch

from voicelab import HubOfflineError, audio
from voicelab.core import hub
from voicelab.core.errors import UnknownSpeakerError
from voicelab.data import speech
from voicelab.voice import disclosure, metrics, share, svc

CONSENT = "Recorded by flite's slt voice (CMU ARCTIC, free licence); used here as a demo voice."


pytestmark = pytest.mark.usefixtures("offline_app")


@pytest.fixture(scope="module")
def exported(tiny_run, tmp_path_factory):
    card = metrics.ScoreCard(speaker_similarity_target=0.61, f0_rmse_cents=120.0,
                             methods={"speaker_similarity_target": "cosine"})
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("VOICELAB_QUICK", "1")
        return share.export_space(tiny_run, tmp_path_factory.mktemp("space") / "slt", consent=CONSENT,
                                  consent_confirmed=True, card=card, n_reference=2)


def test_export_writes_a_space_folder(exported, tiny_run):
    names = sorted(str(p.relative_to(exported)) for p in exported.rglob("*") if p.is_file())
    assert names == ["README.md", "app.py", "config.json", "index.safetensors", "model.safetensors",
                     "reference/slt_000.wav", "reference/slt_001.wav", "requirements.txt",
                     "voicelab.json"]
    ckpt, _ = svc.find_model(tiny_run)
    original = hub.load_weights(ckpt)["model"]
    weights = hub.load_weights(exported / "model.safetensors")
    assert weights.keys() == original.keys()
    assert all(torch.equal(weights[k], original[k]) for k in original)   # bit for bit
    config = json.loads((exported / "config.json").read_text())
    assert config["spk"] == {"slt": 0} and str(tiny_run) not in (exported / "config.json").read_text()
    info = share.check_space(exported)
    assert info["speaker"] == "slt" and info["content_encoder_stand_in"] is True
    assert info["training_clips"] == 3 and info["consent"] == CONSENT
    assert "voicelab @ git+" in (exported / "requirements.txt").read_text()


def test_model_card_has_space_metadata_consent_licence_and_score_card(exported):
    text = (exported / "README.md").read_text()
    front = text.split("---")[1]
    for line in ("sdk: gradio", "app_file: app.py", "license: cc-by-nc-4.0"):
        assert line in front
    for section in ("## Data", "## Consent", "## Licence", "## Score card", "## Use and misuse"):
        assert section in text
    assert f"Speaker `slt`: {CONSENT}" in text and "QUICK-mode demonstration" in text
    assert "| similarity to target | 0.61 |" in text and "3 clips" in text
    assert hub.sha256sum(exported / "model.safetensors") in text


def test_export_refuses_what_it_cannot_share(tiny_run, tmp_path):
    with pytest.raises(share.ShareError, match="too short"):
        share.export_space(tiny_run, tmp_path / "a", consent="ok")
    with pytest.raises(share.ShareError, match="cc-by-nc-4.0"):
        share.export_space(tiny_run, tmp_path / "b", consent=CONSENT, consent_confirmed=True,
                           licence="all-rights-mine")
    with pytest.raises(UnknownSpeakerError, match="Speaker 'rms' is not in .*config.json; it has: slt.$"):
        share.export_space(tiny_run, tmp_path / "c", consent=CONSENT, consent_confirmed=True,
                           speaker="rms")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "keep.txt").write_text("mine")
    with pytest.raises(share.ShareError, match="not empty"):
        share.export_space(tiny_run, tmp_path / "d", consent=CONSENT, consent_confirmed=True)


def test_consent_needs_a_statement_of_its_own_and_a_confirmation(tiny_run, tmp_path, exported):
    with pytest.raises(share.ShareError, match="placeholder"):     # long enough, but not a statement
        share.export_space(tiny_run, tmp_path / "a", consent=share.CONSENT_PLACEHOLDER,
                           consent_confirmed=True)
    with pytest.raises(share.ShareError, match="consent_confirmed=True.*'slt'"):
        share.export_space(tiny_run, tmp_path / "b", consent=CONSENT)
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
    # a folder whose voicelab.json lacks the confirmation (an older export, or edited) is refused
    folder = shutil.copytree(exported, tmp_path / "old")
    info = json.loads((folder / "voicelab.json").read_text())
    assert info["consent_confirmed"] is True and info["consent_speaker"] == "slt"
    del info["consent_confirmed"]
    (folder / "voicelab.json").write_text(json.dumps(info))
    with pytest.raises(share.ShareError, match="no confirmed consent for speaker 'slt'"):
        share.check_space(folder)


def test_exported_folder_converts_with_nothing_but_its_own_files(tiny_run, tmp_path):
    run = shutil.copytree(tiny_run, tmp_path / "run")
    folder = share.export_space(run, tmp_path / "export", consent=CONSENT, consent_confirmed=True,
                                n_reference=1)
    moved = shutil.move(str(folder), tmp_path / "elsewhere")
    shutil.rmtree(run)                               # the training run is gone
    src = speech.example("rms", 1)
    y, sr = svc.convert(src, moved)
    y_src, sr_src = audio.load(src)
    assert sr == 44100 and abs(len(y) / sr - len(y_src) / sr_src) < 0.01
    space = runpy.run_path(str(moved / "app.py"), run_name="space_app")   # what a Space runs
    assert type(space["demo"]).__name__ == "Blocks" and space["INFO"]["speaker"] == "slt"


def test_check_space_notices_a_changed_file(exported, tmp_path):
    copy = shutil.copytree(exported, tmp_path / "copy")
    with open(copy / "index.safetensors", "ab") as f:
        f.write(b"\0")
    with pytest.raises(share.ShareError, match="index.safetensors changed"):
        share.check_space(copy)
    (copy / "app.py").unlink()
    with pytest.raises(share.ShareError, match="app.py missing"):
        share.check_space(copy)


class FakeApi:
    def __init__(self):
        self.calls = []

    def create_repo(self, repo_id, **kw):
        self.calls.append(("create_repo", repo_id, kw))

    def upload_folder(self, **kw):
        self.calls.append(("upload_folder", kw))


def test_push_to_hub_is_opt_in_full_mode_only(exported, tmp_path, monkeypatch):
    api = FakeApi()
    with pytest.raises(share.ShareError, match="confirm=True"):
        share.push_to_hub(exported, "me/voice", api=api)
    with pytest.raises(share.ShareError, match="stand-in"):
        share.push_to_hub(exported, "me/voice", confirm=True, api=api)
    real = shutil.copytree(exported, tmp_path / "real")
    info = json.loads((real / "voicelab.json").read_text())
    info["content_encoder_stand_in"] = False      # pretend it was a FULL-mode model
    (real / "voicelab.json").write_text(json.dumps(info))
    with pytest.raises(share.ShareError, match="your-user-name/space-name"):
        share.push_to_hub(real, "no slash", confirm=True, api=api)
    with pytest.raises(HubOfflineError, match="nothing was uploaded"):
        share.push_to_hub(real, "me/voice", confirm=True, api=api)
    assert api.calls == []
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    url = share.push_to_hub(real, "me/voice", confirm=True, api=api)
    assert url == "https://huggingface.co/spaces/me/voice"
    assert api.calls[0] == ("create_repo", "me/voice", {"repo_type": "space", "space_sdk": "gradio",
                                                        "private": True, "exist_ok": True})
    assert api.calls[1][1]["folder_path"] == str(real) and api.calls[1][1]["repo_type"] == "space"


def test_mark_synthetic_labels_the_file_and_keeps_the_samples(tmp_path):
    y = (np.sin(np.arange(8000) / 5) * 0.5).astype(np.float32)
    path = audio.save(tmp_path / "c.wav", y, 16000)
    before, _ = soundfile.read(path, dtype="int16")
    assert not disclosure.is_marked_synthetic(path)
    disclosure.mark_synthetic(path, "test")
    after, sr = soundfile.read(path, dtype="int16")
    assert disclosure.is_marked_synthetic(path) and sr == 16000 and np.array_equal(before, after)
    assert soundfile.SoundFile(str(path)).comment == "AI-generated: test"

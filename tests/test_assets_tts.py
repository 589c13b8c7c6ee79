"""Notebook 07's Hub assets as their repositories publish them (voicelab.core.manifest).

Each asset's tiny stand-in goes through the loader notebook 07 uses and runs one forward pass;
the controls show that hub refuses a stand-in in a format the real repository does not publish.
The slow tests install the full-size stand-ins into a fresh Hugging Face cache, as the FULL
rehearsal does, and load them with the same loaders, offline.
"""
from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from voicelab.core import hub, manifest
from voicelab.core.errors import VoicelabError
from voicelab.lessons import tts

pytestmark = pytest.mark.usefixtures("one_thread")

ASSETS = (tts.SPEECHT5, tts.SPEECHT5_VOCODER, tts.XVECTORS, tts.VITS, tts.BARK)


@pytest.mark.parametrize("asset", ASSETS, ids=lambda a: a.name)
def test_assets_come_from_the_manifest(asset):
    e = manifest.entry(asset.name)
    assert asset.manifest == asset.name and e.evidence
    assert asset.stand_in is not None and asset.full_stand_in is not None
    if asset.url is None:   # a snapshot downloads exactly the listed files
        assert asset.repo_id == e.repo_id and asset.allow_patterns == tuple(f.path for f in e.files)
    else:
        assert asset.url == e.url


def test_weights_formats_are_the_published_ones():
    formats = {a.name: {f.path: f.format for f in manifest.entry(a.name).files} for a in ASSETS}
    assert formats["speecht5-tts"]["pytorch_model.bin"] == "torch-zip"
    assert formats["speecht5-hifigan"]["pytorch_model.bin"] == "torch-zip"
    assert formats["bark-small"]["pytorch_model.bin"] == "torch-zip"
    assert formats["mms-tts-eng"]["model.safetensors"] == "safetensors"
    assert not any(p.endswith(".safetensors") for p in formats["speecht5-tts"])


# ------------------------------------------------------------------ tiny stand-ins, QUICK mode


@pytest.mark.usefixtures("offline_quick")
def test_speecht5_hifigan_and_xvector_stand_ins_speak_through_load_speecht5():
    model, processor, vocoder, stand_in = models = tts.load_speecht5()
    path = hub.fetch(tts.SPEECHT5)
    assert stand_in and hub.is_stand_in(path) and hub.is_stand_in(hub.fetch(tts.SPEECHT5_VOCODER))
    assert (path / "pytorch_model.bin").is_file() and not list(path.glob("*.safetensors"))
    xv = tts.speaker_xvector()
    assert xv.shape == (512,) and xv.dtype == np.float32
    y, sr = tts.speecht5_speak("Hello there.", models)
    assert sr == 16000 and y.ndim == 1 and len(y) > 0 and np.isfinite(y).all()


@pytest.mark.usefixtures("offline_quick")
def test_vits_stand_in_makes_a_waveform_through_load_vits():
    models = tts.load_vits()
    assert models[2] and (hub.fetch(tts.VITS) / "model.safetensors").is_file()
    y, sr = tts.vits_speak("Hello world.", models)
    assert sr == 16000 and y.ndim == 1 and len(y) > 100 and np.isfinite(y).all()


@pytest.mark.usefixtures("offline_quick")
def test_bark_stand_in_runs_offline_through_load_bark_and_the_pipeline():
    import torch

    model, processor, stand_in = tts.load_bark()
    path = hub.fetch(tts.BARK)
    assert stand_in and (path / "pytorch_model.bin").is_file()
    assert len(list((path / "speaker_embeddings" / "v2").glob("en_speaker_*_prompt.npy"))) == 30
    inputs = processor("Hello world.", voice_preset="v2/en_speaker_6")
    with torch.no_grad():
        y = model.generate(**inputs, semantic_max_new_tokens=4)
    assert y.ndim == 2 and y.shape[1] > 0 and torch.isfinite(y).all()
    pipe, forward, stand_in = tts.pipeline("bark-small")
    out = pipe("Hello world.", forward_params=forward)
    assert stand_in and out["sampling_rate"] == 24000 and np.size(out["audio"]) > 0


@pytest.mark.usefixtures("offline_quick")
def test_bin_weights_are_opened_with_weights_only(monkeypatch):
    """transformers reads the published pytorch_model.bin files with torch.load(weights_only=True)."""
    import torch

    seen, real_load = [], torch.load

    def spy(*args, **kwargs):
        seen.append((str(args[0] if args else kwargs.get("f")), kwargs.get("weights_only")))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(torch, "load", spy)
    tts.load_speecht5()
    tts.load_bark()
    bins = [(f, w) for f, w in seen if f.endswith("pytorch_model.bin")]
    assert len({f for f, _ in bins}) == 3                      # SpeechT5, HiFi-GAN, Bark
    assert all(w is True for _, w in bins)


# ------------------------------------------------------------------ controls: refused stand-ins


def _safetensors_speecht5(folder):
    """SpeechT5's stand-in as transformers 5 saves it by default: model.safetensors."""
    from transformers import SpeechT5Config, SpeechT5ForTextToSpeech

    tts._write_speecht5_stand_in(folder)
    (folder / "pytorch_model.bin").unlink()
    SpeechT5ForTextToSpeech(SpeechT5Config(hidden_size=32, encoder_layers=1, decoder_layers=1,
                                           encoder_attention_heads=2, decoder_attention_heads=2,
                                           encoder_ffn_dim=32, decoder_ffn_dim=32)).save_pretrained(folder)
    (folder / "generation_config.json").unlink(missing_ok=True)   # only the weights' format is wrong


@pytest.mark.usefixtures("offline_quick")
def test_a_speecht5_stand_in_in_safetensors_is_refused():
    wrong = dataclasses.replace(tts.SPEECHT5, name="speecht5-tts-safetensors", stand_in=_safetensors_speecht5)
    with pytest.raises((manifest.ManifestError, VoicelabError), match="model.safetensors"):
        hub.fetch(wrong)
    assert hub.is_stand_in(hub.fetch(tts.SPEECHT5))     # the real writer passes the same check


def _pickled_bin(folder):
    """pytorch_model.bin in torch's legacy (non-zip) format, which the repository does not publish."""
    import torch

    tts._write_hifigan_stand_in(folder)
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    torch.save(state, folder / "pytorch_model.bin", _use_new_zipfile_serialization=False)


@pytest.mark.usefixtures("offline_quick")
def test_a_hifigan_bin_not_in_torch_zip_format_is_refused():
    wrong = dataclasses.replace(tts.SPEECHT5_VOCODER, name="hifigan-legacy-bin", stand_in=_pickled_bin)
    with pytest.raises((manifest.ManifestError, VoicelabError), match="torch-zip"):
        hub.fetch(wrong)


@pytest.mark.usefixtures("offline_quick")
def test_an_xvector_of_the_wrong_size_is_refused():
    def half(path):
        path.write_bytes(np.zeros(256, "<f4").tobytes())

    wrong = dataclasses.replace(tts.XVECTORS, name="xvector-256", stand_in=half)
    with pytest.raises((manifest.ManifestError, VoicelabError), match="2048"):
        hub.fetch(wrong)
    assert hub.fetch(tts.XVECTORS).stat().st_size == 2048


# ------------------------------------------------------------------ full-size stand-ins, FULL mode


@pytest.fixture
def rehearsal(tmp_path, monkeypatch, no_network):
    """FULL mode offline with fresh caches, as `make rehearse` runs it."""
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "voicelab"))
    monkeypatch.delenv("HF_HUB_CACHE", raising=False)
    monkeypatch.delenv("HUGGINGFACE_HUB_CACHE", raising=False)
    return tmp_path


@pytest.mark.slow
@pytest.mark.usefixtures("rehearsal")
def test_full_size_speecht5_and_hifigan_load_and_speak():
    for asset in (tts.SPEECHT5, tts.SPEECHT5_VOCODER, tts.XVECTORS):
        hub.install_stand_in(asset)
    model, processor, vocoder, stand_in = models = tts.load_speecht5()
    assert stand_in and type(model).__name__ == "SpeechT5ForTextToSpeech"
    assert model.config.hidden_size == 768 and model.config.decoder_layers == 6
    assert sum(p.numel() for p in vocoder.parameters()) > 10_000_000
    assert str(hub.fetch(tts.SPEECHT5)).startswith(str(hub.hf_cache_dir()))   # a cache hit, not a QUICK stand-in
    y, sr = tts.speecht5_speak("Hi.", models)
    assert sr == 16000 and len(y) > 0 and np.isfinite(y).all()


@pytest.mark.slow
@pytest.mark.usefixtures("rehearsal")
def test_full_size_mms_loads_and_speaks():
    hub.install_stand_in(tts.VITS)
    models = tts.load_vits()
    assert models[2] and models[0].config.hidden_size == 192
    y, sr = tts.vits_speak("Hello.", models)
    assert sr == 16000 and len(y) > 0 and np.isfinite(y).all()


@pytest.mark.slow
@pytest.mark.usefixtures("rehearsal")
def test_reduced_width_bark_loads_and_generates_a_few_tokens():
    hub.install_stand_in(tts.BARK)
    pipe, forward, stand_in = tts.pipeline("bark-small")
    assert stand_in and pipe.model.config.semantic_config.input_vocab_size == 129_600
    out = pipe("Hello.", forward_params=forward)
    assert out["sampling_rate"] == 24000 and np.size(out["audio"]) > 0 and np.isfinite(out["audio"]).all()

"""SmolLM2, GloVe, CLAP and ResNet-18 as their repositories publish them (notebooks 01, 06, 14).

For each asset: its tiny stand-in holds exactly the manifest's files in their formats, loads
through the notebook's own loader and runs one step (an answer, an analogy, a text and an audio
embedding, a backbone forward pass). Controls: a stand-in in another format or with a file the
repository does not publish cannot be written, and a ``.bin`` that needs full unpickling is
refused by the loaders. Slow: the full-size stand-ins, installed where the real downloads are
cached (:func:`voicelab.core.hub.install_stand_in`), load the FULL way and run one step.
"""
from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from voicelab.core import hub, manifest, runtime
from voicelab.core.errors import UnsafeModelError
from voicelab.devbook import models
from voicelab.lessons import embeddings as em
from voicelab.lessons import llm

ASSETS = {"smollm2-360m-instruct": llm.TEXT_MODEL, "glove-6B-300d": em.GLOVE,
          "clap-htsat-unfused": em.CLAP, "resnet-18": models.RESNET18}


@pytest.fixture
def quick(offline_quick, one_thread):
    return offline_quick


class Payload:
    """Not a tensor: torch.load(weights_only=True) will not rebuild it."""


def _pickle_bomb(path, **tensors):
    torch.save({**tensors, "payload": Payload()}, path)


# ---------------------------------------------------------------- stand-ins as published


@pytest.mark.parametrize("name", list(ASSETS))
def test_stand_in_holds_the_published_files(quick, name):
    asset, entry = ASSETS[name], manifest.entry(name)
    assert asset.manifest == name and asset.full_stand_in is not None
    assert asset.allow_patterns == tuple(f.path for f in entry.files)   # a download gets these only
    folder = hub.fetch(asset)
    assert hub.is_stand_in(folder)
    manifest.check_folder(entry, folder, ignore=(hub.STAND_IN_MARKER,))
    (quick / "empty").mkdir()
    with pytest.raises(manifest.ManifestError, match="missing"):         # control: an empty folder
        manifest.check_folder(entry, quick / "empty")


def test_text_model_answers_through_the_notebook_loader(quick):
    model, tokenizer, path = llm.load_text_model()
    assert hub.is_stand_in(path) and not (path / "chat_template.jinja").exists()
    assert "<|im_start|>assistant" in tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi"}], add_generation_prompt=True, tokenize=False)
    reply = llm.answer(model, tokenizer, "What is a voice?", max_new_tokens=4)
    assert isinstance(reply, str) and 0 < len(reply) <= 4


def test_glove_analogy_through_the_notebook_loader(quick):
    wv, folder = em.load_glove()
    assert hub.is_stand_in(folder) and wv.vectors.shape == (60, 300)
    found = wv.analogy("man", "king", "woman", n=3)
    assert len(found) == 3 and all(w in wv and w not in ("man", "king", "woman") for w, _ in found)


def test_glove_loader_reads_the_published_bin_and_refuses_pickled_objects(tmp_path):
    """sentence-transformers also publishes the matrix as pytorch_model.bin: read with
    weights_only, so a file that needs full unpickling is refused, nothing in it run."""
    sub = tmp_path / "0_WordEmbeddings"
    sub.mkdir()
    (sub / "whitespacetokenizer_config.json").write_text(
        json.dumps({"vocab": ["PADDING_TOKEN", "king", "queen"]}))
    torch.save({"emb_layer.weight": torch.eye(3, 300)}, sub / "pytorch_model.bin")
    wv, _ = em.load_glove(path=tmp_path)
    assert wv.words == ["king", "queen"] and wv.vectors.shape == (2, 300)
    _pickle_bomb(sub / "pytorch_model.bin", **{"emb_layer.weight": torch.eye(3, 300)})
    with pytest.raises(UnsafeModelError, match="Payload"):
        em.load_glove(path=tmp_path)


def test_clap_embeds_text_and_audio_through_the_notebook_loader(quick):
    model, processor, folder = em.load_clap()
    assert hub.is_stand_in(folder) and (folder / "pytorch_model.bin").is_file()
    assert not (folder / "model.safetensors").exists()
    T = em.clap_embed_text(model, processor, ["rain falling", "a drum beat"])
    A = em.clap_embed_audio(model, processor, [(np.sin(np.arange(48000) / 10).astype("float32"), 48000)])
    assert T.shape == (2, model.config.projection_dim) and A.shape == (1, model.config.projection_dim)
    assert np.allclose(np.linalg.norm(A, axis=1), 1, atol=1e-5)


def test_clap_loader_refuses_a_bin_that_needs_full_unpickling(quick, tmp_path):
    import shutil

    folder = shutil.copytree(hub.fetch(em.CLAP), tmp_path / "clap")
    state = torch.load(folder / "pytorch_model.bin", weights_only=True)
    _pickle_bomb(folder / "pytorch_model.bin", **state)
    with pytest.raises(UnsafeModelError, match="nothing in the file was run"):
        em.load_clap(path=folder)


def test_resnet_backbone_forward(quick):
    net = models.resnet_backbone(size=32)
    assert hub.is_stand_in(hub.fetch(models.RESNET18))
    with torch.no_grad():
        assert net(torch.rand(2, 1, 8, 8)).shape == (2, net.out_dim)


# ---------------------------------------------------------------- controls: wrong formats


def _writes(files: dict):
    """A stand-in writer that writes ``files`` ({relative path: writer(path)})."""
    def write(folder):
        for rel, fn in files.items():
            (folder / rel).parent.mkdir(parents=True, exist_ok=True)
            fn(folder / rel)
    return write


def _json(path):
    path.write_text(json.dumps({"vocab": ["PADDING_TOKEN", "a"]}))


def _torch_zip(path):
    torch.save({"emb_layer.weight": torch.zeros(2, 300)}, path)


def _safetensors(path):
    from safetensors.torch import save_file

    save_file({"w": torch.zeros(2, 3)}, str(path))


@pytest.mark.parametrize("name, files, why", [
    # GloVe as pytorch_model.bin: published too, but not the file the manifest lists (and downloads)
    ("glove-6B-300d", {"0_WordEmbeddings/whitespacetokenizer_config.json": _json,
                       "0_WordEmbeddings/pytorch_model.bin": _torch_zip}, "not a file"),
    # GloVe's model.safetensors that is really torch.save's zip
    ("glove-6B-300d", {"0_WordEmbeddings/whitespacetokenizer_config.json": _json,
                       "0_WordEmbeddings/model.safetensors": _torch_zip}, "format"),
    # CLAP saved the transformers-5 way (model.safetensors): the repository publishes a .bin
    ("clap-htsat-unfused", {"config.json": _json, "model.safetensors": _safetensors}, "not a file"),
    # CLAP's pytorch_model.bin that is a safetensors file under the .bin name
    ("clap-htsat-unfused", {"config.json": _json, "pytorch_model.bin": _safetensors}, "format"),
    # SmolLM2's tokenizer saved the transformers-5 way, with a chat_template.jinja
    ("smollm2-360m-instruct", {"config.json": _json, "chat_template.jinja": lambda p: p.write_text("{{ x }}")},
     "not a file"),
    # ResNet-18 weights as a .bin
    ("resnet-18", {"config.json": _json, "pytorch_model.bin": _torch_zip}, "not a file"),
])
def test_a_stand_in_in_another_format_is_refused(quick, name, files, why):
    real = hub.asset(name)
    wrong = hub.Asset(f"wrong-{name}", repo_id=real.repo_id, allow_patterns=real.allow_patterns,
                      stand_in=_writes(files), manifest=name)
    with pytest.raises(manifest.ManifestError, match=why):
        hub.fetch(wrong)
    assert not (runtime.cache_dir() / "stand-ins" / wrong.name).exists()   # nothing half-written


# ---------------------------------------------------------------- full size (the rehearsal)


@pytest.fixture
def rehearsal(tmp_path, monkeypatch, no_network, one_thread):
    """FULL mode, offline, with empty Hugging Face and voicelab caches of its own."""
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path / "cache"))
    for name in ("HF_HUB_CACHE", "HUGGINGFACE_HUB_CACHE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    return tmp_path


def _installed(asset):
    path = hub.install_stand_in(asset)
    assert path == hub.fetch(asset) and hub.is_stand_in(path)
    assert str(path).startswith(str(hub.hf_cache_dir()))                 # a cache hit, not a stand-in folder
    manifest.check_folder(manifest.entry(asset.manifest), path, ignore=(hub.STAND_IN_MARKER,))
    return path


@pytest.mark.slow
def test_full_size_text_model(rehearsal):
    path = _installed(llm.TEXT_MODEL)
    assert os.path.getsize(path / "model.safetensors") == pytest.approx(724e6, rel=0.01)
    model, tokenizer, loaded = llm.load_text_model()
    config = model.config
    assert loaded == path and model.dtype == torch.bfloat16
    assert (config.hidden_size, config.num_hidden_layers, config.num_attention_heads,
            config.num_key_value_heads, config.intermediate_size, config.vocab_size) == \
        (960, 32, 15, 5, 2560, 49152) and config.tie_word_embeddings
    assert tokenizer.convert_tokens_to_ids(["<|endoftext|>", "<|im_start|>", "<|im_end|>"]) == [0, 1, 2]
    assert tokenizer.pad_token_id == config.pad_token_id == 2 and tokenizer.eos_token_id == 2
    # every id the model can generate decodes to text, as with the real 49,152-entry tokenizer,
    # so notebook 01's check holds: greedy answers repeat, sampled ones differ by seed
    assert len(tokenizer) == config.vocab_size
    greedy = llm.answer(model, tokenizer, "What is a voice?", max_new_tokens=3)
    assert greedy and llm.answer(model, tokenizer, "What is a voice?", max_new_tokens=3) == greedy
    sampled = {llm.answer(model, tokenizer, "What is a voice?", max_new_tokens=3, temperature=1.0,
                          seed=s) for s in (0, 1)}
    assert len(sampled) == 2


@pytest.mark.slow
def test_full_size_glove(rehearsal):
    path = _installed(em.GLOVE)
    wv, folder = em.load_glove(max_words=50000)
    vocab = json.loads((path / "0_WordEmbeddings/whitespacetokenizer_config.json").read_text())["vocab"]
    assert folder == path and len(vocab) == 400_001 and len(wv) == 50000
    assert len(wv.analogy("man", "king", "woman", n=3)) == 3


@pytest.mark.slow
def test_full_size_clap(rehearsal):
    path = _installed(em.CLAP)
    assert os.path.getsize(path / "pytorch_model.bin") == pytest.approx(615e6, rel=0.01)
    model, processor, folder = em.load_clap()
    assert folder == path and model.config.projection_dim == 512
    assert model.config.text_config.vocab_size == 50265
    T = em.clap_embed_text(model, processor, ["a drum beat"])
    A = em.clap_embed_audio(model, processor, [(np.zeros(48000, dtype="float32") + 0.1, 48000)])
    assert T.shape == A.shape == (1, 512)


@pytest.mark.slow
def test_full_size_resnet(rehearsal):
    path = _installed(models.RESNET18)
    net = models.resnet_backbone(size=64)
    assert json.loads((path / "config.json").read_text())["hidden_sizes"] == [64, 128, 256, 512]
    assert net.out_dim == 512 and 11e6 < models.count_parameters(net) < 12e6
    with torch.no_grad():
        assert net(torch.rand(2, 1, 8, 8)).shape == (2, 512)

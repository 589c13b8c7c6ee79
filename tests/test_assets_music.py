"""MusicGen's Hub assets (voicelab.lessons.music): stand-ins written exactly as the manifest says
facebook/musicgen-small and facebook/musicgen-melody publish them, loaded through notebook 12's
own loader.

The slow tests install the full-size stand-ins (musicgen-small at its real size, 2.4 GB;
musicgen-melody's classes at reduced width, sharded as published) into a temporary FULL-offline
cache, load them with :func:`music.load_musicgen` and generate 0.5 s.
"""
from __future__ import annotations

import json
import shutil
import tempfile
import time
from pathlib import Path

import numpy as np
import pytest

from voicelab.core import hub, manifest
from voicelab.lessons import music


def _tune():
    return music.render(music.parse_tune(music.TUNES["ode_to_joy"])[:8]), music.SR


# ---------------------------------------------------------------------------- tiny (QUICK)


@pytest.mark.usefixtures("one_thread")
@pytest.mark.parametrize("melody", [False, True], ids=["small", "melody"])
def test_tiny_stand_in_has_the_published_files_and_generates(offline_quick, melody):
    asset = music.MUSICGEN_MELODY if melody else music.MUSICGEN
    models = music.load_musicgen(melody=melody)
    path = hub.fetch(asset)
    assert models[2] and hub.is_stand_in(path)
    manifest.check_folder(manifest.entry(asset.manifest), path, ignore=(hub.STAND_IN_MARKER,))
    present = {p.name for p in path.iterdir()} - {hub.STAND_IN_MARKER}
    required = {f.path for f in manifest.entry(asset.manifest).files if f.required}
    assert present == required
    assert type(models[0]).__name__ == ("MusicgenMelody" if melody else "Musicgen") + \
        "ForConditionalGeneration"
    y, sr = music.generate(models, "lofi chill beat", seconds=0.5,
                           melody=_tune() if melody else None)
    assert sr == 32000 and y.shape[0] == 1 and 0.4 * sr < y.shape[1] <= 0.5 * sr
    assert np.isfinite(y).all()


@pytest.mark.usefixtures("one_thread")
def test_melody_stand_in_is_loaded_from_both_shards(offline_quick):
    from safetensors import safe_open

    model = music.load_musicgen(melody=True)[0]
    path = hub.fetch(music.MUSICGEN_MELODY)
    index = json.loads((path / "model.safetensors.index.json").read_text())
    shards = sorted(set(index["weight_map"].values()))
    assert shards == ["model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors"]
    params = dict(model.state_dict())
    for shard in shards:   # a tensor of each shard is what the model holds
        with safe_open(path / shard, "pt") as f:
            name = next(k for k in f.keys() if k in params)
            assert np.array_equal(f.get_tensor(name).numpy(), params[name].numpy()), (shard, name)


def test_t5_tokenizer_files_agree(offline_quick):
    """spiece.model (sentencepiece) and tokenizer.json hold the same pieces with the same ids."""
    import sentencepiece as spm

    path = hub.fetch(music.MUSICGEN)
    sp = spm.SentencePieceProcessor(model_file=str(path / "spiece.model"))
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(path)
    words = "upbeat rock song with drums"
    assert tok(words, add_special_tokens=False).input_ids == sp.encode(words)
    assert tok.eos_token == "</s>" and tok.pad_token_id == sp.pad_id() == 0


# ---------------------------------------------------------------------------- controls


def _single_file_melody(folder: Path) -> None:
    """Melody stand-in written unsharded: not the published layout."""
    music._write_musicgen(folder, melody=True, size="tiny", shards=1)


def _pickled_weights(folder: Path) -> None:
    """musicgen-small with its weights as a torch pickle under the safetensors name."""
    import torch

    music._write_musicgen_stand_in(folder)
    from safetensors.torch import load_file

    weights = load_file(folder / "model.safetensors")
    (folder / "model.safetensors").unlink()
    torch.save(weights, folder / "model.safetensors")


def _old_processor_layout(folder: Path) -> None:
    """What processor.save_pretrained writes today (processor_config.json, no spiece.model)."""
    from transformers import EncodecFeatureExtractor, MusicgenProcessor

    music._write_musicgen_stand_in(folder)
    for name in ("preprocessor_config.json", "spiece.model", "special_tokens_map.json",
                 "tokenizer.json", "tokenizer_config.json"):
        (folder / name).unlink()
    MusicgenProcessor(feature_extractor=EncodecFeatureExtractor(sampling_rate=32000),
                      tokenizer=music._write_t5_tokenizer(folder, music._t5_pieces(), 0)
                      ).save_pretrained(folder)
    (folder / "spiece.model").unlink()


@pytest.mark.parametrize("name, writer, complaint", [
    ("musicgen-melody", _single_file_melody, "model-00001-of-00002.safetensors"),
    ("musicgen-small", _pickled_weights, "format"),
    ("musicgen-small", _old_processor_layout, "processor_config.json"),
])
def test_stand_in_not_as_published_is_refused(offline_quick, monkeypatch, name, writer, complaint):
    monkeypatch.setenv("VOICELAB_CACHE", str(offline_quick / "own-cache"))
    with pytest.raises(manifest.ManifestError, match=complaint):
        hub.fetch(hub.asset(name, stand_in=writer))
    assert not (offline_quick / "own-cache" / "stand-ins" / name).exists()


# ---------------------------------------------------------------------------- full size (slow)


def _few_frames(models, steps: int):
    """What :func:`music.generate` does, for ``steps`` decoder steps (it makes 0.5 s at least)."""
    import torch

    model, processor, _ = models
    inputs = processor(text=["lofi chill beat"], padding=True, return_tensors="pt")
    with torch.no_grad():
        out = model.generate(**inputs, do_sample=True, guidance_scale=3.0, max_new_tokens=steps)
    return out[:, 0].float().numpy(), int(model.config.audio_encoder.sampling_rate)


def _disk(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file() and not p.is_symlink())


@pytest.mark.slow  # small: install 30-90 s (2.4 GB), load 10 s, 6 steps; melody: under 1 min
@pytest.mark.parametrize("melody", [pytest.param(False, marks=pytest.mark.fullsize), True],
                         ids=["small", "melody"])
def test_full_size_stand_in_loads_and_generates(no_network, full_offline, melody):
    root = Path(tempfile.mkdtemp(prefix="voicelab-music-full-"))
    asset = music.MUSICGEN_MELODY if melody else music.MUSICGEN
    try:
        with pytest.MonkeyPatch.context() as mp:
            full_offline(mp, root)
            t0 = time.perf_counter()
            snapshot = hub.install_stand_in(asset)
            t1 = time.perf_counter()
            models = music.load_musicgen(melody=melody)
            t2 = time.perf_counter()
            if melody:   # notebook 12's call, 0.5 s (25 frames)
                y, sr = music.generate(models, "lofi chill beat", seconds=0.5, melody=_tune())
            else:        # 591M parameters: a few frames only (6 steps, 3 after the codebook delay)
                y, sr = _few_frames(models, steps=6)
                assert y.shape[1] == 3 * 640
            t3 = time.perf_counter()
        written = _disk(root / "hf-home")
        print(f"\n{asset.name}: install {t1 - t0:.0f} s, load {t2 - t1:.0f} s, generate "
              f"{t3 - t2:.0f} s, {written / 1e9:.2f} GB written")
        model = models[0]
        assert models[2] and hub.is_stand_in(snapshot)
        assert sr == 32000 and y.shape[0] == 1 and np.isfinite(y).all()
        codec = model.config.audio_encoder
        assert (codec.num_filters, codec.hidden_size, codec.num_lstm_layers) == (64, 128, 2)
        if melody:
            assert type(model.config).__name__ == "MusicgenMelodyConfig"
            assert {p.name for p in snapshot.glob("model*.safetensors*")} == {
                "model-00001-of-00002.safetensors", "model-00002-of-00002.safetensors",
                "model.safetensors.index.json"}
        else:
            dec, text = model.config.decoder, model.config.text_encoder
            assert (dec.hidden_size, dec.num_hidden_layers, dec.num_attention_heads) == (1024, 24, 16)
            assert (text.d_model, text.num_layers, text.vocab_size) == (768, 12, 32128)
            n = sum(p.numel() for p in model.parameters())
            assert 580e6 < n < 600e6  # facebook/musicgen-small: 591M (T5 embeddings tied)
            assert written > 2.2e9
    finally:
        shutil.rmtree(root, ignore_errors=True)

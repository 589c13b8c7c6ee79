"""voicelab.devbook.models: the dev book's four architectures, their building blocks and the Hub backbone.

Offline: the ResNet-18 backbone is the asset's stand-in, built under a temporary cache, and
sockets may only connect to localhost.
"""
from __future__ import annotations


import pytest
import torch

from voicelab.core import hub
from voicelab.devbook import models


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    torch.manual_seed(0)
    yield
    torch.set_num_threads(old)


def test_widths_double_or_follow_phi():
    assert models.widths(8, 3) == [8, 16, 32]
    assert models.widths(8, 3, growth=(1 + 5 ** 0.5) / 2) == [8, 13, 21]
    with pytest.raises(ValueError):
        models.widths(0, 3)


def test_multiscale_conv_has_three_kernel_sizes():
    block = models.MultiScaleConv2d(1, 4)
    assert [b.kernel_size for b in block.branches] == [(3, 3), (5, 5), (7, 7)]
    assert block(torch.randn(2, 1, 12, 12)).shape == (2, 4, 12, 12)


def test_attention_temperature_flattens_weights_and_mask_hides_padding():
    torch.manual_seed(0)
    att = models.Attention(8)
    x = torch.randn(2, 5, 8) * 3
    att(x)
    sharp = att.last_weights
    att.temperature = 3.14
    att(x)
    flat = att.last_weights

    def entropy(w):
        return float(-(w * w.clamp_min(1e-12).log()).sum(-1).mean())

    assert entropy(flat) > entropy(sharp)
    mask = torch.tensor([[True, True, True, False, False]] * 2)
    att(x, mask)
    assert float(att.last_weights[..., 3:].abs().max()) == 0.0
    with pytest.raises(ValueError):
        models.Attention(8, temperature=0)


def test_residual_block_scale():
    block = models.ResidualBlock(3, scale=0.0)
    x = torch.rand(1, 3, 4, 4)
    assert torch.equal(block(x), x)              # scale 0: only the skip path (x >= 0 survives relu)
    block = models.ResidualBlock(3, scale=-1 / 12, dims=1)
    assert block(torch.randn(2, 3, 7)).shape == (2, 3, 7)


def test_audio_model_takes_mel_mfcc_and_wave():
    for kind, x, bins in [("mel", torch.randn(3, 1, 32, 32), 32), ("mfcc", torch.randn(3, 1, 16, 32), 16),
                          ("wave", torch.randn(3, 10240), 32)]:
        m = models.AudioModel(10, n_bins=bins, input_kind=kind).eval()
        assert m(x).shape == (3, 10) and m.embed(x).shape == (3, m.latent_dim)
    m = models.AudioModel(10).eval()
    with torch.no_grad():
        out = m.generate(torch.randn(4, m.latent_dim), torch.tensor([0, 1, 2, 9]))
    assert out.shape == (4, 1, 32, 32) and float(out.abs().max()) <= 1.0    # tanh output
    assert list(m.parts) == ["frontend", "encoder", "attention", "residual", "head", "generator"]
    with pytest.raises(models.ModelShapeError):
        m(torch.randn(3, 32, 32))
    with pytest.raises(models.ModelShapeError):
        models.AudioModel(10, input_kind="wave").as_input(out)
    with pytest.raises(ValueError):
        models.AudioModel(10, input_kind="mp3")


def test_image_text_video_models_shapes():
    img = models.ImageModel(10, models.SmallCNN(width=8)).eval()
    x = torch.rand(5, 1, 8, 8)
    assert img(x).shape == (5, 10)
    with torch.no_grad():
        g = img.generate(torch.randn(5, img.latent_dim), torch.arange(5))
    assert g.shape == (5, 1, 8, 8) and 0 <= float(g.min()) and float(g.max()) <= 1

    txt = models.TextModel(vocab_size=20, n_classes=4, max_len=6).eval()
    tokens = torch.tensor([[3, 4, 5, 0, 0, 0], [0, 0, 0, 0, 0, 0]])
    assert txt(tokens).shape == (2, 4)
    gen = txt.as_input(txt.generate(torch.randn(2, txt.latent_dim), torch.tensor([0, 3])))
    assert gen.shape == (2, 6) and gen.dtype == torch.int64 and int(gen.max()) < 20
    with pytest.raises(models.ModelShapeError):
        txt(torch.tensor([[25, 1]]))
    with pytest.raises(models.ModelShapeError):
        txt(torch.ones(1, 9, dtype=torch.int64))

    vid = models.VideoModel(4, frames=8, size=16).eval()
    v = torch.rand(2, 1, 8, 16, 16)
    assert vid(v).shape == (2, 4)
    assert vid.generate(torch.randn(2, vid.latent_dim), torch.tensor([0, 3])).shape == (2, 1, 8, 16, 16)
    with pytest.raises(models.ModelShapeError):
        vid(torch.rand(2, 8, 16, 16))


def test_padding_does_not_change_text_features():
    txt = models.TextModel(vocab_size=20, n_classes=4, max_len=8).eval()
    a = txt.embed(torch.tensor([[3, 4, 5, 0, 0, 0, 0, 0]]))
    b = txt.embed(torch.tensor([[3, 4, 5, 0, 0, 0]]))
    assert torch.allclose(a, b, atol=1e-6)    # padding is zeroed, masked and left out of the mean


def test_resnet_backbone_loads_the_offline_stand_in(offline_quick):
    path = hub.fetch(models.RESNET18)
    assert hub.is_stand_in(path) and (path / "config.json").is_file()
    assert any(p.suffix == ".safetensors" for p in path.iterdir())
    backbone = models.resnet_backbone(size=32).eval()
    with torch.no_grad():
        feats = backbone(torch.rand(2, 1, 8, 8))
    assert feats.shape == (2, backbone.out_dim)
    model = models.ImageModel(10, backbone).eval()
    assert model(torch.rand(3, 1, 8, 8)).shape == (3, 10)

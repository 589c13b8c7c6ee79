"""The dev book's four home-made models: audio, image, text and video, at any size.

Introduced in notebooks 13 (audio) and 14 (image, text, video). Every model here is a
classifier with a generator beside it, and they all share one small interface, so that
:mod:`voicelab.devbook.recipe` can train, fine-tune and ablate any of them with the same code:

* ``model(x)`` returns class logits, shape (n, n_classes);
* ``model.embed(x)`` returns the features the head sees, shape (n, model.latent_dim);
* ``model.generate(z, labels)`` turns latent vectors (n, latent_dim) and class labels (n,)
  into generator output; ``model.as_input(out)`` makes that output a valid model input;
* ``model.parts`` names the sub-networks (``"encoder"``, ``"attention"``, ``"head"``,
  ``"generator"`` ...) that fine-tuning may freeze.

The dev book's "constants" are plain arguments with conventional defaults, so that they can be
measured rather than believed: ``growth`` (how much wider each stage is than the one before:
2.0 usually, the golden ratio phi = 1.618 in the dev book), ``attn_temperature`` (attention
logits are divided by sqrt(d) * temperature: 1.0 usually, pi in the dev book) and
``residual_scale`` (a residual block adds ``scale * f(x)``: 1.0 usually, -1/12 in the dev book).

Shapes: audio (n, 1, n_bins, n_frames) spectrograms or MFCCs, or (n, n_samples) waveforms;
images (n, 1, H, W) in [0, 1]; text (n, max_len) token ids, 0 = padding; video
(n, 1, T, H, W) in [0, 1].
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from ..core import hub, runtime
from ..core.errors import ModelShapeError
from ..core.torchutil import seeded

__all__ = [
    "widths", "MultiScaleConv2d", "Attention", "ResidualBlock", "ConvGenerator",
    "AudioModel", "WaveFrontEnd", "SmallCNN", "HubResNet", "ImageModel", "TextModel",
    "VideoModel", "RESNET18", "resnet_backbone", "count_parameters",
]


def widths(base: int, n: int, growth: float = 2.0) -> list[int]:
    """Channel widths of ``n`` stages: ``round(base * growth**k)`` for k = 0 .. n-1.

    Introduced in notebook 13. ``growth=2`` is the usual doubling (8, 16, 32); the dev book's
    golden ratio ``growth=1.618`` gives Fibonacci-like widths (8, 13, 21).
    """
    if base < 1 or n < 1 or growth <= 0:
        raise ValueError(f"widths needs base >= 1, n >= 1 and growth > 0; got {base}, {n}, {growth}")
    return [max(1, round(base * growth ** k)) for k in range(n)]


def count_parameters(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (all, or only those with ``requires_grad``)."""
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _check_rank(x: torch.Tensor, rank: int, what: str) -> None:
    if x.dim() != rank:
        raise ModelShapeError(f"{what} expects a {rank}-D tensor, got shape {tuple(x.shape)}.")


# ---------------------------------------------------------------------------- building blocks


class MultiScaleConv2d(nn.Module):
    """Three convolutions of different kernel sizes side by side, fused by a 1x1 convolution.

    Introduced in notebook 13 (the dev book's "multi-scale" encoder). Small kernels see fine
    detail (a formant edge), large ones broader shapes (a whole syllable); the 1x1 convolution
    learns how to mix them. Then batch norm and ReLU. (n, c_in, H, W) -> (n, c_out, H, W).
    """

    def __init__(self, c_in: int, c_out: int, kernels: tuple[int, ...] = (3, 5, 7)):
        super().__init__()
        self.branches = nn.ModuleList(
            nn.Conv2d(c_in, c_out, k, padding=k // 2, bias=False) for k in kernels)
        self.fuse = nn.Conv2d(c_out * len(kernels), c_out, 1, bias=False)
        self.norm = nn.BatchNorm2d(c_out)

    def forward(self, x):
        return F.relu(self.norm(self.fuse(torch.cat([b(x) for b in self.branches], dim=1))))


class Attention(nn.Module):
    """Single-head self-attention over a sequence of tokens, with a residual connection.

    Introduced in notebook 13. (n, L, d) -> (n, L, d). Attention weights are
    ``softmax(q k^T / (sqrt(d) * temperature))``: temperature 1 is the standard transformer,
    a larger one (the dev book's pi) spreads the weights more evenly. ``mask`` (n, L), True
    for real tokens, keeps padding out of the weights.
    """

    def __init__(self, dim: int, temperature: float = 1.0):
        super().__init__()
        if temperature <= 0:
            raise ValueError(f"attention temperature must be > 0, got {temperature}")
        self.temperature = float(temperature)
        self.norm = nn.LayerNorm(dim)
        self.qkv = nn.Linear(dim, 3 * dim)
        self.out = nn.Linear(dim, dim)
        self.last_weights = None  # (n, L, L) of the last forward pass, for plots

    def forward(self, x, mask=None):
        q, k, v = self.qkv(self.norm(x)).chunk(3, dim=-1)
        logits = q @ k.transpose(1, 2) / (math.sqrt(x.shape[-1]) * self.temperature)
        if mask is not None:
            logits = logits.masked_fill(~mask[:, None, :], float("-inf"))
        weights = logits.softmax(dim=-1)
        self.last_weights = weights.detach()
        return x + self.out(weights @ v)


class ResidualBlock(nn.Module):
    """Two 3x3 convolutions with batch norm, added back to the input: ``relu(x + scale * f(x))``.

    Introduced in notebook 13. The skip path lets gradients reach early layers unchanged;
    ``scale`` is 1 in a standard ResNet (the dev book uses -1/12). Works for 1-D, 2-D or 3-D
    feature maps (``dims``). Shape unchanged.
    """

    def __init__(self, channels: int, scale: float = 1.0, dims: int = 2):
        super().__init__()
        conv, norm = {1: (nn.Conv1d, nn.BatchNorm1d), 2: (nn.Conv2d, nn.BatchNorm2d),
                      3: (nn.Conv3d, nn.BatchNorm3d)}[dims]
        self.scale = float(scale)
        self.f = nn.Sequential(
            conv(channels, channels, 3, padding=1, bias=False), norm(channels), nn.ReLU(),
            conv(channels, channels, 3, padding=1, bias=False), norm(channels))

    def forward(self, x):
        return F.relu(x + self.scale * self.f(x))


class ConvGenerator(nn.Module):
    """Class-conditional generator: a latent vector and a label in, an image-like tensor out.

    Introduced in notebook 13. ``[z, one_hot(label)]`` goes through a linear layer to a small
    feature map of shape ``start``, then transposed convolutions (stride 2) double every side
    until it is ``out_shape``. 2-D (images, spectrograms) or 3-D (video) from the length of
    ``out_shape`` minus one (its first entry is the channel count). ``out_act`` "tanh" gives
    values in [-1, 1] (the dev book's choice, used for spectrograms), "sigmoid" in [0, 1].
    """

    def __init__(self, latent_dim: int, n_classes: int, out_shape: tuple[int, ...],
                 width: int = 16, n_up: int = 2, out_act: str = "tanh"):
        super().__init__()
        if out_act not in ("tanh", "sigmoid"):
            raise ValueError(f"out_act must be 'tanh' or 'sigmoid', got {out_act!r}")
        self.n_classes, self.out_shape, self.out_act = n_classes, tuple(out_shape), out_act
        sides = self.out_shape[1:]
        if any(s % 2 ** n_up for s in sides):
            raise ValueError(f"every side of out_shape {out_shape} must divide by 2**n_up = {2 ** n_up}")
        dims = len(sides)
        convt, norm = {2: (nn.ConvTranspose2d, nn.BatchNorm2d), 3: (nn.ConvTranspose3d, nn.BatchNorm3d)}[dims]
        conv = {2: nn.Conv2d, 3: nn.Conv3d}[dims]
        self.start = (width,) + tuple(s // 2 ** n_up for s in sides)
        self.fc = nn.Linear(latent_dim + n_classes, math.prod(self.start))
        layers, c = [], width
        for _ in range(n_up):
            layers += [convt(c, max(4, c // 2), 4, stride=2, padding=1), norm(max(4, c // 2)), nn.ReLU()]
            c = max(4, c // 2)
        layers.append(conv(c, self.out_shape[0], 3, padding=1))
        self.up = nn.Sequential(*layers)

    def forward(self, z, labels):
        h = torch.cat([z, F.one_hot(labels, self.n_classes).to(z.dtype)], dim=1)
        h = F.relu(self.fc(h)).view(-1, *self.start)
        out = self.up(h)
        return torch.tanh(out) if self.out_act == "tanh" else torch.sigmoid(out)


class _DevModel(nn.Module):
    """What every dev-book model shares: logits from embeddings, generation, freezable parts."""

    latent_dim: int

    def forward(self, x):
        return self.head(self.embed(x))

    def generate(self, z, labels):
        """Generator output for latent vectors ``z`` (n, latent_dim) and labels (n,)."""
        return self.generator(z, labels)

    def as_input(self, out):
        """Turn generator output into a valid model input (identity except for text)."""
        return out

    def reconstruction_loss(self, out, x):
        """How far generator output is from the real input it should rebuild (MSE here)."""
        return F.mse_loss(out, x)

    @property
    def parts(self) -> dict[str, nn.Module]:
        """Named sub-networks, in input-to-output order, for freezing when fine-tuning."""
        return {name: getattr(self, name) for name in self.PARTS}


def _head(d_in: int, n_classes: int, growth: float, dropout: float) -> nn.Sequential:
    hidden = max(4, round(d_in / growth))
    return nn.Sequential(nn.Linear(d_in, hidden), nn.ReLU(), nn.Dropout(dropout),
                         nn.Linear(hidden, n_classes))


# ---------------------------------------------------------------------------- audio (notebook 13)


class WaveFrontEnd(nn.Module):
    """A learnable filter bank for raw waveforms: (n, n_samples) -> (n, 1, n_bins, n_frames).

    Introduced in notebook 13. A strided 1-D convolution (one filter per output bin, ``win``
    samples long, moved by ``hop``), then ``log(1 + |.|)`` like a log spectrogram. It starts
    random and learns its own filters, where a mel spectrogram has them fixed.
    """

    def __init__(self, n_bins: int = 32, win: int = 400, hop: int = 320):
        super().__init__()
        self.hop = hop
        self.conv = nn.Conv1d(1, n_bins, win, stride=hop, padding=win // 2, bias=False)
        self.norm = nn.BatchNorm2d(1)

    def forward(self, y):
        _check_rank(y, 2, "WaveFrontEnd (raw waveform input, n x n_samples)")
        return self.norm(torch.log1p(self.conv(y[:, None]).abs())[:, None])


class AudioModel(_DevModel):
    """The dev book's audio model: multi-scale conv encoder, attention, residual blocks, head, generator.

    Introduced in notebook 13. Input: (n, 1, n_bins, n_frames) for ``input_kind`` "mel" or
    "mfcc" (both sides divisible by 4), or (n, n_samples) for "wave" (then a
    :class:`WaveFrontEnd` makes ``n_bins`` x ``n_samples // hop + 1`` frames first).

    * encoder: :class:`MultiScaleConv2d` (kernels 3, 5, 7) -> max-pool 2 -> conv stride 2
      (widths from :func:`widths` with ``growth``);
    * attention: :class:`Attention` over the (H/4 x W/4) positions of the feature map;
    * residual: :class:`ResidualBlock` -> conv stride 2 -> :class:`ResidualBlock`;
    * head: global average pool -> MLP -> ``n_classes`` logits; ``embed`` is the pooled vector;
    * generator: :class:`ConvGenerator` from (latent, label) to a (1, n_bins, n_frames)
      spectrogram in [-1, 1] (tanh), the same scale as :func:`voicelab.data.synthetic.log_mel` output.
    """

    PARTS = ("frontend", "encoder", "attention", "residual", "head", "generator")

    def __init__(self, n_classes: int, n_bins: int = 32, n_frames: int = 32, input_kind: str = "mel",
                 width: int = 8, growth: float = 2.0, attn_temperature: float = 1.0,
                 residual_scale: float = 1.0, dropout: float = 0.1, hop: int = 320):
        super().__init__()
        if input_kind not in ("mel", "mfcc", "wave"):
            raise ValueError(f"input_kind must be 'mel', 'mfcc' or 'wave', got {input_kind!r}")
        if n_bins % 4 or n_frames % 4:
            raise ValueError(f"n_bins and n_frames must divide by 4, got {n_bins} x {n_frames}")
        self.input_kind, self.n_bins, self.n_frames = input_kind, n_bins, n_frames
        w = widths(width, 3, growth)
        self.frontend = WaveFrontEnd(n_bins, hop=hop) if input_kind == "wave" else nn.Identity()
        self.encoder = nn.Sequential(
            MultiScaleConv2d(1, w[0]), nn.MaxPool2d(2),
            nn.Conv2d(w[0], w[1], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w[1]), nn.ReLU())
        self.attention = Attention(w[1], attn_temperature)
        self.residual = nn.Sequential(
            ResidualBlock(w[1], residual_scale),
            nn.Conv2d(w[1], w[2], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w[2]), nn.ReLU(),
            ResidualBlock(w[2], residual_scale))
        self.latent_dim = w[2]
        self.head = _head(w[2], n_classes, growth, dropout)
        self.generator = ConvGenerator(w[2], n_classes, (1, n_bins, n_frames), width=2 * w[1],
                                       n_up=2, out_act="tanh")

    def embed(self, x):
        if self.input_kind == "wave":
            x = self.frontend(x)
            x = x[..., : x.shape[-1] // 4 * 4]
        _check_rank(x, 4, f"AudioModel({self.input_kind!r}) (n x 1 x bins x frames)")
        h = self.encoder(x)
        n, c, hh, ww = h.shape
        tokens = self.attention(h.flatten(2).transpose(1, 2))
        h = tokens.transpose(1, 2).reshape(n, c, hh, ww)
        return self.residual(h).mean(dim=(2, 3))

    def as_input(self, out):
        if self.input_kind == "wave":
            raise ModelShapeError("The generator makes spectrograms, which an input_kind='wave' model "
                                  "cannot take; make synthetic data with a 'mel' or 'mfcc' model.")
        return out


# ---------------------------------------------------------------------------- image (notebook 14)


class SmallCNN(nn.Module):
    """A small image backbone for QUICK mode: (n, c_in, H, W) -> (n, out_dim) features.

    Introduced in notebook 14. Two conv + batch norm + ReLU stages (the second with stride 2),
    a residual block, then global average pooling.
    """

    def __init__(self, c_in: int = 1, width: int = 16, growth: float = 2.0, residual_scale: float = 1.0):
        super().__init__()
        w = widths(width, 2, growth)
        self.out_dim = w[1]
        self.net = nn.Sequential(
            nn.Conv2d(c_in, w[0], 3, padding=1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(),
            nn.Conv2d(w[0], w[1], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w[1]), nn.ReLU(),
            ResidualBlock(w[1], residual_scale))

    def forward(self, x):
        return self.net(x).mean(dim=(2, 3))


class HubResNet(nn.Module):
    """A pretrained ResNet from the Hugging Face Hub as a backbone: (n, c, H, W) -> (n, out_dim).

    Introduced in notebook 14 (FULL mode). ``folder`` is a transformers ``ResNetModel`` folder
    (``config.json`` + weights), as :func:`voicelab.core.hub.fetch` returns for :data:`RESNET18`.
    Grey images are repeated to three channels, resized to ``size`` pixels and normalised
    with ImageNet's mean and standard deviation, as the ResNet saw in pretraining.
    """

    MEAN, STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)

    def __init__(self, folder, size: int = 64):
        super().__init__()
        from transformers import ResNetModel

        # no "Loading weights" bar and no report of the ImageNet head the checkpoint holds and
        # ResNetModel leaves out: the package prints nothing
        with runtime.quiet():
            self.net = ResNetModel.from_pretrained(str(folder), use_safetensors=None)
        self.out_dim = int(self.net.config.hidden_sizes[-1])
        self.size = size
        self.register_buffer("mean", torch.tensor(self.MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(self.STD).view(1, 3, 1, 1), persistent=False)

    def forward(self, x):
        _check_rank(x, 4, "HubResNet (n x c x H x W)")
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)
        if x.shape[-1] != self.size or x.shape[-2] != self.size:
            x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", align_corners=False)
        return self.net(pixel_values=(x - self.mean) / self.std).pooler_output.flatten(1)


def _write_resnet_stand_in(folder) -> None:
    """A tiny randomly initialised transformers ResNet with the layout of microsoft/resnet-18."""
    from transformers import ResNetConfig, ResNetModel

    config = ResNetConfig(num_channels=3, embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1],
                          layer_type="basic")
    with seeded(0):
        model = ResNetModel(config)
    model.save_pretrained(folder, safe_serialization=True)


def _write_resnet_full_stand_in(folder) -> None:
    """microsoft/resnet-18 at full size with random weights, for the offline FULL rehearsal.

    Its config.json's architecture (stem of 64 channels, four stages of two basic blocks,
    64-128-256-512 channels, 11.7 M parameters) with the 1000-class ImageNet head, saved as
    ResNetForImageClassification in safetensors (~47 MB), as published.
    """
    from transformers import ResNetConfig, ResNetForImageClassification

    config = ResNetConfig(num_channels=3, embedding_size=64, hidden_sizes=[64, 128, 256, 512],
                          depths=[2, 2, 2, 2], layer_type="basic", hidden_act="relu",
                          downsample_in_first_stage=False, num_labels=1000)
    ResNetForImageClassification(config).save_pretrained(folder, safe_serialization=True)


#: ResNet-18 pretrained on ImageNet-1k (Apache-2.0; transformers format): the FULL-mode image
#: backbone, as microsoft/resnet-18 publishes it (:data:`voicelab.core.hub.MANIFEST`).
RESNET18 = hub.asset("resnet-18", stand_in=_write_resnet_stand_in,
                     full_stand_in=_write_resnet_full_stand_in)


def resnet_backbone(size: int = 64) -> HubResNet:
    """The FULL-mode image backbone: :data:`RESNET18` via :func:`voicelab.core.hub.fetch`.

    Introduced in notebook 14. Offline this is the asset's tiny random stand-in
    (``voicelab.core.hub.is_stand_in(voicelab.core.hub.fetch(RESNET18))`` says so).
    """
    return HubResNet(hub.fetch(RESNET18), size=size)


class ImageModel(_DevModel):
    """The dev book's image model: a backbone, a classification head and a conditional generator.

    Introduced in notebook 14. ``backbone`` is any module with an ``out_dim`` attribute that
    maps (n, 1, H, W) images to (n, out_dim) features: :class:`SmallCNN` in QUICK mode, a
    pretrained :class:`HubResNet` in FULL mode. The head's hidden width is ``out_dim / growth``
    (the dev book divides by phi). The generator makes (1, H, W) images in [0, 1].
    """

    PARTS = ("backbone", "head", "generator")

    def __init__(self, n_classes: int, backbone: nn.Module, image_shape=(1, 8, 8),
                 growth: float = 2.0, dropout: float = 0.1):
        super().__init__()
        self.backbone = backbone
        self.latent_dim = int(backbone.out_dim)
        self.head = _head(self.latent_dim, n_classes, growth, dropout)
        self.generator = ConvGenerator(self.latent_dim, n_classes, tuple(image_shape), width=32,
                                       n_up=2, out_act="sigmoid")

    def embed(self, x):
        _check_rank(x, 4, "ImageModel (n x 1 x H x W)")
        return self.backbone(x)


# ---------------------------------------------------------------------------- text (notebook 14)


class TextGenerator(nn.Module):
    """Non-autoregressive text generator: (latent, label) -> (n, max_len, vocab) token logits."""

    def __init__(self, latent_dim: int, n_classes: int, vocab_size: int, max_len: int, hidden: int = 64):
        super().__init__()
        self.n_classes, self.max_len, self.vocab_size = n_classes, max_len, vocab_size
        self.net = nn.Sequential(nn.Linear(latent_dim + n_classes, hidden), nn.ReLU(),
                                 nn.Linear(hidden, max_len * vocab_size))

    def forward(self, z, labels):
        h = torch.cat([z, F.one_hot(labels, self.n_classes).to(z.dtype)], dim=1)
        return self.net(h).view(-1, self.max_len, self.vocab_size)


class TextModel(_DevModel):
    """The dev book's text model: embeddings, conv + attention blocks, a classification head.

    Introduced in notebook 14. Input: (n, max_len) token ids, 0 = padding. Token and position
    embeddings of size ``dim``, then ``n_blocks`` blocks of [residual 1-D convolution (local
    patterns: "not good") -> :class:`Attention` (whole sentence, padding masked)], a mean over
    the real tokens, and an MLP head; padding never changes the features. The generator outputs
    token logits for every position; ``as_input`` takes the most likely token.
    """

    PARTS = ("embedding", "blocks", "head", "generator")

    def __init__(self, vocab_size: int, n_classes: int, max_len: int = 12, dim: int = 32,
                 n_blocks: int = 2, growth: float = 2.0, attn_temperature: float = 1.0,
                 residual_scale: float = 1.0, dropout: float = 0.1):
        super().__init__()
        self.vocab_size, self.max_len = vocab_size, max_len
        self.embedding = nn.ModuleDict({"token": nn.Embedding(vocab_size, dim, padding_idx=0),
                                        "position": nn.Embedding(max_len, dim)})
        self.blocks = nn.ModuleList(nn.ModuleDict({
            "conv": ResidualBlock(dim, residual_scale, dims=1),
            "attention": Attention(dim, attn_temperature)}) for _ in range(n_blocks))
        self.latent_dim = dim
        self.head = _head(dim, n_classes, growth, dropout)
        self.generator = TextGenerator(dim, n_classes, vocab_size, max_len)

    def embed(self, tokens):
        _check_rank(tokens, 2, "TextModel (n x max_len token ids)")
        if tokens.shape[1] > self.max_len:
            raise ModelShapeError(f"TextModel was built for at most {self.max_len} tokens, "
                                  f"got {tokens.shape[1]}; encode with that max_len.")
        if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= self.vocab_size):
            raise ModelShapeError(f"token ids must be in [0, {self.vocab_size}); got "
                                  f"{int(tokens.min())} .. {int(tokens.max())}.")
        mask = tokens != 0
        mask = mask | ~mask.any(dim=1, keepdim=True)  # an all-padding row attends to itself
        pos = torch.arange(tokens.shape[1], device=tokens.device)
        h = self.embedding["token"](tokens) + self.embedding["position"](pos)[None]
        m = mask.unsqueeze(-1).to(h.dtype)
        for block in self.blocks:                # padding is zeroed before every convolution
            h = block["conv"]((h * m).transpose(1, 2)).transpose(1, 2)
            h = block["attention"](h, mask)
        return (h * m).sum(1) / m.sum(1)

    def as_input(self, out):
        return out.argmax(dim=-1)

    def reconstruction_loss(self, out, x):
        return F.cross_entropy(out.reshape(-1, out.shape[-1]), x.reshape(-1))


# ---------------------------------------------------------------------------- video (notebook 14)


class VideoModel(_DevModel):
    """The dev book's video model: per-frame 2-D CNN, 3-D temporal CNN, attention, head, generator.

    Introduced in notebook 14. Input (n, 1, T, H, W), H and W divisible by 4, T by 4.

    * spatial: the same 2-D conv stack on every frame (shapes, not motion): (n*T, 1, H, W) ->
      (n*T, w0, H/2, W/2);
    * temporal: a 3-D convolution over (time, height, width), which can see motion, then a
      spatial average: (n, w1, T) -> T tokens;
    * attention over the T time steps, mean over time, head with dropout;
    * generator: 3-D transposed convolutions from (latent, label) to (1, T, H, W) in [0, 1].
    """

    PARTS = ("spatial", "temporal", "attention", "head", "generator")

    def __init__(self, n_classes: int, frames: int = 8, size: int = 16, width: int = 8,
                 growth: float = 2.0, attn_temperature: float = 1.0, dropout: float = 0.2):
        super().__init__()
        if frames % 4 or size % 4:
            raise ValueError(f"frames and size must divide by 4, got {frames} and {size}")
        w = widths(width, 2, growth)
        self.frames, self.size = frames, size
        self.spatial = nn.Sequential(
            nn.Conv2d(1, w[0], 3, padding=1, bias=False), nn.BatchNorm2d(w[0]), nn.ReLU(),
            nn.MaxPool2d(2))
        self.temporal = nn.Sequential(
            nn.Conv3d(w[0], w[1], 3, padding=1, bias=False), nn.BatchNorm3d(w[1]), nn.ReLU())
        self.attention = Attention(w[1], attn_temperature)
        self.latent_dim = w[1]
        self.head = _head(w[1], n_classes, growth, dropout)
        self.generator = ConvGenerator(w[1], n_classes, (1, frames, size, size), width=16, n_up=2,
                                       out_act="sigmoid")

    def embed(self, x):
        _check_rank(x, 5, "VideoModel (n x 1 x T x H x W)")
        n, _, t, hh, ww = x.shape
        frames = self.spatial(x.transpose(1, 2).reshape(n * t, 1, hh, ww))
        h = frames.view(n, t, *frames.shape[1:]).transpose(1, 2)        # (n, w0, T, H/2, W/2)
        tokens = self.temporal(h).mean(dim=(3, 4)).transpose(1, 2)     # (n, T, w1)
        return self.attention(tokens).mean(dim=1)

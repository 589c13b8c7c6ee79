"""The dev book's recipe, made typed and measurable: train, make synthetic data, fine-tune, ablate.

Introduced in notebook 13 and used again in notebook 14, for every model of
:mod:`voicelab.devbook.models`:

1. :func:`train` a classifier, driven by a :class:`TrainConfig` (the dev book's ``CONFIG``
   dictionary with types, defaults and checked values; :meth:`TrainConfig.from_dict` reads
   such a dictionary). It keeps the weights with the best validation accuracy
   (``best.safetensors``) and, after every epoch, everything needed to resume (``last.pt``),
   both written atomically and read back without unpickling code.
2. :func:`fit_generator` teaches the model's generator to rebuild inputs from the
   classifier's features; :func:`make_synthetic` samples new examples from each class;
   :func:`score_synthetic` scores them (how sure the classifier is of the intended class).
3. :func:`fine_tune`: train again with some parts frozen (``finetune_type`` / ``freeze``),
   on real examples mixed with scored synthetic ones, each weighted.
4. :func:`ablation`: the same model with and without each of the dev book's "constants"
   (:data:`VARIANTS`), several seeds each, summarised by :func:`ablation_table`.

Functions print nothing; progress bars (tqdm) show long loops. ``X`` is a tensor of inputs,
``y`` an int64 tensor of class labels, ``ckpt`` a checkpoint path.
"""
from __future__ import annotations

import copy
import dataclasses
import difflib
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from ..core import files, hub, runtime
from ..core.errors import CheckpointError, ConfigError

__all__ = [
    "PHI", "PI", "RAMANUJAN", "ALPHA", "Constants", "BASELINE", "DEV_BOOK", "VARIANTS",
    "TrainConfig", "ConfigError", "CheckpointError", "History", "train", "fine_tune",
    "frozen_parts", "accuracy", "predict_proba", "load_best", "fit_generator", "make_synthetic",
    "score_synthetic", "devbook_self_score", "RecipeResult", "run_recipe", "format_recipe",
    "AblationRun", "ablation", "compare", "ablation_table", "format_table", "plot_ablation",
]

# ---------------------------------------------------------------------------- the "constants"

PHI = (1 + 5 ** 0.5) / 2          #: golden ratio, 1.618...
PI = math.pi                      #: 3.14159...
RAMANUJAN = -1 / 12               #: the "sum" 1 + 2 + 3 + ... = -1/12 (zeta regularisation)
ALPHA = 1 / 137.035999            #: fine-structure constant, about 1/137


@dataclass(frozen=True)
class Constants:
    """Where the dev book puts its constants, as ordinary hyper-parameters.

    Introduced in notebook 13. Defaults are the conventional values; the dev book uses
    ``growth=PHI`` (stage widths grow by phi instead of doubling), ``attn_temperature=PI``
    (attention logits divided by sqrt(d) * pi), ``residual_scale=RAMANUJAN`` (residual blocks
    add -1/12 * f(x)) and ``weight_decay=ALPHA`` (AdamW's decay 1/137 = 0.0073 instead of its
    default 0.01).
    """

    growth: float = 2.0
    attn_temperature: float = 1.0
    residual_scale: float = 1.0
    weight_decay: float = 0.01

    def model_kwargs(self) -> dict:
        """The constructor arguments of :mod:`voicelab.devbook.models` that these constants set."""
        return {"growth": self.growth, "attn_temperature": self.attn_temperature,
                "residual_scale": self.residual_scale}


BASELINE = Constants()
DEV_BOOK = Constants(growth=PHI, attn_temperature=PI, residual_scale=RAMANUJAN, weight_decay=ALPHA)
#: The ablation's variants: the baseline, each constant alone, and all four together.
VARIANTS: dict[str, Constants] = {
    "baseline": BASELINE,
    "phi widths": Constants(growth=PHI),
    "pi attention": Constants(attn_temperature=PI),
    "-1/12 residual": Constants(residual_scale=RAMANUJAN),
    "1/137 decay": Constants(weight_decay=ALPHA),
    "all four": DEV_BOOK,
}

# ---------------------------------------------------------------------------- configuration


FINETUNE_TYPES = ("full", "head", "partial")
SCHEDULERS = ("cosine", "none")
#: The dev book's spellings, accepted by :meth:`TrainConfig.from_dict`.
ALIASES = {"learning_rate": "lr", "num_epochs": "epochs", "finetuning_type": "finetune_type"}


@dataclass
class TrainConfig:
    """Everything :func:`train` and :func:`fine_tune` need to know. Introduced in notebook 13.

    ``finetune_type`` says what trains: "full" (everything), "head" (only the classification
    head) or "partial" (the head and the part just before it; earlier parts frozen).
    ``freeze`` names more parts to freeze (keys of ``model.parts``). Synthetic examples
    count with weight ``synthetic_weight * score`` (real ones with 1) and are dropped when
    their score is below ``min_score``. ``ckpt_dir=None`` keeps nothing on disk.
    """

    epochs: int = 10
    batch_size: int = 32
    lr: float = 3e-3
    weight_decay: float = 0.01
    scheduler: str = "cosine"
    label_smoothing: float = 0.0
    seed: int = 0
    device: str = "cpu"
    ckpt_dir: str | None = None
    resume: bool = True
    restore_best: bool = True
    finetune_type: str = "full"
    freeze: tuple[str, ...] = ()
    synthetic_weight: float = 0.5
    min_score: float = 0.5
    progress: bool = True

    def __post_init__(self):
        if isinstance(self.freeze, str):
            self.freeze = (self.freeze,)
        self.freeze = tuple(self.freeze)
        if self.ckpt_dir is not None:
            self.ckpt_dir = str(self.ckpt_dir)
        checks = [
            (isinstance(self.epochs, int) and self.epochs >= 1, "epochs must be an integer >= 1"),
            (isinstance(self.batch_size, int) and self.batch_size >= 1,
             "batch_size must be an integer >= 1"),
            (self.lr > 0, "lr must be > 0"),
            (self.weight_decay >= 0, "weight_decay must be >= 0"),
            (self.scheduler in SCHEDULERS, f"scheduler must be one of {SCHEDULERS}"),
            (0 <= self.label_smoothing < 1, "label_smoothing must be in [0, 1)"),
            (self.finetune_type in FINETUNE_TYPES, f"finetune_type must be one of {FINETUNE_TYPES}"),
            (all(isinstance(p, str) for p in self.freeze), "freeze must be a tuple of part names"),
            (self.synthetic_weight >= 0, "synthetic_weight must be >= 0"),
            (0 <= self.min_score <= 1, "min_score must be in [0, 1]"),
        ]
        bad = [msg for ok, msg in checks if not ok]
        if bad:
            raise ConfigError("TrainConfig: " + "; ".join(bad) + f" (got {self.to_dict()}).")

    @classmethod
    def from_dict(cls, config: Mapping[str, object]) -> "TrainConfig":
        """Build a config from a plain dictionary like the dev book's ``CONFIG``.

        The dev book's spellings ``learning_rate``, ``num_epochs`` and ``finetuning_type`` are
        accepted. An unknown key raises :class:`ConfigError` naming it and the closest valid one,
        where a plain dictionary would silently ignore the typo.
        """
        names = [f.name for f in dataclasses.fields(cls)]
        kwargs = {}
        for key, value in config.items():
            name = ALIASES.get(key, key)
            if name not in names:
                close = difflib.get_close_matches(name, names + list(ALIASES), n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise ConfigError(f"Unknown config key {key!r}.{hint} Valid keys: {', '.join(names)}.")
            kwargs[name] = value
        return cls(**kwargs)

    def to_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}


# ---------------------------------------------------------------------------- helpers


def predict_proba(model: nn.Module, X, batch_size: int = 256) -> torch.Tensor:
    """Class probabilities (n, n_classes) in evaluation mode, on the model's device."""
    device = next(model.parameters()).device
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            out = [model(X[i:i + batch_size].to(device)).softmax(-1).cpu()
                   for i in range(0, len(X), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(out)


def accuracy(model: nn.Module, X, y) -> float:
    """Fraction of ``X`` whose most likely class is ``y``. Introduced in notebook 13."""
    if len(X) == 0:
        raise ValueError("accuracy of an empty set: give at least one example")
    return float((predict_proba(model, X).argmax(-1) == y.cpu()).float().mean())


def frozen_parts(model: nn.Module, config: TrainConfig) -> list[str]:
    """Names of ``model.parts`` that stay fixed under ``config`` (the generator always does).

    Introduced in notebook 14. "head": every part but the head; "partial": every part before
    the head except the last one; plus ``config.freeze``. Unknown names raise ConfigError.
    """
    parts = list(model.parts)
    unknown = [p for p in config.freeze if p not in parts]
    if unknown:
        raise ConfigError(f"freeze={config.freeze}: this {type(model).__name__} has no part "
                          f"{unknown}; its parts are {parts}.")
    features = [p for p in parts if p not in ("head", "generator")]
    frozen = set(config.freeze) | {"generator"}
    if config.finetune_type == "head":
        frozen |= set(features)
    elif config.finetune_type == "partial":
        frozen |= set(features[:-1])
    return [p for p in parts if p in frozen]


def load_best(model: nn.Module, ckpt) -> nn.Module:
    """Load weights saved by :func:`train` (``best.safetensors``, or a folder holding it).

    Introduced in notebook 13. Read with :func:`voicelab.core.hub.load_weights` (no code can run).
    A checkpoint of a differently shaped model raises :class:`CheckpointError`.
    """
    path = Path(ckpt)
    if path.is_dir():
        path = path / "best.safetensors"
    state = hub.load_weights(path)
    try:
        model.load_state_dict(state)
    except RuntimeError as e:
        raise CheckpointError(f"{path} does not fit this {type(model).__name__} (it was saved "
                              f"from a model of another size): {str(e).splitlines()[0]}") from e
    return model


@dataclass
class History:
    """What :func:`train` did: one entry per epoch (all epochs, resumed ones included)."""

    train_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    best_epoch: int = 0            # 1-based; 0 = none yet
    best_val_acc: float = -1.0
    frozen: list[str] = field(default_factory=list)
    trainable: int = 0             # number of trainable parameters
    resumed_from: int = 0          # epochs already done when this call started
    n_real: int = 0
    n_synthetic: int = 0           # synthetic examples used (after min_score)
    ckpt: Path | None = None       # best.safetensors, when ckpt_dir was given


def _fingerprint(config: TrainConfig, n_examples: int, model: nn.Module) -> str:
    keep = ("epochs", "batch_size", "lr", "weight_decay", "scheduler", "label_smoothing", "seed",
            "finetune_type", "freeze", "synthetic_weight", "min_score")
    d = {k: getattr(config, k) for k in keep}
    d.update(freeze=list(config.freeze), n_examples=n_examples, model=type(model).__name__)
    return json.dumps(d, sort_keys=True)


def _mix(train_set, synthetic, config: TrainConfig):
    """Real and synthetic examples in one set, with per-example weights (real: 1)."""
    X, y = train_set
    w = torch.ones(len(y))
    n_syn = 0
    if synthetic is not None and config.synthetic_weight > 0:
        Xs, ys, scores = synthetic
        if not (len(Xs) == len(ys) == len(scores)):
            raise ValueError(f"synthetic = (X, y, scores) must have equal lengths, got "
                             f"{len(Xs)}, {len(ys)}, {len(scores)}")
        keep = torch.as_tensor(scores) >= config.min_score
        n_syn = int(keep.sum())
        X = torch.cat([X, Xs[keep].to(X.dtype)])
        y = torch.cat([y, ys[keep]])
        w = torch.cat([w, config.synthetic_weight * torch.as_tensor(scores, dtype=torch.float32)[keep]])
    return X, y, w, n_syn


# ---------------------------------------------------------------------------- training


def train(model: nn.Module, train_set, val_set, config: TrainConfig | None = None,
          synthetic=None) -> History:
    """Train ``model`` on ``train_set = (X, y)``, choosing the best epoch on ``val_set``.

    Introduced in notebook 13. AdamW (``lr``, ``weight_decay``) with a cosine schedule over
    ``epochs``; cross-entropy weighted per example (see :class:`TrainConfig` for synthetic
    examples, given as ``synthetic = (X_syn, y_syn, scores)``). Parts frozen by
    :func:`frozen_parts` keep their weights and their batch-norm statistics.

    With ``config.ckpt_dir``: after each epoch ``last.pt`` (weights, optimiser, schedule, random
    state, history) and, when validation accuracy improved, ``best.safetensors``. With
    ``resume=True`` an interrupted run continues where ``last.pt`` stopped and ends exactly as
    an uninterrupted one would; a folder from a different run raises :class:`CheckpointError`;
    ``resume=False`` starts over in that folder. With ``restore_best=True`` the model ends with
    its best weights, in evaluation mode, every part trainable again.
    """
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    config = config or TrainConfig()
    device = torch.device(config.device)
    model.to(device)
    X, y, w, n_syn = _mix(train_set, synthetic, config)
    X_val, y_val = val_set
    if len(y) == 0 or len(y_val) == 0:
        raise ValueError("train needs at least one training and one validation example")
    frozen = frozen_parts(model, config)
    for name, part in model.parts.items():
        part.requires_grad_(name not in frozen)
    params = [p for p in model.parameters() if p.requires_grad]
    if not params:
        raise ConfigError(f"Nothing left to train: parts {frozen} are frozen. Use a finetune_type "
                          "or freeze list that leaves at least the head trainable.")
    opt = torch.optim.AdamW(params, lr=config.lr, weight_decay=config.weight_decay)
    sched = (torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=config.epochs)
             if config.scheduler == "cosine" else None)
    hist = History(frozen=frozen, trainable=sum(p.numel() for p in params),
                   n_real=len(train_set[1]), n_synthetic=n_syn)
    fingerprint = _fingerprint(config, len(y), model)
    ckpt_dir = Path(config.ckpt_dir) if config.ckpt_dir else None
    last = ckpt_dir / "last.pt" if ckpt_dir else None
    best_state = None

    if last is not None and last.exists() and config.resume:
        state = hub.load_weights(last)
        if state.get("fingerprint") != fingerprint:
            raise CheckpointError(
                f"{last} belongs to a different run (another config, data size or model), so it "
                "cannot be resumed. Use a new ckpt_dir, or resume=False to start over here.")
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        if sched is not None:
            sched.load_state_dict(state["scheduler"])
        torch.set_rng_state(state["rng"])
        hist.train_loss = state["train_loss"].tolist()
        hist.val_acc = state["val_acc"].tolist()
        hist.best_epoch, hist.best_val_acc = int(state["best_epoch"]), float(state["best_val_acc"])
        hist.resumed_from = len(hist.train_loss)
    elif ckpt_dir is not None:
        for name in ("last.pt", "best.safetensors"):
            (ckpt_dir / name).unlink(missing_ok=True)

    bar = tqdm(range(hist.resumed_from, config.epochs), desc="train", disable=not config.progress,
               initial=hist.resumed_from, total=config.epochs, unit="epoch", mininterval=2)
    for epoch in bar:
        model.train()
        for name in frozen:
            model.parts[name].eval()
        order = torch.randperm(len(y), generator=torch.Generator().manual_seed(
            config.seed * 100_003 + epoch))
        total, weight = 0.0, 0.0
        for i in range(0, len(y), config.batch_size):
            idx = order[i:i + config.batch_size]
            xb, yb, wb = X[idx].to(device), y[idx].to(device), w[idx].to(device)
            losses = F.cross_entropy(model(xb), yb, reduction="none",
                                     label_smoothing=config.label_smoothing)
            loss = (losses * wb).sum() / wb.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * float(wb.sum())
            weight += float(wb.sum())
        if sched is not None:
            sched.step()
        hist.train_loss.append(total / weight)
        hist.val_acc.append(accuracy(model, X_val, y_val))
        if hist.val_acc[-1] > hist.best_val_acc:
            hist.best_epoch, hist.best_val_acc = epoch + 1, hist.val_acc[-1]
            if ckpt_dir is not None:
                hub.save_weights(model.state_dict(), ckpt_dir / "best.safetensors")
            else:
                best_state = copy.deepcopy(model.state_dict())
        if last is not None:
            files.torch_save({
                "model": model.state_dict(), "optimizer": opt.state_dict(),
                "scheduler": sched.state_dict() if sched is not None else {},
                "rng": torch.get_rng_state(), "fingerprint": fingerprint,
                "train_loss": torch.tensor(hist.train_loss), "val_acc": torch.tensor(hist.val_acc),
                "best_epoch": hist.best_epoch, "best_val_acc": hist.best_val_acc}, last)
        bar.set_postfix(loss=f"{hist.train_loss[-1]:.3f}", val_acc=f"{hist.val_acc[-1]:.2f}")
    bar.close()

    if ckpt_dir is not None and (ckpt_dir / "best.safetensors").exists():
        hist.ckpt = ckpt_dir / "best.safetensors"
    if config.restore_best:
        if hist.ckpt is not None:
            load_best(model, hist.ckpt)
        elif best_state is not None:
            model.load_state_dict(best_state)
    for part in model.parts.values():
        part.requires_grad_(True)
    model.eval()
    return hist


def fine_tune(model: nn.Module, train_set, val_set, config: TrainConfig, synthetic=None,
              start_from=None) -> History:
    """The dev book's fine-tuning step: start from trained weights, freeze, mix in synthetic data.

    Introduced in notebook 13. Loads ``start_from`` (a ``best.safetensors``, its folder, or a
    state dict) when given, then calls :func:`train` with ``config`` (its ``finetune_type`` and
    ``freeze`` choose the frozen parts; ``synthetic = (X_syn, y_syn, scores)`` from
    :func:`make_synthetic` and :func:`score_synthetic`). Give it a ``ckpt_dir`` of its own, not
    the first training's.
    """
    if isinstance(start_from, Mapping):
        model.load_state_dict(start_from)
    elif start_from is not None:
        load_best(model, start_from)
    return train(model, train_set, val_set, config, synthetic=synthetic)


# ---------------------------------------------------------------------------- synthetic data


def _embed_all(model, X, batch_size: int = 256) -> torch.Tensor:
    device = next(model.parameters()).device
    model.eval()
    with torch.no_grad():
        return torch.cat([model.embed(X[i:i + batch_size].to(device)).cpu()
                          for i in range(0, len(X), batch_size)])


def fit_generator(model: nn.Module, X, y, epochs: int = 30, lr: float = 3e-3, batch_size: int = 64,
                  seed: int = 0, progress: bool = True) -> list[float]:
    """Teach ``model.generator`` to rebuild each example from its features and its label.

    Introduced in notebook 13. The classifier is left as it is: its features
    ``model.embed(X)`` are computed once, and only the generator learns, minimising
    ``model.reconstruction_loss`` (mean squared error; cross-entropy over tokens for text).
    Returns the mean loss of every epoch.
    """
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    device = next(model.parameters()).device
    Z = _embed_all(model, X)
    gen = model.generator
    gen.requires_grad_(True)
    gen.train()
    opt = torch.optim.Adam(gen.parameters(), lr=lr)
    g = torch.Generator().manual_seed(seed)
    losses = []
    for _ in tqdm(range(epochs), desc="generator", unit="epoch", disable=not progress, mininterval=2):
        order = torch.randperm(len(y), generator=g)
        total = 0.0
        for i in range(0, len(y), batch_size):
            idx = order[i:i + batch_size]
            loss = model.reconstruction_loss(model.generate(Z[idx].to(device), y[idx].to(device)),
                                             X[idx].to(device))
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            total += float(loss.detach()) * len(idx)
        losses.append(total / len(y))
    model.eval()
    return losses


def make_synthetic(model: nn.Module, X, y, n_per_class: int, seed: int = 0, spread: float = 1.0):
    """New examples from the generator: ``(X_syn, y_syn)``, ``n_per_class`` of every class in y.

    Introduced in notebook 13. For each class the features of its real examples
    (``model.embed``) are summarised by their mean and standard deviation per dimension; new
    feature vectors are drawn from that normal distribution (``spread`` scales the standard
    deviation) and the generator, told the class, turns them into inputs. Call
    :func:`fit_generator` first.
    """
    if n_per_class < 1:
        raise ValueError(f"n_per_class must be >= 1, got {n_per_class}")
    device = next(model.parameters()).device
    Z = _embed_all(model, X)
    g = torch.Generator().manual_seed(seed)
    zs, ys = [], []
    for c in torch.unique(y).tolist():
        Zc = Z[y == c]
        std = Zc.std(0) if len(Zc) > 1 else torch.zeros_like(Zc[0])
        zs.append(Zc.mean(0) + spread * std * torch.randn(n_per_class, Z.shape[1], generator=g))
        ys.append(torch.full((n_per_class,), c, dtype=torch.int64))
    z, labels = torch.cat(zs), torch.cat(ys)
    model.eval()
    with torch.no_grad():
        X_syn = model.as_input(model.generate(z.to(device), labels.to(device))).cpu()
    return X_syn, labels


def score_synthetic(model: nn.Module, X, y) -> torch.Tensor:
    """Score examples in [0, 1]: the model's probability of the class they are meant to be.

    Introduced in notebook 13. 1 means the classifier is sure the example belongs to its
    class; about 1/n_classes means it cannot tell. Note the circle: the judge is the same
    model that the examples will train, so a high score says the examples agree with what it
    already knows, not that they are realistic.
    """
    p = predict_proba(model, X)
    return p[torch.arange(len(y)), y.cpu()]


def devbook_self_score(X, seed: int = 0) -> torch.Tensor:
    """The dev book's "self-evaluation": cosine similarity of each example with random data.

    Introduced in notebook 13 to be measured, not used: for any input that is not made of
    that very noise, the value is near 0 (about ±1/sqrt(size of an example)) whatever the
    example looks like, so it cannot tell a good example from a bad one.
    """
    flat = torch.as_tensor(X, dtype=torch.float32).flatten(1)
    noise = torch.randn(flat.shape, generator=torch.Generator().manual_seed(seed))
    return F.cosine_similarity(flat, noise, dim=1)


# ---------------------------------------------------------------------------- the whole recipe


@dataclass
class RecipeResult:
    """What :func:`run_recipe` measured. Accuracies are on the test set."""

    history: History                 # the first training
    acc_before: float                # after the first training, before fine-tuning
    synthetic: tuple                 # (X_syn, y_syn, scores)
    generator_loss: list[float]
    fine: dict[str, list[float]]     # "real only" / "real + synthetic": one accuracy per seed
    frozen: list[str]
    effect: dict                     # compare(real + synthetic, real only)


def run_recipe(make_model: Callable[[], nn.Module], train_set, val_set, test_set, config: TrainConfig,
               finetune: TrainConfig, n_per_class: int = 20, generator_epochs: int = 30,
               seeds=(0, 1, 2), progress: bool = True) -> tuple[nn.Module, RecipeResult]:
    """The dev book's recipe in one call: train, make and score synthetic data, fine-tune twice.

    Introduced in notebook 14 (notebook 13 takes the same steps one by one). Trains
    ``make_model()`` with ``config`` (best epoch kept), measures it on ``test_set``, fits its
    generator, makes ``n_per_class`` synthetic examples per class and scores them, then for
    every seed fine-tunes a copy from the best weights with ``finetune`` twice: on real data
    only (the control) and on real + synthetic data. Returns the trained model and a
    :class:`RecipeResult`.
    """
    model = make_model()
    history = train(model, train_set, val_set, dataclasses.replace(config, progress=progress))
    start = copy.deepcopy(model.state_dict())
    acc_before = accuracy(model, *test_set)
    gen_loss = fit_generator(model, *train_set, epochs=generator_epochs, seed=config.seed,
                             progress=progress)
    X_syn, y_syn = make_synthetic(model, *train_set, n_per_class=n_per_class, seed=config.seed)
    scores = score_synthetic(model, X_syn, y_syn)
    fine = {"real only": [], "real + synthetic": []}
    frozen: list[str] = []
    for condition in fine:
        for seed in seeds:
            cfg = dataclasses.replace(finetune, seed=seed, progress=False,
                                      synthetic_weight=finetune.synthetic_weight
                                      if condition != "real only" else 0.0)
            runtime.seed_everything(seed)
            tuned = make_model()
            frozen = fine_tune(tuned, train_set, val_set, cfg, synthetic=(X_syn, y_syn, scores),
                               start_from=start).frozen
            fine[condition].append(accuracy(tuned, *test_set))
    return model, RecipeResult(history, acc_before, (X_syn, y_syn, scores), gen_loss, fine, frozen,
                               compare(fine["real + synthetic"], fine["real only"]))


def format_recipe(result: RecipeResult, min_score: float = 0.5) -> str:
    """A few lines of text summarising a :class:`RecipeResult`, numbers to 2 decimals."""
    import numpy as np

    h = result.history
    _, _, scores = result.synthetic
    n_seeds = len(next(iter(result.fine.values())))
    lines = [f"test accuracy after training: {result.acc_before:.2f} (best epoch {h.best_epoch} "
             f"of {len(h.val_acc)}, validation {h.best_val_acc:.2f})",
             f"synthetic examples: {len(scores)}, mean score {float(scores.mean()):.2f}, "
             f"{int((scores >= min_score).sum())} with score >= {min_score}",
             f"fine-tuned with {', '.join(p for p in result.frozen if p != 'generator') or 'nothing'} "
             f"frozen, test accuracy over {n_seeds} seeds:"]
    for condition, accs in result.fine.items():
        sd = np.std(accs, ddof=1) if len(accs) > 1 else 0.0
        lines.append(f"  {condition:18s} {np.mean(accs):.2f} ± {sd:.2f}")
    e = result.effect
    sd = "" if math.isnan(e["diff_sd"]) else f" ± {e['diff_sd']:.2f}"
    lines.append(f"  synthetic effect   {e['diff']:+.2f}{sd} -> {e['verdict']}")
    return "\n".join(lines)


# ---------------------------------------------------------------------------- ablation


@dataclass
class AblationRun:
    """One training run of the ablation: a variant, a seed, and what came out."""

    variant: str
    seed: int
    params: int
    train_loss: list[float]
    val_acc: list[float]
    test_acc: float


def ablation(make_model: Callable[[Constants], nn.Module], train_set, val_set, test_set,
             config: TrainConfig, variants: Mapping[str, Constants] | None = None,
             seeds=(0, 1, 2), progress: bool = True) -> list[AblationRun]:
    """Train one model per (variant, seed) and measure each on ``test_set``.

    Introduced in notebook 13. ``make_model(constants)`` builds a fresh model from a
    :class:`Constants` (e.g. ``lambda c: AudioModel(10, **c.model_kwargs())``); the variant's
    ``weight_decay`` replaces the config's. Everything random (initial weights, batch order,
    dropout) is seeded by the seed alone, so two variants with the same seed differ only by
    their constants. Runs keep nothing on disk and end with their last epoch's weights.
    """
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    variants = dict(VARIANTS if variants is None else variants)
    if not variants or not seeds:
        raise ValueError("ablation needs at least one variant and one seed")
    runs = []
    jobs = [(name, seed) for name in variants for seed in seeds]
    for name, seed in tqdm(jobs, desc="ablation", unit="run", disable=not progress, mininterval=2):
        constants = variants[name]
        runtime.seed_everything(seed)
        model = make_model(constants)
        cfg = dataclasses.replace(config, seed=seed, weight_decay=constants.weight_decay,
                                  ckpt_dir=None, restore_best=False, progress=False)
        hist = train(model, train_set, val_set, cfg)
        runs.append(AblationRun(name, seed, sum(p.numel() for n, p in model.named_parameters()
                                                if not n.startswith("generator.")),
                                hist.train_loss, hist.val_acc, accuracy(model, *test_set)))
    return runs


def compare(values, baseline_values, alpha: float = 0.05) -> dict:
    """Paired comparison of two lists of scores, one per seed (same seeds, same order).

    Introduced in notebook 13. Returns ``diff`` (mean of value - baseline), ``diff_sd``
    (their standard deviation), ``p`` (two-sided paired t-test; NaN with fewer than two seeds
    or differences that never vary) and ``verdict``: "better" or "worse" when ``p < alpha``,
    else "no clear difference". With three seeds only large, consistent effects pass.
    """
    import numpy as np
    from scipy import stats

    a, b = np.asarray(values, float), np.asarray(baseline_values, float)
    if a.shape != b.shape or a.size == 0:
        raise ValueError(f"compare needs two equally long, non-empty lists; got {a.size} and {b.size}")
    diffs = a - b
    p = float("nan")
    if diffs.size > 1 and diffs.std() > 0:
        p = float(stats.ttest_1samp(diffs, 0.0).pvalue)
    verdict = "no clear difference"
    if p < alpha:
        verdict = "better" if diffs.mean() > 0 else "worse"
    return {"diff": float(diffs.mean()), "diff_sd": float(diffs.std(ddof=1)) if diffs.size > 1
            else float("nan"), "p": p, "verdict": verdict}


def ablation_table(runs: list[AblationRun], baseline: str = "baseline", alpha: float = 0.05) -> list[dict]:
    """One row per variant: mean and standard deviation over seeds, and the paired comparison.

    Introduced in notebook 13. Columns: ``variant``, ``params`` (classifier only), ``seeds``,
    ``test_acc`` / ``test_sd``, ``final_loss`` / ``loss_sd`` (last epoch's training loss),
    and from :func:`compare` against the baseline's runs with the same seeds: ``diff``,
    ``diff_sd``, ``p`` and ``verdict`` (the baseline's own row says "baseline").
    """
    import numpy as np

    names = list(dict.fromkeys(r.variant for r in runs))
    if baseline not in names:
        raise ValueError(f"no runs of the baseline {baseline!r}; variants present: {names}")
    base = {r.seed: r.test_acc for r in runs if r.variant == baseline}
    rows = []
    for name in names:
        mine = [r for r in runs if r.variant == name]
        acc = np.array([r.test_acc for r in mine])
        loss = np.array([r.train_loss[-1] for r in mine])
        ddof = 1 if len(mine) > 1 else 0
        row = {"variant": name, "params": mine[0].params, "seeds": len(mine),
               "test_acc": float(acc.mean()), "test_sd": float(acc.std(ddof=ddof)),
               "final_loss": float(loss.mean()), "loss_sd": float(loss.std(ddof=ddof))}
        paired = [r for r in mine if r.seed in base]
        if name == baseline:
            row.update(diff=0.0, diff_sd=float("nan"), p=float("nan"), verdict="baseline")
        elif paired:
            row.update(compare([r.test_acc for r in paired], [base[r.seed] for r in paired], alpha))
        else:
            row.update(diff=float("nan"), diff_sd=float("nan"), p=float("nan"),
                       verdict="no common seeds")
        rows.append(row)
    return rows


def format_table(rows: list[dict]) -> str:
    """The rows of :func:`ablation_table` as an aligned text table, numbers to 2 decimals."""
    lines = [f"{'variant':16s} {'params':>7s} {'test acc':>13s} {'final loss':>13s} "
             f"{'vs baseline':>14s} {'p':>5s}  verdict"]
    for r in rows:
        diff = "" if math.isnan(r["diff_sd"]) else f"{r['diff']:+.2f} ± {r['diff_sd']:.2f}"
        p = "" if math.isnan(r["p"]) else f"{r['p']:.2f}"
        lines.append(f"{r['variant']:16s} {r['params']:7d} {r['test_acc']:6.2f} ± {r['test_sd']:.2f} "
                     f"{r['final_loss']:6.2f} ± {r['loss_sd']:.2f} {diff:>14s} {p:>5s}  {r['verdict']}")
    return "\n".join(lines)


def plot_ablation(runs: list[AblationRun], axes=None):
    """Training loss and validation accuracy per epoch: mean line and ±1 sd band per variant.

    Introduced in notebook 13. Returns the two matplotlib axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if axes is None:
        _, axes = plt.subplots(1, 2, figsize=(9, 3.2))
    for name in dict.fromkeys(r.variant for r in runs):
        mine = [r for r in runs if r.variant == name]
        for ax, key in zip(axes, ("train_loss", "val_acc")):
            curves = np.array([getattr(r, key) for r in mine])
            epochs = np.arange(1, curves.shape[1] + 1)
            mean, sd = curves.mean(0), curves.std(0)
            line, = ax.plot(epochs, mean, label=name)
            ax.fill_between(epochs, mean - sd, mean + sd, color=line.get_color(), alpha=0.15)
    axes[0].set(xlabel="epoch", ylabel="training loss", title="training loss (mean ± sd)")
    axes[1].set(xlabel="epoch", ylabel="validation accuracy", title="validation accuracy (mean ± sd)")
    axes[1].legend(fontsize=7)
    return axes

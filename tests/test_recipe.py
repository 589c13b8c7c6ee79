"""voicelab.devbook.recipe: typed config, training with best checkpoint and exact resume, fine-tuning with
frozen parts and weighted synthetic data, generator, scores, recipe and the constants ablation.

Everything trains a tiny image model on 900 scikit-learn digits for a few epochs (seconds).
"""
from __future__ import annotations

import math

import matplotlib
import pytest
import torch

from voicelab.core import hub
from voicelab.core.errors import UnsafeModelError
from voicelab.data import digits
from voicelab.devbook import models, recipe

matplotlib.use("Agg")


@pytest.fixture(autouse=True)
def one_thread():
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(old)


@pytest.fixture(scope="module")
def sets():
    X, y = digits.load()
    X_tr, y_tr, X_te, y_te = digits.split(X[:1200], y[:1200], 0.25, seed=0)
    n = len(y_tr)
    return (X_tr[: n * 3 // 4], y_tr[: n * 3 // 4]), (X_tr[n * 3 // 4:], y_tr[n * 3 // 4:]), (X_te, y_te)


def small(seed=0, constants=recipe.BASELINE):
    torch.manual_seed(seed)
    return models.ImageModel(10, models.SmallCNN(width=8, growth=constants.growth,
                                                 residual_scale=constants.residual_scale),
                             growth=constants.growth)


CFG = recipe.TrainConfig(epochs=4, batch_size=32, lr=1e-2, progress=False)


@pytest.fixture(scope="module")
def trained(sets, tmp_path_factory):
    ckpt_dir = tmp_path_factory.mktemp("trained")
    model = small()
    hist = recipe.train(model, *sets[:2], recipe.TrainConfig(**{**CFG.to_dict(), "ckpt_dir": ckpt_dir}))
    return model, hist


# ---------------------------------------------------------------------------- configuration


def test_config_from_dict_accepts_dev_book_spellings_and_refuses_typos():
    cfg = recipe.TrainConfig.from_dict({"learning_rate": 1e-3, "num_epochs": 3,
                                         "finetuning_type": "head", "freeze": ["encoder"]})
    assert (cfg.lr, cfg.epochs, cfg.finetune_type, cfg.freeze) == (1e-3, 3, "head", ("encoder",))
    with pytest.raises(recipe.ConfigError, match="learning_rate"):
        recipe.TrainConfig.from_dict({"learnig_rate": 1e-3})
    for bad in ({"epochs": 0}, {"lr": -1.0}, {"finetune_type": "some"}, {"min_score": 2.0},
                {"scheduler": "step"}, {"batch_size": 2.5}):
        with pytest.raises(recipe.ConfigError):
            recipe.TrainConfig(**bad)
    assert issubclass(recipe.ConfigError, ValueError)


def test_frozen_parts():
    audio = models.AudioModel(10, width=4)
    parts = lambda **kw: recipe.frozen_parts(audio, recipe.TrainConfig(**kw))  # noqa: E731
    assert parts() == ["generator"]
    assert parts(finetune_type="head") == ["frontend", "encoder", "attention", "residual", "generator"]
    assert parts(finetune_type="partial") == ["frontend", "encoder", "attention", "generator"]
    assert parts(freeze=("encoder",)) == ["encoder", "generator"]
    with pytest.raises(recipe.ConfigError, match="backbone"):
        parts(freeze=("backbone",))


def test_constants():
    assert math.isclose(recipe.PHI ** 2, recipe.PHI + 1)
    assert recipe.DEV_BOOK.model_kwargs() == {"growth": recipe.PHI, "attn_temperature": math.pi,
                                               "residual_scale": -1 / 12}
    assert 0.0072 < recipe.ALPHA < 0.0073 and list(recipe.VARIANTS)[0] == "baseline"


# ---------------------------------------------------------------------------- training


def test_training_learns_and_keeps_the_best_epoch(trained, sets):
    model, hist = trained
    assert len(hist.train_loss) == len(hist.val_acc) == 4 and hist.train_loss[-1] < hist.train_loss[0]
    assert hist.best_val_acc == max(hist.val_acc) == hist.val_acc[hist.best_epoch - 1]
    assert recipe.accuracy(model, *sets[1]) == pytest.approx(hist.best_val_acc)   # restored best
    assert recipe.accuracy(model, *sets[2]) > 0.8
    assert recipe.accuracy(small(seed=1), *sets[2]) < 0.3        # an untrained model is not
    assert hist.ckpt.name == "best.safetensors" and hist.ckpt.with_name("last.pt").is_file()
    fresh = recipe.load_best(small(seed=2), hist.ckpt.parent)
    assert recipe.accuracy(fresh, *sets[1]) == pytest.approx(hist.best_val_acc)
    with pytest.raises(recipe.CheckpointError):
        recipe.load_best(models.ImageModel(10, models.SmallCNN(width=4)), hist.ckpt)
    assert not list(hist.ckpt.parent.glob(".*.tmp"))               # no temporary files left


def test_resume_ends_exactly_like_an_uninterrupted_run(sets, tmp_path, monkeypatch):
    cfg = recipe.TrainConfig(epochs=4, lr=1e-2, progress=False, restore_best=False)
    whole = small()
    recipe.train(whole, *sets[:2], cfg)

    calls = {"n": 0}
    real_accuracy = recipe.accuracy

    def crash_in_epoch_3(*args):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt("disconnected")
        return real_accuracy(*args)

    resumable = recipe.TrainConfig(**{**cfg.to_dict(), "ckpt_dir": tmp_path})
    monkeypatch.setattr(recipe, "accuracy", crash_in_epoch_3)
    with pytest.raises(KeyboardInterrupt):
        recipe.train(small(), *sets[:2], resumable)
    monkeypatch.setattr(recipe, "accuracy", real_accuracy)
    torch.manual_seed(123)                                   # the random state is restored from last.pt
    resumed = small(seed=7)                                  # other initial weights: overwritten
    hist = recipe.train(resumed, *sets[:2], resumable)
    assert hist.resumed_from == 2 and len(hist.train_loss) == 4
    for (name, a), b in zip(whole.state_dict().items(), resumed.state_dict().values()):
        assert torch.allclose(a.float(), b.float(), atol=1e-6), name

    other = recipe.TrainConfig(**{**resumable.to_dict(), "lr": 1e-3})
    with pytest.raises(recipe.CheckpointError, match="different run"):
        recipe.train(small(), *sets[:2], other)
    restarted = recipe.train(small(), *sets[:2], recipe.TrainConfig(**{**other.to_dict(), "resume": False}))
    assert restarted.resumed_from == 0


def test_last_checkpoint_is_loaded_without_unpickling(trained):
    _, hist = trained
    state = hub.load_weights(hist.ckpt.with_name("last.pt"))
    assert {"model", "optimizer", "rng", "fingerprint"} <= set(state)


def test_a_checkpoint_with_code_is_refused(sets, tmp_path):
    class Evil:
        def __reduce__(self):
            return (print, ("this would run",))

    torch.save({"fingerprint": Evil()}, tmp_path / "last.pt")
    with pytest.raises(UnsafeModelError):
        recipe.train(small(), *sets[:2], recipe.TrainConfig(epochs=1, progress=False, ckpt_dir=tmp_path))


def test_fine_tune_freezes_parts_and_weights_synthetic_examples(trained, sets):
    model, hist = trained
    start = {k: v.clone() for k, v in model.state_dict().items()}
    X_syn, y_syn = sets[0][0][:50], sets[0][1][:50]
    scores = torch.linspace(0, 1, 50)
    cfg = recipe.TrainConfig(epochs=2, lr=1e-2, finetune_type="head", min_score=0.5,
                              synthetic_weight=0.5, progress=False)
    tuned = small(seed=3)
    ft = recipe.fine_tune(tuned, *sets[:2], cfg, synthetic=(X_syn, y_syn, scores), start_from=hist.ckpt)
    after = tuned.state_dict()
    assert ft.frozen == ["backbone", "generator"] and ft.n_synthetic == int((scores >= 0.5).sum())
    for k in after:                      # weights and batch-norm statistics of frozen parts untouched
        same = torch.equal(after[k], start[k])
        assert same if k.startswith(("backbone.", "generator.")) else True, k
    assert not torch.equal(after["head.0.weight"], start["head.0.weight"])
    assert all(p.requires_grad for p in tuned.parameters())          # unfrozen again afterwards
    real_only = recipe.fine_tune(small(), *sets[:2], recipe.TrainConfig(
        **{**cfg.to_dict(), "synthetic_weight": 0.0}), synthetic=(X_syn, y_syn, scores), start_from=start)
    assert real_only.n_synthetic == 0
    with pytest.raises(recipe.ConfigError, match="Nothing left to train"):
        recipe.train(small(), *sets[:2], recipe.TrainConfig(epochs=1, freeze=("backbone", "head"),
                                                              progress=False))


# ---------------------------------------------------------------------------- synthetic data


def test_generator_synthetic_examples_and_scores(trained, sets):
    model, _ = trained
    losses = recipe.fit_generator(model, *sets[0], epochs=6, progress=False)
    assert losses[-1] < losses[0]
    X_syn, y_syn = recipe.make_synthetic(model, *sets[0], n_per_class=3)
    assert X_syn.shape == (30, 1, 8, 8) and y_syn.tolist() == [c for c in range(10) for _ in range(3)]
    noise = torch.rand(len(sets[1][1]), 1, 8, 8)
    real_score = recipe.score_synthetic(model, *sets[1]).mean()
    noise_score = recipe.score_synthetic(model, noise, sets[1][1]).mean()
    assert real_score > noise_score + 0.4                        # a trained judge separates ...
    untrained = small(seed=5)
    gap = recipe.score_synthetic(untrained, *sets[1]).mean() - recipe.score_synthetic(
        untrained, noise, sets[1][1]).mean()
    assert abs(float(gap)) < 0.2                                  # ... an untrained one cannot
    # the dev book's self-score is about 0 for real digits and for noise alike: it ranks nothing
    assert abs(float(recipe.devbook_self_score(sets[1][0]).mean())) < 0.05
    assert abs(float(recipe.devbook_self_score(noise).mean())) < 0.05


def test_run_recipe(sets):
    model, res = recipe.run_recipe(small, *sets, CFG, recipe.TrainConfig(epochs=1, lr=1e-3,
                                    finetune_type="head", progress=False),
                                    n_per_class=2, generator_epochs=2, seeds=(0, 1), progress=False)
    assert res.acc_before == pytest.approx(recipe.accuracy(model, *sets[2]))
    assert set(res.fine) == {"real only", "real + synthetic"} and all(len(v) == 2 for v in res.fine.values())
    assert res.frozen == ["backbone", "generator"] and len(res.synthetic[0]) == 20
    text = recipe.format_recipe(res)
    assert "real only" in text and "synthetic effect" in text


# ---------------------------------------------------------------------------- ablation


def test_compare_verdicts():
    assert recipe.compare([0.9, 0.91, 0.92, 0.9], [0.5, 0.52, 0.49, 0.5])["verdict"] == "better"
    assert recipe.compare([0.5, 0.52, 0.49, 0.5], [0.9, 0.91, 0.92, 0.9])["verdict"] == "worse"
    noisy = recipe.compare([0.6, 0.4, 0.55], [0.5, 0.5, 0.5])
    assert noisy["verdict"] == "no clear difference" and noisy["p"] > 0.05
    same = recipe.compare([0.5, 0.5], [0.5, 0.5])
    assert same["verdict"] == "no clear difference" and math.isnan(same["p"])
    with pytest.raises(ValueError):
        recipe.compare([1.0], [1.0, 2.0])


def test_ablation_table_from_known_runs():
    def run(variant, seed, acc, loss):
        return recipe.AblationRun(variant, seed, 100, [2.0, loss], [0.5, 0.6], acc)

    runs = [run("baseline", s, a, 0.5) for s, a in enumerate([0.5, 0.6, 0.7])]
    runs += [run("good", s, a, 0.4) for s, a in enumerate([0.7, 0.8, 0.91])]
    rows = {r["variant"]: r for r in recipe.ablation_table(runs)}
    assert rows["baseline"]["verdict"] == "baseline"
    assert rows["good"]["test_acc"] == pytest.approx(0.8033, abs=1e-3)
    assert rows["good"]["test_sd"] == pytest.approx(0.1050, abs=1e-3)
    assert rows["good"]["diff"] == pytest.approx(0.2033, abs=1e-3)
    assert rows["good"]["verdict"] == "better"              # +0.20 in every seed
    text = recipe.format_table(list(rows.values()))
    assert "+0.20 ± 0.01" in text and "better" in text
    with pytest.raises(ValueError):
        recipe.ablation_table(runs[3:])


def test_ablation_runs_each_variant_with_each_seed(sets):
    variants = {"baseline": recipe.BASELINE, "phi widths": recipe.VARIANTS["phi widths"]}
    cfg = recipe.TrainConfig(epochs=1, lr=1e-2, progress=False)
    def make(c):   # no seeding here: ablation seeds everything with the run's seed
        return models.ImageModel(10, models.SmallCNN(width=8, growth=c.growth), growth=c.growth)

    runs = recipe.ablation(make, *sets, cfg, variants=variants, seeds=(0, 1), progress=False)
    assert [(r.variant, r.seed) for r in runs] == [("baseline", 0), ("baseline", 1),
                                                   ("phi widths", 0), ("phi widths", 1)]
    assert runs[2].params < runs[0].params                        # phi widths: a smaller network
    again = recipe.ablation(make, *sets, cfg, variants={"baseline": recipe.BASELINE}, seeds=(1,),
                             progress=False)
    assert again[0].test_acc == runs[1].test_acc and again[0].train_loss == runs[1].train_loss
    axes = recipe.plot_ablation(runs)
    assert len(axes[0].lines) == 2 and len(axes[1].lines) == 2

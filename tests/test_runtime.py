"""voicelab.core.runtime: the QUICK/FULL decision, device choice and the report."""
import random

import numpy as np
import pytest
import torch

from voicelab.core import runtime


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("VOICELAB_QUICK", "CI", "HF_HUB_OFFLINE", "VOICELAB_REHEARSAL_STEPS"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def fake_gpu(monkeypatch, present: bool):
    monkeypatch.setattr(runtime, "_cuda_available", lambda: present)


@pytest.mark.parametrize(
    "env, gpu, expected",
    [
        ({}, False, "QUICK"),                          # no GPU
        ({}, True, "FULL"),                            # GPU, nothing set
        ({"CI": "true"}, True, "QUICK"),               # CI wins over a GPU
        ({"CI": "false"}, True, "FULL"),               # CI=false is not CI
        ({"VOICELAB_QUICK": "1"}, True, "QUICK"),
        ({"VOICELAB_QUICK": "0"}, False, "FULL"),      # forced FULL even without a GPU
        ({"VOICELAB_QUICK": "0", "CI": "1"}, True, "FULL"),
        ({"VOICELAB_QUICK": ""}, False, "QUICK"),      # empty means unset
    ],
)
def test_mode_decision(clean_env, env, gpu, expected):
    fake_gpu(clean_env, gpu)
    for k, v in env.items():
        clean_env.setenv(k, v)
    assert runtime.is_quick() == (expected == "QUICK")
    rt = runtime.detect() if not gpu else None
    if rt is not None:
        assert rt.mode == expected


def test_forced_full_without_gpu_warns_in_reasons(clean_env):
    fake_gpu(clean_env, False)
    clean_env.setenv("VOICELAB_QUICK", "0")
    rt = runtime.detect()
    assert rt.mode == "FULL" and rt.device == "cpu"
    assert any("slow" in r for r in rt.reasons)


def test_offline_rule(clean_env):
    fake_gpu(clean_env, True)
    assert not runtime.is_offline()
    clean_env.setenv("HF_HUB_OFFLINE", "1")
    assert runtime.is_offline()
    clean_env.delenv("HF_HUB_OFFLINE")
    clean_env.setenv("VOICELAB_QUICK", "1")
    assert runtime.is_offline()


def test_pick_follows_mode(clean_env):
    clean_env.setenv("VOICELAB_QUICK", "1")
    assert runtime.pick(2, 2000) == 2
    clean_env.setenv("VOICELAB_QUICK", "0")
    assert runtime.pick(2, 2000) == 2000


def test_steps_are_capped_only_in_a_full_rehearsal(clean_env):
    clean_env.setenv("VOICELAB_QUICK", "0")
    assert runtime.steps(40, 150) == 150 and runtime.steps_cap() is None    # a real FULL run
    clean_env.setenv("VOICELAB_REHEARSAL_STEPS", "3")
    assert runtime.steps(40, 150) == 3 and runtime.steps(40, 2) == 2         # min(full, cap)
    assert runtime.pick(40, 150) == 150                                      # sizes are not capped
    clean_env.setenv("VOICELAB_REHEARSAL_STEPS", "0.01")                     # or a share of FULL
    assert runtime.steps(2000, 20000) == 200 and runtime.steps(8, 20) == 1  # at least one
    assert runtime.steps(2.0, 10.0) == pytest.approx(0.1)                   # seconds stay seconds
    assert runtime.steps(2.0, 10.0, least=0.5) == 0.5                       # never below least
    assert runtime.steps(2.0, 0.2, least=0.5) == 0.2                        # nor above full
    clean_env.setenv("VOICELAB_QUICK", "1")
    assert runtime.steps(40, 150) == 40 and runtime.steps_cap() is None     # QUICK ignores the cap
    clean_env.setenv("VOICELAB_QUICK", "0")
    for bad in ("0", "-2", "ten", "1.5"):                                           # control: nonsense refused
        clean_env.setenv("VOICELAB_REHEARSAL_STEPS", bad)
        with pytest.raises(ValueError, match="VOICELAB_REHEARSAL_STEPS"):
            runtime.steps(40, 150)


def test_report_says_when_steps_are_capped(clean_env):
    fake_gpu(clean_env, False)
    clean_env.setenv("VOICELAB_QUICK", "0")
    assert "REHEARSAL" not in str(runtime.report())                        # control: a FULL run
    clean_env.setenv("VOICELAB_REHEARSAL_STEPS", "2")
    text = str(runtime.report())
    assert text.startswith("voicelab mode: FULL (")
    assert "step counts capped at 2" in text and "not what FULL training reaches" in text
    clean_env.setenv("VOICELAB_REHEARSAL_STEPS", "0.05")
    assert "step counts capped at 5% of FULL" in str(runtime.report())


def test_pick_device_follows_mode_and_a_gpu(clean_env):
    for quick, gpu, expected in (("1", True, "cpu"), ("0", True, "cuda"), ("0", False, "cpu"),
                                 ("1", False, "cpu")):
        clean_env.setenv("VOICELAB_QUICK", quick)
        fake_gpu(clean_env, gpu)
        assert runtime.pick_device() == expected, (quick, gpu)
        assert runtime.pick_device("cuda:1") == "cuda:1"   # a device asked for is kept


def test_quiet_restores_what_it_switched_off():
    import logging
    import warnings

    import huggingface_hub.utils as hf_utils
    from transformers.utils import logging as tf_logging

    root = logging.getLogger()
    level = root.level
    assert tf_logging.is_progress_bar_enabled() and not hf_utils.are_progress_bars_disabled()
    with runtime.quiet():
        assert not tf_logging.is_progress_bar_enabled() and hf_utils.are_progress_bars_disabled()
        assert root.level == logging.ERROR
        with warnings.catch_warnings(record=True) as caught:
            warnings.warn("hidden")
        assert caught == []
    with runtime.quiet(logs=False):   # progress bars only (voicelab.core.hub's stand-ins)
        assert hf_utils.are_progress_bars_disabled() and root.level == level
        with pytest.warns(UserWarning, match="shown"):
            warnings.warn("shown")
    assert tf_logging.is_progress_bar_enabled() and not hf_utils.are_progress_bars_disabled()
    assert root.level == level


def test_report_text_names_mode_device_and_versions(clean_env):
    fake_gpu(clean_env, False)
    clean_env.setenv("CI", "true")
    text = str(runtime.report())
    assert text.startswith("voicelab mode: QUICK (")
    assert "CI is set" in text and "no CUDA GPU" in text
    assert "device: cpu" in text
    for name in ("torch", "torchaudio", "so-vits-svc-fork"):
        assert f"{name} " in text
    assert f"torch {torch.__version__}" in text
    assert "not how good it can get" in text  # QUICK results are labelled as such


def test_report_on_a_gpu(clean_env):
    """With a (faked) GPU, FULL mode uses cuda and reports its memory."""
    fake_gpu(clean_env, True)

    class Props:
        name = "Tesla T4"

    clean_env.setattr(torch.cuda, "get_device_properties", lambda i: Props)
    clean_env.setattr(torch.cuda, "mem_get_info", lambda i: (14e9, 15e9))
    rt = runtime.detect()
    assert (rt.mode, rt.device) == ("FULL", "cuda")
    assert "Tesla T4, 15.0 GB total, 14.0 GB free" in str(rt)
    clean_env.setenv("VOICELAB_QUICK", "1")
    assert runtime.detect().device == "cpu"  # QUICK stays on the CPU for repeatable outputs


def test_colab_detection(clean_env):
    clean_env.delenv("COLAB_RELEASE_TAG", raising=False)
    assert not runtime.is_colab()
    clean_env.setenv("COLAB_RELEASE_TAG", "release-colab_20261101")
    assert runtime.is_colab()


def test_cache_dir_honours_env(clean_env, tmp_path):
    clean_env.setenv("VOICELAB_CACHE", str(tmp_path / "my cache"))
    assert runtime.cache_dir() == tmp_path / "my cache"
    assert (tmp_path / "my cache").is_dir()


def test_cache_dir_is_absolute_when_set_relative(clean_env, tmp_path):
    # svc.prepare reads the cache from inside a temporary folder (pre-hubert): a relative
    # path handed out before that would point somewhere else there.
    clean_env.chdir(tmp_path)
    clean_env.setenv("VOICELAB_CACHE", "cache")
    path = runtime.cache_dir()
    assert path.is_absolute() and path == tmp_path / "cache" and path.is_dir()


def test_seed_everything_repeats():
    runtime.seed_everything(123)
    a = (random.random(), np.random.rand(), torch.rand(1).item())
    runtime.seed_everything(123)
    b = (random.random(), np.random.rand(), torch.rand(1).item())
    assert a == b

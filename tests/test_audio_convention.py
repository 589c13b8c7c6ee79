"""The audio convention of voicelab's public functions (voicelab/__init__.py's docstring): audio
goes in as a path or as an array with its sampling rate, and a rate is never assumed."""
from __future__ import annotations

import importlib
import inspect
import pkgutil
import types

import numpy as np
import pytest

import voicelab

#: Names a public function gives its audio argument.
AUDIO_ARGUMENTS = {"y", "y_or_path", "source", "item", "converted", "wav", "clip"}

def assumed_rates(modules) -> set[str]:
    """Public functions of ``modules`` whose audio argument comes with a default sampling rate."""
    found = set()
    for module in modules:
        for name, obj in vars(module).items():
            if name.startswith("_") or not inspect.isfunction(obj) or obj.__module__ != module.__name__:
                continue
            params = inspect.signature(obj).parameters
            first = next(iter(params), None)
            if first in AUDIO_ARGUMENTS and "sr" in params and params["sr"].default not in (
                    inspect.Parameter.empty, None):
                found.add(f"{module.__name__}.{name}")
    return found


def voicelab_modules():
    return [importlib.import_module(info.name)
            for info in pkgutil.walk_packages(voicelab.__path__, "voicelab.")]


def test_no_public_function_assumes_an_arrays_rate():
    assert assumed_rates(voicelab_modules()) == set()


def test_the_check_finds_an_assumed_rate():   # control: the check above can fail
    fake = types.ModuleType("fake")
    exec("def features(y, sr=16000): pass\ndef fine(y, sr): pass\ndef also_fine(y, sr=None): pass",
         fake.__dict__)
    for f in ("features", "fine", "also_fine"):
        fake.__dict__[f].__module__ = "fake"
    assert assumed_rates([fake]) == {"fake.features"}


def test_the_lessons_tts_helpers_need_the_rate():
    from voicelab.lessons import tts

    y = np.zeros(1600, np.float32)
    for f in (tts.mel, tts.trim, tts.silences):
        with pytest.raises(TypeError, match="sr"):
            f(y)

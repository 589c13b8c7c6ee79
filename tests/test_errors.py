"""One exception module: every error class lives in voicelab.core.errors, is a VoicelabError,
and is what the ``voicelab`` command catches (anything else is a bug and shows its traceback)."""
from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import voicelab
from voicelab import cli
from voicelab.core import errors, runtime


def _modules():
    for info in pkgutil.walk_packages(voicelab.__path__, "voicelab."):
        yield importlib.import_module(info.name)


def _error_classes():
    """``{qualified name: class}`` of every exception class a voicelab module defines."""
    found = {}
    for module in [voicelab, *_modules()]:
        for obj in vars(module).values():
            if (inspect.isclass(obj) and issubclass(obj, BaseException)
                    and obj.__module__.startswith("voicelab")):
                found[f"{obj.__module__}.{obj.__qualname__}"] = obj
    return found


def test_every_error_class_is_defined_in_core_errors():
    # audio.io's _FFmpegFailed is a private signal between two of its functions, never raised
    # to a caller (it becomes an AudioError naming the file), so it stays where it is used.
    elsewhere = sorted(name for name in _error_classes()
                       if not name.startswith("voicelab.core.errors.")
                       and name != "voicelab.audio.io._FFmpegFailed")
    assert elsewhere == [], f"define these in voicelab/core/errors.py: {elsewhere}"


def test_every_error_is_a_voicelab_error_and_a_builtin_one():
    found = [c for name, c in _error_classes().items() if name.startswith("voicelab.core.errors.")]
    warns = [c for c in found if issubclass(c, Warning)]   # warnings live there too, as warnings
    assert warns and all(issubclass(c, UserWarning) and not issubclass(c, errors.VoicelabError)
                         for c in warns)
    classes = [c for c in found if c not in warns]
    assert len(classes) >= 30
    for cls in classes:
        assert issubclass(cls, errors.VoicelabError), cls
        if cls is not errors.VoicelabError:   # what code written without voicelab expects
            assert any(b.__module__ == "builtins" and b is not Exception for b in cls.__mro__[1:]), cls


def test_modules_raise_them_under_the_names_notebooks_use():
    from voicelab.devbook import recipe
    from voicelab.lessons import ssml, tts
    from voicelab.voice import dataset, share, svc

    assert tts.TTSError is errors.TTSError and ssml.SSMLError is errors.SSMLError
    assert dataset.DatasetError is errors.DatasetError and share.ShareError is errors.ShareError
    assert recipe.ConfigError is errors.ConfigError and svc.TrainError is errors.TrainError
    assert voicelab.AudioError is errors.AudioError


def test_unknown_speaker_and_missing_file_errors_read_as_one_line():
    err = errors.UnknownSpeakerError("Speaker 'x' is not in run/config.json; it has: a, b.")
    assert str(err) == "Speaker 'x' is not in run/config.json; it has: a, b."   # no KeyError quotes
    assert isinstance(err, KeyError) and isinstance(err, errors.VoicelabError)
    assert isinstance(errors.MissingFileError("x"), FileNotFoundError)
    assert issubclass(errors.ModelFileNotFoundError, errors.MissingFileError)


def test_cli_reports_voicelab_errors_and_lets_bugs_through(monkeypatch, capsys):
    def missing(seed=None):
        raise errors.MissingFileError("run/logs/44k/config.json is missing: train a model first.")

    monkeypatch.setattr(runtime, "report", missing)
    assert cli.main(["info"]) == 2
    assert capsys.readouterr().err == ("voicelab: error: run/logs/44k/config.json is missing: "
                                       "train a model first.\n")

    def bug(seed=None):
        raise KeyError("a bug, not a user's mistake")

    monkeypatch.setattr(runtime, "report", bug)
    with pytest.raises(KeyError):
        cli.main(["info"])

"""voicelab: the package behind the voicelab course on generative AI for voice.

Five layers, each a subpackage, each importing only from the layers below it::

    cli.py                       the ``voicelab`` command (on top of everything)
    lessons | voice | devbook    the teaching modules | the voice pipeline | the dev book
                                 (side by side: none imports another)
    data                         offline data sets: speech, digits, the dev book's synthetic sets
    audio                        waveforms, spectrograms, WORLD + DTW, the speaker encoder
    core                         runtime, errors, files, hub, torchutil

``pyproject.toml`` ([tool.importlinter]) states the rule and ``tests/test_layers.py`` checks it.
Subpackages are imported on first use (``voicelab.audio``, ``voicelab.voice`` ...), so
``import voicelab`` stays fast; import modules from their layer, e.g.
``from voicelab.voice import svc``.

Conventions of the public functions (the same names in every notebook):

* Audio goes in as a path, or as an array with its sampling rate: ``f(y, sr)`` or a
  ``(y, sr)`` pair. An array without its rate is refused with :class:`AudioError`, never
  assumed to be at some rate. Audio comes out float32, mono ``(n,)`` (``(channels, n)``
  for several channels): as ``(y, sr)``, or ``y`` alone when its rate is the one given (or
  a fixed one its docstring names).
* A spectrogram ``S`` is ``(freq, frames)``, as in librosa: :mod:`voicelab.audio.spectral`,
  the dev book's log-mels (``(n, 1, bands, frames)`` in a batch) and the 80-band log-mel of
  :mod:`voicelab.lessons.tts` alike. Where a model wants frames first (SpeechT5's HiFi-GAN,
  the acoustic model's network) the function that calls it transposes.
* Errors are :class:`VoicelabError` subclasses, all defined in :mod:`voicelab.core.errors`.
"""
from __future__ import annotations

import importlib

from .core.errors import AudioError, ChecksumError, HubOfflineError, UnsafeModelError, VoicelabError

__version__ = "0.1.0"
__all__ = ["AudioError", "ChecksumError", "HubOfflineError", "UnsafeModelError", "VoicelabError",
           "core", "audio", "data", "lessons", "voice", "devbook", "cli"]


def __getattr__(name: str):
    """Import a subpackage on first use: ``voicelab.audio``, ``voicelab.voice`` ..."""
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'voicelab' has no attribute {name!r}")

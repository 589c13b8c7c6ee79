"""voicelab: the package behind the voicelab course on generative AI for voice.

Submodules are imported on first use (``voicelab.audio``, ``voicelab.hub`` ...), so
``import voicelab`` stays fast.
"""
from __future__ import annotations

import importlib

from .errors import AudioError, ChecksumError, HubOfflineError, UnsafeModelError, VoicelabError

__version__ = "0.1.0"
__all__ = ["AudioError", "ChecksumError", "HubOfflineError", "UnsafeModelError", "VoicelabError",
           "audio", "data", "hub", "runtime"]



def __getattr__(name: str):
    """Import a submodule on first use: ``voicelab.audio``, ``voicelab.metrics`` ..."""
    if not name.startswith("_"):
        try:
            return importlib.import_module(f".{name}", __name__)
        except ModuleNotFoundError as err:
            if err.name != f"{__name__}.{name}":
                raise
    raise AttributeError(f"module 'voicelab' has no attribute {name!r}")

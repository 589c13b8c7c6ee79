"""Sound: reading, writing and listening to waveforms, and what is computed from them.

``io`` (load, save, resample, loudness, players; re-exported here, so ``from voicelab import
audio; audio.load(...)`` works), ``spectral`` (STFT, mel, MFCC, pitch, Griffin-Lim),
``world`` (WORLD analysis/synthesis, mel-cepstrum, DTW) and ``speaker`` (Resemblyzer's
pretrained speaker encoder).

May import: :mod:`voicelab.core`.
"""
from .io import *  # noqa: F401,F403  (the audio API of notebook 00 on)
from .io import __all__

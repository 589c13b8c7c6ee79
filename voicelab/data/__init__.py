"""Data sets made offline, so every notebook runs without downloads in QUICK mode.

``speech`` (example speech from espeak-ng and flite, several speakers), ``digits``
(scikit-learn's 8x8 handwritten digits) and ``synthetic`` (the dev book's small sets:
spoken words, pictures with captions, short clips).

May import: :mod:`voicelab.core`, :mod:`voicelab.audio`.
"""

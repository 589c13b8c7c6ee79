"""The teaching modules: one module per idea a notebook teaches.

``generative_vs_discriminative`` (01), ``llm`` (01), ``autoencoder`` (03), ``gan`` (04),
``diffusion`` (05), ``sample_judge`` (04-05: a classifier that scores generated digits),
``embeddings`` (06), ``text``, ``ssml``, ``acoustic`` and ``tts`` (07), ``music`` (12).

May import: :mod:`voicelab.core`, :mod:`voicelab.audio`, :mod:`voicelab.data`;
not :mod:`voicelab.voice` or :mod:`voicelab.devbook` (side by side, independent).
"""

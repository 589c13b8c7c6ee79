"""The voice pipeline: recordings in, a trained voice model, conversions and a shared model.

``separate`` (vocals from music), ``slicing`` (cutting recordings into clips), ``dataset``
(a checked so-vits-svc data set with its report; ``voicelab prep``), ``svc`` (so-vits-svc:
prepare, train, convert), ``baseline`` (the classic WORLD + MLP conversion), ``metrics``
(the score card), ``rvc`` (RVC models and retrieval), ``disclosure`` (labelling audio as
synthetic), ``app`` (the Gradio app) and ``share`` (a Hugging Face-ready folder).

May import: :mod:`voicelab.core`, :mod:`voicelab.audio`, :mod:`voicelab.data`;
not :mod:`voicelab.lessons` or :mod:`voicelab.devbook` (side by side, independent).
"""

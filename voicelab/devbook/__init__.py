"""The dev book (notebooks 13 and 14): how a small audio, image or text model is built.

``recipe`` (the steps from data to an evaluated model, with ablations) and ``models``
(the small models and the pretrained ones they are compared with).

May import: :mod:`voicelab.core`, :mod:`voicelab.audio`, :mod:`voicelab.data`;
not :mod:`voicelab.lessons` or :mod:`voicelab.voice` (side by side, independent).
"""

"""Saying that audio is synthetic: a label in the file's own metadata. Introduced in notebook 11.

:func:`mark_synthetic` writes ``"AI-generated: ..."`` into an audio file's comment; the app
(:mod:`voicelab.voice.app`) labels every conversion so, and an exported Space's model card
(:mod:`voicelab.voice.share`) says so. A label, not a watermark: re-encoding loses it.
"""
from __future__ import annotations

from pathlib import Path

from ..core import files

__all__ = ["SYNTHETIC_TAG", "mark_synthetic", "is_marked_synthetic"]

#: The first words of the metadata comment :func:`mark_synthetic` writes.
SYNTHETIC_TAG = "AI-generated"


def mark_synthetic(path, note: str = "voice conversion") -> Path:
    """Write ``"AI-generated: {note}"`` into an audio file's metadata (comment); return the path.

    Introduced in notebook 11. The samples are unchanged (same format and subtype); the
    file is rewritten atomically. This is disclosure, not a watermark: re-encoding or
    re-recording the audio loses it.
    """
    import soundfile as sf

    from .. import __version__

    path = Path(path)
    info = sf.info(str(path))
    y, sr = sf.read(str(path), dtype="float64", always_2d=True)
    with files.atomic_path(path) as tmp:
        with sf.SoundFile(str(tmp), "w", sr, y.shape[1], subtype=info.subtype,
                          format=info.format) as f:
            f.comment = f"{SYNTHETIC_TAG}: {note}"
            f.software = f"voicelab {__version__}"
            f.write(y)
    return path


def is_marked_synthetic(path) -> bool:
    """True when the file's metadata comment starts with :data:`SYNTHETIC_TAG` (see :func:`mark_synthetic`)."""
    import soundfile as sf

    with sf.SoundFile(str(path)) as f:
        return (f.comment or "").startswith(SYNTHETIC_TAG)

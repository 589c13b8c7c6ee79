"""Cutting a long recording into training clips at its pauses. Introduced in notebook 08.

:func:`slice_recording` plans the cuts (a :class:`SlicePlan`): audioslicer cuts at the first
pause after ``target_seconds``; pieces longer than ``max_seconds`` are cut again at their
quietest pause, and short pieces merge with a neighbour. :func:`quiet_at` checks that a cut
lies in a pause. :mod:`voicelab.voice.dataset` uses it to build a data set.

Words used here: a *frame* is 20 ms of audio measured every 10 ms; its level is its RMS
in dBFS. The *silence threshold* of a recording is 35 dB below its loud parts (the 95th
percentile of frame levels) or 6 dB above its background noise (5th percentile), whichever
is higher. A *pause* is at least ``min_pause`` seconds (0.3 s) of frames below it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

__all__ = ["SlicePlan", "slice_recording", "frame_levels", "silence_threshold", "quiet_at"]

FRAME_S = 0.02                        # frame length (s) for levels
HOP_S = 0.01                          # frame hop (s)
BELOW_LOUD_DB = 35.0                  # silence: this far below the loud parts ...
ABOVE_NOISE_DB = 6.0                  # ... or this far above the noise floor, if higher
KEEP_SILENCE_S = 0.2                  # silence kept at each end of a clip after trimming
MERGE_GAP_S = 1.0                     # short pieces merge with a neighbour at most this far away


# ----------------------------------------------------------------------------- levels


def frame_levels(y, sr: int) -> tuple[np.ndarray, np.ndarray]:
    """Frame levels of mono ``y``: ``(t, db)``, frame centres in seconds and RMS in dBFS.

    Introduced in notebook 08. 20 ms frames every 10 ms; shape ``(frames,)`` each.
    Digital silence is reported as -120 dBFS rather than ``-inf``.
    """
    y = np.asarray(y, dtype=np.float32)
    hop, win = max(1, round(HOP_S * sr)), max(1, round(FRAME_S * sr))
    n = 1 + len(y) // hop
    padded = np.pad(y.astype(np.float64), (win // 2, win - win // 2 + hop))
    power = np.concatenate([[0.0], np.cumsum(padded ** 2)])
    starts = np.arange(n) * hop
    ms = (power[starts + win] - power[starts]) / win
    db = 10.0 * np.log10(np.maximum(ms, 1e-12))
    return starts / sr, db.astype(np.float32)


def silence_threshold(y, sr: int) -> float:
    """Silence threshold of a recording in dBFS (see the module text). Introduced in notebook 08.

    35 dB below the loud parts (95th percentile of frame levels) or 6 dB above the
    background noise (5th percentile), whichever is higher, but never closer than 15 dB
    to the loud parts.
    """
    _, db = frame_levels(y, sr)
    loud = float(np.percentile(db, 95))
    floor = float(np.percentile(db, 5))
    return float(min(max(loud - BELOW_LOUD_DB, floor + ABOVE_NOISE_DB), loud - 15.0))


def quiet_at(y, sr: int, t: float, threshold_db: float, radius: float = 0.02) -> bool:
    """True when every frame within ``radius`` seconds of time ``t`` is below ``threshold_db``.

    Introduced in notebook 08: the measure of "this cut is not inside a word".
    """
    y = np.asarray(y, dtype=np.float32)
    a = max(0, int((t - radius - 2 * FRAME_S) * sr))
    b = min(len(y), int(np.ceil((t + radius + 2 * FRAME_S) * sr)))
    times, db = frame_levels(y[a:b], sr)
    times = times + a / sr
    near = np.abs(times - t) <= radius + 1e-9
    return bool(near.any() and db[near].max() < threshold_db)


# ----------------------------------------------------------------------------- slicing


@dataclass
class SlicePlan:
    """Where a recording is cut. Introduced in notebook 08. All times in seconds.

    ``spans``: ``(start, end)`` of each clip after trimming; ``cuts``: the points where
    the recording was split between two pieces (each inside a pause); ``dropped``:
    ``(start, end, reason)`` of audio left out; ``threshold_db``: the silence threshold.
    """

    spans: list[tuple[float, float]]
    cuts: list[float]
    dropped: list[tuple[float, float, str]]
    threshold_db: float
    problems: list[str] = field(default_factory=list)


def _slicer_ranges(y, sr, threshold_db, target_seconds, min_pause):
    """Run audioslicer and return its chunks as sample ranges [(start, end), ...]."""
    from src.slicer2 import Slicer    # PyPI audio-slicer installs its module as `src`

    class RangeSlicer(Slicer):
        def _apply_slice(self, waveform, begin, end):
            return (begin * self.hop_size, min(len(waveform), end * self.hop_size))

    ms = lambda s: max(10, int(round(s * 1000)))   # noqa: E731
    slicer = RangeSlicer(sr, threshold=threshold_db, min_length=ms(target_seconds),
                         min_interval=ms(min_pause), hop_size=10, max_sil_kept=500)
    out = []
    for chunk in slicer.slice(np.asarray(y, dtype=np.float32)):
        out.append((0, len(y)) if isinstance(chunk, np.ndarray) else chunk)
    return out


def _pauses(silent: np.ndarray, lo: int, hi: int, min_frames: int):
    """Runs of silent frames fully inside frames [lo, hi): list of (first, end) frame indices."""
    runs, start = [], None
    for i in range(lo, hi):
        if silent[i] and start is None:
            start = i
        elif not silent[i] and start is not None:
            if start > lo and i - start >= min_frames:
                runs.append((start, i))
            start = None
    return runs


def slice_recording(y, sr: int, *, min_seconds: float = 3.0, max_seconds: float = 15.0,
                    target_seconds: float = 10.0, min_pause: float = 0.3) -> SlicePlan:
    """Plan clips of ``min_seconds``..``max_seconds`` cut only at pauses. Introduced in notebook 08.

    audioslicer cuts at the first pause after ``target_seconds``; pieces longer than
    ``max_seconds`` are split again at their quietest inner pause (ties: the one nearest the
    middle); a stretch with no pause that stays too long is left out and named in
    ``problems`` instead of being cut inside a word. Pieces shorter than ``min_seconds``
    join a neighbour less than 1 s away if the result fits, else they are dropped.
    """
    if not 0.5 <= min_seconds < max_seconds:
        raise ValueError(f"need 0.5 <= min_seconds < max_seconds, got {min_seconds}, {max_seconds}")
    y = np.asarray(y, dtype=np.float32)
    threshold = silence_threshold(y, sr)
    times, db = frame_levels(y, sr)
    silent = db < threshold
    hop = HOP_S
    min_frames = max(1, int(round(min_pause / hop)))
    keep = int(round(KEEP_SILENCE_S / hop))
    n_frames = len(db)
    problems: list[str] = []
    dropped: list[tuple[float, float, str]] = []
    cuts: list[float] = []

    def frame(sample):
        return min(n_frames, int(round(sample / sr / hop)))

    def trim(a, b):
        """Frames [a, b) without silence at the ends (keeping a little); None if all silent."""
        voiced = np.flatnonzero(~silent[a:b])
        if voiced.size == 0:
            return None
        return max(a, a + voiced[0] - keep), min(b, a + voiced[-1] + 1 + keep)

    def split(a, b, out):
        """Append frame spans of [a, b) no longer than max_seconds, cut at pauses."""
        t = trim(a, b)
        if t is None:
            return
        a, b = t
        if (b - a) * hop <= max_seconds:
            out.append((a, b))
            return
        best = None
        for p0, p1 in _pauses(silent, a, b, min_frames):
            quiet = np.flatnonzero(db[p0:p1] <= db[p0:p1].min() + 1.0) + p0
            cut = int(quiet[np.argmin(np.abs(quiet - (p0 + p1 - 1) / 2))])  # quietest, central
            left, right = trim(a, cut), trim(cut, b)
            if left is None or right is None:
                continue
            # prefer cuts leaving both sides >= min_seconds, then the quietest pause
            # (1 dB steps), then the one nearest the middle
            too_short = ((left[1] - left[0]) * hop < min_seconds
                         or (right[1] - right[0]) * hop < min_seconds)
            level = round(float(np.median(db[p0:p1])))
            key = (too_short, level, abs(cut - (a + b) / 2))
            if best is None or key < best[0]:
                best = (key, cut)
        if best is None:
            reason = (f"{(b - a) * hop:.1f} s of speech without a pause of {min_pause:g} s "
                      f"(longer than max_seconds={max_seconds:g})")
            dropped.append((float(a * hop), float(b * hop), reason))
            return
        _, cut = best
        cuts.append(float(cut * hop))
        split(a, cut, out)
        split(cut, b, out)

    pieces: list[tuple[int, int]] = []
    # audioslicer chooses the cut points (each chunk starts inside a pause); the silence it
    # removes around them is trimmed by split() instead, which keeps KEEP_SILENCE_S of it.
    starts = [s0 for s0, _ in _slicer_ranges(y, sr, threshold, target_seconds, min_pause)[1:]]
    cuts.extend(float(s0 / sr) for s0 in starts)
    bounds = [0, *starts, len(y)]
    for s0, s1 in zip(bounds[:-1], bounds[1:]):
        split(frame(s0), frame(s1), pieces)
    pieces.sort()
    # merge or drop pieces shorter than min_seconds
    merged: list[list[int]] = []
    i = 0
    while i < len(pieces):
        a, b = pieces[i]
        if (b - a) * hop >= min_seconds:
            merged.append([a, b])
            i += 1
            continue
        options = []
        if merged and (a - merged[-1][1]) * hop <= MERGE_GAP_S and (b - merged[-1][0]) * hop <= max_seconds:
            options.append(("prev", b - merged[-1][0]))
        if i + 1 < len(pieces):
            na, nb = pieces[i + 1]
            if (na - b) * hop <= MERGE_GAP_S and (nb - a) * hop <= max_seconds:
                options.append(("next", nb - a))
        if options:
            where = min(options, key=lambda o: o[1])[0]
            if where == "prev":
                _drop_cut(cuts, merged[-1][1] * hop, a * hop)
                merged[-1][1] = b
                i += 1
            else:
                na, nb = pieces[i + 1]
                _drop_cut(cuts, b * hop, na * hop)
                pieces[i + 1] = (a, nb)
                i += 1
            continue
        dropped.append((float(a * hop), float(b * hop), f"{(b - a) * hop:.1f} s piece, shorter than "
                        f"min_seconds={min_seconds:g} and no neighbour to join"))
        i += 1
    spans = [(_r(a * hop), _r(min(b * hop, len(y) / sr))) for a, b in merged]
    dropped = [(_r(a), _r(b), r) for a, b, r in dropped]
    for a, b, reason in dropped:
        if "without a pause" in reason:
            problems.append(f"{a:.1f}-{b:.1f} s: {reason}; left out rather than cut inside a "
                            "word. Cut it by hand at a breath, or record with short pauses "
                            "between sentences.")
    return SlicePlan(spans, [_r(c) for c in sorted(cuts)], dropped, _r(threshold), problems)


def _r(x: float) -> float:
    return round(float(x), 3)


def _drop_cut(cuts: list[float], a: float, b: float) -> None:
    """Forget the cut points between a and b (two pieces were joined again)."""
    cuts[:] = [c for c in cuts if not a - 1e-9 <= c <= b + 1e-9]

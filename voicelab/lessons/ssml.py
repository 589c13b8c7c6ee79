"""SSML, the Speech Synthesis Markup Language: a useful subset, rendered offline.

Introduced in notebook 07. SSML wraps the text a synthesiser reads in tags that say
*how* to read it. This module reads the subset below, checks it strictly (a clear
:class:`SSMLError` with line and column for anything malformed or unsupported) and
renders it to audio with the offline voices of :func:`voicelab.lessons.tts.speak`:

============  ===================================================================
``speak``     the root (required); ``xmlns``/``version``/``xml:lang`` are allowed
``p``, ``s``  paragraph and sentence: a pause after each (0.6 s and 0.3 s)
``break``     ``time="500ms"`` / ``"1.5s"`` (0..10 s) or ``strength="none"`` ..
              ``"x-strong"``; exactly that much silence replaces the pause there
``prosody``   ``rate`` (``x-slow`` .. ``x-fast``, ``"80%"``, ``"1.2"``),
              ``pitch`` (``x-low`` .. ``x-high``, ``"+2st"``, ``"-10%"``),
              ``volume`` (``silent``, ``x-soft`` .. ``x-loud``, ``"+6dB"``); nested
              prosody multiplies rates and adds semitones and decibels
``emphasis``  ``level="strong" | "moderate" | "reduced" | "none"``: slower, higher, louder
``say-as``    ``interpret-as="cardinal" | "number" | "ordinal" | "digits" |
              "characters" | "spell-out" | "date" | "telephone"`` (date: ``format``
              ``"ymd"``, ``"dmy"`` or ``"mdy"``)
``sub``       ``alias="..."``: read the alias instead of the text
``mark``      ignored (a named point, no sound)
============  ===================================================================

:func:`parse` gives the plan (a list of :class:`Speech` and :class:`Pause`);
:func:`render` synthesises it and returns ``(y, sr)``.
"""
from __future__ import annotations

import math
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass, replace

import numpy as np

from . import text as textmod
from ..core.errors import SSMLError, TextError

__all__ = ["SSMLError", "Speech", "Pause", "parse", "render", "RATES", "PITCHES", "VOLUMES",
           "BREAK_STRENGTHS", "EMPHASIS", "SENTENCE_PAUSE", "PARAGRAPH_PAUSE", "WORD_GAP"]

#: Speed factors of the rate keywords.
RATES = {"x-slow": 0.6, "slow": 0.8, "medium": 1.0, "default": 1.0, "fast": 1.25, "x-fast": 1.5}
#: Pitch keywords in semitones.
PITCHES = {"x-low": -6.0, "low": -3.0, "medium": 0.0, "default": 0.0, "high": 3.0, "x-high": 6.0}
#: Volume keywords in dB (``silent`` is -inf).
VOLUMES = {"silent": -math.inf, "x-soft": -12.0, "soft": -6.0, "medium": 0.0, "default": 0.0,
           "loud": 6.0, "x-loud": 12.0}
#: Seconds of the break strengths.
BREAK_STRENGTHS = {"none": 0.0, "x-weak": 0.1, "weak": 0.2, "medium": 0.4, "strong": 0.7,
                   "x-strong": 1.0}
#: What each emphasis level does: (rate factor, semitones, dB).
EMPHASIS = {"strong": (0.8, 2.0, 4.0), "moderate": (0.9, 1.0, 2.0), "reduced": (1.1, -1.0, -4.0),
            "none": (1.0, 0.0, 0.0)}
SENTENCE_PAUSE = 0.3   # seconds after </s>
PARAGRAPH_PAUSE = 0.6  # seconds after </p>
WORD_GAP = 0.04        # seconds between two pieces of one sentence read separately
MAX_BREAK = 10.0
_SAY_AS = ("cardinal", "number", "ordinal", "digits", "characters", "spell-out", "date", "telephone")
_ALLOWED = {
    "speak": {"version", "lang", "base", "schemaLocation"},
    "p": {"lang"}, "s": {"lang"},
    "break": {"time", "strength"},
    "prosody": {"rate", "pitch", "volume"},
    "emphasis": {"level"},
    "say-as": {"interpret-as", "format", "detail"},
    "sub": {"alias"},
    "mark": {"name"},
}


@dataclass(frozen=True)
class Speech:
    """A piece of text to read with one setting: rate factor, pitch (semitones), volume (dB)."""

    text: str
    rate: float = 1.0
    pitch: float = 0.0
    volume_db: float = 0.0

    def __str__(self) -> str:
        """One readable line: the words, then only the settings that differ from the voice's own."""
        settings = ([f"rate x{self.rate:g}"] if self.rate != 1.0 else []) \
            + ([f"pitch {self.pitch:+g} semitones"] if self.pitch else []) \
            + ([f"volume {self.volume_db:+g} dB"] if self.volume_db else [])
        return f"say   '{self.text}'" + (f"  ({', '.join(settings)})" if settings else "")


@dataclass(frozen=True)
class Pause:
    """Silence of ``seconds``; ``explicit`` for a ``<break>``, else a sentence/paragraph pause."""

    seconds: float
    explicit: bool = False

    def __str__(self) -> str:
        """One readable line: the length and where the pause comes from."""
        return f"pause {self.seconds:g} s  ({'a <break>' if self.explicit else 'end of a sentence or paragraph'})"


# ------------------------------------------------------------------------------- values


def _where(el: ET.Element) -> str:
    return f"<{_tag(el)}>"


def _tag(el: ET.Element) -> str:
    return el.tag.rsplit("}", 1)[-1]


def _attr(el: ET.Element, name: str) -> str | None:
    for key, value in el.attrib.items():
        if key.rsplit("}", 1)[-1] == name:
            return value.strip()
    return None


def _seconds(value: str, el) -> float:
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(ms|s)\s*", value)
    if not m:
        raise SSMLError(f'{_where(el)}: time="{value}" is not a duration; write e.g. "500ms" or "1.5s".')
    seconds = float(m[1]) / (1000.0 if m[2] == "ms" else 1.0)
    if seconds > MAX_BREAK:
        raise SSMLError(f'{_where(el)}: time="{value}" is longer than {MAX_BREAK:g} s, the most a break may be.')
    return seconds


def _rate(value: str, el) -> float:
    v = value.strip().lower()
    if v in RATES:
        return RATES[v]
    m = re.fullmatch(r"(\d+(?:\.\d+)?)(%?)", v)
    if m:
        factor = float(m[1]) / (100.0 if m[2] else 1.0)
        if 0.25 <= factor <= 4.0:
            return factor
    raise SSMLError(f'{_where(el)}: rate="{value}" is not understood; use {", ".join(RATES)}, a percentage '
                    'such as "80%" or a factor such as "1.2" (between 0.25 and 4).')


def _pitch(value: str, el) -> float:
    v = value.strip().lower()
    if v in PITCHES:
        return PITCHES[v]
    m = re.fullmatch(r"([+-]\d+(?:\.\d+)?)st", v)
    if m and abs(float(m[1])) <= 24:
        return float(m[1])
    m = re.fullmatch(r"([+-]\d+(?:\.\d+)?)%", v)
    if m and -90 < float(m[1]) <= 300:
        return 12.0 * math.log2(1.0 + float(m[1]) / 100.0)
    raise SSMLError(f'{_where(el)}: pitch="{value}" is not understood; use {", ".join(PITCHES)}, '
                    'semitones such as "+2st" (-24..+24) or a percentage such as "-10%". '
                    '(Absolute or Hz values are not supported.)')


def _volume(value: str, el) -> float:
    v = value.strip().lower()
    if v in VOLUMES:
        return VOLUMES[v]
    m = re.fullmatch(r"([+-]\d+(?:\.\d+)?)db", v)
    if m and float(m[1]) <= 20:
        return float(m[1])
    raise SSMLError(f'{_where(el)}: volume="{value}" is not understood; use {", ".join(VOLUMES)} '
                    'or a change in decibels such as "+6dB" or "-3dB" (at most +20dB).')


def _say_as(el: ET.Element, content: str) -> str:
    kind = (_attr(el, "interpret-as") or "").lower()
    if kind not in _SAY_AS:
        raise SSMLError(f'<say-as>: interpret-as="{kind}" is not supported; use one of {", ".join(_SAY_AS)}.')
    body = content.strip()
    if not body:
        raise SSMLError(f'<say-as interpret-as="{kind}"> is empty; put the text to read inside it.')
    try:
        if kind in ("cardinal", "number"):
            return textmod.number_to_words(body)
        if kind == "ordinal":
            return textmod.ordinal_to_words(body.rstrip("stndrh.") if not body.isdigit() else body)
        if kind == "digits":
            return textmod.digits_to_words(body)
        if kind in ("characters", "spell-out"):
            return textmod.spell_out(body)
        if kind == "telephone":
            groups = re.findall(r"\d+", body)
            if not groups:
                raise TextError("no digits")
            return ", ".join(textmod.digits_to_words(g) for g in groups)
        fmt = (_attr(el, "format") or "ymd").lower()
        parts = re.split(r"[-/.\s]+", body)
        if fmt not in ("ymd", "dmy", "mdy") or len(parts) != 3 or not all(p.isdigit() for p in parts):
            raise TextError(f'a date needs three numbers and format "ymd", "dmy" or "mdy" '
                                    f'(got format="{fmt}")')
        y, m, d = {"ymd": (0, 1, 2), "dmy": (2, 1, 0), "mdy": (2, 0, 1)}[fmt]
        return textmod.date_to_words(int(parts[y]), int(parts[m]), int(parts[d]))
    except TextError as e:
        raise SSMLError(f'<say-as interpret-as="{kind}">{body}</say-as>: cannot be read that way ({e}).') from e


# -------------------------------------------------------------------------------- parse


def _check_element(el: ET.Element) -> None:
    tag = _tag(el)
    if tag not in _ALLOWED:
        supported = ", ".join(f"<{t}>" for t in _ALLOWED)
        raise SSMLError(f"<{tag}> is not supported by this renderer; supported: {supported}.")
    for key in el.attrib:
        name = key.rsplit("}", 1)[-1]
        if name not in _ALLOWED[tag]:
            allowed = ", ".join(sorted(_ALLOWED[tag])) or "none"
            raise SSMLError(f'<{tag}>: unknown attribute {name}="{el.attrib[key]}" (allowed: {allowed}).')


def parse(ssml: str) -> list[Speech | Pause]:
    """Check SSML and return the plan: :class:`Speech` and :class:`Pause` items in order.

    Introduced in notebook 07. Raises :class:`SSMLError` with line and column for XML
    that does not parse, and with the tag for unsupported elements, attributes or values.
    Text is normalised (numbers, dates ...) with :func:`voicelab.lessons.text.normalize`.
    """
    if not isinstance(ssml, str):
        raise SSMLError(f"SSML must be a string, got {type(ssml).__name__}.")
    if not ssml.strip():
        raise SSMLError("the SSML is empty; write <speak>...</speak> around some text.")
    if len(ssml) > textmod.MAX_CHARS:
        raise SSMLError(f"the SSML has {len(ssml)} characters, more than {textmod.MAX_CHARS}; split it "
                        "into several <speak> documents.")
    if re.search(r"<!(DOCTYPE|ENTITY)", ssml, flags=re.IGNORECASE):
        raise SSMLError("DOCTYPE and ENTITY declarations are not allowed in SSML here (they can make "
                        "a parser read files or expand text without limit); remove them.")
    if not ssml.lstrip().startswith(("<speak", "<?xml")):
        raise SSMLError("SSML must start with <speak>: wrap the text as <speak>...</speak> "
                        "(for plain text, use voicelab.lessons.tts.speak instead).")
    try:
        root = ET.fromstring(ssml)
    except ET.ParseError as e:
        line, col = getattr(e, "position", (0, 0))
        why = str(e).split(":")[0]
        raise SSMLError(f"the SSML is not well-formed XML at line {line}, column {col + 1} ({why}); "
                        "check that every tag is closed (<prosody>...</prosody>, <break/>) and that "
                        "'&' and '<' in the text are written &amp; and &lt;.") from None
    if _tag(root) != "speak":
        raise SSMLError(f"the root element is <{_tag(root)}>, but SSML must be wrapped in <speak>...</speak>.")
    plan: list[Speech | Pause] = []
    _walk(root, plan, rate=1.0, pitch=0.0, volume_db=0.0)
    if not any(isinstance(item, Speech) for item in plan) and not any(
            isinstance(item, Pause) and item.explicit and item.seconds > 0 for item in plan):
        raise SSMLError("the SSML contains nothing to say and no break: put some text inside <speak>.")
    return _tidy(plan)


def _add_text(plan, chunk: str | None, rate, pitch, volume_db) -> None:
    if chunk and chunk.strip():
        words = re.sub(r"\s+", " ", chunk).strip()
        if not any(c.isalnum() for c in words):  # punctuation only: it belongs to the text before
            if plan and isinstance(plan[-1], Speech):
                plan[-1] = replace(plan[-1], text=plan[-1].text + words)
            return
        plan.append(Speech(textmod.normalize(words), rate, pitch, volume_db))


def _walk(el: ET.Element, plan: list, rate: float, pitch: float, volume_db: float) -> None:
    _check_element(el)
    tag = _tag(el)
    if tag == "break":
        if len(el) or (el.text and el.text.strip()):
            raise SSMLError("<break> must be empty: write <break time=\"500ms\"/>.")
        time, strength = _attr(el, "time"), _attr(el, "strength")
        if time is not None:
            seconds = _seconds(time, el)
        elif strength is not None:
            if strength not in BREAK_STRENGTHS:
                raise SSMLError(f'<break>: strength="{strength}" is not one of {", ".join(BREAK_STRENGTHS)}.')
            seconds = BREAK_STRENGTHS[strength]
        else:
            seconds = BREAK_STRENGTHS["medium"]
        plan.append(Pause(seconds, explicit=True))
        return
    if tag == "mark":
        if len(el) or (el.text and el.text.strip()):
            raise SSMLError("<mark> must be empty: write <mark name=\"here\"/>.")
        return
    if tag in ("say-as", "sub"):
        if len(el):
            raise SSMLError(f"<{tag}> may contain only text, not <{_tag(el[0])}>.")
        if tag == "sub":
            alias = _attr(el, "alias")
            if not alias:
                raise SSMLError('<sub> needs alias="what to say", e.g. <sub alias="World Wide Web">WWW</sub>.')
            _add_text(plan, alias, rate, pitch, volume_db)
        else:
            plan.append(Speech(_say_as(el, el.text or ""), rate, pitch, volume_db))
        return
    if tag == "prosody":
        if not el.attrib:
            raise SSMLError("<prosody> needs at least one of rate=, pitch= or volume=.")
        if _attr(el, "rate") is not None:
            rate = rate * _rate(_attr(el, "rate"), el)
        if _attr(el, "pitch") is not None:
            pitch = pitch + _pitch(_attr(el, "pitch"), el)
        if _attr(el, "volume") is not None:
            volume_db = volume_db + _volume(_attr(el, "volume"), el)
        rate = min(max(rate, 0.25), 4.0)
        pitch = min(max(pitch, -24.0), 24.0)
    elif tag == "emphasis":
        level = _attr(el, "level") or "moderate"
        if level not in EMPHASIS:
            raise SSMLError(f'<emphasis>: level="{level}" is not one of {", ".join(EMPHASIS)}.')
        r, p, v = EMPHASIS[level]
        rate, pitch, volume_db = min(max(rate * r, 0.25), 4.0), min(max(pitch + p, -24.0), 24.0), volume_db + v
    _add_text(plan, el.text, rate, pitch, volume_db)
    for child in el:
        _walk(child, plan, rate, pitch, volume_db)
        _add_text(plan, child.tail, rate, pitch, volume_db)
    if tag == "s":
        plan.append(Pause(SENTENCE_PAUSE))
    elif tag == "p":
        plan.append(Pause(PARAGRAPH_PAUSE))


def _tidy(plan: list) -> list:
    """Merge pauses that touch: breaks add up and replace sentence/paragraph pauses there;
    drop the implicit pauses at the very start and end."""
    out: list = []
    run: list[Pause] = []

    def flush(at_edge: bool):
        if not run:
            return
        explicit = [p.seconds for p in run if p.explicit]
        if explicit:
            out.append(Pause(float(sum(explicit)), explicit=True))
        elif not at_edge:
            out.append(Pause(max(p.seconds for p in run)))
        run.clear()

    for item in plan:
        if isinstance(item, Pause):
            run.append(item)
        else:
            flush(at_edge=not out)
            out.append(item)
    flush(at_edge=True)
    return out


# ------------------------------------------------------------------------------- render


def render(ssml: str, voice: str = "slt") -> tuple[np.ndarray, int]:
    """Synthesise SSML offline and return ``(y, sr)`` (float32 mono, 16 kHz). Introduced in notebook 07.

    Each :class:`Speech` piece is read by :func:`voicelab.lessons.tts.speak` with its rate, pitch
    and volume, and trimmed of the engine's own leading and trailing silence; pieces are
    joined by exactly the pauses of the plan (:data:`WORD_GAP` where none is given).
    ``silent`` volume gives silence of the piece's length. A result louder than full
    scale is scaled down as a whole, so relative volumes stay.
    """
    from . import tts

    plan = parse(ssml)
    sr = tts.SR
    pieces: list[np.ndarray] = []
    previous = None
    for item in plan:
        if isinstance(item, Pause):
            pieces.append(np.zeros(int(round(item.seconds * sr)), dtype=np.float32))
        else:
            if isinstance(previous, Speech):
                pieces.append(np.zeros(int(round(WORD_GAP * sr)), dtype=np.float32))
            silent = item.volume_db == -math.inf
            y, _ = tts.speak(item.text, voice, rate=item.rate, pitch=item.pitch,
                             volume_db=0.0 if silent else item.volume_db, normalize=False)
            y = tts.trim(y, sr)
            pieces.append(np.zeros_like(y) if silent else y)
        previous = item
    y = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
    peak = float(np.max(np.abs(y), initial=0.0))
    if peak > 0.999:
        y = y * np.float32(0.999 / peak)
    return y.astype(np.float32), sr

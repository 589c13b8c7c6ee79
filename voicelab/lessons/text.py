"""The front end of text to speech: normalisation and grapheme-to-phoneme.

Introduced in notebook 07. A synthesiser reads words, not symbols, so the first step
turns written text into what a person would say (:func:`normalize`):

* numbers: ``42`` -> "forty-two", ``-3.5`` -> "minus three point five", ``1,000,000``
  -> "one million"; ordinals ``21st`` -> "twenty-first"; years ``1999`` ->
  "nineteen ninety-nine";
* money, percent and time: ``$3.50`` -> "three dollars fifty cents", ``15%`` ->
  "fifteen percent", ``10:30`` -> "ten thirty";
* dates: ``2024-03-05``, ``5 March 2024``, ``March 5, 2024`` and ``05/03/2024``
  (day first unless ``month_first=True``) -> "March fifth, twenty twenty-four";
* abbreviations: ``Dr.``, ``Mr.``, ``St.``, ``e.g.``, ``km`` ... (:data:`ABBREVIATIONS`);
* typography: curly quotes, dashes, accents on Latin letters (``café`` -> ``cafe``).

Then :func:`phonemes` asks espeak-ng (offline, Debian package) for the phonemes
(IPA), one list per word. Everything is English; text in another script is kept for
normalisation and refused by :func:`normalize` with ``ascii_only=True`` (what the
English voices of notebook 07 need).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import unicodedata

from ..core.errors import TextError

__all__ = [
    "TextError", "ABBREVIATIONS", "number_to_words", "ordinal_to_words", "year_to_words",
    "digits_to_words", "spell_out", "date_to_words", "normalize", "sentences", "phonemes",
    "MAX_CHARS",
]

#: The longest text one call accepts (characters); longer text is split by the caller.
MAX_CHARS = 100_000


_ONES = ("zero one two three four five six seven eight nine ten eleven twelve thirteen "
         "fourteen fifteen sixteen seventeen eighteen nineteen").split()
_TENS = "_ _ twenty thirty forty fifty sixty seventy eighty ninety".split()
_SCALES = ["", "thousand", "million", "billion", "trillion", "quadrillion"]
_ORDINAL_WORDS = {"one": "first", "two": "second", "three": "third", "five": "fifth",
                  "eight": "eighth", "nine": "ninth", "twelve": "twelfth"}
MONTHS = ("January February March April May June July August September October "
          "November December").split()
_MONTH_INDEX = {m.lower(): i for i, m in enumerate(MONTHS)}
_MONTH_INDEX.update({m[:3].lower(): i for i, m in enumerate(MONTHS)})
_MONTH_INDEX["sept"] = 8

#: Abbreviations expanded by :func:`normalize` (case-sensitive, matched as whole words).
ABBREVIATIONS = {
    "Dr.": "Doctor", "Mr.": "Mister", "Mrs.": "Missus", "Ms.": "Miz", "Prof.": "Professor",
    "St.": "Saint", "Jr.": "Junior", "Sr.": "Senior", "Mt.": "Mount", "Ave.": "Avenue",
    "Rd.": "Road", "Co.": "Company", "Inc.": "Incorporated", "Ltd.": "Limited",
    "vs.": "versus", "etc.": "et cetera", "e.g.": "for example", "i.e.": "that is",
    "approx.": "approximately", "No.": "number", "Jan.": "January", "Feb.": "February",
    "Aug.": "August", "Sept.": "September", "Oct.": "October", "Nov.": "November",
    "Dec.": "December",
}
#: Units spoken after a number ("5 km" -> "five kilometres").
UNITS = {"km": "kilometres", "m": "metres", "cm": "centimetres", "mm": "millimetres",
         "kg": "kilograms", "g": "grams", "mg": "milligrams", "l": "litres", "ml": "millilitres",
         "h": "hours", "min": "minutes", "s": "seconds", "ms": "milliseconds",
         "Hz": "hertz", "kHz": "kilohertz", "dB": "decibels", "GB": "gigabytes",
         "MB": "megabytes", "mph": "miles per hour", "km/h": "kilometres per hour"}
_CURRENCY = {"$": ("dollar", "dollars", "cent", "cents"), "£": ("pound", "pounds", "penny", "pence"),
             "€": ("euro", "euros", "cent", "cents")}
_TYPOGRAPHY = {"\u2018": "'", "\u2019": "'", "\u201c": '"', "\u201d": '"', "\u2013": " - ",
               "\u2014": " - ", "\u2026": "...", "\u00a0": " ", "&": " and ", "\u00d7": " times ",
               "\u00b0C": " degrees Celsius", "\u00b0F": " degrees Fahrenheit", "\u00b0": " degrees",
               "\u00df": "ss", "\u00e6": "ae", "\u00c6": "Ae", "\u0153": "oe", "\u00f8": "o",
               "\u00d8": "O", "\u0142": "l", "\u0141": "L"}


# --------------------------------------------------------------------------------- numbers


def _under_thousand(n: int) -> str:
    hundreds, rest = divmod(n, 100)
    words = []
    if hundreds:
        words.append(f"{_ONES[hundreds]} hundred")
    if rest:
        if rest < 20:
            words.append(_ONES[rest])
        else:
            tens, ones = divmod(rest, 10)
            words.append(_TENS[tens] + (f"-{_ONES[ones]}" if ones else ""))
    return " ".join(words)


def number_to_words(n) -> str:
    """Spell a number in English: ``1234`` -> "one thousand two hundred thirty-four".

    Introduced in notebook 07. Takes an int, a float or a numeric string (``"-3.25"``,
    ``"1,000"``); decimals are read digit by digit after "point". Up to 10^18 - 1.
    """
    text = str(n).replace(",", "").strip()
    if not re.fullmatch(r"[-+]?(\d+(\.\d*)?|\.\d+)", text):
        raise TextError(f"number_to_words: {n!r} is not a number (digits, optionally a sign, "
                        "thousands commas and one decimal point).")
    sign = "minus " if text.startswith("-") else ""
    text = text.lstrip("+-")
    whole, _, frac = text.partition(".")
    value = int(whole or "0")
    if value >= 1000 ** len(_SCALES):
        raise TextError(f"number_to_words: {n!r} is too large (at most 18 digits); "
                        "read it digit by digit with digits_to_words instead.")
    if value == 0:
        words = "zero"
    else:
        groups, scale = [], 0
        while value:
            value, chunk = divmod(value, 1000)
            if chunk:
                groups.append(_under_thousand(chunk) + (f" {_SCALES[scale]}" if scale else ""))
            scale += 1
        words = " ".join(reversed(groups))
    if frac:
        words += " point " + digits_to_words(frac)
    return sign + words


def ordinal_to_words(n) -> str:
    """``21`` -> "twenty-first", ``100`` -> "one hundredth". Introduced in notebook 07."""
    words = number_to_words(int(str(n).replace(",", "")))
    head, sep, last = words.rpartition(" ")
    pre, dash, last_word = last.rpartition("-")
    if last_word in _ORDINAL_WORDS:
        last_word = _ORDINAL_WORDS[last_word]
    elif last_word.endswith("y"):
        last_word = last_word[:-1] + "ieth"
    else:
        last_word += "th"
    return head + sep + pre + dash + last_word


def year_to_words(year: int) -> str:
    """Read a year the way people do: 1999 -> "nineteen ninety-nine", 2005 -> "two thousand five".

    Used by :func:`normalize` and :func:`date_to_words`. 2000-2009 and multiples of 1000 are
    read as numbers; 1900
    -> "nineteen hundred"; other four-digit years in two halves.
    """
    year = int(year)
    if not 0 < year < 10000:
        return number_to_words(year)
    hi, lo = divmod(year, 100)
    if year < 1000 or 2000 <= year < 2010 or year % 1000 == 0:
        return number_to_words(year)
    if lo == 0:
        return f"{number_to_words(hi)} hundred"
    return f"{number_to_words(hi)} {'oh ' + _ONES[lo] if lo < 10 else number_to_words(lo)}"


def digits_to_words(digits: str) -> str:
    """Read each digit: "2024" -> "two zero two four". Used by :func:`number_to_words` and SSML."""
    words = [_ONES[int(c)] for c in str(digits) if c.isdigit()]
    if not words:
        raise TextError(f"digits_to_words: {digits!r} has no digits.")
    return " ".join(words)


def spell_out(text: str) -> str:
    """Letters and digits one by one: "BBC" -> "B B C". Used by SSML's ``say-as``."""
    out = [(_ONES[int(c)] if c.isdigit() else c.upper()) for c in _ascii(text) if c.isalnum()]
    if not out:
        raise TextError(f"spell_out: {text!r} has no letters or digits to spell.")
    return " ".join(out)


def date_to_words(year: int | None, month: int, day: int | None) -> str:
    """``(2024, 3, 5)`` -> "March fifth, twenty twenty-four" (month is 1..12).

    Introduced in notebook 07. ``year`` or ``day`` may be None.
    """
    if not 1 <= int(month) <= 12:
        raise TextError(f"date: month {month} is not between 1 and 12.")
    if day is not None and not 1 <= int(day) <= 31:
        raise TextError(f"date: day {day} is not between 1 and 31.")
    words = MONTHS[int(month) - 1]
    if day is not None:
        words += " " + ordinal_to_words(int(day))
    if year is not None:
        words += (", " if day is not None else " ") + year_to_words(int(year))
    return words


# ----------------------------------------------------------------------------- normalize


def _ascii(text: str) -> str:
    """Typography to ASCII and accents dropped from Latin letters; other scripts kept."""
    text = unicodedata.normalize("NFKC", text)
    for k, v in _TYPOGRAPHY.items():
        text = text.replace(k, v)
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def _money(m: re.Match) -> str:
    one, many, sub_one, sub_many = _CURRENCY[m["cur"]]
    whole = int(m["whole"].replace(",", ""))
    scale = m["scale"]
    if scale:  # "$3.5 million" -> "three point five million dollars"
        return f"{number_to_words(m['whole'] + (m['frac'] or ''))} {scale} {many}"
    words = f"{number_to_words(whole)} {one if whole == 1 else many}"
    cents = int(((m["frac"] or ".")[1:] + "00")[:2]) if m["frac"] else 0
    if cents:
        words += f" {number_to_words(cents)} {sub_one if cents == 1 else sub_many}"
    return words


def _date_iso(m: re.Match) -> str:
    return date_to_words(int(m["y"]), int(m["m"]), int(m["d"]))


def _month(name: str) -> int:
    return _MONTH_INDEX[name.lower().rstrip(".")] + 1


_MONTH_RE = "|".join(sorted({m for m in _MONTH_INDEX} | {m.capitalize() for m in _MONTH_INDEX},
                            key=len, reverse=True))


def _time(m: re.Match) -> str:
    h, mins = int(m["h"]), int(m["min"])
    words = number_to_words(h)
    if mins == 0:
        words += " o'clock" if not m["ampm"] else ""
    elif mins < 10:
        words += f" oh {_ONES[mins]}"
    else:
        words += " " + number_to_words(mins)
    if m["ampm"]:
        words += " " + " ".join(m["ampm"].replace(".", "").upper())
    return words


def _number(m: re.Match) -> str:
    token = m.group(0)
    plain = token.replace(",", "")
    if re.fullmatch(r"1[1-9]\d\d|20\d\d", plain) and "," not in token:
        return year_to_words(int(plain))
    return number_to_words(plain)


def normalize(text: str, *, month_first: bool = False, ascii_only: bool = False) -> str:
    """Written text -> the words a person would say (English). Introduced in notebook 07.

    See the module docstring for what is expanded. ``month_first`` reads ``03/05/2024``
    as March 5 (US) instead of 3 May. Four-digit numbers from 1100 to 2099 without a
    comma are read as years ("in 1984"); write ``1,984`` for a count. With
    ``ascii_only=True``, characters outside Latin script raise :class:`TextError`
    naming them (the English voices cannot read them).
    """
    if not isinstance(text, str):
        raise TextError(f"normalize() takes a string, got {type(text).__name__}.")
    if len(text) > MAX_CHARS:
        raise TextError(f"the text has {len(text)} characters, more than {MAX_CHARS}; split it "
                        "(e.g. with voicelab.lessons.text.sentences) and process it in parts.")
    t = _ascii(text)
    if ascii_only:
        foreign = sorted({c for c in t if ord(c) > 127 and not c.isspace()})
        if foreign:
            shown = "".join(foreign[:10])
            raise TextError(f"the text contains characters the English voices cannot read: {shown!r}. "
                            "Transliterate them, or use an espeak-ng voice for that language "
                            "(voicelab.lessons.tts.speak(text, voice='espeak:fr'), 'espeak:de', 'espeak:cmn' ...).")
    for abbr, full in ABBREVIATIONS.items():
        t = re.sub(rf"(?<![\w.]){re.escape(abbr)}(?=\s|$|[,;:!?)])", full, t)
    t = re.sub(r"(?P<cur>[$£€])\s?(?P<whole>\d[\d,]*)(?P<frac>\.\d+)?(?:\s?(?P<scale>million|billion|thousand))?",
               _money, t)
    t = re.sub(r"\b(?P<y>\d{4})-(?P<m>\d{1,2})-(?P<d>\d{1,2})\b", _date_iso, t)

    def slash_date(m):
        a, b, y = int(m[1]), int(m[2]), int(m[3])
        month, day = (a, b) if month_first else (b, a)
        if not (1 <= month <= 12 and 1 <= day <= 31):
            return m.group(0).replace("/", " slash ")
        return date_to_words(y if y >= 100 else 2000 + y, month, day)

    t = re.sub(r"\b(\d{1,2})/(\d{1,2})/(\d{4}|\d{2})\b", slash_date, t)
    t = re.sub(rf"\b(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\s+(?P<mon>{_MONTH_RE})\.?(?:,?\s+(?P<y>\d{{4}}))?\b",
               lambda m: date_to_words(int(m["y"]) if m["y"] else None, _month(m["mon"]), int(m["d"])), t)
    t = re.sub(rf"\b(?P<mon>{_MONTH_RE})\.?\s+(?P<d>\d{{1,2}})(?:st|nd|rd|th)?\b(?:,?\s+(?P<y>\d{{4}})\b)?",
               lambda m: date_to_words(int(m["y"]) if m["y"] else None, _month(m["mon"]), int(m["d"])), t)
    t = re.sub(r"\b(?P<h>[01]?\d|2[0-3]):(?P<min>[0-5]\d)(?:\s?(?P<ampm>[ap]\.?m\.?))?(?![\w:])", _time, t)
    t = re.sub(r"(\d[\d,]*(?:\.\d+)?)\s?%", lambda m: number_to_words(m[1]) + " percent", t)
    t = re.sub(r"\b(\d[\d,]*)(st|nd|rd|th)\b", lambda m: ordinal_to_words(m[1]), t)
    units = "|".join(sorted(map(re.escape, UNITS), key=len, reverse=True))
    t = re.sub(rf"(\d[\d,]*(?:\.\d+)?)\s?({units})\b(?!\.\w)",
               lambda m: f"{number_to_words(m[1])} {UNITS[m[2]] if m[1] != '1' else UNITS[m[2]].rstrip('s')}", t)
    t = re.sub(r"(?<![\w.])-(?=\d)", " minus ", t)
    t = re.sub(r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?", _number, t)
    t = re.sub(r"(?<=\w)\s*\+\s*(?=\w)", " plus ", t)
    t = re.sub(r"(?<=\s)=(?=\s)", "equals", t)
    t = re.sub(r"\s+", " ", t).strip()
    return t


def sentences(text: str, max_chars: int = 300) -> list[str]:
    """Split text into sentences of at most ``max_chars`` (longer ones at commas, then spaces).

    Introduced in notebook 07; long text goes to a synthesiser in such pieces.
    """
    if max_chars < 20:
        raise ValueError(f"max_chars={max_chars} is too small; use at least 20.")
    parts = [s.strip() for s in re.split(r"(?<=[.!?;])\s+|\n\s*\n", text) if s.strip()]
    out = []
    for s in parts:
        while len(s) > max_chars:
            cut = max(s.rfind(", ", 0, max_chars), s.rfind(" ", 0, max_chars))
            cut = cut if cut > 0 else max_chars
            out.append(s[:cut + 1].strip())
            s = s[cut + 1:].strip()
        if s:
            out.append(s)
    return out


# ------------------------------------------------------------------------------ phonemes


def _espeak() -> str:
    exe = shutil.which("espeak-ng")
    if exe is None:
        raise TextError("espeak-ng is not installed, and phonemes come from it. Install it "
                        "(Debian/Ubuntu/Colab: `apt-get install -y espeak-ng`) or run `make setup`.")
    return exe


def phonemes(text: str, *, lang: str = "en-us", stress: bool = True) -> list[list[str]]:
    """Grapheme to phoneme with espeak-ng: one list of IPA phonemes per word.

    Introduced in notebook 07. ``"Hello world"`` -> ``[['h', 'ə', 'l', 'ˈoʊ'], ['w', 'ˈɜː', 'l', 'd']]``.
    Stress marks (ˈ primary, ˌ secondary) stay on the vowel they stress unless
    ``stress=False``. Numbers are read by espeak-ng itself; normalise first to control
    how. ``lang`` is an espeak-ng voice (``en-us``, ``en-gb``, ``fr``, ``de`` ...).
    """
    if not isinstance(text, str) or not text.strip():
        raise TextError("phonemes(): the text is empty; give at least one word.")
    if len(text) > MAX_CHARS:
        raise TextError(f"phonemes(): {len(text)} characters is more than {MAX_CHARS}; split the text.")
    if not re.fullmatch(r"[A-Za-z0-9-]+", lang):
        raise TextError(f"phonemes(): lang={lang!r} is not an espeak-ng voice name such as 'en-us'.")
    done = subprocess.run([_espeak(), "-q", "--ipa", "--sep=_", "-v", lang, "--stdin"],
                          input=text.replace("\n", " "), capture_output=True, text=True)
    if done.returncode != 0 or "unknown voice" in done.stderr.lower() or "not found" in done.stderr.lower():
        raise TextError(f"espeak-ng could not phonemise with voice {lang!r}: "
                        f"{done.stderr.strip() or 'exit ' + str(done.returncode)}. "
                        "List voices with `espeak-ng --voices`.")
    words = []
    for word in done.stdout.split():
        phones = [p for p in word.split("_") if p]
        if not stress:
            phones = [p.replace("ˈ", "").replace("ˌ", "") for p in phones]
            phones = [p for p in phones if p]
        if phones:
            words.append(phones)
    return words

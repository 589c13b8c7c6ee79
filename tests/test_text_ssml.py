"""voicelab.lessons.text (normalisation, phonemes), voicelab.lessons.ssml and tts.speak: offline, a few seconds."""
from __future__ import annotations

import re

import numpy as np
import pytest

from voicelab.lessons import ssml, text, tts


@pytest.mark.parametrize("written, spoken", [
    ("42", "forty-two"),
    ("-3.25", "minus three point two five"),
    ("1,000,000 people", "one million people"),
    ("the 21st time", "the twenty-first time"),
    ("in 1999", "in nineteen ninety-nine"),
    ("in 2005", "in two thousand five"),
    ("$3.50", "three dollars fifty cents"),
    ("£1", "one pound"),
    ("15%", "fifteen percent"),
    ("at 10:30", "at ten thirty"),
    ("at 9:05", "at nine oh five"),
    ("2024-03-05", "March fifth, twenty twenty-four"),
    ("5 March 2024", "March fifth, twenty twenty-four"),
    ("March 5, 2024", "March fifth, twenty twenty-four"),
    ("Dr. Smith vs. Mr. Jones", "Doctor Smith versus Mister Jones"),
    ("5 km", "five kilometres"),
    ("Café in Zürich", "Cafe in Zurich"),
    ("\u201cquoted\u201d \u2014 dash", '"quoted" - dash'),
])
def test_normalize(written, spoken):
    assert text.normalize(written) == spoken


def test_slash_dates_day_or_month_first():
    assert text.normalize("03/05/2024") == "May third, twenty twenty-four"
    assert text.normalize("03/05/2024", month_first=True) == "March fifth, twenty twenty-four"


def test_number_words_edges():
    assert text.number_to_words(0) == "zero"
    assert text.number_to_words(101) == "one hundred one"
    assert text.ordinal_to_words(12) == "twelfth" and text.ordinal_to_words(100) == "one hundredth"
    assert text.year_to_words(1905) == "nineteen oh five" and text.year_to_words(1900) == "nineteen hundred"
    with pytest.raises(text.TextError, match="not a number"):
        text.number_to_words("12abc")
    with pytest.raises(text.TextError, match="too large"):
        text.number_to_words("1" * 19)


def test_non_ascii_text():
    assert text.normalize("naïve façade") == "naive facade"
    assert "你好" in text.normalize("你好 1")                        # kept when not asked otherwise
    with pytest.raises(text.TextError, match="espeak"):
        text.normalize("你好", ascii_only=True)


def test_long_text_limits_and_sentences():
    with pytest.raises(text.TextError, match="split"):
        text.normalize("a" * (text.MAX_CHARS + 1))
    long = " ".join(["This is a rather long clause, with commas, that keeps going"] * 20) + "."
    parts = text.sentences(long, max_chars=100)
    assert all(len(p) <= 101 for p in parts) and " ".join(parts).split() == long.split()


def test_phonemes_from_espeak():
    words = text.phonemes("Hello world")
    assert len(words) == 2 and words[0][0] == "h" and words[1][-1] == "d"
    assert any("ˈ" in p for p in words[0])
    assert not any("ˈ" in p for w in text.phonemes("Hello world", stress=False) for p in w)
    with pytest.raises(text.TextError, match="empty"):
        text.phonemes("  ")
    with pytest.raises(text.TextError, match="voice name"):
        text.phonemes("hi", lang="en; rm -rf /")


# ------------------------------------------------------------------------------------ speak


def test_speak_rate_pitch_volume():
    y, sr = tts.speak("Seven bright kites fly high.")
    slow, _ = tts.speak("Seven bright kites fly high.", rate=0.7)
    loud, _ = tts.speak("Seven bright kites fly high.", volume_db=6)
    assert sr == tts.SR and y.dtype == np.float32
    assert len(slow) > 1.25 * len(y)
    assert np.max(np.abs(loud)) == pytest.approx(2.0 * np.max(np.abs(y)), rel=0.02)


def test_speak_pitch_shift_raises_f0():
    from voicelab.voice import metrics

    y, sr = tts.speak("Seven bright kites fly high.")
    up, _ = tts.speak("Seven bright kites fly high.", pitch=4)
    f0, f0_up = metrics.f0_contour(y, sr, method="dio"), metrics.f0_contour(up, sr, method="dio")
    ratio = np.median(f0_up[f0_up > 0]) / np.median(f0[f0 > 0])
    assert ratio == pytest.approx(2 ** (4 / 12), rel=0.05)


def test_speak_bad_input():
    with pytest.raises(tts.TTSError, match="empty"):
        tts.speak("   ")
    with pytest.raises(tts.TTSError, match="no letters"):
        tts.speak("...")
    with pytest.raises(tts.TTSError, match="unknown voice"):
        tts.speak("hi", voice="nobody")
    with pytest.raises(tts.TTSError, match="rate"):
        tts.speak("hi", rate=10)
    with pytest.raises(text.TextError, match="cannot read"):
        tts.speak("你好")


def test_speak_non_ascii_with_espeak_and_long_text():
    y, _ = tts.speak("你好，世界", voice="espeak:cmn")
    assert len(y) > 0.3 * tts.SR
    long = " ".join(["The rain in Spain stays mainly in the plain."] * 12)
    y, sr = tts.speak(long)
    assert len(y) / sr > 20                        # all twelve sentences were read


# ------------------------------------------------------------------------------------- SSML


def test_break_adds_exactly_its_silence():
    with_break, sr = ssml.render('<speak>Hello there.<break time="500ms"/>General Kenobi.</speak>')
    without, _ = ssml.render('<speak>Hello there.<break time="0ms"/>General Kenobi.</speak>')
    assert (len(with_break) - len(without)) / sr == pytest.approx(0.5, abs=0.02)
    gaps = [b - a for a, b in tts.silences(with_break, sr, min_seconds=0.2)]
    assert len(gaps) == 1 and gaps[0] == pytest.approx(0.5, abs=0.02)
    assert not tts.silences(without, sr, min_seconds=0.2)


def test_break_alone_and_strengths():
    y, sr = ssml.render('<speak><break time="1.5s"/></speak>')
    assert len(y) == int(1.5 * sr) and not y.any()
    plan = ssml.parse('<speak>a<break strength="strong"/>b<break/>c</speak>')
    assert [p.seconds for p in plan if isinstance(p, ssml.Pause)] == [0.7, 0.4]


def test_slow_prosody_is_longer():
    base, sr = ssml.render("<speak>The quick brown fox jumps over the lazy dog.</speak>")
    slow, _ = ssml.render('<speak><prosody rate="slow">The quick brown fox jumps over the lazy dog.'
                          "</prosody></speak>")
    fast, _ = ssml.render('<speak><prosody rate="fast">The quick brown fox jumps over the lazy dog.'
                          "</prosody></speak>")
    assert len(slow) > 1.15 * len(base) > 1.15 * len(fast)


def test_prosody_values_nest_and_emphasis():
    plan = ssml.parse('<speak><prosody rate="80%" pitch="+2st" volume="-6dB">a <prosody rate="slow" '
                      'pitch="-10%">b</prosody></prosody> <emphasis level="strong">c</emphasis></speak>')
    a, b, c = plan
    assert (a.rate, a.pitch, a.volume_db) == (0.8, 2.0, -6.0)
    assert b.rate == pytest.approx(0.64) and b.pitch == pytest.approx(2 + 12 * np.log2(0.9))
    assert (c.rate, c.pitch, c.volume_db) == ssml.EMPHASIS["strong"]


def test_a_plan_prints_as_readable_lines_not_reprs():
    plan = ssml.parse('<speak>Hi. <break time="500ms"/><emphasis>you</emphasis> there.</speak>')
    lines = [str(item) for item in plan]
    assert lines[0] == "say   'Hi.'"                       # default settings are not repeated
    assert lines[1] == "pause 0.5 s  (a <break>)"
    assert lines[2].startswith("say   'you'  (rate x0.9, pitch +1 semitones, volume +2 dB)")
    assert str(ssml.Pause(0.3)) == "pause 0.3 s  (end of a sentence or paragraph)"
    # the control: the dataclass repr, which the notebook used to print, is not such a line
    assert not any(repr(item) in lines for item in plan) and repr(plan[0]).startswith("Speech(")


def test_volume_changes_loudness():
    soft, _ = ssml.render('<speak><prosody volume="x-soft">Seven bright kites.</prosody></speak>')
    norm, _ = ssml.render("<speak>Seven bright kites.</speak>")
    silent, _ = ssml.render('<speak><prosody volume="silent">Seven bright kites.</prosody></speak>')
    assert np.max(np.abs(soft)) == pytest.approx(np.max(np.abs(norm)) * 10 ** (-12 / 20), rel=0.02)
    assert len(silent) > 0 and not silent.any()


def test_sentences_paragraphs_say_as_sub():
    plan = ssml.parse("<speak><p><s>One.</s><s>Two.</s></p><p>Call <say-as interpret-as='telephone'>"
                      "555-0199</say-as>, room <say-as interpret-as='ordinal'>3</say-as>, code "
                      "<say-as interpret-as='characters'>BBC</say-as> on <say-as interpret-as='date' "
                      "format='dmy'>05/03/2024</say-as> at <sub alias='the World Wide Web'>WWW</sub> "
                      "<say-as interpret-as='digits'>42</say-as>.<mark name='end'/></p></speak>")
    spoken = " ".join(p.text for p in plan if isinstance(p, ssml.Speech))
    assert [p.seconds for p in plan if isinstance(p, ssml.Pause)] == [0.3, 0.6]   # edges dropped
    for words in ("five five five, zero one nine nine", "third", "B B C",
                  "March fifth, twenty twenty-four", "the World Wide Web", "four two."):
        assert words in spoken


@pytest.mark.parametrize("bad, message", [
    ("", "empty"),
    ("Hello there", "must start with <speak>"),
    ("<speak>Hello <prosody rate='slow'>there</speak>", "line 1, column"),
    ("<speak>\n  Hello <break time='500ms'>\n</speak>", "line 3, column"),
    ("<voice>Hi</voice>", "must start with <speak>"),
    ("<?xml version='1.0'?><voice>Hi</voice>", "root element is <voice>"),
    ("<speak><audio src='x.wav'/></speak>", "<audio> is not supported"),
    ("<speak><break time='fast'/></speak>", 'time="fast" is not a duration'),
    ("<speak><break time='20s'/></speak>", "longer than 10 s"),
    ("<speak><break>text</break></speak>", "must be empty"),
    ("<speak><prosody rate='warp9'>x</prosody></speak>", 'rate="warp9"'),
    ("<speak><prosody pitch='200Hz'>x</prosody></speak>", 'pitch="200Hz"'),
    ("<speak><prosody volume='+60dB'>x</prosody></speak>", 'volume="+60dB"'),
    ("<speak><prosody>x</prosody></speak>", "needs at least one"),
    ("<speak><prosody speed='2'>x</prosody></speak>", "unknown attribute speed"),
    ("<speak><emphasis level='huge'>x</emphasis></speak>", 'level="huge"'),
    ("<speak><say-as interpret-as='cardinal'>many</say-as></speak>", "cannot be read that way"),
    ("<speak><say-as interpret-as='emoji'>x</say-as></speak>", "not supported"),
    ("<speak><sub>WWW</sub></speak>", "alias"),
    ("<speak>   </speak>", "nothing to say"),
    ('<!DOCTYPE speak [<!ENTITY x "y">]><speak>&x;</speak>', "DOCTYPE"),
])
def test_malformed_ssml_is_refused_clearly(bad, message):
    with pytest.raises(ssml.SSMLError, match=re.escape(message)):
        ssml.parse(bad)
    assert issubclass(ssml.SSMLError, ValueError)


def test_ssml_namespaced_and_non_ascii():
    y, _ = ssml.render('<speak version="1.1" xmlns="http://www.w3.org/2001/10/synthesis" xml:lang="en-US">'
                       "Caf\u00e9 cr\u00e8me.</speak>")
    assert len(y) > 0.3 * tts.SR
    with pytest.raises(tts.TTSError, match="ASCII"):
        ssml.render("<speak>\u4f60\u597d</speak>")
    y, _ = ssml.render("<speak>\u4f60\u597d</speak>", voice="espeak:cmn")
    assert len(y) > 0.2 * tts.SR


def test_very_long_ssml():
    body = "<p>" + "The rain in Spain stays mainly in the plain. " * 6 + "</p>"
    y, sr = ssml.render("<speak>" + body * 3 + "</speak>")
    assert len(y) / sr > 20
    with pytest.raises(ssml.SSMLError, match="split"):
        ssml.parse("<speak>" + "a " * text.MAX_CHARS + "</speak>")

"""Sanity checks of the score card (voicelab.voice.metrics) on offline speech."""
import json

import numpy as np
import pytest

from voicelab import cli
from voicelab.audio import speaker, world
from voicelab.core.errors import AudioError
from voicelab.data import speech as speech_data
from voicelab.voice import metrics

SPEAKERS = ("slt", "rms", "awb", "kal")


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return speech_data.make_speech(SPEAKERS, n_sentences=2, out_dir=tmp_path_factory.mktemp("speech"))


def clip(speech, spk, i=0):
    return speech / spk / f"{spk}_{i:03d}.wav"


def test_identical_clips_score_perfectly(speech):
    path = clip(speech, "slt")
    assert metrics.mcd(path, path) == pytest.approx(0.0, abs=1e-6)
    emb = speaker.embedding(path)
    assert emb.shape == (256,) and np.linalg.norm(emb) == pytest.approx(1.0, abs=1e-4)
    assert metrics.speaker_similarity(path, [path]) > 0.999
    f0 = metrics.f0_contour(path)
    assert metrics.f0_rmse_cents(f0, f0) == 0.0
    assert metrics.vuv_error(f0, f0) == 0.0


def test_different_speakers_are_less_similar_than_the_same_speaker(speech):
    emb = {s: [speaker.embedding(clip(speech, s, i)) for i in range(2)] for s in SPEAKERS}
    for spk in SPEAKERS:
        same = speaker.cosine(emb[spk][0], emb[spk][1])  # two different sentences
        others = [speaker.cosine(emb[spk][0], emb[o][1]) for o in SPEAKERS if o != spk]
        assert same > 0.8, (spk, same)
        assert same > max(others) + 0.1, (spk, same, others)


def test_f0_rmse_measures_a_known_pitch_shift_of_100_cents(speech):
    y, sr = speech_data.synthesize("We were away a year ago.", "slt")  # mostly voiced
    f = world.analyze(y, sr)
    plain = world.synthesize(f.f0, f.sp, f.ap, sr)
    shifted = world.synthesize(f.f0 * 2 ** (100 / 1200), f.sp, f.ap, sr)
    f0_plain, f0_shifted = metrics.f0_contour(plain, sr), metrics.f0_contour(shifted, sr)
    assert metrics.f0_rmse_cents(f0_shifted, f0_plain) == pytest.approx(100, abs=15)
    assert metrics.vuv_error(f0_shifted, f0_plain) < 0.1
    # the same through the score card, with the unshifted clip as a parallel reference (DTW)
    card = metrics.score(shifted, sr, target_refs=[(plain, sr)], reference=(plain, sr),
                         with_mos=False)
    assert card.f0_rmse_cents == pytest.approx(100, abs=20)
    assert card.mcd_db < 2.5  # same envelope; CheapTrick sees it through a different F0


def test_mcd_is_larger_between_different_speakers(speech):
    same_words_other_voice = metrics.mcd(clip(speech, "rms"), clip(speech, "slt"))
    assert same_words_other_voice > 4.0
    assert metrics.mcd(clip(speech, "slt"), clip(speech, "slt")) < 0.01


def test_mos_prefers_clean_speech_to_noisy_or_clipped_speech(speech):
    y, sr = speech_data.synthesize("The quick brown fox jumps over the lazy dog.", "slt")
    noise = np.random.default_rng(0).normal(0, 1, len(y)).astype(np.float32)
    noise *= np.sqrt(np.mean(y ** 2) / np.mean(noise ** 2)) * 10 ** (-10 / 20)  # 10 dB SNR
    clean, noisy = metrics.mos(y, sr), metrics.mos(y + noise, sr)
    clipped = metrics.mos(np.clip(y * 20, -0.5, 0.5), sr)
    assert 1.0 <= noisy < clean <= 5.0
    assert clean - noisy > 0.5 and clean - clipped > 0.5, (clean, noisy, clipped)


def test_score_card_fields_table_and_plot(speech):
    src, ref = clip(speech, "rms"), clip(speech, "slt")
    card = metrics.score(src, target_refs=[clip(speech, "slt", 1)], source=src, reference=ref,
                         with_mos=False)
    d = card.to_dict()
    assert list(d) == ["speaker_similarity_target", "speaker_similarity_source", "f0_rmse_cents",
                       "vuv_error", "mcd_db", "mos", "cer"]
    assert d["speaker_similarity_source"] > 0.999  # "converted" is the source itself
    assert d["mos"] is None
    assert d["mcd_db"] == pytest.approx(card.before["mcd_db"])
    assert d["f0_rmse_cents"] > 500  # a male voice against a female reference
    table = card.table()
    for word in ("MCD (dB)", "F0 RMSE (cents)", "Resemblyzer", "DTW", "n/a"):
        assert word in table
    fig = card.plot(title="rms as itself")
    assert len(fig.axes) == 5  # similarity, F0, V/UV, MCD, CER (no MOS)
    import matplotlib.pyplot as plt
    plt.close(fig)


def test_score_without_source_or_reference_leaves_numbers_out(speech):
    card = metrics.score(clip(speech, "awb"), target_refs=clip(speech, "awb", 1), with_mos=False)
    d = card.to_dict()
    assert d["speaker_similarity_target"] > 0.8
    assert d["speaker_similarity_source"] is None and d["mcd_db"] is None
    assert d["f0_rmse_cents"] is None and d["vuv_error"] is None
    assert any("no source" in n for n in card.notes)


def test_score_without_target_clips_skips_only_that_number(speech):
    card = metrics.score(clip(speech, "slt"), target_refs=None, source=clip(speech, "rms"),
                         with_mos=False)
    d = card.to_dict()
    assert d["speaker_similarity_target"] is None and "speaker_similarity_target" not in card.before
    assert 0.0 < d["speaker_similarity_source"] < 0.9   # slt is not rms
    assert any("target speaker" in n for n in card.notes)


def test_bad_inputs_say_what_to_do(speech):
    with pytest.raises(metrics.ScoreError, match="target"):
        metrics.score(clip(speech, "slt"), target_refs=[], with_mos=False)
    with pytest.raises(AudioError, match="sample rate"):
        speaker.embedding(np.zeros(16000, dtype=np.float32))
    with pytest.raises(AudioError, match="NaN"):
        metrics.mos(np.full(16000, np.nan, dtype=np.float32), 16000)


def test_cli_score_prints_json(speech, capsys):
    status = cli.main(["score", str(clip(speech, "rms")), "--target", str(clip(speech, "slt")),
                       str(clip(speech, "slt", 1)), "--reference", str(clip(speech, "slt")),
                       "--no-mos"])
    assert status == 0
    d = json.loads(capsys.readouterr().out)
    assert d["mcd_db"] > 4.0 and d["mos"] is None and d["speaker_similarity_source"] is None
    assert 0.0 < d["speaker_similarity_target"] < 0.8
    assert d["cer"] is None   # no source and no --text: nothing to compare the words with
    assert d["reference_rows"]["target_vs_target"]["speaker_similarity_target"] > 0.8
    status = cli.main(["score", str(clip(speech, "rms")), "--target", str(clip(speech, "slt")),
                       "--source", str(clip(speech, "rms")), "--no-mos"])
    d = json.loads(capsys.readouterr().out)
    assert status == 0 and d["cer"] < 0.3 and d["reference_rows"]["source"]["cer"] == d["cer"]
    assert d["words"]["truth"] == metrics.normalise_text(clip(speech, "rms").with_suffix(".txt").read_text())
    status = cli.main(["score", str(speech / "missing.wav"), "--target", str(clip(speech, "slt"))])
    assert status == 2
    assert "missing.wav" in capsys.readouterr().err


def test_transpose_is_allowed_for_when_comparing_f0_with_the_source(speech):
    y, sr = speech_data.synthesize("We were away a year ago.", "rms")  # mostly voiced
    f = world.analyze(y, sr)
    up4 = world.synthesize(f.f0 * 2 ** (4 / 12), f.sp, f.ap, sr)   # the same speech, 4 semitones up
    kw = dict(target_refs=None, source=(y, sr), with_mos=False, f0_method="dio")
    asked = metrics.score(up4, sr, transpose=4, **kw)
    ignored = metrics.score(up4, sr, **kw)
    assert asked.f0_rmse_cents < 50 and ignored.f0_rmse_cents > 300
    assert "+4 semitones" in asked.methods["f0_rmse_cents"]


def test_a_clip_without_speech_gets_a_note_instead_of_similarities(speech):
    sr = 16000
    tone = (0.3 * np.sin(2 * np.pi * 150 * np.arange(2 * sr) / sr)).astype(np.float32)
    card = metrics.score(tone, sr, target_refs=[clip(speech, "slt")], source=clip(speech, "rms"),
                         with_mos=False)
    assert card.speaker_similarity_target is None and card.speaker_similarity_source is None
    assert card.before["speaker_similarity_target"] < 0.8       # rms vs slt is still measured
    assert card.vuv_error is not None
    assert any("no speaker similarity" in n and "speech" in n for n in card.notes)
    with pytest.raises(AudioError, match="speech"):   # a target clip without speech is the user's error
        metrics.score(clip(speech, "rms"), target_refs=[(tone, sr)], with_mos=False)


def test_cer_is_edit_distance_over_normalised_characters():
    assert metrics.cer("sitting", "kitten") == pytest.approx(3 / 6)   # 2 substitutions, 1 insertion
    assert metrics.cer("The cat, sat!", "the cat sat") == 0.0        # case and punctuation ignored
    assert metrics.cer("", "abcd") == 1.0 and metrics.cer("abcd abcd", "abcd") > 1.0
    assert metrics.cer("anything", " ... ") is None
    assert metrics.cer("the cat sat", "the dog sat") > 0.2           # control: other words count


def test_recogniser_hears_the_same_clip_the_same_whatever_came_before(speech):
    first = metrics.recognise(clip(speech, "rms"))
    metrics.recognise(clip(speech, "slt", 1))
    assert metrics.recognise(clip(speech, "rms")) == first
    assert metrics.recognise(clip(speech, "slt", 1)) != first       # control: other words, other text


def _scrambled(y, sr, chunk_s=0.3, seed=0):
    """``y`` cut into word-sized pieces, shuffled: the same voice, the words lost."""
    n = int(chunk_s * sr)
    pieces = [y[i:i + n] for i in range(0, len(y), n)]
    order = np.random.default_rng(seed).permutation(len(pieces))
    return np.concatenate([pieces[i] for i in order])


def test_cer_rises_on_scrambled_words_while_speaker_similarity_stays(speech):
    src = clip(speech, "slt", 0)                     # its transcript slt_000.txt lies beside it
    y, sr = speech_data.synthesize((speech / "slt" / "slt_000.txt").read_text(), "slt")
    refs = [clip(speech, "slt", 1)]
    kw = dict(target_refs=refs, source=src, with_mos=False, f0_method="dio")
    intact = metrics.score(y, sr, **kw)
    scrambled = metrics.score(_scrambled(y, sr), sr, **kw)
    assert intact.cer < 0.25, intact.heard                       # control: the words come through
    assert scrambled.cer > intact.cer + 0.3, scrambled.heard     # the words are lost ...
    assert abs(scrambled.speaker_similarity_target - intact.speaker_similarity_target) < 0.1  # ... the voice is not
    assert scrambled.speaker_similarity_target > 0.75
    assert "transcript" in intact.methods["cer"] and intact.heard["truth"].startswith(
        metrics.normalise_text((speech / "slt" / "slt_000.txt").read_text())[:10])


def test_reference_rows_source_floor_and_target_ceiling(speech):
    card = metrics.score(clip(speech, "rms", 1), target_refs=[clip(speech, "slt", i) for i in range(2)],
                         source=clip(speech, "rms", 1), with_mos=False, f0_method="dio")
    rows = card.reference_rows()
    assert set(rows) == {"source", "target_vs_target"}
    assert rows["source"]["cer"] == card.cer                      # converted = source: same words heard
    assert rows["target_vs_target"]["speaker_similarity_target"] > 0.8          # slt vs slt
    assert rows["source"]["speaker_similarity_target"] < rows["target_vs_target"]["speaker_similarity_target"] - 0.1
    assert rows["target_vs_target"]["cer"] is not None and rows["target_vs_target"]["cer"] < 0.3
    assert "target vs target" in card.table()
    one_ref = metrics.score(clip(speech, "rms", 1), target_refs=[clip(speech, "slt", 0)],
                            with_mos=False, with_cer=False)
    assert "speaker_similarity_target" not in one_ref.ceiling     # a ceiling needs two target clips


def test_cer_is_none_with_a_note_without_a_recogniser(speech, monkeypatch):
    monkeypatch.setattr(metrics, "recogniser", lambda: None)
    card = metrics.score(clip(speech, "rms"), target_refs=None, source=clip(speech, "rms"), with_mos=False)
    assert card.cer is None and card.to_dict()["cer"] is None
    assert any("pocketsphinx" in n for n in card.notes)


# ------------------------------------------------------- which recogniser measures CER, by mode

#: A Whisper as narrow as a test can afford (the full stand-in's tokens, files and 30 s input,
#: width 64 and one layer each side): the FULL code path in seconds, not the real size.
_NARROW_WHISPER = dict(metrics._WHISPER_BASE_EN, d_model=64, encoder_layers=1, decoder_layers=1,
                       encoder_attention_heads=2, decoder_attention_heads=2, encoder_ffn_dim=128,
                       decoder_ffn_dim=128)


@pytest.fixture
def fresh_recogniser():
    metrics._recogniser_for.cache_clear()
    yield
    metrics._recogniser_for.cache_clear()


def _install_whisper(monkeypatch, narrow: bool):
    from voicelab.core import hub

    if narrow:
        monkeypatch.setattr(metrics, "_WHISPER_BASE_EN", _NARROW_WHISPER)
    path = hub.install_stand_in(metrics.WHISPER)
    metrics._recogniser_for.cache_clear()
    return path


def _spy_on_generate(monkeypatch):
    """Record each Whisper generate call's ``max_new_tokens`` and the tokens it returned."""
    from transformers import WhisperForConditionalGeneration

    calls, real = [], WhisperForConditionalGeneration.generate

    def spy(self, *args, **kwargs):
        out = real(self, *args, **kwargs)
        calls.append((kwargs.get("max_new_tokens"), kwargs.get("return_timestamps"), out.shape[-1]))
        return out

    monkeypatch.setattr(WhisperForConditionalGeneration, "generate", spy)
    return calls


def test_quick_mode_measures_cer_with_pocketsphinx(sandbox, fresh_recogniser, speech):
    rec = metrics.recogniser()
    assert (rec.name, rec.stand_in, rec.note) == ("pocketsphinx", False, None)
    card = metrics.score(clip(speech, "rms"), target_refs=None, source=clip(speech, "rms"),
                         with_mos=False, f0_method="dio")
    assert card.recogniser == "pocketsphinx" and "PocketSphinx" in card.methods["cer"]
    assert not any("Whisper" in n or "stand-in" in n for n in card.notes)


def test_full_mode_without_whisper_falls_back_to_pocketsphinx_and_says_so(
        rehearsal_sandbox, fresh_recogniser, speech, capsys):
    rec = metrics.recogniser()
    assert rec.name == "pocketsphinx" and "not Whisper" in rec.note and "offline" in rec.note
    assert cli.main(["score", str(clip(speech, "rms")), "--target", str(clip(speech, "slt")),
                     "--source", str(clip(speech, "rms")), "--no-mos"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["recogniser"] == "pocketsphinx" and d["cer"] < 0.3       # still measured, by PocketSphinx
    assert sum("not Whisper" in n for n in d["notes"]) == 1           # one line says why
    assert "\n" not in rec.note


def test_full_mode_with_whisper_installed_hears_with_whisper(
        rehearsal_sandbox, fresh_recogniser, speech, monkeypatch):
    """FULL offline with a (narrow) Whisper stand-in in the cache: the real FULL code path."""
    from voicelab.core import hub

    path = _install_whisper(monkeypatch, narrow=True)
    assert hub.is_stand_in(path) and (path / "model.safetensors").is_file()
    calls = _spy_on_generate(monkeypatch)
    rec = metrics.recogniser()
    assert (rec.name, rec.stand_in, rec.note) == ("whisper-base.en", True, None)
    one_s = speech_data.synthesize("Hello there.", "slt")[0][:16000], 16000
    first = rec(*one_s)
    assert isinstance(first, str) and first == metrics.normalise_text(first)
    rec(clip(speech, "rms"))                                    # another clip in between ...
    assert rec(*one_s) == first                                 # ... changes nothing (no state kept)
    assert all(ts is False for _, ts, _ in calls)               # no timestamps
    (cap_1s, _, n_1s), (cap_long, _, _) = calls[0], calls[1]
    assert cap_1s == metrics.WHISPER_MIN_TOKENS + metrics.WHISPER_TOKENS_PER_S
    assert n_1s <= cap_1s + 4                                   # prompt (<= 4 tokens) + the cap
    assert cap_long > cap_1s                                    # control: a longer clip may say more
    card = metrics.score(clip(speech, "rms"), target_refs=None, source=clip(speech, "rms"),
                         with_mos=False, f0_method="dio")
    assert card.recogniser == "whisper-base.en" and "STAND-IN" in card.methods["cer"]
    assert any("stand-in" in n and "say nothing" in n for n in card.notes)


@pytest.mark.fullsize
def test_full_size_whisper_stand_in_fits_and_runs(rehearsal_sandbox, fresh_recogniser, monkeypatch):
    """The full-size stand-in (290 MB, about 15 s to write): base.en's shape, loaded with no
    missing keys, and a 2 s clip heard within the cap."""
    from transformers import WhisperForConditionalGeneration

    path = _install_whisper(monkeypatch, narrow=False)
    assert 285e6 < (path / "model.safetensors").stat().st_size < 295e6      # real: 290 MB
    _, info = WhisperForConditionalGeneration.from_pretrained(path, output_loading_info=True)
    assert not any(info[k] for k in ("missing_keys", "unexpected_keys", "mismatched_keys")), info
    calls = _spy_on_generate(monkeypatch)
    y = np.random.default_rng(0).normal(0, 0.05, 32000).astype(np.float32)
    assert isinstance(metrics.recognise(y, 16000), str)
    assert calls[0][0] == metrics.WHISPER_MIN_TOKENS + 2 * metrics.WHISPER_TOKENS_PER_S

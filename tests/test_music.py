"""voicelab.lessons.music: Karplus-Strong, the symbolic melody model, MusicGen through stand-ins (offline)."""
from __future__ import annotations

import numpy as np
import pytest

from voicelab.core import hub
from voicelab.lessons import music

pytestmark = pytest.mark.usefixtures("offline_quick", "one_thread")


def _pitch(y, sr):
    """Median YIN pitch (Hz) of a clip."""
    import librosa

    return float(np.median(librosa.yin(y, fmin=60, fmax=1500, sr=sr, frame_length=2048)))


@pytest.mark.parametrize("freq", [110.0, 261.63, 440.0, 659.25])
def test_karplus_strong_is_in_tune_and_decays(freq):
    y = music.karplus_strong(freq, 1.5)
    assert len(y) == int(1.5 * music.SR) and np.abs(y).max() == pytest.approx(1.0)
    assert _pitch(y[:8000], music.SR) == pytest.approx(freq, rel=0.01)
    early, late = np.abs(y[:1600]).max(), np.abs(y[-1600:]).max()
    assert late < 0.5 * early


def test_notes_and_tunes():
    assert music.note_to_midi("A4") == 69 and music.note_to_midi("C4") == 60
    assert music.note_to_midi("F#3") == 54 and music.note_to_midi("Bb4") == 70
    assert music.midi_to_hz(69) == 440.0
    notes = music.parse_tune("C4:1 R:0.5 E4:2")
    assert notes == [(60, 1.0), (None, 0.5), (64, 2.0)]
    y = music.render(notes, bpm=120)
    assert len(y) / music.SR == pytest.approx(3.5 * 0.5 + 0.4, abs=0.01)
    for bad in ("H4:1", "C4", "C4:x"):
        with pytest.raises(music.MusicError):
            music.parse_tune(bad)
    for name, tune in music.TUNES.items():
        assert len(music.parse_tune(tune)) >= 20, name


def test_encode_decode_round_trip():
    notes = music.parse_tune(music.TUNES["ode_to_joy"])
    assert music.decode(music.encode(notes), start=notes[0][0])[1:] == notes[1:]


def test_in_key_fraction_separates_tunes_from_noise():
    rng = np.random.default_rng(0)
    noise = [(int(p), 1.0) for p in rng.integers(55, 80, 32)]
    assert music.in_key_fraction(music.parse_tune(music.TUNES["twinkle"])) == 1.0
    assert music.in_key_fraction(noise) < 0.85


def test_melody_model_learns_what_generalises():
    names = sorted(music.TUNES)
    train = [music.parse_tune(music.TUNES[n]) for n in names if n != "twinkle"]
    held = music.encode(music.parse_tune(music.TUNES["twinkle"]))
    model, losses = music.train_melody_model(train, steps=120, progress=False)
    untrained = music.MelodyModel.create()
    assert model.nll(held) < music.unigram_nll(train, held) < untrained.nll(held)
    keyed = np.mean([music.in_key_fraction(model.sample(32, seed=s)) for s in range(6)])
    random = np.mean([music.in_key_fraction(untrained.sample(32, seed=s)) for s in range(6)])
    assert keyed > random + 0.05
    assert model.sample(8, seed=1) == model.sample(8, seed=1)


def test_musicgen_stand_ins_generate_through_the_real_loader():
    models = music.load_musicgen()
    assert models[2] and type(models[0]).__name__ == "MusicgenForConditionalGeneration"
    y, sr = music.generate(models, ["lofi chill beat", "upbeat rock"], seconds=1.0)
    assert sr == 32000 and y.shape[0] == 2 and 0.8 * sr < y.shape[1] <= sr and np.isfinite(y).all()
    with pytest.raises(music.MusicError, match="melody model"):
        music.generate(models, "piano", melody=(np.zeros(16000, np.float32), 16000))
    with pytest.raises(music.MusicError, match="prompt"):
        music.generate(models, [""])
    melody_models = music.load_musicgen(melody=True)
    assert melody_models[2] and hub.is_stand_in(hub.fetch(music.MUSICGEN_MELODY))
    tune = music.render(music.parse_tune(music.TUNES["ode_to_joy"])[:8])
    y, sr = music.generate(melody_models, "solo piano", seconds=1.0, melody=(tune, music.SR))
    assert sr == 32000 and y.shape[0] == 1 and np.isfinite(y).all()

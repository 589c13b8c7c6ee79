"""voicelab.lessons.tts (mel, Griffin-Lim, Hub models through stand-ins) and voicelab.lessons.acoustic.

Offline: sockets may only reach localhost, caches live under pytest's tmp folders, and
every Hub model is its tiny random stand-in, loaded by the same code FULL mode runs.
"""
from __future__ import annotations

import json

import numpy as np
import pytest

from voicelab import audio
from voicelab.core import hub
from voicelab.data import speech
from voicelab.lessons import acoustic, tts

pytestmark = pytest.mark.usefixtures("offline_quick", "one_thread")


@pytest.fixture(scope="module")
def slt():
    y, sr = tts.speak("We should leave early to avoid the evening traffic.")
    return y, sr


# ------------------------------------------------------------------------ mel and vocoders


def test_mel_matches_speecht5_features(slt):
    from transformers import SpeechT5FeatureExtractor

    y, sr = slt
    ours = tts.mel(y, sr)
    theirs = SpeechT5FeatureExtractor()(audio_target=y, sampling_rate=sr, return_tensors="np")["input_values"][0]
    assert ours.shape == theirs.T.shape and ours.shape[0] == 80   # ours (80, frames), theirs (frames, 80)
    assert np.abs(ours - theirs.T).max() < 1e-3


def test_griffin_lim_reconstructs_the_mel_and_noise_does_not(slt):
    y, sr = slt
    S = tts.mel(y, sr)
    rebuilt = tts.griffin_lim(S, n_iter=16)
    assert abs(len(rebuilt) - len(y)) <= tts.MEL["hop_length"]
    err = np.abs(tts.mel(rebuilt, tts.SR)[:, : S.shape[1]] - S).mean()
    noise = np.random.default_rng(0).normal(0, np.std(y), len(y)).astype(np.float32)
    assert err < 0.15 < np.abs(tts.mel(noise, sr) - S).mean()
    with pytest.raises(ValueError, match="80"):
        tts.griffin_lim(np.zeros((40, 10)))


# ----------------------------------------------------------------------- acoustic model


def test_mas_is_monotonic_and_complete():
    rng = np.random.default_rng(0)
    d = acoustic.mas(rng.normal(size=(5, 20)))
    assert d.sum() == 20 and (d >= 1).all() and len(d) == 5
    # a clear diagonal is found exactly
    ll = np.full((3, 9), -10.0)
    ll[0, :2] = ll[1, 2:7] = ll[2, 7:] = 0.0
    assert acoustic.mas(ll).tolist() == [2, 5, 2]
    with pytest.raises(acoustic.AcousticError, match="too short"):
        acoustic.mas(np.zeros((5, 3)))


@pytest.fixture(scope="module")
def utterances():
    corpus = speech.make_speech(["slt", "rms"], n_sentences=6)
    utts = []
    for spk in ("slt", "rms"):
        for i, line in enumerate(speech.sentences()[:6]):
            y, sr = audio.load(corpus / spk / f"{spk}_{i:03d}.wav")
            utts.append(acoustic.Utterance(acoustic.tokens(line), tts.mel(y, sr), spk))
    acoustic.align(utts, iterations=3)
    return utts


def test_alignment_covers_every_frame(utterances):
    for u in utterances:
        assert u.durations.sum() == u.S.shape[1] and (u.durations >= 1).all()
        assert u.toks[0] == acoustic.SIL == u.toks[-1]
    # the aligner puts more frames on the silences at the ends than on a typical phoneme
    mid = np.median(np.concatenate([u.durations[1:-1] for u in utterances]))
    assert np.median([u.durations[0] for u in utterances]) > mid


def test_training_beats_the_untrained_model_and_saves_safely(utterances, tmp_path):
    speakers = {"slt": np.ones(256, np.float32) / 16, "rms": -np.ones(256, np.float32) / 16}
    train, held = utterances[:5] + utterances[6:11], [utterances[5], utterances[11]]
    model, losses = acoustic.train(train, speakers, steps=80, hidden=32, progress=False)
    untrained = acoustic.AcousticModel(model.vocab, speakers, hidden=32)
    assert losses[-1] < 0.5 * losses[0]
    assert acoustic.mel_error(model, held) < 0.5 * acoustic.mel_error(untrained, held)
    # with its own predicted durations (as for new text) too; the untrained model's are not the aligner's,
    # so for it the two measures differ
    own = acoustic.mel_error(model, held, own_durations=True)
    assert own < 0.5 * acoustic.mel_error(untrained, held, own_durations=True)
    assert acoustic.mel_error(untrained, held, own_durations=True) != acoustic.mel_error(untrained, held)
    S = acoustic.synthesize_mel(model, "Seven bright kites.", "slt")
    assert S.shape[0] == 80 and S.shape[1] > 10
    again = acoustic.AcousticModel.load(model.save(tmp_path / "am"))
    assert np.allclose(again.predict(held[0].toks, "slt")[0], model.predict(held[0].toks, "slt")[0])
    with pytest.raises(acoustic.AcousticError, match="unknown speaker"):
        model.predict(held[0].toks, "nobody")
    with pytest.raises(acoustic.AcousticError, match="align"):
        acoustic.train([acoustic.Utterance(["_"], np.zeros((80, 3)), "slt")], speakers)


def test_acoustic_model_saves_all_or_nothing_and_refuses_what_does_not_load(tmp_path, monkeypatch):
    # notebook 07 saves its model where 07_text_to_speech_part2 loads it: a half-written or stale
    # folder must fail with the folder's name, never load as something else
    vocab = acoustic.Vocabulary.build([["_", "a", "|", "b", "_"]])
    speakers = {"slt": np.ones(8, np.float32)}
    first, second = (acoustic.AcousticModel(vocab, speakers, hidden=16, seed=s) for s in (0, 1))
    toks = ["_", "a", "|", "b", "_"]
    folder = first.save(tmp_path / "am")
    assert sorted(p.name for p in folder.iterdir()) == ["acoustic.json", "acoustic.safetensors"]
    same = lambda a, b: np.array_equal(a.predict(toks, "slt")[0], b.predict(toks, "slt")[0])  # noqa: E731
    assert same(acoustic.AcousticModel.load(folder), first) and not same(second, first)   # + control

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(acoustic.files, "write_json", crash)      # dies after the weights are written
    with pytest.raises(OSError, match="disk full"):
        second.save(folder)
    monkeypatch.undo()
    assert same(acoustic.AcousticModel.load(folder), first)      # the old model, whole
    assert sorted(p.name for p in tmp_path.iterdir()) == ["am"]   # no temporary folder left
    assert same(acoustic.AcousticModel.load(second.save(folder)), second)   # a full save replaces it

    with pytest.raises(acoustic.AcousticError, match="missing"):
        acoustic.AcousticModel.load(tmp_path / "nothing")
    config = json.loads((folder / "acoustic.json").read_text())
    (folder / "acoustic.json").write_text(json.dumps({**config, "hidden": 32}))   # settings of another model
    with pytest.raises(acoustic.AcousticError, match="does not load"):
        acoustic.AcousticModel.load(folder)


# ------------------------------------------------------------------------------ Hub models


def test_stretch_changes_only_the_length():
    S = np.stack([np.linspace(0, 1, 10), np.ones(10)]).astype(np.float32)
    assert np.allclose(acoustic.stretch(S, 10), S)                        # same length: unchanged
    long = acoustic.stretch(S, 19)
    assert long.shape == (2, 19) and np.allclose(long[0], np.linspace(0, 1, 19), atol=1e-6)
    assert not np.allclose(acoustic.stretch(S[:, ::-1], 19), long)         # the control: time order counts
    with pytest.raises(acoustic.AcousticError, match="frames"):
        acoustic.stretch(S, 0)


def test_acoustic_training_runs_on_the_device_it_is_given(utterances, monkeypatch):
    speakers = {"slt": np.ones(256, np.float32) / 16, "rms": -np.ones(256, np.float32) / 16}
    asked = []
    real_pick = acoustic.runtime.pick_device
    monkeypatch.setattr(acoustic.runtime, "pick_device", lambda d=None: asked.append(d) or real_pick(d))
    model, _ = acoustic.train(utterances, speakers, steps=2, hidden=8, progress=False, device="cpu")
    acoustic.train(utterances, speakers, steps=2, hidden=8, progress=False)
    assert asked == ["cpu", None]          # given, then the runtime's default
    assert all(p.device.type == "cpu" for p in model.net.parameters())   # back on the CPU for predict()
    with pytest.raises(RuntimeError):      # the control: a device that does not exist is really used
        acoustic.train(utterances, speakers, steps=2, hidden=8, progress=False, device="nosuchdevice")


def test_speecht5_stand_in_speaks_through_the_real_loader(slt):
    models = tts.load_speecht5()
    model, processor, vocoder, stand_in = models
    assert stand_in and hub.is_stand_in(hub.fetch(tts.SPEECHT5))
    assert type(model).__name__ == "SpeechT5ForTextToSpeech" and type(vocoder).__name__ == "SpeechT5HifiGan"
    y, sr = tts.speecht5_speak("Hello there. It is 10:30 on 5 March.", models)
    assert sr == 16000 and y.ndim == 1 and len(y) > 0.15 * sr and np.isfinite(y).all()
    xv = tts.speaker_xvector()
    assert xv.shape == (512,) and xv.dtype == np.float32
    S = tts.mel(*slt)
    assert len(tts.vocode(S, vocoder)) == S.shape[1] * 256
    with pytest.raises(tts.TTSError, match="512"):
        tts.speecht5_speak("Hello", models, speaker=np.zeros(256))
    with pytest.raises(tts.TTSError, match="empty"):
        tts.speecht5_speak(" ", models)


def test_transformers_pipelines_offline():
    for name in ("speecht5-tts", "mms-tts-eng"):
        pipe, forward, stand_in = tts.pipeline(name)
        out = pipe("Hello world.", forward_params=forward)
        assert stand_in and out["sampling_rate"] == 16000 and np.size(out["audio"]) > 1000
    y, sr = tts.vits_speak("Hello world.", tts.load_vits())
    assert sr == 16000 and y.ndim == 1
    with pytest.raises(tts.TTSError, match="unknown"):
        tts.pipeline("gpt-5")


def test_speecht5_fine_tuning_lowers_its_loss_on_held_out_clips():
    folder = speech.make_speech(["slt"], n_sentences=5) / "slt"
    clips = tts.transcribed_clips(folder)
    assert len(clips) == 5 and clips[0][1] == speech.sentences()[0]
    tune, held = clips[:3], clips[3:]
    models = tts.load_speecht5()
    before = tts.speecht5_loss(models, held)
    assert tts.speecht5_loss(models, held) == before          # the measurement itself is repeatable
    frozen = tts.finetune_speecht5(models, tune, steps=5, lr=0.0, progress=False)
    # the control: the same loop with a learning rate of 0 leaves the held-out loss where it was
    assert tts.speecht5_loss(models, held, speaker=frozen["speaker"]) == pytest.approx(before, rel=1e-3)
    result = tts.finetune_speecht5(models, tune, steps=25, lr=1e-3, progress=False)
    after = tts.speecht5_loss(models, held, speaker=result["speaker"])
    assert after < 0.8 * before and len(result["losses"]) == 25     # on clips it never trained on
    assert not np.allclose(result["speaker"], tts.speaker_xvector())               # the speaker was learnt


def test_transcribed_clips_needs_text(tmp_path):
    y, sr = tts.speak("Hello.")
    audio.save(tmp_path / "a.wav", y, sr)
    with pytest.raises(tts.TTSError, match="transcript"):
        tts.transcribed_clips(tmp_path)

"""The classic WORLD + DTW + MLP voice-conversion baseline (voicelab.voice.baseline)."""
import json

import numpy as np
import pytest

from voicelab import AudioError, audio
from voicelab.audio import speaker, world
from voicelab.data import speech
from voicelab.voice import baseline, metrics

N_TRAIN, N_TEST = 20, 4

pytestmark = pytest.mark.usefixtures("one_thread")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return speech.make_speech(["rms", "slt"], out_dir=tmp_path_factory.mktemp("speech"))


def clips(corpus, spk, idx):
    return [corpus / spk / f"{spk}_{i:03d}.wav" for i in idx]


@pytest.fixture(scope="module")
def trained(corpus):
    # about 10-15 s on one core: 20 parallel sentences, rms (US male) -> slt (US female)
    return baseline.train_baseline(clips(corpus, "rms", range(N_TRAIN)), clips(corpus, "slt", range(N_TRAIN)),
                             seed=0)


def evaluate(model, corpus):
    """Mean speaker similarities and MCD of the model's conversions of the held-out sentences."""
    test = range(N_TRAIN, N_TRAIN + N_TEST)
    target = np.mean([speaker.embedding(p) for p in clips(corpus, "slt", range(4))], axis=0)
    out = {"sim_target": [], "sim_source": [], "mcd": [], "src_sim_target": [], "src_mcd": []}
    for src, ref in zip(clips(corpus, "rms", test), clips(corpus, "slt", test)):
        y, sr = audio.load(src)
        conv = model.convert(y, sr)
        assert conv.dtype == np.float32 and abs(len(conv) - len(y)) <= sr // 100
        e_conv, e_src = speaker.embedding(conv, sr), speaker.embedding(y, sr)
        out["sim_target"].append(speaker.cosine(e_conv, target))
        out["sim_source"].append(speaker.cosine(e_conv, e_src))
        out["src_sim_target"].append(speaker.cosine(e_src, target))
        out["mcd"].append(metrics.mcd(conv, ref, sr, f0_method="dio"))
        out["src_mcd"].append(metrics.mcd(y, ref, sr, f0_method="dio"))
    return {k: float(np.mean(v)) for k, v in out.items()}


def closer_to_target(r):
    """The Done-means check: similarity to the target up, to the source down, MCD down."""
    return (r["sim_target"] > r["src_sim_target"] + 0.05
            and r["sim_source"] < r["sim_target"]
            and r["mcd"] < r["src_mcd"] - 1.0)


@pytest.fixture(scope="module")
def trained_scores(trained, corpus):
    return evaluate(trained, corpus)


def test_trained_baseline_converts_towards_the_target(trained_scores):
    r = trained_scores
    assert closer_to_target(r), r
    # measured: similarity to slt 0.64 -> 0.75, to the source 0.54, MCD 9.7 -> 7.4 dB


def test_untrained_mappings_do_not_pass_the_same_check(corpus):
    identity = evaluate(baseline.Baseline.identity(16000), corpus)
    assert not closer_to_target(identity), identity
    assert identity["sim_source"] > 0.9  # WORLD resynthesis keeps the voice
    random_init = baseline.train_baseline(clips(corpus, "rms", range(N_TRAIN)),
                                    clips(corpus, "slt", range(N_TRAIN)), seed=0, steps=0)
    assert not closer_to_target(evaluate(random_init, corpus))


def test_f0_transform_moves_the_pitch_to_the_target_range(trained, corpus):
    y, sr = audio.load(clips(corpus, "rms", [N_TRAIN])[0])
    ref, _ = audio.load(clips(corpus, "slt", [N_TRAIN])[0])
    f0_src, f0_conv, f0_ref = (metrics.f0_contour(x, sr, method="dio")
                               for x in (y, trained.convert(y, sr), ref))
    med = [np.median(f[f > 0]) for f in (f0_src, f0_conv, f0_ref)]
    assert abs(1200 * np.log2(med[1] / med[2])) < 200  # within 2 semitones of the target
    assert abs(1200 * np.log2(med[0] / med[2])) > 600  # the source was far away
    f0 = np.array([0.0, 100.0, 150.0, 0.0])
    mapped = trained.map_f0(f0)
    assert mapped[0] == 0 and mapped[3] == 0 and mapped[2] > mapped[1] > f0[1]


def test_save_and_load_round_trip_without_pickle(trained, corpus, tmp_path):
    folder = trained.save(tmp_path / "model")
    assert sorted(p.name for p in folder.iterdir()) == ["baseline.json", "baseline.safetensors"]
    loaded = baseline.Baseline.load(folder)
    y, sr = audio.load(clips(corpus, "rms", [N_TRAIN + 1])[0])
    np.testing.assert_array_equal(loaded.convert(y, sr), trained.convert(y, sr))
    # other sample rates go in and come out at their own rate
    y22 = audio.resample(y, sr, 22050)
    assert abs(len(loaded.convert(y22, 22050)) - len(y22)) <= 1
    ident = baseline.Baseline.identity().save(tmp_path / "identity")
    assert baseline.Baseline.load(ident).net is None


def test_load_refuses_what_is_not_a_baseline(tmp_path):
    with pytest.raises(baseline.BaselineError, match="not a saved baseline"):
        baseline.Baseline.load(tmp_path)
    (tmp_path / "baseline.json").write_text(json.dumps({"format": "something else"}))
    with pytest.raises(baseline.BaselineError, match="format"):
        baseline.Baseline.load(tmp_path)


def test_training_needs_parallel_pairs(corpus):
    with pytest.raises(baseline.BaselineError, match="as many source clips"):
        baseline.train_baseline(clips(corpus, "rms", range(2)), clips(corpus, "slt", range(1)))
    with pytest.raises(baseline.BaselineError, match="no training clips"):
        baseline.train_baseline([], [])
    y, sr = audio.load(clips(corpus, "slt", [0])[0])
    with pytest.raises(AudioError, match="without its sampling rate"):   # never guessed
        baseline.train_baseline([y], [y], steps=0)


def test_mel_cepstrum_round_trip_and_alpha(corpus):
    assert world.mel_alpha(16000) == pytest.approx(0.41, abs=0.01)
    assert world.mel_alpha(44100) == pytest.approx(0.544, abs=0.01)
    y, sr = audio.load(clips(corpus, "slt", [0])[0])
    f = world.analyze(y, sr)
    mc = world.mel_cepstrum(f.sp, sr)
    assert mc.shape == (len(f.f0), world.ORDER + 1)
    back = world.mel_cepstrum_to_envelope(mc, sr, f.fft_size)
    assert back.shape == f.sp.shape
    # order 24 smooths the envelope: a few dB on average, not tens
    assert np.mean(np.abs(10 * np.log10(back / f.sp))) < 4.0
    np.testing.assert_allclose(world.mel_cepstrum(back, sr), mc, atol=0.05)


def test_dtw_finds_the_warping_of_a_stretched_sequence():
    x = np.sin(np.linspace(0, 6, 50))[:, None]
    y = np.repeat(x, 2, axis=0)  # the same sequence, twice as slow
    path, cost = world.dtw(x, y)
    assert tuple(path[0]) == (0, 0) and tuple(path[-1]) == (49, 99)
    assert np.all(np.diff(path, axis=0) >= 0) and np.all(np.diff(path, axis=0).sum(1) >= 1)
    assert cost < 1e-9
    assert np.all(np.abs(path[:, 1] // 2 - path[:, 0]) <= 1)

"""voicelab.data.synthetic: spoken words, generated reviews and moving digits, all made offline."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from voicelab.data import synthetic


@pytest.fixture(scope="module")
def words():
    return synthetic.spoken_words(("slt", "espeak_m"), words=("one", "two"), takes=3, seed=0)


def test_spoken_words_shapes_labels_and_seed(words):
    assert len(words) == 2 * 2 * 3 and words.y.shape == (12, 10240) and words.y.dtype == torch.float32
    assert words.labels.tolist() == [0, 0, 0, 1, 1, 1] * 2
    assert words.spk == ["slt"] * 6 + ["espeak_m"] * 6
    assert float(words.y.abs().max()) <= 1.0
    again = synthetic.spoken_words(("slt",), words=("one", "two"), takes=3, seed=0)
    assert torch.equal(again.y, words.y[:6])                 # same seed, same takes
    other = synthetic.spoken_words(("slt",), words=("one", "two"), takes=3, seed=1)
    assert torch.equal(other.y[0], words.y[0])               # take 0 is never varied ...
    assert not torch.equal(other.y[1], words.y[1])           # ... the others depend on the seed
    assert words.only(["espeak_m"]).spk == ["espeak_m"] * 6
    with pytest.raises(synthetic.DevDataError):
        words.only(["awb"])
    with pytest.raises(synthetic.DevDataError):
        synthetic.spoken_words(("nobody",))


def test_log_mel_and_mfcc(words):
    S = synthetic.log_mel(words.y, words.sr)
    assert S.shape == (12, 1, 32, 32) and float(S.max()) == 1.0 and float(S.min()) >= -1.0
    assert torch.allclose(S.amax(dim=(1, 2, 3)), torch.ones(12))   # each take's loudest cell is 1
    M = synthetic.mfcc(words.y, words.sr, n_mfcc=16)
    assert M.shape == (12, 1, 16, 32) and float(M.abs().max()) <= 1.0 + 1e-5
    with pytest.raises(synthetic.DevDataError):
        synthetic.log_mel(torch.zeros(2, 100), 16000)
    with pytest.raises(TypeError, match="sr"):   # a waveform without its rate is refused
        synthetic.log_mel(words.y)


def test_split_indices():
    a, b, c = synthetic.split_indices(10, (0.6, 0.2, 0.2), seed=0)
    assert sorted(np.concatenate([a, b, c]).tolist()) == list(range(10)) and (len(a), len(b)) == (6, 2)
    with pytest.raises(synthetic.DevDataError):
        synthetic.split_indices(10, (0.5, 0.6))


def test_sentences_follow_the_negation_rule():
    texts, labels, names = synthetic.sentences(200, seed=0)
    assert len(texts) == 200 and labels.shape == (200,) and len(names) == 4
    good, bad = set(synthetic._GOOD), set(synthetic._BAD)
    for text, label in zip(texts, labels.tolist()):
        w = text.split()
        topic = 0 if any(n in w for n in synthetic._NOUNS["food"]) else 1
        positive = any(a in good for a in w) != ("not" in w)
        assert label == 2 * topic + int(positive), text
    assert synthetic.sentences(5, seed=3)[0] == synthetic.sentences(5, seed=3)[0]


def test_vocab_round_trip():
    texts = ["the soup was good", "the film was not bad"]
    vocab = synthetic.Vocab(texts)
    ids = vocab.encode(texts + ["a new word"], max_len=6)
    assert ids.shape == (3, 6) and int(ids[0, 4]) == 0            # padding
    assert vocab.decode(ids[:2]) == texts
    assert vocab.decode(ids[2:]) == ["<unk> <unk> <unk>"]


def test_moving_digits_move_in_their_direction():
    X, direction, digit = synthetic.moving_digits(40, seed=0)
    assert X.shape == (40, 1, 8, 16, 16) and 0 <= float(X.min()) and float(X.max()) <= 1
    rows = torch.arange(16.0)
    for i in range(40):
        frames = (X[i, 0] > 0.3).float()                            # the digit, without the noise
        mass = frames.sum((1, 2))
        r = (frames.sum(2) * rows).sum(1) / mass
        c = (frames.sum(1) * rows).sum(1) / mass
        dr, dc = float(r[-1] - r[0]), float(c[-1] - c[0])
        expected = {"right": (0, 7), "left": (0, -7), "down": (7, 0), "up": (-7, 0)}
        er, ec = expected[synthetic.DIRECTIONS[direction[i]]]
        assert abs(dr - er) < 1.5 and abs(dc - ec) < 1.5
    _, _, d = synthetic.moving_digits(30, digit_classes=(7, 8), seed=1)
    assert set(d.tolist()) <= {7, 8}
    with pytest.raises(synthetic.DevDataError):
        synthetic.moving_digits(5, frames=8, size=12)

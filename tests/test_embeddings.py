"""voicelab.lessons.embeddings: word vectors, speaker embeddings, CLAP (notebook 06), all offline."""
import json

import numpy as np
import pytest

from voicelab.core import hub
from voicelab.data import speech as speech_data
from voicelab.lessons import embeddings as em


@pytest.fixture(autouse=True)
def offline_cache(tmp_path_factory, monkeypatch):
    cache = tmp_path_factory.getbasetemp() / "embeddings-cache"   # shared: stand-ins built once
    monkeypatch.setenv("VOICELAB_CACHE", str(cache))
    monkeypatch.setenv("HF_HOME", str(cache / "hf-home"))
    monkeypatch.setenv("VOICELAB_QUICK", "1")


@pytest.fixture(scope="module")
def toy_vectors():
    return em.ppmi_svd(em.toy_corpus(6000, seed=0), dim=32)


def test_toy_corpus_is_seeded_and_covers_every_analogy_word():
    a, b = em.toy_corpus(500, seed=1), em.toy_corpus(500, seed=1)
    assert a == b and a != em.toy_corpus(500, seed=2)
    words = {w for s in em.toy_corpus(3000) for w in s}
    assert all(w in words for items in em.ANALOGIES.values() for p in items for w in p)
    with pytest.raises(ValueError):
        em.toy_corpus(10)


def test_cooccurrence_and_ppmi_by_hand():
    vocab, C = em.cooccurrence([["a", "b", "c"], ["a", "b"]], window=1)
    assert vocab == ["a", "b", "c"]
    np.testing.assert_array_equal(C, [[0, 2, 0], [2, 0, 1], [0, 1, 0]])
    M = em.ppmi(C)
    assert (M >= 0).all() and np.allclose(M, M.T) and M[0, 2] == 0   # a, c never met
    # P(a,b) = 2/6, P(a) = 2/6, P(b) = 3/6  ->  PMI = log(2/6 / (2/6 * 3/6)) = log 2
    assert M[0, 1] == pytest.approx(np.log(2.0))


def test_toy_vectors_solve_the_analogies_and_random_vectors_do_not(toy_vectors):
    acc = em.analogy_accuracy(toy_vectors)
    assert set(acc) == set(em.ANALOGIES) and min(acc.values()) >= 0.75    # the notebook's check
    assert toy_vectors.analogy("man", "king", "woman")[0][0] == "queen"
    rng = np.random.default_rng(0)
    random_wv = em.WordVectors(toy_vectors.words, rng.standard_normal(toy_vectors.vectors.shape))
    assert max(em.analogy_accuracy(random_wv).values()) < 0.75
    # an SVD with too few directions cannot hold all three relations
    assert min(em.analogy_accuracy(em.ppmi_svd(em.toy_corpus(6000), dim=4)).values()) < 0.75


def test_word_vectors_queries(toy_vectors):
    assert toy_vectors.similarity("king", "king") == pytest.approx(1.0, abs=1e-5)
    near = toy_vectors.nearest("paris", n=3)
    assert len(near) == 3 and "paris" not in [w for w, _ in near]
    assert near[0][1] >= near[1][1] >= near[2][1]
    with pytest.raises(em.EmbeddingError, match="vocabulary"):
        toy_vectors["dragon"]
    with pytest.raises(ValueError):
        em.WordVectors(["a", "b"], np.zeros((3, 2)))


def test_glove_loader_through_the_hub_stand_in():
    wv, folder = em.load_glove()
    assert hub.is_stand_in(folder)
    assert wv.vectors.shape[1] == 300 and "king" in wv and "PADDING_TOKEN" not in wv
    assert len(em.load_glove(max_words=10)[0]) == 10
    # the stand-in is random, so it fails the analogy check as it should
    assert max(em.analogy_accuracy(wv).values()) < 0.75


def test_glove_loader_explains_a_wrong_folder(tmp_path):
    with pytest.raises(em.EmbeddingError, match="sentence-transformers"):
        em.load_glove(path=tmp_path)
    sub = tmp_path / "0_WordEmbeddings"
    sub.mkdir()
    (sub / "whitespacetokenizer_config.json").write_text(json.dumps({"vocab": ["PAD", "a", "b"]}))
    import torch
    hub.save_weights({"emb_layer.weight": torch.zeros(5, 4)}, sub / "model.safetensors")
    with pytest.raises(em.EmbeddingError, match="one row per word"):
        em.load_glove(path=tmp_path)


@pytest.fixture(scope="module")
def speech(tmp_path_factory):
    return speech_data.make_speech(speech_data.SPEAKERS, n_sentences=3, out_dir=tmp_path_factory.mktemp("speech"))


def test_speaker_claim_holds_for_the_pretrained_encoder_and_fails_untrained(speech):
    clips = [speech / s / f"{s}_{i:03d}.wav" for s in speech_data.SPEAKERS for i in range(3)]
    labels = [s for s in speech_data.SPEAKERS for _ in range(3)]
    E = em.speaker_embeddings(clips)
    assert E.shape == (12, 256) and np.allclose(np.linalg.norm(E, axis=1), 1, atol=1e-4)
    assert em.speakers_separate(E, labels)
    names, M = em.similarity_table(E, labels)
    assert names == list(speech_data.SPEAKERS) and M.shape == (4, 4) and np.allclose(M, M.T)
    E0 = em.speaker_embeddings(clips, encoder=em.untrained_speaker_encoder(seed=0))
    assert E0.shape == (12, 256)
    assert not em.speakers_separate(E0, labels)
    ari, found = em.cluster_agreement(E, labels)
    assert ari > 0.9 and len(found) == 12                      # k-means finds the speakers
    assert em.cluster_agreement(E0, labels)[0] < 0.9           # ... not with random weights
    # labels that do not follow the voices fail too
    shuffled = [labels[(i * 5) % 12] for i in range(12)]
    assert not em.speakers_separate(E, shuffled)
    P = em.project_2d(E)
    assert P.shape == (12, 2) and np.allclose(P, em.project_2d(E))
    with pytest.raises(em.EmbeddingError, match="two clips"):
        em.similarity_table(E[:5], labels[:4] + ["solo"])


def test_espeak_variant():
    y, sr = em.espeak_variant("Hello there.", "en-us+m1")
    assert sr == 16000 and y.ndim == 1 and len(y) > sr // 4
    with pytest.raises(ValueError, match="en-us\\+m3"):   # espeak-ng would fall back silently
        em.espeak_variant("Hello.", "no-such-voice+x9")


def test_clap_through_the_hub_stand_in():
    model, processor, folder = em.load_clap()
    assert hub.is_stand_in(folder)
    sounds = em.demo_sounds(seconds=1.0)
    assert list(sounds) == ["a man speaking", "a piano melody", "rain falling", "a drum beat",
                            "an electronic beep"]
    for y, sr in sounds.values():
        assert sr == 48000 and len(y) == 48000 and np.abs(y).max() == pytest.approx(0.5, abs=1e-6)
    T = em.clap_embed_text(model, processor, list(sounds))
    A = em.clap_embed_audio(model, processor, list(sounds.values()))
    assert T.shape == A.shape == (5, model.config.projection_dim)
    assert np.allclose(np.linalg.norm(T, axis=1), 1, atol=1e-5)
    assert np.allclose(np.linalg.norm(A, axis=1), 1, atol=1e-5)
    np.testing.assert_allclose(T, em.clap_embed_text(model, processor, list(sounds)), atol=1e-6)
    with pytest.raises(em.EmbeddingError):
        em.clap_embed_text(model, processor, "one string")


# ------------------------------------------------------------------ a joint space trained here


def _clusters(n_per_label, seed):
    """Four labels, each a direction in 64-D plus noise: embeddings a speaker encoder might give."""
    rng = np.random.default_rng(seed)
    centres = np.random.default_rng(0).standard_normal((4, 64))
    labels = [f"speaker {k}" for k in range(4) for _ in range(n_per_label)]
    E = np.repeat(centres, n_per_label, axis=0) + 0.8 * rng.standard_normal((4 * n_per_label, 64))
    return E / np.linalg.norm(E, axis=1, keepdims=True), labels


def test_clip_loss_is_low_for_matching_pairs():
    import torch

    a = torch.nn.functional.normalize(torch.randn(6, 8, generator=torch.Generator().manual_seed(0)), dim=1)
    matched = em.clip_loss(a, a)
    shuffled = em.clip_loss(a, a[torch.tensor([1, 2, 3, 4, 5, 0])])     # control: pairs mixed up
    assert matched < np.log(6) < shuffled


def test_joint_space_matches_held_out_clips_and_fails_on_shuffled_labels():
    E_train, L_train = _clusters(6, seed=1)
    E_test, L_test = _clusters(6, seed=2)
    space, losses = em.train_joint_space(E_train, L_train, steps=200, seed=0)
    assert losses[-1] < losses[0] / 4
    assert space.embed_labels().shape == (4, 16) and np.allclose(np.linalg.norm(space.embed_audio(E_test), axis=1), 1)
    assert np.mean(np.array(space.classify(E_test)) == np.array(L_test)) > 0.9
    # control: the same training on labels shuffled among the clips learns nothing that carries over
    accs = []
    for k in range(5):
        shuffled = list(np.random.default_rng(k).permutation(L_train))
        s, _ = em.train_joint_space(E_train, shuffled, steps=200, seed=0)
        accs.append(np.mean(np.array(s.classify(E_test)) == np.array(L_test)))
    assert np.mean(accs) < 0.5
    with pytest.raises(em.EmbeddingError, match="one label per embedding"):
        em.train_joint_space(E_train, L_train[:-1])
    with pytest.raises(em.EmbeddingError, match="two labels"):
        em.train_joint_space(E_train[:3], ["a"] * 3)


def test_spread_out_separates_labels_and_keeps_the_rest():
    y = np.array([0.0, 0.01, 0.02, 1.0, 0.5])
    placed = em.spread_out(y, 0.1)
    assert np.min(np.diff(np.sort(placed))) >= 0.1 - 1e-9           # no two closer than the gap
    assert list(np.argsort(placed)) == list(np.argsort(y))           # the order kept
    assert np.allclose(placed[3:], y[3:])                            # the far-apart ones stay put
    assert np.min(np.diff(np.sort(y))) < 0.1                         # control: the input did overlap
    assert np.allclose(em.spread_out(y, 0.0), y)

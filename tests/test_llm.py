"""voicelab.lessons.llm: the Hub text model of notebook 01, loaded offline through its stand-in."""
import fnmatch

import pytest

from voicelab.core import hub
from voicelab.lessons import llm


@pytest.fixture(scope="module")
def loaded(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    root = tmp_path_factory.mktemp("foundation")
    mp.setenv("VOICELAB_CACHE", str(root / "voicelab-cache"))
    mp.setenv("HF_HOME", str(root / "hf-home"))
    mp.setenv("VOICELAB_QUICK", "1")
    try:
        yield llm.load_text_model()
    finally:
        mp.undo()


def test_offline_load_uses_the_stand_in(loaded):
    model, tokenizer, path = loaded
    assert hub.is_stand_in(path)
    assert type(model).__name__ == "LlamaForCausalLM"           # the real model's architecture
    assert (path / "model.safetensors").is_file() and not list(path.glob("*.bin"))
    assert tokenizer.chat_template


def test_stand_in_files_are_what_the_real_download_keeps(loaded):
    """The stand-in has the real repo's layout: every file it wrote is one the asset downloads."""
    _, _, path = loaded
    written = [p.name for p in path.iterdir() if p.name != hub.STAND_IN_MARKER]
    patterns = llm.TEXT_MODEL.allow_patterns
    assert written and all(any(fnmatch.fnmatch(n, pat) for pat in patterns) for n in written)


def test_answer_is_deterministic_text(loaded):
    model, tokenizer, _ = loaded
    a = llm.answer(model, tokenizer, "What is a spectrogram?", max_new_tokens=12)
    b = llm.answer(model, tokenizer, "What is a spectrogram?", max_new_tokens=12)
    assert isinstance(a, str) and a == b and 0 < len(a) <= 12
    text = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], add_generation_prompt=True,
                                         tokenize=False)
    assert text.endswith("<|im_start|>assistant\n") and "Hi" in text


def test_bad_prompt(loaded):
    model, tokenizer, _ = loaded
    with pytest.raises(ValueError, match="prompt"):
        llm.answer(model, tokenizer, "  ")
    with pytest.raises(ValueError, match="max_new_tokens"):
        llm.answer(model, tokenizer, "Hi", max_new_tokens=0)


def test_sampling_with_a_temperature_depends_on_the_seed(loaded):
    model, tokenizer, _ = loaded
    a = llm.answer(model, tokenizer, "What is a spectrogram?", max_new_tokens=12, temperature=1.0, seed=0)
    again = llm.answer(model, tokenizer, "What is a spectrogram?", max_new_tokens=12, temperature=1.0, seed=0)
    other = llm.answer(model, tokenizer, "What is a spectrogram?", max_new_tokens=12, temperature=1.0, seed=1)
    assert a == again and a != other          # seeded, and the seed matters (greedy ignores it: above)
    with pytest.raises(ValueError, match="temperature"):
        llm.answer(model, tokenizer, "Hi", temperature=-1)


# ------------------------------------------------------------ the character model of notebook 01

import numpy as np  # noqa: E402

from voicelab.data import speech  # noqa: E402


def _entropy(p):
    p = p[p > 0]
    return float(-(p * np.log2(p)).sum())


def test_temperature_sharpens_and_flattens():
    p = np.array([0.5, 0.3, 0.15, 0.05])
    assert np.allclose(llm.with_temperature(p, 1.0), p)
    assert llm.with_temperature(p, 0).tolist() == [1.0, 0.0, 0.0, 0.0]      # greedy: the argmax
    assert _entropy(llm.with_temperature(p, 0.5)) < _entropy(p) < _entropy(llm.with_temperature(p, 2.0))
    assert np.isclose(llm.with_temperature(p, 1e6), 0.25, atol=1e-4).all()  # very hot: uniform
    uniform = np.full(4, 0.25)                                             # control: nothing to sharpen
    assert np.allclose(llm.with_temperature(uniform, 0.5), uniform)
    with pytest.raises(ValueError, match="temperature"):
        llm.with_temperature(p, -0.1)


@pytest.fixture(scope="module")
def course_text():
    lines = [s.lower() for s in speech.sentences()]
    return "\n".join(lines[:-4]), "\n".join(lines[-4:]), sorted(set("\n".join(lines)))


def test_char_model_learns_from_the_order_of_characters(course_text):
    train, held, alphabet = course_text
    unigram = llm.CharModel(train, order=1, alphabet=alphabet)
    trigram = llm.CharModel(train, order=3, alphabet=alphabet)
    untrained = llm.CharModel("", alphabet=alphabet)
    assert np.isclose(untrained.bits_per_char(held), np.log2(len(alphabet)))
    assert trigram.bits_per_char(held) < unigram.bits_per_char(held) - 0.3 < untrained.bits_per_char(held)
    # control: the same characters shuffled have the same frequencies but no order to learn
    shuffled = "".join(np.random.default_rng(0).permutation(list(train)))
    assert llm.CharModel(shuffled, order=3, alphabet=alphabet).bits_per_char(held) > \
        unigram.bits_per_char(held) - 0.1
    assert np.isclose(trigram.probs("th").sum(), 1) and trigram.probs("zzqq").min() > 0


def test_char_model_temperature(course_text):
    train, held, alphabet = course_text
    model = llm.CharModel(train, alphabet=alphabet)
    h = [model.entropy(held, t) for t in (0.5, 1.0, 1.5)]
    assert h[0] < h[1] < h[2]
    h0 = [llm.CharModel("", alphabet=alphabet).entropy(held, t) for t in (0.5, 1.0, 1.5)]
    assert not h0[0] < h0[1] < h0[2]                       # control: uniform stays uniform
    greedy = "the "
    for _ in range(40):
        greedy += model.chars[int(np.argmax(model.probs(greedy)))]
    assert model.sample(40, 0, prompt="the ", seed=0) == model.sample(40, 0, prompt="the ", seed=1) == greedy[4:]
    assert model.sample(40, 1.0, prompt="the ", seed=0) != model.sample(40, 1.0, prompt="the ", seed=1)


def test_char_model_refuses_bad_input():
    with pytest.raises(ValueError, match="order"):
        llm.CharModel("abc", order=0)
    with pytest.raises(ValueError, match="alphabet"):
        llm.CharModel("abc!", alphabet="abc")
    with pytest.raises(ValueError, match="text or an alphabet"):
        llm.CharModel("")

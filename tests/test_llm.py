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

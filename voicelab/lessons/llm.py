"""A foundation model answering a prompt: a small instruction-tuned text transformer.

Introduced in notebook 01. A *foundation model* is pretrained once on a huge amount of
text and then adapted (here: instruction-tuned) for many tasks; you talk to it with a
*prompt*. :data:`TEXT_MODEL` is SmolLM2-360M-Instruct (a 360-million-parameter decoder-only
transformer, Llama architecture, Apache-2.0), downloaded through :mod:`voicelab.core.hub`.

Offline (QUICK mode) the asset's stand-in is used instead: a *tiny, randomly initialised*
model of the same architecture with a character-level tokenizer, written with
``save_pretrained`` where the loader looks. The loading and generation code is the same
for both, so it is exercised offline; the stand-in's answers are random characters, and
:func:`voicelab.core.hub.is_stand_in` tells a notebook to say so.
"""
from __future__ import annotations

import string
from pathlib import Path

from ..core import hub, runtime
from ..core.torchutil import seeded

__all__ = ["TEXT_MODEL", "CHAT_TEMPLATE", "load_text_model", "answer"]

TEXT_MODEL_ID = "HuggingFaceTB/SmolLM2-360M-Instruct"
#: ChatML, the conversation format SmolLM2-Instruct was tuned on (the stand-in uses it too).
CHAT_TEMPLATE = (
    "{% for message in messages %}<|im_start|>{{ message['role'] }}\n"
    "{{ message['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}")
_SPECIALS = ["<|endoftext|>", "<|im_start|>", "<|im_end|>"]


def _write_text_model_stand_in(folder: Path) -> None:
    """A tiny random Llama causal LM (2 layers, width 32) with a character-level tokenizer.

    Its weights are drawn wider than usual (``initializer_range=0.5``, untied output layer)
    so that greedy decoding wanders over many characters instead of repeating one.

    The files SmolLM2's repository publishes, in its formats (config.json,
    generation_config.json, model.safetensors, tokenizer.json, tokenizer_config.json with
    the chat template inside), so ``AutoModelForCausalLM`` and ``AutoTokenizer`` load it
    exactly as they load SmolLM2. Seeded: always the same weights.
    """
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import LlamaConfig, LlamaForCausalLM

    # Byte-level BPE without merges: one token per character. Letters, digits, punctuation,
    # space and newline only, so random answers stay printable; any other character
    # becomes <|endoftext|> (the unknown token).
    text_chars = string.ascii_letters + string.digits + string.punctuation + " \n"
    chars = [_byte_level_char(b) for b in text_chars.encode("ascii")]
    vocab = {tok: i for i, tok in enumerate(_SPECIALS)}
    for ch in chars:
        vocab.setdefault(ch, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="<|endoftext|>"))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)
    tok.decoder = decoders.ByteLevel()
    config = LlamaConfig(vocab_size=len(vocab), hidden_size=32, intermediate_size=64,
                         num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=512, bos_token_id=vocab["<|im_start|>"],
                         eos_token_id=vocab["<|im_end|>"], pad_token_id=vocab["<|endoftext|>"],
                         tie_word_embeddings=False, initializer_range=0.5)
    with seeded(0):
        model = LlamaForCausalLM(config)
    model.save_pretrained(folder, safe_serialization=True)
    _save_tokenizer(tok, folder, _SPECIALS)


#: SmolLM2's 17 special tokens, ids 0-16 of its tokenizer (its tokenizer_config.json).
_SMOLLM2_SPECIALS = _SPECIALS + [
    "<repo_name>", "<reponame>", "<file_sep>", "<filename>", "<gh_stars>", "<issue_start>",
    "<issue_comment>", "<issue_closed>", "<jupyter_start>", "<jupyter_text>", "<jupyter_code>",
    "<jupyter_output>", "<jupyter_script>", "<empty_output>"]


def _write_text_model_full_stand_in(folder: Path) -> None:
    """SmolLM2-360M-Instruct at full size with random weights, for the offline FULL rehearsal.

    The configuration of its config.json (Llama: width 960, 32 layers, 15 attention heads
    sharing 5 key/value heads, MLP 2560, 49,152-token vocabulary, tied input/output
    embeddings), stored in bfloat16 as published (about 724 MB). The tokenizer is a real
    byte-level BPE with SmolLM2's special tokens and chat template, trained here on a few
    sentences, so it has far fewer than 49,152 entries (the model's vocabulary keeps its size).
    """
    import torch
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import LlamaConfig, LlamaForCausalLM

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=True)])
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=2000, special_tokens=_SMOLLM2_SPECIALS,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
                                  show_progress=False)
    sentences = [f"The {a} {b} {c}." for a in ("voice", "model", "sound", "speaker", "answer")
                 for b in ("is", "was", "sounds", "speaks", "learns") for c in
                 ("clear", "small", "generated", "pretrained", "a transformer", "random")]
    tok.train_from_iterator(sentences * 4 + [string.printable], trainer=trainer)
    config = LlamaConfig(vocab_size=49152, hidden_size=960, intermediate_size=2560,
                         num_hidden_layers=32, num_attention_heads=15, num_key_value_heads=5,
                         max_position_embeddings=8192, rms_norm_eps=1e-5, rope_theta=100000.0,
                         hidden_act="silu", tie_word_embeddings=True, bos_token_id=1,
                         eos_token_id=2, pad_token_id=2, initializer_range=0.02)
    # Built without transformers' initialisation (on the meta device), then filled: normal
    # weights (std 0.02) and norm scales of 1, in bfloat16: much faster on a CPU.
    with torch.device("meta"):
        model = LlamaForCausalLM(config)
    model = model.to_empty(device="cpu").to(torch.bfloat16)
    gen = torch.Generator().manual_seed(0)
    with torch.no_grad():
        for param in model.parameters():
            if param.dim() == 1:
                param.fill_(1.0)
            else:
                param.copy_(torch.randn(param.shape, generator=gen) * config.initializer_range)
    model.tie_weights()
    model.save_pretrained(folder, safe_serialization=True)
    _save_tokenizer(tok, folder, _SMOLLM2_SPECIALS, pad="<|im_end|>")   # SmolLM2 pads with <|im_end|>


def _save_tokenizer(tok, folder: Path, specials: list[str], pad: str = "<|endoftext|>") -> None:
    """Save ``tok`` as SmolLM2 publishes its tokenizer: tokenizer.json and a
    tokenizer_config.json holding the chat template (no separate chat_template.jinja)."""
    from transformers import PreTrainedTokenizerFast

    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=tok, bos_token="<|im_start|>", eos_token="<|im_end|>",
        unk_token="<|endoftext|>", pad_token=pad,
        additional_special_tokens=specials[1:])
    tokenizer.chat_template = CHAT_TEMPLATE
    tokenizer.save_pretrained(folder, save_jinja_files=False)


def _byte_level_char(b: int) -> str:
    """The printable character byte-level BPE uses for byte ``b`` (GPT-2's mapping)."""
    keep = list(range(ord("!"), ord("~") + 1)) + list(range(0xA1, 0xAD)) + list(range(0xAE, 0x100))
    if b in keep:
        return chr(b)
    return chr(256 + sorted(set(range(256)) - set(keep)).index(b))


#: SmolLM2-360M-Instruct as its repository publishes it (:data:`voicelab.core.hub.MANIFEST`):
#: config, safetensors weights and tokenizer files, no ONNX copies.
TEXT_MODEL = hub.asset("smollm2-360m-instruct", stand_in=_write_text_model_stand_in,
                       full_stand_in=_write_text_model_full_stand_in)


def load_text_model(device: str = "cpu"):
    """Fetch :data:`TEXT_MODEL` (or its offline stand-in) and load it.

    Introduced in notebook 01. Returns ``(model, tokenizer, path)``; ``path`` is the local
    folder, so ``voicelab.core.hub.is_stand_in(path)`` says whether this is the tiny random
    stand-in. Weights are read from safetensors only.
    """
    from transformers import AutoModelForCausalLM, AutoTokenizer

    with runtime.quiet():   # no warnings or loading bars in the notebook
        path = hub.fetch(TEXT_MODEL)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = AutoModelForCausalLM.from_pretrained(path, use_safetensors=True).to(device).eval()
    return model, tokenizer, Path(path)


def answer(model, tokenizer, prompt: str, max_new_tokens: int = 60,
           system: str | None = None) -> str:
    """Ask ``model`` one question: wrap ``prompt`` in its chat template, generate, decode.

    Introduced in notebook 01. Greedy decoding (always the most probable next token), so
    the same model and prompt give the same answer. Returns the generated text only,
    without the prompt and special tokens.
    """
    import torch

    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string: the question to ask the model")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                           return_dict=True, return_tensors="pt")
    inputs = {k: v.to(model.device) for k, v in inputs.items()}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False,
                             pad_token_id=pad)
    new = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True).strip()

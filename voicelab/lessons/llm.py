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

__all__ = ["TEXT_MODEL", "CHAT_TEMPLATE", "load_text_model", "answer", "with_temperature", "CharModel"]

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
    sentences and then padded with made-up words to SmolLM2's 49,152 entries, so every token
    the model can generate decodes to text, as with the real tokenizer.
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
    tok = _padded_vocabulary(tok, 49152)
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


def _padded_vocabulary(tok, size: int):
    """``tok`` (a trained byte-level BPE) with made-up words (" qa", " qb", ...) appended until
    its vocabulary has ``size`` entries; its merges and special tokens are unchanged."""
    import json

    from tokenizers import Tokenizer

    data = json.loads(tok.to_str())
    vocab = data["model"]["vocab"]
    words = hub.made_up_words("\u0120q")
    while len(vocab) < size:
        vocab.setdefault(next(words), len(vocab))
    return Tokenizer.from_str(json.dumps(data))


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
           system: str | None = None, temperature: float = 0.0, seed: int = 0) -> str:
    """Ask ``model`` one question: wrap ``prompt`` in its chat template, generate, decode.

    Introduced in notebook 01. With ``temperature=0`` (the default), greedy decoding: always
    the most probable next token, so the same model and prompt give the same answer. With
    ``temperature > 0`` each token is sampled from the model's distribution reshaped by the
    temperature (:func:`with_temperature`; no top-k or top-p cut), seeded by ``seed``.
    Returns the generated text only, without the prompt and special tokens.
    """
    import torch

    if not isinstance(prompt, str) or not prompt.strip():
        raise ValueError("prompt must be a non-empty string: the question to ask the model")
    if max_new_tokens < 1:
        raise ValueError(f"max_new_tokens must be >= 1, got {max_new_tokens}")
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    messages = ([{"role": "system", "content": system}] if system else []) + [
        {"role": "user", "content": prompt}]
    inputs = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=True,
                                           return_dict=True, return_tensors="pt")
    inputs = {k: v.to(model.device) for k, v in inputs.items()}
    pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
    sampling = (dict(do_sample=True, temperature=float(temperature), top_k=0, top_p=1.0)
                if temperature > 0 else dict(do_sample=False))
    with torch.no_grad(), seeded(seed):
        out = model.generate(**inputs, max_new_tokens=max_new_tokens, pad_token_id=pad, **sampling)
    new = out[0, inputs["input_ids"].shape[1]:]
    return tokenizer.decode(new, skip_special_tokens=True).strip()


# ------------------------------------------------------------ a language model trained here


def with_temperature(p, temperature: float):
    """Reshape a next-token distribution ``p`` (shape ``(V,)``, sums to 1) with a temperature.

    Introduced in notebook 01. ``p ** (1 / T)``, renormalised: the same as dividing the
    logits by ``T`` before the softmax. ``T < 1`` sharpens the distribution (the likely
    tokens get likelier), ``T > 1`` flattens it, ``T = 1`` keeps it, and ``T = 0`` is the
    limit: all the probability on the most likely token (greedy decoding).
    """
    import numpy as np

    p = np.asarray(p, dtype=float)
    if temperature < 0:
        raise ValueError(f"temperature must be >= 0, got {temperature}")
    if temperature == 0:
        out = np.zeros_like(p)
        out[np.argmax(p)] = 1.0
        return out
    logits = np.log(np.maximum(p, 1e-300)) / temperature
    out = np.exp(logits - logits.max())
    return out / out.sum()


class CharModel:
    """A character-level n-gram language model: P(next character | the previous ``order - 1``).

    Introduced in notebook 01. "Training" is counting: for every context of ``order - 1``
    characters in ``text``, how often each character follows it; :meth:`probs` mixes in the
    shorter contexts' counts, so no character has probability 0 and an unseen context falls
    back on a shorter one. ``alphabet`` (a string or list of characters) is what the model can
    write, by default the characters of ``text``; ``text=""`` with an ``alphabet`` is the
    untrained model: every character equally likely.
    """

    def __init__(self, text: str, order: int = 3, alphabet=None):
        import numpy as np

        if order < 1:
            raise ValueError(f"order must be >= 1, got {order}")
        self.order = order
        self.chars = sorted(set(alphabet if alphabet is not None else text))
        if not self.chars:
            raise ValueError("CharModel needs a text or an alphabet to know its characters")
        self.index = {c: i for i, c in enumerate(self.chars)}
        unknown = sorted(set(text) - set(self.chars))
        if unknown:
            raise ValueError(f"text has characters outside the alphabet: {''.join(unknown[:10])!r}")
        self.counts: dict[str, np.ndarray] = {}
        for k in range(order):             # contexts of 0 .. order-1 characters
            for i in range(k, len(text)):
                row = self.counts.setdefault(text[i - k:i], np.zeros(len(self.chars)))
                row[self.index[text[i]]] += 1

    def __repr__(self) -> str:
        return f"CharModel(order {self.order}, {len(self.chars)} characters, {len(self.counts)} contexts)"

    def probs(self, context: str):
        """P(next character | context), shape ``(len(self.chars),)``.

        Interpolated from no context up (Witten-Bell): no context gives the character counts
        plus one for every character; each longer context seen in training mixes its own
        counts with the shorter context's distribution, which gets as much weight as the
        number of different characters seen after it. A context seen often is trusted, one
        followed by many different characters leans on its suffix, and an unseen one is its
        suffix's.
        """
        import numpy as np

        row = self.counts.get("", np.zeros(len(self.chars)))
        p = (row + 1.0) / (row.sum() + len(row))
        for k in range(1, min(self.order - 1, len(context)) + 1):
            row = self.counts.get(context[len(context) - k:])
            if row is None:
                break
            distinct = np.count_nonzero(row)
            p = (row + distinct * p) / (row.sum() + distinct)
        return p

    def sample(self, n_chars: int, temperature: float = 1.0, prompt: str = "", seed: int = 0) -> str:
        """Generate ``n_chars`` characters after ``prompt``, one at a time, each drawn from
        :meth:`probs` reshaped by :func:`with_temperature`. Returns the new characters only."""
        import numpy as np

        rng = np.random.default_rng(seed)
        text = prompt
        for _ in range(n_chars):
            p = with_temperature(self.probs(text), temperature)
            text += self.chars[rng.choice(len(p), p=p)]
        return text[len(prompt):]

    def bits_per_char(self, text: str) -> float:
        """Cross-entropy of ``text`` under the model, in bits per character (lower: less surprised)."""
        import numpy as np

        if len(text) < 2:
            raise ValueError("bits_per_char needs a text of at least 2 characters")
        return float(np.mean([-np.log2(self.probs(text[:i])[self.index[text[i]]])
                              for i in range(1, len(text))]))

    def entropy(self, text: str, temperature: float = 1.0) -> float:
        """Mean entropy (bits) of the next-character distribution at ``temperature``, over the
        contexts of ``text``: how uncertain the model is about what comes next."""
        import numpy as np

        def h(p):
            p = p[p > 0]
            return -(p * np.log2(p)).sum()

        return float(np.mean([h(with_temperature(self.probs(text[:i]), temperature))
                              for i in range(1, len(text))]))

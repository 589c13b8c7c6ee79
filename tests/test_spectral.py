"""voicelab.audio.spectral: STFT, mel, MFCC, F0 and Griffin-Lim of notebook 02."""
import librosa
import matplotlib
import numpy as np
import pytest

from voicelab.audio import spectral

matplotlib.use("Agg")
SR = 16000


@pytest.fixture(scope="module")
def chirp():
    """A 1 s rising tone with a little noise: a signal with a changing spectrum."""
    t = np.arange(SR) / SR
    rng = np.random.default_rng(0)
    return (0.5 * np.sin(2 * np.pi * (200 * t + 900 * t ** 2)) + 0.01 * rng.standard_normal(SR)).astype(np.float32)


@pytest.mark.parametrize("n_fft,hop,win", [(512, 128, None), (1024, 256, 512), (256, 64, None)])
def test_stft_matches_librosa_and_inverts(chirp, n_fft, hop, win):
    S = spectral.stft(chirp, SR, n_fft=n_fft, hop_length=hop, win_length=win)
    ref = librosa.stft(chirp.astype(np.float64), n_fft=n_fft, hop_length=hop, win_length=win, pad_mode="reflect")
    assert S.shape == (1 + n_fft // 2, 1 + len(chirp) // hop) == ref.shape
    np.testing.assert_allclose(S, ref, atol=1e-8)
    back = spectral.istft(S, hop_length=hop, win_length=win, length=len(chirp))
    np.testing.assert_allclose(back, chirp, atol=1e-6)
    assert spectral.frequencies(SR, n_fft)[-1] == SR / 2
    assert spectral.frame_times(S.shape[1], SR, hop)[1] == hop / SR


def test_mel_scale_and_filterbank():
    assert abs(spectral.hz_to_mel(1000) - 1000) < 0.5
    f = np.array([0.0, 440.0, 3000.0, 8000.0])
    np.testing.assert_allclose(spectral.mel_to_hz(spectral.hz_to_mel(f)), f, atol=1e-6)
    fb = spectral.mel_filterbank(SR, n_fft=512, n_mels=40, fmin=50, fmax=7000)
    ref = librosa.filters.mel(sr=SR, n_fft=512, n_mels=40, fmin=50, fmax=7000, htk=True, norm="slaney")
    assert fb.shape == (40, 257)
    np.testing.assert_allclose(fb, ref, atol=1e-6)


def test_mel_spectrogram_and_mfcc_shapes(chirp):
    M = spectral.mel_spectrogram(chirp, SR, n_fft=512, hop_length=128, n_mels=64)
    P = spectral.spectrogram(chirp, SR, n_fft=512, hop_length=128)
    assert M.shape == (64, P.shape[1]) and (M >= 0).all()
    C = spectral.mfcc(chirp, SR, n_mfcc=13, n_mels=40)
    assert C.shape == (13, P.shape[1]) and np.isfinite(C).all()
    db = spectral.to_db(P, ref="max", top_db=60)
    assert db.max() == 0 and db.min() >= -60


def test_f0_of_a_tone_and_of_noise():
    f0 = spectral.f0(spectral.tone(150, SR, 0.6), SR)
    assert f0.shape == (1 + int(0.6 * SR) // 160,)
    assert abs(np.median(f0[f0 > 0]) - 150) < 1.5
    noise = 0.3 * np.random.default_rng(1).standard_normal(int(0.6 * SR))
    assert np.mean(spectral.f0(noise, SR) > 0) < 0.2          # noise is (mostly) unvoiced


def test_griffin_lim_converges_and_is_seeded(chirp):
    mag = np.abs(spectral.stft(chirp, SR))
    out = {n: spectral.griffin_lim(mag, n_iter=n, seed=0, length=len(chirp)) for n in (0, 4, 16)}
    sc = {n: spectral.spectral_convergence(mag, spectral.stft(y, SR)) for n, y in out.items()}
    assert sc[0] > sc[4] > sc[16] and sc[16] < 0.5 * sc[0]
    assert all(len(y) == len(chirp) for y in out.values())
    np.testing.assert_array_equal(out[4], spectral.griffin_lim(mag, n_iter=4, seed=0, length=len(chirp)))
    assert not np.allclose(out[0], spectral.griffin_lim(mag, n_iter=0, seed=1, length=len(chirp)))
    M = spectral.mel_spectrogram(chirp, SR)
    y_mel = spectral.mel_to_audio(M, SR, n_iter=8, length=len(chirp))
    assert y_mel.shape == chirp.shape and np.isfinite(y_mel).all()
    assert spectral.spectral_convergence(mag, spectral.stft(y_mel, SR)) < 0.9


def test_tones_and_aliasing():
    assert spectral.dominant_frequency(spectral.tone(1000, SR), SR) == 1000
    assert spectral.dominant_frequency(spectral.tone(5000, 8000), 8000) == 3000
    assert spectral.tone(100, SR, 0.5).dtype == np.float32 and len(spectral.tone(100, SR, 0.5)) == SR // 2


def test_plot_spectrogram_draws_an_image(chirp):
    ax = spectral.plot_spectrogram(spectral.to_db(spectral.spectrogram(chirp, SR), ref="max"), SR, 128)
    assert ax.images and ax.get_ylabel() == "kHz"
    with pytest.raises(spectral.SpectralError, match="y_axis"):
        spectral.plot_spectrogram(np.zeros((4, 4)), SR, y_axis="log")


def test_bad_input_gets_clear_errors(chirp):
    with pytest.raises(spectral.SpectralError, match="mono"):
        spectral.stft(np.stack([chirp, chirp]), SR)
    with pytest.raises(spectral.SpectralError, match="hop_length"):
        spectral.stft(chirp, SR, n_fft=256, hop_length=512)
    with pytest.raises(spectral.SpectralError, match="sample rate"):
        spectral.stft(chirp, 0)
    with pytest.raises(spectral.SpectralError, match="too short"):
        spectral.stft(chirp[:100], SR, n_fft=512)
    with pytest.raises(spectral.SpectralError, match="NaN"):
        spectral.stft(np.full(1000, np.nan), SR)
    with pytest.raises(spectral.SpectralError, match="fmax"):
        spectral.mel_filterbank(SR, fmax=SR)
    with pytest.raises(spectral.SpectralError, match="shapes differ"):
        spectral.spectral_convergence(np.zeros((3, 4)), np.zeros((3, 5)))
    assert issubclass(spectral.SpectralError, ValueError)

"""voicelab.audio: reading any file with clear errors, atomic saving, resampling, loudness."""
import hashlib
import io
import math
import os
import shutil
import subprocess
import sys
import types

import numpy as np
import pytest
import soundfile as sf

from voicelab import audio
from voicelab.audio import io as audio_io
from voicelab.core.errors import AudioError

SR = 16000
HAS_FFMPEG = shutil.which("ffmpeg") is not None
needs_ffmpeg = pytest.mark.skipif(not HAS_FFMPEG, reason="ffmpeg is not installed")


def tone(seconds=1.0, sr=SR, freq=440.0, amp=0.5):
    t = np.arange(int(round(seconds * sr))) / sr
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.float32)


def noise(seconds=1.0, sr=SR, amp=0.1, seed=0):
    return (amp * np.random.default_rng(seed).standard_normal(int(seconds * sr))).astype(np.float32)


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def dominant_hz(y, sr):
    spectrum = np.abs(np.fft.rfft(y * np.hanning(len(y))))
    return np.argmax(spectrum) * sr / len(y)


def rms(y):
    return float(np.sqrt(np.mean(np.square(y, dtype=np.float64))))


def ffmpeg(*args):
    subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-y", *map(str, args)], check=True)


def wav_file(path, y=None, sr=SR, **kw):
    sf.write(path, tone() if y is None else y, sr, **kw)
    return path


# ---------------------------------------------------------------- bad inputs
# Each maker writes a broken input under tmp_path and returns its path; the tuple gives the
# words the message must contain (what to do) and whether an original exception is chained.

def _truncate(path, fraction=0.5):
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * fraction)])
    return path


def _garble(path, start, stop, seed=1):
    data = bytearray(path.read_bytes())
    data[start:stop] = np.random.default_rng(seed).integers(0, 256, stop - start, dtype=np.uint8).tobytes()
    path.write_bytes(bytes(data))
    return path


def make_missing(d):
    return d / "take 1.wav"


def make_folder(d):
    (d / "takes").mkdir()
    (d / "takes" / "inside.wav").write_bytes(b"x")
    return d / "takes"


def make_empty(d):
    (d / "empty.wav").write_bytes(b"")
    return d / "empty.wav"


def make_zero_samples(d):
    return wav_file(d / "zero.wav", np.zeros(0, np.float32))


def make_text(d):
    (d / "notes.wav").write_text("these are my notes, not a recording\n")
    return d / "notes.wav"


def make_html(d):
    (d / "download.wav").write_text("<!DOCTYPE html><html><body>Sign in</body></html>")
    return d / "download.wav"


def make_random_bytes(d):
    data = np.random.default_rng(3).integers(0, 256, 4096, dtype=np.uint8)
    data[:4] = [0, 1, 2, 3]                       # no accidental magic number
    (d / "random.wav").write_bytes(data.tobytes())
    return d / "random.wav"


def make_truncated_wav(d):
    return _truncate(wav_file(d / "cut.wav"))


def make_truncated_flac(d):
    return _truncate(wav_file(d / "cut.flac"))


def make_truncated_ogg(d):
    return _truncate(wav_file(d / "cut.ogg", subtype="VORBIS"))


def make_garbled_wav_header(d):
    return _garble(wav_file(d / "garbled head.wav"), 12, 40)


def make_garbled_flac_data(d):
    path = wav_file(d / "garbled.flac", noise(amp=0.3))
    size = path.stat().st_size
    return _garble(path, size // 2, size // 2 + 2000)


def make_truncated_m4a(d):
    src = wav_file(d / "src.wav")
    ffmpeg("-i", src, "-c:a", "aac", d / "cut.m4a")
    src.unlink()
    return _truncate(d / "cut.m4a")


def make_silence(d):
    return wav_file(d / "silence.wav", np.zeros(SR, np.float32))


def make_very_quiet(d):
    return wav_file(d / "quiet.wav", tone(amp=10 ** (-70 / 20)), subtype="FLOAT")


def make_nan(d):
    y = tone()
    y[100] = np.nan
    return wav_file(d / "nan.wav", y, subtype="FLOAT")


def make_inf(d):
    y = tone()
    y[200] = np.inf
    return wav_file(d / "inf.wav", y, subtype="FLOAT")


def make_too_short(d):
    return wav_file(d / "blip.wav", tone(0.05))


BAD = {
    "missing": (make_missing, "No such file", False),
    "folder": (make_folder, "folder", False),
    "empty": (make_empty, "empty", False),
    "zero_samples": (make_zero_samples, "no audio", False),
    "text": (make_text, "text file", False),
    "html": (make_html, "web page", False),
    "random_bytes": (make_random_bytes, "not audio", True),
    "truncated_wav": (make_truncated_wav, "cut off", False),
    "truncated_flac": (make_truncated_flac, "damaged", True),
    "truncated_ogg": (make_truncated_ogg, "damaged", True),
    "garbled_wav_header": (make_garbled_wav_header, "damaged", True),
    "garbled_flac_data": (make_garbled_flac_data, "damaged", True),
    "truncated_m4a": (make_truncated_m4a, "damaged", True),
    "silence": (make_silence, "allow_silence", False),
    "very_quiet": (make_very_quiet, "silent", False),
    "nan": (make_nan, "NaN", False),
    "inf": (make_inf, "infinite", False),
    "too_short": (make_too_short, "min_seconds", False),
}


def _snapshot(path):
    if path.is_dir():
        return sorted((p.name, sha(p)) for p in path.iterdir())
    if path.is_file():
        return sha(path), path.stat().st_mtime_ns
    return None


@pytest.mark.parametrize("case", list(BAD))
def test_bad_input_raises_audio_error_naming_file_and_leaves_it_unchanged(tmp_path, case):
    make, advice, chained = BAD[case]
    if case in ("random_bytes", "truncated_m4a") and not HAS_FFMPEG:
        pytest.skip("needs ffmpeg")
    path = make(tmp_path)
    if path.is_file():
        path.chmod(0o444)                         # load must only read
    before = _snapshot(path)
    with pytest.raises(AudioError) as info:
        audio.load(path)
    message = str(info.value)
    assert path.name in message
    assert advice in message
    if chained:
        assert info.value.__cause__ is not None
    assert _snapshot(path) == before


def test_missing_file_suggests_close_names(tmp_path):
    wav_file(tmp_path / "take_1.wav")
    with pytest.raises(AudioError, match="Did you mean 'take_1.wav'"):
        audio.load(tmp_path / "take1.wav")


def test_allow_silence_and_min_seconds_let_such_files_through(tmp_path):
    y, sr = audio.load(make_silence(tmp_path), allow_silence=True)
    assert sr == SR and y.shape == (SR,) and not y.any()
    y, _ = audio.load(make_too_short(tmp_path), min_seconds=0.01)
    assert y.shape == (800,)


def test_missing_ffmpeg_says_how_to_install_it(tmp_path, monkeypatch):
    if not HAS_FFMPEG:
        pytest.skip("needs ffmpeg to make the m4a")
    src = wav_file(tmp_path / "src.wav")
    ffmpeg("-i", src, "-c:a", "aac", tmp_path / "phone memo.m4a")
    path = tmp_path / "phone memo.m4a"
    before = sha(path)
    monkeypatch.setattr(audio_io.shutil, "which", lambda name: None)
    with pytest.raises(AudioError) as info:
        audio.load(path)
    assert "phone memo.m4a" in str(info.value)
    assert "apt-get install ffmpeg" in str(info.value) and "WAV" in str(info.value)
    assert sha(path) == before
    # A damaged WAV is still called damaged (soundfile reads WAV; ffmpeg would not help).
    with pytest.raises(AudioError, match="damaged") as info:
        audio.load(make_garbled_wav_header(tmp_path))
    assert "apt-get" not in str(info.value)


# ---------------------------------------------------------------- round trips

@pytest.mark.parametrize("suffix", [".wav", ".flac", ".ogg"])
def test_save_load_round_trip(tmp_path, suffix):
    y = tone()
    path = audio.save(tmp_path / f"tone{suffix}", y, SR)
    assert path == tmp_path / f"tone{suffix}"
    assert sf.info(str(path)).format == {".wav": "WAV", ".flac": "FLAC", ".ogg": "OGG"}[suffix]
    path.chmod(0o444)
    before = sha(path)
    y2, sr2 = audio.load(path)
    assert sha(path) == before
    assert sr2 == SR and y2.dtype == np.float32 and y2.shape == y.shape
    if suffix == ".ogg":                           # lossy
        assert abs(dominant_hz(y2, sr2) - 440) < 3
        assert rms(y2) == pytest.approx(rms(y), rel=0.1)
    else:
        np.testing.assert_allclose(y2, y, atol=1e-4)


@needs_ffmpeg
@pytest.mark.parametrize("suffix, codec, native_sr", [
    (".mp3", "libmp3lame", SR),
    (".m4a", "aac", SR),
    (".webm", "libopus", 48000),                  # opus always decodes at 48 kHz
])
def test_lossy_formats_made_by_ffmpeg_load(tmp_path, suffix, codec, native_sr):
    y = tone()
    src = audio.save(tmp_path / "src.wav", y, SR)
    path = tmp_path / f"voice memo{suffix}"
    ffmpeg("-i", src, "-c:a", codec, path)
    before = sha(path)
    y2, sr2 = audio.load(path)
    assert sha(path) == before
    assert sr2 == native_sr and y2.dtype == np.float32 and y2.ndim == 1
    assert abs(audio.duration(y2, sr2) - 1.0) < 0.1
    assert abs(dominant_hz(y2, sr2) - 440) < 3
    assert rms(y2) == pytest.approx(rms(y), rel=0.2)
    y3, sr3 = audio.load(path, sr=SR)
    assert sr3 == SR and abs(len(y3) - len(y2) * SR / native_sr) <= 1


def test_paths_with_spaces_and_non_ascii(tmp_path):
    folder = tmp_path / "my takes" / "voix d'été ünd 声"
    y = tone()
    path = audio.save(str(folder / "première prise 1.flac"), y, SR)   # creates the folders
    assert path.is_file()
    y2, sr2 = audio.load(str(path))
    np.testing.assert_allclose(y2, y, atol=1e-4)
    if HAS_FFMPEG:                                 # the ffmpeg path too
        m4a = folder / "première prise 2.m4a"
        ffmpeg("-i", path, "-c:a", "aac", m4a)
        y3, _ = audio.load(m4a)
        assert abs(dominant_hz(y3, SR) - 440) < 3


def test_stereo_to_mono_and_channel_shapes(tmp_path):
    left, right = tone(amp=0.6), tone(amp=0.2, freq=660)
    path = audio.save(tmp_path / "stereo.wav", np.stack([left, right]), SR)
    assert sf.info(str(path)).channels == 2
    y, _ = audio.load(path)
    assert y.shape == (SR,)
    np.testing.assert_allclose(y, (left + right) / 2, atol=1e-4)
    y2, _ = audio.load(path, mono=False)
    assert y2.shape == (2, SR)
    np.testing.assert_allclose(y2, np.stack([left, right]), atol=1e-4)
    np.testing.assert_allclose(audio.to_mono(y2), y, atol=1e-6)
    mono_path = audio.save(tmp_path / "mono.wav", left, SR)
    y3, _ = audio.load(mono_path, mono=False)
    assert y3.shape == (1, SR)
    assert audio.to_mono(left) is not None and audio.to_mono(left).shape == (SR,)


def test_resample_changes_length_by_rate_ratio(tmp_path):
    y = tone(freq=1000)
    path = audio.save(tmp_path / "tone.wav", y, SR)
    y8, sr8 = audio.load(path, sr=8000)
    assert sr8 == 8000 and len(y8) == SR // 2
    assert abs(dominant_hz(y8, sr8) - 1000) < 3
    y22 = audio.resample(y, SR, 22050)
    assert y22.dtype == np.float32 and len(y22) == math.ceil(SR * 22050 / SR)
    assert abs(dominant_hz(y22, 22050) - 1000) < 3
    stereo = audio.resample(np.stack([y, y]), SR, 24000)
    assert stereo.shape == (2, 24000)
    assert audio.duration(stereo, 24000) == pytest.approx(1.0)
    assert audio.duration(y, SR) == pytest.approx(1.0)


# ---------------------------------------------------------------- saving

def test_save_is_atomic_when_the_writer_fails(tmp_path, monkeypatch):
    target = audio.save(tmp_path / "take.wav", tone(), SR)
    old = target.read_bytes()

    def broken_write(file, data, samplerate, **kw):
        file.write(b"RIFF" + b"\0" * 1000)        # half a file, then the disk fills up
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(audio_io.sf, "write", broken_write)
    with pytest.raises(OSError, match="No space left"):
        audio.save(target, noise(), SR)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]
    with pytest.raises(OSError):                   # a new target is not created either
        audio.save(tmp_path / "new.wav", noise(), SR)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]


def test_save_overwrites_cleanly_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "a" / "b" / "take.flac"
    audio.save(target, tone(), SR)
    audio.save(target, noise(), SR, subtype="PCM_24")
    assert os.listdir(target.parent) == ["take.flac"]
    assert sf.info(str(target)).subtype == "PCM_24"
    y, _ = audio.load(target)
    np.testing.assert_allclose(y, noise(), atol=1e-5)


def test_save_refuses_bad_arrays_instead_of_clipping(tmp_path):
    target = audio.save(tmp_path / "take.wav", tone(), SR)
    old = target.read_bytes()
    with pytest.raises(AudioError, match="peak_normalize") as info:
        audio.save(target, tone(amp=1.5), SR)
    assert "take.wav" in str(info.value)
    bad = tone()
    bad[5] = np.nan
    with pytest.raises(AudioError, match="NaN"):
        audio.save(target, bad, SR)
    with pytest.raises(AudioError, match=r"\(channels, n\)"):
        audio.save(target, np.stack([tone(), tone()]).T, SR)
    with pytest.raises(AudioError, match="wav"):
        audio.save(tmp_path / "take.mp3", tone(), SR)
    assert target.read_bytes() == old
    assert sorted(p.name for p in tmp_path.iterdir()) == ["take.wav"]
    # Float files may hold values beyond [-1, 1].
    loud = audio.save(tmp_path / "loud.wav", tone(amp=1.5), SR, subtype="FLOAT")
    y, _ = audio.load(loud)
    assert np.max(np.abs(y)) == pytest.approx(1.5, rel=1e-4)


# ---------------------------------------------------------------- loudness

def test_peak_normalize_hits_the_peak():
    y = audio.peak_normalize(noise(), peak_db=-3.0)
    assert y.dtype == np.float32
    assert np.max(np.abs(y)) == pytest.approx(10 ** (-3 / 20), rel=1e-5)
    with pytest.raises(AudioError, match="silence"):
        audio.peak_normalize(np.zeros(SR, np.float32))


@pytest.mark.parametrize("signal", ["tone", "noise", "stereo"])
def test_loudness_normalize_reaches_target(signal):
    y = {"tone": tone(amp=0.02), "noise": noise(amp=0.01),
         "stereo": np.stack([tone(2.0, amp=0.02), noise(2.0, amp=0.02)])}[signal]
    before = audio.loudness(y, SR)
    assert before < -30
    out = audio.loudness_normalize(y, SR, target_lufs=-23.0)
    assert out.shape == y.shape and out.dtype == np.float32
    assert abs(audio.loudness(out, SR) - (-23.0)) < 0.5
    assert np.max(np.abs(out)) <= 10 ** (-1 / 20) + 1e-6


def test_loudness_normalize_stops_at_the_peak_ceiling():
    y = noise(amp=0.05)                            # noise peaks ~4x above its RMS
    out = audio.loudness_normalize(y, SR, target_lufs=-6.0, peak_ceiling_db=-2.0)
    assert np.max(np.abs(out)) == pytest.approx(10 ** (-2 / 20), rel=1e-5)
    assert audio.loudness(out, SR) < -6.5          # quieter than asked, as documented


def test_loudness_errors():
    with pytest.raises(AudioError, match="0.4"):
        audio.loudness(tone(0.3), SR)
    assert audio.loudness(np.zeros(SR, np.float32), SR) == float("-inf")
    with pytest.raises(AudioError, match="silence"):
        audio.loudness_normalize(np.zeros(SR, np.float32), SR)


# ---------------------------------------------------------------- notebooks

def _played(widget):
    y, sr = sf.read(io.BytesIO(widget.data), dtype="float32")
    return y, sr


def test_player_does_not_normalise_but_limits(tmp_path):
    from IPython.display import Audio

    quiet = audio.player(tone(amp=0.1), SR)
    assert isinstance(quiet, Audio)
    y, sr = _played(quiet)
    assert sr == SR and np.max(np.abs(y)) == pytest.approx(0.1, abs=1e-3)   # not scaled up
    y, _ = _played(audio.player(tone(amp=3.0), SR))
    assert np.max(np.abs(y)) == pytest.approx(1.0, abs=1e-3)               # scaled into range
    path = audio.save(tmp_path / "stereo take.wav", np.stack([tone(), tone(amp=0.2)]), SR)
    y, sr = _played(audio.player(path))
    assert sr == SR and y.shape == (SR, 2)
    with pytest.raises(ValueError, match="sr"):
        audio.player(tone())


def test_player_plays_a_stretch_at_a_chosen_rate():
    y = np.concatenate([tone(1.0, amp=0.1), tone(1.0, amp=0.8)])       # quiet second, loud second
    part, sr = _played(audio.player(y, SR, start=1.0, seconds=0.5))
    assert sr == SR and len(part) == SR // 2 and np.max(np.abs(part)) > 0.7
    low, sr = _played(audio.player(y, SR, rate=8000))
    assert sr == 8000 and len(low) == 2 * 8000
    with pytest.raises(AudioError, match="start"):
        audio.player(y, SR, start=5.0)
    with pytest.raises(ValueError, match="seconds"):
        audio.player(y, SR, seconds=0)


def test_listen_is_small_in_quick_mode_and_full_rate_in_full(monkeypatch):
    monkeypatch.setenv("VOICELAB_QUICK", "1")
    assert _played(audio.listen(tone(2.0), SR, seconds=1.0))[1] == audio.QUICK_PLAY_RATE
    monkeypatch.setenv("VOICELAB_QUICK", "0")
    monkeypatch.delenv("CI", raising=False)
    y, sr = _played(audio.listen(tone(2.0), SR, seconds=1.0))
    assert sr == SR and len(y) == SR


def test_plot_waveform_has_a_time_axis_in_seconds():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ax = audio.plot_waveform(tone(2.0), SR, title="a tone")
    assert ax.get_xlim() == pytest.approx((0.0, 2.0))
    assert "(s)" in ax.get_xlabel() and ax.get_title() == "a tone"
    assert ax.lines or ax.collections
    fig, ax2 = plt.subplots()
    assert audio.plot_waveform(np.stack([tone(0.1), tone(0.1)]), SR, ax=ax2) is ax2
    assert len(ax2.lines) == 2
    plt.close("all")


def test_record_outside_colab_points_to_upload(monkeypatch):
    monkeypatch.setattr(audio_io, "is_colab", lambda: False)
    with pytest.raises(RuntimeError, match="upload"):
        audio.record(1.0)


def test_upload_outside_colab_gives_a_widget_and_save_uploads_writes_it(tmp_path, monkeypatch):
    import ipywidgets

    monkeypatch.setattr(audio_io, "is_colab", lambda: False)
    assert isinstance(audio.upload(), ipywidgets.FileUpload)
    buffer = io.BytesIO()
    sf.write(buffer, tone(), SR, format="WAV")
    widget = types.SimpleNamespace(value=(
        {"name": "../../my take.wav", "type": "audio/wav", "size": 1,
         "content": memoryview(buffer.getvalue())},
    ))
    folder = tmp_path / "uploads"
    paths = audio.save_uploads(widget, folder)
    assert paths == [folder / "my take.wav"]       # no way out of the folder
    assert sorted(p.name for p in tmp_path.iterdir()) == ["uploads"]
    y, sr = audio.load(paths[0])
    np.testing.assert_allclose(y, tone(), atol=1e-4)
    with pytest.raises(AudioError, match="Upload"):
        audio.save_uploads(types.SimpleNamespace(value=()), folder)


def _fake_colab(monkeypatch, **functions):
    """Put a stand-in google.colab (output.eval_js, files.upload) into sys.modules."""
    google, colab = types.ModuleType("google"), types.ModuleType("google.colab")
    output, files = types.ModuleType("google.colab.output"), types.ModuleType("google.colab.files")
    output.eval_js = functions.get("eval_js")
    files.upload = functions.get("upload")
    google.colab, colab.output, colab.files = colab, output, files
    for name, module in [("google", google), ("google.colab", colab),
                         ("google.colab.output", output), ("google.colab.files", files)]:
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(audio_io, "is_colab", lambda: True)


@needs_ffmpeg
def test_record_on_colab_decodes_what_the_browser_sends(tmp_path, monkeypatch):
    import base64

    src = audio.save(tmp_path / "src.wav", tone(1.0, sr=48000), 48000)
    ffmpeg("-i", src, "-c:a", "libopus", tmp_path / "browser.webm")   # what Chrome records
    scripts = []

    def eval_js(script, timeout_sec=None):
        scripts.append(script)
        return base64.b64encode((tmp_path / "browser.webm").read_bytes()).decode()

    _fake_colab(monkeypatch, eval_js=eval_js)
    y, sr = audio.record(1.0, sr=16000)
    assert "getUserMedia" in scripts[0] and "1000" in scripts[0] and "Stop" in scripts[0]
    for processing in ("echoCancellation", "noiseSuppression", "autoGainControl"):
        assert f"{processing}: false" in scripts[0]     # the voice as the microphone heard it
    assert sr == 16000 and y.ndim == 1 and abs(audio.duration(y, sr) - 1.0) < 0.1
    assert abs(dominant_hz(y, sr) - 440) < 3
    y, sr = audio.record(1.0, out=tmp_path / "takes" / "take 1.wav")   # saved at once, 44.1 kHz
    saved, saved_sr = audio.load(tmp_path / "takes" / "take 1.wav")
    assert sr == saved_sr == 44100 and np.allclose(saved, y, atol=1e-4)


def test_upload_on_colab_saves_the_picked_files(tmp_path, monkeypatch):
    buffer = io.BytesIO()
    sf.write(buffer, tone(), SR, format="WAV")
    _fake_colab(monkeypatch, upload=lambda: {"take one.wav": buffer.getvalue()})
    paths = audio.upload(tmp_path / "uploads")
    assert paths == [tmp_path / "uploads" / "take one.wav"]
    y, _ = audio.load(paths[0])
    np.testing.assert_allclose(y, tone(), atol=1e-4)


def test_voicelab_audio_offers_every_public_name_of_audio_io():
    import inspect

    public = {n for n, o in vars(audio_io).items() if not n.startswith("_") and not inspect.ismodule(o)
              and (getattr(o, "__module__", audio_io.__name__) == audio_io.__name__ or n.isupper())}
    assert public <= set(audio_io.__all__) and all(getattr(audio, n) is getattr(audio_io, n) for n in public)

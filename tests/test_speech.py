"""voicelab.data.speech: the offline speech the QUICK-mode notebooks use."""
import hashlib
import json

import numpy as np
import pytest

from voicelab import audio
from voicelab.core.errors import UnknownSpeakerError
from voicelab.data import speech


def sha(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_sentences_are_ours_and_clean():
    s = speech.sentences()
    assert len(s) >= 20
    assert all(x and not x.startswith("#") for x in s)
    assert len(set(s)) == len(s)


@pytest.mark.parametrize("spk", sorted(speech.VOICES))
def test_every_voice_speaks(spk):
    y, sr = speech.synthesize("Seven bright kites.", spk)
    assert sr == speech.SR and y.dtype == np.float32 and y.ndim == 1
    assert 0.5 < len(y) / sr < 5.0
    assert np.abs(y).max() > 0.05  # real sound, not silence


def test_make_speech_layout_parallel_and_deterministic(tmp_path):
    out = speech.make_speech(["slt", "rms"], n_sentences=2, out_dir=tmp_path / "speech one")
    files = sorted(out.rglob("*.wav"))
    assert [f.relative_to(out).as_posix() for f in files] == [
        "rms/rms_000.wav", "rms/rms_001.wav", "slt/slt_000.wav", "slt/slt_001.wav"]
    assert (out / "slt" / "slt_001.txt").read_text().strip() == speech.sentences()[1]
    y, sr = audio.load(files[0])
    assert sr == 16000
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest) == {"rms/rms_000", "rms/rms_001", "slt/slt_000", "slt/slt_001"}
    # Made again elsewhere: the same bytes (deterministic).
    again = speech.make_speech(["slt", "rms"], n_sentences=2, out_dir=tmp_path / "speech two")
    assert [sha(f) for f in files] == [sha(f) for f in sorted(again.rglob("*.wav"))]


def test_make_speech_is_cached(tmp_path, monkeypatch):
    out = speech.make_speech(["awb"], n_sentences=1, out_dir=tmp_path)
    calls = []
    monkeypatch.setattr(speech, "synthesize", lambda *a, **k: calls.append(a))
    speech.make_speech(["awb"], n_sentences=1, out_dir=out)
    assert calls == []  # nothing re-made


def test_distinct_speakers_differ_in_pitch(tmp_path):
    """slt (female) speaks clearly higher than rms (male): a sanity check that voices differ."""
    import librosa

    f0 = {}
    for spk in ("slt", "rms"):
        y, sr = speech.synthesize(speech.sentences()[0], spk)
        f, voiced, _ = librosa.pyin(y, fmin=60, fmax=400, sr=sr)
        f0[spk] = np.nanmedian(f[voiced])
    assert f0["slt"] > 1.3 * f0["rms"]


def test_unknown_speaker_and_empty_text():
    with pytest.raises(UnknownSpeakerError, match="^unknown speaker 'nobody'; choose one of awb, espeak_f, espeak_m, kal, rms, slt.$"):
        speech.synthesize("hello", "nobody")
    with pytest.raises(ValueError, match="empty"):
        speech.synthesize("   ", "slt")


def test_missing_program_says_how_to_install(monkeypatch):
    monkeypatch.setattr(speech.shutil, "which", lambda name: None)
    with pytest.raises(speech.SynthesisError, match="apt-get install -y flite"):
        speech.synthesize("hello", "slt")


def test_example_uses_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("VOICELAB_CACHE", str(tmp_path))
    path = speech.example("kal", 1)
    assert path == tmp_path / "speech" / "kal" / "kal_001.wav" and path.exists()


def test_cli_speech_and_info(tmp_path, capsys):
    from voicelab import cli

    assert cli.main(["speech", "--out", str(tmp_path), "--speakers", "slt", "-n", "1"]) == 0
    assert "1 clips from 1 speakers" in capsys.readouterr().out
    assert cli.main(["info"]) == 0
    assert "voicelab mode:" in capsys.readouterr().out
    assert cli.main(["speech", "--out", str(tmp_path), "--speakers", "nobody"]) == 2
    assert "unknown speaker" in capsys.readouterr().err

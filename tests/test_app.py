"""voicelab.voice.app: the Gradio conversion app, served on localhost and called like a browser would."""
from __future__ import annotations


import numpy as np
import pytest
import soundfile

from voicelab import audio, cli
from voicelab.data import speech
from voicelab.voice import app, metrics, svc


pytestmark = pytest.mark.usefixtures("offline_app")


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return svc.write_tiny_model(tmp_path_factory.mktemp("model"), speakers=("slt",), name="G_2.pth")


def test_reference_clips_come_from_the_run_folder(tmp_path):
    (tmp_path / "dataset_raw" / "slt").mkdir(parents=True)
    for i in range(7):
        audio.save(tmp_path / "dataset_raw" / "slt" / f"c{i}.wav", np.zeros(160, np.float32), 16000)
    assert [p.name for p in app.reference_clips(tmp_path, n=3)] == ["c0.wav", "c1.wav", "c2.wav"]
    assert app.reference_clips(tmp_path / "elsewhere") == []


def test_convert_and_score_writes_audio_and_a_card(model, tmp_path):
    src = speech.example("rms", 0)
    out, card = app.convert_and_score(src, model, transpose=2, target_refs=[speech.example("slt", 1)],
                                      out=tmp_path / "o.wav", with_mos=False)
    info = soundfile.info(str(out))
    y, sr = audio.load(src)
    assert info.samplerate == 44100 and abs(info.frames / 44100 - len(y) / sr) < 0.01
    assert isinstance(card, metrics.ScoreCard)
    # a random model's output may hold no speech at all: then the card says so instead
    assert card.speaker_similarity_target is not None or any("no speaker similarity" in n
                                                             for n in card.notes)
    assert card.vuv_error is not None and "+2 semitones" in card.methods["f0_rmse_cents"]


def test_app_converts_an_uploaded_file_over_http(model, tmp_path):
    from gradio_client import Client, handle_file

    demo = app.build_app(model, with_mos=False)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", server_port=None,
                inline=False, quiet=True)
    try:
        client = Client(demo.local_url, verbose=False)
        src = speech.example("rms", 2)
        out, table = client.predict(handle_file(str(src)), -3, "harvest", api_name="/convert")
        y, sr = soundfile.read(out)
        y_src, sr_src = audio.load(src)
        assert sr == 44100 and abs(len(y) / sr - len(y_src) / sr_src) < 0.01
        assert table["headers"] == app.SCORE_HEADERS == list(metrics.HEADERS)
        assert [row[0] for row in table["data"]][:7] == [r[0] for r in metrics.ScoreCard().rows()]
        with pytest.raises(Exception, match="No audio yet"):
            client.predict(None, 0, "dio", api_name="/convert")
        not_audio = tmp_path / "notes.wav"
        not_audio.write_text("this is not audio")
        with pytest.raises(Exception, match="notes.wav"):
            client.predict(handle_file(str(not_audio)), 0, "dio", api_name="/convert")
    finally:
        demo.close()


def test_build_app_refuses_a_folder_without_a_model(tmp_path):
    with pytest.raises(FileNotFoundError, match="G_"):
        app.build_app(tmp_path)


def test_cli_app_reports_a_missing_model(tmp_path, capsys):
    assert cli.main(["app", str(tmp_path)]) == 2
    assert "G_" in capsys.readouterr().err

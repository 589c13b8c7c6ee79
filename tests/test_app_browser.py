"""The exported Space's Gradio app in a real headless browser: upload, press Convert, get audio.

Needs Debian's chromium (/usr/bin/chromium, `apt-get install chromium`) and the Python
package playwright (the `test` extra); it drives the system chromium, so `playwright
install` is never needed. Skipped only when /usr/bin/chromium is missing.
"""
from __future__ import annotations

import io
import re
import shutil
from pathlib import Path

import pytest
import soundfile

from voicelab import audio
from voicelab.data import speech
from voicelab.voice import app, disclosure, share

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = [pytest.mark.usefixtures("offline_app"),
              pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium at "
                                 "/usr/bin/chromium (apt-get install chromium)")]


def test_space_app_converts_an_upload_in_a_headless_browser(tiny_run, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    run = shutil.copytree(tiny_run, tmp_path / "run")
    folder = share.export_space(run, tmp_path / "space", n_reference=2,
                                consent="Offline flite voice slt, free to use for this test.",
                                consent_confirmed=True)
    shutil.rmtree(run)                      # the app must work from the exported folder alone
    # app.py's own app, without the MOS predictor to keep the test short (test_share runs app.py)
    demo = app.build_app(folder, speaker="slt", with_mos=False)
    demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", inline=False, quiet=True)
    blocked = []

    def local_only(route):                  # the page may ask for web fonts: answer at once
        url = route.request.url
        if url.startswith((demo.local_url, "data:", "blob:")):
            route.continue_()
        else:
            blocked.append(url)
            route.abort()

    src = speech.example("rms", 2)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS, headless=True)
            try:
                page = browser.new_page()
                page.route("**/*", local_only)
                page.goto(demo.local_url, wait_until="domcontentloaded")
                page.locator("#source input[type=file]").set_input_files(str(src))
                page.locator("#convert").click()
                link = page.locator("#converted a[data-testid=download-link]")
                link.wait_for(state="attached", timeout=60_000)
                body = page.request.get(link.get_attribute("href")).body()
                scores = page.locator("#scores")
                expect(scores).to_contain_text("similarity to target", timeout=20_000)
                table = scores.text_content()
            finally:
                browser.close()
    finally:
        demo.close()
    y, sr = soundfile.read(io.BytesIO(body))
    y_src, sr_src = audio.load(src)
    assert sr == 44100 and abs(len(y) / sr - len(y_src) / sr_src) < 0.01
    assert soundfile.SoundFile(io.BytesIO(body)).comment.startswith(disclosure.SYNTHETIC_TAG)
    assert re.search(r"similarity to target.*\d\.\d\d", table)     # the score card arrived too
    assert all(not u.startswith(("http://127.0.0.1", "http://localhost")) for u in blocked)

"""End to end in a real browser: Debian's chromium driven by Playwright against `vidqa ui`.

Ingest the generated lecture from the Add page, ask a timestamped question on the Ask page,
click the citation, and check where the <video> element is playing.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]
START_TIMEOUT_S = 60
INGEST_TIMEOUT_S = 120
QUESTION = "what was said at 0:20?"
# True once the player has loaded and sits within a second of `start` (s).
_PLAYING_NEAR = """start => { const v = document.querySelector('video');
    return v !== null && v.readyState >= 1 && Math.abs(v.currentTime - start) <= 1.0; }"""


# True once the page shows `text` literally (U+2060 word joiners, invisible, ignored).
_SHOWS = """text => document.body.innerText.replaceAll('\\u2060', '').includes(text)"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_healthy(url: str, proc: subprocess.Popen, log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_S
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"vidqa ui exited with {proc.returncode}:\n{log.read_text()[-2000:]}")
        try:
            with urllib.request.urlopen(f"{url}/_stcore/health", timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    pytest.fail(f"vidqa ui did not answer within {START_TIMEOUT_S} s:\n{log.read_text()[-2000:]}")


@pytest.fixture
def app_url(tmp_path):
    """`vidqa ui` on a free loopback port, with this test's VIDQA_HOME; stopped afterwards."""
    port, log = _free_port(), tmp_path / "app.log"
    env = {**os.environ, "VIDQA_DEVICE": "cpu"}
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "ui.cli", "ui", "--port", str(port)],
            stdout=out,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, log)
        yield url
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        pytest.skip(
            f"needs Debian's chromium at {CHROMIUM} (apt-get install chromium); "
            "this test never downloads a browser"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def _open_tab(page, name: str) -> None:
    """Click tab `name` until it is the open one: a click that lands while the page's first
    run is still drawing can be lost, as a user's would be; a user clicks again."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    tab = page.get_by_role("tab", name=name)
    for _ in range(3):
        tab.click()
        try:
            page.get_by_role("tab", name=name, selected=True).wait_for(timeout=10_000)
            return
        except PlaywrightTimeout:
            continue
    pytest.fail(f"the {name!r} tab did not open after three clicks")


def _ingest_from_add_page(page, url: str, media: Path) -> None:
    page.goto(f"{url}/add")
    page.get_by_text("Index frames").click()  # off: this test is about citations, not frames
    _open_tab(page, "Path on this machine")
    box = page.get_by_label("File or folder (folders are searched recursively)")
    box.fill(str(media))
    box.press("Enter")
    page.get_by_role("button", name=re.compile("Ingest path")).click()
    page.get_by_text(f"{media.name}: ingested").wait_for(timeout=INGEST_TIMEOUT_S * 1000)


def _expected_citation():
    from qa.answer import ask

    answer = ask(QUESTION)
    assert answer.citations, answer.answer
    return answer.citations[0]


def test_cited_clip_plays_from_its_start(app_url, browser, lecture, tmp_path):
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    _ingest_from_add_page(page, app_url, lecture)
    page.screenshot(path=str(tmp_path / "add.png"), full_page=True)
    cited = _expected_citation()  # what the app must cite: the same library, read here

    page.goto(f"{app_url}/ask")
    question = page.get_by_placeholder(re.compile("Ask about your videos"))
    question.fill(QUESTION)
    question.press("Enter")
    chip = page.locator(".st-key-chip-1-0 button:visible").first  # the first citation's chip
    chip.wait_for(timeout=30_000)
    assert cited.label in chip.inner_text()
    chip.click()
    try:
        page.wait_for_function(_PLAYING_NEAR, arg=cited.start, timeout=30_000)
    finally:
        current = page.evaluate("document.querySelector('video')?.currentTime ?? -1")
        page.screenshot(path=str(tmp_path / "ask.png"), full_page=True)
    assert abs(current - cited.start) <= 1.0, (current, cited.start, tmp_path / "ask.png")


@pytest.fixture
def bait_server():
    """(base URL, paths requested) of a loopback server that media text points at."""
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    requested: list[str] = []

    class Bait(BaseHTTPRequestHandler):
        def do_GET(self):
            requested.append(self.path)
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Bait)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}", requested
    finally:
        httpd.shutdown()
        httpd.server_close()


def test_markdown_in_media_text_is_never_fetched(app_url, browser, bait_server, tmp_path):
    """A subtitle line `![x](http://host/x.png)` made the browser fetch that URL."""
    from test_app import build_hostile_library

    url, requested = bait_server
    build_hostile_library(Path(os.environ["VIDQA_HOME"]), url)
    page = browser.new_page(viewport={"width": 1400, "height": 900})
    fetched = []
    page.on("request", lambda request: fetched.append(request.url))
    try:
        page.goto(f"{app_url}/library")
        page.wait_for_function(_SHOWS, arg="talk [x](y) *z*", timeout=30_000)  # the title
        page.goto(f"{app_url}/video")
        page.wait_for_function(_SHOWS, arg=f"![x]({url}/x.png)", timeout=30_000)  # the chapter
        page.get_by_text("Summary, from test (no VLM)").click()
        page.wait_for_function(
            _SHOWS, arg=f"[click]({url}/a) <img src={url}/y.png>", timeout=10_000
        )
    finally:
        page.screenshot(path=str(tmp_path / "video.png"), full_page=True)
    assert not page.locator(f"img[src^='{url}'], a[href^='{url}']").count()
    assert not [u for u in fetched if u.startswith(url)] and not requested, (fetched, requested)


# A visible <video> (the Ask page may keep none hidden, but be sure), its time and its box.
_VISIBLE_VIDEO = (
    """() => [...document.querySelectorAll('video')].find(v => v.offsetParent !== null)"""
)
# `from`: where the stretch it is playing now began (it plays on while the test waits), or
# where it stands when it has not started playing yet (autoplay can lag on a loaded box).
_VIDEO_STATE = f"""() => {{ const v = ({_VISIBLE_VIDEO})();
    if (!v) return null; const r = v.getBoundingClientRect(), p = v.played;
    let from = v.currentTime;
    for (let i = 0; i < p.length; i++)
      if (p.start(i) <= v.currentTime + 0.01 && v.currentTime <= p.end(i) + 0.01) from = p.start(i);
    return {{time: v.currentTime, from: from, ready: v.readyState, top: r.top,
             bottom: r.bottom, height: window.innerHeight}}; }}"""
_VISIBLE_NEAR = f"""start => {{ const v = ({_VISIBLE_VIDEO})();
    return v !== undefined && v.readyState >= 1 && Math.abs(v.currentTime - start) <= 1.0; }}"""
_IN_VIEW = f"""() => {{ const v = ({_VISIBLE_VIDEO})(); if (!v) return false;
    const r = v.getBoundingClientRect(); return r.top >= 0 && r.bottom <= window.innerHeight; }}"""


# Where the Ask page's player sits among the messages: after the first answer's citation
# chip, before the message whose text is `next` (document order, not screen position).
_PLAYER_ORDER = """next => {
    const player = document.querySelector('.st-key-ask-player');
    const chip = document.querySelector('.st-key-chip-1-0');
    const later = [...document.querySelectorAll('[data-testid="stChatMessage"]')]
        .find(m => m.innerText.includes(next));
    const follows = (a, b) => !!(a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING);
    return {after_chip: follows(chip, player), before_next: follows(player, later)}; }"""


def _wait_quietly(page, predicate: str, timeout: int) -> None:
    """Wait for `predicate` up to `timeout` ms; on a timeout carry on to the assertions."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        page.wait_for_function(predicate, timeout=timeout)
    except PlaywrightTimeout:
        pass


def _ingest(media: Path) -> None:
    """Ingest into this test's library (VIDQA_HOME) from here, without frames: the app reads it."""
    from index.library import Library
    from ingest.pipeline import IngestOptions, ingest

    library = Library()
    try:
        ingest([media], library=library, options=IngestOptions(vlm="none", frames=False))
    finally:
        library.close()


def _expected_follow_up(first: str, second: str):
    """The conversation run here on the same library: the second answer's first citation."""
    from index.library import Library
    from qa.chat import Conversation

    library = Library()
    try:
        conversation = Conversation(backend="none")
        _ = conversation.ask(first, library).answer  # the first turn must finish
        return conversation.ask(second, library).answer.citations[0]
    finally:
        library.close()


def _ask(page, question: str, chip_key: str):
    box = page.get_by_placeholder(re.compile("Ask about your videos"))
    box.fill(question)
    box.press("Enter")
    chip = page.locator(f".st-key-{chip_key} button:visible").first
    chip.wait_for(timeout=60_000)
    return chip


@pytest.mark.parametrize("width", [1400, 420])  # pinned beside the chat; under the answer
def test_a_follow_up_citation_plays_from_its_exact_start(
    app_url, browser, lecture, tmp_path, width
):
    _ingest(lecture)
    first, second = "what was said at 0:20?", "and 20 seconds later?"
    cited = _expected_follow_up(first, second)
    assert cited.start <= 40 + 5 and cited.end >= 40 - 5

    page = browser.new_page(viewport={"width": width, "height": 900})
    page.goto(f"{app_url}/ask")
    _ask(page, first, "chip-1-0")
    chip = _ask(page, second, "chip-3-0")
    assert cited.label in chip.inner_text()
    chip.click()
    try:
        page.wait_for_function(_VISIBLE_NEAR, arg=cited.start, timeout=30_000)
        page.wait_for_timeout(1500)  # let the exact seek land after Streamlit's whole-second one
        # the scroll into view may still be running on a loaded machine: give it time, then
        # the assertions below say where the player ended up
        _wait_quietly(page, _IN_VIEW, timeout=10_000)
    finally:
        state = page.evaluate(_VIDEO_STATE)
        page.screenshot(path=str(tmp_path / f"ask-{width}.png"))
    # it plays while the test waits: where it started playing, not where it is now
    assert state is not None, "no visible player"
    assert abs(state["from"] - cited.start) <= 1.0, (state, cited.start)
    assert state["top"] >= 0 and state["bottom"] <= state["height"], (
        state
    )  # in view, not off screen


def test_a_citation_in_an_earlier_answer_plays_in_view_on_a_phone(
    app_url, browser, lecture, tmp_path
):
    """Issue 11: clicking a citation of an earlier answer played it in a player far above the
    screen. On a phone the player opens under that answer and is brought into view."""
    _ingest(lecture)
    page = browser.new_page(viewport={"width": 420, "height": 700})
    page.goto(f"{app_url}/ask")
    first = _ask(page, "what was said at 0:10?", "chip-1-0")
    _ask(page, "what was said between 0:20 and 0:50?", "chip-3-0")
    first.click()  # a citation of the first answer (Playwright scrolls up to it)
    try:
        page.wait_for_function(f"() => ({_VISIBLE_VIDEO})() !== undefined", timeout=30_000)
        _wait_quietly(page, _IN_VIEW, timeout=15_000)
    finally:
        state = page.evaluate(_VIDEO_STATE)
        page.screenshot(path=str(tmp_path / "earlier-420.png"))
    assert state["top"] >= 0 and state["bottom"] <= state["height"], state
    # under the answer that was clicked, before the next question: in the page's order, read
    # at once (boxes measured one by one can straddle a scroll that is still settling)
    order = page.evaluate(_PLAYER_ORDER, "what was said between 0:20 and 0:50?")
    assert order == {"after_chip": True, "before_next": True}, order


def test_a_chinese_browser_gets_the_app_in_chinese(app_url, browser):
    """navigator.language zh-CN: the app starts in Chinese; the sidebar switch turns it English."""
    page = browser.new_page(viewport={"width": 1400, "height": 900}, locale="zh-CN")
    page.goto(app_url)
    page.get_by_role("heading", name="视频库").wait_for(timeout=START_TIMEOUT_S * 1000)
    page.wait_for_function(_SHOWS, arg="视频库是空的", timeout=30_000)
    page.get_by_text("English", exact=True).click()  # the sidebar switch
    page.get_by_role("heading", name="Library").wait_for(timeout=30_000)
    page.wait_for_function(_SHOWS, arg="The library is empty.", timeout=30_000)


def test_a_result_clicked_below_the_player_brings_the_player_into_view(
    app_url, browser, lecture, tmp_path
):
    """On a phone the Video page stacks its search results under the player: clicking one far
    down used to play it above the screen, out of sight."""
    _ingest(lecture)
    page = browser.new_page(viewport={"width": 420, "height": 600})
    page.goto(f"{app_url}/video")
    _open_tab(page, "Search")
    box = page.get_by_label("Search this video")
    box.fill("what happens to the ice and the lava")
    box.press("Enter")
    last = page.locator("[class*='st-key-video-hit-'] button:visible").last
    last.wait_for(timeout=30_000)
    page.wait_for_function(f"() => ({_VISIBLE_VIDEO})() !== undefined", timeout=30_000)
    last.scroll_into_view_if_needed()
    before = page.evaluate(_VIDEO_STATE)
    assert before["bottom"] <= 0, before  # the player is above the screen, as a user sees it
    last.click()
    try:
        _wait_quietly(page, _IN_VIEW, timeout=15_000)
    finally:
        state = page.evaluate(_VIDEO_STATE)
        page.screenshot(path=str(tmp_path / "video-420.png"))
    assert state["top"] >= 0 and state["bottom"] <= state["height"], state

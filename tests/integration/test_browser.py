"""The chat page in a real headless Chromium (Debian's), against a live server with real models."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest

from index.parse import parse_text
from service.app import create_app
from service.live import CHROMIUM_FLAGS, chromium_path, live_server
from service.settings import Settings
from tests.fakes import make_newsrag

pytestmark = pytest.mark.slow

CHROMIUM = chromium_path()
FLAGS = CHROMIUM_FLAGS
EVIL = (
    "2024-09-21\n\n<img src=x onerror=\"window.__xss='title'\">Pelican sanctuary news\n\n"
    "The pelican sanctuary <script>window.__xss='body'</script> reopened after repairs. "
    "Visitors can see <b>two hundred</b> pelicans at the sanctuary lake this spring."
)


@pytest.fixture(scope="module")
def server(seed_index_dir, embedder, tiny_generator, tmp_path_factory):
    path = tmp_path_factory.mktemp("browser") / "index"
    shutil.copytree(seed_index_dir, path)
    rag = make_newsrag(path, embedder, tiny_generator)
    rag.add([parse_text(EVIL)])
    with live_server(create_app(Settings(index_dir=path), rag)) as url:
        yield url


@pytest.fixture(scope="module")
def page(server):
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        pg = browser.new_page(viewport={"width": 1100, "height": 900})
        dialogs: list[str] = []

        def on_dialog(d: Any) -> None:
            dialogs.append(d.message)
            d.dismiss()

        pg.on("dialog", on_dialog)
        pg.dialogs = dialogs  # type: ignore[attr-defined]
        pg.goto(server)
        yield pg
        browser.close()


def _ask(page, question: str) -> Any:
    n = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")  # Enter sends
    turn = page.locator(".turn").nth(n)
    turn.locator(".answer").wait_for()
    page.wait_for_function(
        "n => document.querySelectorAll('.turn')[n].dataset.state !== 'pending'",
        arg=n,
        timeout=120_000,
    )
    return turn


def test_page_answers_seed_question_with_sources(page):
    # The status line is filled by a fetch after load: wait for it rather than race it.
    page.wait_for_function(
        "() => document.querySelector('#status').textContent !== 'checking index…'",
        timeout=60_000,
    )
    assert "articles" in page.locator("#status").inner_text()
    turn = _ask(page, "How many Armenian soldiers were killed?")
    assert turn.get_attribute("data-state") == "done", turn.inner_text()
    assert turn.locator(".answer").inner_text().strip()
    first = turn.locator(".sources li").first
    assert "Armenian soldiers" in first.locator(".source-head").inner_text()
    assert "20 Sep 2024" in first.locator(".source-head .meta").inner_text()
    shot = os.environ.get("NEWSRAG_SCREENSHOT")
    if shot:
        page.screenshot(path=shot, full_page=True)


def test_page_shows_abstention(page):
    turn = _ask(page, "What is the capital of France?")
    assert turn.get_attribute("data-state") == "abstained"
    assert "I don't know" in turn.locator(".answer").inner_text()


def test_follow_up_sends_history(page):
    _ask(page, "Which countries does Armenia now view as its primary arms suppliers?")
    turn = _ask(page, "And what did Russia call on both countries to do?")
    assert "Searched for:" in turn.locator(".rewritten").inner_text()


def test_article_markup_is_never_executed(page):
    turn = _ask(page, "What reopened at the pelican sanctuary?")
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []
    # Whether the reader answers or abstains (the tiny model's reply differs between CPUs),
    # the sources are on the page: uncited ones folded away, which the text check opens.
    turn.locator(".source-box details").evaluate_all("ds => ds.forEach(d => { d.open = true; })")
    sources = turn.locator(".source-box").inner_text()
    assert "<script>" in sources or "<img" in sources  # shown as text, not markup
    markup = ".source-box script, .source-box img, .answer script, .answer img"
    assert turn.locator(markup).count() == 0


def test_errors_are_shown(page, server):
    page.route(
        "**/ask/stream",
        lambda route: route.fulfill(
            status=503, content_type="application/json", body='{"detail": "index is rebuilding"}'
        ),
    )
    turn = _ask(page, "Anything?")
    page.unroute("**/ask/stream")
    assert turn.get_attribute("data-state") == "error"
    assert "index is rebuilding" in turn.locator(".answer").inner_text()


def test_markup_in_titles_stays_text_on_the_empty_page_and_in_a_restored_chat(page):
    """The newest article's title is markup: it reaches the headlines, a suggested question and
    (after a reload) the conversation restored from browser storage — as text every time."""
    page.reload()
    page.wait_for_function("() => document.querySelectorAll('#headlines li').length > 0")
    assert "<img" in page.locator("#headlines").inner_text()
    assert any("<img" in s for s in page.locator("#suggestions button").all_inner_texts())
    assert page.locator(".turn").count() >= 1  # the conversation came back
    assert page.locator("#welcome img, #welcome script, .turn img, .turn script").count() == 0
    assert page.evaluate("window.__xss") is None
    assert page.dialogs == []

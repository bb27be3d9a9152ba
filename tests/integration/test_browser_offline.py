"""The API documentation and the key prompt in headless Chromium, with no network but the
server's (fake models: this is about the page, not the answers)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from index.parse import parse_text
from service.app import create_app
from service.live import CHROMIUM_FLAGS, chromium_path, live_server
from service.settings import Settings
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag
from tests.unit.test_store import ARTICLES

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def rag(tmp_path_factory):
    path = tmp_path_factory.mktemp("offline") / "idx"
    emb = FakeEmbedder()
    store = open_or_create(path, emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    return make_newsrag(path, emb, FakeGenerator())


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(chromium_path()).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        yield b
        b.close()


def offline_page(browser: Any, base: str) -> tuple[Any, list[str]]:
    """A page that can reach only `base`; every other request is aborted and recorded."""
    page = browser.new_page()
    blocked: list[str] = []

    def route(r: Any) -> None:
        if r.request.url.startswith(base):
            r.continue_()
        else:
            blocked.append(r.request.url)
            r.abort()

    page.route("**/*", route)
    return page, blocked


def test_api_docs_render_offline(browser, rag, tmp_path):
    with live_server(create_app(Settings(index_dir=tmp_path), rag)) as url:
        page, blocked = offline_page(browser, url)
        page.goto(f"{url}/docs")
        page.locator(".opblock").first.wait_for(timeout=30_000)
        paths = page.locator(".opblock-summary-path").all_inner_texts()
        assert "/ask" in paths and "/documents/{article_id}" in paths
        assert blocked == []  # nothing came from a CDN
        page.close()


def test_page_asks_for_the_key_when_reads_are_protected(browser, rag, tmp_path):
    settings = Settings(index_dir=tmp_path, api_key="s3cret", protect_reads=True)
    with live_server(create_app(settings, rag)) as url:
        page, blocked = offline_page(browser, url)
        page.goto(url)
        page.locator("#key-form").wait_for(state="visible")
        assert "API key" in page.locator("#status").inner_text()
        page.fill("#api-key", "s3cret")
        page.click("#key-form button")
        page.wait_for_function("document.getElementById('status').textContent.includes('articles')")
        page.fill("#question", "How many soldiers were killed at the border?")
        page.press("#question", "Enter")
        page.wait_for_function(
            "() => { const t = document.querySelector('.turn'); "
            "return t && t.dataset.state !== 'pending'; }"
        )
        assert page.locator(".turn").get_attribute("data-state") == "done"
        assert "Four soldiers" in page.locator(".turn .answer").inner_text()
        assert blocked == []
        page.close()


def test_page_shows_outlet_quote_window_and_keeps_feedback(browser, tmp_path):
    """News-native bits on the page: the outlet of each source, the supporting sentence
    highlighted inside it, the date window the question set, and thumbs that are kept."""
    from datetime import date, timedelta

    from typer.testing import CliRunner

    from service.cli import app

    emb = FakeEmbedder()
    idx = tmp_path / "idx"
    store = open_or_create(idx, emb, ChunkingParams(max_tokens=64, overlap_tokens=8))
    store.close()
    rag = make_newsrag(idx, emb, FakeGenerator("Four soldiers [1]."))
    recent = (date.today() - timedelta(days=3)).isoformat()
    text = (
        f"{recent}\n\nBorder clash\n\nThe ministry spoke on Tuesday. Four soldiers were killed "
        "at the border, officials said. Talks resume next month."
    )
    from dataclasses import replace

    rag.add([replace(parse_text(text), source="example.org")])
    with live_server(create_app(Settings(index_dir=idx), rag)) as url:
        page, blocked = offline_page(browser, url)
        page.goto(url)
        page.fill("#question", "How many soldiers were killed at the border this week?")
        page.press("#question", "Enter")
        page.wait_for_function(
            "() => { const t = document.querySelector('.turn'); "
            "return t && t.dataset.state !== 'pending'; }"
        )
        turn = page.locator(".turn").first
        assert turn.get_attribute("data-state") == "done", turn.inner_text()
        assert "example.org" in turn.locator(".sources li .meta").first.inner_text()
        mark = turn.locator(".sources li mark.quote").first
        assert mark.inner_text() == "Four soldiers were killed at the border, officials said."
        assert "this week" in turn.locator(".filters").inner_text()
        turn.locator("button.rate-up").click()
        page.wait_for_function("document.querySelector('.feedback').dataset.rated === 'up'")
        assert "kept" in turn.locator(".feedback-note").inner_text()
        assert blocked == []
        page.close()
    out = tmp_path / "ratings.jsonl"
    result = CliRunner().invoke(app, ["feedback", "export", "--out", str(out), "--index", str(idx)])
    assert result.exit_code == 0, result.output
    lines = out.read_text().splitlines()
    assert len(lines) == 1 and '"rating": "up"' in lines[0] and "soldiers" in lines[0]

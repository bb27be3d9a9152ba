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

"""The chat page as a new user meets it (real Chromium, real embedder, articles that are not
the seed): the empty page says what is in scope and offers questions drawn from the newest
articles; an answer is a compact card (quote shown, passage folded); a link or a file added
from the page becomes answerable; the conversation survives a reload; it works at 390 px and
axe-core finds no serious accessibility problem. The reader is scripted (the page is tested,
not the model)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import expect

from index.chunking import ChunkingParams
from index.fetch import FetchConfig
from index.ingest import Indexer, open_or_create
from retrieval.options import PipelineConfig
from service.app import create_app
from service.live import CHROMIUM_FLAGS, ask_on_page, chromium_path, live_server, settled
from service.settings import Settings
from tests.fakes import Scripted, make_newsrag
from tests.fixtures.archive import ARCHIVE
from tests.fixtures.webserver import Site, serve
from tests.unit.test_feeds import PELICANS, article_page, rss

pytestmark = pytest.mark.slow

AXE = Path(__file__).resolve().parents[2] / "build/npm/node_modules/axe-core/axe.min.js"
REPLIES = {
    "crossings": "Answer: 46 [1]\nSentence: Bayline cancelled all 46 daily crossings [1].",
    "pelicans": (
        "Answer: Two hundred [1]\nSentence: Two hundred pelicans returned to the city lake "
        "this week, rangers said on Friday [1]."
    ),
    "millbrook": "Millbrook's council limited garden watering to two days a week [1].",
}


@pytest.fixture(scope="module")
def site() -> Iterator[Site]:
    s = Site()
    with serve(s):
        s.pages["/pelicans.html"] = article_page(
            "Pelicans return to the lake", "2025-03-21", *PELICANS
        )
        s.pages["/bridge.html"] = article_page(
            "Harbour bridge reopens",
            "2025-03-22",
            "The harbour bridge reopened on Monday after eight months of repairs, the city said.",
        )
        s.pages["/gazette.rss"] = rss("City Gazette", [("Bridge", s.url("/bridge.html"))])
        yield s


@pytest.fixture(scope="module")
def server(tmp_path_factory, embedder) -> Iterator[str]:
    path = tmp_path_factory.mktemp("page") / "index"
    store = open_or_create(path, embedder, ChunkingParams())
    Indexer(store, embedder).ingest_articles(ARCHIVE)
    store.close()
    rag = make_newsrag(
        path,
        embedder,
        Scripted(REPLIES),
        PipelineConfig(min_confidence=0.0),
        fetch=FetchConfig(allow_private=True, host_delay=0),
    )
    settings = Settings(index_dir=path, allow_private_urls=True, feed_poll_minutes=0)
    with live_server(create_app(settings, rag)) as url:
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    chromium = chromium_path()
    if not Path(chromium).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=server)
    pg = context.new_page()
    pg.goto(server)
    pg.locator("#suggestions button").first.wait_for(timeout=30_000)
    yield pg
    context.close()


ask = ask_on_page


def axe_problems(page: Any) -> list[str]:
    if not AXE.exists():
        pytest.fail(f"axe-core is not installed ({AXE}); make test installs it with npm")
    page.add_script_tag(path=str(AXE))
    found = page.evaluate(
        "async () => (await axe.run(document)).violations"
        ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
        ".map(v => v.id + ': ' + v.nodes.map(n => n.target.join(' ')).join(', '))"
    )
    return list(found)


def test_empty_page_shows_scope_and_suggestions_and_a_click_asks(page):
    headlines = page.locator("#headlines li")
    newest = max(ARCHIVE, key=lambda a: a.published or date.min)
    assert newest.title in headlines.first.inner_text()
    assert f"{newest.source} · " in headlines.first.inner_text()
    suggestions = page.locator("#suggestions button")
    assert suggestions.count() >= 3
    assert page.locator("#feed-summary").inner_text().startswith("No feeds yet")
    assert axe_problems(page) == []
    question = suggestions.first.inner_text()
    suggestions.first.click()
    turn = settled(page, 0)
    assert turn.locator(".question").inner_text() == question
    assert page.locator("#welcome").is_hidden()


def test_factoid_card_is_compact_with_its_quote_and_the_passage_folded(page):
    turn = ask(page, "How many daily crossings did Bayline cancel?")
    assert turn.get_attribute("data-state") == "done", turn.inner_text()
    answer = turn.locator(".answer").inner_text()
    assert answer.startswith("Bayline cancelled all 46 daily crossings")
    quote = turn.locator(".sources li.cited .quote-line mark.quote").first
    assert quote.is_visible() and "46 daily crossings" in quote.inner_text()
    passage = turn.locator(".sources li.cited details.evidence").first
    assert passage.get_attribute("open") is None
    assert not passage.locator(".source-text").is_visible()
    height = turn.bounding_box()["height"]
    assert height <= 450, height
    passage.locator("summary").click()
    assert passage.locator(".source-text").is_visible()
    # The announcement for screen readers, the copy with sources, and no serious a11y issue.
    page.wait_for_function("() => document.querySelector('#announce').textContent.length > 0")
    assert "46" in page.locator("#announce").inner_text()
    turn.get_by_role("button", name="Copy the answer with its sources").click()
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "How many daily crossings did Bayline cancel?" in copied and "Sources:" in copied
    assert "“" in copied and "[1]" in copied
    assert axe_problems(page) == []


def test_a_link_added_from_the_page_is_answerable(page, site):
    page.get_by_role("button", name="Add articles & feeds").click()
    page.fill("#link", site.url("/pelicans.html"))
    page.get_by_role("button", name="Add", exact=True).click()
    result = page.locator("#add-result")
    page.wait_for_function(
        "() => !document.querySelector('#add-result').textContent.startsWith('Fetching')",
        timeout=60_000,
    )
    assert "Pelicans return to the lake" in result.inner_text(), result.inner_text()
    expect(page.locator("#headlines")).to_contain_text("Pelicans return to the lake")
    turn = ask(page, "How many pelicans returned to the city lake?")
    assert turn.get_attribute("data-state") == "done", turn.inner_text()
    assert "Pelicans return to the lake" in turn.locator(".sources li.cited").first.inner_text()
    # The same link again: nothing added, and the page says so.
    page.fill("#link", site.url("/pelicans.html"))
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#add-result').textContent.startsWith('Already')"
    )
    # A link with no article is refused with the reason.
    page.fill("#link", site.url("/missing.html"))
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#add-result').textContent.startsWith('Not added')"
    )
    assert "404" in result.inner_text()


def test_a_feed_and_a_file_added_from_the_page(page, site, tmp_path):
    page.get_by_role("button", name="Add articles & feeds").click()
    page.fill("#link", site.url("/gazette.rss"))
    page.get_by_role("button", name="Add", exact=True).click()
    page.wait_for_function(
        "() => document.querySelector('#add-result').textContent.startsWith('Feed')",
        timeout=60_000,
    )
    assert "City Gazette" in page.locator("#add-result").inner_text()
    feeds = page.locator("#feeds li")
    expect(feeds.first).to_contain_text("polled just now")
    assert feeds.count() == 1
    feeds.first.get_by_role("button", name="Poll City Gazette now").click()
    page.wait_for_function(
        "() => document.querySelector('#add-result').textContent.startsWith('Polled')"
    )
    note = tmp_path / "lighthouse.txt"
    note.write_text(
        "2025-03-23\n\nLighthouse repainted\n\nVolunteers repainted the old lighthouse red.\n"
    )
    page.set_input_files("#files", str(note))
    page.wait_for_function(
        "() => document.querySelector('#add-result').textContent.startsWith('Added 1')"
    )
    expect(page.locator("#headlines")).to_contain_text("Lighthouse repainted")
    feeds.first.get_by_role("button", name="Remove the feed City Gazette").click()
    expect(page.locator("#feeds")).to_contain_text("No feeds")


def test_reload_keeps_the_conversation_and_new_chat_clears_it(page):
    ask(page, "How many daily crossings did Bayline cancel?")
    ask(page, "What is the capital of France?")
    page.reload()
    page.locator(".turn").nth(1).wait_for()
    assert page.locator(".turn").count() == 2
    assert "46" in page.locator(".turn").first.locator(".answer").inner_text()
    assert page.locator(".turn").nth(1).get_attribute("data-state") == "abstained"
    assert page.locator("#welcome").is_hidden()
    page.get_by_role("button", name="New chat").click()
    assert page.locator(".turn").count() == 0
    assert page.locator("#welcome").is_visible()
    page.reload()
    page.locator("#suggestions button").first.wait_for()
    assert page.locator(".turn").count() == 0


def test_the_page_works_on_a_phone(browser, server):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    page = context.new_page()
    page.goto(server)
    page.locator("#suggestions button").first.wait_for(timeout=30_000)
    wide = "() => document.documentElement.scrollWidth"
    assert page.evaluate(wide) <= 390
    turn = ask(page, "How many daily crossings did Bayline cancel?")
    assert page.evaluate(wide) <= 390
    assert turn.locator(".answer").is_visible()
    box = turn.locator(".answer").bounding_box()
    assert box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert page.locator("#question").is_visible() and page.locator("#send").is_visible()
    assert axe_problems(page) == []
    context.close()


def test_a_server_with_a_key_asks_for_it_before_adding(browser, embedder, site, tmp_path):
    path = tmp_path / "index"
    store = open_or_create(path, embedder, ChunkingParams())
    Indexer(store, embedder).ingest_articles(ARCHIVE[:1])
    store.close()
    rag = make_newsrag(
        path, embedder, Scripted(REPLIES), fetch=FetchConfig(allow_private=True, host_delay=0)
    )
    key = "page-key-" + "x" * 16
    settings = Settings(index_dir=path, api_key=key, allow_private_urls=True, feed_poll_minutes=0)
    with live_server(create_app(settings, rag)) as url:
        page = browser.new_page(viewport={"width": 1100, "height": 900})
        page.goto(url)
        page.locator("#suggestions button").first.wait_for(timeout=30_000)  # reads are open
        page.get_by_role("button", name="Add articles & feeds").click()
        page.fill("#link", site.url("/pelicans.html"))
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#add-result")).to_contain_text("401")
        assert page.locator("#key-form").is_visible()
        assert rag.list_articles()[1] == 1  # nothing was written
        page.fill("#api-key", key)
        page.get_by_role("button", name="Use key").click()
        page.get_by_role("button", name="Add", exact=True).click()
        expect(page.locator("#add-result")).to_contain_text("Pelicans return to the lake")
        assert rag.list_articles()[1] == 2
        # An abstention for want of articles offers to add one.
        turn = ask(page, "What did the astronomers discover on the far side of the moon?")
        assert turn.get_attribute("data-state") == "abstained"
        turn.get_by_role("button", name="Add an article about this").click()
        assert page.locator("#library").is_visible()
        page.close()

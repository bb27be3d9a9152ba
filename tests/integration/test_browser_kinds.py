"""The chat page shows every kind of answer (real Chromium, real embedder, articles that are
not the seed): several cited sentences for an open question, "Yes." with its sentence, an
answer about the article itself, and an empty time window with the newest article on the
subject and a one-click "Search all dates". The reader is scripted: what is tested is the
page and the answer path around the model (the real reader is in test_kinds_e2e)."""

from __future__ import annotations

from pathlib import Path

import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from retrieval.options import PipelineConfig
from service.app import create_app
from service.live import CHROMIUM_FLAGS, ask_on_page, chromium_path, live_server, settled
from service.settings import Settings
from tests.fakes import Scripted, make_newsrag
from tests.fixtures.archive import ARCHIVE

pytestmark = pytest.mark.slow

REPLIES = {
    "millbrook": (
        "Millbrook's council limited garden watering to two days a week after the Clearwater "
        "reservoir fell to 31 percent of capacity [1]. The regional water board later said "
        "the reservoir had dropped to 27 percent [2]."
    ),
    "museum": "Sentence: Admission is free for children under 12 [1].\nAnswer: Yes",
    "crossings": "Answer: 46 [1]\nSentence: Bayline cancelled all 46 daily crossings [1].",
}


@pytest.fixture(scope="module")
def page(tmp_path_factory, embedder):
    chromium = chromium_path()
    if not Path(chromium).exists():
        pytest.fail("chromium is not installed (make test installs it: apt-get install chromium)")
    path = tmp_path_factory.mktemp("archive") / "index"
    store = open_or_create(path, embedder, ChunkingParams())
    Indexer(store, embedder).ingest_articles(ARCHIVE)
    store.close()
    rag = make_newsrag(path, embedder, Scripted(REPLIES), PipelineConfig(min_confidence=0.0))
    from playwright.sync_api import sync_playwright

    with live_server(create_app(Settings(index_dir=path), rag)) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium, args=CHROMIUM_FLAGS)
        pg = browser.new_page(viewport={"width": 1100, "height": 900})
        pg.goto(url)
        yield pg
        browser.close()


ask = ask_on_page


def test_open_answer_shows_several_cited_sentences(page):
    turn = ask(page, "What is happening with the water supply in Millbrook?")
    assert turn.get_attribute("data-state") == "done", turn.inner_text()
    assert turn.get_attribute("data-kind") == "open"
    text = turn.locator(".answer").inner_text()
    assert "31 percent" in text and "27 percent" in text
    assert turn.locator(".answer .cite").count() >= 2


def test_a_factoid_shows_its_short_answer_above_the_sentence(page):
    turn = ask(page, "How many daily crossings did Bayline cancel?")
    assert turn.get_attribute("data-kind") == "factoid", turn.inner_text()
    assert turn.locator(".short").inner_text().strip() == "46"  # streamed first, kept
    assert turn.locator(".answer").inner_text().startswith("Bayline cancelled all 46")


def test_yes_no_answer_shows_yes_and_its_sentence(page):
    turn = ask(page, "Is the glass museum free for children?")
    assert turn.get_attribute("data-kind") == "yesno"
    assert turn.locator(".answer").inner_text().startswith("Yes. Admission is free")


def test_question_about_the_article_itself(page):
    turn = ask(page, "When was the article about the ferry strike published?")
    assert turn.get_attribute("data-kind") == "meta"
    assert "February 11, 2025" in turn.locator(".answer").inner_text()


def test_empty_time_window_offers_all_dates(page):
    turn = ask(page, "What happened with the Millbrook reservoir this week?")
    assert turn.get_attribute("data-state") == "abstained"
    assert "Millbrook reservoir keeps falling despite limits" in turn.inner_text()
    n = page.locator(".turn").count()
    turn.get_by_role("button", name="Search all dates").click()
    again = settled(page, n)
    assert again.get_attribute("data-state") == "done", again.inner_text()
    assert "27 percent" in again.locator(".answer").inner_text()

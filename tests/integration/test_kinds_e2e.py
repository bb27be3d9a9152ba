"""Every kind of question over articles that are not the seed (tests/fixtures/archive.py),
with the product's default reader and settings: an open question answered in several cited
sentences, a yes/no question answered "Yes" with its sentence, one whose sources are silent,
an empty time window over the archive, and a question about an article itself."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.options import AskOptions
from tests.conftest import MODEL_CACHE
from tests.fakes import make_newsrag
from tests.fixtures.archive import ARCHIVE

pytestmark = pytest.mark.slow

AS_OF = date(2025, 3, 25)


@pytest.fixture(scope="module")
def rag(tmp_path_factory, embedder):
    from index.chunking import ChunkingParams
    from index.ingest import Indexer, open_or_create
    from service.loading import build_models, core_config
    from service.settings import Settings

    path = tmp_path_factory.mktemp("archive") / "index"
    store = open_or_create(path, embedder, ChunkingParams())
    Indexer(store, embedder).ingest_articles(ARCHIVE)
    store.close()
    settings = Settings(index_dir=path, cache_dir=MODEL_CACHE)
    models = build_models(settings)
    models.load()
    pipeline = core_config(settings).pipeline  # the product's own gates and calibration
    return make_newsrag(path, embedder, models.generator, pipeline, readonly=True)


def test_open_question_gets_several_cited_supported_sentences(rag):
    a = rag.ask("What is happening with the water supply in Millbrook?", AskOptions(as_of=AS_OF))
    assert a.question_type == "open"
    assert not a.abstained, a.answer
    assert a.short_answer is None
    assert len(a.claims) >= 2 and all(c["supported"] for c in a.claims), a.claims
    assert "reservoir" in a.answer.lower()
    cited = [c for c in a.citations if c.cited]
    assert cited and all(c.supported for c in cited)


def test_yes_no_question_answered_yes_with_its_sentence(rag):
    a = rag.ask("Is admission to the glass museum free for children?", AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert not a.abstained, a.answer
    assert a.short_answer == "yes" and a.answer.startswith("Yes. ")
    assert "12" in a.answer
    assert any(c.cited and c.supported for c in a.citations)


def test_yes_no_question_the_sources_are_silent_on_abstains(rag):
    a = rag.ask("Did the glass museum receive money from a private bank?", AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert a.abstained, a.answer


def test_empty_time_window_names_the_newest_article_on_the_subject(rag):
    a = rag.ask(
        "What happened with the Clearwater reservoir this week?", AskOptions(as_of=date(2025, 6, 2))
    )
    assert a.abstained and a.abstain_reason == "no_articles_in_window", a.answer
    assert a.window is not None and a.window["newest"]["article_id"] == "water-courier"
    assert "Millbrook reservoir keeps falling despite limits" in a.answer


def test_question_about_the_article_itself(rag):
    a = rag.ask("When was the article about the ferry strike published?", AskOptions(as_of=AS_OF))
    assert a.question_type == "meta" and not a.abstained
    assert a.short_answer == "February 11, 2025"
    assert any(c.cited and c.hit.article_id == "ferry-strike" for c in a.citations)
    a = rag.ask("Which outlet published the story about the glass museum?", AskOptions(as_of=AS_OF))
    assert a.short_answer == "courier.example"

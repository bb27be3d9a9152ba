"""The `Store` contract, run against both backends: the index directory (SQLite + FTS5 +
FAISS) and PostgreSQL + pgvector (a real server from PyPI, tests/pg.py). What one does, the
other must do: writes, replacement, deletion, dedup, listing, dense and lexical search, the
manifest check, read-only refusal, concurrent writers and a writer killed mid-write."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
from dataclasses import replace
from datetime import date
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest

from index.chunking import ChunkingParams
from index.core import CoreConfig, Models, Newsrag, open_store
from index.ingest import Indexer, manifest_for
from index.parse import parse_text
from retrieval.errors import (
    ArticleNotFoundError,
    DuplicateTextError,
    IndexMismatchError,
    IndexNotFoundError,
    ReadOnlyError,
)
from retrieval.options import AskOptions, PipelineConfig
from retrieval.store.base import Store
from retrieval.store.manifest import Manifest
from retrieval.types import ChunkSpan, DuplicateText, SearchFilter
from tests.fakes import FakeEmbedder, FakeGenerator
from tests.unit import test_feeds

ARTICLES = [
    "2024-09-20\n\nBorder clash\n\nFour soldiers were killed at the border.",
    "2024-09-21\n\nHarvest festival\n\nFarmers celebrated a record apple harvest in the valley.",
    "2024-09-22\n\nRates decision\n\nThe central bank kept interest rates unchanged on Thursday.",
]
PARAMS = ChunkingParams(max_tokens=32, overlap_tokens=8)
web_site = test_feeds.site  # the fixture `site`: a local web server with feeds and pages


@pytest.fixture(params=["directory", "postgres"])
def config(request, tmp_path) -> CoreConfig:
    """The core's configuration for one backend (a fresh index either way)."""
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    return CoreConfig(
        index_dir=tmp_path / "idx",
        store_url=url,
        chunk_tokens=PARAMS.max_tokens,
        chunk_overlap=PARAMS.overlap_tokens,
    )


@pytest.fixture
def store(config):
    s = open_store(config, FakeEmbedder(), create=True)
    yield s
    s.close()


def _ingest(store: Store, texts: list[str]):
    return Indexer(store, FakeEmbedder()).ingest_articles(parse_text(t) for t in texts)


def test_write_search_and_dedup(store):
    report = _ingest(store, ARTICLES)
    assert len(report.added) == 3 and not report.duplicates
    again = _ingest(store, ARTICLES)
    assert again.added == [] and len(again.duplicates) == 3
    assert store.article_count() == 3 and store.chunk_count() == 3
    q = FakeEmbedder().encode(["interest rates central bank"])[0]
    (top, score), *_ = store.dense_search(q, 2)
    hit = store.hits([(top, score)])[0]
    assert hit.title == "Rates decision" and hit.published == date(2024, 9, 22)
    assert score == pytest.approx(float(store.vectors([top])[top] @ q), abs=1e-4)
    assert store.find_content(parse_text(ARTICLES[2]).content_hash) == hit.article_id


def test_lexical_search_ranks_by_bm25_and_follows_every_write(store):
    _ingest(store, ARTICLES)
    (top, s), *rest = store.lexical_search("apple harvest", 5)
    assert store.hits([(top, s)])[0].title == "Harvest festival" and s > 0
    assert all(s >= r for _, r in rest)
    emb = FakeEmbedder()
    art = parse_text("2024-09-23\n\nPelicans\n\nTwo hundred pelicans returned to the lake.")
    Indexer(store, emb).ingest_articles([art])
    (top, _), *_ = store.lexical_search("pelicans lake", 5)
    assert store.hits([(top, 1.0)])[0].article_id == art.id
    new = replace(art, body="Flamingos crowd the city lake now.", content_hash="")
    assert Indexer(store, emb).ingest_articles([new]).updated == [art.id]
    assert store.lexical_search("returned hundred", 5) == []  # the old text's words are gone
    assert store.lexical_search("flamingos", 5)
    store.delete_article(art.id)
    assert store.lexical_search("flamingos", 5) == []
    assert store.article_count() == 3 and store.chunk_count() == 3


def test_a_rare_word_outranks_a_common_one(store):
    """BM25's IDF: a word in one chunk counts for more than a word in all of them."""
    texts = [
        f"2024-09-{10 + i}\n\nReport {i}\n\nThe council met on budget day {i}." for i in range(6)
    ]
    texts.append("2024-09-30\n\nZoning\n\nThe council met about the zoning plan.")
    _ingest(store, texts)
    (top, _), *_ = store.lexical_search("council zoning", 10)
    assert store.hits([(top, 1.0)])[0].title == "Zoning"


@pytest.mark.parametrize(
    "query", ['"unbalanced', "NEAR(a b", "title:x", "a AND OR NOT", "*", "-", "the of and", "", "'"]
)
def test_query_syntax_from_users_is_inert(store, query):
    _ingest(store, ARTICLES)
    assert isinstance(store.lexical_search(query, 5), list)


def test_delete_removes_the_article_everywhere(store):
    victim = _ingest(store, ARTICLES).added[0]
    assert store.delete_article(victim) == 1
    with pytest.raises(ArticleNotFoundError):
        store.get_article(victim)
    q = FakeEmbedder().encode(["four soldiers killed border"])[0]
    assert all(h.article_id != victim for h in store.hits(store.dense_search(q, 10)))
    assert store.lexical_search("soldiers", 5) == []
    with pytest.raises(ArticleNotFoundError):
        store.delete_article(victim)
    assert store.chunk_count() == 2


def test_listing_pages_and_filters(store):
    _ingest(store, ARTICLES)
    page, total = store.list_articles(limit=2)
    assert total == 3 and [s.article.title for s in page] == ["Rates decision", "Harvest festival"]
    rest, _ = store.list_articles(limit=2, offset=2)
    assert [s.article.title for s in rest] == ["Border clash"]
    window, n = store.list_articles(
        published_from=date(2024, 9, 21), published_to=date(2024, 9, 21)
    )
    assert n == 1 and window[0].article.title == "Harvest festival"
    one = store.get_article(window[0].article.id)
    assert one.chunk_count == 1 and "apple harvest" in one.article.body


def test_listing_by_outlet_matches_as_the_search_filter_does(store):
    """`outlets` match trimmed and case folded, like `SearchFilter.sources` in a search;
    `source` (the documents API's filter) stays an exact match."""
    outlets = ["Daily Courier", " ÜBER Zeitung ", None]
    arts = [replace(parse_text(t), source=s) for t, s in zip(ARTICLES, outlets, strict=True)]
    Indexer(store, FakeEmbedder()).ingest_articles(arts)
    page, n = store.list_articles(outlets=SearchFilter(sources=("daily courier",)).sources)
    assert n == 1 and [s.article.title for s in page] == ["Border clash"]
    page, n = store.list_articles(outlets=("über zeitung", "DAILY COURIER"), limit=1)
    assert n == 2 and [s.article.title for s in page] == ["Harvest festival"]
    assert store.list_articles(outlets=("courier",))[1] == 0
    assert store.list_articles(source="daily courier")[1] == 0
    assert store.list_articles(source="Daily Courier")[1] == 1


def test_a_failed_write_leaves_nothing(store):
    good = parse_text(ARTICLES[0])
    bad = parse_text(ARTICLES[1])
    vec = np.ones((1, 64), np.float32) / 8
    with pytest.raises(ValueError, match="vectors"):
        store.write_articles(
            [(good, [ChunkSpan(0, 0, 4, "Four")], vec), (bad, [ChunkSpan(0, 0, 3, "Far")], vec[:0])]
        )
    assert store.article_count() == 0 and store.chunk_count() == 0


def test_refused_duplicate_text_writes_nothing(store):
    _ingest(store, ARTICLES[:1])
    twin = replace(parse_text(ARTICLES[0]), id="twin")
    other = parse_text(ARTICLES[1])
    vec = np.ones((1, 64), np.float32) / 8
    items = [(other, [ChunkSpan(0, 0, 3, "Far")], vec), (twin, [ChunkSpan(0, 0, 4, "Four")], vec)]
    with pytest.raises(DuplicateTextError, match="already stored"):
        store.write_articles(items, DuplicateText.REFUSE)
    assert store.article_count() == 1


def test_another_embedder_and_a_missing_index_are_refused(config, store):
    store.close()
    other = Manifest(embedder="other-model", dimension=64, chunking={})
    with pytest.raises(IndexMismatchError, match=r"other-model.*Rebuild"):
        reopen(config, other)
    reopen(config, manifest_for(FakeEmbedder(), PARAMS)).close()
    empty = replace(config, index_dir=config.index_dir / "none")
    if config.store_url:
        no_index = urlsplit(config.store_url)._replace(path="/postgres").geturl()
        empty = replace(empty, store_url=no_index)
    with pytest.raises(IndexNotFoundError, match="newsrag ingest"):
        open_store(empty, FakeEmbedder())


def reopen(config: CoreConfig, expect: Manifest) -> Store:
    if config.store_url:
        from retrieval.store.postgres import PostgresStore

        return PostgresStore.open(config.store_url, expect=expect)
    from retrieval.store.directory import IndexStore

    return IndexStore.open(config.index_dir, expect=expect)


def test_a_readonly_store_reads_and_refuses_writes(config, store):
    _ingest(store, ARTICLES)
    ro = open_store(replace(config, readonly=True), FakeEmbedder())
    try:
        assert ro.readonly and ro.article_count() == 3
        with pytest.raises(ReadOnlyError):
            _ingest(ro, ["2024-09-25\n\nNew\n\nSomething new happened today in town."])
        with pytest.raises(ReadOnlyError):
            ro.delete_article(store.list_articles()[0][0].article.id)
        _ingest(store, ["2024-09-25\n\nNew\n\nSomething new happened today in town."])
        ro.refresh()
        assert ro.article_count() == 4  # a reader sees the writer's commits
    finally:
        ro.close()


def test_concurrent_writers_store_an_article_once(config, store):
    """Two writers (separate stores: separate connections, as two processes have) send the
    same articles at the same time: each is stored once, and nothing else is lost."""
    if not config.store_url:
        pytest.skip("the index directory has one writer process by design (docs/SCALE.md)")
    other = open_store(config, FakeEmbedder())
    extra = [
        f"2024-10-0{i}\n\nItem {i}\n\nA distinct report number {i} on the harbour."
        for i in range(1, 7)
    ]
    reports = {}

    def write(name, s, texts):
        reports[name] = _ingest(s, texts)

    threads = [
        threading.Thread(target=write, args=("a", store, ARTICLES + extra[:3])),
        threading.Thread(target=write, args=("b", other, list(reversed(ARTICLES)) + extra[3:])),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    other.close()
    added = reports["a"].added + reports["b"].added
    assert len(added) == len(set(added)) == 9
    assert store.article_count() == 9 and store.chunk_count() == 9
    assert len(reports["a"].duplicates) + len(reports["b"].duplicates) == 3


def test_a_writer_killed_mid_write_leaves_nothing(config, store):
    """A process that dies inside its write transaction (rows inserted, not committed):
    no partial article, and the search statistics are those of the committed articles."""
    if not config.store_url:
        pytest.skip("the directory's crash safety is tested in tests/unit/test_store.py")
    _ingest(store, ARTICLES[:1])
    before = store.lexical_search("soldiers killed", 5)
    script = textwrap.dedent(
        f"""
        import os
        import retrieval.store.postgres as pg
        from index.core import CoreConfig, open_store
        from index.ingest import Indexer
        from index.parse import parse_text
        from tests.fakes import FakeEmbedder

        def die(*args, **kwargs):
            os._exit(9)  # killed after the rows went in, before the commit

        pg.apply_stats = die
        config = CoreConfig(store_url={config.store_url!r}, chunk_tokens=32, chunk_overlap=8)
        store = open_store(config, FakeEmbedder())
        Indexer(store, FakeEmbedder()).ingest_articles(
            [parse_text({ARTICLES[1]!r}), parse_text({ARTICLES[2]!r})]
        )
        """
    )
    root = Path(__file__).resolve().parents[2]
    done = subprocess.run([sys.executable, "-c", script], cwd=root, timeout=120)
    assert done.returncode == 9
    assert store.article_count() == 1 and store.chunk_count() == 1
    assert store.lexical_search("apple harvest", 5) == []
    assert store.lexical_search("soldiers killed", 5) == before


def test_the_system_answers_alike_on_either_backend(config):
    """The core over each backend: ingest, ask, cite — the same answer from the same text."""
    emb = FakeEmbedder()
    reply = "Answer: Four [1]\nSentence: Four soldiers were killed at the border [1]."
    models = Models(emb, FakeGenerator(reply))
    cfg = replace(config, pipeline=PipelineConfig(min_confidence=0.0))
    rag = Newsrag(cfg, models, open_store(cfg, emb, create=True))
    try:
        rag.add(parse_text(t) for t in ARTICLES)
        a = rag.ask(
            "How many soldiers were killed at the border?", AskOptions(as_of=date(2024, 9, 30))
        )
        assert not a.abstained and a.short_answer == "Four"
        cited = [c for c in a.citations if c.cited]
        assert cited and cited[0].hit.title == "Border clash" and cited[0].supported
    finally:
        rag.close()


def test_an_index_directory_copies_into_postgres_without_embedding(tmp_path, pg_url):
    """`newsrag copy-index URL`: the same articles, chunks and vectors — so the same dense
    neighbours — with the search indexes built; a second run finds everything there already;
    a URL that is not PostgreSQL is a usage error."""
    from typer.testing import CliRunner

    from retrieval.store.postgres import PostgresStore
    from service.cli import app

    cfg = CoreConfig(index_dir=tmp_path / "idx", chunk_tokens=32, chunk_overlap=8)
    source = open_store(cfg, FakeEmbedder(), create=True)
    _ingest(source, ARTICLES)
    source.close()
    args = ["copy-index", pg_url, "--index", str(tmp_path / "idx")]
    first = CliRunner().invoke(app, args)
    assert first.exit_code == 0, first.output
    assert "copied 3 articles (3 chunks)" in first.output and "postgres:***@" in first.output
    again = CliRunner().invoke(app, args)
    assert "copied 0 articles" in again.output and "3 already there" in again.output
    target = PostgresStore.open(pg_url, expect=manifest_for(FakeEmbedder(), PARAMS))
    source = open_store(cfg, FakeEmbedder())
    try:
        q = FakeEmbedder().encode(["central bank interest rates"])[0]
        ids = [[h.article_id for h in s.hits(s.dense_search(q, 3))] for s in (source, target)]
        assert ids[0] == ids[1] and target.chunk_count() == 3
        # Into an empty database the search indexes were dropped and built once at the end.
        rows = target._db.execute("SELECT indexname FROM pg_indexes")
        assert {"chunks_embedding", "chunk_terms_term"} <= {r[0] for r in rows}
        assert target.hits(target.lexical_search("central bank", 1))[0].title == "Rates decision"
    finally:
        target.close()
        source.close()
    bad = CliRunner().invoke(app, ["copy-index", "sqlite:///x", "--index", str(tmp_path)])
    assert bad.exit_code == 2 and "postgresql://" in bad.output


def test_feeds_and_ratings_live_in_the_database_every_host_shares(tmp_path, pg_url, web_site):
    """Two processes on the index's database (two hosts, each with its own directory): a feed
    one registers the other lists; while one polls a feed the other skips it; items one took
    the other does not take again; an answer one gave the other can rate. No SQLite file is
    written anywhere."""
    from index.fetch import FetchConfig

    emb = FakeEmbedder()
    cfg = CoreConfig(
        index_dir=tmp_path / "a",
        store_url=pg_url,
        chunk_tokens=32,
        chunk_overlap=8,
        pipeline=PipelineConfig(min_score=0.3, min_confidence=0.0),
        fetch=FetchConfig(allow_private=True, host_delay=0),
    )
    other = replace(cfg, index_dir=tmp_path / "b")
    reply = "Answer: Two hundred [1]\nSentence: Two hundred pelicans returned to the lake [1]."
    a = Newsrag(cfg, Models(emb, FakeGenerator(reply)), open_store(cfg, emb, create=True))
    b = Newsrag(other, Models(emb, FakeGenerator(reply)), open_store(other, emb))
    try:
        feed, created = a.add_feed(web_site.url("/city.rss"))
        assert created and [f.id for f in b.list_feeds()] == [feed.id]
        with b.feeds.registry.polling(feed.id) as ours:
            assert ours
            busy = a.poll_feeds(feed.id)[0]
        assert not busy.added and "another newsrag process" in busy.errors[0]
        polled = a.poll_feeds(feed.id)[0]
        assert len(polled.added) == 1
        assert b.poll_feeds(feed.id)[0].added == []  # seen items are shared
        assert b.list_feeds()[0].items_added == 1
        answer = a.ask("How many pelicans returned to the city lake?")
        assert not answer.abstained, answer.answer
        assert b.rate_answer(answer.answer_id, "up")["stored"]
        assert a.feedback.counts() == {"up": 1, "down": 0}
        assert [r["answer_id"] for r in b.feedback.export()] == [answer.answer_id]
        b.remove_feed(feed.id)
        assert a.list_feeds() == []
    finally:
        a.close()
        b.close()
    assert not list(tmp_path.rglob("*.sqlite"))


def test_a_process_on_a_streaming_standby_reads_and_refuses_writes():
    """A read replica is a plain Postgres standby (`pg_basebackup -R`): newsrag pointed at it
    serves searches, refuses writes with the read-only error (HTTP 409), and sees an article
    written on the primary within seconds."""
    import time

    from retrieval.store.postgres import PostgresStore
    from tests.pg import fresh_database, local_standby, on_standby, start_server

    # A server of its own: the base backup copies every database the session made.
    running = start_server()
    server = next(running)
    pg_url = fresh_database(server)
    expect = manifest_for(FakeEmbedder(), PARAMS)
    primary = PostgresStore.create(pg_url, expect)
    _ingest(primary, ARTICLES[:2])
    with local_standby(server) as sock:
        standby = PostgresStore.open(on_standby(pg_url, sock), expect)
        try:
            assert standby.readonly and standby.article_count() == 2
            with pytest.raises(ReadOnlyError, match="standby"):
                _ingest(standby, ARTICLES[2:])
            _ingest(primary, ARTICLES[2:])
            started = time.monotonic()
            while standby.article_count() < 3 and time.monotonic() - started < 30:
                time.sleep(0.05)
            assert standby.article_count() == 3  # (replication lag here: well under a second)
            (top, _), *_ = standby.lexical_search("central bank rates", 3)
            assert standby.hits([(top, 1.0)])[0].title == "Rates decision"
        finally:
            standby.close()
    primary.close()
    running.close()  # stops the server and removes its directory


def test_filtered_search_finds_only_matching_articles_on_either_backend(store):
    """Date windows, outlets and the undated rule: the search returns only articles that
    match (PostgreSQL applies them inside its index scans; the directory's results are
    filtered above the store) — the same hits either way."""
    from retrieval.find.search import Retriever
    from retrieval.types import SearchFilter

    arts = [parse_text(t) for t in ARTICLES]
    arts[2] = replace(arts[2], source="Ledger.example ")
    undated = parse_text("Undated note\n\nThe central bank may change interest rates soon.")
    assert undated.published is None
    emb = FakeEmbedder()
    Indexer(store, emb).ingest_articles([*arts, undated])
    search = Retriever(store, emb).search
    q = "central bank interest rates harvest soldiers"
    window = SearchFilter(published_from=date(2024, 9, 21), published_to=date(2024, 9, 22))
    assert {h.title for h in search(q, 5, window)} == {"Harvest festival", "Rates decision"}
    with_undated = replace(window, include_undated=True)
    assert "Undated note" in {h.title for h in search(q, 5, with_undated)}
    outlet = SearchFilter(sources=("ledger.example",))
    assert [h.title for h in search(q, 5, outlet)] == ["Rates decision"]
    none = SearchFilter(published_to=date(2020, 1, 1))
    assert search(q, 5, none) == []
    qv = emb.encode([q])[0]
    if getattr(store, "url", None):  # PostgreSQL: the store itself returns only matches
        ids = [cid for cid, _ in store.dense_search(qv, 10, outlet)]
        assert [h.title for h in store.hits((i, 0.0) for i in ids)] == ["Rates decision"]
        lexical = [cid for cid, _ in store.lexical_search("central bank rates", 10, window)]
        assert {h.title for h in store.hits((i, 0.0) for i in lexical)} == {"Rates decision"}


def test_a_database_from_before_the_postings_table_is_filled_once(pg_url):
    """A database the previous revision wrote (chunks, no postings) gets its postings when a
    process that may write opens it: lexical search finds what it found before."""
    from retrieval.store.postgres import PostgresStore

    expect = manifest_for(FakeEmbedder(), PARAMS)
    store = PostgresStore.create(pg_url, expect)
    _ingest(store, ARTICLES)
    with store._transaction() as db:  # what the previous revision left
        db.execute("TRUNCATE chunk_terms")
        db.execute("DELETE FROM newsrag_meta WHERE key = 'lexical'")
    assert store.lexical_search("central bank interest rates", 3) == []
    store.close()
    store = PostgresStore.open(pg_url, expect)
    try:
        (top, _), *_ = store.lexical_search("central bank interest rates", 3)
        assert store.hits([(top, 1.0)])[0].title == "Rates decision"
    finally:
        store.close()


def test_postings_follow_their_chunks_on_replace_and_delete(pg_url):
    """PostgreSQL's BM25 reads a postings table beside the chunks: replacing or deleting an
    article leaves none of its old postings, and lexical search stops finding it."""
    from retrieval.store.postgres import PostgresStore

    store = PostgresStore.create(pg_url, manifest_for(FakeEmbedder(), PARAMS))
    orphans = (
        "SELECT count(*) FROM chunk_terms p WHERE NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.id = p.chunk_id)"
    )
    try:
        _ingest(store, ARTICLES)
        rates = next(
            s.article.id for s in store.list_articles()[0] if s.article.title == "Rates decision"
        )
        new_text = "2024-09-22\n\nRates decision\n\nThe harbour reopened on Monday."
        replaced = replace(parse_text(new_text), id=rates)
        Indexer(store, FakeEmbedder()).ingest_articles([replaced])
        assert store._db.execute(orphans).fetchone()[0] == 0
        assert store.lexical_search("central bank interest", 3) == []
        store.delete_article(rates)
        assert store._db.execute(orphans).fetchone()[0] == 0
        assert store.lexical_search("harbour reopened", 3) == []
    finally:
        store.close()

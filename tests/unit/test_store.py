from __future__ import annotations

import numpy as np
import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, manifest_for, open_or_create
from index.parse import parse_text
from retrieval.errors import (
    ArticleNotFoundError,
    IndexMismatchError,
    IndexNotFoundError,
    ReadOnlyError,
)
from retrieval.store.directory import IndexStore
from retrieval.store.manifest import Manifest
from tests.fakes import FakeEmbedder

ARTICLES = [
    "September, Friday 20, 2024\n\nBorder clash\n\nFour soldiers were killed at the border.",
    "2024-09-21\n\nHarvest festival\n\nFarmers celebrated a record apple harvest in the valley.",
    "2024-09-22\n\nRates decision\n\nThe central bank kept interest rates unchanged on Thursday.",
]


@pytest.fixture
def store(tmp_path):
    emb = FakeEmbedder()
    s = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    yield s
    s.close()


def _ingest(store, texts):
    return Indexer(store, FakeEmbedder()).ingest_articles(parse_text(t) for t in texts)


def test_reopen_uses_snapshot_and_rebuilds_when_missing(store, tmp_path):
    _ingest(store, ARTICLES)
    path = store.path
    store.close()
    snaps = list(path.glob("vectors.*.faiss"))
    assert len(snaps) == 1
    snaps[0].unlink()  # as if the process died before writing the snapshot
    reopened = IndexStore.open(path)
    assert (
        reopened.check_consistency()
        == {
            "rows": 3,
            "vectors": 3,
            "rows_without_vector": 0,
            "vectors_without_row": 0,
        }
        or reopened.check_consistency()["rows_without_vector"] == 0
    )
    assert list(path.glob("vectors.*.faiss"))
    reopened.close()


def test_an_articles_chunks_in_order(store):
    """Every chunk of one article, in its order (the evidence bench widens candidates to whole
    articles with it); none for an unknown or deleted article."""
    body = " ".join(f"Sentence number {i} of a long report on the harvest." for i in range(400))
    aid = _ingest(store, [f"2024-09-21\n\nLong report\n\n{body}", *ARTICLES]).added[0]
    ids = store.article_chunks(aid)
    assert len(ids) == store.get_article(aid).chunk_count > 1
    hits = store.hits((i, 0.0) for i in ids)
    assert {h.article_id for h in hits} == {aid}
    starts = [body.find(h.text[:60]) for h in hits]
    assert starts == sorted(starts) and starts[0] == 0
    assert store.article_chunks("no-such-article") == []
    store.delete_article(aid)
    assert store.article_chunks(aid) == []


def test_delete_removes_rows_and_vectors(store):
    report = _ingest(store, ARTICLES)
    victim = report.added[0]
    n = store.delete_article(victim)
    assert n >= 1
    with pytest.raises(ArticleNotFoundError):
        store.get_article(victim)
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] and c["rows_without_vector"] == c["vectors_without_row"] == 0
    q = FakeEmbedder().encode(["four soldiers killed border"])[0]
    assert all(h.article_id != victim for h in store.hits(store.dense_search(q, 10)))
    with pytest.raises(ArticleNotFoundError):
        store.delete_article(victim)


def test_open_missing_index_says_how_to_build(tmp_path):
    with pytest.raises(IndexNotFoundError, match="newsrag ingest"):
        IndexStore.open(tmp_path / "nothing")


def test_other_embedder_is_refused(store):
    other = Manifest(embedder="other-model", dimension=64, chunking={})
    with pytest.raises(IndexMismatchError, match=r"other-model.*Rebuild"):
        IndexStore.open(store.path, expect=other)
    same = manifest_for(FakeEmbedder(), ChunkingParams())
    IndexStore.open(store.path, expect=same).close()


def test_vector_count_mismatch_raises(store):
    art = parse_text(ARTICLES[0])
    from retrieval.types import ChunkSpan

    with pytest.raises(ValueError, match="vectors"):
        store.write_articles([(art, [ChunkSpan(0, 0, 3, "Fou")], np.zeros((2, 64), np.float32))])
    assert store.article_count() == 0  # the failed transaction left nothing behind


def test_store_switches_to_ivf_when_large(tmp_path, monkeypatch):
    monkeypatch.setattr(IndexStore, "ivf_min_vectors", 40)
    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "big", emb, ChunkingParams(max_tokens=16, overlap_tokens=0))
    texts = [
        f"2024-01-0{1 + i % 9}\n\nItem {i}\n\nWord{i} alpha{i % 7} beta{i % 5}. Gamma{i}."
        for i in range(60)
    ]
    report = Indexer(store, emb).ingest_articles(parse_text(t) for t in texts)
    assert len(report.added) == 60
    store.merge()  # (the service merges in the background once the delta is large)
    assert store.manifest.faiss_index == "IVF,Flat"
    assert Manifest.read(store.path / "manifest.json").faiss_index == "IVF,Flat"
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] and c["rows_without_vector"] == c["vectors_without_row"] == 0
    store.delete_article(report.added[0])
    assert store.check_consistency()["vectors_without_row"] == 0
    q = emb.encode(["Word7 alpha0 beta2 Gamma7"])[0]
    assert "Item 7" in {h.title for h in store.hits(store.dense_search(q, 3))}
    store.close()
    reopened = IndexStore.open(tmp_path / "big")
    assert reopened.check_consistency()["rows"] == reopened.check_consistency()["vectors"]


def test_readonly_replica_sees_the_writers_commits(store):
    _ingest(store, ARTICLES[:1])
    replica = IndexStore.open(store.path, readonly=True)
    assert replica.article_count() == 1
    _ingest(store, ARTICLES[1:])  # the writer commits while the replica serves
    q = FakeEmbedder().encode(["interest rates central bank"])[0]
    assert replica.refresh() is True
    assert replica.hits(replica.dense_search(q, 1))[0].title == "Rates decision"
    assert replica.refresh() is False
    with pytest.raises(ReadOnlyError):
        replica.delete_article("x")
    replica.close()


def test_hybrid_search_during_a_write_never_fails(store, monkeypatch):
    """BM25 (built from committed rows) can see a chunk before the new vector snapshot is
    published; the search must still answer (found by a real load test)."""
    from retrieval.find.search import Retriever

    _ingest(store, ARTICLES[:2])
    retriever = Retriever(store, FakeEmbedder())
    retriever.search("interest rates", 3)  # BM25 and vectors in step
    old_state = store.vector_state
    monkeypatch.setattr(store._vectors, "apply", lambda *a: None)  # rows committed, no vectors
    monkeypatch.setattr(store, "refresh", lambda: False)
    _ingest(store, ARTICLES[2:])
    assert store.vector_state is old_state
    hits = retriever.search("central bank interest rates unchanged", 3)
    assert hits[0].title == "Rates decision"  # found through BM25 + its stored vector


def test_readers_never_see_an_open_write_transaction(store, monkeypatch):
    """A search during a write sees the index before it, never rows not yet committed."""
    import threading

    inside = threading.Event()
    release = threading.Event()
    original = IndexStore._bump_generation

    def paused(db):
        original(db)
        inside.set()  # the article rows are written, the transaction is still open
        assert release.wait(10)

    monkeypatch.setattr(IndexStore, "_bump_generation", staticmethod(paused))
    writer = threading.Thread(target=_ingest, args=(store, ARTICLES[:1]))
    writer.start()
    assert inside.wait(10)
    seen: list[int] = []
    reader = threading.Thread(target=lambda: seen.append(store.article_count()))
    reader.start()
    reader.join(10)
    release.set()
    writer.join(10)
    assert seen == [0]
    assert store.article_count() == 1


def test_undated_or_future_dated_articles_never_gain_from_recency(tmp_path):
    """An index of many short undated articles must not bury a strongly relevant dated one."""
    from datetime import date

    from retrieval.find.search import Retriever, SearchConfig, recency_factor

    cfg = SearchConfig()
    today = date(2026, 11, 28)
    assert recency_factor(None, today, cfg) == recency_factor(date(2001, 1, 1), today, cfg)
    assert recency_factor(date(2027, 1, 1), today, cfg) == 1 - cfg.recency_weight
    assert recency_factor(today, today, cfg) == 1.0
    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    spam = [f"Note {i}\n\nSoldiers {'border ' * (i % 3)}item {i} was listed." for i in range(20)]
    future = "2031-01-01\n\nFuture\n\nSoldiers were killed at the border, says a future note."
    Indexer(store, emb).ingest_articles(parse_text(t) for t in [ARTICLES[0], *spam, future])
    hits = Retriever(store, emb, cfg).search("Four soldiers were killed at the border", 3)
    assert hits[0].title == "Border clash"
    store.close()


def test_indexes_without_a_full_text_table_get_one(tmp_path):
    import sqlite3

    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    db = sqlite3.connect(tmp_path / "idx" / "store.sqlite")
    with db:
        db.execute("DROP TABLE chunks_fts")
        db.execute("DELETE FROM meta WHERE key = 'fts'")
    db.close()
    store = IndexStore.open(tmp_path / "idx")
    assert store.lexical_search("apple harvest valley", 3)
    store.close()


def _texts(n: int, start: int = 0) -> list[str]:
    return [
        f"2024-02-0{1 + i % 9}\n\nItem {i}\n\nWord{i} alpha{i % 7} beta{i % 5}. Gamma{i}."
        for i in range(start, start + n)
    ]


def test_a_write_costs_what_it_writes(store):
    """A write adds to the delta: the base snapshot on disk is not rewritten, the base index
    is the same object, and everything stays consistent and searchable."""
    _ingest(store, _texts(20))
    store.merge()
    base = store.vector_state.base
    snaps = {p.name: p.stat().st_mtime_ns for p in store.path.glob("vectors.*.faiss")}
    report = _ingest(store, _texts(3, start=100))
    assert store.vector_state.base is base and store.vector_state.delta.ntotal >= 3
    assert {p.name: p.stat().st_mtime_ns for p in store.path.glob("vectors.*.faiss")} == snaps
    store.delete_article(report.added[0])
    store.delete_article(_ingest(store, _texts(1, start=200)).added[0])
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] == c["full_text_entries"]
    assert c["rows_without_vector"] == c["vectors_without_row"] == 0
    q = FakeEmbedder().encode(["Word101 alpha3 beta1 Gamma101"])[0]
    assert store.hits(store.dense_search(q, 1))[0].title == "Item 101"
    deleted = FakeEmbedder().encode(["Word100 alpha2 beta0 Gamma100"])[0]
    assert "Item 100" not in {h.title for h in store.hits(store.dense_search(deleted, 5))}


def test_background_merge_folds_the_delta_and_deletions(store, monkeypatch):
    import retrieval.store.vectors as vectors

    monkeypatch.setattr(vectors, "MERGE_MIN_DELTA", 10)
    report = _ingest(store, _texts(25))
    store.delete_article(report.added[0])
    if store._merging is not None:
        store._merging.join()
    st = store.vector_state
    assert st.snapshot and st.base.ntotal >= 10 and st.delta.ntotal < 10
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] and c["rows_without_vector"] == c["vectors_without_row"] == 0


def test_reopening_rebuilds_the_delta_from_the_rows(tmp_path):
    """No merge before a crash: the delta and the deletions come back from the rows."""
    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=16, overlap_tokens=0))
    _ingest(store, _texts(10))
    store.merge()
    report = _ingest(store, _texts(5, start=50))
    store.delete_article(report.added[0])
    first = sorted(a.article.id for a in store.list_articles(100)[0])[0]
    store.delete_article(first)  # a vector of the base
    store._write_db.close()  # (as a crash would leave it: no merge, no snapshot)
    reopened = IndexStore.open(tmp_path / "idx")
    st = reopened.vector_state
    assert st.delta.ntotal == 4 and len(st.deleted) >= 1
    c = reopened.check_consistency()
    assert c["rows"] == c["vectors"] == 13
    assert c["rows_without_vector"] == c["vectors_without_row"] == 0
    reopened.close()


def test_replica_refresh_reads_only_what_changed(store):
    _ingest(store, _texts(10))
    store.merge()
    replica = IndexStore.open(store.path, readonly=True)
    base = replica.vector_state.base
    report = _ingest(store, _texts(3, start=30))
    store.delete_article(report.added[1])
    assert replica.refresh() is True
    assert replica.vector_state.base is base  # no reload of the base
    c = replica.check_consistency()
    assert c["rows"] == c["vectors"] == 12 and c["vectors_without_row"] == 0
    store.merge()  # the writer publishes a new base: the replica loads it at its next refresh
    _ingest(store, _texts(1, start=40))
    assert replica.refresh() is True
    assert replica.vector_state.snapshot == store.vector_state.snapshot
    assert replica.check_consistency()["vectors_without_row"] == 0
    replica.close()

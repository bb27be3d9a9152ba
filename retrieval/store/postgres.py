"""The index in PostgreSQL + pgvector: the `Store` contract (store/base.py) on an existing
database engine, for deployments past one host — several serving processes and several ingest
workers on any machines, read replicas as plain streaming standbys.

One database holds what the index directory holds: articles (a unique body-text hash makes
dedup a constraint, not a race), chunks with their vectors (`vector(d)`, an HNSW index for
inner product), the postings of their terms (term, chunk, term frequency, chunk length, from
a `tsvector` of "title\\ntext") and the manifest (refusing a database built with another
embedder, as a directory does). Lexical ranking is BM25 computed in SQL from the postings of
the query's terms (one index-only scan) and a term-statistics table kept in the writing
transaction — Postgres' own `ts_rank` has no corpus-wide IDF — with the same cap on very
common words the directory's FTS5 search uses. A write is one transaction: a killed worker
leaves no partial article. Writers lock the ids and text hashes they write (advisory locks,
taken in one sorted order, so two writers never deadlock) before looking them up, so the same
article sent to two workers at once is stored once. A process connected to a standby
(`pg_is_in_recovery()`) serves reads and refuses writes with the read-only error the
directory's replicas give.
"""

from __future__ import annotations

import json
import logging
import math
import os
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from datetime import date
from typing import Any

import numpy as np

from retrieval.errors import (
    ArticleNotFoundError,
    ReadOnlyError,
)
from retrieval.store.base import WriteResult
from retrieval.store.lexical import MAX_POSTINGS, MAX_TERMS
from retrieval.store.manifest import Manifest
from retrieval.store.pg_schema import (
    ARTICLE_COLUMNS,
    SEARCH_INDEX_NAMES,
    SEARCH_INDEXES,
    TS_CONFIG,
    apply_stats,
    chunk_stats,
    connect,
    delete_postings,
    ensure_schema,
    filter_sql,
    insert_article,
    insert_postings,
    lexical_current,
    read_manifest,
    stored_article,
)
from retrieval.store.schema import StoredArticle
from retrieval.types import Article, ChunkSpan, DuplicateText, Hit, SearchFilter

logger = logging.getLogger(__name__)

# BM25 as SQLite's FTS5 computes it (k1, b, and an IDF floor for words in most chunks).
K1, B, MIN_IDF = 1.2, 0.75, 1e-6


class PostgresStore:
    """The `Store` contract on PostgreSQL + pgvector. Thread-safe: every thread reads through
    its own autocommit connection; writes go through one connection under a lock (other
    processes write concurrently through their own)."""

    def __init__(self, url: str, manifest: Manifest, readonly: bool = False) -> None:
        self.url = url
        self.manifest = manifest
        self._local = threading.local()
        self._conns: list[Any] = []
        self._conns_lock = threading.Lock()
        self._write_lock = threading.RLock()
        self.readonly = readonly or self._in_recovery()
        self._writer: Any = None
        if not self.readonly:
            self._upgrade()

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, url: str, manifest: Manifest) -> PostgresStore:
        """The index in this database, creating its tables and manifest when it has none."""
        conn = connect(url, register=False)
        try:
            with conn.transaction():
                ensure_schema(conn, manifest.dimension)
                conn.execute(
                    "INSERT INTO newsrag_meta VALUES ('manifest', %s) ON CONFLICT DO NOTHING",
                    (json.dumps(asdict(manifest), sort_keys=True),),
                )
        finally:
            conn.close()
        return cls.open(url, expect=manifest)

    @classmethod
    def open(
        cls, url: str, expect: Manifest | None = None, readonly: bool = False
    ) -> PostgresStore:
        return cls(url, read_manifest(url, expect), readonly=readonly)

    def _upgrade(self) -> None:
        """Bring a database an earlier revision wrote to this one's layout (once; one process
        at a time): missing tables and indexes, the postings of its chunks."""
        if lexical_current(self._db):  # (the common case: one read, no write transaction)
            return
        with self._transaction() as db:
            ensure_schema(db, self.manifest.dimension)

    def _in_recovery(self) -> bool:
        return bool(self._db.execute("SELECT pg_is_in_recovery()").fetchone()[0])

    @property
    def _db(self) -> Any:
        """This thread's reading connection (autocommit: every statement sees the last
        committed writes of every process)."""
        conn = getattr(self._local, "conn", None)
        if conn is None or conn.closed or conn.broken:  # (a server restart: connect again)
            conn = connect(self.url)
            # Filtered searches scan the HNSW index on until enough rows match (no effect
            # without a filter), set once per connection rather than per query. Relaxed order
            # (re-sorted in dense_search) finds more true neighbours than strict order, faster.
            conn.execute("SET hnsw.iterative_scan = relaxed_order")
            self._local.conn = conn
            with self._conns_lock:
                self._conns.append(conn)
        return conn

    def close(self) -> None:
        with self._conns_lock:
            for conn in self._conns:
                conn.close()
            self._conns.clear()
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        self._local = threading.local()

    def refresh(self) -> bool:
        """Nothing to catch up: every read sees what other processes have committed."""
        return False

    # -- writing -------------------------------------------------------------------------------
    @contextmanager
    def bulk_load(self) -> Iterator[None]:
        """Load many articles into a database nobody searches yet, faster: the vector and
        full-text indexes are dropped and built once at the end, with several workers —
        pgvector's own advice ("create the index after loading your initial data"). Searches
        during the load scan whole tables, so not for a database in service."""
        self.check_writable()
        with self._transaction() as db:
            for name in SEARCH_INDEX_NAMES:
                db.execute(f"DROP INDEX IF EXISTS {name}")
        try:
            yield
        finally:
            self.build_search_indexes()

    def build_search_indexes(self) -> None:
        """Build the missing search indexes in one pass each. HNSW builds many times faster
        while its graph fits in `maintenance_work_mem` (pgvector), so this session asks for
        what the vectors need (up to a quarter of the machine's memory)."""
        need = self.chunk_count() * (4 * int(self.manifest.dimension) + 256)
        ram = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
        mem_mb = max(256, min(2 * need, ram // 4) // 2**20)
        with self._write_lock:
            conn = connect(self.url, register=False)
            try:
                conn.execute(f"SET maintenance_work_mem = '{int(mem_mb)}MB'")
                workers = max(1, (os.cpu_count() or 2) - 1)
                conn.execute(f"SET max_parallel_maintenance_workers = {workers}")
                conn.execute(SEARCH_INDEXES)
                conn.execute("VACUUM ANALYZE chunk_terms")  # index-only scans from now on
                conn.execute("ANALYZE chunks")
            finally:
                conn.close()

    def check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(
                "this index is served read-only (a standby of the database): send writes to "
                "a process connected to the primary"
            )

    def find_content(self, content_hash: str) -> str | None:
        row = self._db.execute(
            "SELECT id FROM articles WHERE content_hash = %s", (content_hash,)
        ).fetchone()
        return str(row[0]) if row else None

    @contextmanager
    def _transaction(self) -> Iterator[Any]:
        with self._write_lock:
            if self._writer is None or self._writer.closed or self._writer.broken:
                self._writer = connect(self.url, autocommit=False)
            with self._writer.transaction():
                yield self._writer

    def write_articles(
        self,
        items: Sequence[tuple[Article, Sequence[ChunkSpan], np.ndarray]],
        on_duplicate_text: DuplicateText = DuplicateText.SKIP,
    ) -> WriteResult:
        """Add or replace articles with their chunks and vectors in one transaction (the
        directory's semantics: an existing id with new text is replaced, stored text under
        another id is a duplicate, skipped or — REFUSE — refused)."""
        self.check_writable()
        for article, spans, vecs in items:
            if len(spans) != len(vecs):
                raise ValueError(f"{article.id}: {len(spans)} chunks, {len(vecs)} vectors")
        result = WriteResult()
        with self._transaction() as db:
            # The ids and texts written, locked in one order by every writer (no deadlock).
            for key in sorted({k for a, _, _ in items for k in _lock_keys(a)}):
                db.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (key,))
            df: Counter[str] = Counter()
            chunks = terms = 0
            for article, spans, vecs in items:
                digest = article.content_hash
                same = db.execute(
                    "SELECT id FROM articles WHERE content_hash = %s", (digest,)
                ).fetchone()
                if result.skips_duplicate(same and same[0], article, on_duplicate_text):
                    continue
                removed = self._remove(db, article.id, df)
                if removed is not None:
                    chunks -= removed[0]
                    terms -= removed[1]
                    result.updated.append(article.id)
                else:
                    result.added.append(article.id)
                insert_article(db, article, digest)
                for span, vec in zip(spans, vecs, strict=True):
                    db.execute(
                        "INSERT INTO chunks (article_id, ord, start_at, end_at, text, embedding, "
                        "tsv, n_terms) SELECT %s, %s, %s, %s, %s, %s, v.tsv, "
                        "(SELECT coalesce(sum(coalesce(array_length(u.positions, 1), 1)), 0) "
                        "FROM unnest(v.tsv) u) "
                        f"FROM (SELECT to_tsvector('{TS_CONFIG}', %s) AS tsv) v",
                        (
                            article.id,
                            span.ord,
                            span.start,
                            span.end,
                            span.text,
                            np.asarray(vec, dtype=np.float32),
                            f"{article.title}\n{span.text}",
                        ),
                    )
                insert_postings(db, article.id)
                added = chunk_stats(db, article.id)
                df.update(added[2])
                chunks += added[0]
                terms += added[1]
            apply_stats(db, df, chunks, terms)
        return result

    @staticmethod
    def _remove(db: Any, article_id: str, df: Counter[str]) -> tuple[int, int] | None:
        """Delete an article (its chunks cascade), taking its chunks out of the term
        statistics; (chunks, terms) removed, or None when there was no such article."""
        if db.execute("SELECT 1 FROM articles WHERE id = %s", (article_id,)).fetchone() is None:
            return None
        n, total, lexemes = chunk_stats(db, article_id)
        df.subtract(lexemes)
        delete_postings(db, article_id)
        db.execute("DELETE FROM articles WHERE id = %s", (article_id,))
        return n, total

    def delete_article(self, article_id: str) -> int:
        self.check_writable()
        with self._transaction() as db:
            db.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", (f"id:{article_id}",)
            )
            df: Counter[str] = Counter()
            removed = self._remove(db, article_id, df)
            if removed is None:
                raise ArticleNotFoundError(f"no article with id {article_id!r}")
            apply_stats(db, df, -removed[0], -removed[1])
            return removed[0]

    # -- reading -------------------------------------------------------------------------------
    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT chunks FROM corpus_stats").fetchone()[0])

    def article_count(self) -> int:
        return int(self._db.execute("SELECT count(*) FROM articles").fetchone()[0])

    def dense_search(
        self, query: np.ndarray, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, inner product) from the HNSW index (its candidate list widened
        to `k` when k is larger than pgvector's default 40). With filters, the index is scanned
        on until `k` matching chunks are found (pgvector's iterative scan, relaxed order: the
        matches are sorted afterwards)."""
        if k <= 0:
            return []
        db = self._db
        db.execute(f"SET hnsw.ef_search = {max(40, min(int(k), 1000))}")
        where, args = filter_sql(filters)
        vec = np.asarray(query, dtype=np.float32)
        join = "JOIN articles a ON a.id = c.article_id " if where else ""
        rows = db.execute(
            f"WITH r AS MATERIALIZED (SELECT c.id, c.embedding <#> %s AS d FROM chunks c {join}"
            f"WHERE TRUE{where} ORDER BY c.embedding <#> %s LIMIT %s) "
            "SELECT id, -d FROM r ORDER BY d, id",
            (vec, *args, vec, k),
        )
        return [(int(cid), float(s)) for cid, s in rows]

    def lexical_search(
        self, query: str, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25) over the chunks' lexemes; the query's most common words are
        dropped when together they match more than `MAX_POSTINGS` chunks (as the directory's
        FTS5 search does)."""
        if k <= 0:
            return []
        db = self._db
        lexemes = [
            r[0]
            for r in db.execute(
                f"SELECT lexeme FROM unnest(to_tsvector('{TS_CONFIG}', %s)) ORDER BY lexeme",
                (query[:10_000],),
            )
        ][:MAX_TERMS]
        if not lexemes:
            return []
        df = dict(
            db.execute(
                "SELECT term, df FROM term_stats WHERE term = ANY(%s) AND df > 0", (lexemes,)
            ).fetchall()
        )
        n_chunks, n_terms = db.execute("SELECT chunks, terms FROM corpus_stats").fetchone()
        if not df or not n_chunks:
            return []
        kept: list[str] = []
        postings = 0
        for term in sorted(df, key=lambda t: (df[t], t)):
            postings += df[term]
            if kept and postings > MAX_POSTINGS:
                break
            kept.append(term)
        idf = [max(MIN_IDF, math.log((n_chunks - df[t] + 0.5) / (df[t] + 0.5))) for t in kept]
        avgdl = max(n_terms / n_chunks, 1e-9)
        where, args = filter_sql(filters)
        scored = (
            "WITH q(term, idf) AS (SELECT * FROM unnest(%s::text[], %s::float8[])), "
            "s AS (SELECT p.chunk_id AS id, "
            "sum(q.idf * (p.tf * %s) / (p.tf + %s * (1 - %s + %s * p.dl / %s))) AS s "
            "FROM q JOIN chunk_terms p ON p.term = q.term GROUP BY p.chunk_id) "
        )
        if where:
            scored += (
                "SELECT s.id, s.s FROM s JOIN chunks c ON c.id = s.id "
                f"JOIN articles a ON a.id = c.article_id WHERE TRUE{where} "
            )
        else:
            scored += "SELECT s.id, s.s FROM s "
        rows = db.execute(
            scored + "ORDER BY s.s DESC, s.id LIMIT %s",
            (kept, idf, K1 + 1, K1, B, B, avgdl, *args, k),
        )
        return [(int(cid), float(s)) for cid, s in rows]

    def vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        if not chunk_ids:
            return {}
        rows = self._db.execute(  # (binary: parsing vectors as text cost more than the query)
            "SELECT id, embedding FROM chunks WHERE id = ANY(%s)", (list(chunk_ids),), binary=True
        )
        return {int(cid): np.asarray(v.to_numpy(), dtype=np.float32) for cid, v in rows}

    def hits(self, scored: Iterable[tuple[int, float]]) -> list[Hit]:
        scored = list(scored)
        if not scored:
            return []
        rows = {
            r[0]: r
            for r in self._db.execute(
                "SELECT c.id, c.article_id, c.text, a.title, a.published, a.url, a.source "
                "FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id = ANY(%s)",
                ([cid for cid, _ in scored],),
            )
        }
        return [
            Hit(
                chunk_id=cid,
                article_id=rows[cid][1],
                title=rows[cid][3],
                published=rows[cid][4],
                url=rows[cid][5],
                source=rows[cid][6],
                text=rows[cid][2],
                score=score,
            )
            for cid, score in scored
            if cid in rows
        ]

    def get_article(self, article_id: str) -> StoredArticle:
        row = self._db.execute(
            f"SELECT {ARTICLE_COLUMNS}, a.content_hash, a.added_at, "
            "(SELECT count(*) FROM chunks c WHERE c.article_id = a.id) "
            "FROM articles a WHERE a.id = %s",
            (article_id,),
        ).fetchone()
        if row is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        return stored_article(row)

    def list_articles(
        self,
        limit: int = 50,
        offset: int = 0,
        published_from: date | None = None,
        published_to: date | None = None,
        source: str | None = None,
        outlets: Sequence[str] = (),
    ) -> tuple[list[StoredArticle], int]:
        where: list[str] = ["TRUE"]
        args: list[Any] = []
        if published_from:
            where.append("a.published >= %s")
            args.append(published_from)
        if published_to:
            where.append("a.published <= %s")
            args.append(published_to)
        if source:
            where.append("a.source = %s")
            args.append(source)
        # outlets as a search's filter matches them
        in_outlets, outlet_args = filter_sql(SearchFilter(sources=tuple(outlets)))
        cond = " AND ".join(where) + in_outlets
        args += outlet_args
        db = self._db
        total = db.execute(f"SELECT count(*) FROM articles a WHERE {cond}", args).fetchone()[0]
        rows = db.execute(
            f"SELECT {ARTICLE_COLUMNS}, a.content_hash, a.added_at, "
            "(SELECT count(*) FROM chunks c WHERE c.article_id = a.id) "
            f"FROM articles a WHERE {cond} "
            "ORDER BY a.published IS NULL, a.published DESC, a.added_at DESC, a.id "
            "LIMIT %s OFFSET %s",
            [*args, limit, offset],
        )
        return [stored_article(r) for r in rows], int(total)


def _lock_keys(a: Article) -> tuple[str, str]:
    """What a writer of this article locks: its id and its text."""
    return f"id:{a.id}", f"text:{a.content_hash}"

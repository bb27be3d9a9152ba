"""The PostgreSQL side of an index (retrieval/store/postgres.py): its tables, connecting and
the manifest check, rows <-> articles, the term statistics BM25 reads, and databases made for
evaluations."""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from retrieval.errors import IndexNotFoundError
from retrieval.store.manifest import Manifest, checked
from retrieval.store.schema import StoredArticle
from retrieval.types import Article, SearchFilter

TS_CONFIG = "english"  # Snowball stemming and English stop words, as FTS5's porter tokenizer


SCHEMA_LOCK = 7_331_001  # advisory lock key: one process creates the tables at a time


# The search indexes: a bulk load builds them once at its end (`PostgresStore.bulk_load`).
# BM25 reads the postings of the query's terms from `chunk_terms_term` alone (an index-only
# scan: term, chunk, term frequency, chunk length), never a chunk's whole tsvector.
SEARCH_INDEXES = """\
CREATE UNIQUE INDEX IF NOT EXISTS chunk_terms_term ON chunk_terms (term, chunk_id) INCLUDE (tf, dl);
CREATE INDEX IF NOT EXISTS chunks_embedding ON chunks USING hnsw (embedding vector_ip_ops);"""
SEARCH_INDEX_NAMES = tuple(re.findall(r"IF NOT EXISTS (\w+)", SEARCH_INDEXES))
LEXICAL_VERSION = "postings-1"  # newsrag_meta 'lexical': the postings table is filled
# Every chunk's postings (term, chunk, term frequency, chunk length), from its tsvector.
_POSTINGS = (
    "SELECT u.lexeme, c.id, coalesce(array_length(u.positions, 1), 1), c.n_terms "
    "FROM chunks c, unnest(c.tsv) u"
)


SCHEMA = """
CREATE EXTENSION IF NOT EXISTS vector;
CREATE TABLE IF NOT EXISTS newsrag_meta (key text PRIMARY KEY, value text NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id text PRIMARY KEY,
    title text NOT NULL,
    published date,
    image text,
    source text,
    url text,
    path text,
    author text,
    body text NOT NULL,
    added_at double precision NOT NULL,
    content_hash text NOT NULL UNIQUE
);
CREATE INDEX IF NOT EXISTS articles_published ON articles (published);
CREATE INDEX IF NOT EXISTS articles_source ON articles (source);
CREATE TABLE IF NOT EXISTS chunks (
    id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    article_id text NOT NULL REFERENCES articles (id) ON DELETE CASCADE,
    ord integer NOT NULL,
    start_at integer NOT NULL,
    end_at integer NOT NULL,
    text text NOT NULL,
    embedding vector({dim}) NOT NULL,
    tsv tsvector NOT NULL,
    n_terms integer NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks (article_id);
CREATE TABLE IF NOT EXISTS chunk_terms (
    term text NOT NULL,
    chunk_id bigint NOT NULL,
    tf integer NOT NULL,
    dl integer NOT NULL
);
{search_indexes}
CREATE TABLE IF NOT EXISTS term_stats (term text PRIMARY KEY, df bigint NOT NULL);
CREATE TABLE IF NOT EXISTS corpus_stats (
    id integer PRIMARY KEY CHECK (id = 1),
    chunks bigint NOT NULL,
    terms bigint NOT NULL
);
INSERT INTO corpus_stats VALUES (1, 0, 0) ON CONFLICT DO NOTHING;
"""


ARTICLE_COLUMNS = "a.id, a.title, a.published, a.image, a.source, a.url, a.path, a.author, a.body"


def redacted(url: str) -> str:
    """A connection URL fit for a message: no password."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.hostname or ""
    netloc = f"{parts.username}:***@{host}" + (f":{parts.port}" if parts.port else "")
    return urlunsplit(parts._replace(netloc=netloc))


def is_store_url(value: str | None) -> bool:
    return bool(value) and str(value).startswith(("postgresql://", "postgres://"))


def connect(url: str, autocommit: bool = True, register: bool = True) -> Any:
    try:
        import psycopg
    except ImportError as exc:  # pragma: no cover - the extra is part of the dev install
        raise IndexNotFoundError(
            "NEWSRAG_STORE_URL names PostgreSQL, but psycopg is not installed: "
            'pip install "newsrag[postgres]"'
        ) from exc
    try:
        conn = psycopg.connect(url, autocommit=autocommit, connect_timeout=10)
    except psycopg.OperationalError as exc:
        raise IndexNotFoundError(
            f"cannot connect to the index database {redacted(url)}: {str(exc).strip()}"
        ) from exc
    if register:
        from pgvector.psycopg import register_vector

        register_vector(conn)
    return conn


def read_manifest(url: str, expect: Manifest | None = None) -> Manifest:
    """The database's manifest, refusing a database with no index or one built with another
    embedder (the directory's messages)."""
    conn = connect(url, register=False)
    try:
        exists = conn.execute("SELECT to_regclass('newsrag_meta') IS NOT NULL").fetchone()[0]
        row = (
            conn.execute("SELECT value FROM newsrag_meta WHERE key = 'manifest'").fetchone()
            if exists
            else None
        )
    finally:
        conn.close()
    where = redacted(url)
    if row is None:
        raise IndexNotFoundError(
            f"no index in the database {where}. Build one with: newsrag ingest seeds/"
        )
    rebuild = "Rebuild it: use another database and run `newsrag ingest <your articles>`."
    return checked(Manifest.from_json(row[0]), expect, f"index in {where}", rebuild)


def index_in_database(url: str) -> bool:
    try:
        read_manifest(url)
    except IndexNotFoundError:
        return False
    return True


def insert_article(db: Any, a: Article, digest: str) -> None:
    db.execute(
        "INSERT INTO articles (id, title, published, image, source, url, path, author, body, "
        "added_at, content_hash) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)",
        (
            a.id,
            a.title,
            a.published,
            a.image,
            a.source,
            a.url,
            a.path,
            a.author,
            a.body,
            time.time(),
            digest,
        ),
    )


def insert_postings(db: Any, article_id: str) -> None:
    """The postings of an article's chunks (written in the same transaction as the chunks)."""
    db.execute(
        f"INSERT INTO chunk_terms (term, chunk_id, tf, dl) {_POSTINGS} WHERE c.article_id = %s",
        (article_id,),
    )


def delete_postings(db: Any, article_id: str) -> None:
    db.execute(
        f"DELETE FROM chunk_terms p USING ({_POSTINGS} WHERE c.article_id = %s) "
        "AS d(term, chunk_id, tf, dl) WHERE p.term = d.term AND p.chunk_id = d.chunk_id",
        (article_id,),
    )


def lexical_current(db: Any) -> bool:
    """Whether the database's postings are this revision's (nothing to fill)."""
    row = db.execute("SELECT value FROM newsrag_meta WHERE key = 'lexical'").fetchone()
    return row is not None and row[0] == LEXICAL_VERSION


def ensure_schema(db: Any, dimension: int) -> None:
    """In a writing transaction, one process at a time: the tables and indexes this revision
    needs, and — for a database written before the postings table existed — its postings,
    filled once from the chunks (the GIN index that searched them before is dropped)."""
    db.execute("SELECT pg_advisory_xact_lock(%s)", (SCHEMA_LOCK,))
    db.execute(SCHEMA.format(dim=int(dimension), search_indexes=SEARCH_INDEXES))
    if lexical_current(db):
        return
    db.execute("TRUNCATE chunk_terms")
    db.execute(f"INSERT INTO chunk_terms (term, chunk_id, tf, dl) {_POSTINGS}")
    db.execute("DROP INDEX IF EXISTS chunks_tsv")
    db.execute(
        "INSERT INTO newsrag_meta VALUES ('lexical', %s) ON CONFLICT (key) DO UPDATE "
        "SET value = excluded.value",
        (LEXICAL_VERSION,),
    )


def chunk_stats(db: Any, article_id: str) -> tuple[int, int, Counter[str]]:
    """An article's chunk count, total terms, and in how many of its chunks each lexeme is."""
    n, total = db.execute(
        "SELECT count(*), coalesce(sum(n_terms), 0) FROM chunks WHERE article_id = %s",
        (article_id,),
    ).fetchone()
    rows = db.execute(
        "SELECT u.lexeme, count(*) FROM chunks c, unnest(c.tsv) u WHERE c.article_id = %s "
        "GROUP BY u.lexeme",
        (article_id,),
    )
    return int(n), int(total), Counter({t: int(c) for t, c in rows})


def apply_stats(db: Any, df: Counter[str], chunks: int, terms: int) -> None:
    """Fold a write's changes into the term and corpus statistics, in term order (two
    writers lock shared terms in the same order: neither waits for the other in a cycle)."""
    changed = sorted((t, d) for t, d in df.items() if d)
    if changed:
        db.execute(
            "INSERT INTO term_stats (term, df) SELECT t, d FROM unnest(%s::text[], %s::bigint[]) "
            "AS x(t, d) ORDER BY t ON CONFLICT (term) DO UPDATE SET df = term_stats.df + "
            "excluded.df",
            ([t for t, _ in changed], [d for _, d in changed]),
        )
        db.execute(
            "DELETE FROM term_stats WHERE term = ANY(%s) AND df <= 0",
            ([t for t, d in changed if d < 0],),
        )
    if chunks or terms:
        db.execute(
            "UPDATE corpus_stats SET chunks = chunks + %s, terms = terms + %s", (chunks, terms)
        )


def stored_article(r: Sequence[Any]) -> StoredArticle:
    art = Article(
        id=r[0],
        title=r[1],
        published=r[2],
        image=r[3],
        source=r[4],
        url=r[5],
        path=r[6],
        author=r[7],
        body=r[8],
        content_hash=r[9] or "",
    )
    return StoredArticle(article=art, chunk_count=int(r[11]), added_at=float(r[10]))


def database_url(url: str, name: str) -> str:
    """The URL of database `name` on the server `url` points at."""
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def create_database(url: str, name: str, replace: bool = False) -> str:
    """Create database `name` on `url`'s server (dropping it first with `replace`); its URL.
    For evaluations that keep one index per week, as the directory keeps one folder."""
    if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
        raise ValueError(f"{name!r} is not a plain database name")
    conn = connect(url, register=False)
    try:
        if replace:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
        if not exists:
            conn.execute(f"CREATE DATABASE {name}")
    finally:
        conn.close()
    return database_url(url, name)


def rename_database(url: str, old: str, new: str) -> str:
    for name in (old, new):
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", name):
            raise ValueError(f"{name!r} is not a plain database name")
    conn = connect(url, register=False)
    try:
        conn.execute(f"DROP DATABASE IF EXISTS {new} WITH (FORCE)")
        conn.execute(f"ALTER DATABASE {old} RENAME TO {new}")
    finally:
        conn.close()
    return database_url(url, new)


def filter_sql(filters: SearchFilter | None) -> tuple[str, list[Any]]:
    """`SearchFilter.accepts` as SQL over the articles table `a`: " AND …" and its arguments
    ("" when nothing is filtered)."""
    if filters is None or not filters.active:
        return "", []
    where: list[str] = []
    args: list[Any] = []
    if filters.sources:
        where.append("lower(trim(coalesce(a.source, ''))) = ANY(%s)")
        args.append(list(filters.sources))
    if filters.dated:
        bounds = ["TRUE"]
        if filters.published_from:
            bounds.append("a.published >= %s")
            args.append(filters.published_from)
        if filters.published_to:
            bounds.append("a.published <= %s")
            args.append(filters.published_to)
        undated = "TRUE" if filters.include_undated else "FALSE"
        where.append(f"(({' AND '.join(bounds)}) OR (a.published IS NULL AND {undated}))")
    return "".join(f" AND {w}" for w in where), args

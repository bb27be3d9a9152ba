"""The SQLite side of an index: its tables, their migrations, and rows <-> articles."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np

from retrieval.store.lexical import migrate_fts
from retrieval.types import Article, ChunkSpan, Hit, outlet_key, text_hash

TEXT_HASH_VERSION = "body-v2"  # dedup key: text_hash(body)

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    published TEXT,
    image TEXT,
    source TEXT,
    url TEXT,
    path TEXT,
    author TEXT,
    body TEXT NOT NULL,
    added_at REAL NOT NULL,
    content_hash TEXT
);
CREATE INDEX IF NOT EXISTS articles_published ON articles(published);
CREATE INDEX IF NOT EXISTS articles_url ON articles(url);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id) ON DELETE CASCADE,
    ord INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    embedding BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS deleted_chunks (id INTEGER PRIMARY KEY, generation INTEGER NOT NULL);
"""


def parse_date(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None


@dataclass(frozen=True)
class StoredArticle:
    article: Article
    chunk_count: int
    added_at: float


def migrate(db: sqlite3.Connection) -> None:
    """Bring an index written by an older newsrag up to this schema (idempotent, cheap)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
    if "author" not in cols:
        db.execute("ALTER TABLE articles ADD COLUMN author TEXT")
    db.execute(
        "CREATE TABLE IF NOT EXISTS deleted_chunks "
        "(id INTEGER PRIMARY KEY, generation INTEGER NOT NULL)"
    )
    migrate_text_hashes(db)
    migrate_fts(db)


def migrate_text_hashes(db: sqlite3.Connection) -> None:
    """Indexes written before dedup ignored titles hashed title + text (or kept no hash):
    rehash every article's body once. Of articles that already share a text, the oldest
    keeps the hash (the others stay, unhashed, until deleted)."""
    cols = {r[1] for r in db.execute("PRAGMA table_info(articles)")}
    row = db.execute("SELECT value FROM meta WHERE key = 'text_hash'").fetchone()
    if "content_hash" in cols and row and row[0] == TEXT_HASH_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        if "content_hash" not in cols:
            db.execute("ALTER TABLE articles ADD COLUMN content_hash TEXT")
        db.execute("DROP INDEX IF EXISTS articles_hash")
        seen: set[str] = set()
        rows = db.execute("SELECT id, body FROM articles ORDER BY added_at, id").fetchall()
        for article_id, body in rows:
            digest = text_hash(body)
            db.execute(
                "UPDATE articles SET content_hash = ? WHERE id = ?",
                (None if digest in seen else digest, article_id),
            )
            seen.add(digest)
        db.execute("CREATE UNIQUE INDEX articles_hash ON articles(content_hash)")
        db.execute("INSERT OR REPLACE INTO meta VALUES ('text_hash', ?)", (TEXT_HASH_VERSION,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def insert_article(db: sqlite3.Connection, a: Article, digest: str) -> None:
    db.execute(
        "INSERT INTO articles (id, title, published, image, source, url, path, body, added_at,"
        " content_hash, author) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            a.id,
            a.title,
            a.published.isoformat() if a.published else None,
            a.image,
            a.source,
            a.url,
            a.path,
            a.body,
            time.time(),
            digest,
            a.author,
        ),
    )


def stored_article(r: sqlite3.Row) -> StoredArticle:
    art = Article(
        id=r["id"],
        title=r["title"],
        body=r["body"],
        published=parse_date(r["published"]),
        image=r["image"],
        source=r["source"],
        url=r["url"],
        path=r["path"],
        author=r["author"],
        content_hash=r["content_hash"] or "",
    )
    return StoredArticle(article=art, chunk_count=int(r["n"]), added_at=float(r["added_at"]))


def register_functions(db: sqlite3.Connection) -> None:
    """The SQL functions queries of this schema call, on a new connection: `outlet()`, an
    outlet's name as filters compare it (SQLite's own lower() folds ASCII letters only)."""
    db.create_function("outlet", 1, outlet_key, deterministic=True)


def select_articles(
    db: sqlite3.Connection,
    limit: int = 50,
    offset: int = 0,
    published_from: date | None = None,
    published_to: date | None = None,
    source: str | None = None,
    outlets: Sequence[str] = (),
) -> tuple[list[StoredArticle], int]:
    """A page of articles, newest first, and the total count matching the filters."""
    where: list[str] = []
    args: list[str] = []
    if published_from:
        where.append("a.published >= ?")
        args.append(published_from.isoformat())
    if published_to:
        where.append("a.published <= ?")
        args.append(published_to.isoformat())
    if source:
        where.append("a.source = ?")
        args.append(source)
    if outlets:
        where.append(f"outlet(a.source) IN ({', '.join('?' * len(outlets))})")
        args += [outlet_key(s) for s in outlets]
    cond = f"WHERE {' AND '.join(where)}" if where else ""
    total = db.execute(f"SELECT COUNT(*) FROM articles a {cond}", args).fetchone()[0]
    rows = db.execute(
        "SELECT a.*, (SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id) AS n "
        f"FROM articles a {cond} "
        "ORDER BY a.published IS NULL, a.published DESC, a.added_at DESC LIMIT ? OFFSET ?",
        [*args, limit, offset],
    )
    return [stored_article(r) for r in rows], int(total)


def hit_from_row(chunk_id: int, score: float, r: sqlite3.Row) -> Hit:
    return Hit(
        chunk_id=chunk_id,
        article_id=r["article_id"],
        title=r["title"],
        published=parse_date(r["published"]),
        url=r["url"],
        source=r["source"],
        text=r["text"],
        score=score,
    )


def select_vectors(db: sqlite3.Connection, chunk_ids: list[int]) -> dict[int, np.ndarray]:
    if not chunk_ids:
        return {}
    marks = ",".join("?" * len(chunk_ids))
    rows = db.execute(f"SELECT id, embedding FROM chunks WHERE id IN ({marks})", chunk_ids)
    return {int(r[0]): np.frombuffer(r[1], dtype=np.float32) for r in rows}


def select_hits(db: sqlite3.Connection, scored: list[tuple[int, float]]) -> list[Hit]:
    if not scored:
        return []
    marks = ",".join("?" * len(scored))
    rows = {
        r["id"]: r
        for r in db.execute(
            "SELECT c.id, c.article_id, c.text, a.title, a.published, a.url, a.source "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE c.id IN ({marks})",
            [cid for cid, _ in scored],
        )
    }
    return [hit_from_row(cid, score, rows[cid]) for cid, score in scored if cid in rows]


def select_article(db: sqlite3.Connection, article_id: str) -> StoredArticle | None:
    r = db.execute(
        "SELECT a.*, (SELECT COUNT(*) FROM chunks c WHERE c.article_id = a.id) AS n "
        "FROM articles a WHERE a.id = ?",
        (article_id,),
    ).fetchone()
    return stored_article(r) if r is not None else None


def log_deletions(db: sqlite3.Connection, chunk_ids: list[int]) -> None:
    """Deleted chunk ids with the generation that deleted them, for replicas to drop from
    their vectors without a reload (in the deleting transaction)."""
    gen = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0]
    db.executemany(
        "INSERT OR REPLACE INTO deleted_chunks VALUES (?, ?)", [(i, int(gen)) for i in chunk_ids]
    )


def select_export(
    db: sqlite3.Connection, article_id: str, dim: int
) -> tuple[Article, list[ChunkSpan], np.ndarray] | None:
    """An article with its chunks and their stored vectors, in order (None: no such article)."""
    stored = select_article(db, article_id)
    if stored is None:
        return None
    rows = db.execute(
        "SELECT ord, start, end, text, embedding FROM chunks WHERE article_id = ? ORDER BY ord",
        (article_id,),
    ).fetchall()
    spans = [ChunkSpan(r[0], r[1], r[2], r[3]) for r in rows]
    vecs = np.array([np.frombuffer(r[4], dtype=np.float32) for r in rows], dtype=np.float32)
    return stored.article, spans, vecs.reshape(len(rows), dim)

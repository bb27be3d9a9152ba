"""Lexical search inside the store: SQLite FTS5 with BM25 ranking.

The full-text index is written in the same transaction as the chunk rows it indexes, so a write
costs what it writes (no rebuild from every chunk) and a search never waits for one; a crash
leaves rows and their index entries together or not at all. The table is contentless (it keeps
no second copy of the text): a chunk's entry is removed by giving FTS5 the text it indexed,
which the store reads from the rows it is about to delete. Documents are "title\\ntext" (the
title helps a chunk that never repeats its article's subject), tokenised with Porter stemming.
"""

from __future__ import annotations

import functools
import re
import sqlite3
from collections.abc import Iterable
from typing import Any

FTS_VERSION = "fts5-porter-v1"
FTS_SCHEMA = (
    "CREATE VIRTUAL TABLE IF NOT EXISTS chunks_fts USING fts5("
    "doc, content='', tokenize='porter unicode61 remove_diacritics 2')"
)
# English function words (bm25s's list): they match most chunks and rank nothing.
STOPWORDS = frozenset(
    "a an and are as at be but by for if in into is it no not of on or such that the their "
    "then there these they this to was will with".split()
)
_WORD = re.compile(r"[^\W_]+", re.UNICODE)
MAX_TERMS = 32
MAX_POSTINGS = 200_000  # chunk entries a query may score (see `affordable`)


def document(title: str, text: str) -> str:
    return f"{title}\n{text}"


def index_chunks(db: sqlite3.Connection, rows: Iterable[tuple[int, str, str]]) -> None:
    """Add (chunk id, title, text) entries (inside the caller's transaction)."""
    db.executemany(
        "INSERT INTO chunks_fts (rowid, doc) VALUES (?, ?)",
        ((cid, document(title, text)) for cid, title, text in rows),
    )


def unindex_article(db: sqlite3.Connection, article_id: str) -> None:
    """Remove an article's chunks from the index (before its rows are deleted)."""
    rows = db.execute(
        "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
        "WHERE c.article_id = ?",
        (article_id,),
    ).fetchall()
    db.executemany(
        "INSERT INTO chunks_fts (chunks_fts, rowid, doc) VALUES ('delete', ?, ?)",
        ((cid, document(title, text)) for cid, title, text in rows),
    )


def migrate_fts(db: sqlite3.Connection) -> None:
    """Give an index written before the full-text table existed its table, filled once."""
    row = db.execute("SELECT value FROM meta WHERE key = 'fts'").fetchone()
    if row and row[0] == FTS_VERSION:
        return
    db.execute("BEGIN IMMEDIATE")
    try:
        db.execute("DROP TABLE IF EXISTS chunks_fts")
        db.execute(FTS_SCHEMA)
        rows = db.execute(
            "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a ON a.id = c.article_id"
        )
        index_chunks(db, rows.fetchall())
        db.execute("INSERT OR REPLACE INTO meta VALUES ('fts', ?)", (FTS_VERSION,))
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


def match_query(query: str, db: sqlite3.Connection | None = None) -> str | None:
    """An FTS5 query matching any of the query's words (each quoted: no operator or column
    syntax from the user reaches FTS5); None when no word is left."""
    words: list[str] = []
    for w in _WORD.findall(query.lower()):
        if w not in STOPWORDS and w not in words:
            words.append(w)
    words = words[:MAX_TERMS]
    if db is not None:
        words = affordable(db, words)
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in words)


@functools.cache
def _porter() -> Any:
    import Stemmer

    return Stemmer.Stemmer("porter")  # FTS5's porter: the same stems


def _stem(words: list[str]) -> list[str]:
    return list(_porter().stemWords(words))


def affordable(db: sqlite3.Connection, words: list[str]) -> list[str]:
    """The query's words, without the most common ones when together they match more than
    `MAX_POSTINGS` chunk entries (BM25 scores every match; a word in most chunks ranks
    almost nothing and would make a search of a large index slow). Small indexes keep every
    word, so their ranking is exact BM25."""
    if len(words) < 2:
        return words
    stems = _stem(words)
    try:
        rows = db.execute(
            f"SELECT term, doc FROM temp.chunks_vocab WHERE term IN ({','.join('?' * len(words))})",
            stems,
        ).fetchall()
    except sqlite3.OperationalError:  # the vocabulary view is per connection: make it once
        db.execute(
            "CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunks_vocab "
            "USING fts5vocab(main, 'chunks_fts', 'row')"
        )
        return affordable(db, words)
    df = dict(rows)
    ranked = sorted(zip(words, stems, strict=True), key=lambda ws: df.get(ws[1], 0))
    kept: list[str] = []
    postings = 0
    for word, stem in ranked:
        postings += df.get(stem, 0)
        if kept and postings > MAX_POSTINGS:
            break
        kept.append(word)
    return kept


def search(db: sqlite3.Connection, query: str, k: int) -> list[tuple[int, float]]:
    """Top-k (chunk id, BM25 score > 0), best first."""
    match = match_query(query, db)
    if match is None or k <= 0:
        return []
    rows = db.execute(
        "SELECT rowid, bm25(chunks_fts) AS s FROM chunks_fts WHERE chunks_fts MATCH ? "
        "ORDER BY s LIMIT ?",
        (match, k),
    )
    return [(int(cid), -float(s)) for cid, s in rows if s < 0]

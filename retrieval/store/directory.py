"""The on-disk index: a versioned directory with a manifest, a SQLite store and a FAISS snapshot.

SQLite is the source of truth: articles, chunks, their vectors and their full-text entries are
committed in one transaction, so a crash can never leave one without the others. Vectors are
searched from a base snapshot (`vectors.<n>.faiss`, written to a temporary file and renamed)
plus an in-memory delta of newer chunks (vectors.py); both are rebuilt from the stored vectors
when missing (no re-embedding).
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import replace
from datetime import date
from pathlib import Path

import faiss
import numpy as np

from retrieval.errors import (
    ArticleNotFoundError,
    ReadOnlyError,
)
from retrieval.store import lexical
from retrieval.store.ann import IVF_MIN_VECTORS, index_kind, write_snapshot
from retrieval.store.base import WriteResult
from retrieval.store.manifest import MANIFEST, Manifest, read_checked
from retrieval.store.schema import (
    SCHEMA,
    StoredArticle,
    insert_article,
    log_deletions,
    migrate,
    register_functions,
    select_article,
    select_articles,
    select_export,
    select_hits,
    select_vectors,
)
from retrieval.store.vectors import (
    LiveVectors,
    RowReader,
    VectorState,
    catch_up,
    drop_other_snapshots,
    in_background,
    load_state,
    name_base,
)
from retrieval.types import Article, ChunkSpan, DuplicateText, Hit, SearchFilter

logger = logging.getLogger(__name__)

DB = "store.sqlite"


class IndexStore:
    """Read and write access to one index directory (the `Store` contract, store/base.py).

    Thread-safe within a process: writes are serialised by a lock and go through their own
    SQLite connection; every reading thread has its own connection, so (in WAL mode) it sees
    the last committed state and never a write transaction that is still open.
    """

    # Vectors from which the exact index is replaced by IVF (a class attribute: tests lower it).
    ivf_min_vectors = IVF_MIN_VECTORS
    # Merge the vector delta in the background when it grows (a bulk load turns it off and
    # merges once at the end).
    merge_automatically = True

    def __init__(self, path: Path, manifest: Manifest, readonly: bool = False) -> None:
        self.path = path
        self.manifest = manifest
        self.readonly = readonly
        self._lock = threading.RLock()
        self._local = threading.local()
        self._readers: list[sqlite3.Connection] = []
        self._readers_lock = threading.Lock()
        self._write_db = self._connect(writer=True)
        self._loaded_generation = self.generation
        self._vectors = self._load_vectors()
        self._merging: threading.Thread | None = None

    # -- opening -------------------------------------------------------------------------------
    @classmethod
    def create(cls, path: str | Path, manifest: Manifest) -> IndexStore:
        path = Path(path)
        if (path / MANIFEST).exists():
            return cls.open(path, expect=manifest)
        path.mkdir(parents=True, exist_ok=True)
        store_db = sqlite3.connect(path / DB)
        with store_db:
            store_db.executescript(SCHEMA)
            store_db.execute("INSERT OR IGNORE INTO meta VALUES ('generation', '0')")
        store_db.close()
        manifest.write(path / MANIFEST)  # last: a directory without a manifest is not an index
        return cls(path, manifest)

    @classmethod
    def open(
        cls, path: str | Path, expect: Manifest | None = None, readonly: bool = False
    ) -> IndexStore:
        path = Path(path)
        manifest = read_checked(path, expect)
        return cls(path, manifest, readonly=readonly)

    @property
    def _db(self) -> sqlite3.Connection:
        """This thread's reading connection."""
        db: sqlite3.Connection | None = getattr(self._local, "db", None)
        if db is None:
            db = self._connect()
            self._local.db = db
            with self._readers_lock:
                self._readers.append(db)
        return db

    def _connect(self, writer: bool = False) -> sqlite3.Connection:
        db = sqlite3.connect(self.path / DB, check_same_thread=False, isolation_level=None)
        db.row_factory = sqlite3.Row
        register_functions(db)
        db.execute("PRAGMA foreign_keys = ON")
        db.execute("PRAGMA busy_timeout = 10000")
        if writer and not self.readonly:
            db.execute("PRAGMA journal_mode = WAL")
            db.execute("PRAGMA synchronous = FULL")
            migrate(db)
        return db

    @property
    def generation(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def refresh(self) -> bool:
        """Pick up writes made by another process (a writer beside read-only replicas).
        Cheap when nothing changed: one SQLite read; otherwise it reads only what changed
        (new rows, logged deletions), or the new base after the writer merged one."""
        if self.generation == self._loaded_generation:
            return False
        with self._lock:
            gen = self.generation
            if gen == self._loaded_generation:
                return True
            rows = RowReader(self._db, self.manifest.dimension)
            meta = rows.snapshot_meta()
            st = self._vectors.state
            if meta is None or meta[0] != st.snapshot:
                self._vectors = self._load_vectors()
            else:
                catch_up(self._vectors, rows, self._loaded_generation)
            self._loaded_generation = gen
        return True

    def _load_vectors(self) -> LiveVectors:
        dim = self.manifest.dimension
        rows = RowReader(self._db, dim)
        state, write = load_state(self.path, dim, rows, self.ivf_min_vectors, self.generation)
        live = LiveVectors(dim, state)
        if write and not self.readonly:
            self._install_base(live, state, state.base, state.base_max_id)
        return live

    def _install_base(
        self,
        live: LiveVectors,
        merged_from: VectorState,
        base: faiss.Index,
        max_id: int,
        folded: np.ndarray | None = None,
    ) -> None:
        """Write a base snapshot (outside the write lock: the slow part), then name it in meta
        and swap it in (under the lock)."""
        name = write_snapshot(self.path, base, self.generation)
        with self._lock:
            with self._transaction() as db:
                name_base(db, name, max_id)
                db.execute(
                    "DELETE FROM deleted_chunks WHERE generation <= ?", (self._loaded_generation,)
                )
            live.swap_base(
                merged_from,
                folded if folded is not None else np.zeros(0, np.int64),
                base,
                max_id,
                name,
            )
            drop_other_snapshots(self.path, name)
            if index_kind(base) != self.manifest.faiss_index:
                self.manifest = replace(self.manifest, faiss_index=index_kind(base))
                self.manifest.write(self.path / MANIFEST)

    def merge(self) -> None:
        """Fold the delta and the deletions into a new base snapshot (O(N); the service runs it
        in the background when the delta outgrows its bound)."""
        self.check_writable()
        st = self._vectors.state
        if not st.delta.ntotal and not st.deleted and st.snapshot:
            return
        rows = RowReader(self._db, self.manifest.dimension)
        merged_from, folded, base, max_id = self._vectors.merged_base(self.ivf_min_vectors, rows)
        self._install_base(self._vectors, merged_from, base, max_id, folded)

    def _maybe_merge(self) -> None:
        if self.merge_automatically and self._vectors.needs_merge():
            self._merging = in_background(self.merge, self._merging)

    def close(self) -> None:
        if self._merging is not None:
            self._merging.join()
        with self._readers_lock:
            for db in self._readers:
                db.close()
            self._readers.clear()
        self._local = threading.local()
        self._write_db.close()

    # -- writing -------------------------------------------------------------------------------
    def check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(
                "this index is served read-only (a replica): send writes to the writer"
            )

    def find_content(self, content_hash: str) -> str | None:
        """Id of the stored article with this content hash, if any."""
        row = self._db.execute(
            "SELECT id FROM articles WHERE content_hash = ?", (content_hash,)
        ).fetchone()
        return str(row[0]) if row else None

    def write_articles(
        self,
        items: Sequence[tuple[Article, Sequence[ChunkSpan], np.ndarray]],
        on_duplicate_text: DuplicateText = DuplicateText.SKIP,
    ) -> WriteResult:
        """Add or replace articles with their chunks and chunk vectors, in one transaction.

        An existing id with new text is replaced (its old chunks leave both indexes). Text that
        is already stored is a duplicate: under the same id nothing changes; under another id
        it is skipped and reported, or with REFUSE the whole write fails with
        DuplicateTextError naming the article that has it."""
        self.check_writable()
        result = WriteResult()
        with self._lock:
            new_ids: list[int] = []
            new_vecs: list[np.ndarray] = []
            removed: list[int] = []
            with self._transaction() as db:
                for article, spans, vecs in items:
                    if len(spans) != len(vecs):
                        raise ValueError(f"{article.id}: {len(spans)} chunks, {len(vecs)} vectors")
                    digest = article.content_hash
                    same = db.execute(
                        "SELECT id FROM articles WHERE content_hash = ?", (digest,)
                    ).fetchone()
                    if result.skips_duplicate(same and same[0], article, on_duplicate_text):
                        continue
                    exists = db.execute(
                        "SELECT 1 FROM articles WHERE id = ?", (article.id,)
                    ).fetchone()
                    if exists:
                        removed += [
                            r[0]
                            for r in db.execute(
                                "SELECT id FROM chunks WHERE article_id = ?", (article.id,)
                            )
                        ]
                        lexical.unindex_article(db, article.id)
                        db.execute("DELETE FROM articles WHERE id = ?", (article.id,))
                        result.updated.append(article.id)
                    else:
                        result.added.append(article.id)
                    insert_article(db, article, digest)
                    for span, vec in zip(spans, vecs, strict=True):
                        v = np.asarray(vec, dtype=np.float32)
                        cur = db.execute(
                            "INSERT INTO chunks (article_id, ord, start, end, text, embedding) "
                            "VALUES (?, ?, ?, ?, ?, ?)",
                            (article.id, span.ord, span.start, span.end, span.text, v.tobytes()),
                        )
                        assert cur.lastrowid is not None
                        new_ids.append(cur.lastrowid)
                        new_vecs.append(v)
                        lexical.index_chunks(db, [(cur.lastrowid, article.title, span.text)])
                if result.added or result.updated:
                    self._bump_generation(db)
                    log_deletions(db, removed)
            if new_ids or removed:
                self._vectors.apply(new_ids, new_vecs, removed)
                self._loaded_generation = self.generation
                self._maybe_merge()
            return result

    def delete_article(self, article_id: str) -> int:
        """Remove an article and its chunks (rows and vectors); returns the chunk count."""
        self.check_writable()
        with self._lock:
            with self._transaction() as db:
                ids = [
                    r[0]
                    for r in db.execute("SELECT id FROM chunks WHERE article_id = ?", (article_id,))
                ]
                lexical.unindex_article(db, article_id)
                cur = db.execute("DELETE FROM articles WHERE id = ?", (article_id,))
                if cur.rowcount == 0:
                    raise ArticleNotFoundError(f"no article with id {article_id!r}")
                self._bump_generation(db)
                log_deletions(db, ids)
            self._vectors.apply([], [], ids)
            self._loaded_generation = self.generation
            self._maybe_merge()
            return len(ids)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        db = self._write_db
        db.execute("BEGIN IMMEDIATE")
        try:
            yield db
        except BaseException:
            db.execute("ROLLBACK")
            raise
        db.execute("COMMIT")

    @staticmethod
    def _bump_generation(db: sqlite3.Connection) -> None:
        db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # -- reading -------------------------------------------------------------------------------
    def article_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def chunk_count(self) -> int:
        return int(self._db.execute("SELECT COUNT(*) FROM chunks").fetchone()[0])

    @property
    def vector_state(self) -> VectorState:
        """The vectors searches use now (base snapshot, delta, deletions)."""
        return self._vectors.state

    def dense_search(
        self, query: np.ndarray, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, cosine) for one normalised query vector (FAISS cannot filter:
        `filters` are applied by the search above)."""
        return self._vectors.search(query, k)

    def vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]:
        """Stored vectors of the given chunks, read from the rows (the source of truth), so
        they agree with the full-text index and `hits` even before the vector index has them.
        Chunks deleted meanwhile are absent from the result."""
        return select_vectors(self._db, chunk_ids)

    def hits(self, scored: Iterable[tuple[int, float]]) -> list[Hit]:
        """Chunk rows joined with their article, in the given order; unknown ids are dropped."""
        return select_hits(self._db, list(scored))

    def article_chunks(self, article_id: str) -> list[int]:
        """The ids of an article's chunks, in the article's order."""
        rows = self._db.execute(
            "SELECT id FROM chunks WHERE article_id = ? ORDER BY ord", (article_id,)
        )
        return [r[0] for r in rows]

    def lexical_search(
        self, query: str, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) from the full-text index (retrieval/store/lexical.py)."""
        try:
            return lexical.search(self._db, query, k)
        except sqlite3.OperationalError as exc:  # an old index a replica opened unmigrated
            logger.warning("lexical search unavailable (%s): open the index read-write once", exc)
            return []

    def get_article(self, article_id: str) -> StoredArticle:
        found = select_article(self._db, article_id)
        if found is None:
            raise ArticleNotFoundError(f"no article with id {article_id!r}")
        return found

    def list_articles(
        self,
        limit: int = 50,
        offset: int = 0,
        published_from: date | None = None,
        published_to: date | None = None,
        source: str | None = None,
        outlets: Sequence[str] = (),
    ) -> tuple[list[StoredArticle], int]:
        """A page of articles, newest first, and the total count matching the filters."""
        return select_articles(
            self._db, limit, offset, published_from, published_to, source, outlets
        )

    def export(
        self, batch: int = 64
    ) -> Iterator[list[tuple[Article, list[ChunkSpan], np.ndarray]]]:
        """Every article with its chunks and stored vectors, in batches, oldest first: what
        another store needs to hold this index without embedding anything again."""
        ids = [r[0] for r in self._db.execute("SELECT id FROM articles ORDER BY added_at, id")]
        for i in range(0, len(ids), batch):
            rows = (select_export(self._db, a, self.manifest.dimension) for a in ids[i : i + batch])
            yield [row for row in rows if row is not None]  # (one deleted meanwhile: gone)

    def check_consistency(self) -> dict[str, int]:
        """Counts that must agree: rows, vectors, full-text entries, and ids present on one
        side only."""
        row_ids = {r[0] for r in self._db.execute("SELECT id FROM chunks")}
        vec_ids = self._vectors.ids()
        fts = self._db.execute("SELECT COUNT(*) FROM chunks_fts").fetchone()[0]
        return {
            "rows": len(row_ids),
            "vectors": self._vectors.state.ntotal,
            "full_text_entries": int(fts),
            "rows_without_vector": len(row_ids - vec_ids),
            "vectors_without_row": len(vec_ids - row_ids),
        }

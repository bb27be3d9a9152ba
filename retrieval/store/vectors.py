"""The vector side of an index: a base (a FAISS snapshot on disk) plus a small delta, so a
write costs what it writes.

- A write adds its vectors to the delta (an exact index of the chunks newer than the base)
  and records deletions of base vectors in a set that searches filter out: O(what it writes),
  no copy of the whole index, no snapshot written.
- A merge folds delta and deletions into a new base and writes its snapshot; it runs in the
  background when the delta or the deletions grow past a bound, off every request's path.
- SQLite stays the source of truth. The snapshot in use is named in the store's `meta` table
  with the highest chunk id it covers; on opening, the delta is read back from the rows after
  that id and the deletions are the snapshot ids without a row — so a crash at any point loses
  nothing and needs no re-embedding.
- Searches never wait for a write or a merge: the base and the deletions are immutable (a new
  state replaces them); only the small exact delta is appended to, under a short lock.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import faiss
import numpy as np

from retrieval.store.ann import build_index, index_kind, read_snapshot_file

logger = logging.getLogger(__name__)

# Merge when the delta holds this many vectors or this share of the base, whichever is larger
# (a share keeps the total merge work linear in the index size), or when this many base
# vectors are deleted.
MERGE_MIN_DELTA = 20_000
MERGE_DELTA_SHARE = 0.10
MERGE_DELETED = 5_000


def index_ids(index: faiss.Index) -> np.ndarray:
    """The ids an IDMap2 or IVF index holds."""
    if index.ntotal == 0:
        return np.zeros(0, dtype=np.int64)
    if index_kind(index) == "IDMap2,Flat":
        return faiss.vector_to_array(index.id_map).astype(np.int64)  # type: ignore[attr-defined]
    invlists = faiss.extract_index_ivf(index).invlists
    assert invlists is not None
    parts = []
    for lst in range(invlists.nlist):
        n = invlists.list_size(lst)
        if n:
            parts.append(faiss.rev_swig_ptr(invlists.get_ids(lst), n).copy())
    return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, dtype=np.int64)


def _flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


@dataclass(frozen=True)
class VectorState:
    """What searches read. `base` and `deleted` are never changed in place (a new state
    replaces them); `delta` is appended to under its lock."""

    base: faiss.Index
    base_max_id: int  # the snapshot covers chunk ids up to this one
    delta: faiss.Index  # chunks with id > base_max_id
    deleted: frozenset[int]  # base ids whose rows are gone
    snapshot: str  # file name of the base's snapshot ("" when none is written yet)

    @property
    def ntotal(self) -> int:
        return int(self.base.ntotal) - len(self.deleted) + int(self.delta.ntotal)


class LiveVectors:
    """Base + delta + deletions. The base is searched without a lock; the delta (small,
    exact) is searched and appended to under one short lock, so a write costs O(what it
    writes) and never copies an index."""

    def __init__(self, dim: int, state: VectorState) -> None:
        self.dim = dim
        self.state = state
        self._delta_lock = threading.Lock()

    # -- reading -------------------------------------------------------------------------------
    def search(self, query: np.ndarray, k: int) -> list[tuple[int, float]]:
        st = self.state  # one consistent base and deletion set for this search
        if k <= 0:
            return []
        q = np.asarray(query, dtype=np.float32).reshape(1, -1)
        found: list[tuple[int, float]] = []
        if st.base.ntotal:
            n = min(int(st.base.ntotal), k + len(st.deleted))
            scores, ids = st.base.search(q, n)
            found += [
                (int(i), float(s))
                for i, s in zip(ids[0], scores[0], strict=True)
                if i >= 0 and int(i) not in st.deleted
            ]
        with self._delta_lock:
            if st.delta.ntotal:
                scores, ids = st.delta.search(q, min(k, int(st.delta.ntotal)))
                found += [
                    (int(i), float(s)) for i, s in zip(ids[0], scores[0], strict=True) if i >= 0
                ]
        found.sort(key=lambda x: (-x[1], x[0]))
        return found[:k]

    def ids(self) -> set[int]:
        st = self.state
        with self._delta_lock:
            delta = set(index_ids(st.delta).tolist())
        return (set(index_ids(st.base).tolist()) - st.deleted) | delta

    def delta_contents(self) -> tuple[np.ndarray, np.ndarray]:
        """A copy of the delta's (ids, vectors)."""
        with self._delta_lock:
            ids = index_ids(self.state.delta)
            vecs = (
                np.vstack([self.state.delta.reconstruct(int(i)) for i in ids])
                if len(ids)
                else np.zeros((0, self.dim), dtype=np.float32)
            )
        return ids, vecs

    # -- writing (the store serialises writers) --------------------------------------------------
    def apply(self, added_ids: list[int], added: list[np.ndarray], removed: list[int]) -> None:
        st = self.state
        in_delta = [i for i in removed if i > st.base_max_id]
        in_base = [i for i in removed if i <= st.base_max_id]
        with self._delta_lock:
            if in_delta:
                st.delta.remove_ids(np.array(in_delta, dtype=np.int64))  # type: ignore[arg-type]
            if added_ids:
                st.delta.add_with_ids(np.vstack(added), np.array(added_ids, dtype=np.int64))
        if in_base:
            deleted = st.deleted | frozenset(in_base)
            self.state = VectorState(st.base, st.base_max_id, st.delta, deleted, st.snapshot)

    def needs_merge(self) -> bool:
        st = self.state
        bound = max(MERGE_MIN_DELTA, int(MERGE_DELTA_SHARE * st.base.ntotal))
        # Deletions are bounded absolutely: a search of the base asks for k + len(deleted).
        return st.delta.ntotal >= bound or len(st.deleted) >= MERGE_DELETED

    def merged_base(
        self, ivf_min: int, rows: RowReader
    ) -> tuple[VectorState, np.ndarray, faiss.Index, int]:
        """A new base holding what the index holds now (O(N): run it off the request path).
        Returns the state it started from, the delta ids it folded in, the base, its max id."""
        st = self.state
        delta_ids, delta_vecs = self.delta_contents()
        max_id = max([st.base_max_id, *delta_ids.tolist()])
        total = int(st.base.ntotal) - len(st.deleted) + len(delta_ids)
        if index_kind(st.base) == "IDMap2,Flat" and total >= ivf_min:
            ids, vecs = rows.vectors_up_to(max_id)  # grew past the exact index: train IVF
            return st, delta_ids, build_index(self.dim, vecs, ids, ivf_min=ivf_min), max_id
        base = faiss.clone_index(st.base)
        if st.deleted:
            base.remove_ids(np.array(sorted(st.deleted), dtype=np.int64))  # type: ignore[arg-type]
        if len(delta_ids):
            base.add_with_ids(delta_vecs, delta_ids)
        return st, delta_ids, base, max_id

    def swap_base(
        self,
        merged_from: VectorState,
        folded: np.ndarray,
        base: faiss.Index,
        max_id: int,
        name: str,
    ) -> None:
        """Install a merged base; writes made while it was built stay in the new delta, and
        deletions made meanwhile of vectors it folded in become deletions of the new base."""
        now = self.state
        with self._delta_lock:
            still = set(index_ids(now.delta).tolist())
            newer = sorted(i for i in still if i > max_id)
            delta = _flat(self.dim)
            if newer:
                vecs = np.vstack([now.delta.reconstruct(i) for i in newer])
                delta.add_with_ids(vecs, np.array(newer, dtype=np.int64))
            gone = set(folded.tolist()) - still
            deleted = (now.deleted - merged_from.deleted) | frozenset(gone)
            self.state = VectorState(base, max_id, delta, frozenset(deleted), name)


class RowReader:
    """What the vector side needs from the rows (the store's source of truth)."""

    def __init__(self, db: sqlite3.Connection, dim: int) -> None:
        self.db = db
        self.dim = dim

    def _read(self, sql: str, args: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray]:
        rows = self.db.execute(sql, args).fetchall()
        ids = np.array([r[0] for r in rows], dtype=np.int64)
        vecs = np.zeros((len(rows), self.dim), dtype=np.float32)
        for i, r in enumerate(rows):
            vecs[i] = np.frombuffer(r[1], dtype=np.float32)
        return ids, vecs

    def vectors_after(self, chunk_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self._read("SELECT id, embedding FROM chunks WHERE id > ? ORDER BY id", (chunk_id,))

    def vectors_up_to(self, chunk_id: int) -> tuple[np.ndarray, np.ndarray]:
        return self._read("SELECT id, embedding FROM chunks WHERE id <= ? ORDER BY id", (chunk_id,))

    def ids_up_to(self, chunk_id: int) -> set[int]:
        return {r[0] for r in self.db.execute("SELECT id FROM chunks WHERE id <= ?", (chunk_id,))}

    def snapshot_meta(self) -> tuple[str, int] | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'vectors'").fetchone()
        if row is None:
            return None
        meta = json.loads(row[0])
        return str(meta["file"]), int(meta["max_id"])


def load_state(
    folder: Path, dim: int, rows: RowReader, ivf_min: int, legacy_generation: int
) -> tuple[VectorState, bool]:
    """The state the rows and the named snapshot imply; (state, whether a new base snapshot
    must be written because none was usable)."""
    meta = rows.snapshot_meta()
    base: faiss.Index | None = None
    max_id = 0
    name = ""
    if meta is not None:
        name, max_id = meta
        base = read_snapshot_file(folder / name)
    elif (folder / f"vectors.{legacy_generation}.faiss").exists():
        # An index written before snapshots were named in meta: its snapshot covered all rows.
        name = f"vectors.{legacy_generation}.faiss"
        base = read_snapshot_file(folder / name)
        row = rows.db.execute("SELECT MAX(id) FROM chunks").fetchone()
        max_id = int(row[0] or 0)
    if base is None:
        row = rows.db.execute("SELECT MAX(id) FROM chunks").fetchone()
        max_id = int(row[0] or 0)
        ids, vecs = rows.vectors_up_to(max_id)
        base = build_index(dim, vecs, ids, ivf_min=ivf_min)
        return VectorState(base, max_id, _flat(dim), frozenset(), ""), True
    stale = set(index_ids(base).tolist()) - rows.ids_up_to(max_id)
    delta = _flat(dim)
    ids, vecs = rows.vectors_after(max_id)
    if len(ids):
        delta.add_with_ids(vecs, ids)
    return VectorState(base, max_id, delta, frozenset(stale), name), False


def name_base(db: sqlite3.Connection, name: str, max_id: int) -> None:
    """Make a written snapshot the base (one row in meta, in the caller's transaction); the
    older files go after the commit (`drop_other_snapshots`)."""
    db.execute(
        "INSERT OR REPLACE INTO meta VALUES ('vectors', ?)",
        (json.dumps({"file": name, "max_id": max_id}),),
    )


def drop_other_snapshots(folder: Path, keep: str) -> None:
    for old in folder.glob("vectors.*.faiss"):
        if old.name != keep:
            old.unlink(missing_ok=True)


def catch_up(live: LiveVectors, rows: RowReader, since_generation: int) -> None:
    """Apply another process's writes since a generation: the rows added after the newest
    vector this process holds, and the logged deletions (a replica's incremental refresh)."""
    st = live.state
    seen = max([st.base_max_id, *index_ids(st.delta).tolist()])
    ids, vecs = rows.vectors_after(seen)
    removed = [
        r[0]
        for r in rows.db.execute(
            "SELECT id FROM deleted_chunks WHERE generation > ?", (since_generation,)
        )
    ]
    live.apply(ids.tolist(), list(vecs), removed)


def in_background(
    task: Callable[[], None], running: threading.Thread | None
) -> threading.Thread | None:
    """Run `task` in a thread unless the previous run is still going; errors are logged (the
    rows are intact, and the next write tries again)."""
    if running is not None and running.is_alive():
        return running

    def run() -> None:
        try:
            task()
        except Exception:
            logger.exception("merging the vector index failed")

    thread = threading.Thread(target=run, name="newsrag-merge", daemon=True)
    thread.start()
    return thread

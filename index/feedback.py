"""Feedback that is kept: thumbs up/down on answers, stored with what was answered.

The system remembers its recent answers (question, date, answer, citations with their quotes,
confidence, filters) in the same SQLite file (or, with a store URL, the index's database), so
a rating sent to any replica behind a load balancer finds the answer another one gave; a
rating names an answer by `answer_id` and is stored with that snapshot, so an export is a
self-contained regression set (`newsrag eval feedback` replays it). Rating the same answer
again replaces the earlier rating. If the file cannot be written (a read-only directory),
answers are remembered in memory only.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any, Literal

from index.sql import SideDb
from retrieval.errors import NotFoundError
from retrieval.types import Answer

logger = logging.getLogger(__name__)

FEEDBACK_DB = "feedback.sqlite"
RECENT_ANSWERS = 5000

Rating = Literal["up", "down"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    answer_id TEXT PRIMARY KEY,
    created_at REAL NOT NULL,
    answer TEXT NOT NULL  -- the snapshot, JSON
);
CREATE INDEX IF NOT EXISTS answers_created ON answers(created_at);
CREATE TABLE IF NOT EXISTS feedback (
    answer_id TEXT PRIMARY KEY,
    rating TEXT NOT NULL CHECK (rating IN ('up', 'down')),
    comment TEXT,
    rated_at REAL NOT NULL,
    answer TEXT NOT NULL  -- the answer's snapshot, JSON
);
"""


class AnswerNotFoundError(NotFoundError):
    """The answer id is unknown (never given, or older than the answers kept in memory)."""


def snapshot(answer: Answer, as_of: str | None) -> dict[str, Any]:
    """What a rating is about: enough to read it later and to ask the question again."""
    return {
        "answer_id": answer.answer_id,
        "question": answer.question,
        "standalone_question": answer.standalone_question,
        "as_of": as_of,
        "answer": answer.answer,
        "short_answer": None if answer.abstained else answer.short_answer,
        "abstained": answer.abstained,
        "abstain_reason": answer.abstain_reason,
        "confidence": answer.confidence,
        "filters_applied": answer.filters_applied,
        "citations": [
            {k: c[k] for k in ("id", "article_id", "title", "url", "published", "cited", "quote")}
            for c in (x.to_dict() for x in answer.citations)
        ],
        "answered_at": time.time(),
    }


class FeedbackStore:
    """Recent answers and their ratings: a SQLite file beside the index, or with a store URL,
    tables in the index's database (a rating sent to any host finds any host's answer)."""

    def __init__(
        self, path: Path, keep: int = RECENT_ANSWERS, store_url: str | None = None
    ) -> None:
        self.path = path
        self.keep = keep
        self.store_url = store_url
        self._recent: OrderedDict[str, dict[str, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self._db: SideDb | None = None
        self._persist = True
        self._since_prune = 0

    def _conn(self) -> SideDb:
        if self._db is None:
            if self.store_url:
                db = SideDb.connect(self.store_url)
            else:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                db = SideDb.sqlite(self.path)
                db.execute("PRAGMA journal_mode = WAL")  # replicas share the file
                db.execute("PRAGMA synchronous = NORMAL")
            db.script(_SCHEMA)
            self._db = db
        return self._db

    def _exists(self) -> bool:
        return self._db is not None or bool(self.store_url) or self.path.exists()

    def remember(self, answer: Answer, as_of: str | None) -> None:
        snap = snapshot(answer, as_of)
        with self._lock:
            if self._persist:
                try:
                    db = self._conn()
                    db.execute(
                        "INSERT INTO answers VALUES (?, ?, ?) ON CONFLICT (answer_id) DO UPDATE "
                        "SET created_at = excluded.created_at, answer = excluded.answer",
                        (
                            answer.answer_id,
                            snap["answered_at"],
                            json.dumps(snap, ensure_ascii=False),
                        ),
                    )
                    self._since_prune += 1
                    if self._since_prune >= 500:
                        self._since_prune = 0
                        db.execute(
                            "DELETE FROM answers WHERE created_at < (SELECT created_at FROM "
                            "answers ORDER BY created_at DESC LIMIT 1 OFFSET ?)",
                            (self.keep,),
                        )
                    return
                except Exception as exc:  # sqlite3 / psycopg errors, an unwritable path
                    logger.warning("answers kept in memory only (%s: %s)", self.path, exc)
                    self._persist = False
            self._recent[answer.answer_id] = snap
            while len(self._recent) > self.keep:
                self._recent.popitem(last=False)

    def _find(self, answer_id: str) -> dict[str, Any] | None:
        snap = self._recent.get(answer_id)
        if snap is not None:
            return snap
        for table in ("answers", "feedback"):
            row = (
                self._conn()
                .execute(f"SELECT answer FROM {table} WHERE answer_id = ?", (answer_id,))
                .fetchone()
            )
            if row is not None:
                return dict(json.loads(row["answer"]))
        return None

    def rate(self, answer_id: str, rating: Rating, comment: str | None) -> dict[str, Any]:
        with self._lock:
            snap = self._find(answer_id)
            if snap is None:
                raise AnswerNotFoundError(
                    f"answer_id {answer_id!r} is unknown: feedback is taken on the last "
                    f"{self.keep} answers this service gave"
                )
            self._conn().execute(
                "INSERT INTO feedback VALUES (?, ?, ?, ?, ?) ON CONFLICT (answer_id) DO UPDATE "
                "SET rating = excluded.rating, comment = excluded.comment, "
                "rated_at = excluded.rated_at, answer = excluded.answer",
                (answer_id, rating, comment, time.time(), json.dumps(snap, ensure_ascii=False)),
            )
        return {"answer_id": answer_id, "rating": rating, "stored": True}

    def counts(self) -> dict[str, int]:
        if not self._exists():
            return {"up": 0, "down": 0}
        with self._lock:
            rows = self._conn().execute(
                "SELECT rating, COUNT(*) AS n FROM feedback GROUP BY rating"
            )
            found = {r["rating"]: r["n"] for r in rows.fetchall()}
        return {"up": int(found.get("up", 0)), "down": int(found.get("down", 0))}

    def export(self) -> list[dict[str, Any]]:
        """Every rating with its answer, oldest first."""
        if not self._exists():
            return []
        with self._lock:
            rows = (
                self._conn()
                .execute("SELECT rating, comment, rated_at, answer FROM feedback ORDER BY rated_at")
                .fetchall()
            )
        return [
            {
                **json.loads(r["answer"]),
                "rating": r["rating"],
                "comment": r["comment"],
                "rated_at": r["rated_at"],
            }
            for r in rows
        ]

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None

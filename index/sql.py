"""One SQL connection over SQLite or PostgreSQL for the tables that live beside the index (feeds
and answer ratings). Their queries are written once — `?` parameters, `ON CONFLICT` upserts,
rows read by column name — and both engines run them; under `NEWSRAG_STORE_URL` the tables
live in the index's database, so no SQLite file is shared between hosts."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class SideDb:
    """A SQLite or PostgreSQL connection (autocommit) that runs the side tables' queries."""

    def __init__(self, conn: Any, postgres: bool) -> None:
        self.conn = conn
        self.postgres = postgres

    @classmethod
    def sqlite(cls, path: Path | str, readonly: bool = False) -> SideDb:
        if path == ":memory:":
            conn = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
        else:
            uri = f"{Path(path).resolve().as_uri()}{'?mode=ro' if readonly else ''}"
            conn = sqlite3.connect(uri, uri=True, check_same_thread=False, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA busy_timeout = 10000")
        return cls(conn, postgres=False)

    @classmethod
    def connect(cls, url: str) -> SideDb:
        from psycopg.rows import dict_row

        from retrieval.store.pg_schema import connect

        conn = connect(url, register=False)
        conn.row_factory = dict_row
        return cls(conn, postgres=True)

    def _sql(self, sql: str) -> str:
        return sql.replace("?", "%s") if self.postgres else sql

    def execute(self, sql: str, params: Iterable[Any] = ()) -> Any:
        return self.conn.execute(self._sql(sql), tuple(params))

    def executemany(self, sql: str, rows: Iterable[Iterable[Any]]) -> None:
        if self.postgres:
            with self.conn.cursor() as cur:
                cur.executemany(self._sql(sql), [tuple(r) for r in rows])
        else:
            self.conn.executemany(sql, rows)

    def script(self, sql: str) -> None:
        """Statements without parameters (a schema), run in one go."""
        if self.postgres:
            self.conn.execute(sql.replace(" REAL", " double precision"))
        else:
            self.conn.executescript(sql)

    @contextmanager
    def exclusive(self, key: str) -> Iterator[bool]:
        """Whether this process holds `key` now (PostgreSQL: a session advisory lock, so one
        process on any host does the work; SQLite: always — one writer by design)."""
        if not self.postgres:
            yield True
            return
        got = self.conn.execute(
            "SELECT pg_try_advisory_lock(hashtextextended(%s, 1)) AS ok", (key,)
        ).fetchone()["ok"]
        try:
            yield bool(got)
        finally:
            if got:
                self.conn.execute("SELECT pg_advisory_unlock(hashtextextended(%s, 1))", (key,))

    def close(self) -> None:
        self.conn.close()

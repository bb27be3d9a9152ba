"""A real uvicorn server on a free loopback port, in a thread: for tests and benchmarks that
need real HTTP, and for embedding newsrag in another program."""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import uvicorn


@contextmanager
def live_server(app: Any) -> Iterator[str]:
    """Serve `app` and yield its base URL; the server stops when the block ends."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("newsrag server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


# Debian's headless Chromium, as the browser tests and the screenshot script drive it.
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def chromium_path() -> str:
    return shutil.which("chromium") or "/usr/bin/chromium"


def settled(page: Any, n: int, timeout_ms: int = 60_000) -> Any:
    """The chat page's `n`-th turn once its answer is no longer pending (a Playwright page:
    browser tests and screenshots)."""
    page.wait_for_function(
        "n => document.querySelectorAll('.turn').length > n && "
        "document.querySelectorAll('.turn')[n].dataset.state !== 'pending'",
        arg=n,
        timeout=timeout_ms,
    )
    return page.locator(".turn").nth(n)


def ask_on_page(page: Any, question: str, timeout_ms: int = 60_000) -> Any:
    """Type a question into the chat page, send it, and return its settled turn."""
    n = page.locator(".turn").count()
    page.fill("#question", question)
    page.press("#question", "Enter")
    return settled(page, n, timeout_ms)

"""Screenshot of the chat page answering the seed question (docs/chat.png), in Debian's
headless Chromium against a live server with the configured preset.

    NEWSRAG_PRESET=small .venv/bin/python -m bench.screenshot [--out docs/chat.png]
"""

from __future__ import annotations

import argparse
import socket
import threading
import time

import uvicorn
from playwright.sync_api import sync_playwright

from service.app import create_app
from service.settings import Settings

FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/chat.png")
    ap.add_argument("--question", default="How many Armenian soldiers were killed?")
    ap.add_argument("--follow-up", default="And who are its main arms suppliers now?")
    args = ap.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(Settings()), port=port, log_level="warning"))
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.1)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"http://127.0.0.1:{port}/")
        for i, q in enumerate([args.question, args.follow_up]):
            page.fill("#question", q)
            page.press("#question", "Enter")
            page.wait_for_function(
                "i => { const t = document.querySelectorAll('.turn')[i];"
                " return t && t.dataset.state !== 'pending'; }",
                arg=i,
                timeout=300_000,
            )
        page.screenshot(path=args.out, full_page=True)
        browser.close()
    server.should_exit = True
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

"""Screenshot of the chat page answering the seed question (docs/chat.png), in Debian's
headless Chromium against a live server with the configured preset.

    NEWSRAG_PRESET=small .venv/bin/python -m bench.screenshot [--out docs/chat.png]
"""

from __future__ import annotations

import argparse

from playwright.sync_api import sync_playwright

from service.app import create_app
from service.live import CHROMIUM_FLAGS, chromium_path, live_server
from service.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out", default="docs/chat.png")
    ap.add_argument("--question", default="How many Armenian soldiers were killed?")
    ap.add_argument("--follow-up", default="And who are its main arms suppliers now?")
    args = ap.parse_args()
    with live_server(create_app(Settings())) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1100, "height": 1000})
        page.goto(f"{url}/")
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
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()

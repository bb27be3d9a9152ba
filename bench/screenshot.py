"""Screenshots of the chat page (docs/chat-*.png) in Debian's headless Chromium, against a live
server with the configured reader (the default unless NEWSRAG_PRESET says otherwise), at a
desktop width and a phone's: the empty page, then a suggested question and a factoid answered.

    .venv/bin/python -m bench.screenshot [--out-dir docs]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from playwright.sync_api import sync_playwright

from service.app import create_app
from service.live import CHROMIUM_FLAGS, ask_on_page, chromium_path, live_server, settled
from service.settings import Settings

SIZES = {"desktop": (1100, 900), "phone": (390, 844)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--out-dir", type=Path, default=Path("docs"))
    ap.add_argument("--question", default="How many Armenian soldiers were killed?")
    args = ap.parse_args()
    with live_server(create_app(Settings())) as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_FLAGS)
        for name, (width, height) in SIZES.items():
            page = browser.new_page(viewport={"width": width, "height": height})
            page.goto(f"{url}/")
            page.evaluate("localStorage.clear()")
            page.reload()
            page.locator("#suggestions button").first.wait_for(timeout=60_000)
            page.screenshot(path=args.out_dir / f"chat-{name}-empty.png")
            page.locator("#suggestions button").first.click()
            settled(page, 0, 300_000)
            ask_on_page(page, args.question, 300_000)
            # A phone shows what fits on its screen: the newest answer above the question box.
            page.screenshot(path=args.out_dir / f"chat-{name}.png", full_page=name == "desktop")
            page.close()
        browser.close()
    print(f"wrote {args.out_dir}/chat-*.png")


if __name__ == "__main__":
    main()

"""The first question after `newsrag serve` reports ready, against the questions after it, with
the reader warmed at start (`NEWSRAG_WARM_UP=true`, the default) and without, side by side in
one run: each side is a fresh server process on the same index, asked the same new questions
over HTTP (the first, then `--later` more; none asked before in that process).

    .venv/bin/python -m bench.bench_first_question [--index data/index] [--later 5] [--rounds 1]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

import httpx

from service.evals.seed import load

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def serve(index: Path, warm: bool) -> tuple[subprocess.Popen[bytes], str, float]:
    """A server process; returns when /health says ok (not warming), with the seconds that
    took from the process start."""
    port = free_port()
    env = {**os.environ, "NEWSRAG_INDEX_DIR": str(index), "NEWSRAG_WARM_UP": str(warm).lower()}
    env["NEWSRAG_FEED_POLL_MINUTES"] = "0"
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    while True:
        if proc.poll() is not None:
            raise RuntimeError("newsrag serve exited")
        try:
            if httpx.get(f"{url}/health", timeout=2).json().get("status") == "ok":
                return proc, url, time.perf_counter() - t0
        except httpx.HTTPError:
            pass
        time.sleep(0.2)


def ask(url: str, question: str) -> float:
    t = time.perf_counter()
    r = httpx.post(f"{url}/ask", json={"question": question}, timeout=600)
    r.raise_for_status()
    return time.perf_counter() - t


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=Path("data/index"))
    ap.add_argument("--later", type=int, default=5)
    ap.add_argument("--rounds", type=int, default=1)
    args = ap.parse_args()
    questions = [q for q, _ in load()[1]["fresh"].answerable][: 1 + args.later]
    rows = []
    for _ in range(args.rounds):
        for warm in (True, False):
            proc, url, ready = serve(args.index, warm)
            try:
                times = [ask(url, q) for q in questions]
            finally:
                proc.terminate()
                proc.wait(30)
            later = statistics.median(times[1:])
            rows.append(
                {
                    "warm_up": warm,
                    "ready_s": round(ready, 1),
                    "first_s": round(times[0], 2),
                    "later_p50_s": round(later, 2),
                    "first_over_later": round(times[0] / later, 2),
                }
            )
            print(json.dumps(rows[-1]), flush=True)


if __name__ == "__main__":
    main()

"""Peak resident memory of `newsrag serve` with each installed preset and generator backend,
after one answer (the first start of a preset also converts its weights: run it twice).

.venv/bin/python -m bench.bench_memory [--presets tiny small base] [--backends transformers
llamacpp]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

import httpx


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status", encoding="utf-8") as fh:
        for line in fh:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def measure(preset: str, backend: str, index_dir: str) -> dict[str, object]:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        **os.environ,
        "NEWSRAG_PRESET": preset,
        "NEWSRAG_BACKEND": backend,
        "NEWSRAG_INDEX_DIR": index_dir,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        t0 = time.perf_counter()
        while True:
            if proc.poll() is not None:
                return {"preset": preset, "backend": backend, "error": proc.communicate()[1][-300:]}
            try:
                if httpx.get(f"{url}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.5)
        startup = time.perf_counter() - t0
        r = httpx.post(
            f"{url}/ask", json={"question": "How many Armenian soldiers were killed?"}, timeout=600
        )
        return {
            "preset": preset,
            "backend": backend,
            "startup_s": round(startup, 1),
            "peak_rss_mb": round(peak_rss_mb(proc.pid)),
            "answer": r.json()["answer"],
        }
    finally:
        proc.terminate()
        proc.wait(30)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--presets", nargs="*", default=["tiny", "small", "base"])
    ap.add_argument("--backends", nargs="*", default=["transformers"])
    ap.add_argument("--index", default=os.environ.get("NEWSRAG_INDEX_DIR", "data/index"))
    args = ap.parse_args()
    rows = [measure(p, b, args.index) for p in args.presets for b in args.backends]
    print(json.dumps(rows, indent=2, default=str))


if __name__ == "__main__":
    main()

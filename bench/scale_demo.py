"""The scale-out topology, run for real: llama.cpp's OpenAI-compatible server, one writer and
two read-only replicas of `newsrag serve` on one index, HAProxy in front.

    python bench/scale_demo.py up                 # start it (Ctrl-C stops everything)
    python bench/scale_demo.py bench [--clients 4 --questions 24]

`bench` measures `/ask` throughput and p50/p95 latency through the balancer with 1 and 2
replicas sharing the generator server, beside the single-process service (`newsrag serve`
with the same GGUF in-process, `NEWSRAG_BACKEND=llamacpp`), on this machine, in one run.
Results go to docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from service.topology import Topology, free_port, wait_until_up  # noqa: E402

QUESTIONS = [
    "How many Armenian soldiers were killed?",
    "Who was recently re-elected president of Azerbaijan?",
    "Which countries does Armenia now see as its main arms suppliers?",
    "Which country has peacekeepers stationed in Karabakh?",
    "Where did the attack on the Armenian soldiers take place?",
    "What did Russia call on both countries to do?",
]


def gguf_for(preset: str) -> Path:
    from retrieval.models.llamacpp_backend import bf16_gguf
    from service.settings import get_settings

    return bf16_gguf(preset, get_settings().cache_dir)


def ensure_index(index: Path) -> None:
    if not (index / "manifest.json").exists():
        subprocess.run(
            [sys.executable, "-m", "service.cli", "ingest", str(ROOT / "seeds")],
            env={**os.environ, "NEWSRAG_INDEX_DIR": str(index)},
            check=True,
        )


def load(url: str, clients: int, questions: int) -> dict[str, float]:
    """`questions` /ask requests from `clients` concurrent clients."""
    lat: list[float] = []
    errors = 0

    def one(i: int) -> None:
        nonlocal errors
        t = time.perf_counter()
        r = httpx.post(f"{url}/ask", json={"question": QUESTIONS[i % len(QUESTIONS)]}, timeout=600)
        lat.append(time.perf_counter() - t)
        errors += r.status_code != 200

    t0 = time.perf_counter()
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(one, range(questions)))
    wall = time.perf_counter() - t0
    lat.sort()
    return {
        "requests": questions,
        "errors": errors,
        "throughput_rps": round(questions / wall, 3),
        "p50_s": round(statistics.median(lat), 2),
        "p95_s": round(lat[int(0.95 * (len(lat) - 1))], 2),
    }


def single_process(index: Path, preset: str, clients: int, questions: int) -> dict[str, float]:
    port = free_port()
    env = {
        **os.environ,
        "NEWSRAG_INDEX_DIR": str(index),
        "NEWSRAG_BACKEND": "llamacpp",
        "NEWSRAG_PRESET": preset,
        "NEWSRAG_FEED_POLL_MINUTES": "0",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "service.cli", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        url = f"http://127.0.0.1:{port}"
        if not wait_until_up(f"{url}/health", proc, timeout=300):
            raise RuntimeError("the single-process service did not come up")
        load(url, 1, 2)  # warm up
        return load(url, clients, questions)
    finally:
        proc.terminate()
        proc.wait()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["up", "bench"])
    ap.add_argument(
        "--index", type=Path, default=Path(os.environ.get("NEWSRAG_INDEX_DIR", "data/index"))
    )
    ap.add_argument("--preset", default=os.environ.get("NEWSRAG_PRESET", "small"))
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--questions", type=int, default=24)
    args = ap.parse_args()
    ensure_index(args.index)
    gguf = gguf_for(args.preset)
    if args.what == "up":
        with Topology(args.index, gguf) as topo:
            print(f"balancer   {topo.url}  (writes → writer, the rest → replicas)")
            for name in ("generator", "writer", "replica1", "replica2"):
                print(f"{name:10} {topo.server_url(name)}")
            print(f"logs       {topo.workdir}\nCtrl-C stops everything.", flush=True)
            try:
                while True:
                    time.sleep(3600)
            except KeyboardInterrupt:
                pass
        return
    results: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        index = Path(tmp) / "index"
        shutil.copytree(args.index, index)
        results["single process (llama.cpp in-process)"] = single_process(
            index, args.preset, args.clients, args.questions
        )
        for replicas in (1, 2):
            with Topology(index, gguf, replicas=replicas) as topo:
                load(topo.url, 1, 2)
                results[f"HAProxy + {replicas} replica(s) + llama.cpp server"] = load(
                    topo.url, args.clients, args.questions
                )
    print(json.dumps({"cpus": os.cpu_count(), "preset": args.preset, **results}, indent=2))


if __name__ == "__main__":
    main()

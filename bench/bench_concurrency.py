"""Concurrent `/search` with and without micro-batching of the query embeddings: throughput
and latency for 1, 4 and 16 clients, on the same index, rounds alternated so noise hits
both alike.

    .venv/bin/python -m bench.bench_concurrency [--articles 300] [--requests 48] [--rounds 3]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import threading
import time
from dataclasses import replace
from pathlib import Path

import httpx

from bench.common import news_articles, questions, summary
from index.core import Models, Newsrag
from service.app import create_app
from service.live import live_server
from service.loading import core_config
from service.settings import Settings


def load(url: str, qs: list[str], clients: int, per_client: int) -> tuple[float, list[float]]:
    """(requests per second, latencies in ms) of `clients` threads sending queries."""
    latencies: list[float] = []
    lock = threading.Lock()
    start = threading.Barrier(clients + 1)

    def client(k: int) -> None:
        with httpx.Client(base_url=url, timeout=60) as http:
            start.wait()
            for i in range(per_client):
                q = qs[(k * per_client + i) % len(qs)]
                t = time.perf_counter()
                http.post("/search", json={"query": q, "top_k": 5}).raise_for_status()
                with lock:
                    latencies.append((time.perf_counter() - t) * 1000)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    for t in threads:
        t.start()
    start.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return clients * per_client / (time.perf_counter() - t0), latencies


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=300)
    ap.add_argument("--requests", type=int, default=48, help="per round and concurrency level")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "int8"])
    args = ap.parse_args()
    qs = questions(400)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "idx", embed_dtype=args.dtype)
        core = core_config(settings)
        models = Models.build(core, with_generator=False)
        Newsrag.open(core, models, create=True).add(news_articles(args.articles))
        systems = {
            mode: Newsrag.open(replace(core, query_batching=mode == "on"), models)
            for mode in ("off", "on")
        }
        apps = {mode: create_app(settings, rag) for mode, rag in systems.items()}
        results: dict[str, dict[str, object]] = {}
        with live_server(apps["off"]) as off_url, live_server(apps["on"]) as on_url:
            urls = {"off": off_url, "on": on_url}
            for url in urls.values():  # warm up
                load(url, qs, 2, 8)
            for clients in (1, 4, 16):
                per = max(1, args.requests // clients)
                runs: dict[str, list[tuple[float, list[float]]]] = {"off": [], "on": []}
                for _ in range(args.rounds):
                    for mode in ("off", "on"):
                        runs[mode].append(load(urls[mode], qs, clients, per))
                row: dict[str, object] = {}
                qps = {}
                for mode, rs in runs.items():
                    lat = [x for _, ls in rs for x in ls]
                    qps[mode] = statistics.median(r for r, _ in rs)
                    row[mode] = {
                        "req_per_s": round(qps[mode], 1),
                        **{k: round(v, 1) for k, v in summary(lat).items()},
                    }
                row["throughput_ratio_on_vs_off"] = round(qps["on"] / qps["off"], 2)
                results[f"{clients}_clients"] = row
        stats = systems["on"].stats()
        mean_batch = stats["queries_embedded"] / max(stats["query_passes"], 1)
        info = {"chunks": stats["chunks"], "dtype": args.dtype, "mean_batch": mean_batch}
        print(json.dumps({**info, **results}, indent=2))


if __name__ == "__main__":
    main()

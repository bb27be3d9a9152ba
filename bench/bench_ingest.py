"""Ingest throughput of newsrag vs SentenceTransformer.encode alone on the same chunk texts.

    .venv/bin/python -m bench.bench_ingest [--articles 1000] [--rounds 2]

Each round runs both, alternating, on the same machine state; the ratio of medians is reported
(these machines are noisy)."""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from pathlib import Path

from bench.common import news_articles
from index.chunking import ChunkingParams
from index.ingest import Indexer, embedding_text, open_or_create
from retrieval.models.embedder import Embedder


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--dtype", default="float32", choices=["float32", "bfloat16", "int8"])
    args = ap.parse_args()
    articles = news_articles(args.articles)
    emb = Embedder(dtype=args.dtype)
    emb.load()
    params = ChunkingParams()
    ours, raw = [], []
    chunks = 0
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            store = open_or_create(Path(tmp) / "idx", emb, params)
            indexer = Indexer(store, emb)
            t = time.perf_counter()
            report = indexer.ingest_articles(articles)
            ours.append(time.perf_counter() - t)
            chunks = report.chunks
            texts = [
                embedding_text(a, s.text) for a in articles for s in indexer.chunker.chunk(a.body)
            ]
            store.close()
        model = emb.load()
        t = time.perf_counter()
        model.encode(texts, batch_size=emb.batch_size, normalize_embeddings=True)
        raw.append(time.perf_counter() - t)
    o, r = statistics.median(ours), statistics.median(raw)
    print(
        json.dumps(
            {
                "articles": len(articles),
                "chunks": chunks,
                "dtype": args.dtype,
                "newsrag_s": round(o, 2),
                "raw_encode_s": round(r, 2),
                "newsrag_articles_per_s": round(len(articles) / o, 1),
                "newsrag_chunks_per_s": round(chunks / o, 1),
                "raw_chunks_per_s": round(len(texts) / r, 1),
                "throughput_ratio": round(r / o, 3),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

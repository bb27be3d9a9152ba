"""The embedder's precisions side by side on the same real news chunks: speed and agreement.

    .venv/bin/python -m bench.bench_embed_dtype [--articles 60] [--rounds 2]

Decides what `embed_dtype=auto` picks on a CPU: bf16 is fast only where the CPU computes it
natively (AMX, AVX512-BF16); elsewhere torch emulates it. Rounds alternate the precisions so
that noise on the machine falls on all of them; the ratio of medians to float32 is printed."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

import numpy as np

from bench.common import news_articles
from index.chunking import Chunker
from index.ingest import embedding_text
from retrieval.models.cpu import FAST_BF16_FLAGS, cpu_flags
from retrieval.models.embedder import Embedder, resolve_dtype


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text(errors="replace").splitlines():
        if line.startswith("model name"):
            return line.partition(":")[2].strip()
    return "unknown"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--articles", type=int, default=60)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    reference = Embedder(dtype="float32")
    chunker = Chunker(reference.count_tokens)
    texts = [
        embedding_text(a, c.text)
        for a in news_articles(args.articles)
        for c in chunker.chunk(a.body)
    ]
    dtypes = ["float32", "bfloat16", "int8"]
    models = {d: Embedder(dtype=d) for d in dtypes}  # type: ignore[arg-type]
    for m in models.values():
        m.encode(texts[:4])
    seconds: dict[str, list[float]] = {d: [] for d in dtypes}
    vectors: dict[str, np.ndarray] = {}
    for _ in range(args.rounds):
        for d in dtypes:
            t = time.perf_counter()
            vectors[d] = models[d].encode(texts)
            seconds[d].append(time.perf_counter() - t)
    base = statistics.median(seconds["float32"])
    flags = cpu_flags()
    print(
        json.dumps(
            {
                "cpu": cpu_name(),
                "fast_bf16_flags": sorted(flags & FAST_BF16_FLAGS),
                "auto_picks": resolve_dtype("auto", flags),
                "chunks": len(texts),
                "by_dtype": {
                    d: {
                        "chunks_per_s": round(len(texts) / statistics.median(seconds[d]), 1),
                        "time_vs_float32": round(statistics.median(seconds[d]) / base, 2),
                        "min_cosine_to_float32": round(
                            float(np.min(np.sum(vectors[d] * vectors["float32"], axis=1))), 4
                        ),
                    }
                    for d in dtypes
                },
            },
            indent=1,
        )
    )


if __name__ == "__main__":
    main()

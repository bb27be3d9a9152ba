"""Large-index benchmark: 1,000,000 synthetic 384-d normalised vectors, the IVF index newsrag
switches to when large vs exact search: build time, memory, search p50/p99, recall@10.

    .venv/bin/python -m bench.bench_ann [--n 1000000] [--queries 300]

The vectors are clustered (a mixture of Gaussians, like real sentence embeddings), not uniform
on the sphere: uniform 384-d data has no neighbourhood structure for any ANN index to use.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import time

import faiss
import numpy as np

from retrieval.store.ann import build_index


def clustered(
    n: int, dim: int, clusters: int, center_seed: int, point_seed: int, noise: float = 0.6
) -> np.ndarray:
    """Points around shared cluster centres (centre_seed) drawn with their own seed."""
    centers = np.random.default_rng(center_seed).normal(size=(clusters, dim)).astype(np.float32)
    rng = np.random.default_rng(point_seed)
    out = np.empty((n, dim), dtype=np.float32)
    step = 100_000
    for i in range(0, n, step):
        m = min(step, n - i)
        x = centers[rng.integers(0, clusters, m)] + noise * rng.normal(size=(m, dim)).astype(
            np.float32
        )
        out[i : i + m] = x / np.linalg.norm(x, axis=1, keepdims=True)
    return out


def rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--dim", type=int, default=384)
    ap.add_argument("--queries", type=int, default=300)
    ap.add_argument("--nprobe", type=int, nargs="*", default=[16, 32, 48, 64])
    ap.add_argument("--noise", type=float, default=0.6, help="cluster spread (1.0+ is harder)")
    args = ap.parse_args()
    faiss.omp_set_num_threads(1)  # per-query latency as one request sees it
    x = clustered(args.n, args.dim, 2000, center_seed=1, point_seed=2, noise=args.noise)
    # Same centres, new points: queries from the data's distribution, none of them indexed.
    q = clustered(args.queries, args.dim, 2000, center_seed=1, point_seed=3, noise=args.noise)
    ids = np.arange(args.n, dtype=np.int64)
    base_rss = rss_mb()

    t = time.perf_counter()
    flat = faiss.IndexFlatIP(args.dim)
    flat.add(x)
    flat_build = time.perf_counter() - t
    truth = []
    flat_lat = []
    for row in q:
        t = time.perf_counter()
        _, i = flat.search(row[None, :], 10)
        flat_lat.append((time.perf_counter() - t) * 1000)
        truth.append(set(i[0].tolist()))
    del flat

    faiss.omp_set_num_threads(2)
    t = time.perf_counter()
    ivf = build_index(args.dim, x, ids)
    ivf_build = time.perf_counter() - t
    ivf_rss = rss_mb()
    faiss.omp_set_num_threads(1)
    rows = []
    for nprobe in args.nprobe:
        faiss.extract_index_ivf(ivf).nprobe = nprobe
        lat, rec = [], []
        for row, gold in zip(q, truth, strict=True):
            t = time.perf_counter()
            _, i = ivf.search(row[None, :], 10)
            lat.append((time.perf_counter() - t) * 1000)
            rec.append(len(gold & set(i[0].tolist())) / 10)
        rows.append(
            {
                "nprobe": nprobe,
                "p50_ms": round(statistics.median(lat), 2),
                "p99_ms": round(sorted(lat)[int(0.99 * (len(lat) - 1))], 2),
                "recall@10": round(statistics.fmean(rec), 4),
            }
        )
    print(
        json.dumps(
            {
                "n": args.n,
                "noise": args.noise,
                "dim": args.dim,
                "nlist": faiss.extract_index_ivf(ivf).nlist,
                "exact": {
                    "build_s": round(flat_build, 1),
                    "p50_ms": round(statistics.median(flat_lat), 2),
                },
                "ivf": {
                    "build_s": round(ivf_build, 1),
                    "peak_rss_mb": round(ivf_rss, 0),
                    "rss_before_mb": round(base_rss, 0),
                    "by_nprobe": rows,
                },
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

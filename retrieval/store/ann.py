"""FAISS indexes: chosen by size (exact while small, IVF when large) and kept on disk as
snapshots (retrieval/store/vectors.py decides when).

Exact inner-product search is the best choice up to ~100k vectors (a few ms on 2 cores). Beyond
that an inverted-file index keeps search in milliseconds; IVF, unlike HNSW, supports removing
vectors, which deletes and updates need. Measured in bench/bench_ann.py (docs/BENCHMARKS.md).
"""

from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import faiss
import numpy as np

logger = logging.getLogger(__name__)

IVF_MIN_VECTORS = 100_000
DEFAULT_NPROBE = 48


def index_kind(index: faiss.Index) -> str:
    return "IVF,Flat" if isinstance(index, faiss.IndexIVF) else "IDMap2,Flat"


def build_index(
    dim: int,
    vectors: np.ndarray,
    ids: np.ndarray,
    ivf_min: int = IVF_MIN_VECTORS,
    nprobe: int = DEFAULT_NPROBE,
    seed: int = 0,
) -> faiss.Index:
    """A new index holding `vectors` under `ids` (normalised vectors, inner product)."""
    n = len(vectors)
    if n < ivf_min:
        index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))
        if n:
            index.add_with_ids(vectors, ids)
        return index
    nlist = int(4 * math.sqrt(n))
    quantizer = faiss.IndexFlatIP(dim)
    ivf = faiss.IndexIVFFlat(quantizer, dim, nlist, faiss.METRIC_INNER_PRODUCT)
    rng = np.random.default_rng(seed)
    sample = vectors[rng.choice(n, size=min(n, 64 * nlist), replace=False)]
    ivf.train(sample)
    # Reconstruct and remove by id; the Python wrapper keeps `quantizer` alive with `ivf`.
    ivf.set_direct_map_type(faiss.DirectMap.Hashtable)  # type: ignore[attr-defined]
    ivf.add_with_ids(vectors, ids)
    ivf.nprobe = nprobe
    return ivf


def read_snapshot_file(path: Path) -> faiss.Index | None:
    """A snapshot, or None when it is missing or unreadable (the rows rebuild it)."""
    if not path.exists():
        return None
    try:
        return faiss.read_index(str(path))
    except RuntimeError:
        logger.warning("vector snapshot %s is unreadable; rebuilding from the rows", path)
        return None


def write_snapshot(folder: Path, index: faiss.Index, tag: int) -> str:
    """Write atomically (temporary file, then rename); returns the file name."""
    final = folder / f"vectors.{tag}.faiss"
    tmp = final.with_name(f".{final.name}.tmp")
    faiss.write_index(index, str(tmp))
    os.replace(tmp, final)
    return final.name

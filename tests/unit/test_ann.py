from __future__ import annotations

import numpy as np

from retrieval.store.ann import build_index, index_kind


def _data(n: int, dim: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    centers = rng.normal(size=(20, dim))
    x = centers[rng.integers(0, 20, n)] + 0.3 * rng.normal(size=(n, dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def test_small_is_exact_large_is_ivf_with_ids_reconstruct_and_remove():
    x = _data(3000)
    ids = np.arange(10, 3010, dtype=np.int64)
    assert index_kind(build_index(32, x, ids, ivf_min=5000)) == "IDMap2,Flat"
    ivf = build_index(32, x, ids, ivf_min=1000, nprobe=64)
    assert index_kind(ivf) == "IVF,Flat"
    _, got = ivf.search(x[:20], 1)
    assert (got[:, 0] == ids[:20]).mean() >= 0.95
    assert np.allclose(ivf.reconstruct(int(ids[5])), x[5])
    ivf.remove_ids(np.array([ids[0]], dtype=np.int64))  # type: ignore[arg-type]
    _, got = ivf.search(x[:1], 5)
    assert ids[0] not in got[0]
    assert ivf.ntotal == 2999

"""Micro-batching of concurrent query embeddings."""

from __future__ import annotations

import threading
import time
from typing import Any

import numpy as np
import pytest

from retrieval.models.embedder import QueryBatcher
from tests.fakes import FakeEmbedder


class SlowEmbedder(FakeEmbedder):
    """A forward pass that takes a while, like a real one, and records its batch sizes."""

    def __init__(self, fail_on: str | None = None) -> None:
        super().__init__()
        self.sizes: list[int] = []
        self.fail_on = fail_on

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        time.sleep(0.05)
        self.sizes.append(len(texts))
        if self.fail_on in texts:
            raise RuntimeError("encoder failed")
        return super().encode(texts)


def _concurrently(batcher: QueryBatcher, texts: list[str]) -> dict[str, Any]:
    results: dict[str, Any] = {}
    start = threading.Barrier(len(texts))

    def one(text: str) -> None:
        start.wait()
        try:
            results[text] = batcher.encode(text)
        except Exception as exc:  # collected for the assertions
            results[text] = exc

    threads = [threading.Thread(target=one, args=(t,)) for t in texts]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    return results


def test_concurrent_queries_share_forward_passes_and_get_their_own_vectors():
    emb = SlowEmbedder()
    batcher = QueryBatcher(emb)
    texts = [f"question number {i} about topic{i}" for i in range(16)]
    results = _concurrently(batcher, texts)
    expected = FakeEmbedder().encode(texts)
    for i, t in enumerate(texts):
        assert np.allclose(results[t], expected[i])
    assert sum(emb.sizes) == 16 == batcher.queries
    # While the first pass runs (50 ms), the other 15 queue up and go together.
    assert len(emb.sizes) < 16 and max(emb.sizes) > 1


def test_batch_size_is_capped():
    emb = SlowEmbedder()
    batcher = QueryBatcher(emb, max_batch=4)
    _concurrently(batcher, [f"q{i}" for i in range(12)])
    assert max(emb.sizes) <= 4 and sum(emb.sizes) == 12


def test_a_failing_pass_fails_its_queries_and_the_batcher_keeps_working():
    emb = SlowEmbedder(fail_on="poison")
    batcher = QueryBatcher(emb, max_wait_ms=200)  # one batch: the poison shares it
    results = _concurrently(batcher, ["poison", "innocent"])
    assert all(isinstance(r, RuntimeError) for r in results.values())
    assert np.allclose(batcher.encode("later"), FakeEmbedder().encode(["later"])[0])


def test_retriever_with_batching_returns_the_same_hits(tmp_path):
    from index.chunking import ChunkingParams
    from index.ingest import Indexer, open_or_create
    from index.parse import parse_text
    from retrieval.find.search import Retriever

    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams())
    Indexer(store, emb).ingest_articles(
        [
            parse_text(f"2024-09-2{i}\n\nStory {i}\n\nWord{i} appears in story {i}.", f"s{i}")
            for i in range(5)
        ]
    )
    plain = Retriever(store, emb)
    batched = Retriever(store, emb, batch_queries=True)
    for q in ["word3 story", "appears"]:
        a = [(h.chunk_id, h.score) for h in plain.search(q, 3)]
        b = [(h.chunk_id, h.score) for h in batched.search(q, 3)]
        assert a == b
    assert batched.batcher is not None and batched.batcher.queries == 2


@pytest.mark.parametrize("bad", [0, -1])
def test_max_batch_must_be_positive(bad):
    with pytest.raises(ValueError):
        QueryBatcher(FakeEmbedder(), max_batch=bad)

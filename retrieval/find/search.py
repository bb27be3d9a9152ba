"""Retrieval: dense (FAISS) and lexical (BM25) channels, fused with reciprocal rank fusion,
filtered by publication date and optionally preferring articles close to a reference date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np

from retrieval.errors import InvalidInputError
from retrieval.models.embedder import QueryBatcher, TextEncoder
from retrieval.store.base import Store
from retrieval.types import Hit, SearchFilter

Mode = Literal["dense", "bm25", "hybrid"]


@dataclass
class SearchConfig:
    mode: Mode = "hybrid"
    candidates: int = 50  # per channel, before fusion
    rrf_k: int = 60
    # RRF weight of the dense channel (BM25 has weight 1). On RealTime QA BM25 alone ranks
    # better than dense alone, and 0.5 gave the best fused MRR (docs/EVALUATION.md).
    dense_weight: float = 0.5
    # Recency preference: multiply the fused score by (1 - w) + w * 0.5 ** (age / half_life),
    # age in days before the reference date (the question date; today if none is given).
    recency_weight: float = 0.3
    recency_half_life_days: float = 30.0


def recency_factor(published: date | None, as_of: date, cfg: SearchConfig) -> float:
    """(1 - w) + w × 0.5 ** (age / half-life): 1 for an article of the reference day, down to
    1 - w for old ones. An undated article, or one dated after the reference day, gets the
    floor: lacking (or misstating) a date must never lift an article above better evidence."""
    floor = 1 - cfg.recency_weight
    if published is None or published > as_of:
        return floor
    decay = 0.5 ** ((as_of - published).days / cfg.recency_half_life_days)
    return floor + cfg.recency_weight * decay


class Retriever:
    def __init__(
        self,
        store: Store,
        embedder: TextEncoder,
        config: SearchConfig | None = None,
        batch_queries: bool = False,
    ) -> None:
        self.store = store
        self.embedder = embedder
        self.config = config or SearchConfig()
        # Concurrent requests share one forward pass of the embedder (docs/BENCHMARKS.md).
        self.batcher = QueryBatcher(embedder) if batch_queries else None

    def encode_query(self, query: str) -> np.ndarray:
        if self.batcher is not None:
            return self.batcher.encode(query)
        return self.embedder.encode([query])[0]

    def search(
        self,
        query: str,
        top_k: int,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
        mode: Mode | None = None,
        focus: date | None = None,
    ) -> list[Hit]:
        """The top_k chunks for `query`. `Hit.score` is the dense cosine of the chunk (a
        calibrated similarity used for abstention); `Hit.scores` has every channel's score.
        Recency is measured from `focus` when given (the time a question is about), else from
        `as_of`."""
        if top_k < 1:
            raise InvalidInputError(f"top_k must be >= 1, got {top_k}")
        cfg = self.config
        mode = mode or cfg.mode
        filters = filters or SearchFilter()
        self.store.refresh()
        qvec = self.encode_query(query)
        total = self.store.chunk_count()
        n = max(cfg.candidates, top_k)
        if filters.active:
            n *= 8
        while True:
            hits = self._fused(query, qvec, min(n, total), mode, focus or as_of, filters)
            hits = [h for h in hits if filters.accepts(h.published, h.source)]
            if len(hits) >= top_k or n >= total or not filters.active:
                return hits[:top_k]
            n *= 4

    def _fused(
        self,
        query: str,
        qvec: np.ndarray,
        n: int,
        mode: Mode,
        as_of: date | None,
        filters: SearchFilter | None = None,
    ) -> list[Hit]:
        cfg = self.config
        pushed = filters if filters is not None and filters.active else None
        dense = self.store.dense_search(qvec, n, pushed) if mode != "bm25" else []
        lexical = self.store.lexical_search(query, n, pushed) if mode != "dense" else []
        fused: dict[int, float] = {}
        for rank, (cid, _) in enumerate(dense):
            fused[cid] = fused.get(cid, 0.0) + cfg.dense_weight / (cfg.rrf_k + rank + 1)
        for rank, (cid, _) in enumerate(lexical):
            fused[cid] = fused.get(cid, 0.0) + 1.0 / (cfg.rrf_k + rank + 1)
        dense_score = dict(dense)
        bm25_score = dict(lexical)
        missing = [cid for cid in fused if cid not in dense_score]
        for cid, vec in self.store.vectors(missing).items():
            dense_score[cid] = float(vec @ qvec)
        hits = self.store.hits((cid, dense_score[cid]) for cid in fused if cid in dense_score)
        if as_of is None and cfg.recency_weight > 0:
            as_of = date.today()
        for h in hits:
            h.scores = {
                "dense": dense_score[h.chunk_id],
                "bm25": bm25_score.get(h.chunk_id, 0.0),
                "fused": fused[h.chunk_id],
            }
            if as_of is not None and cfg.recency_weight > 0:
                h.scores["fused"] *= recency_factor(h.published, as_of, cfg)
        key = "dense" if mode == "dense" else "bm25" if mode == "bm25" else "fused"
        hits.sort(key=lambda h: (-h.scores[key], h.chunk_id))
        return hits

"""Retrieval: dense search over the FAISS snapshot, filtered by publication date."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from retrieval.embedder import Embedder
from retrieval.errors import InvalidInputError
from retrieval.store import IndexStore
from retrieval.types import Hit


@dataclass(frozen=True)
class DateFilter:
    """Inclusive publication-date range; articles without a date never match a bounded range."""

    published_from: date | None = None
    published_to: date | None = None

    def __post_init__(self) -> None:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise InvalidInputError(
                f"filters.published_from ({self.published_from}) is after "
                f"filters.published_to ({self.published_to})"
            )

    @property
    def active(self) -> bool:
        return self.published_from is not None or self.published_to is not None

    def accepts(self, published: date | None) -> bool:
        if not self.active:
            return True
        if published is None:
            return False
        if self.published_from and published < self.published_from:
            return False
        return not (self.published_to and published > self.published_to)


class Retriever:
    def __init__(self, store: IndexStore, embedder: Embedder) -> None:
        self.store = store
        self.embedder = embedder

    def search(self, query: str, top_k: int, filters: DateFilter | None = None) -> list[Hit]:
        if top_k < 1:
            raise InvalidInputError(f"top_k must be >= 1, got {top_k}")
        vec = self.embedder.encode([query])[0]
        filters = filters or DateFilter()
        if not filters.active:
            return self.store.hits(self.store.dense_search(vec, top_k))
        # Widen the search until enough hits pass the filter (or the index is exhausted).
        k = top_k * 8
        total = self.store.chunk_count()
        while True:
            scored = self.store.dense_search(vec, min(k, total))
            hits = [h for h in self.store.hits(scored) if filters.accepts(h.published)]
            if len(hits) >= top_k or k >= total:
                return hits[:top_k]
            k *= 4

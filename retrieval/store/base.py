"""The store contract: what the search, the indexer and the core call on an index, whatever
holds it. `IndexStore` (directory.py: SQLite + FTS5 + FAISS in one directory) is the embedded
implementation; `PostgresStore` (postgres.py: PostgreSQL + pgvector) the one past one host.
Fusion, recency and evidence selection stay above the store, shared by both; date and outlet
filters are pushed down where the engine can apply them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import numpy as np

from retrieval.errors import DuplicateTextError
from retrieval.store.manifest import Manifest
from retrieval.store.schema import StoredArticle
from retrieval.types import Article, ChunkSpan, DuplicateText, Hit, SearchFilter


@dataclass
class WriteResult:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)

    def skips_duplicate(
        self, holder: str | None, article: Article, on_duplicate_text: DuplicateText
    ) -> bool:
        """Whether `article` is skipped because article `holder` stores its text (reported
        in `duplicates`); under another id with REFUSE, DuplicateTextError ends the write."""
        if holder is None:
            return False
        if holder != article.id and on_duplicate_text is DuplicateText.REFUSE:
            raise DuplicateTextError(duplicate_message(article.id, holder))
        self.duplicates.append(holder)
        return True


def duplicate_message(article_id: str, holder: str) -> str:
    return (
        f"{article_id}: its text is already stored as article {holder!r}; "
        "change the text, or delete or replace that article"
    )


class Store(Protocol):
    """An index: articles, their chunks with vectors, full-text search over the chunks."""

    manifest: Manifest  # the embedder and chunking the index was built with
    readonly: bool

    # -- searching ------------------------------------------------------------------------------
    def refresh(self) -> bool:
        """See writes committed by other processes; True when something changed."""
        ...

    def chunk_count(self) -> int: ...

    def article_count(self) -> int: ...

    def dense_search(
        self, query: np.ndarray, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, inner product) of the `k` nearest chunk vectors. An engine that can
        applies `filters` itself (only matching chunks come back); one that cannot ignores
        them — the search filters the hits either way."""
        ...

    def lexical_search(
        self, query: str, k: int, filters: SearchFilter | None = None
    ) -> list[tuple[int, float]]:
        """(chunk id, BM25 score, higher is better) of the `k` best full-text matches
        (`filters` as for `dense_search`)."""
        ...

    def vectors(self, chunk_ids: list[int]) -> dict[int, np.ndarray]: ...

    def hits(self, scored: Iterable[tuple[int, float]]) -> list[Hit]:
        """The chunks with their articles' metadata, in the given order and score."""
        ...

    # -- articles -------------------------------------------------------------------------------
    def get_article(self, article_id: str) -> StoredArticle: ...

    def list_articles(
        self,
        limit: int = 50,
        offset: int = 0,
        published_from: date | None = None,
        published_to: date | None = None,
        source: str | None = None,
        outlets: Sequence[str] = (),
    ) -> tuple[list[StoredArticle], int]:
        """A page of articles, newest first, and the total count matching the filters:
        `source` exactly (the documents API's filter), `outlets` as `SearchFilter.sources`
        matches them (any of them, trimmed, case folded)."""
        ...

    # -- writing --------------------------------------------------------------------------------
    def check_writable(self) -> None:
        """ReadOnlyError (409) when this store may not be written."""
        ...

    def find_content(self, content_hash: str) -> str | None:
        """The id of the stored article with this body-text hash (dedup), if any."""
        ...

    def write_articles(
        self,
        items: Sequence[tuple[Article, Sequence[ChunkSpan], np.ndarray]],
        on_duplicate_text: DuplicateText = DuplicateText.SKIP,
    ) -> WriteResult:
        """Add or replace articles with their chunks and vectors, all or nothing."""
        ...

    def delete_article(self, article_id: str) -> int:
        """Delete an article and its chunks from every index; returns the chunk count."""
        ...

    def close(self) -> None: ...

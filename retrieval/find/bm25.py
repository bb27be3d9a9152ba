"""BM25 with bm25s over a small fixed set of texts (the sentences evidence selection scores;
the index's own lexical search is SQLite FTS5, retrieval/store/lexical.py)."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

import numpy as np

logger = logging.getLogger(__name__)


def _bm25s() -> Any:
    import bm25s

    # bm25s sets its own logger to DEBUG when imported and logs every index it builds.
    logging.getLogger("bm25s").setLevel(logging.WARNING)
    return bm25s


def _stemmer() -> Any:
    try:
        import Stemmer

        return Stemmer.Stemmer("english")
    except ImportError:  # pragma: no cover - PyStemmer is a dependency
        return None


class BM25Index:
    """BM25 (Lucene variant) over a fixed set of (chunk id, text) pairs."""

    def __init__(self, docs: Iterable[tuple[int, str]], k1: float = 1.2, b: float = 0.75) -> None:
        bm25s = _bm25s()

        pairs = list(docs)
        self.ids = np.array([cid for cid, _ in pairs], dtype=np.int64)
        self._stem = _stemmer()
        self._retriever = bm25s.BM25(k1=k1, b=b)
        self._empty = not pairs
        if pairs:
            tokens = bm25s.tokenize(
                [t for _, t in pairs], stopwords="en", stemmer=self._stem, show_progress=False
            )
            self._retriever.index(tokens, show_progress=False)
            self._vocab = tokens.vocab

    def search(self, query: str, k: int) -> list[tuple[int, float]]:
        """Top-k (chunk id, BM25 score) with score > 0."""
        bm25s = _bm25s()

        if self._empty or k <= 0:
            return []
        words = bm25s.tokenize(
            [query], stopwords="en", stemmer=self._stem, return_ids=False, show_progress=False
        )[0]
        ids = [self._vocab[w] for w in words if w in self._vocab]
        if not ids:
            return []
        scores = self._retriever.get_scores(ids)
        k = min(k, len(scores))
        top = np.argpartition(-scores, k - 1)[:k]
        top = top[np.argsort(-scores[top], kind="stable")]
        return [(int(self.ids[i]), float(scores[i])) for i in top if scores[i] > 0]

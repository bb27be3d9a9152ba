"""(Re)indexing: parse, dedup, chunk, embed and commit articles to an index directory."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from index.chunking import Chunker, ChunkingParams
from index.formats import load_articles
from index.parse import ParseError, discover
from retrieval.errors import DuplicateTextError, InvalidInputError
from retrieval.models.embedder import TextEncoder
from retrieval.store.base import Store, duplicate_message
from retrieval.store.directory import IndexStore
from retrieval.store.manifest import Manifest
from retrieval.types import Article, ChunkSpan, DuplicateText

logger = logging.getLogger(__name__)

# Tokens kept for the "title (date)" line embedded with every chunk.
PREFIX_TOKENS = 48


def embedding_text(article: Article, chunk_text: str) -> str:
    """The text that is embedded for a chunk: its article's title and date give it context."""
    title = article.title if len(article.title) <= 200 else article.title[:200]
    date = f" ({article.published.isoformat()})" if article.published else ""
    return f"{title}{date}\n{chunk_text}"


@dataclass
class IngestReport:
    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)
    chunks: int = 0


def manifest_for(embedder: TextEncoder, params: ChunkingParams) -> Manifest:
    return Manifest(
        embedder=embedder.name,
        dimension=embedder.dimension,
        chunking={
            "max_tokens": params.max_tokens,
            "overlap_tokens": params.overlap_tokens,
            "prefix": "title (date)",
            "tokenizer": embedder.name,
        },
    )


def open_or_create(path: Path, embedder: TextEncoder, params: ChunkingParams) -> IndexStore:
    """Open the index at `path` (checking the embedder) or create an empty one."""
    return IndexStore.create(path, manifest_for(embedder, params))


class Indexer:
    """Adds articles to a store. Articles are committed in batches, each batch in one
    transaction: after a crash every article is either fully searchable or absent."""

    def __init__(self, store: Store, embedder: TextEncoder, batch_articles: int = 32) -> None:
        self.store = store
        self.embedder = embedder
        chunking = store.manifest.chunking
        self.params = ChunkingParams(
            max_tokens=int(chunking["max_tokens"]), overlap_tokens=int(chunking["overlap_tokens"])
        )
        limit = embedder.max_tokens - 2 - PREFIX_TOKENS
        if self.params.max_tokens > limit:
            raise InvalidInputError(
                f"chunk max_tokens {self.params.max_tokens} exceeds what {embedder.name} can "
                f"embed with its title prefix ({limit})"
            )
        self.chunker = Chunker(embedder.count_tokens, self.params)
        self.batch_articles = batch_articles

    def ingest_paths(
        self, paths: list[Path], progress: Callable[[int], None] | None = None
    ) -> IngestReport:
        files, problems = discover(paths)
        report = IngestReport(failed=[(str(p), why) for p, why in problems])

        def articles() -> Iterable[Article]:
            for f in files:
                try:
                    yield from load_articles(f)
                except ParseError as exc:
                    logger.warning("skipped %s: %s", f, exc)
                    report.failed.append((str(f), str(exc)))
                    if progress:
                        progress(1)

        self.ingest_articles(articles(), report=report, progress=progress)
        return report

    def ingest_articles(
        self,
        articles: Iterable[Article],
        report: IngestReport | None = None,
        progress: Callable[[int], None] | None = None,
        on_duplicate_text: DuplicateText = DuplicateText.SKIP,
    ) -> IngestReport:
        """Index articles in batches. An existing id with new text is updated. Text that is
        already stored (or repeated in this batch) is a duplicate and is not embedded again;
        under another id it is skipped and reported, or refused (DuplicateTextError)."""
        report = report or IngestReport()
        batch: list[Article] = []
        seen: dict[str, str] = {}
        for art in articles:
            digest = art.content_hash
            known = seen.get(digest) or self.store.find_content(digest)
            if known is not None:
                if known != art.id and on_duplicate_text is DuplicateText.REFUSE:
                    raise DuplicateTextError(duplicate_message(art.id, known))
                report.duplicates.append(known)
                if progress:
                    progress(1)
                continue
            seen[digest] = art.id
            batch.append(art)
            if len(batch) >= self.batch_articles:
                self._commit(batch, report, progress, on_duplicate_text)
                batch = []
        if batch:
            self._commit(batch, report, progress, on_duplicate_text)
        return report

    def _commit(
        self,
        batch: list[Article],
        report: IngestReport,
        progress: Callable[[int], None] | None,
        on_duplicate_text: DuplicateText,
    ) -> None:
        spans: list[list[ChunkSpan]] = [self.chunker.chunk(a.body) for a in batch]
        texts = [embedding_text(a, s.text) for a, ss in zip(batch, spans, strict=True) for s in ss]
        vecs = self.embedder.encode(texts)
        items: list[tuple[Article, list[ChunkSpan], np.ndarray]] = []
        pos = 0
        for art, ss in zip(batch, spans, strict=True):
            items.append((art, ss, vecs[pos : pos + len(ss)]))
            pos += len(ss)
        result = self.store.write_articles(items, on_duplicate_text)
        report.added.extend(result.added)
        report.updated.extend(result.updated)
        report.duplicates.extend(result.duplicates)
        written = set(result.added) | set(result.updated)
        report.chunks += sum(len(ss) for a, ss in zip(batch, spans, strict=True) if a.id in written)
        if progress:
            progress(len(batch))

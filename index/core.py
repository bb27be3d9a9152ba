"""One way to build and drive newsrag: `CoreConfig` → `Models` → `Newsrag`.

Every door (the HTTP service, the CLI, `newsrag eval`, `bench/`) builds the system here and
nothing else, so backend, preset, embedder dtype and index settings mean the same everywhere.
It lives in `index/` because it is the top of the core: it needs both ingest (this package)
and retrieval; it imports no web framework and reads no environment variables (the doors turn
their settings into a `CoreConfig`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from index.chunking import ChunkingParams
from index.feedback import FEEDBACK_DB, FeedbackStore, Rating
from index.feeds import (
    Feed,
    FeedPoller,
    FeedRegistry,
    PollResult,
    fetch_articles,
    fetch_page,
    is_feed,
    page_article,
)
from index.fetch import FetchConfig, Fetcher
from index.formats import Limits
from index.ingest import Indexer, IngestReport, manifest_for
from retrieval.errors import IndexNotFoundError
from retrieval.find.search import Retriever, SearchConfig
from retrieval.models.base import TextGenerator
from retrieval.models.cpu import TorchDtype
from retrieval.models.embedder import Embedder, EmbedDtype, TextEncoder
from retrieval.options import AskOptions, PipelineConfig, StreamEvent
from retrieval.pipeline import RAGPipeline
from retrieval.store.base import Store
from retrieval.store.directory import IndexStore, StoredArticle
from retrieval.types import Answer, Article, DuplicateText, Hit, SearchFilter

Backend = Literal["transformers", "llamacpp", "openai"]


@dataclass(frozen=True)
class CoreConfig:
    """Everything that decides what newsrag computes (the doors fill it from their settings)."""

    index_dir: Path = Path("data/index")
    # postgresql://…: the index, its feeds and its ratings in that database
    # (retrieval/store/postgres.py) instead of the directory.
    store_url: str | None = None
    preset: str = "base"
    backend: Backend = "llamacpp"
    # llamacpp: the GGUF encoding (retrieval.models.llamacpp_backend.ENCODINGS)
    weights: str = "bf16"
    cache_dir: Path = Path.home() / ".cache" / "newsrag"
    openai_base_url: str = "http://127.0.0.1:8080/v1"
    openai_model: str = "newsrag"
    openai_api_key: str | None = None
    embed_dtype: EmbedDtype = "auto"
    query_batching: bool = False
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    readonly: bool = False
    prompt_lookup: int = 10  # transformers: draft tokens per step from the prompt (0: off)
    generator_dtype: TorchDtype = "auto"  # transformers: bf16 only where the CPU has it
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    search: SearchConfig = field(default_factory=SearchConfig)
    fetch: FetchConfig = field(default_factory=FetchConfig)  # feeds and pages from URLs
    limits: Limits = field(default_factory=Limits)  # what an article may be
    feedback_path: Path | None = None  # ratings of answers (default: beside the index)

    @property
    def chunking(self) -> ChunkingParams:
        return ChunkingParams(max_tokens=self.chunk_tokens, overlap_tokens=self.chunk_overlap)


def make_embedder(config: CoreConfig) -> Embedder:
    return Embedder(dtype=config.embed_dtype)


def make_generator(config: CoreConfig) -> TextGenerator:
    max_new = config.pipeline.max_new_tokens
    if config.backend == "openai":
        from retrieval.models.openai_backend import OpenAIChatGenerator

        return OpenAIChatGenerator(
            config.openai_base_url, config.openai_model, config.openai_api_key, max_new
        )
    if config.backend == "llamacpp":
        from retrieval.models.llamacpp_backend import LlamaCppGenerator

        return LlamaCppGenerator(config.preset, config.cache_dir, max_new, encoding=config.weights)
    from retrieval.models.transformers_backend import Generator

    return Generator(
        config.preset,
        config.cache_dir,
        max_new,
        prompt_lookup=config.prompt_lookup,
        dtype=config.generator_dtype,
    )


@dataclass
class LinkResult:
    """What `Newsrag.add_link` did with a link: added a page's article, or registered (and
    polled) a feed."""

    kind: Literal["article", "feed"]
    report: IngestReport | None = None
    feed: Feed | None = None
    created: bool = False
    poll: PollResult | None = None

    def to_dict(self) -> dict[str, Any]:
        report = self.report or IngestReport()
        poll = self.poll
        return {
            "kind": self.kind,
            "added": report.added + report.updated + (poll.added if poll else []),
            "duplicates": report.duplicates + (poll.duplicates if poll else []),
            "errors": poll.errors if poll else [],
            "feed": self.feed.to_dict() if self.feed else None,
            "feed_created": self.created,
        }


@dataclass
class Models:
    """The models, loaded once and shared by every index opened with them (the evaluation
    opens one index a week with the same models)."""

    embedder: TextEncoder
    generator: TextGenerator | None

    @classmethod
    def build(cls, config: CoreConfig, with_generator: bool = True) -> Models:
        return cls(make_embedder(config), make_generator(config) if with_generator else None)

    def load(self) -> None:
        self.embedder.load()
        if self.generator is not None:
            self.generator.load()


def index_exists(config: CoreConfig) -> bool:
    if config.store_url:
        from retrieval.store.pg_schema import index_in_database

        return index_in_database(config.store_url)
    return (Path(config.index_dir) / "manifest.json").exists()


def open_store(config: CoreConfig, embedder: TextEncoder | None, create: bool = False) -> Store:
    """The configured index — the directory, or with `store_url` the database — refusing one
    built with another embedder or chunking (`embedder` None: open it as it is)."""
    expect = manifest_for(embedder, config.chunking) if embedder is not None else None
    if config.store_url:
        from retrieval.store.postgres import PostgresStore

        if create and not config.readonly and expect is not None:
            return PostgresStore.create(config.store_url, expect)
        return PostgresStore.open(config.store_url, expect=expect, readonly=config.readonly)
    if create and not config.readonly and expect is not None:
        return IndexStore.create(config.index_dir, expect)
    return IndexStore.open(config.index_dir, expect=expect, readonly=config.readonly)


class Newsrag:
    """The system behind every door: ask, stream, search, and manage articles."""

    def __init__(self, config: CoreConfig, models: Models, store: Store) -> None:
        self.config = config
        self.models = models
        self.store = store
        self.retriever = Retriever(
            store, models.embedder, config.search, batch_queries=config.query_batching
        )
        self.pipeline = RAGPipeline(self.retriever, models.generator, config.pipeline)
        self._indexer: Indexer | None = None
        self._indexer_lock = threading.Lock()
        self._feeds: FeedPoller | None = None
        self.feedback = FeedbackStore(
            config.feedback_path or Path(config.index_dir) / FEEDBACK_DB,
            store_url=config.store_url,
        )

    @classmethod
    def open(
        cls,
        config: CoreConfig,
        models: Models | None = None,
        create: bool = False,
        with_generator: bool = True,
    ) -> Newsrag:
        """Open (or with `create`, create) the configured index with these models."""
        models = models or Models.build(config, with_generator)
        if not create and not index_exists(config):
            raise IndexNotFoundError(
                "no index yet: build one with `newsrag ingest seeds/` (or a folder of your "
                "articles), then retry"
            )
        return cls(config, models, open_store(config, models.embedder, create))

    # -- reading -------------------------------------------------------------------------------
    def warm(self) -> bool:
        """Make the first question as fast as later ones (`RAGPipeline.warm`)."""
        return self.pipeline.warm()

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        answer = self.pipeline.ask(question, options)
        as_of = options.as_of if options else None
        self.feedback.remember(answer, as_of.isoformat() if as_of else None)
        return answer

    def ask_stream(
        self,
        question: str,
        options: AskOptions | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        events = self.pipeline.ask_stream(question, options, cancel)
        # (validation has already run: a bad question raised above, before any event)
        return self._remembered(events, options.as_of if options else None)

    def _remembered(
        self, events: Iterator[StreamEvent], as_of: date | None
    ) -> Iterator[StreamEvent]:
        for event in events:
            if event.answer is not None:
                self.feedback.remember(event.answer, as_of.isoformat() if as_of else None)
            yield event

    def rate_answer(
        self, answer_id: str, rating: Rating, comment: str | None = None
    ) -> dict[str, Any]:
        """Keep a thumbs up/down on one of the recent answers, with that answer."""
        if self.config.store_url and self.store.readonly:  # (a directory replica may: the
            self.store.check_writable()  # ratings file is its own; a standby cannot write)
        return self.feedback.rate(answer_id, rating, comment)

    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
    ) -> list[Hit]:
        return self.pipeline.search(query, top_k, filters, as_of)

    def list_articles(
        self,
        limit: int = 50,
        offset: int = 0,
        published_from: date | None = None,
        published_to: date | None = None,
        source: str | None = None,
    ) -> tuple[list[StoredArticle], int]:
        return self.store.list_articles(limit, offset, published_from, published_to, source)

    def get(self, article_id: str) -> StoredArticle:
        return self.store.get_article(article_id)

    def stats(self) -> dict[str, Any]:
        """Index size, models and the counters kept by the retriever and the generator."""
        gen = self.models.generator
        batcher = self.retriever.batcher
        return {
            "articles": self.store.article_count(),
            "chunks": self.store.chunk_count(),
            "embedder": self.models.embedder.name,
            "generator": gen.name if gen is not None else "none",
            "query_passes": batcher.batches if batcher else 0,
            "queries_embedded": batcher.queries if batcher else 0,
            "prompt_tokens_reused": gen.usage.reused_prompt_tokens if gen is not None else 0,
        }

    # -- writing -------------------------------------------------------------------------------
    @property
    def indexer(self) -> Indexer:
        self.store.check_writable()
        with self._indexer_lock:
            if self._indexer is None:
                self._indexer = Indexer(self.store, self.models.embedder)
            return self._indexer

    def add(self, articles: Iterable[Article]) -> IngestReport:
        """Add articles; an existing id with new text is updated, text that is already stored
        is reported as a duplicate."""
        return self.indexer.ingest_articles(articles)

    def add_paths(self, paths: list[Path], progress: Any = None) -> IngestReport:
        return self.indexer.ingest_paths(paths, progress=progress)

    def replace(self, article: Article) -> IngestReport:
        """Create or replace one article; its text may not be another article's
        (DuplicateTextError, 409)."""
        return self.indexer.ingest_articles([article], on_duplicate_text=DuplicateText.REFUSE)

    # -- the web: pages and feeds ---------------------------------------------------------------
    @property
    def feeds(self) -> FeedPoller:
        with self._indexer_lock:
            if self._feeds is None:
                registry = FeedRegistry(
                    Path(self.config.index_dir), self.store.readonly, self.config.store_url
                )
                self._feeds = FeedPoller(
                    registry, Fetcher(self.config.fetch), self.add, self.config.limits
                )
            return self._feeds

    def add_feed(self, url: str) -> tuple[Feed, bool]:
        """Register a feed; (feed, whether it is new). Polling it is separate."""
        return self.feeds.registry.add(url, self.config.fetch.allow_private)

    def list_feeds(self) -> list[Feed]:
        return self.feeds.registry.all()

    def get_feed(self, feed_id: str) -> Feed:
        return self.feeds.registry.get(feed_id)

    def remove_feed(self, feed_id: str) -> None:
        self.feeds.registry.remove(feed_id)

    def poll_feeds(self, feed_id: str | None = None) -> list[PollResult]:
        """Poll one feed or all of them now: new items' pages are fetched and added."""
        if feed_id is not None:
            return [self.feeds.poll(feed_id)]
        return self.feeds.poll_all()

    def add_urls(self, urls: list[str]) -> IngestReport:
        """Fetch the pages and add their articles, all or nothing (ParseError, 422, names
        the first page that cannot be fetched or has no article)."""
        self.store.check_writable()  # before fetching anything
        return self.add(fetch_articles(urls, self.feeds.fetcher, self.config.limits))

    def add_link(self, url: str) -> LinkResult:
        """Add what a link points at, told apart by its content: a feed is registered and
        polled now; a page's article is added. ParseError (422) says why neither."""
        self.store.check_writable()  # before fetching anything
        page = fetch_page(url, self.feeds.fetcher)
        if not is_feed(page.content):
            report = self.add([page_article(page, url, self.config.limits)])
            return LinkResult("article", report=report)
        feed, created = self.add_feed(url)
        poll = self.feeds.poll(feed.id, page)  # what was just fetched is not fetched again
        return LinkResult("feed", feed=self.get_feed(feed.id), created=created, poll=poll)

    def delete(self, article_id: str) -> int:
        """Delete an article; its chunks leave both indexes. Returns the chunk count."""
        return self.store.delete_article(article_id)

    def close(self) -> None:
        self.feedback.close()
        if self._feeds is not None:
            self._feeds.registry.close()
            self._feeds.fetcher.close()
        self.store.close()

"""Build the core objects from settings, shared by the app and the CLI."""

from __future__ import annotations

import os

from index.chunking import ChunkingParams
from index.ingest import Indexer, manifest_for, open_or_create
from retrieval.embedder import Embedder
from retrieval.generator import Generator, TextGenerator
from retrieval.openai_backend import OpenAIChatGenerator
from retrieval.pipeline import PipelineConfig, RAGPipeline
from retrieval.search import Retriever
from retrieval.store import IndexStore
from service.settings import Settings

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def make_embedder(settings: Settings) -> Embedder:
    return Embedder(dtype=settings.embed_dtype)


def chunking_params(settings: Settings) -> ChunkingParams:
    return ChunkingParams(max_tokens=settings.chunk_tokens, overlap_tokens=settings.chunk_overlap)


def open_index(settings: Settings, embedder: Embedder, readonly: bool = False) -> IndexStore:
    """Open the configured index, refusing one built with another embedder."""
    expect = manifest_for(embedder, chunking_params(settings))
    return IndexStore.open(settings.index_dir, expect=expect, readonly=readonly)


def make_indexer(settings: Settings, embedder: Embedder) -> Indexer:
    store = open_or_create(settings.index_dir, embedder, chunking_params(settings))
    return Indexer(store, embedder)


def make_generator(settings: Settings) -> TextGenerator:
    if settings.backend == "openai":
        key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
        return OpenAIChatGenerator(
            settings.openai_base_url, settings.openai_model, key, settings.max_new_tokens
        )
    if settings.backend == "llamacpp":
        from retrieval.llamacpp_backend import LlamaCppGenerator

        return LlamaCppGenerator(settings.preset, settings.cache_dir, settings.max_new_tokens)
    return Generator(settings.preset, settings.cache_dir, settings.max_new_tokens)


def make_pipeline(
    settings: Settings, with_generator: bool = True, embedder: Embedder | None = None
) -> RAGPipeline:
    embedder = embedder or make_embedder(settings)
    store = open_index(settings, embedder, readonly=settings.readonly)
    generator = make_generator(settings) if with_generator else None
    config = PipelineConfig(
        top_k=settings.top_k,
        min_score=settings.min_score,
        max_new_tokens=settings.max_new_tokens,
        support_threshold=settings.support_threshold,
        unsupported=settings.unsupported,
    )
    retriever = Retriever(store, embedder, batch_queries=settings.query_batching)
    return RAGPipeline(retriever, generator, config)

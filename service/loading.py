"""The edge where settings become the core's configuration; every door builds through here."""

from __future__ import annotations

import os

from index.core import CoreConfig, Models, Newsrag
from index.fetch import FetchConfig
from index.formats import Limits
from retrieval.check.confidence import calibration_for
from retrieval.check.kind_confidence import kinds_calibration_for
from retrieval.find.evidence import EvidenceConfig
from retrieval.models.presets import llamacpp_weights
from retrieval.options import PipelineConfig
from service.settings import Settings


def offline() -> None:
    """No model hub, ever: models come from installed packages (set before models load)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def core_config(settings: Settings) -> CoreConfig:
    """The core's configuration from the service's settings."""
    key = settings.openai_api_key.get_secret_value() if settings.openai_api_key else None
    pipeline = PipelineConfig(
        top_k=settings.top_k,
        min_score=settings.min_score,
        min_sentence_score=settings.min_sentence_score,
        max_new_tokens=settings.max_new_tokens,
        support_threshold=settings.support_threshold,
        unsupported=settings.unsupported,
        min_confidence=settings.min_confidence,
        calibration_path=calibration_for(settings.preset),
        kinds_calibration_path=kinds_calibration_for(settings.preset),
        evidence=EvidenceConfig(
            enabled=settings.evidence_selection, budget_tokens=settings.evidence_tokens
        ),
        time_filters=settings.time_filters,
    )
    return CoreConfig(
        index_dir=settings.index_dir,
        store_url=settings.store_url.get_secret_value() if settings.store_url else None,
        preset=settings.preset,
        backend=settings.backend,
        weights=llamacpp_weights(settings.preset, settings.weights),
        cache_dir=settings.cache_dir,
        openai_base_url=settings.openai_base_url,
        openai_model=settings.openai_model,
        openai_api_key=key,
        embed_dtype=settings.embed_dtype,
        query_batching=settings.query_batching,
        chunk_tokens=settings.chunk_tokens,
        chunk_overlap=settings.chunk_overlap,
        readonly=settings.readonly,
        prompt_lookup=settings.prompt_lookup,
        generator_dtype=settings.generator_dtype,
        pipeline=pipeline,
        fetch=FetchConfig(
            timeout=settings.fetch_timeout,
            max_bytes=settings.fetch_max_bytes,
            host_delay=settings.fetch_host_delay,
            allow_private=settings.allow_private_urls,
        ),
        limits=Limits(max_article_chars=settings.max_article_chars),
        feedback_path=settings.feedback_path,
    )


def open_newsrag(settings: Settings, create: bool = False, with_generator: bool = True) -> Newsrag:
    offline()
    config = core_config(settings)
    return Newsrag.open(config, Models.build(config, with_generator), create=create)


def build_models(settings: Settings, with_generator: bool = True) -> Models:
    offline()
    return Models.build(core_config(settings), with_generator)

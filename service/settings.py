"""Settings from environment variables with the NEWSRAG_ prefix (read at the edges only)."""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_cache() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "newsrag"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="NEWSRAG_", extra="ignore")

    index_dir: Path = Field(Path("data/index"), description="index directory")
    store_url: SecretStr | None = Field(
        None,
        description="postgresql://user:password@host/db: keep the index in PostgreSQL + pgvector "
        "(several hosts, several writers) instead of the index directory",
    )
    # base on llama.cpp: the reader that gets answers right, at about the time small takes on
    # transformers (docs/EVALUATION.md, "Choosing the reader").
    preset: str = Field("base", description="generator: tiny|small|base or a model folder")
    cache_dir: Path = Field(default_factory=_default_cache, description="converted models")
    backend: Literal["transformers", "llamacpp", "openai"] = Field(
        "llamacpp",
        description="generator backend: llamacpp (default), transformers (the same weights "
        "dequantised, slower on 2 cores) or openai (a remote server)",
    )
    weights: Literal["auto", "bf16", "original", "q8_0"] = Field(
        "auto",
        description="llamacpp backend: the GGUF served: as packaged (original), re-encoded as "
        "bf16 or q8_0; auto: the preset's choice (base: original, 1.5x faster answers on 2 "
        "cores without AMX; tiny and small: bf16)",
    )
    openai_base_url: str = Field("http://127.0.0.1:8080/v1", description="for backend=openai")
    openai_model: str = Field("newsrag", description="model name for backend=openai")
    openai_api_key: SecretStr | None = None
    embed_dtype: Literal["auto", "float32", "bfloat16", "int8"] = Field(
        "auto",
        description="embedder precision; auto: bfloat16 on CPUs with AMX or AVX512-BF16 (2.7x "
        "faster there), float32 elsewhere (bf16 is emulated and ~5x slower); same retrieval",
    )
    query_batching: bool = Field(
        True, description="encode the queries of concurrent requests in one forward pass"
    )
    generator_dtype: Literal["auto", "float32", "bfloat16"] = Field(
        "auto",
        description="transformers backend precision; auto: bfloat16 on CPUs with AMX or "
        "AVX512-BF16, float32 elsewhere (bf16 is emulated there: ~2-4x slower)",
    )
    prompt_lookup: int = Field(
        10,
        ge=0,
        le=64,
        description="transformers backend: tokens drafted from the prompt per step (0: off)",
    )
    top_k: int = Field(5, ge=1, le=50)
    min_score: float = Field(
        0.25,
        description="abstain without calling the model when the best retrieval score is lower "
        "(the cheap first cut; the calibrated confidence decides the rest)",
    )
    min_sentence_score: float = Field(
        0.40,
        ge=0,
        le=1,
        description="… unless an evidence sentence is at least this close to the question in "
        "meaning (or the question names someone or something, not a country, its sources name)",
    )
    min_confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="abstain when the answer's calibrated confidence is lower (default: the "
        "operating point stored with the calibration; 0: never)",
    )
    max_new_tokens: int = Field(96, ge=8, le=1024)
    support_threshold: float = Field(0.5, ge=0, le=1, description="citation support needed")
    unsupported: Literal["abstain", "flag"] = Field(
        "abstain", description="an answer no source supports: abstain, or keep it flagged"
    )
    evidence_selection: bool = Field(
        True, description="show the model the sentences that answer, not whole chunks"
    )
    evidence_tokens: int = Field(
        480, ge=64, le=4000, description="evidence shown the model, in approximate tokens"
    )
    chunk_tokens: int = Field(200, ge=16, le=206)
    chunk_overlap: int = Field(40, ge=0)
    readonly: bool = Field(False, description="serve the index read-only (replicas)")
    api_key: SecretStr | None = Field(None, description="required for writes when set")
    allowed_hosts: list[str] = Field(
        ["127.0.0.1", "localhost", "[::1]"],
        description="Host header values served (DNS-rebinding defence); '*' for any",
    )
    allowed_origins: list[str] = Field(
        [], description="browser origins (scheme://host:port) allowed to POST/PUT/DELETE"
    )
    protect_reads: bool = Field(False, description="also require the API key for reads")
    max_body_bytes: int = Field(20 * 1024 * 1024, ge=1024)
    max_files: int = Field(100, ge=1)
    max_article_chars: int = Field(200_000, ge=100)
    max_articles_per_request: int = Field(1000, ge=1)
    feedback_path: Path | None = Field(
        None, description="where ratings are kept (default: feedback.sqlite in the index)"
    )
    time_filters: bool = Field(
        True, description="read a date window from the question's words ('last week')"
    )
    warm_up: bool = Field(
        True,
        description="`newsrag serve`: read the prompt's common opening into the reader's cache "
        "at start (/health says 'warming' until done)",
    )
    feed_poll_minutes: float = Field(
        30, ge=0, description="poll registered feeds this often in `newsrag serve` (0: never)"
    )
    allow_private_urls: bool = Field(
        False, description="let feeds and URL ingest fetch loopback/private addresses"
    )
    fetch_timeout: float = Field(10.0, gt=0, le=120, description="seconds per fetched page")
    fetch_max_bytes: int = Field(5 * 1024 * 1024, ge=1024, description="largest page or feed")
    fetch_host_delay: float = Field(1.0, ge=0, description="seconds between fetches per host")
    host: str = "127.0.0.1"
    port: int = 8000
    log_level: str = "info"


@lru_cache
def get_settings() -> Settings:
    return Settings()

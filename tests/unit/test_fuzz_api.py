"""Fuzz the whole HTTP API from its own OpenAPI schema: no 5xx, every 4xx explains itself."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, settings

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from index.parse import parse_text
from retrieval.options import PipelineConfig
from service.app import create_app
from service.settings import Settings
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag
from tests.unit.test_store import ARTICLES


def _app(tmp_dir):
    emb = FakeEmbedder()
    store = open_or_create(tmp_dir / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    rag = make_newsrag(
        tmp_dir / "idx", emb, FakeGenerator(), PipelineConfig(min_score=0.3, min_confidence=0.0)
    )
    # schemathesis addresses the ASGI app as "testserver".
    settings = Settings(index_dir=tmp_dir / "idx", api_key="fuzz-key", allowed_hosts=["testserver"])
    return create_app(settings, rag)


# Built at import: schemathesis needs the schema when tests are collected.
_TMP = Path(tempfile.mkdtemp(prefix="newsrag-fuzz-"))
atexit.register(shutil.rmtree, _TMP, True)
_APP = _app(_TMP)
schema = schemathesis.openapi.from_asgi("/openapi.json", _APP)


@schema.parametrize()
@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.function_scoped_fixture,
    ],
)
def test_no_server_errors(case):
    response = case.call(headers={"Authorization": "Bearer fuzz-key"})
    assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
    if 400 <= response.status_code < 500:
        body = response.json()
        assert isinstance(body.get("detail"), str) and body["detail"].strip(), response.text


class _Documents(schema.as_state_machine()):  # type: ignore[misc]
    """Stateful: sequences of writes, reads and deletes that follow the schema's links (an
    article added, then shown, replaced, deleted, shown again…)."""

    def setup(self) -> None:
        # Every scenario starts from the same articles (Hypothesis replays scenarios and needs
        # them to behave the same way each time).
        rag = _APP.state.holder.newsrag
        while True:
            items, _ = rag.list_articles(500, 0)
            if not items:
                break
            for item in items:
                rag.delete(item.article.id)
        rag.add([parse_text(t) for t in ARTICLES])

    def get_call_kwargs(self, case):
        return {"headers": {"Authorization": "Bearer fuzz-key"}}

    def validate_response(self, response, case, **kwargs):
        assert response.status_code < 500, f"{case.method} {case.path}: {response.text[:500]}"
        if 400 <= response.status_code < 500:
            body = response.json()
            assert isinstance(body.get("detail"), str) and body["detail"].strip(), response.text


def test_stateful_documents_lifecycle():
    _Documents.run(
        settings=settings(
            max_examples=25,
            stateful_step_count=6,
            deadline=None,
            suppress_health_check=list(HealthCheck),
        )
    )

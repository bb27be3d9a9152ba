"""HTTP contract with fake models: validation, status codes, shapes."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index.core import CoreConfig, open_store
from index.ingest import Indexer
from index.parse import parse_text
from retrieval.options import PipelineConfig
from retrieval.types import Hit
from service.app import create_app
from service.settings import Settings
from tests.fakes import LOCAL, FakeEmbedder, FakeGenerator, make_newsrag
from tests.unit.test_store import ARTICLES


@pytest.fixture(params=["directory", "postgres"])
def rag(request, tmp_path):
    """The system over three articles, on each backend: every door's tests that use it run
    against the index directory and against PostgreSQL + pgvector."""
    emb = FakeEmbedder()
    url = request.getfixturevalue("pg_url") if request.param == "postgres" else None
    core = CoreConfig(index_dir=tmp_path / "idx", store_url=url, chunk_tokens=32, chunk_overlap=8)
    store = open_store(core, emb, create=True)
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    system = make_newsrag(
        tmp_path / "idx",
        emb,
        FakeGenerator(),
        PipelineConfig(min_score=0.3, min_confidence=0.0),
        store_url=url,
    )
    yield system
    system.close()


@pytest.fixture
def client(rag, tmp_path):
    settings = Settings(index_dir=tmp_path / "idx")
    with TestClient(create_app(settings, rag), base_url=LOCAL) as c:
        yield c


def test_ask_returns_answer_with_matching_citations(client, rag):
    r = client.post("/ask", json={"question": "How many soldiers were killed at the border?"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["answer"] == "Four soldiers [1]."
    assert body["abstained"] is False
    ids = [c["id"] for c in body["citations"]]
    assert ids == list(range(1, len(ids) + 1))
    assert body["citations"][0]["cited"] is True
    assert body["citations"][0]["published"] == "2024-09-20"
    assert set(body["timings_ms"]) >= {"retrieve", "generate", "total"}
    assert set(body) >= {"short_answer", "abstain_reason", "confidence"}
    assert body["short_answer"] == "Four soldiers" and body["abstain_reason"] is None


def test_weak_evidence_abstains_without_model_call(client, rag):
    r = client.post("/ask", json={"question": "zebra quantum xylophone"})
    body = r.json()
    assert body["abstained"] is True
    assert body["answer"].startswith("I don't know")
    assert rag.pipeline.generator.calls == []


def test_gate_lets_through_a_close_sentence_or_a_shared_name(rag):
    # The chunk scores below the gate (0.3) in both cases; what else decides is the point.
    def source(sentence_dense: float) -> Hit:
        text = "The attack in Armenia's Syunik province follows the election."
        scores = {"sentence_dense": sentence_dense}
        return Hit(1, "a", "Border clash", None, None, None, text, 0.2, scores=scores)

    gate = rag.pipeline.evidence_is_weak
    assert gate("What is the boiling point of water?", [source(0.1)])
    assert not gate("What is the boiling point of water?", [source(0.45)])  # close sentence
    assert not gate("What happened in Syunik?", [source(0.1)])  # a place the source names
    assert gate("What happened in Paris?", [source(0.1)])
    # A country the source names counts like any other name (a rule that did not was written
    # for one seed question and measured to help nothing else: docs/EVALUATION.md).
    assert not gate("What is the capital of Armenia?", [source(0.1)])
    assert gate("What happened?", [])


def test_model_abstention_is_reported(client, rag):
    rag.pipeline.generator.reply = "I don't know."
    body = client.post("/ask", json={"question": "Were soldiers killed at the border?"}).json()
    assert body["abstained"] is True


def test_search_and_date_filter(client):
    r = client.post("/search", json={"query": "soldiers border", "top_k": 3})
    assert r.status_code == 200
    assert r.json()["results"][0]["title"] == "Border clash"
    r = client.post(
        "/search",
        json={"query": "soldiers border", "filters": {"published_from": "2024-09-21"}},
    )
    assert all(x["published"] >= "2024-09-21" for x in r.json()["results"])
    assert all(x["title"] != "Border clash" for x in r.json()["results"])


def test_health(client):
    body = client.get("/health").json()
    assert body == {
        "status": "ok",
        "articles": 3,
        "chunks": body["chunks"],
        "embedder": "fake-embedder",
        "generator": "fake-generator",
    }
    assert body["chunks"] >= 3


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"question": ""}, "question"),
        ({"question": "   \n\t"}, "question"),
        ({"question": "x" * 2001}, "question"),
        ({"question": "ok?", "top_k": 0}, "top_k"),
        ({"question": "ok?", "top_k": 51}, "top_k"),
        ({"question": "ok?", "top_k": "5"}, "top_k"),
        ({"question": 42}, "question"),
        ({}, "question"),
        ({"question": "ok?", "filters": {"published_from": "yesterday"}}, "published_from"),
        ({"question": "ok?", "bogus": 1}, "bogus"),
    ],
)
def test_bad_input_is_422_naming_the_field(client, payload, field):
    r = client.post("/ask", json=payload)
    assert r.status_code == 422, r.text
    assert field in r.json()["detail"]


def test_malformed_json_is_422(client):
    r = client.post("/ask", content=b'{"question": ', headers={"Content-Type": "application/json"})
    assert r.status_code == 422
    assert "JSON" in r.json()["detail"]


def test_inverted_date_range_is_422(client):
    r = client.post(
        "/search",
        json={
            "query": "x",
            "filters": {"published_from": "2024-09-22", "published_to": "2024-09-01"},
        },
    )
    assert r.status_code == 422
    assert "published_from" in r.json()["detail"]


def test_missing_index_is_503_with_instructions(tmp_path):
    settings = Settings(index_dir=tmp_path / "missing", preset="tiny")
    with TestClient(create_app(settings), base_url=LOCAL) as c:
        for r in (c.post("/ask", json={"question": "hi?"}), c.get("/health")):
            assert r.status_code == 503
            assert "newsrag ingest" in r.json()["detail"]
            assert str(tmp_path) not in r.json()["detail"]  # no server paths over HTTP


def test_chat_page_and_docs(client):
    page = client.get("/")
    assert page.status_code == 200 and "newsrag" in page.text
    assert client.get("/static/app.js").status_code == 200
    assert client.get("/openapi.json").json()["paths"].keys() >= {"/ask", "/search", "/health"}

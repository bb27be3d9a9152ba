"""The seed article through every door on PostgreSQL + pgvector, side by side with the index
directory: the same real models, the same answer, the same citation."""

from __future__ import annotations

import json
import os

import pytest

from tests.cli import run_cli as _cli
from tests.conftest import MODEL_CACHE, SEEDS
from tests.integration.test_seed_e2e import SEED_Q

pytestmark = pytest.mark.slow


def test_ingest_ask_search_and_docs_on_postgres_match_the_directory(tmp_path, pg_url):
    base = {**os.environ, "NEWSRAG_PRESET": "tiny", "NEWSRAG_CACHE_DIR": str(MODEL_CACHE)}
    directory = {**base, "NEWSRAG_INDEX_DIR": str(tmp_path / "idx")}
    database = {**base, "NEWSRAG_INDEX_DIR": str(tmp_path / "pg"), "NEWSRAG_STORE_URL": pg_url}
    out = {}
    for name, env in (("directory", directory), ("postgres", database)):
        ingest = _cli("ingest", str(SEEDS), env=env)
        assert ingest.returncode == 0 and "added 1 articles" in ingest.stdout, ingest.stderr
        again = _cli("ingest", str(SEEDS), env=env)
        assert "1 already indexed" in again.stdout
        asked = _cli("ask", SEED_Q, "--json", "--as-of", "2024-09-25", env=env)
        assert asked.returncode == 0, asked.stderr
        found = _cli("search", "Armenian soldiers killed", "--json", "-k", "3", env=env)
        listed = _cli("docs", "list", "--json", env=env)
        out[name] = (json.loads(asked.stdout), json.loads(found.stdout), json.loads(listed.stdout))
    assert "postgres:***@" in _cli("ingest", str(SEEDS), env=database).stdout  # no password
    (a_dir, s_dir, l_dir), (a_pg, s_pg, l_pg) = out["directory"], out["postgres"]
    assert a_pg["answer"] == a_dir["answer"] and a_pg["abstained"] == a_dir["abstained"]
    cited = [[c["article_id"] for c in a["citations"] if c["cited"]] for a in (a_dir, a_pg)]
    assert cited[0] == cited[1]
    assert [r["text"] for r in s_pg["results"]] == [r["text"] for r in s_dir["results"]]
    assert l_pg == l_dir and l_pg["total"] == 1
    assert not (tmp_path / "pg").exists()  # nothing written beside the database

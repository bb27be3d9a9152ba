"""SIGKILL mid-ingest: nothing committed is lost, nothing half-written is visible."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from retrieval.store.directory import IndexStore
from tests.conftest import ROOT

pytestmark = pytest.mark.slow

WORDS = "harbor orchard glacier lantern meadow canyon quarry summit thicket tundra".split()


def _corpus(folder: Path, n: int) -> None:
    folder.mkdir()
    for i in range(n):
        w = WORDS[i % len(WORDS)]
        body = " ".join(
            f"Report {i} describes the {w} project number {i} in district {i % 17}. "
            f"Officials said the {w} work will continue next year."
            for _ in range(6)
        )
        (folder / f"{i:04d}.txt").write_text(f"2024-01-{1 + i % 28:02d}\n\nStory {i} {w}\n\n{body}")


def _count(db: Path) -> int:
    try:
        con = sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)
        try:
            return int(con.execute("SELECT COUNT(*) FROM articles").fetchone()[0])
        finally:
            con.close()
    except sqlite3.Error:
        return 0


def test_sigkill_mid_ingest_then_resume(tmp_path, embedder):
    corpus = tmp_path / "corpus"
    _corpus(corpus, 400)
    index = tmp_path / "index"
    env = {**os.environ, "NEWSRAG_INDEX_DIR": str(index)}
    cmd = [sys.executable, "-m", "service.cli", "ingest", str(corpus)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.time() + 300
    while time.time() < deadline and _count(index / "store.sqlite") < 96:
        if proc.poll() is not None:
            pytest.fail(
                "ingest finished before it could be killed: " + proc.communicate()[1].decode()
            )
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    assert proc.returncode == -signal.SIGKILL

    store = IndexStore.open(index)
    committed = store.article_count()
    assert 96 <= committed < 400, "the kill should land mid-ingest"
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] == c["full_text_entries"] > 0
    assert c["rows_without_vector"] == 0 and c["vectors_without_row"] == 0
    empty = store._db.execute(
        "SELECT COUNT(*) FROM articles a WHERE NOT EXISTS "
        "(SELECT 1 FROM chunks c WHERE c.article_id = a.id)"
    ).fetchone()[0]
    assert empty == 0, "an article without its chunks is half-written"
    # Everything committed is searchable, densely and lexically.
    stored, _ = store.list_articles(limit=5)
    for s in stored:
        q = embedder.encode([s.article.title + " " + s.article.body[:200]])[0]
        assert s.article.id in {h.article_id for h in store.hits(store.dense_search(q, 5))}
        lexical = store.lexical_search(s.article.title + " " + s.article.body[:200], 5)
        assert s.article.id in {h.article_id for h in store.hits(lexical)}
    store.close()

    done = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr
    assert f"added {400 - committed} articles" in done.stdout
    assert f"{committed} already indexed" in done.stdout
    store = IndexStore.open(index)
    assert store.article_count() == 400
    c = store.check_consistency()
    assert c["rows"] == c["vectors"] and c["rows_without_vector"] == c["vectors_without_row"] == 0
    store.close()

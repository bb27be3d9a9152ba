"""`newsrag eval` end to end with the tiny model on a small slice of the real data."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli import run_cli
from tests.conftest import MODEL_CACHE, ROOT
from tests.unit.test_realtimeqa_scorer import DATA, needs_data

pytestmark = pytest.mark.slow


WEEK = "20220617"


def _week_slice(dst: Path, questions: int) -> Path:
    """The week's files as they are, but its article pool only the search results of its first
    `questions` questions: indexing the whole pool (~200 articles) for three questions took
    most of this test's time, and what it checks is the command, not the pool's size."""
    dst.mkdir()
    for name in (f"{WEEK}_qa.jsonl", f"{WEEK}_qa_nota.jsonl", f"{WEEK}_gold.jsonl"):
        shutil.copyfile(DATA / name, dst / name)
    rows = (DATA / f"{WEEK}_gcs.jsonl").read_text().splitlines()[:questions]
    (dst / f"{WEEK}_gcs.jsonl").write_text("\n".join(rows) + "\n")
    (dst / "baseline_results").symlink_to(DATA / "baseline_results")
    return dst


@needs_data
def test_realtimeqa_eval_writes_predictions_table_and_chart(tmp_path):
    out = tmp_path / "out"
    env = {**os.environ, "NEWSRAG_CACHE_DIR": str(MODEL_CACHE)}
    data = _week_slice(tmp_path / "data", 3)
    args = ["--data", str(data), "--weeks", WEEK, "--limit", "3", "--preset", "tiny"]

    def run(*more: str) -> subprocess.CompletedProcess[str]:
        return run_cli("eval", "realtimeqa", *args, *more, env=env)

    r = run("--out", str(out))
    assert r.returncode == 0, r.stderr[-2000:]
    assert "GPT-3 + Google Custom Search" in r.stdout and "newsrag (tiny" in r.stdout
    preds = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert len(preds) == 3
    for p in preds:
        assert {"question_id", "choice", "answer", "abstained", "citations", "timings_ms"} <= set(p)
        assert p["choice"] in (0, 1, 2, 3)
    summary = json.loads((out / "summary.json").read_text())
    assert summary["ours"]["questions"] == 3
    assert summary["published"]["GPT-3 + Google Custom Search"]["mc"] == pytest.approx(
        72.4, abs=0.05
    )
    assert (out / "results.png").stat().st_size > 10_000
    assert "| system |" in (out / "results.md").read_text()

    # An interrupted run (the third record cut short) resumes: the two whole records are kept
    # as they were (their measured timings too), the cut one is asked again.
    lines = (out / "predictions.jsonl").read_text().splitlines()
    (out / "predictions.jsonl").write_text("\n".join([*lines[:2], lines[2][:40]]) + "\n")
    r = run("--out", str(out), "--resume")
    assert r.returncode == 0, r.stderr[-2000:]
    again = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert again[:2] == preds[:2]
    assert [p["question_id"] for p in again] == [p["question_id"] for p in preds]
    assert again[2]["timings_ms"] != preds[2]["timings_ms"]
    # The NOTA pick is re-decided from the stored scores with the resumed run's options.
    r = run("--out", str(out), "--resume", "--nota-gain", "100")
    assert r.returncode == 0, r.stderr[-2000:]
    nota = [json.loads(line) for line in (out / "predictions.jsonl").read_text().splitlines()]
    assert [p["timings_ms"] for p in nota] == [p["timings_ms"] for p in again]
    assert all(p["nota_choice"] == p["nota_index"] for p in nota if "nota_index" in p)
    assert any("nota_index" in p for p in nota)

    # Multiple choice on evidence of its own: the options scored, nothing generated.
    own = tmp_path / "own"
    r = run(
        *("--out", str(own), "--index-cache", str(out / "indexes"), "--tracks", "mc,nota"),
        *("--mc-query", "question+choices"),
    )
    assert r.returncode == 0, r.stderr[-2000:]
    mc = [json.loads(line) for line in (own / "predictions.jsonl").read_text().splitlines()]
    assert [p["question_id"] for p in mc] == [p["question_id"] for p in preds]
    for p in mc:
        assert p["choice"] in (0, 1, 2, 3) and p["answer"] == "" and "choose" in p["timings_ms"]
        assert p["retrieval"]["mc_evidence_recall"] in (0.0, 1.0)
        assert len(p["choice_scores_closed_book"]) == 4

    # Retrieval alone reads what the answers read: the same candidates and sources (the
    # question's own date window included), so the same recall numbers, without a model.
    ret = tmp_path / "ret"
    r = run(*("--out", str(ret), "--index-cache", str(out / "indexes"), "--tracks", "retrieval"))
    assert r.returncode == 0, r.stderr[-2000:]
    rows = [json.loads(line) for line in (ret / "predictions.jsonl").read_text().splitlines()]
    assert [p["retrieval"] for p in rows] == [p["retrieval"] for p in preds]
    assert all(p["choice"] is None and p["answer"] == "" for p in rows)


def _eval_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "service.cli", "eval", "realtimeqa", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_eval_rejects_bad_arguments(tmp_path):
    r = _eval_cli("--data", str(tmp_path), "--weeks", "19990101")
    assert r.returncode == 2 and "19990101" in r.stderr
    r = _eval_cli("--data", str(tmp_path), "--tracks", "vibes")
    assert r.returncode == 2 and "--tracks" in r.stderr


def test_a_command_without_an_index_says_so_with_its_exit_code(tmp_path):
    """An error raised past typer (no index yet) is one line and the error's own exit code,
    not a traceback and 1."""
    env = {**os.environ, "NEWSRAG_INDEX_DIR": str(tmp_path / "none")}
    r = subprocess.run(
        [sys.executable, "-m", "service.cli", "eval", "seed"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert r.returncode == 5, r.stderr[-2000:]
    assert "no index yet" in r.stderr and "Traceback" not in r.stderr

"""The scorer must reproduce the published leaderboard from the baselines' own predictions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from service.evals.leaderboard import (
    BASELINE_CONFIGS,
    read_jsonl,
    score_generation,
    score_mc,
    week_articles,
)
from tests.conftest import ROOT

DATA = Path(
    __import__("os").environ.get("NEWSRAG_REALTIMEQA", str(ROOT.parent / "shared/data/realtimeqa"))
)
needs_data = pytest.mark.skipif(
    not (DATA / "published_weekly_results.json").exists(),
    reason=f"RealTime QA data not found at {DATA} (set NEWSRAG_REALTIMEQA)",
)


def _cells():
    if not (DATA / "published_weekly_results.json").exists():
        return []
    pub = json.loads((DATA / "published_weekly_results.json").read_text())["weeks"]
    return [(w, cfg) for w in sorted(pub) for cfg in BASELINE_CONFIGS]


@needs_data
@pytest.mark.parametrize(("week", "cfg"), _cells())
def test_published_cells_reproduced(week, cfg):
    pub = json.loads((DATA / "published_weekly_results.json").read_text())["weeks"][week]
    name = BASELINE_CONFIGS[cfg]
    mc_row = next(r for r in pub["multiple_choice"] if r["model"] == name)
    gen_row = next(r for r in pub["generation"] if r["model"] == name)
    base = DATA / "baseline_results"
    for kind, key in (("qa", "original"), ("qa_nota", "nota")):
        qs = read_jsonl(DATA / f"{week}_{kind}.jsonl")
        preds = {
            p["question_id"]: p["prediction"]
            for p in read_jsonl(base / f"{week}_{kind}_{cfg}.jsonl")
        }
        assert f"{score_mc(preds, qs):.1f}" == mc_row[key]
    qs = read_jsonl(DATA / f"{week}_qa.jsonl")
    preds = {
        p["question_id"]: p["prediction"] for p in read_jsonl(base / f"{week}_qa_{cfg}_gen.jsonl")
    }
    em, f1, _ = score_generation(preds, qs)
    assert (f"{em:.1f}", f"{f1:.1f}") == (gen_row["em"], gen_row["f1"])


def test_scorer_rules_on_a_toy_week():
    qs = [
        {
            "question_id": "a",
            "question_sentence": "Who won?",
            "choices": ["The Cats", "B", "C", "D"],
            "answer": ["0"],
        },
        {
            "question_id": "b",
            "question_sentence": "All are true except",
            "choices": ["w", "x", "y", "z"],
            "answer": ["2"],
        },
    ]
    assert score_mc({"a": ["0"], "b": 1}, qs) == 50.0
    em, f1, n = score_generation({"a": "the cats!", "b": "anything"}, qs)
    assert n == 1 and em == 100.0 and f1 == 100.0  # punctuation and case ignored; "except" skipped
    em, f1, _ = score_generation({"a": "cats"}, qs)
    assert em == 0.0 and f1 == pytest.approx(100 * 2 / 3)  # the leaderboard keeps articles


@needs_data
def test_week_pool_is_deduplicated_by_url():
    arts = week_articles(DATA, "20220617")
    urls = [a.url for a in arts]
    assert len(urls) == len(set(urls)) > 50
    assert all(a.title and a.body for a in arts)
    assert sum(a.published is not None for a in arts) > len(arts) / 2

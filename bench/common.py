"""Shared helpers for the benchmarks: real news articles and questions from RealTime QA."""

from __future__ import annotations

import json
import os
import statistics
from pathlib import Path

from retrieval.types import Article
from service.evals.leaderboard import list_weeks, week_articles

DEFAULT_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data" / "realtimeqa"


def data_dir() -> Path:
    path = Path(os.environ.get("NEWSRAG_REALTIMEQA", DEFAULT_DATA))
    if not path.is_dir():
        raise SystemExit(f"RealTime QA data not found at {path}; set NEWSRAG_REALTIMEQA")
    return path


def news_articles(limit: int = 1000) -> list[Article]:
    """Up to `limit` distinct real news articles from the RealTime QA weekly pools."""
    seen: set[str] = set()
    out: list[Article] = []
    data = data_dir()
    for week in list_weeks(data):
        for a in week_articles(data, week):
            if a.url in seen:
                continue
            seen.add(a.url or a.id)
            out.append(a)
            if len(out) >= limit:
                return out
    return out


def questions(limit: int = 200) -> list[str]:
    data = data_dir()
    qs: list[str] = []
    for week in list_weeks(data):
        with open(data / f"{week}_qa.jsonl", encoding="utf-8") as fh:
            qs += [json.loads(line)["question_sentence"] for line in fh]
    return qs[:limit]


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    k = min(len(values) - 1, max(0, round(p / 100 * (len(values) - 1))))
    return values[k]


def summary(values: list[float]) -> dict[str, float]:
    return {"p50": statistics.median(values), "p99": pct(values, 99), "n": len(values)}

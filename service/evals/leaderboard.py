"""RealTime QA data and the leaderboard's scoring rules (proven on the published baselines).

Data layout: the RealTime QA release (weekly `_qa`, `_qa_nota`, `_gcs` files). Scores are
computed exactly as the public leaderboard does; tests/unit/test_realtimeqa_scorer.py
reproduces every published cell with them.
"""

from __future__ import annotations

import json
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.parse import content_id
from retrieval.types import Article
from service.evals.scoring import exact_match, gold_text, is_except_question, mc_correct, token_f1

BASELINE_CONFIGS = {
    "open_gpt3_gcs": "GPT-3 + Google Custom Search",
    "open_rag_gcs": "RAG + Google Custom Search",
    "open_gpt3_dpr": "GPT-3 + DPR",
    "open_rag_dpr": "RAG + DPR",
    "closed_gpt3": "GPT-3 (Closed-Book)",
    "closed_t5": "T5 (Closed-Book)",
}


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def parse_day(value: str | None) -> date | None:
    if not value:
        return None
    try:
        return datetime.strptime(value[:10], "%Y/%m/%d").date()
    except ValueError:
        return None


def list_weeks(data: Path) -> list[str]:
    return sorted(p.name.split("_")[0] for p in data.glob("*_qa.jsonl"))


def week_articles(data: Path, week: str) -> list[Article]:
    """The week's article pool: every search result of every question, deduplicated by URL."""
    seen: set[str] = set()
    out: list[Article] = []
    for row in read_jsonl(data / f"{week}_gcs.jsonl"):
        for r in row.get("search_result", []):
            url = r.get("url") or ""
            text = (r.get("text") or "").strip()
            title = (r.get("title") or "").strip() or url
            if not url or url in seen or not text:
                continue
            seen.add(url)
            out.append(
                Article(
                    id=content_id(title, text),
                    title=title,
                    body=text,
                    published=parse_day(r.get("publish_date")),
                    url=url,
                    source=urlparse(url).netloc or None,
                )
            )
    return out


def gold_urls(data: Path, week: str) -> dict[str, set[str]]:
    path = data / f"{week}_gold.jsonl"
    if not path.exists():
        return {}
    return {
        row["question_id"]: {r["url"] for r in row.get("search_result", []) if r.get("url")}
        for row in read_jsonl(path)
    }


# -- scoring (exactly the leaderboard's rules; proven on the published baselines) -----------
def score_mc(predictions: dict[str, Any], questions: list[dict[str, Any]]) -> float:
    """Accuracy in percent over all questions (a missing prediction counts as wrong)."""
    right = sum(mc_correct(predictions.get(q["question_id"]), q["answer"]) for q in questions)
    return 100.0 * right / len(questions) if questions else 0.0


def score_generation(
    predictions: dict[str, str], questions: list[dict[str, Any]]
) -> tuple[float, float, int]:
    """(EM, F1) in percent and the count, skipping questions that end in "except"."""
    em: list[float] = []
    f1: list[float] = []
    for q in questions:
        if is_except_question(q["question_sentence"]):
            continue
        gold = gold_text(q["choices"], q["answer"])
        pred = predictions.get(q["question_id"], "")
        em.append(exact_match(pred, gold))
        f1.append(token_f1(pred, gold))
    if not em:
        return 0.0, 0.0, 0
    return 100 * sum(em) / len(em), 100 * sum(f1) / len(f1), len(em)


def baseline_scores(data: Path, weeks: list[str]) -> dict[str, dict[str, float]]:
    """Pooled scores of the published baselines from their own predictions."""
    out: dict[str, dict[str, float]] = {}
    for cfg, name in BASELINE_CONFIGS.items():
        qs: list[dict[str, Any]] = []
        nota_qs: list[dict[str, Any]] = []
        mc: dict[str, Any] = {}
        nota: dict[str, Any] = {}
        gen: dict[str, str] = {}
        for w in weeks:
            base = data / "baseline_results"
            if not (base / f"{w}_qa_{cfg}.jsonl").exists():
                break
            qs += read_jsonl(data / f"{w}_qa.jsonl")
            mc.update(
                {
                    p["question_id"]: p["prediction"]
                    for p in read_jsonl(base / f"{w}_qa_{cfg}.jsonl")
                }
            )
            gen.update(
                {
                    p["question_id"]: p["prediction"]
                    for p in read_jsonl(base / f"{w}_qa_{cfg}_gen.jsonl")
                }
            )
            if (base / f"{w}_qa_nota_{cfg}.jsonl").exists():
                nota_qs += read_jsonl(data / f"{w}_qa_nota.jsonl")
                nota.update(
                    {
                        p["question_id"]: p["prediction"]
                        for p in read_jsonl(base / f"{w}_qa_nota_{cfg}.jsonl")
                    }
                )
        else:
            em, f1, _ = score_generation(gen, qs)
            out[name] = {"mc": score_mc(mc, qs), "em": em, "f1": f1}
            if nota_qs:
                out[name]["nota"] = score_mc(nota, nota_qs)
    return out

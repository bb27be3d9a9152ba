"""Evidence selection on RealTime QA dev: answer recall of the evidence shown to the model and
its size, for several selection settings, on the same candidates (no generation).

    .venv/bin/python -m bench.tune_evidence --index-cache /tmp/rtqa-idx [--limit 10]

Weekly indexes are built (or reused) as `newsrag eval realtimeqa --index-cache` does.
"""

from __future__ import annotations

import argparse
import json
import statistics
from dataclasses import replace
from pathlib import Path
from typing import Any

from bench.common import data_dir
from index.core import Models
from retrieval.evidence import EvidenceConfig, EvidenceSelector, approx_tokens
from retrieval.metrics import contains_answer, gold_text
from retrieval.search import DateFilter
from service.evals.leaderboard import list_weeks, parse_day, read_jsonl
from service.evals.realtimeqa import eval_core, open_week
from service.loading import core_config, offline
from service.settings import get_settings

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "budget 480": {"budget_tokens": 480},
    "budget 640": {"budget_tokens": 640},
    "no neighbours": {"neighbours": 0},
    "lexical only": {"w_dense": 0.0, "w_lexical": 0.8},
    "dense heavy": {"w_dense": 0.6, "w_lexical": 0.2},
    "rank heavy": {"w_rank": 0.5},
    "8 sources": {"max_sources": 8},
    "8 sources, budget 480": {"max_sources": 8, "budget_tokens": 480},
    "50 candidates": {"candidates": 50},
    "20 candidates": {"candidates": 20},
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-cache", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="questions per week")
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--configs", default=",".join(CONFIGS))
    args = ap.parse_args()
    offline()
    data = data_dir()
    core = eval_core(core_config(get_settings()))
    models = Models.build(core, with_generator=False)
    rows: list[tuple[list[Any], str, str]] = []  # (candidates, question, gold answer text)
    for week in list_weeks(data):
        rag = open_week(data, week, args.index_cache, core, models)
        for q in read_jsonl(data / f"{week}_qa.jsonl")[: args.limit or None]:
            qdate = parse_day(q.get("question_date"))
            filters = DateFilter(published_to=qdate) if qdate else None
            hits = rag.retriever.search(q["question_sentence"], args.candidates, filters, qdate)
            rows.append((hits, q["question_sentence"], gold_text(q["choices"], q["answer"])))
        rag.close()
    out: dict[str, Any] = {"questions": len(rows)}
    for k in (5, 10, 20, 30, 50):
        out[f"chunk_recall@{k}"] = round(
            100
            * statistics.fmean(any(contains_answer(h.text, g) for h in c[:k]) for c, _, g in rows),
            1,
        )
    for name in args.configs.split(","):
        cfg = replace(EvidenceConfig(), **CONFIGS[name])
        sel = EvidenceSelector(models.embedder, cfg)
        recall, tokens = [], []
        for hits, question, gold in rows:
            sources = sel.select(question, hits[: cfg.candidates], cfg.max_sources)
            recall.append(any(contains_answer(s.text, gold) for s in sources))
            tokens.append(sum(approx_tokens(s.text) for s in sources))
        out[name] = {
            "evidence_recall": round(100 * statistics.fmean(recall), 1),
            "tokens_mean": round(statistics.fmean(tokens)),
        }
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

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

import numpy as np

from bench.common import data_dir
from index.core import Models
from retrieval.find.evidence import EvidenceConfig, EvidenceSelector, approx_tokens, with_mentions
from service.evals.scoring import contains_answer, gold_text
from retrieval.answer.prompt import format_sources
from retrieval.find.search import SearchFilter
from retrieval.store.directory import IndexStore
from service.evals.leaderboard import list_weeks, parse_day, read_jsonl
from service.evals.realtimeqa import eval_core, open_week
from service.loading import core_config, offline
from service.settings import get_settings

CONFIGS: dict[str, dict[str, Any]] = {
    "default": {},
    "budget 480": {"budget_tokens": 480},
    "after 1": {"after": 1},
    "after 1 budget 480": {"after": 1, "budget_tokens": 480},
    "after 1 no before": {"after": 1, "neighbours": 0},
    "after 1 no before budget 480": {"after": 1, "neighbours": 0, "budget_tokens": 480},
    "after 1 budget 480 dense heavy": {"after": 1, "budget_tokens": 480, "w_dense": 0.6},
    "after 2 budget 480": {"after": 2, "budget_tokens": 480},
    "after 1 budget 640": {"after": 1, "budget_tokens": 640},
    "after 1 budget 480 8 sources": {"after": 1, "budget_tokens": 480, "max_sources": 8},
    "after 1 budget 480 50 candidates": {"after": 1, "budget_tokens": 480, "candidates": 50},
    # Multiple choice on evidence of its own (`--mc-query question+choices`): the options in
    # the search, each option's best sentence shown first.
    "options": {"options": True},
    # The options widen the search only; sentences are chosen for the question (or for the
    # question with its options), none put first.
    "options search": {"options": "search"},
    "options search and scoring": {"options": "scoring"},
    # Every chunk of the best articles joins the candidates: the answer is often in another
    # chunk of an article the search found.
    "whole top 3 articles": {"expand": 3},
    "whole top 5 articles": {"expand": 5},
    "whole top 8 articles": {"expand": 8},
    "options 50 candidates": {"options": True, "candidates": 50},
}


class CachedEncoder:
    """The embedder, remembering every text it encoded: the settings compared here score
    mostly the same sentences."""

    def __init__(self, embedder: Any) -> None:
        self.embedder = embedder
        self.cache: dict[str, np.ndarray] = {}

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        todo = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if todo:
            for t, v in zip(todo, self.embedder.encode(todo), strict=True):
                self.cache[t] = v
        return np.stack([self.cache[t] for t in texts])


def expand_articles(store: IndexStore, hits: list[Any], most: int) -> dict[int, list[Any]]:
    """For n = 1..most: the hits with every chunk of their n best articles added after them
    (in article order, scored below every hit)."""
    out: dict[int, list[Any]] = {}
    articles = list(dict.fromkeys(h.article_id for h in hits))
    have = {h.chunk_id for h in hits}
    extra: list[Any] = []
    for n, aid in enumerate(articles[:most], start=1):
        extra += store.hits((i, 0.0) for i in store.article_chunks(aid) if i not in have)
        out[n] = hits + extra
    for n in range(len(articles[:most]) + 1, most + 1):
        out[n] = hits + extra
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index-cache", type=Path, required=True)
    ap.add_argument("--limit", type=int, default=None, help="questions per week")
    ap.add_argument("--candidates", type=int, default=50)
    ap.add_argument("--configs", default=";".join(CONFIGS), help="names, separated by ;")
    args = ap.parse_args()
    offline()
    data = data_dir()
    core = eval_core(core_config(get_settings()))
    models = Models.build(core, with_generator=False)
    # (candidates for the question, for the question with its options, question, gold answer
    # text, options, {n: the candidates with every chunk of their n best articles})
    rows: list[tuple[list[Any], list[Any], str, str, list[str], dict[int, list[Any]]]] = []
    for week in list_weeks(data):
        rag = open_week(data, week, args.index_cache, core, models)
        for q in read_jsonl(data / f"{week}_qa.jsonl")[: args.limit or None]:
            qdate = parse_day(q.get("question_date"))
            filters = SearchFilter(published_to=qdate) if qdate else None
            question = q["question_sentence"]
            hits = rag.retriever.search(question, args.candidates, filters, qdate)
            with_options = rag.retriever.search(
                with_mentions(question, q["choices"]), args.candidates, filters, qdate
            )
            gold = gold_text(q["choices"], q["answer"])
            expanded = expand_articles(rag.retriever.store, hits[:30], 8)
            rows.append((hits, with_options, question, gold, q["choices"], expanded))
        rag.close()
    out: dict[str, Any] = {"questions": len(rows)}
    encoder = CachedEncoder(models.embedder)
    for k in (5, 10, 20, 30, 50):
        out[f"chunk_recall@{k}"] = round(
            100
            * statistics.fmean(any(contains_answer(h.text, r[3]) for h in r[0][:k]) for r in rows),
            1,
        )
    print({k: v for k, v in out.items()}, flush=True)
    for name in args.configs.split(";"):
        settings = dict(CONFIGS[name])
        options = settings.pop("options", False)
        expand = settings.pop("expand", 0)
        cfg = replace(EvidenceConfig(), **settings)
        sel = EvidenceSelector(encoder, cfg)
        recall, shown, tokens = [], [], []
        for hits, with_options, question, gold, choices, expanded in rows:
            if expand:
                sources = sel.select(question, expanded[expand], cfg.max_sources)
            elif options == "search":
                sources = sel.select(question, with_options[: cfg.candidates], cfg.max_sources)
            elif options == "scoring":
                query = with_mentions(question, choices)
                sources = sel.select(query, with_options[: cfg.candidates], cfg.max_sources)
            elif options:
                sources = sel.select(
                    question, with_options[: cfg.candidates], cfg.max_sources, choices
                )
            else:
                sources = sel.select(question, hits[: cfg.candidates], cfg.max_sources)
            recall.append(any(contains_answer(s.text, gold) for s in sources))
            # What the prompt shows (format_sources cuts an over-long source).
            shown.append(contains_answer(format_sources(sources), gold))
            tokens.append(sum(approx_tokens(s.text) for s in sources))
        out[name] = {
            "evidence_recall": round(100 * statistics.fmean(recall), 1),
            "shown_recall": round(100 * statistics.fmean(shown), 1),
            "tokens_mean": round(statistics.fmean(tokens)),
        }
        print(name, out[name], flush=True)
    print(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()

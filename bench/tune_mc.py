"""Offline study of multiple-choice scoring: the model's likelihood of each choice (saved in an
eval's predictions.jsonl) combined with evidence matching (how much of the choice's text is in
the retrieved chunks), over a grid of weights. No model call: retrieval is re-run only.

    .venv/bin/python -m bench.tune_mc --pred eval-out/realtimeqa/predictions.jsonl \
        --index-cache eval-out/realtimeqa/indexes
"""

from __future__ import annotations

import argparse
from pathlib import Path

from bench.common import data_dir
from index.chunking import ChunkingParams
from retrieval.embedder import Embedder
from retrieval.metrics import mc_correct
from retrieval.search import DateFilter, Retriever
from retrieval.verify import choice_evidence
from service.evals.leaderboard import parse_day, read_jsonl
from service.evals.realtimeqa import build_week_index


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pred", type=Path, required=True)
    ap.add_argument("--index-cache", type=Path, required=True)
    ap.add_argument("--top-k", type=int, default=5)
    args = ap.parse_args()
    data = data_dir()
    preds = {p["question_id"]: p for p in read_jsonl(args.pred)}
    weeks = sorted({p["week"] for p in preds.values()})
    emb = Embedder()
    rows = []
    for w in weeks:
        store = build_week_index(data, w, args.index_cache, emb, ChunkingParams())
        retriever = Retriever(store, emb)
        for q in read_jsonl(data / f"{w}_qa.jsonl"):
            p = preds.get(q["question_id"])
            if not p or not p.get("choice_scores"):
                continue
            qd = parse_day(q["question_date"])
            hits = retriever.search(
                q["question_sentence"],
                args.top_k,
                DateFilter(published_to=qd) if qd else None,
                as_of=qd,
            )
            ev = [choice_evidence(c, [h.text for h in hits]) for c in q["choices"]]
            rows.append((p["choice_scores"], ev, q["answer"]))
    print(f"{len(rows)} questions")
    for w in (0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 8.0, 1e6):
        acc = sum(
            mc_correct(max(range(len(s)), key=lambda i: s[i] + w * e[i]), gold)
            for s, e, gold in rows
        ) / len(rows)
        print(f"evidence weight {w:>9}: MC accuracy {100 * acc:.1f}")


if __name__ == "__main__":
    main()

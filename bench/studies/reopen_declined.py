"""What a declining reader made to answer would be told (RAGPipeline.reopen_declined): for
every question a finished `newsrag eval squad` run's reader declined, the forced reply on the
sources it stored, judged by the pipeline's own `AnswerJudge` with the shipped calibration.

    .venv/bin/python -m bench.reopen_declined \\
        --data ../shared/data/squad/dev-v2.0.reconstructed.json \\
        --from-predictions A/predictions.jsonl --from-predictions B/predictions.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.studies.self_check import stored_sources
from service.evals.scoring import best_over, token_f1
from retrieval.answer.prompt import build_messages
from retrieval.types import Citation
from service.evals.squad import load
from service.loading import offline, open_newsrag
from service.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("--from-predictions", type=Path, action="append", required=True)
    args = ap.parse_args()
    offline()
    pipeline = open_newsrag(Settings()).pipeline
    articles, _ = load(args.data)
    bodies = [(a.body, a.title, a.id) for a in articles]
    rows = []
    for path in args.from_predictions:
        for line in path.read_text(encoding="utf-8").splitlines():
            r = json.loads(line)
            if r.get("reason") != "model":
                continue
            hits = stored_sources(r, bodies)
            citations = [Citation(k, h) for k, h in enumerate(hits, 1)]
            messages = build_messages(r["question"], hits)
            raw = pipeline._reopened(messages, None)
            answer = pipeline.judge.judge(
                pipeline.generator, r["question"], raw, citations, {}, messages
            )
            short = answer.short_answer or ""
            right = not r["impossible"] and (
                best_over(token_f1, short, r["answers"], drop_articles=True) >= 0.5
            )
            rows.append(
                {
                    "id": r["id"],
                    "impossible": r["impossible"],
                    "short": short,
                    "confidence": answer.confidence,
                    "reason": answer.abstain_reason,
                    "right": right,
                }
            )
            print(json.dumps(rows[-1]), flush=True)
    summary = {
        "declined": len(rows),
        "unanswerable": sum(r["impossible"] for r in rows),
        "answered_after_reopening": sum(not r["reason"] for r in rows),
        "right": sum(r["right"] for r in rows),
        "max_confidence": max((r["confidence"] or 0.0 for r in rows), default=None),
    }
    print(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()

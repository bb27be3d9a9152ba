"""Multiple choice from saved scores: accuracy of `evidence + w × closed-book`, and of that plus
`l × letters` (the lettered reading, normalised), for a range of weights, on all questions and
on those whose answer is (not) in the evidence shown.

    newsrag eval realtimeqa --data ../shared/data/realtimeqa --out /tmp/rtqa
    .venv/bin/python -m bench.tune_mc --pred /tmp/rtqa/predictions.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from retrieval.answer.choice import mc_combine


def accuracy(rows: list[dict[str, Any]], weight: float, letters: float = 0.0) -> float:
    if not rows:
        return 0.0
    right = 0
    for r in rows:
        if letters == LETTERS_ONLY:
            s = r["choice_scores_letters"]
        else:
            s = mc_combine(
                r["choice_scores_evidence"],
                r["choice_scores_closed_book"],
                weight,
                r.get("choice_scores_letters"),
                letters,
            )
        right += int(str(max(range(len(s)), key=lambda i: s[i])) in r["gold_index"])
    return 100 * right / len(rows)


LETTERS_ONLY = 1e6


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--pred", type=Path, required=True, help="predictions.jsonl of an eval run")
    ap.add_argument("--data", type=Path, default=None, help="RealTime QA folder (gold indices)")
    ap.add_argument("--weight", type=float, default=0.0, help="closed-book weight for NOTA")
    ap.add_argument("--letters", type=float, default=0.0, help="letter weight for NOTA")
    args = ap.parse_args()
    weight_for_nota = args.weight
    from bench.common import data_dir
    from service.evals.leaderboard import read_jsonl

    data = args.data or data_dir()
    rows = [json.loads(line) for line in args.pred.read_text(encoding="utf-8").splitlines()]
    rows = [r for r in rows if "choice_scores_evidence" in r]
    gold: dict[str, list[str]] = {}
    for w in {r["week"] for r in rows}:
        for q in read_jsonl(data / f"{w}_qa.jsonl"):
            gold[q["question_id"]] = q["answer"]
    for r in rows:
        r["gold_index"] = gold[r["question_id"]]
    inside = [r for r in rows if r["retrieval"].get("evidence_recall")]
    outside = [r for r in rows if not r["retrieval"].get("evidence_recall")]
    print(f"{len(rows)} questions; answer in the evidence for {len(inside)}")
    print("weight  all    in-evidence  not-in-evidence")
    for w in (0.0, 0.25, 0.5, 0.75, 1.0, 1.5, 2.0, 1e6):
        label = "closed" if w == 1e6 else f"{w:.2f}"
        print(
            f"{label:>6}  {accuracy(rows, w):5.1f}  {accuracy(inside, w):5.1f}        "
            f"{accuracy(outside, w):5.1f}"
        )
    if all("choice_scores_letters" in r for r in rows):
        print("letters (closed-book weight 0)")
        for lw in (0.0, 0.5, 1.0, 2.0, 3.0, 4.0, LETTERS_ONLY):
            label = "alone" if lw == LETTERS_ONLY else f"{lw:.2f}"
            print(
                f"{label:>6}  {accuracy(rows, 0.0, lw):5.1f}  {accuracy(inside, 0.0, lw):5.1f}"
                f"        {accuracy(outside, 0.0, lw):5.1f}"
            )
    nota = [r for r in rows if "nota_scores_evidence" in r]
    if nota:
        gold_nota: dict[str, list[str]] = {}
        for w in {r["week"] for r in nota}:
            for q in read_jsonl(data / f"{w}_qa_nota.jsonl"):
                gold_nota[q["question_id"].removesuffix("_nota")] = q["answer"]
        print(f"\nNOTA track, {len(nota)} questions: NOTA when the best evidence gain < g")
        for g in (-100.0, -1.0, -0.75, -0.5, -0.25, 0.0, 0.25, 0.5, 1.0):
            right = 0
            for r in nota:
                ev, cb = r["nota_scores_evidence"], r["nota_scores_closed_book"]
                s = mc_combine(ev, cb, weight_for_nota, r.get("nota_scores_letters"), args.letters)
                best = max(range(len(s)), key=lambda i: s[i])
                gain = max(e - c for e, c in zip(ev, cb, strict=True))
                pick = r["nota_index"] if gain < g else r["nota_options"][best]
                right += int(str(pick) in gold_nota[r["question_id"]])
            label = "never" if g == -100.0 else f"{g:.2f}"
            print(f"{label:>6}  {100 * right / len(nota):5.1f}")


if __name__ == "__main__":
    main()

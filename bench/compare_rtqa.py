"""Score two RealTime QA runs on the questions both answered, side by side.

    python bench/compare_rtqa.py --data ../shared/data/realtimeqa A/predictions.jsonl B/...

Used to measure a change that acts on a subset (e.g. `--only-timed`): both runs are scored on
exactly the same questions with the leaderboard's scorer (MC, NOTA, EM, F1), with the count of
questions whose outcome flipped either way.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from service.evals.leaderboard import (
    list_weeks,
    read_jsonl,
    score_generation,
    score_mc,
)
from service.evals.scoring import gold_text, mc_correct, token_f1


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--data", type=Path, required=True)
    ap.add_argument("runs", type=Path, nargs=2, help="two predictions.jsonl")
    args = ap.parse_args()
    questions = {
        q["question_id"]: q
        for w in list_weeks(args.data)
        for q in read_jsonl(args.data / f"{w}_qa.jsonl")
    }
    runs = [{r["question_id"]: r for r in read_jsonl(p)} for p in args.runs]
    common = sorted(set(runs[0]) & set(runs[1]))
    qs = [questions[i] for i in common]
    print(f"{len(common)} questions in both runs")
    print(f"{'run':50} {'MC':>6} {'NOTA':>6} {'EM':>6} {'F1':>6} {'EM*':>6} {'F1*':>6}")
    nota = {
        f"{q['question_id']}": q
        for w in list_weeks(args.data)
        if (args.data / f"{w}_qa_nota.jsonl").exists()
        for q in read_jsonl(args.data / f"{w}_qa_nota.jsonl")
    }
    for path, run in zip(args.runs, runs, strict=True):
        mc = score_mc({k: run[k]["choice"] for k in common}, qs)
        nqs = [nota[f"{k}_nota"] for k in common if f"{k}_nota" in nota]
        nt = score_mc({f"{k}_nota": run[k].get("nota_choice") for k in common}, nqs)
        em, f1, _ = score_generation({k: run[k]["answer"] for k in common}, qs)
        flagged = {k: run[k].get("answer_if_flagged", run[k]["answer"]) for k in common}
        emf, f1f, _ = score_generation(flagged, qs)
        print(f"{str(path)[-50:]:50} {mc:6.1f} {nt:6.1f} {em:6.1f} {f1:6.1f} {emf:6.1f} {f1f:6.1f}")
    print("(EM*/F1*: answers the citation check would withdraw scored as given)")
    a, b = runs
    mc_flip = [
        (
            mc_correct(a[k]["choice"], questions[k]["answer"]),
            mc_correct(b[k]["choice"], questions[k]["answer"]),
        )
        for k in common
    ]
    print(
        f"MC: {sum(x and not y for x, y in mc_flip)} right only in the first, "
        f"{sum(y and not x for x, y in mc_flip)} right only in the second"
    )
    f1s = [
        (
            token_f1(a[k]["answer"], gold_text(questions[k]["choices"], questions[k]["answer"])),
            token_f1(b[k]["answer"], gold_text(questions[k]["choices"], questions[k]["answer"])),
        )
        for k in common
    ]
    print(
        f"F1: better in the first on {sum(x > y for x, y in f1s)}, "
        f"in the second on {sum(y > x for x, y in f1s)}"
    )


if __name__ == "__main__":
    main()

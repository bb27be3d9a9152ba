"""The lettered reading of multiple-choice options, measured beside the stored cloze scores of
an eval run: accuracy of cloze alone, letters alone and their sum at a range of letter weights
(`retrieval.answer.choice.mc_combine`), on all questions and on those whose answer is (not) in the
evidence. The sources are retrieved again exactly as the run's answer prompt got them
(`RAGPipeline.sources_for`); only the lettered prompt is read (one prefill a question), and its
scores are kept in --cache so an interrupted study resumes.

    newsrag eval realtimeqa --data ../shared/data/realtimeqa --index-cache IDX --out RUN
    .venv/bin/python -m bench.mc_letters --run RUN --index-cache IDX --cache letters.jsonl
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from retrieval.answer.choice import LETTERS, lettered_messages, mc_combine


def pick(scores: list[float]) -> int:
    return max(range(len(scores)), key=lambda i: scores[i])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--run", type=Path, required=True, help="OUT folder of an eval run")
    ap.add_argument("--index-cache", type=Path, required=True)
    ap.add_argument("--cache", type=Path, required=True, help="letter scores (jsonl, resumed)")
    ap.add_argument("--data", type=Path, default=None, help="RealTime QA folder")
    ap.add_argument(
        "--options-evidence",
        action="store_true",
        help="the run used --mc-query question+choices: read the options' own evidence",
    )
    args = ap.parse_args()
    mentions = args.options_evidence
    from bench.common import data_dir
    from index.core import Models
    from retrieval.find.search import SearchFilter
    from service.evals.leaderboard import parse_day, read_jsonl
    from service.evals.realtimeqa import eval_core, open_week
    from service.loading import core_config, offline
    from service.settings import Settings

    data = args.data or data_dir()
    rows = [json.loads(x) for x in (args.run / "predictions.jsonl").open(encoding="utf-8")]
    rows = [r for r in rows if "choice_scores_evidence" in r]
    qs: dict[str, dict[str, Any]] = {}
    for w in sorted({r["week"] for r in rows}):
        qs.update({q["question_id"]: q for q in read_jsonl(data / f"{w}_qa.jsonl")})
    done: dict[str, list[float]] = {}
    if args.cache.exists():
        for line in args.cache.open(encoding="utf-8"):
            rec = json.loads(line)
            done[rec["question_id"]] = rec["letters"]
    todo = [r for r in rows if r["question_id"] not in done]
    if todo:
        offline()
        core = eval_core(core_config(Settings()))
        models = Models.build(core)
        models.load()
        assert models.generator is not None
        with args.cache.open("a", encoding="utf-8") as out:
            for w in sorted({r["week"] for r in todo}):
                rag = open_week(data, w, args.index_cache, core, models)
                p = rag.pipeline
                for r in [r for r in todo if r["week"] == w]:
                    q = qs[r["question_id"]]
                    qdate = parse_day(q.get("question_date"))
                    _, sources, _ = p.sources_for(
                        q["question_sentence"],
                        p.config.top_k,
                        SearchFilter(published_to=qdate),
                        qdate,
                        q["choices"] if mentions else None,
                    )
                    msgs = lettered_messages(q["question_sentence"], sources, q["choices"])
                    letters = models.generator.choice_scores(
                        msgs, list(LETTERS[: len(q["choices"])])
                    )
                    done[r["question_id"]] = letters
                    out.write(
                        json.dumps({"question_id": r["question_id"], "letters": letters}) + "\n"
                    )
                    out.flush()
                rag.close()

    def accuracy(subset: list[dict[str, Any]], weight: float | None) -> str:
        right = 0
        for r in subset:
            letters = done[r["question_id"]]
            ev, cb = r["choice_scores_evidence"], r["choice_scores_closed_book"]
            s = letters if weight is None else mc_combine(ev, cb, 0.0, letters, weight)
            right += int(str(pick(s)) in qs[r["question_id"]]["answer"])
        return f"{100 * right / max(1, len(subset)):5.1f}"

    recall = "mc_evidence_recall" if mentions else "evidence_recall"
    inside = [r for r in rows if r["retrieval"].get(recall)]
    outside = [r for r in rows if not r["retrieval"].get(recall)]
    print(f"{len(rows)} questions; the answer in the evidence for {len(inside)}")
    print("letter weight   all   in-evidence  not-in-evidence")
    for wt in (0.0, 0.5, 1.0, 2.0, 3.0, None):
        label = "letters alone" if wt is None else f"{wt:.1f}"
        cells = [accuracy(rows, wt), accuracy(inside, wt), accuracy(outside, wt)]
        print(f"{label:>13}  {cells[0]}  {cells[1]}        {cells[2]}")


if __name__ == "__main__":
    main()

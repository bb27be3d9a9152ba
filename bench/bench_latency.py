"""`/ask` latency against the latency budget (p50 ≤ 2.5 s, p95 ≤ 5 s on 2 cores), beside
another revision of newsrag run on the same index and questions, alternating rounds in one run.

    .venv/bin/python -m bench.bench_latency --index data/index --baseline-rev 9aa301e
    .venv/bin/python -m bench.bench_latency --index /tmp/rtqa-idx/20220617-200-40-bfloat16 \\
        --realtimeqa-week 20220617 --baseline-rev 9aa301e

The baseline revision is checked out with `git worktree` into a temporary folder and run with
this virtualenv; each side answers in its own process (models loaded once, one warm-up
question), timing `ask` in-process (HTTP adds ~2 ms, docs/BENCHMARKS.md).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent

WORKER = r"""
import json, sys, time
from pathlib import Path
questions = json.loads(sys.argv[2])
from service.settings import Settings
settings = Settings(index_dir=Path(sys.argv[1]))
try:
    from service.loading import open_newsrag
    rag = open_newsrag(settings)
    rag.models.load()
    ask = rag.ask
except ImportError:  # revisions before the single core
    from service.loading import make_pipeline
    pipe = make_pipeline(settings)
    pipe.retriever.embedder.load(); pipe.generator.load()
    ask = pipe.ask
ask(questions[0])  # warm-up
out = []
for q in questions:
    t = time.perf_counter()
    a = ask(q)
    out.append({"question": q, "seconds": time.perf_counter() - t, "answer": a.answer,
                "abstained": a.abstained})
print("RESULT " + json.dumps(out))
"""


def run_side(
    src: Path, index: Path, questions: list[str], env: dict[str, str]
) -> list[dict[str, Any]]:
    proc = subprocess.run(
        [sys.executable, "-c", WORKER, str(index), json.dumps(questions)],
        cwd=src,
        env={**env, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=False,
    )
    for line in proc.stdout.splitlines():
        if line.startswith("RESULT "):
            result: list[dict[str, Any]] = json.loads(line[7:])
            return result
    raise RuntimeError(f"{src} failed: {proc.stderr[-2000:]}")


def percentiles(xs: list[float]) -> dict[str, float]:
    xs = sorted(xs)
    return {
        "p50": round(statistics.median(xs), 2),
        "p95": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 2),
        "mean": round(statistics.fmean(xs), 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--baseline-rev", default=None, help="git revision to compare with")
    ap.add_argument("--realtimeqa-week", default=None, help="ask this week's questions")
    ap.add_argument("--limit", type=int, default=30)
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()
    if args.realtimeqa_week:
        from bench.common import data_dir
        from service.evals.leaderboard import read_jsonl

        rows = read_jsonl(data_dir() / f"{args.realtimeqa_week}_qa.jsonl")
        questions = [r["question_sentence"] for r in rows][: args.limit]
    else:
        from service.evals.seed import load

        seed = load()[1]["test"]
        questions = [q for q, _ in seed.answerable] + seed.unanswerable
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    sides = {"ours": ROOT}
    with tempfile.TemporaryDirectory() as tmp:
        if args.baseline_rev:
            base = Path(tmp) / "baseline"
            subprocess.run(
                ["git", "worktree", "add", "--detach", str(base), args.baseline_rev],
                cwd=ROOT,
                check=True,
                capture_output=True,
            )
            sides["baseline"] = base
        try:
            times: dict[str, list[float]] = {k: [] for k in sides}
            answers: dict[str, list[dict[str, Any]]] = {}
            for _ in range(args.rounds):
                for name, src in sides.items():
                    res = run_side(src, args.index, questions, env)
                    times[name] += [r["seconds"] for r in res]
                    answers[name] = res
        finally:
            if args.baseline_rev:
                subprocess.run(
                    ["git", "worktree", "remove", "--force", str(sides["baseline"])],
                    cwd=ROOT,
                    check=False,
                    capture_output=True,
                )
    report: dict[str, Any] = {"questions": len(questions), "rounds": args.rounds}
    for name, ts in times.items():
        report[name] = percentiles(ts)
        report[name]["abstained"] = sum(r["abstained"] for r in answers[name])
    if "baseline" in report:
        report["p50_ratio_ours_over_baseline"] = round(
            report["ours"]["p50"] / report["baseline"]["p50"], 2
        )
        report["p95_ratio_ours_over_baseline"] = round(
            report["ours"]["p95"] / report["baseline"]["p95"], 2
        )
    for r in answers["ours"]:
        print(f"{r['seconds']:5.2f}s  {r['question'][:60]:60}  {r['answer'][:90]}")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()

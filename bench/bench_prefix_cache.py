"""Answer quality and time per question with and without the transformers prompt-prefix cache:
the RealTime QA runner on the first N questions of every week, once each way, same indexes.

    .venv/bin/python -m bench.bench_prefix_cache [--limit 10] [--out /tmp/prefix-cache]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

import retrieval.models.transformers_backend as generator_module
from bench.common import data_dir
from service.evals.realtimeqa import EvalConfig, run
from service.loading import core_config
from service.settings import get_settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--limit", type=int, default=10, help="questions per week")
    ap.add_argument("--out", type=Path, default=Path("/tmp/prefix-cache"))
    args = ap.parse_args()
    enabled = generator_module.MIN_PREFIX_REUSE
    rows: dict[str, Any] = {}
    preds: dict[str, list[dict[str, Any]]] = {}
    for mode, threshold in (("cache", enabled), ("no-cache", 10**9)):
        generator_module.MIN_PREFIX_REUSE = threshold
        out = args.out / mode
        core = core_config(get_settings())
        s = run(
            data_dir(), out, core, limit=args.limit, cfg=EvalConfig(), index_cache=args.out / "idx"
        )
        rows[mode] = {k: round(s["ours"][k], 1) for k in ("mc", "em", "f1")}
        rows[mode]["median_s_per_question"] = s["seconds"]["per_question_median"]
        with open(out / "predictions.jsonl", encoding="utf-8") as fh:
            preds[mode] = [json.loads(line) for line in fh]
    generator_module.MIN_PREFIX_REUSE = enabled
    pairs = list(zip(preds["cache"], preds["no-cache"], strict=True))
    rows["same_choice"] = sum(a["choice"] == b["choice"] for a, b in pairs)
    rows["same_answer"] = sum(a["answer"] == b["answer"] for a, b in pairs)
    rows["questions"] = len(pairs)
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

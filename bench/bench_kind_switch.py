"""Questions of every kind, one after another, with and without the remembered prompt
openings (llama.cpp `PREFIX_SNAPSHOTS`): the everyday set's dev questions interleaved by kind
(factoid, yes/no, open, list), asked in alternating rounds, with the same answers checked.

    .venv/bin/python -m bench.bench_kind_switch [--per-kind 3] [--rounds 2] [--index-cache C]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
from datetime import date
from itertools import chain, zip_longest
from pathlib import Path
from typing import Any

from bench.common import data_dir
from index.core import Models
from retrieval.options import AskOptions
from service.evals import everyday
from service.loading import core_config, offline
from service.settings import get_settings

KINDS = ("factoid", "yesno", "open", "list")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--per-kind", type=int, default=3)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--index-cache", type=Path, default=Path(tempfile.gettempdir()) / "kinds")
    args = ap.parse_args()
    offline()
    qset = everyday.load_set(everyday.DEFAULT_SET)
    dev = [q for q in qset["questions"] if q["split"] == "dev" and q.get("answerable", True)]
    by_kind = [[q for q in dev if q["type"] == k][: args.per_kind] for k in KINDS]
    asked = [q for q in chain(*zip_longest(*by_kind)) if q is not None]
    core = core_config(get_settings())
    models = Models.build(core, with_generator=True)
    articles = everyday.read_articles(data_dir(), qset["articles"])
    rag = everyday.open_index(articles.values(), args.index_cache, core, models)
    gen: Any = models.generator
    rag.warm()
    remembered = list(gen._snapshots)
    as_of = date.fromisoformat(qset["as_of"])
    runs: dict[str, list[dict[str, Any]]] = {"remembered": [], "one cache": []}
    for _ in range(args.rounds):
        for mode in runs:
            gen._snapshots = remembered if mode == "remembered" else []
            for q in asked:
                t = time.perf_counter()
                a = rag.ask(q["question"], AskOptions(as_of=as_of))
                runs[mode].append(
                    {
                        "id": q["id"],
                        "answer": a.answer,
                        "total_s": time.perf_counter() - t,
                        "first_word_s": a.timings_ms.get("first_word", 0.0) / 1000 or None,
                    }
                )
    rows: dict[str, Any] = {}
    for mode, rs in runs.items():
        words = [r["first_word_s"] for r in rs if r["first_word_s"]]
        rows[mode] = {
            "p50_total_s": round(statistics.median(r["total_s"] for r in rs), 2),
            "p50_first_word_s": round(statistics.median(words), 2) if words else None,
        }
    on, off = runs["remembered"], runs["one cache"]
    same = sum(x["answer"] == y["answer"] for x, y in zip(on, off, strict=True))
    rows["same_answers"] = f"{same}/{len(on)}"
    rows["ratio_p50_total"] = round(
        rows["remembered"]["p50_total_s"] / rows["one cache"]["p50_total_s"], 2
    )
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()

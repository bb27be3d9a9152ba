"""The seed-article question set (tests/integration/test_seed_questions.py) as a benchmark:
every answer, right or wrong, with its time, for the configured preset and backend.

    .venv/bin/python -m bench.seed_questions [--index data/index]
    NEWSRAG_PRESET=base .venv/bin/python -m bench.seed_questions
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from service.loading import open_newsrag
from service.settings import Settings
from tests.integration.test_seed_questions import ANSWERABLE, AS_OF, UNANSWERABLE, is_right


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=None, help="index of seeds/")
    args = ap.parse_args()
    settings = Settings() if args.index is None else Settings(index_dir=args.index)
    rag = open_newsrag(settings)
    rag.models.load()
    rag.ask(ANSWERABLE[0][0])  # warm-up
    times: list[float] = []
    right = abstained = 0
    for question, expected in [*ANSWERABLE, *((q, None) for q in UNANSWERABLE)]:
        t = time.perf_counter()
        a = rag.ask(question, as_of=AS_OF)
        times.append(time.perf_counter() - t)
        ok = a.abstained if expected is None else is_right(a, expected)
        if expected is None:
            abstained += ok
        else:
            right += ok
        mark = "ok " if ok else "BAD"
        conf = "-" if a.confidence is None else f"{a.confidence:.2f}"
        print(f"{mark} {times[-1]:5.2f}s conf {conf}  {question[:58]:58}  {a.answer[:80]}")
    xs = sorted(times)
    print(
        json.dumps(
            {
                "preset": settings.preset,
                "backend": settings.backend,
                "answerable_right": f"{right}/{len(ANSWERABLE)}",
                "unanswerable_abstained": f"{abstained}/{len(UNANSWERABLE)}",
                "p50_s": round(statistics.median(xs), 2),
                "p95_s": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

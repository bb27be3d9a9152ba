"""The seed-article question set (tests/integration/test_seed_questions.py) as a benchmark:
every answer, right or wrong, with its time, for the configured preset and backend.

    .venv/bin/python -m bench.seed_questions [--index data/index] [--set fresh]
    NEWSRAG_PRESET=base .venv/bin/python -m bench.seed_questions

`--set fresh` asks a second set, written as a new user would after the test set had been
tuned on (fifteenth session): whether what the test set taught carries over to questions
it did not see. It is not a test: its numbers are recorded in docs/EVALUATION.md.
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

# (question, any of these must occur in the short answer, normalised)
FRESH_ANSWERABLE: list[tuple[str, tuple[str, ...]]] = [
    ("How many Armenian troops died in the border clash?", ("four", "4")),
    ("Which Azerbaijani president won another term?", ("aliyev",)),
    ("Who accuses Azerbaijan of trying to escalate tensions?", ("armenia",)),
    ("What did Azerbaijan's Defence Ministry say prompted its attack?", ("soldier",)),
    ("Which ministry in Armenia voiced serious concern about the peace process?", ("foreign",)),
    ("How many people fled Azerbaijan after Karabakh was recaptured?", ("100,000", "100000")),
    ("Which country might the Zangezur corridor eventually connect to?", ("turkey",)),
    ("Who helps Azerbaijan pressure Armenia, according to speculation?", ("russia",)),
    ("What does Baku see the constitutional reference as?", ("legal claim",)),
    ("Who controls key infrastructure in Armenia?", ("russia",)),
    ("Which region had ethnic Armenians occupied for decades?", ("karabakh",)),
    ("Who is the president of Azerbaijan?", ("aliyev",)),
    ("Where did the new violence break out?", ("border",)),
    ("What happened to Pashinyan's popularity?", ("declin",)),
    ("What is the Zangezur corridor?", ("transport", "route")),
]
FRESH_UNANSWERABLE: list[str] = [
    "What is the capital of Armenia?",
    "Who is the foreign minister of Azerbaijan?",
    "How many Azerbaijani soldiers were killed?",
    "When will the peace agreement be signed?",
    "What is the capital of France?",
    "Who won the World Cup in 2018?",
]
SETS = {
    "test": (ANSWERABLE, UNANSWERABLE),
    "fresh": (FRESH_ANSWERABLE, FRESH_UNANSWERABLE),
}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, default=None, help="index of seeds/")
    ap.add_argument("--set", choices=sorted(SETS), default="test", dest="which")
    args = ap.parse_args()
    answerable, unanswerable = SETS[args.which]
    settings = Settings() if args.index is None else Settings(index_dir=args.index)
    rag = open_newsrag(settings)
    rag.models.load()
    rag.ask(ANSWERABLE[0][0])  # warm-up
    times: list[float] = []
    right = abstained = 0
    for question, expected in [*answerable, *((q, None) for q in unanswerable)]:
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
                "set": args.which,
                "answerable_right": f"{right}/{len(answerable)}",
                "unanswerable_abstained": f"{abstained}/{len(unanswerable)}",
                "p50_s": round(statistics.median(xs), 2),
                "p95_s": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 2),
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

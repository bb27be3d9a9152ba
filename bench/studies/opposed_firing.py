"""How often would the yes/no check's "the other way" rule (`retrieval.check.polarity.
opposed`: a change stated the other way, a lower rank of the question's superlative) turn a
right "Yes" into a wrong "No"? Over every answerable SQuAD 2.0 dev question, the sentence that
holds its gold answer agrees with the question; each time the rule fires on such a pair it
would have called an agreeing sentence the opposite.

    python -m bench.studies.opposed_firing --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from bench.studies.why_causes import answer_sentence
from retrieval.check.polarity import DIRECTIONS, opposed


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--show", type=int, default=10, help="pairs it fires on to print")
    args = ap.parse_args()
    squad = json.loads((args.data / "squad" / "dev-v2.0.reconstructed.json").read_text())
    total = directional = fired = 0
    shown: list[tuple[str, str]] = []
    for article in squad["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if qa.get("is_impossible"):
                    continue
                sent = answer_sentence(para["context"], qa["answers"][0]["answer_start"])
                if sent is None:
                    continue
                total += 1
                q = qa["question"]
                directional += any(way.search(q) for way in DIRECTIONS)
                if opposed(q, sent):
                    fired += 1
                    if len(shown) < args.show:
                        shown.append((q, sent))
    print(
        f"SQuAD 2.0 dev, answerable questions with their answer's sentence: {total}; "
        f"{directional} ask with a word of change; the rule fires on {fired} "
        f"({100 * fired / max(1, total):.2f} % of all, "
        f"{100 * fired / max(1, directional):.1f} % of those)"
    )
    for q, s in shown:
        print(f"- {q}\n    {s[:200]}")


if __name__ == "__main__":
    main()

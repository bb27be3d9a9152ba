"""What does "a sentence closing a quotation it did not open is no point of an answer" drop?
Over every RealTime QA article text (gold and search results, each once), split as
`retrieval.answer.extract` splits them with every other rule applied, count the sentences the
rule leaves out and print a sample of them to read.

    python -m bench.studies.quotation_tails --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import random
from pathlib import Path

from retrieval.answer import extract


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--show", type=int, default=40)
    args = ap.parse_args()
    tail = extract._quotation_tail
    extract._quotation_tail = lambda sentence: False  # the pool as it was without the rule
    seen: set[str] = set()
    pool, dropped = 0, []
    for f in sorted((args.data / "realtimeqa").glob("*.jsonl")):
        if not f.name.endswith(("_gold.jsonl", "_gcs.jsonl")):
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            for r in json.loads(line).get("search_result", []) or []:
                text = r.get("text") or ""
                if text in seen:
                    continue
                seen.add(text)
                for s in extract._paragraph_sentences(text):
                    pool += 1
                    if tail(s):
                        dropped.append(s)
    print(f"{len(seen)} articles, {pool} usable sentences, {len(dropped)} close a quotation")
    for s in random.Random(5).sample(dropped, min(args.show, len(dropped))):
        print("  -", s[:200])


if __name__ == "__main__":
    main()

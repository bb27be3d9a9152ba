"""What does "a short paragraph holding a newsletter's plug pitches in its other sentences
too" drop? Over every RealTime QA article text (gold and search results, each paragraph
once), split as `retrieval.answer.extract` splits them, count the short paragraphs that hold
a plug and more, and print every other sentence the rule drops and a sample of those it
keeps, to read.

    python -m bench.studies.plugs --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from retrieval.answer.extract import _PLUG, _PLUG_SENTENCES, _pitches
from retrieval.lang.text import sentences


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--show", type=int, default=40)
    args = ap.parse_args()
    seen: set[str] = set()
    paras, dropped, kept = 0, [], []
    for f in sorted((args.data / "realtimeqa").glob("*.jsonl")):
        if not f.name.endswith(("_gold.jsonl", "_gcs.jsonl")):
            continue
        for line in f.read_text(encoding="utf-8").splitlines():
            for r in json.loads(line).get("search_result", []) or []:
                for para in re.split(r"\n\s*\n|\n(?=[A-Z‘“\"'])", r.get("text") or ""):
                    text = " ".join(para.split())
                    if text in seen:
                        continue
                    seen.add(text)
                    said = sentences(text)
                    if len(said) > _PLUG_SENTENCES or not any(_PLUG.search(t) for t in said):
                        continue
                    rest = [t for t in said if not _PLUG.search(t)]
                    paras += bool(rest)
                    for t in rest:
                        (dropped if _pitches(t) else kept).append(t)
    print(f"{paras} short paragraphs hold a plug and more: {len(dropped)} other sentences "
          f"dropped, {len(kept)} kept")
    print("\ndropped:")
    for t in dropped:
        print("  -", t[:160])
    print("\nkept (sample):")
    for t in random.Random(7).sample(kept, min(args.show, len(kept))):
        print("  +", t[:160])


if __name__ == "__main__":
    main()

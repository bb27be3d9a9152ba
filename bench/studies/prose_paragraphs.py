"""Does "a paragraph that does not end as prose does states no point" hold on articles
nobody here read? Over RealTime QA search-result articles outside the everyday set (a fixed
random sample), count the paragraphs of six or more content words that
`retrieval.answer.extract` leaves out for their ending, and print a sample of them to read:
a caption with its credit, a link, a heading or a teaser is what the rule means to drop.

    python -m bench.studies.prose_paragraphs --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import random
import re
from pathlib import Path

from retrieval.answer.extract import _PROSE_END, MIN_WORDS
from retrieval.lang.words import content_words
from service.evals.everyday import DEFAULT_SET, load_set


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    ap.add_argument("--articles", type=int, default=40)
    ap.add_argument("--show", type=int, default=40)
    args = ap.parse_args()
    ours = set(load_set(DEFAULT_SET)["articles"].values())
    texts: dict[str, str] = {}
    for f in sorted((args.data / "realtimeqa").glob("*_gold.jsonl")):
        for line in f.read_text(encoding="utf-8").splitlines():
            for r in json.loads(line).get("search_result", []):
                url, text = r.get("url"), r.get("text") or ""
                if url and url not in ours and len(text) > 2000:
                    texts[url] = text
    urls = random.Random(7).sample(sorted(texts), min(args.articles, len(texts)))
    total, left_out = 0, []
    for url in urls:
        for para in re.split(r"\n\s*\n|\n(?=[A-Z‘“\"'])", texts[url]):
            text = " ".join(para.split())
            if len(content_words(text)) >= MIN_WORDS:
                total += 1
                if not _PROSE_END.search(text):
                    left_out.append(text)
    print(f"{len(urls)} articles, {total} paragraphs, {len(left_out)} left out for their ending")
    for text in random.Random(1).sample(left_out, min(args.show, len(left_out))):
        print("  …", text[-100:])


if __name__ == "__main__":
    main()

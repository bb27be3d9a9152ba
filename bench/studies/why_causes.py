"""Would "a why question's answer must state a cause" earn its place as a check? For every
answerable "why" question of SQuAD 2.0 dev: does the sentence that holds its gold answer match
the cause words open answers favour (`retrieval.answer.extract._CAUSE`: because, due to,
reason, driven by, …)? A check that withdrew answers without them would withdraw the rest.

    python -m bench.studies.why_causes --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
import re
from pathlib import Path

from retrieval.answer.extract import _CAUSE
from retrieval.lang.text import sentences


def answer_sentence(context: str, start: int) -> str | None:
    """The sentence of `context` the answer starting at `start` is in."""
    pos = 0
    for sent in sentences(context):
        at = context.find(sent, pos)
        if at < 0:
            continue
        if at <= start < at + len(sent) + 1:
            return sent
        pos = at + len(sent)
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    args = ap.parse_args()
    squad = json.loads((args.data / "squad" / "dev-v2.0.reconstructed.json").read_text())
    total = with_cause = 0
    for article in squad["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                if qa.get("is_impossible") or not re.match(r"\s*why\b", qa["question"], re.I):
                    continue
                sent = answer_sentence(para["context"], qa["answers"][0]["answer_start"])
                if sent is None:
                    continue
                total += 1
                with_cause += bool(_CAUSE.search(sent))
    print(
        f"SQuAD 2.0 dev, answerable why-questions: {total}; the answer's sentence names a "
        f"cause word in {with_cause} ({100 * with_cause / max(1, total):.1f} %)"
    )


if __name__ == "__main__":
    main()

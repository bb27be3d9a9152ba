"""What WordNet synonyms change in the subject check (`retrieval.check.subject.
about_subject`, one sentence: every name, half the other words): over every answerable SQuAD
2.0 dev question, does the sentence holding its gold answer pass, with and without synonyms?
And over the unanswerable ones, does the context sentence closest to the question in words
pass — a looser check lets more of those through.

    python -m bench.studies.synonym_subject --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from unittest import mock

from bench.studies.why_causes import answer_sentence
from retrieval.check import subject
from retrieval.check.polarity import fit
from retrieval.lang.text import sentences


def passes(question: str, sentence: str, with_synonyms: bool) -> bool:
    if with_synonyms:
        return subject.about_subject(question, [sentence], all_names=False)
    with mock.patch.object(subject, "synonyms", lambda w: frozenset()):
        return subject.about_subject(question, [sentence], all_names=False)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", type=Path, required=True, help="the shared data folder")
    args = ap.parse_args()
    squad = json.loads((args.data / "squad" / "dev-v2.0.reconstructed.json").read_text())
    counts = {k: [0, 0, 0] for k in ("answerable", "unanswerable")}  # asked, without, with
    for article in squad["data"]:
        for para in article["paragraphs"]:
            for qa in para["qas"]:
                q = qa["question"]
                if qa.get("is_impossible"):
                    sents = sentences(para["context"])
                    sent = max(sents, key=lambda s: fit(q, s), default=None)
                    key = "unanswerable"
                else:
                    sent = answer_sentence(para["context"], qa["answers"][0]["answer_start"])
                    key = "answerable"
                if sent is None:
                    continue
                row = counts[key]
                row[0] += 1
                row[1] += passes(q, sent, False)
                row[2] += passes(q, sent, True)
    for key, (n, without, with_) in counts.items():
        print(
            f"{key}: {n} questions; the sentence passes without synonyms {without} "
            f"({100 * without / n:.1f} %), with {with_} ({100 * with_ / n:.1f} %)"
        )


if __name__ == "__main__":
    main()

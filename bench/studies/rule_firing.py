"""Do the hand-written answer rules earn their place on data that is not the seed article?
For every question of the RealTime QA dev weeks, SQuAD 2.0 dev (answerable) and the everyday
set, with its gold answer and the text that holds it: how often each rule's question pattern
applies, and how often it would withdraw that right answer (harm). Ran at revision 7f08a5d
(issue #29), before `retrieval/roles.py` and `retrieval/places.py` were deleted:

    python -m bench.studies.rule_firing --data ../shared/data
"""

from __future__ import annotations

import argparse
import json
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import retrieval.check.constraints as constraints
from retrieval import roles
from retrieval.places import is_country
from retrieval.lang.words import capitalised_words, content_words, stems


def rtqa(data: Path) -> Iterator[tuple[str, str, str]]:
    for qa in sorted((data / "realtimeqa").glob("*_qa.jsonl")):
        week = qa.name.split("_")[0]
        docs = {}
        for line in (data / "realtimeqa" / f"{week}_gcs.jsonl").open():
            r = json.loads(line)
            docs[r["question_id"]] = [d.get("text") or "" for d in r["search_result"]]
        for line in qa.open():
            q = json.loads(line)
            answer = " ".join(q["choices"][int(i)] for i in q["answer"])
            for text in docs.get(q["question_id"], []):
                if answer.lower() in text.lower():
                    yield q["question_sentence"], answer, text
                    break


def squad(data: Path) -> Iterator[tuple[str, str, str]]:
    for art in json.load((data / "squad/dev-v2.0.reconstructed.json").open())["data"]:
        for p in art["paragraphs"]:
            for q in p["qas"]:
                if q["answers"]:
                    yield q["question"], q["answers"][0]["text"], p["context"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    args = ap.parse_args()
    for name, items in (("realtimeqa dev", rtqa(args.data)), ("squad 2.0 dev", squad(args.data))):
        n = Counter[str]()
        for question, answer, text in items:
            n["questions"] += 1
            n["role asked"] += roles.asked_role(question) is not None
            n["role withdraws right"] += roles.role_conflict(answer, text, question)
            asking = roles.question_sentences(question)[-1].lower()
            n["outcome asked"] += any(w in roles._OUTCOMES for w in roles._WORD.findall(asking))
            n["outcome withdraws right"] += roles.outcome_conflict(answer, text, question)
            n["group asked"] += roles._NAMED_GROUP.search(question) is not None
            n["group withdraws right"] += roles.group_conflict(answer, text, question)
            with_places = constraints.answer_in_context(answer, text, question)
            real = constraints.with_aliases
            constraints.with_aliases = lambda s: set(s)  # type: ignore[assignment]
            without = constraints.answer_in_context(answer, text, question)
            constraints.with_aliases = real
            n["places keep a right answer in context"] += with_places and not without
            n["places drop a right answer"] += without and not with_places
            # The names gate: a question let through by a name it shares with its source.
            names = stems(capitalised_words(question))
            shared = names & stems(content_words(text))
            n["gate: shares a name"] += bool(shared)
            n["gate: shares only a country"] += bool(shared) and all(map(is_country, shared))
        print(name, dict(n))


if __name__ == "__main__":
    main()

"""Multiple choice: which of a question's options the evidence supports.

Two readings of the same evidence, which fail differently:
- cloze (always): the model's mean log-likelihood of writing each option as the answer, with
  the sources (and, weighted, without them) — it never sees the other options side by side;
- lettered (when `letter_weight` > 0): the options are listed with letters after the question
  and the model's probability of each letter as the first word of its reply is read.
On all 329 RealTime QA dev questions (docs/EVALUATION.md, `bench/mc_letters.py`) their sum,
each normalised over the options, picks right on 67.8 % against 66.6 % for cloze alone and
65.0 % for letters alone — four questions, for a second ~550-token prompt a question — so
the lettered reading is off by default.

A question asking for the exception ("Which of these celebs was not invited…?", "She
appeared in all these films except:") is scored the other way round: a small model's
likelihood barely hears the "not" (it follows which options the evidence names), so the
options are scored on the question without its negation and the least likely one is the
pick.
"""

from __future__ import annotations

import math
import re
import string
from dataclasses import dataclass

from retrieval.answer.prompt import (
    ANSWER_LABEL,
    build_messages,
    closed_book_messages,
    format_sources,
)
from retrieval.errors import InvalidInputError
from retrieval.lang.text import question_sentences
from retrieval.models.base import TextGenerator
from retrieval.types import Hit

LETTERS = string.ascii_uppercase
MC_SYSTEM = (
    "You answer multiple-choice questions about news using the numbered sources. "
    "Reply with the letter of the correct option."
)
MC_ASK = "Answer with the letter of the correct option."
PADDING = -1e9  # an empty option's score: below any real one, and a number JSON can carry


@dataclass
class ChoiceAnswer:
    scores: list[float]  # one per option, higher is more likely; the pick is the argmax
    detail: dict[str, list[float]]  # "evidence", "closed_book", "letters", "combined"
    candidates: list[Hit]
    sources: list[Hit]  # the evidence the options were scored on


def check_choices(choices: list[str]) -> None:
    if not choices:
        raise InvalidInputError("choices must be a non-empty list of options")
    if len(choices) > len(LETTERS):
        raise InvalidInputError(f"at most {len(LETTERS)} choices can be scored")


def lettered_messages(
    question: str, sources: list[Hit], choices: list[str]
) -> list[dict[str, str]]:
    """The sources, the question and its options, each after a letter."""
    options = "\n".join(f"{LETTERS[i]}. {c.strip()}" for i, c in enumerate(choices))
    context = f"{format_sources(sources)}\n\n" if sources else ""
    user = f"{context}Question: {question}\n{options}\n{MC_ASK}"
    return [{"role": "system", "content": MC_SYSTEM}, {"role": "user", "content": user}]


# The asking sentence names the options as a set ("which of these", "all of the following")
# and asks for the one that is not so.
_AMONG = re.compile(r"\b(?:of (?:these|the following)|all (?:of )?(?:these|the following))\b", re.I)
_EXCEPT = re.compile(r"\b(?:not|never|except)\b|n[’']t\b", re.I)
_ALL_EXCEPT = re.compile(r"\ball (?:of )?(these|the following)((?: \w+)?) except\b:?", re.I)


def affirmed(question: str) -> str | None:
    """For a question asking which option is the exception, the same question asked without
    its negation ("Which of these was not invited?" -> "Which of these was invited?", "He was
    in all of these movies except:" -> "He was in which of these movies?"); None for any
    other question."""
    *before, asking = question_sentences(question)
    if not (_AMONG.search(asking) and _EXCEPT.search(asking)):
        return None
    s = _ALL_EXCEPT.sub(lambda m: f"which of {m.group(1)}{m.group(2)}?", asking)
    s = re.sub(r"\bwon[’']t\b", "will", s, flags=re.I)
    s = re.sub(r"\bcan[’']t\b", "can", s, flags=re.I)
    s = re.sub(r"n[’']t\b", "", s, flags=re.I)
    s = re.sub(r"\b(?:not|never) ", "", s, flags=re.I)
    s = re.sub(r"\s+", " ", s).strip()
    return " ".join([*before, s])


def log_softmax(xs: list[float]) -> list[float]:
    top = max(xs)
    z = top + math.log(sum(math.exp(x - top) for x in xs))
    return [x - z for x in xs]


def mc_combine(
    evidence: list[float],
    closed_book: list[float],
    weight: float,
    letters: list[float] | None = None,
    letter_weight: float = 0.0,
) -> list[float]:
    """The cloze score (evidence log-likelihood plus `weight` × the closed-book one, both
    per-token means); with `letters`, that score plus `letter_weight` × the letters'
    log-probabilities, each normalised over the options."""
    cloze = [a + weight * b for a, b in zip(evidence, closed_book, strict=True)]
    if letters is None or not letter_weight:
        return cloze
    return [
        a + letter_weight * b for a, b in zip(log_softmax(cloze), log_softmax(letters), strict=True)
    ]


def score_choices(
    generator: TextGenerator,
    question: str,
    choices: list[str],
    sources: list[Hit],
    messages: list[dict[str, str]],
    closed_book_weight: float,
    letter_weight: float,
    closed_book: bool = False,
) -> dict[str, list[float]]:
    """Every reading of the options on `sources` (`messages`: the answer prompt over them):
    cloze with the evidence, without it (only when weighted in or `closed_book` is asked
    for: an evaluation's NOTA rule reads it), lettered with it (unless `letter_weight` is 0: it
    costs a second reading of the sources), and their combination. A question asking for
    the exception is also read without its negation ("affirmed", a second prompt over the
    same sources), and its cloze score is minus that reading's."""
    check_choices(choices)
    with_ev = generator.choice_scores(messages, choices, prefix=ANSWER_LABEL)
    detail = {"evidence": with_ev}
    without = [0.0] * len(choices)
    if closed_book or closed_book_weight:
        without = generator.choice_scores(
            closed_book_messages(question), choices, prefix=ANSWER_LABEL
        )
        detail["closed_book"] = without
    asked_other_way = affirmed(question)
    if asked_other_way is not None:
        detail["affirmed"] = generator.choice_scores(
            build_messages(asked_other_way, sources), choices, prefix=ANSWER_LABEL
        )
        # The exception is the option the evidence supports least.
        with_ev = [-a for a in detail["affirmed"]]
        without = [0.0] * len(choices)
    letters = None
    if letter_weight:
        letters = generator.choice_scores(
            lettered_messages(question, sources, choices), list(LETTERS[: len(choices)])
        )
        detail["letters"] = letters
    combined = mc_combine(with_ev, without, closed_book_weight, letters, letter_weight)
    # An empty option pads some quizzes' lists; it is never the answer.
    detail["combined"] = [
        x if c.strip() else PADDING for x, c in zip(combined, choices, strict=True)
    ]
    return detail

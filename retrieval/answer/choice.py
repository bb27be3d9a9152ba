"""Multiple choice: which of a question's options the evidence supports.

The reading is cloze: the model's mean log-likelihood of writing each option as the answer,
with the sources (and, weighted or when an evaluation asks, without them). Listing the options
with letters and reading the letter's probability was measured and not adopted (+1.2 points on
329 RealTime QA dev questions for a second ~550-token prompt each: docs/EVALUATION.md).

A question asking for the exception ("Which of these celebs was not invited…?", "She
appeared in all these films except:") is scored the other way round: a small model's
likelihood barely hears the "not" (it follows which options the evidence names), so the
options are scored on the question without its negation and the least likely one is the
pick.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from retrieval.answer.prompt import ANSWER_LABEL, build_messages, closed_book_messages
from retrieval.errors import InvalidInputError
from retrieval.lang.text import question_sentences
from retrieval.models.base import TextGenerator
from retrieval.types import Hit

MAX_CHOICES = 26
PADDING = -1e9  # an empty option's score: below any real one, and a number JSON can carry


@dataclass
class ChoiceAnswer:
    scores: list[float]  # one per option, higher is more likely; the pick is the argmax
    detail: dict[str, list[float]]  # "evidence", "closed_book", "affirmed", "combined"
    candidates: list[Hit]
    sources: list[Hit]  # the evidence the options were scored on


def check_choices(choices: list[str]) -> None:
    if not choices:
        raise InvalidInputError("choices must be a non-empty list of options")
    if len(choices) > MAX_CHOICES:
        raise InvalidInputError(f"at most {MAX_CHOICES} choices can be scored")


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


def mc_combine(evidence: list[float], closed_book: list[float], weight: float) -> list[float]:
    """The evidence log-likelihood plus `weight` × the closed-book one (per-token means)."""
    return [a + weight * b for a, b in zip(evidence, closed_book, strict=True)]


def score_choices(
    generator: TextGenerator,
    question: str,
    choices: list[str],
    sources: list[Hit],
    messages: list[dict[str, str]],
    closed_book_weight: float,
    closed_book: bool = False,
) -> dict[str, list[float]]:
    """Every reading of the options on `sources` (`messages`: the answer prompt over them):
    cloze with the evidence, without it (only when weighted in or `closed_book` is asked
    for: an evaluation's NOTA rule reads it), and their combination. A question asking for
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
    combined = mc_combine(with_ev, without, closed_book_weight)
    # An empty option pads some quizzes' lists; it is never the answer.
    detail["combined"] = [
        x if c.strip() else PADDING for x, c in zip(combined, choices, strict=True)
    ]
    return detail

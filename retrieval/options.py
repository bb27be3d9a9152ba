"""What a caller sets: the pipeline's configuration, one question's options, and the events
an answer streams as — kept apart from the pipeline so that the doors (service/) and the
index builder describe a question without importing the answer path."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any, Literal

from retrieval.errors import InvalidInputError
from retrieval.find.evidence import EvidenceConfig
from retrieval.types import Answer, SearchFilter, Turn

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


@dataclass(frozen=True)
class AskOptions:
    """How one question is asked beyond its words — the same object through every door
    (HTTP, CLI, evaluations)."""

    top_k: int | None = None  # sources in the prompt (None: the pipeline's)
    filters: SearchFilter | None = None  # dates, outlets, the undated rule
    as_of: date | None = None  # "today" for windows read from the question ("this week")
    history: list[Turn] | None = None  # earlier turns: a follow-up is rewritten standalone
    choices: list[str] | None = None  # multiple choice: also score these options
    sentence: bool = True  # False: stop after the short answer (exact-match evaluations)


@dataclass
class PipelineConfig:
    top_k: int = 5
    # The cheap first cut for questions the index is plainly not about: the pipeline abstains
    # without calling the model when the best chunk scores below `min_score` (off-topic ones
    # < 0.2, paraphrases of an indexed article 0.3+), no evidence sentence reaches
    # `min_sentence_score` in meaning (off-topic questions against the seed article: 99 % below
    # 0.35) and the question names nothing its sources name. The calibrated
    # confidence decides the rest.
    min_score: float = 0.25
    min_sentence_score: float = 0.40
    max_new_tokens: int = 96
    # An open question's answer is two to four sentences: the sources' own ("extract",
    # retrieval.answer.extract; the reader only decides whether they answer) or the reader's
    # ("write", up to `max_new_tokens_open` tokens). Measured side by side in
    # docs/EVALUATION.md.
    open_answers: Literal["extract", "write"] = "extract"
    max_new_tokens_open: int = 192
    # Citation check: a claim is supported when its support reaches this value.
    support_threshold: float = 0.5
    # What to do with an answer none of whose claims is supported by its sources.
    unsupported: Literal["abstain", "flag"] = "abstain"
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    # Multiple choice (`retrieval.answer.choice`, chosen on RealTime QA dev, docs/EVALUATION.md):
    # weight of the closed-book likelihood added to the evidence one.
    mc_closed_book_weight: float = 0.0
    # Read the options closed-book even at weight 0 (the RealTime QA evaluation's NOTA rule
    # uses that reading; nothing else does, so it is not paid for by default).
    mc_closed_book_reading: bool = False
    # Answers whose calibrated confidence is below this become "I don't know" (None: the
    # operating point stored with the calibration; 0: never).
    min_confidence: float | None = None
    calibration_path: Path | None = None  # default: small's (confidence.calibration_for)
    # The confidence of open, yes/no, list and about-the-article answers (None: none given).
    kinds_calibration_path: Path | None = None
    # Read a publication window from the question's own words ("last week", "in May 2024");
    # explicit filters win on the bounds they set.
    time_filters: bool = True
    # When the reader declines ("I don't know") though the evidence passed the gate, make its
    # reply open "Answer:" and let the calibrated confidence decide (with a calibration, the
    # confidence gate on, and a backend that can open a reply): the reader sometimes declines
    # with the answer in its first source, and its forced answers to questions the sources do
    # not answer score low (docs/EVALUATION.md).
    reopen_declined: bool = True


@dataclass
class StreamEvent:
    event: Literal["sources", "short", "token", "done", "error"]
    data: dict[str, Any] = field(default_factory=dict)
    answer: Answer | None = None  # on `done`: the answer itself, for in-process callers


def validate_question(question: str, top_k: int) -> str:
    q = question.strip() if isinstance(question, str) else ""
    if not q:
        raise InvalidInputError("question must not be empty")
    if len(q) > MAX_QUESTION_CHARS:
        raise InvalidInputError(
            f"question must be at most {MAX_QUESTION_CHARS} characters, got {len(q)}"
        )
    if not 1 <= top_k <= MAX_TOP_K:
        raise InvalidInputError(f"top_k must be between 1 and {MAX_TOP_K}, got {top_k}")
    return q

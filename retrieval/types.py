"""Plain data passed between the stages."""

from __future__ import annotations

import hashlib
import unicodedata
import uuid
from dataclasses import asdict, dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, Literal

from retrieval.errors import InvalidInputError


def text_hash(body: str) -> str:
    """Dedup key of an article: a hash of its normalised body text (case, whitespace and
    Unicode form ignored). The title is not part of it: the same story under another headline
    is a duplicate."""
    norm = " ".join(unicodedata.normalize("NFC", body).split()).lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


class DuplicateText(StrEnum):
    """What a write does with an article whose text is already stored under another id."""

    SKIP = "skip"  # batch writes: reported in `duplicates`, the rest is written
    REFUSE = "refuse"  # a PUT: DuplicateTextError names the article that has the text


@dataclass(frozen=True)
class Article:
    """A parsed news article; `id` is a content hash so re-ingesting is idempotent."""

    id: str
    title: str
    body: str
    published: date | None = None
    image: str | None = None
    source: str | None = None
    url: str | None = None
    path: str | None = None
    author: str | None = None
    content_hash: str = ""  # text_hash(body): the dedup key (filled in when not given)

    def __post_init__(self) -> None:
        if not self.content_hash:
            object.__setattr__(self, "content_hash", text_hash(self.body))


@dataclass(frozen=True)
class ChunkSpan:
    """A slice `body[start:end]` of an article body; `text` is that slice."""

    ord: int
    start: int
    end: int
    text: str


@dataclass
class Hit:
    """One retrieved chunk with the metadata of its article."""

    chunk_id: int
    article_id: str
    title: str
    published: date | None
    url: str | None
    source: str | None
    text: str
    score: float
    scores: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["published"] = self.published.isoformat() if self.published else None
        return d


@dataclass
class Citation:
    """A source shown to the model, numbered as the answer cites it (`[id]`, 1-based)."""

    id: int
    hit: Hit
    cited: bool = False
    supported: bool | None = None
    support: float | None = None
    # The sentence(s) of the source that support the answer, found by the citation check
    # (never copied by the model): a substring of `hit.text`, for highlighting.
    quote: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "article_id": self.hit.article_id,
            "title": self.hit.title,
            "published": self.hit.published.isoformat() if self.hit.published else None,
            "url": self.hit.url,
            "source": self.hit.source,
            "text": self.hit.text,
            "quote": self.quote,
            "score": round(float(self.hit.score), 6),
            "cited": self.cited,
            "supported": self.supported,
        }


@dataclass(frozen=True)
class Turn:
    """One earlier message of a conversation (for follow-up questions)."""

    role: Literal["user", "assistant"]
    content: str


@dataclass
class Answer:
    answer: str
    abstained: bool
    citations: list[Citation]
    timings_ms: dict[str, float]
    question: str = ""
    standalone_question: str | None = None
    abstain_reason: str | None = None
    draft: str | None = None  # what the model wrote, when the pipeline abstained anyway
    # The bare answer span ("four"): what exact match scores; `answer` is the sentence.
    short_answer: str | None = None
    choice_scores: list[float] | None = None  # multiple-choice scores, when choices were given
    choice_detail: dict[str, list[float]] | None = None  # with and without evidence
    candidates: list[Hit] = field(default_factory=list)  # chunks the sources were chosen from
    # How likely the answer is right (calibrated, retrieval/check/confidence.py); None without a
    # calibration. `features` are the signals it was computed from.
    confidence: float | None = None
    features: dict[str, float] = field(default_factory=dict)
    # The filters the search used, including a date window the question's words set.
    filters_applied: dict[str, Any] | None = None
    # Names this answer for feedback (`POST /feedback`).
    answer_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    # What kind of answer the question asked for (retrieval.answer.kinds: factoid, open, yesno,
    # list, meta); it chose the prompt, the answer's shape and its checks.
    question_type: str | None = None
    # Each sentence (open, yes/no) or item (list) as the citation check saw it.
    claims: list[dict[str, Any]] = field(default_factory=list)
    # For "no_articles_in_window": the window searched and the newest article on the subject
    # outside it (`{"published_from", "published_to", "expression", "newest": {...}}`).
    window: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "answer_id": self.answer_id,
            "answer": self.answer,
            "short_answer": None if self.abstained else self.short_answer,
            "abstained": self.abstained,
            "abstain_reason": self.abstain_reason,
            "confidence": self.confidence,
            "citations": [c.to_dict() for c in self.citations],
            "timings_ms": {k: round(v, 2) for k, v in self.timings_ms.items()},
            "standalone_question": self.standalone_question,
            "filters_applied": self.filters_applied,
            "question_type": self.question_type,
            "claims": [] if self.abstained else self.claims,
            "window": self.window,
        }


def outlet_key(source: str | None) -> str:
    """An outlet's name as filters compare it: trimmed and case folded."""
    return (source or "").strip().lower()


@dataclass(frozen=True)
class SearchFilter:
    """Which articles may answer: an inclusive publication-date range and a set of outlets.
    Undated articles never match a bounded range unless `include_undated` (set for a window
    the question's own words imply: an undated article may still be about that time)."""

    published_from: date | None = None
    published_to: date | None = None
    sources: tuple[str, ...] = ()
    include_undated: bool = False

    def __post_init__(self) -> None:
        if self.published_from and self.published_to and self.published_from > self.published_to:
            raise InvalidInputError(
                f"filters.published_from ({self.published_from}) is after "
                f"filters.published_to ({self.published_to})"
            )
        object.__setattr__(self, "sources", tuple(outlet_key(s) for s in self.sources))

    @property
    def dated(self) -> bool:
        return self.published_from is not None or self.published_to is not None

    @property
    def active(self) -> bool:
        return self.dated or bool(self.sources)

    def accepts(self, published: date | None, source: str | None = None) -> bool:
        if self.sources and outlet_key(source) not in self.sources:
            return False
        if not self.dated:
            return True
        if published is None:
            return self.include_undated
        if self.published_from and published < self.published_from:
            return False
        return not (self.published_to and published > self.published_to)

    def to_dict(self) -> dict[str, Any]:
        return {
            "published_from": self.published_from.isoformat() if self.published_from else None,
            "published_to": self.published_to.isoformat() if self.published_to else None,
            "sources": list(self.sources),
        }

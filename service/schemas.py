"""Request and response bodies of the HTTP API (they become the OpenAPI schema)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StrictInt, StrictStr, field_validator

from index.formats import text_problem
from retrieval.find.followup import MAX_HISTORY_TURNS
from retrieval.options import MAX_QUESTION_CHARS, MAX_TOP_K, AskOptions
from retrieval.types import SearchFilter, Turn


def describe_errors(errors: Sequence[Any]) -> tuple[str, list[dict[str, str]]]:
    """Pydantic errors as one readable line that names each field, and as a list."""
    out = []
    for err in errors:
        loc = [str(p) for p in err.get("loc", ()) if p != "body"]
        if err.get("type") == "json_invalid":
            field, msg = "body", f"malformed JSON: {err.get('ctx', {}).get('error', '')}"
        else:
            field = ".".join(loc) or "body"
            msg = str(err.get("msg", "invalid value"))
        out.append({"field": field, "message": msg.strip(": ")})
    return "; ".join(f"{e['field']}: {e['message']}" for e in out), out


class Filters(BaseModel):
    model_config = ConfigDict(extra="forbid")
    published_from: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    published_to: date | None = Field(None, description="inclusive, YYYY-MM-DD")
    sources: list[Annotated[StrictStr, Field(min_length=1, max_length=200)]] = Field(
        default_factory=list,
        max_length=50,
        description="only articles from these outlets (case-insensitive, e.g. example.org)",
    )

    def to_core(self) -> SearchFilter:
        return SearchFilter(self.published_from, self.published_to, tuple(self.sources))


def _clean_text(value: str) -> str:
    value = value.strip()
    if not value:
        raise ValueError("must not be empty or whitespace")
    problem = text_problem(value)
    if problem:
        raise ValueError(problem)
    return value


class HistoryTurn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Literal["user", "assistant"]
    content: StrictStr = Field(..., max_length=8000)

    def to_core(self) -> Turn:
        return Turn(self.role, self.content)


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    question: StrictStr = Field(
        ..., max_length=MAX_QUESTION_CHARS, examples=["What happened at the border?"]
    )
    top_k: StrictInt | None = Field(None, ge=1, le=MAX_TOP_K, description="sources to retrieve")
    filters: Filters | None = None
    as_of: date | None = Field(
        None,
        description="the question's date (YYYY-MM-DD, default today): newer articles are "
        "preferred relative to it",
    )
    history: list[HistoryTurn] = Field(
        default_factory=list,
        max_length=MAX_HISTORY_TURNS,
        description="earlier turns, oldest first; the question is rewritten to stand alone",
    )

    _strip = field_validator("question")(_clean_text)

    def options(self) -> AskOptions:
        return AskOptions(
            top_k=self.top_k,
            filters=self.filters.to_core() if self.filters else None,
            as_of=self.as_of,
            history=[t.to_core() for t in self.history],
        )


class SearchRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    query: StrictStr = Field(..., max_length=MAX_QUESTION_CHARS)
    top_k: StrictInt | None = Field(None, ge=1, le=MAX_TOP_K)
    filters: Filters | None = None

    _strip = field_validator("query")(_clean_text)


class CitationOut(BaseModel):
    id: int = Field(description="the number the answer cites as [id]")
    article_id: str
    title: str
    published: date | None
    url: str | None
    source: str | None = Field(None, description="the outlet")
    text: str
    quote: str | None = Field(
        None,
        description="the sentence of `text` that supports the answer (found by the citation "
        "check, not written by the model); null unless cited",
    )
    score: float
    cited: bool = Field(description="whether the answer cites this source")
    supported: bool | None = Field(None, description="verified against the cited text")


class FiltersApplied(BaseModel):
    published_from: date | None
    published_to: date | None
    sources: list[str]
    from_question: str | None = Field(
        None, description="the words of the question that set the date window, if any"
    )


class ClaimOut(BaseModel):
    text: str = Field(description="a sentence (or list item) of the answer, without markers")
    citations: list[int] = Field(description="the sources it cites")
    support: float
    supported: bool


class NewestOut(BaseModel):
    article_id: str
    title: str
    published: date | None
    source: str | None = None
    url: str | None = None


class WindowOut(BaseModel):
    published_from: date | None
    published_to: date | None
    expression: str | None = Field(None, description="the question's words that set it")
    newest: NewestOut | None = Field(
        None, description="the newest article on the subject outside the window"
    )


class AskResponse(BaseModel):
    answer_id: str = Field(description="names this answer for POST /feedback")
    answer: str = Field(
        description="the answer citing its sources as [n]: a sentence, or two to four for "
        "an open question, 'Yes.'/'No.' and the sentence that shows it for a yes/no one"
    )
    short_answer: str | None = Field(
        None,
        description="the bare answer (a name, number, date…; yes/no; the items of a list), "
        "null for open questions and when abstaining",
    )
    question_type: str | None = Field(
        None, description="factoid, open, yesno, list or meta (about the article itself)"
    )
    abstained: bool
    abstain_reason: str | None = Field(
        None,
        description="weak_evidence (nothing relevant retrieved, or the sources are not about "
        "the question's subject), model (the model said it does not know), unsupported (no "
        "source supports the answer), low_confidence (below NEWSRAG_MIN_CONFIDENCE) or "
        "no_articles_in_window (nothing on the subject in the date window: `window` names the "
        "newest article outside it)",
    )
    confidence: float | None = Field(
        None,
        ge=0,
        le=1,
        description="how likely the answer is right (calibrated; null without a calibration)",
    )
    citations: list[CitationOut]
    timings_ms: dict[str, float]
    standalone_question: str | None = None
    filters_applied: FiltersApplied | None = None
    claims: list[ClaimOut] = Field(
        default_factory=list, description="each sentence or item as the citation check saw it"
    )
    window: WindowOut | None = None


class SearchResult(BaseModel):
    article_id: str
    title: str
    published: date | None
    url: str | None
    source: str | None = None
    text: str
    score: float


class SearchResponse(BaseModel):
    results: list[SearchResult]


class HealthResponse(BaseModel):
    """With NEWSRAG_PROTECT_READS, a client without the key sees only `status`."""

    status: str = Field(
        description="ok, or warming: the reader is reading its prompt's opening (answers "
        "work; the first waits until it is done)"
    )
    articles: int | None = None
    chunks: int | None = None
    embedder: str | None = None
    generator: str | None = None


class ErrorResponse(BaseModel):
    detail: str


class FeedbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answer_id: StrictStr = Field(..., pattern=r"^[0-9a-f]{32}$", description="from the answer")
    rating: Literal["up", "down"]
    comment: StrictStr | None = Field(None, max_length=2000)

    _clean = field_validator("comment")(lambda v: _clean_text(v) if v is not None else v)


class FeedbackOut(BaseModel):
    answer_id: str
    rating: Literal["up", "down"]
    stored: bool

"""The RAG pipeline: retrieve, decide whether the evidence is strong enough, generate, cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from contextlib import closing
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal

from retrieval import about, extract
from retrieval.answer_check import AnswerJudge, uncite
from retrieval.choice import ChoiceAnswer, check_choices, score_choices
from retrieval.confidence import Calibration
from retrieval.errors import (
    ArticleNotFoundError,
    GenerationError,
    InvalidInputError,
    UnsupportedError,
)
from retrieval.evidence import EvidenceConfig, EvidenceSelector, names_shared, with_mentions
from retrieval.followup import MAX_HISTORY_TURNS, standalone_question
from retrieval.generation import CHOICE_SCORES, OPENED_REPLY, TextGenerator, supports
from retrieval.kind_check import KindJudge, about_subject
from retrieval.kinds import QuestionType, question_type
from retrieval.prompt import (
    ABSTAIN_TEXT,
    ANSWER_LABEL,
    AnswerStream,
    build_messages,
    cited_numbers,
    is_abstention,
)
from retrieval.search import Retriever, SearchFilter
from retrieval.timefilter import time_window
from retrieval.types import Answer, Article, Citation, Hit, Turn
from retrieval.verify import CitationVerifier

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50
# Tokens of an open question's reply read to learn whether the reader would decline.
OPENING_TOKENS = 6


@dataclass
class PipelineConfig:
    top_k: int = 5
    # The cheap first cut for questions the index is plainly not about: the pipeline abstains
    # without calling the model when the best chunk scores below `min_score` (off-topic ones
    # < 0.2, paraphrases of an indexed article 0.3+), no evidence sentence reaches
    # `min_sentence_score` in meaning (off-topic questions against the seed article: 99 % below
    # 0.35) and the question names nothing its sources name (but countries). The calibrated
    # confidence decides the rest.
    min_score: float = 0.25
    min_sentence_score: float = 0.40
    max_new_tokens: int = 96
    # An open question's answer is two to four sentences: the sources' own ("extract",
    # retrieval.extract; the reader only decides whether they answer) or the reader's
    # ("write", up to `max_new_tokens_open` tokens). Measured side by side in
    # docs/EVALUATION.md.
    open_answers: Literal["extract", "write"] = "extract"
    max_new_tokens_open: int = 192
    # Citation check: a claim is supported when its support reaches this value.
    support_threshold: float = 0.5
    # What to do with an answer none of whose claims is supported by its sources.
    unsupported: Literal["abstain", "flag"] = "abstain"
    evidence: EvidenceConfig = field(default_factory=EvidenceConfig)
    # Multiple choice (`retrieval.choice`, chosen on RealTime QA dev, docs/EVALUATION.md):
    # weight of the closed-book likelihood added to the evidence one, and of the lettered
    # reading of the options added to that (0: not read — on all of dev it moved MC 66.6 →
    # 67.8 for a second prompt a question, twice the evaluation's time).
    mc_closed_book_weight: float = 0.0
    mc_letter_weight: float = 0.0
    # Answers whose calibrated confidence is below this become "I don't know" (None: the
    # operating point stored with the calibration; 0: never).
    min_confidence: float | None = None
    calibration_path: Path | None = None  # default: small's (confidence.calibration_for)
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
    event: Literal["sources", "token", "done", "error"]
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


def read_reply(
    pieces: Iterator[str], reply: AnswerStream, sentence: bool
) -> Generator[str, None, None]:
    """Feed the model's pieces to `reply`, yielding the text each makes visible; stop after
    the short line unless the sentence is wanted. Stopping (or closing this) closes `pieces`,
    which stops the model at once."""
    try:
        for piece in pieces:
            yield reply.feed(piece)
            if not sentence and reply.short_done:
                break
    finally:
        close = getattr(pieces, "close", None)
        if close is not None:
            close()


class RAGPipeline:
    def __init__(
        self,
        retriever: Retriever,
        generator: TextGenerator | None,
        config: PipelineConfig | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.config = config or PipelineConfig()
        self.evidence = EvidenceSelector(retriever.embedder, self.config.evidence)
        self.judge = AnswerJudge(
            CitationVerifier(retriever.embedder, self.config.support_threshold),
            retriever.embedder,
            Calibration.load(self.config.calibration_path),
            self.config.min_confidence,
            self.config.unsupported,
        )
        self.kinds = KindJudge(self.judge.verifier)

    # -- retrieval -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
    ) -> list[Hit]:
        top_k = top_k or self.config.top_k
        q = validate_question(query, top_k)
        return self.retriever.search(q, top_k, filters, as_of=as_of)

    # -- answering -----------------------------------------------------------------------------
    def question_filters(
        self, question: str, filters: SearchFilter | None, as_of: date | None
    ) -> tuple[SearchFilter, date | None, dict[str, Any]]:
        """The filters a search uses: the explicit ones, plus the publication window the
        question's words imply on the bounds the explicit ones leave open. Returns them, the
        date recency is measured from, and what was applied (for the answer)."""
        filters = filters or SearchFilter()
        window = time_window(question, as_of or date.today()) if self.config.time_filters else None
        if filters.published_from and filters.published_to:
            window = None  # the explicit range says it all
        if window is not None:
            filters = SearchFilter(
                filters.published_from or window.published_from,
                filters.published_to or window.published_to,
                filters.sources,
                include_undated=not filters.dated,
            )
        applied = {**filters.to_dict(), "from_question": window.expression if window else None}
        return filters, window.focus if window else None, applied

    def retrieve(
        self,
        question: str,
        top_k: int,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
        focus: date | None = None,
        mentions: list[str] | None = None,
    ) -> tuple[list[Hit], list[Hit]]:
        """(candidate chunks, the sources shown to the model): a wide hybrid search, then
        the sentences that answer, packed into at most `top_k` numbered sources. With
        `mentions` (a multiple-choice question's options) the search also looks for them and
        each gets its best sentence shown."""
        ev = self.evidence.config
        query = with_mentions(question, mentions or ())
        if not ev.enabled:
            hits = self.retriever.search(query, top_k, filters, as_of=as_of, focus=focus)
            return hits, hits
        candidates = self.retriever.search(
            query, max(ev.candidates, top_k), filters, as_of=as_of, focus=focus
        )
        sources = self.evidence.select(question, candidates, top_k, mentions or ())
        return candidates, sources

    def sources_for(
        self,
        question: str,
        top_k: int,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
        mentions: list[str] | None = None,
    ) -> tuple[list[Hit], list[Hit], dict[str, Any]]:
        """What an answer to `question` reads: (candidate chunks, sources, the filters
        applied), searched within the explicit filters and the window the question's words
        set."""
        used, focus, applied = self.question_filters(question, filters, as_of)
        candidates, sources = self.retrieve(question, top_k, used, as_of, focus, mentions)
        return candidates, sources, applied

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
        history: list[Turn] | None = None,
        choices: list[str] | None = None,
        sentence: bool = True,
    ) -> Answer:
        """The streaming path, drained: the same answer as `ask_stream`'s `done` event."""
        for event in self.ask_stream(
            question, top_k, filters, as_of, history, None, choices, sentence
        ):
            if event.answer is not None:
                return event.answer
        raise GenerationError("the answer stream ended without an answer")

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
        history: list[Turn] | None = None,
        cancel: threading.Event | None = None,
        choices: list[str] | None = None,
        sentence: bool = True,
    ) -> Iterator[StreamEvent]:
        """`sources`, then `token`s of the answer sentence as the model writes it, then
        `done` with the final answer. Input is validated here, before any event; setting
        `cancel` stops generation. With `choices`, also score them (multiple choice); with
        `sentence=False`, stop after the short answer (evaluation: exact match scores it)."""
        top_k = top_k or self.config.top_k
        q = validate_question(question, top_k)
        if history and len(history) > MAX_HISTORY_TURNS:
            history = history[-MAX_HISTORY_TURNS:]
        if choices is not None and not supports(self.generator, CHOICE_SCORES):
            raise UnsupportedError("multiple choice needs a generator that scores options")
        if choices is not None:
            check_choices(choices)
        return self._run(q, top_k, filters, as_of, history, cancel, choices, sentence)

    def _run(
        self,
        q: str,
        top_k: int,
        filters: SearchFilter | None,
        as_of: date | None,
        history: list[Turn] | None,
        cancel: threading.Event | None,
        choices: list[str] | None,
        sentence: bool,
    ) -> Iterator[StreamEvent]:
        t0 = time.perf_counter()
        standalone = standalone_question(self.generator, q, history)
        kind = self.kind_of(q, standalone, choices, sentence)
        query = standalone
        if kind is QuestionType.META and history and not about.has_subject(standalone):
            # "What is the article about?" in a conversation: the article being discussed.
            previous = [t.content for t in history if t.role == "user" and t.content.strip()]
            query = f"{previous[-1]} {standalone}" if previous else standalone
        used, focus, applied = self.question_filters(query, filters, as_of)
        candidates, sources = self.retrieve(query, top_k, used, as_of, focus)
        if kind is QuestionType.OPEN:
            sources = [self.with_lead(h) for h in sources]
        citations = [Citation(id=i, hit=h) for i, h in enumerate(sources, start=1)]
        t_sources = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": t_sources, "sources": t_sources, "generate": 0.0}
        yield StreamEvent(
            "sources",
            {
                "citations": [c.to_dict() for c in citations],
                "standalone_question": standalone if history else None,
                "filters_applied": applied,
                "question_type": kind.value,
            },
        )
        messages = build_messages(standalone, sources, kind)
        if kind is QuestionType.META:
            answer = self.about_article(standalone, query, citations, timings)
        elif self.evidence_is_weak(standalone, sources):
            answer = Answer(
                ABSTAIN_TEXT,
                True,
                citations,
                timings,
                q,
                abstain_reason="weak_evidence",
                confidence=0.0,
            )
        elif kind is QuestionType.OPEN and self.config.open_answers == "extract":
            if self.generator is None:
                raise UnsupportedError("this pipeline has no generator; use search instead")
            t1 = time.perf_counter()
            answer = self.extracted(standalone, messages, citations, timings, cancel)
            if cancel is not None and cancel.is_set():
                return
            timings["generate"] = (time.perf_counter() - t1) * 1000
            timings["first_token"] = (time.perf_counter() - t0) * 1000
            yield StreamEvent("token", {"text": answer.answer})
        else:
            if self.generator is None:
                raise UnsupportedError("this pipeline has no generator; use search instead")
            reply = AnswerStream()
            t1 = time.perf_counter()
            budget = (
                self.config.max_new_tokens_open
                if kind is QuestionType.OPEN
                else self.config.max_new_tokens
            )
            whole = sentence or kind is not QuestionType.FACTOID
            pieces = self.generator.stream(messages, budget, cancel)
            with closing(read_reply(pieces, reply, whole)) as reading:
                for shown in reading:
                    if "first_token" not in timings:
                        timings["first_token"] = (time.perf_counter() - t0) * 1000
                    if shown:
                        yield StreamEvent("token", {"text": shown})
            if cancel is not None and cancel.is_set():
                return
            timings["generate"] = (time.perf_counter() - t1) * 1000
            if kind is QuestionType.OPEN:
                answer = self.kinds.open(standalone, reply.raw, citations, timings)
            elif kind is QuestionType.YESNO:
                answer = self.kinds.yes_no(standalone, reply.raw, citations, timings)
            elif kind is QuestionType.LIST:
                answer = self.kinds.items(standalone, reply.raw, citations, timings)
            else:
                answer = self.judge.judge(
                    self.generator, standalone, reply.raw, citations, timings, messages
                )
            if (
                kind is QuestionType.FACTOID
                and answer.abstain_reason == "model"
                and self._may_reopen()
            ):
                t3 = time.perf_counter()
                raw = self._reopened(messages, cancel)
                if cancel is not None and cancel.is_set():
                    return
                timings["reopen"] = (time.perf_counter() - t3) * 1000
                answer = self.judge.judge(
                    self.generator, standalone, raw, citations, timings, messages
                )
        if answer.abstained and used.dated:
            self.explain_window(standalone, answer, used, applied, as_of)
        if choices:
            t2 = time.perf_counter()
            answer.choice_detail = self.choose(standalone, choices, sources, messages)
            answer.choice_scores = answer.choice_detail["combined"]
            timings["choose"] = (time.perf_counter() - t2) * 1000
        answer.question = q
        answer.question_type = kind.value
        answer.standalone_question = standalone if history else None
        answer.candidates = candidates
        answer.filters_applied = applied
        timings["total"] = (time.perf_counter() - t0) * 1000
        yield StreamEvent("done", answer.to_dict(), answer)

    def lead_of(self, hit: Hit) -> str:
        """The first sentence of a hit's article ("" when the article is gone)."""
        try:
            body = self.retriever.store.get_article(hit.article_id).article.body
        except ArticleNotFoundError:  # deleted since the search
            return ""
        return about.lead(body, 1)

    def with_lead(self, hit: Hit) -> Hit:
        """A source for an open question, opening with its article's first sentence (news
        states its main point first; the evidence selection chose sentences like the
        question's words, which "what happened?" has few of)."""
        first = self.lead_of(hit)
        if not first or first in hit.text:
            return hit
        return replace(hit, text=f"{first} … {hit.text}")

    def extracted(
        self,
        question: str,
        messages: list[dict[str, str]],
        citations: list[Citation],
        timings: dict[str, float],
        cancel: threading.Event | None,
    ) -> Answer:
        """An open answer in the sources' own words (retrieval.extract), once the reader's
        first words show it would answer rather than decline."""
        assert self.generator is not None
        reply = AnswerStream()
        pieces = self.generator.stream(messages, OPENING_TOKENS, cancel)
        with closing(read_reply(pieces, reply, True)) as reading:
            for _ in reading:
                if len(reply.raw.split()) >= 3:
                    break
        opening = reply.raw
        if is_abstention(opening):
            uncite(citations)
            return Answer(ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="model")
        first = self.lead_of(citations[0].hit) if citations else ""
        chosen = extract.pick(question, citations, self.evidence, first)
        plain = extract.compose(chosen, citations, attribute=False)
        answer = self.kinds.open(question, plain, citations, timings)
        if not answer.abstained and answer.answer == plain:
            answer.answer = extract.compose(chosen, citations)
        return answer

    @staticmethod
    def kind_of(
        q: str, standalone: str, choices: list[str] | None, sentence: bool = True
    ) -> QuestionType:
        """The kind of answer wanted: read from the standalone question (a follow-up's
        rewrite), except that a question about "this article" stays one. A caller that scores
        options or only the short answer (multiple choice, exact match: the leaderboard and
        SQuAD evaluations) asks a quiz item: a factoid."""
        if choices is not None or not sentence:
            return QuestionType.FACTOID
        asked = question_type(q)
        return asked if asked is QuestionType.META else question_type(standalone)

    def about_article(
        self,
        question: str,
        named: str,
        citations: list[Citation],
        timings: dict[str, float],
    ) -> Answer:
        """An answer from the article's own metadata (`retrieval.about`), citing it; abstains
        when no source's article is about the subject `named` (the question, or in a
        conversation the question before it), or when nothing names a subject and the sources
        are from several articles."""
        store = self.retriever.store
        articles: dict[str, Article] = {}
        for c in citations:
            if c.hit.article_id not in articles:
                try:
                    articles[c.hit.article_id] = store.get_article(c.hit.article_id).article
                except ArticleNotFoundError:  # deleted since the search
                    continue
        found = about.matching(named, citations, articles)
        if not about.has_subject(named) and len(articles) > 1:
            found = []
        if not found:
            uncite(citations)
            return Answer(
                ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="weak_evidence"
            )
        # Of several articles on the subject, the best ranked that carries what is asked.
        best = next(
            (c for c in found if about.has_field(articles[c.hit.article_id], question)), found[0]
        )
        article = articles[best.hit.article_id]
        outlets: dict[str, int] = {}  # each outlet once, at its best-ranked source
        for c in found:
            outlets.setdefault(articles[c.hit.article_id].source or "", c.id)
        made = about.describe(question, article, best.id, list(outlets.items()))
        if made.abstain:
            uncite(citations)
            return Answer(
                f"I don't know: {made.text[0].lower()}{made.text[1:]}",
                True,
                citations,
                timings,
                question,
                abstain_reason=made.abstain,
            )
        cited = set(cited_numbers(made.text))
        for c in citations:
            if c.id in cited:
                c.cited, c.supported, c.support = True, True, 1.0
        answer = Answer(made.text, False, citations, timings, question, short_answer=made.short)
        answer.claims = [
            {"text": made.text, "citations": sorted(cited), "support": 1.0, "supported": True}
        ]
        return answer

    def explain_window(
        self,
        question: str,
        answer: Answer,
        used: SearchFilter,
        applied: dict[str, Any],
        as_of: date | None,
    ) -> None:
        """When a date window left nothing on the question's subject, say so: the answer
        becomes `no_articles_in_window`, naming the window and the newest article on the
        subject outside it (a reader can then search all dates)."""
        inside = [c.hit for c in answer.citations]
        if any(about_subject(question, [h.title, h.text]) for h in inside):
            return  # the window held articles on the subject; they did not answer
        wider = SearchFilter(sources=used.sources)
        hits = self.retriever.search(question, 20, wider, as_of=as_of)
        outside = [
            h
            for h in hits
            if not used.accepts(h.published, h.source)
            and about_subject(question, [h.title, h.text])
        ]
        if not outside:
            return
        newest = max(outside, key=lambda h: (h.published or date.min, h.score))
        start, end = used.published_from, used.published_to
        span = (
            f"between {start.isoformat()} and {end.isoformat()}"
            if start and end
            else f"after {start.isoformat()}"
            if start
            else f"before {end.isoformat() if end else ''}"
        )
        words = applied.get("from_question")
        said = f" (“{words}”)" if words else ""
        when = newest.published.isoformat() if newest.published else "undated"
        answer.answer = (
            f"I don't know: no indexed article published {span}{said} is about this. The "
            f"newest one that is: “{newest.title}” ({newest.source or 'unknown outlet'}, {when})."
        )
        answer.abstain_reason = "no_articles_in_window"
        answer.window = {
            "published_from": start.isoformat() if start else None,
            "published_to": end.isoformat() if end else None,
            "expression": words,
            "newest": {
                "article_id": newest.article_id,
                "title": newest.title,
                "published": newest.published.isoformat() if newest.published else None,
                "source": newest.source,
                "url": newest.url,
            },
        }

    def choose_answer(
        self,
        question: str,
        choices: list[str],
        top_k: int | None = None,
        filters: SearchFilter | None = None,
        as_of: date | None = None,
    ) -> ChoiceAnswer:
        """Multiple choice on evidence of its own: the options name what to look for, so the
        search includes them and each option's best sentence is shown (on RealTime QA dev the
        evidence then holds the answer for 67 % of questions instead of 51 %); the options are
        scored on that prompt and nothing is generated."""
        if self.generator is None or not supports(self.generator, CHOICE_SCORES):
            raise UnsupportedError("multiple choice needs a generator that scores options")
        top_k = top_k or self.config.top_k
        q = validate_question(question, top_k)
        check_choices(choices)
        candidates, sources, _ = self.sources_for(q, top_k, filters, as_of, choices)
        detail = self.choose(q, choices, sources, build_messages(q, sources))
        return ChoiceAnswer(detail["combined"], detail, candidates, sources)

    def evidence_is_weak(self, question: str, hits: list[Hit]) -> bool:
        """Abstain without calling the model when the question is plainly not about the
        sources. A 200-token chunk is a poor match for a short question about one of its
        sentences, and the embedder places rare names poorly ("What happened in Syunik?"
        scores 0.24 against the article about the attack in Syunik): a close sentence, or a
        name the question shares with the sources, is enough to ask the model."""
        cfg = self.config
        if not hits:
            return True
        if max(h.score for h in hits) >= cfg.min_score:
            return False
        if max(h.scores.get("sentence_dense", 0.0) for h in hits) >= cfg.min_sentence_score:
            return False
        return not names_shared(question, hits)

    def _may_reopen(self) -> bool:
        return (
            self.config.reopen_declined
            and self.judge.gates
            and supports(self.generator, OPENED_REPLY)
        )

    def _reopened(self, messages: list[dict[str, str]], cancel: threading.Event | None) -> str:
        """The reply again, made to open with "Answer:" (llama.cpp still holds the prompt in
        its cache: only the answer is decoded) — its short answer's line only. The sentence a
        reader writes after a forced answer is seldom about it (over the seed questions, none
        of nine was: it copied unrelated source sentences for up to 70 tokens, 1–4 s, and the
        page showed the short answer alone); the evaluations the confidence was fitted on
        never decoded it either."""
        assert self.generator is not None
        reply = AnswerStream()
        reply.feed(ANSWER_LABEL)
        pieces = self.generator.stream(
            messages, self.config.max_new_tokens, cancel, opening=ANSWER_LABEL
        )
        with closing(read_reply(pieces, reply, sentence=False)) as reading:
            for _ in reading:
                pass
        return reply.raw

    def choose(
        self,
        question: str,
        choices: list[str],
        sources: list[Hit],
        messages: list[dict[str, str]],
    ) -> dict[str, list[float]]:
        """Score each multiple-choice option on the sources (`retrieval.choice`): the model's
        likelihood of writing it as the answer with and without them, and, when weighted in,
        its letter with the options read side by side."""
        assert self.generator is not None
        return score_choices(
            self.generator,
            question,
            choices,
            sources,
            messages,
            self.config.mc_closed_book_weight,
            self.config.mc_letter_weight,
        )

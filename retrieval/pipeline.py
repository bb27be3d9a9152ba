"""The RAG pipeline: retrieve, decide whether the evidence is strong enough, generate, cite."""

from __future__ import annotations

import threading
import time
from collections.abc import Generator, Iterator
from contextlib import AbstractContextManager, closing, nullcontext
from dataclasses import replace
from datetime import date
from typing import Any

from retrieval.answer import about, articles, extract
from retrieval.answer.choice import ChoiceAnswer, check_choices, score_choices
from retrieval.answer.kinds import QuestionType, question_type
from retrieval.answer.prompt import (
    ABSTAIN_TEXT,
    AnswerStream,
    build_messages,
    unstated_text,
)
from retrieval.answer.reading import extracted, read_reply, reopened, verdict_line
from retrieval.check.answer_check import AnswerJudge
from retrieval.check.confidence import Calibration
from retrieval.check.kind_check import KindJudge
from retrieval.check.kind_confidence import KindConfidence, kind_features
from retrieval.check.verify import CitationVerifier
from retrieval.errors import (
    GenerationError,
    UnsupportedError,
)
from retrieval.find.evidence import (
    EvidenceSelector,
    Sentence,
    evidence_is_weak,
    with_mentions,
)
from retrieval.find.followup import MAX_HISTORY_TURNS, standalone_question
from retrieval.find.search import Retriever
from retrieval.find.timefilter import time_window
from retrieval.lang import synonyms
from retrieval.models.base import (
    CHOICE_SCORES,
    OPENED_REPLY,
    PREFIX_CACHE,
    PREFIX_SNAPSHOTS,
    TextGenerator,
    supports,
)
from retrieval.options import (
    AskOptions,
    PipelineConfig,
    StreamEvent,
    validate_question,
)
from retrieval.types import Answer, Citation, Hit, SearchFilter


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
        self.kind_confidence = KindConfidence.load(self.config.kinds_calibration_path)

    def warm(self) -> bool:
        """Run the embedder and the index once and read the answer prompt's common opening
        (instructions and examples) into the generator's cache, so that the first question
        costs what later ones do (and the synonyms the checks read, ~0.5 s). False when the
        generator keeps no prompt cache."""
        self.retriever.search("warm up", 1)
        synonyms.load()
        if self.generator is None or not supports(self.generator, PREFIX_CACHE):
            return False
        if supports(self.generator, PREFIX_SNAPSHOTS):
            # Every kind's opening kept: a yes/no question after a factoid one read the
            # whole yes/no prompt again (docs/BENCHMARKS.md).
            for kind in (QuestionType.OPEN, QuestionType.YESNO, QuestionType.LIST):
                self.generator.remember(build_messages("", [], kind))
        # The factoid opening last: the cache then holds the most common kind's.
        self.generator.remember(build_messages("", []))
        return True

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

    def ask(self, question: str, options: AskOptions | None = None) -> Answer:
        """The streaming path, drained: the same answer as `ask_stream`'s `done` event."""
        for event in self.ask_stream(question, options):
            if event.answer is not None:
                return event.answer
        raise GenerationError("the answer stream ended without an answer")

    def ask_stream(
        self,
        question: str,
        options: AskOptions | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[StreamEvent]:
        """`sources`, then `token`s of the answer sentence as the model writes it, then
        `done` with the final answer. Input is validated here, before any event; setting
        `cancel` stops generation. With `choices`, also score them (multiple choice); with
        `sentence=False`, stop after the short answer (evaluation: exact match scores it)."""
        o = options or AskOptions()
        top_k = o.top_k or self.config.top_k
        q = validate_question(question, top_k)
        history = o.history[-MAX_HISTORY_TURNS:] if o.history else o.history
        if o.choices is not None and not supports(self.generator, CHOICE_SCORES):
            raise UnsupportedError("multiple choice needs a generator that scores options")
        if o.choices is not None:
            check_choices(o.choices)
        return self._run(q, replace(o, top_k=top_k, history=history), cancel)

    def _run(self, q: str, o: AskOptions, cancel: threading.Event | None) -> Iterator[StreamEvent]:
        """`ask_stream` past validation (`o.top_k` set, `o.history` trimmed)."""
        t0 = time.perf_counter()
        top_k = o.top_k or self.config.top_k
        standalone = standalone_question(self.generator, q, o.history)
        kind = self.kind_of(q, standalone, o.choices, o.sentence)
        query = standalone
        asks_about = kind in (QuestionType.META, QuestionType.OPEN)
        if asks_about and o.history and not about.has_subject(standalone):
            # "What is the article about?", "Summarize it." in a conversation: the article
            # being discussed.
            previous = [t.content for t in o.history if t.role == "user" and t.content.strip()]
            query = f"{previous[-1]} {standalone}" if previous else standalone
        used, focus, applied = self.question_filters(query, o.filters, o.as_of)
        newest = None
        if kind is QuestionType.OPEN and about.asks_for_news(query):
            # "What happened?", "Summarize the article.": no subject to look for — the newest
            # article the filters allow is what the news is.
            newest = articles.newest_title(self.retriever, used)
            query = f"{query} {newest}" if newest else query
        candidates, sources = self.retrieve(query, top_k, used, o.as_of, focus)
        chosen: list[Sentence] = []  # an open answer's sentences, when extracted
        unsaid: tuple[str, ...] = ()  # what a "why" question takes as given and no article says
        if kind is QuestionType.OPEN and self.config.open_answers == "extract":
            sources, chosen, unsaid = extract.open_sources(
                query, sources, self.retriever, self.evidence, latest=bool(newest)
            )
        elif kind is QuestionType.OPEN:
            sources = [articles.with_lead(self.retriever, h) for h in sources]
        citations = [Citation(id=i, hit=h) for i, h in enumerate(sources, start=1)]
        t_sources = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": t_sources, "sources": t_sources, "generate": 0.0}
        yield StreamEvent(
            "sources",
            {
                "citations": [c.to_dict() for c in citations],
                "standalone_question": standalone if o.history else None,
                "filters_applied": applied,
                "question_type": kind.value,
            },
        )
        messages = build_messages(standalone, sources, kind)
        weak = kind is not QuestionType.META and (
            bool(unsaid) or self.evidence_is_weak(standalone, sources)
        )
        # One answer at a time on a local model: its reply and the checks that score it read
        # the same prompt, kept in the model's cache (`TextGenerator.turn`). An answer that
        # needs no model does not queue for it.
        uses_model = (kind is not QuestionType.META and not weak) or bool(o.choices)
        turn: AbstractContextManager[object] = nullcontext()
        if uses_model and self.generator is not None:
            turn = self.generator.turn()
        t_wait = time.perf_counter()
        with turn:
            timings["wait"] = (time.perf_counter() - t_wait) * 1000  # for other answers' turns
            if kind is QuestionType.META:
                answer = articles.about_article(
                    self.retriever, standalone, query, citations, timings
                )
            elif weak:
                answer = Answer(
                    unstated_text(unsaid) if unsaid else ABSTAIN_TEXT,
                    True,
                    citations,
                    timings,
                    q,
                    abstain_reason="weak_evidence",
                    confidence=0.0,
                )
            elif kind is QuestionType.OPEN and self.config.open_answers == "extract":
                t1 = time.perf_counter()
                answer = extracted(
                    self._reader(),
                    self.kinds,
                    chosen,
                    standalone,
                    messages,
                    citations,
                    timings,
                    cancel,
                )
                if cancel is not None and cancel.is_set():
                    return
                timings["generate"] = (time.perf_counter() - t1) * 1000
                timings["first_token"] = (time.perf_counter() - t0) * 1000
                timings["first_word"] = timings["first_token"]
                yield StreamEvent("token", {"text": answer.answer})
            else:
                read = yield from self._read(
                    kind, standalone, messages, citations, o, timings, t0, cancel
                )
                if read is None or (cancel is not None and cancel.is_set()):
                    return
                answer = read
            if answer.abstained and used.dated:
                articles.explain_window(self.retriever, standalone, answer, used, applied, o.as_of)
            if o.choices:
                t2 = time.perf_counter()
                answer.choice_detail = self.choose(standalone, o.choices, sources, messages)
                answer.choice_scores = answer.choice_detail["combined"]
                timings["choose"] = (time.perf_counter() - t2) * 1000
        fitted = self.kind_confidence
        if (
            fitted is not None
            and kind is not QuestionType.FACTOID
            and not answer.abstained
            and not o.choices
        ):
            # Only with a fit to read them: the evaluation that fits one computes them itself.
            answer.features = kind_features(kind.value, standalone, answer, self.retriever.embedder)
            answer.confidence = fitted.score(kind.value, answer.features)
        answer.question = q
        answer.question_type = kind.value
        answer.standalone_question = standalone if o.history else None
        answer.candidates = candidates
        answer.filters_applied = applied
        timings["total"] = (time.perf_counter() - t0) * 1000
        yield StreamEvent("done", answer.to_dict(), answer)

    def _reader(self) -> TextGenerator:
        if self.generator is None:
            raise UnsupportedError("this pipeline has no generator; use search instead")
        return self.generator

    def _read(
        self,
        kind: QuestionType,
        standalone: str,
        messages: list[dict[str, str]],
        citations: list[Citation],
        o: AskOptions,
        timings: dict[str, float],
        t0: float,
        cancel: threading.Event | None,
    ) -> Generator[StreamEvent, None, Answer | None]:
        """The reader's reply, streamed as it is written (the short answer, then the
        sentence), and judged by its kind's checks; None when cancelled."""
        reader = self._reader()
        reply = AnswerStream()
        t1 = time.perf_counter()
        budget = (
            self.config.max_new_tokens_open
            if kind is QuestionType.OPEN
            else self.config.max_new_tokens
        )
        whole = o.sentence or kind is not QuestionType.FACTOID
        pieces = reader.stream(messages, budget, cancel)
        with closing(read_reply(pieces, reply, whole)) as reading:
            for shown in reading:
                now = (time.perf_counter() - t0) * 1000
                timings.setdefault("first_token", now)
                brief = reply.new_short()
                if brief:
                    # The answer itself, shown above its sentence as it is written.
                    timings.setdefault("first_word", now)
                    yield StreamEvent("short", {"text": brief})
                if shown:
                    timings.setdefault("first_word", now)
                    timings.setdefault("sentence", now)
                    yield StreamEvent("token", {"text": shown})
        if cancel is not None and cancel.is_set():
            return None
        timings["generate"] = (time.perf_counter() - t1) * 1000
        if kind is QuestionType.OPEN:
            return self.kinds.open(standalone, reply.raw, citations, timings)
        if kind is QuestionType.YESNO:
            raw = verdict_line(reader, messages, reply.raw, cancel)
            return self.kinds.yes_no(standalone, raw, citations, timings)
        if kind is QuestionType.LIST:
            return self.kinds.items(standalone, reply.raw, citations, timings)
        answer = self.judge.judge(reader, standalone, reply.raw, citations, timings, messages)
        if answer.abstain_reason == "model" and self._may_reopen():
            t3 = time.perf_counter()
            raw = reopened(reader, messages, self.config.max_new_tokens, cancel)
            if cancel is not None and cancel.is_set():
                return None
            timings["reopen"] = (time.perf_counter() - t3) * 1000
            answer = self.judge.judge(reader, standalone, raw, citations, timings, messages)
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
        with self.generator.turn():
            detail = self.choose(q, choices, sources, build_messages(q, sources))
        return ChoiceAnswer(detail["combined"], detail, candidates, sources)

    def evidence_is_weak(self, question: str, hits: list[Hit]) -> bool:
        cfg = self.config
        return evidence_is_weak(question, hits, cfg.min_score, cfg.min_sentence_score)

    def _may_reopen(self) -> bool:
        return (
            self.config.reopen_declined
            and self.judge.gates
            and supports(self.generator, OPENED_REPLY)
        )

    def choose(
        self,
        question: str,
        choices: list[str],
        sources: list[Hit],
        messages: list[dict[str, str]],
    ) -> dict[str, list[float]]:
        """Score each multiple-choice option on the sources (`retrieval.answer.choice`): the model's
        likelihood of writing it as the answer with and without them."""
        assert self.generator is not None
        return score_choices(
            self.generator,
            question,
            choices,
            sources,
            messages,
            self.config.mc_closed_book_weight,
            self.config.mc_closed_book_reading,
        )

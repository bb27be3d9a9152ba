"""The RAG pipeline: retrieve, decide whether the evidence is strong enough, generate, cite."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Generator as Gen
from dataclasses import dataclass, field
from datetime import date
from typing import Any, Literal

from retrieval.errors import InvalidInputError
from retrieval.generator import TextGenerator
from retrieval.prompt import (
    ABSTAIN_TEXT,
    UNSUPPORTED_TEXT,
    build_messages,
    clean_citations,
    is_abstention,
    rewrite_messages,
    tidy_answer,
)
from retrieval.search import DateFilter, Retriever
from retrieval.types import Answer, Citation, Hit, Turn
from retrieval.verify import CitationVerifier, content_words

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50
MAX_HISTORY_TURNS = 20


@dataclass
class PipelineConfig:
    top_k: int = 5
    # Below this retrieval score the pipeline abstains without calling the model.
    min_score: float = 0.40
    max_new_tokens: int = 96
    # Citation check: a claim is supported when its support reaches this value.
    support_threshold: float = 0.5
    # What to do with an answer none of whose claims is supported by its sources.
    unsupported: Literal["abstain", "flag"] = "abstain"


@dataclass
class StreamEvent:
    event: Literal["sources", "token", "done", "error"]
    data: dict[str, Any] = field(default_factory=dict)


_REFERRING = re.compile(
    r"\b(he|she|it|they|them|their|theirs|his|her|hers|its|this|that|these|those|there|then|"
    r"the same|the former|the latter)\b|^(and|but|so|also|what about|how about|why|why not)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation (a pronoun or a leading "and…/what
    about…"). A self-contained question is retrieved as asked: rewriting it toward the earlier
    topic would make "What is the capital of France?" look answerable from the last article."""
    return bool(_REFERRING.search(question.strip()))


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
        self.verifier = CitationVerifier(retriever.embedder, self.config.support_threshold)

    # -- retrieval -----------------------------------------------------------------------------
    def search(
        self,
        query: str,
        top_k: int | None = None,
        filters: DateFilter | None = None,
        as_of: date | None = None,
    ) -> list[Hit]:
        top_k = top_k or self.config.top_k
        q = validate_question(query, top_k)
        return self.retriever.search(q, top_k, filters, as_of=as_of)

    def standalone_question(self, question: str, history: list[Turn] | None) -> str:
        """Rewrite a follow-up ("And who supplies them now?") into a question that can be
        retrieved on its own. Falls back to prefixing the previous user question when the
        model's rewrite does not look like a question."""
        q = question.strip()
        if not history or not is_follow_up(q):
            return q
        history = history[-MAX_HISTORY_TURNS:]
        previous = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
        if not previous:
            return q
        if self.generator is not None:
            rewritten = self.generator.generate(rewrite_messages(history, q), 64)
            rewritten = rewritten.strip().split("\n")[0].strip().strip('"')
            if self._good_rewrite(rewritten, q, history):
                return rewritten
        return f"{previous[-1]} {q}"

    @staticmethod
    def _good_rewrite(rewritten: str, question: str, history: list[Turn]) -> bool:
        """A usable rewrite is a question of sane length that brings in something from the
        conversation (a rewrite adding nothing would retrieve no better than the follow-up)."""
        if not (8 <= len(rewritten) <= 2 * len(question) + 200 and rewritten.endswith("?")):
            return False
        own = set(content_words(question))
        context = {w for t in history for w in content_words(t.content)} - own
        return any(w in context for w in content_words(rewritten))

    # -- answering -----------------------------------------------------------------------------
    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: DateFilter | None = None,
        as_of: date | None = None,
        history: list[Turn] | None = None,
    ) -> Answer:
        t0 = time.perf_counter()
        top_k = top_k or self.config.top_k
        q = validate_question(question, top_k)
        standalone = self.standalone_question(q, history)
        hits = self.retriever.search(standalone, top_k, filters, as_of=as_of)
        answer = self.answer(standalone, hits, retrieve_ms=(time.perf_counter() - t0) * 1000)
        answer.question = q
        answer.standalone_question = standalone if history else None
        return answer

    def evidence_is_weak(self, hits: list[Hit]) -> bool:
        """Abstain without calling the model when no retrieved chunk is similar enough."""
        return not hits or max(h.score for h in hits) < self.config.min_score

    def answer(
        self,
        question: str,
        hits: list[Hit],
        retrieve_ms: float = 0.0,
        choices: list[str] | None = None,
    ) -> Answer:
        """Answer from already retrieved hits (numbered [1]..[n] in the given order). With
        `choices`, also score them (sharing the prompt's prefill with the answer)."""
        t1 = time.perf_counter()
        q = question.strip()
        timings = {"retrieve": retrieve_ms, "generate": 0.0}
        citations = [Citation(id=i, hit=h) for i, h in enumerate(hits, start=1)]
        if self.evidence_is_weak(hits):
            timings["total"] = retrieve_ms + (time.perf_counter() - t1) * 1000
            weak = Answer(ABSTAIN_TEXT, True, citations, timings, q, abstain_reason="weak_evidence")
            weak.choice_scores = self.choose(q, choices, hits) if choices else None
            return weak
        if self.generator is None:
            raise InvalidInputError("this pipeline has no generator; use search instead")
        messages = build_messages(q, hits)
        scores = None
        if choices and hasattr(self.generator, "generate_and_score"):
            raw, scores = self.generator.generate_and_score(
                messages, choices, self.config.max_new_tokens
            )
        else:
            raw = self.generator.generate(messages, self.config.max_new_tokens)
            scores = self.choose(q, choices, hits) if choices else None
        timings["generate"] = (time.perf_counter() - t1) * 1000
        answer = self.finish(q, raw, citations, timings)
        answer.choice_scores = scores
        timings["total"] = retrieve_ms + (time.perf_counter() - t1) * 1000
        return answer

    def ask_stream(
        self,
        question: str,
        top_k: int | None = None,
        filters: DateFilter | None = None,
        history: list[Turn] | None = None,
        cancel: threading.Event | None = None,
    ) -> Gen[StreamEvent, None, None]:
        """`sources`, then `token`s as the model writes, then `done` with the final answer.
        Validation errors raise before the first event; setting `cancel` stops generation."""
        t0 = time.perf_counter()
        top_k = top_k or self.config.top_k
        q = validate_question(question, top_k)
        standalone = self.standalone_question(q, history)
        hits = self.retriever.search(standalone, top_k, filters)
        citations = [Citation(id=i, hit=h) for i, h in enumerate(hits, start=1)]
        t_sources = (time.perf_counter() - t0) * 1000
        timings = {"retrieve": t_sources, "sources": t_sources, "generate": 0.0}
        yield StreamEvent(
            "sources",
            {
                "citations": [c.to_dict() for c in citations],
                "standalone_question": standalone if history else None,
            },
        )
        if self.evidence_is_weak(hits):
            answer = Answer(
                ABSTAIN_TEXT, True, citations, timings, q, abstain_reason="weak_evidence"
            )
        else:
            if self.generator is None:
                raise InvalidInputError("this pipeline has no generator; use search instead")
            pieces: list[str] = []
            t1 = time.perf_counter()
            for piece in self.generator.stream(
                build_messages(standalone, hits), self.config.max_new_tokens, cancel
            ):
                if not pieces:
                    timings["first_token"] = (time.perf_counter() - t0) * 1000
                pieces.append(piece)
                yield StreamEvent("token", {"text": piece})
            if cancel is not None and cancel.is_set():
                return
            timings["generate"] = (time.perf_counter() - t1) * 1000
            answer = self.finish(standalone, "".join(pieces), citations, timings)
        answer.question = q
        answer.standalone_question = standalone if history else None
        timings["total"] = (time.perf_counter() - t0) * 1000
        yield StreamEvent("done", answer.to_dict())

    def finish(
        self, question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        """Clean the model's text, verify its citations and decide on abstention."""
        text = clean_citations(tidy_answer(raw), len(citations))
        if is_abstention(text):
            return Answer(ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="model")
        text, supported = self.verifier.verify(question, text, citations)
        if not supported and self.config.unsupported == "abstain":
            for c in citations:
                c.cited = False
            return Answer(
                UNSUPPORTED_TEXT,
                True,
                citations,
                timings,
                question,
                abstain_reason="unsupported",
                draft=text,
            )
        return Answer(text, False, citations, timings, question)

    def choose(self, question: str, choices: list[str], hits: list[Hit]) -> list[float]:
        """Score each multiple-choice option by the model's mean log-likelihood of writing it
        as the answer, given the same sources and prompt as `answer`. Higher is better."""
        if self.generator is None:
            raise InvalidInputError("multiple choice needs a generator")
        return self.generator.choice_scores(build_messages(question.strip(), hits), choices)

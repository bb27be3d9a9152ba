"""The RAG pipeline: retrieve, decide whether the evidence is strong enough, generate, cite."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

from retrieval.errors import InvalidInputError
from retrieval.generator import Generator
from retrieval.prompt import (
    ABSTAIN_TEXT,
    build_messages,
    cited_numbers,
    clean_citations,
    is_abstention,
    tidy_answer,
)
from retrieval.search import DateFilter, Retriever
from retrieval.types import Answer, Citation, Hit

MAX_QUESTION_CHARS = 2000
MAX_TOP_K = 50


@dataclass
class PipelineConfig:
    top_k: int = 5
    # Below this retrieval score the pipeline abstains without calling the model.
    min_score: float = 0.40
    max_new_tokens: int = 96


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
        generator: Generator | None,
        config: PipelineConfig | None = None,
    ) -> None:
        self.retriever = retriever
        self.generator = generator
        self.config = config or PipelineConfig()

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

    def ask(
        self,
        question: str,
        top_k: int | None = None,
        filters: DateFilter | None = None,
        as_of: date | None = None,
    ) -> Answer:
        t0 = time.perf_counter()
        hits = self.search(question, top_k, filters, as_of)
        return self.answer(question, hits, retrieve_ms=(time.perf_counter() - t0) * 1000)

    def evidence_is_weak(self, hits: list[Hit]) -> bool:
        """Abstain without calling the model when no retrieved chunk is similar enough."""
        return not hits or max(h.score for h in hits) < self.config.min_score

    def answer(self, question: str, hits: list[Hit], retrieve_ms: float = 0.0) -> Answer:
        """Answer from already retrieved hits (numbered [1]..[n] in the given order)."""
        t1 = time.perf_counter()
        q = question.strip()
        timings = {"retrieve": retrieve_ms, "generate": 0.0}
        citations = [Citation(id=i, hit=h) for i, h in enumerate(hits, start=1)]
        if self.evidence_is_weak(hits):
            timings["total"] = retrieve_ms + (time.perf_counter() - t1) * 1000
            return Answer(ABSTAIN_TEXT, True, citations, timings, q, abstain_reason="weak_evidence")
        if self.generator is None:
            raise InvalidInputError("this pipeline has no generator; use search instead")
        raw = self.generator.generate(build_messages(q, hits), self.config.max_new_tokens)
        timings["generate"] = (time.perf_counter() - t1) * 1000
        answer = self.finish(q, raw, citations, timings)
        timings["total"] = retrieve_ms + (time.perf_counter() - t1) * 1000
        return answer

    def choose(self, question: str, choices: list[str], hits: list[Hit]) -> list[float]:
        """Score each multiple-choice option by the model's mean log-likelihood of writing it
        as the answer, given the same sources and prompt as `answer`. Higher is better."""
        if self.generator is None:
            raise InvalidInputError("multiple choice needs a generator")
        return self.generator.choice_scores(build_messages(question.strip(), hits), choices)

    @staticmethod
    def finish(
        question: str, raw: str, citations: list[Citation], timings: dict[str, float]
    ) -> Answer:
        text = clean_citations(tidy_answer(raw), len(citations))
        if is_abstention(text):
            return Answer(ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="model")
        for n in cited_numbers(text):
            citations[n - 1].cited = True
        return Answer(text, False, citations, timings, question)

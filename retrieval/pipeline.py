"""The RAG pipeline: retrieve, decide whether the evidence is strong enough, generate, cite."""

from __future__ import annotations

import time
from dataclasses import dataclass

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
        self, query: str, top_k: int | None = None, filters: DateFilter | None = None
    ) -> list[Hit]:
        top_k = top_k or self.config.top_k
        q = validate_question(query, top_k)
        return self.retriever.search(q, top_k, filters)

    def ask(
        self, question: str, top_k: int | None = None, filters: DateFilter | None = None
    ) -> Answer:
        t0 = time.perf_counter()
        top_k = top_k or self.config.top_k
        q = validate_question(question, top_k)
        hits = self.retriever.search(q, top_k, filters)
        t1 = time.perf_counter()
        timings = {"retrieve": (t1 - t0) * 1000, "generate": 0.0}
        citations = [Citation(id=i, hit=h) for i, h in enumerate(hits, start=1)]
        if not hits or hits[0].score < self.config.min_score:
            timings["total"] = (time.perf_counter() - t0) * 1000
            return Answer(ABSTAIN_TEXT, True, citations, timings, q, abstain_reason="weak_evidence")
        if self.generator is None:
            raise InvalidInputError("this pipeline has no generator; use search instead")
        raw = self.generator.generate(build_messages(q, hits), self.config.max_new_tokens)
        t2 = time.perf_counter()
        timings["generate"] = (t2 - t1) * 1000
        answer = self.finish(q, raw, citations, timings)
        timings["total"] = (time.perf_counter() - t0) * 1000
        return answer

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

"""Checking a generated answer against its sources before anyone reads it."""

from __future__ import annotations

from typing import Literal

from retrieval.prompt import UNSUPPORTED_TEXT, cited_numbers, strip_citations
from retrieval.types import Answer, Citation
from retrieval.verify import CitationVerifier, lexical_support


def checked_answer(
    verifier: CitationVerifier,
    unsupported: Literal["abstain", "flag"],
    question: str,
    sentence: str,
    short: str,
    text: str,
    citations: list[Citation],
    timings: dict[str, float],
) -> Answer:
    """The answer a person reads, with its citations checked against the sources: the two
    lines (short answer, sentence) must agree, names and numbers must be in the cited source,
    and an answer no source supports becomes an abstention (or is flagged)."""
    bare = strip_citations(short).rstrip(".")
    if sentence and bare and lexical_support(bare, strip_citations(text)) < 0.5:
        # The two lines disagree (a sentence that does not state the answer): a person
        # reads the answer itself rather than a sentence about something else.
        sentence, text = "", as_sentence(short)
    if sentence and not cited_numbers(text) and cited_numbers(short):
        text = cite_like(text, short)
    text, supported = verifier.verify(question, text, citations, short=bare)
    if not supported and sentence and short:
        # The sentence may add a detail no source states ("… on Sunday"); the short
        # answer on its own may still be what a source says.
        checked = [(c.cited, c.supported, c.support, c.quote) for c in citations]
        reset_checks(citations)
        alone = as_sentence(short)
        alone_text, supported = verifier.verify(question, alone, citations, short=bare)
        if supported:
            text = alone_text
        else:  # keep what the check found for the sentence
            for c, (cited, ok, support, quote) in zip(citations, checked, strict=True):
                c.cited, c.supported, c.support, c.quote = cited, ok, support, quote
    if not supported and unsupported == "abstain":
        uncite(citations)
        return Answer(
            UNSUPPORTED_TEXT,
            True,
            citations,
            timings,
            question,
            abstain_reason="unsupported",
            draft=text,
            short_answer=bare,
        )
    return Answer(text, False, citations, timings, question, short_answer=bare)


def as_sentence(text: str) -> str:
    text = text.strip()
    return text if not text or text[-1] in ".!?" else f"{text}."


def uncite(citations: list[Citation]) -> None:
    """An abstention cites nothing and quotes nothing (the checks' findings stay)."""
    for c in citations:
        c.cited, c.quote = False, None


def reset_checks(citations: list[Citation]) -> None:
    for c in citations:
        c.cited, c.supported, c.support, c.quote = False, None, None, None


def cite_like(sentence: str, short: str) -> str:
    """Give an uncited answer sentence the citation its short answer carried."""
    marks = "".join(f" [{n}]" for n in cited_numbers(short))
    core = sentence.rstrip()
    end = core[-1] if core and core[-1] in ".!?" else ""
    return f"{core[: len(core) - len(end)]}{marks}{end}"

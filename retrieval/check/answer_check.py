"""Checking a generated answer against its sources before anyone reads it: the citation
check, the calibrated confidence, and the decision to abstain."""

from __future__ import annotations

from typing import Literal

from retrieval.answer.prompt import (
    ABSTAIN_TEXT,
    LOW_CONFIDENCE_TEXT,
    UNSUPPORTED_TEXT,
    cited_numbers,
    clean_citations,
    is_abstention,
    parse_answer,
    strip_citations,
    tidy_answer,
)
from retrieval.check.confidence import Calibration, features, reader_signals
from retrieval.check.verify import (
    CitationVerifier,
    lexical_support,
    shown_where_supported,
)
from retrieval.models.base import Messages, TextGenerator
from retrieval.models.embedder import TextEncoder
from retrieval.types import Answer, Citation


class AnswerJudge:
    """Turns the reader's reply into the answer a person reads. Kept apart from the pipeline
    (which finds the evidence and runs the reader) so that every path that gets a reply —
    the first one, a reopened one, a benchmark replaying stored sources — is judged alike."""

    def __init__(
        self,
        verifier: CitationVerifier,
        embedder: TextEncoder,
        calibration: Calibration | None,
        min_confidence: float | None,
        unsupported: Literal["abstain", "flag"] = "abstain",
    ) -> None:
        self.verifier = verifier
        self.embedder = embedder
        self.calibration = calibration
        if min_confidence is None:  # the operating point stored with the calibration
            min_confidence = calibration.threshold if calibration else 0.0
        self.min_confidence = min_confidence
        self.unsupported = unsupported

    @property
    def gates(self) -> bool:
        """Whether the confidence can turn an answer into "I don't know"."""
        return self.calibration is not None and self.min_confidence > 0

    def judge(
        self,
        reader: TextGenerator | None,
        question: str,
        raw: str,
        citations: list[Citation],
        timings: dict[str, float],
        messages: Messages | None = None,
    ) -> Answer:
        """Clean the reply, verify its citations, score its confidence (the reader's own
        signals come from `reader` on `messages`) and decide on abstention."""
        parsed = parse_answer(tidy_answer(raw))
        short = clean_citations(parsed.short, len(citations))
        text = as_sentence(clean_citations(parsed.sentence, len(citations)) or short)
        if is_abstention(short) or is_abstention(text):
            return Answer(
                ABSTAIN_TEXT,
                True,
                citations,
                timings,
                question,
                abstain_reason="model",
                confidence=0.0,
            )
        answer = checked_answer(
            self.verifier,
            self.unsupported,
            question,
            parsed.sentence,
            short,
            text,
            citations,
            timings,
        )
        bare = answer.short_answer or ""
        signals = reader_signals(reader, messages, bare)
        feats = features(question, bare, citations, **signals, embedder=self.embedder)
        answer.features = feats
        if self.calibration is not None:
            answer.confidence = round(self.calibration.score(feats), 4)
            if not answer.abstained and answer.confidence < self.min_confidence:
                answer.draft, answer.answer = answer.answer, LOW_CONFIDENCE_TEXT
                answer.abstained, answer.abstain_reason = True, "low_confidence"
                uncite(citations)
        if not answer.abstained and any(c.cited and c.supported for c in citations):
            # After the confidence, whose signals read what the reader cited.
            answer.answer = shown_where_supported(answer.answer, citations)
        return answer


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

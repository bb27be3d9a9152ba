"""Reading the reader's reply: the visible text as it streams, the first words of an open
question's reply (does it decline?) before the answer is taken from the sources, and a
declining reader's reply made to open "Answer:"."""

from __future__ import annotations

import threading
from collections.abc import Generator, Iterator
from contextlib import closing

from retrieval.answer import extract
from retrieval.answer.prompt import (
    ABSTAIN_TEXT,
    ANSWER_LABEL,
    AnswerStream,
    is_abstention,
    parse_answer,
)
from retrieval.check.answer_check import uncite
from retrieval.check.kind_check import KindJudge
from retrieval.find.evidence import Sentence
from retrieval.models.base import OPENED_REPLY, TextGenerator, supports
from retrieval.types import Answer, Citation

# Tokens of an open question's reply read to learn whether the reader would decline.
OPENING_TOKENS = 6


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


def extracted(
    generator: TextGenerator,
    kinds: KindJudge,
    chosen: list[Sentence],
    question: str,
    messages: list[dict[str, str]],
    citations: list[Citation],
    timings: dict[str, float],
    cancel: threading.Event | None,
) -> Answer:
    """An open answer in the sources' own words, the sentences `extract.open_sources` chose,
    once the reader's first words show it would answer rather than decline."""
    reply = AnswerStream()
    pieces = generator.stream(messages, OPENING_TOKENS, cancel)
    with closing(read_reply(pieces, reply, True)) as reading:
        for _ in reading:
            if len(reply.raw.split()) >= 3:
                break
    opening = reply.raw
    if is_abstention(opening):
        uncite(citations)
        return Answer(ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="model")
    plain = extract.compose(chosen, citations, attribute=False)
    answer = kinds.open(question, plain, citations, timings)
    if not answer.abstained and answer.answer == plain:
        answer.answer = extract.compose(chosen, citations)
    return answer


def verdict_line(
    generator: TextGenerator,
    messages: list[dict[str, str]],
    raw: str,
    cancel: threading.Event | None,
) -> str:
    """A yes/no reply whose quoted sentence used up the token budget before its "Answer:"
    line, with that line written (the prompt and the reply are still in llama.cpp's cache:
    only a few tokens are decoded). The reply unchanged when it has its verdict, declined, or
    the generator cannot continue a given opening."""
    parsed = parse_answer(raw)
    if parsed.short or not parsed.sentence or not supports(generator, OPENED_REPLY):
        return raw
    opening = f"{raw.rstrip()}\n{ANSWER_LABEL}"
    verdict = "".join(generator.stream(messages, 3, cancel, opening=opening))
    return f"{opening} {verdict.strip()}"


def reopened(
    generator: TextGenerator,
    messages: list[dict[str, str]],
    max_new_tokens: int,
    cancel: threading.Event | None,
) -> str:
    """The reply again, made to open with "Answer:" (llama.cpp still holds the prompt in
    its cache: only the answer is decoded) — its short answer's line only. The sentence a
    reader writes after a forced answer is seldom about it (over the seed questions, none
    of nine was: it copied unrelated source sentences for up to 70 tokens, 1–4 s, and the
    page showed the short answer alone); the evaluations the confidence was fitted on
    never decoded it either."""
    reply = AnswerStream()
    reply.feed(ANSWER_LABEL)
    pieces = generator.stream(messages, max_new_tokens, cancel, opening=ANSWER_LABEL)
    with closing(read_reply(pieces, reply, sentence=False)) as reading:
        for _ in reading:
            pass
    return reply.raw

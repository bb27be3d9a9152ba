"""The one sentence splitter — chunking (index/), evidence selection, the checks and the
question's asking sentence all split with it — and loose text matching."""

from __future__ import annotations

import re
import unicodedata

# Spelled-out counts as digits ("four" = "4"), for matching a number however it is written.
NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        (
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        ).split()
    )
}

_ABBREVIATIONS = {
    "mr",
    "mrs",
    "ms",
    "dr",
    "prof",
    "st",
    "jr",
    "sr",
    "vs",
    "etc",
    "gen",
    "gov",
    "sen",
    "rep",
    "inc",
    "co",
    "corp",
    "ltd",
    "no",
    "jan",
    "feb",
    "mar",
    "apr",
    "jun",
    "jul",
    "aug",
    "sep",
    "sept",
    "oct",
    "nov",
    "dec",
    "lt",
    "col",
    "sgt",
    "capt",
    "cmdr",
    "rev",
    "ft",
    "mt",
    "fig",
    "approx",
    "dept",
    "est",
    "u.s",
    "u.k",
    "u.n",
    "e.g",
    "i.e",
    "a.m",
    "p.m",
}
# A candidate boundary: terminal punctuation, optional closing quotes/brackets, whitespace.
_BOUNDARY = re.compile(r"[.!?…]+[\"'”’)\]]*(?=\s+)|\n\s*\n")
_WORD_BEFORE = re.compile(r"([\w.]+)[.!?…]*[\"'”’)\]]*$")


def split_sentences(text: str) -> list[tuple[int, int]]:
    """Sentence spans `(start, end)` of `text`; together they cover every non-space character."""
    spans: list[tuple[int, int]] = []
    start = 0
    n = len(text)
    for m in _BOUNDARY.finditer(text):
        end = m.end()
        if m.group().strip() and not _is_boundary(text, m.start(), end):
            continue
        _append_span(text, start, end, spans)
        start = end
    if start < n:
        _append_span(text, start, n, spans)
    return spans


def _is_boundary(text: str, punct_start: int, end: int) -> bool:
    rest = text[end:].lstrip()
    if not rest:
        return True
    nxt = rest[0]
    if not (nxt.isupper() or nxt.isdigit() or nxt in "\"'“‘(["):
        return False
    if text[punct_start] == ".":
        m = _WORD_BEFORE.search(text[max(0, punct_start - 20) : punct_start + 1])
        word = (m.group(1) if m else "").rstrip(".").lower()
        if word in _ABBREVIATIONS or (len(word) == 1 and word.isalpha()):
            return False
    return True


def _append_span(text: str, start: int, end: int, spans: list[tuple[int, int]]) -> None:
    seg = text[start:end]
    lead = len(seg) - len(seg.lstrip())
    trail = len(seg) - len(seg.rstrip())
    if end - trail > start + lead:
        spans.append((start + lead, end - trail))


def sentences(text: str) -> list[str]:
    """The sentences of `text`, each a substring of it (`split_sentences`' spans)."""
    return [text[a:b] for a, b in split_sentences(text)]


def question_sentences(question: str) -> list[str]:
    """A question's sentences; the last is the one that asks (news quizzes set the scene
    first: "Kim Kardashian was accused of damaging a dress. Who designed it?")."""
    return sentences(question.strip()) or [question.strip()]


def asking_sentence(question: str) -> str:
    return question_sentences(question)[-1]


def loose(text: str) -> str:
    """Lower-case, every Unicode punctuation mark (curly quotes too) turned into a space."""
    return " ".join(
        "".join(
            " " if unicodedata.category(ch).startswith("P") else ch for ch in text.lower()
        ).split()
    )


def contains_answer(text: str, answer: str) -> bool:
    """Whether `answer` appears as a whole-token span of `text`, ignoring case and all
    punctuation (the leaderboard's normaliser keeps curly quotes, which would hide matches)."""
    a = loose(answer)
    if not a:
        return False
    return f" {a} " in f" {loose(text)} "

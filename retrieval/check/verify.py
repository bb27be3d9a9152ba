"""Checking citations: is each answer sentence supported by the source it cites?

Support is measured two ways and the larger counts: lexical (the share of the claim's content
words, numbers normalised, found in the source) and semantic (embedder cosine between
"question + claim" and the best-matching source sentence). A claim without a citation is
attributed to its best-supporting source when that support is strong enough.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from retrieval.answer.prompt import _MARKER, cited_numbers, clean_citations
from retrieval.check.constraints import answer_in_context
from retrieval.lang.text import sentences
from retrieval.lang.words import (
    capitalised_words,
    content_words,
    is_number,
    stem,
    stems,
)
from retrieval.types import Citation, Hit


def key_terms(claim: str, question: str = "") -> list[str]:
    """Names and numbers a claim asserts (capitalised words after the first; numbers
    normalised as `content_words` does: "100,000", "four", "1.5 million"), leaving out those
    the question itself names."""
    asked = set(content_words(question))
    numbers = [w for w in content_words(claim) if is_number(w)]
    return [t for t in [*capitalised_words(claim), *numbers] if t not in asked]


def missing_terms(claim: str, source: str, question: str = "") -> list[str]:
    """The claim's names and numbers that its source never mentions (names match on their
    first five letters: "Europe" is in "European regulators")."""
    have = stems(content_words(source))
    return [t for t in key_terms(claim, question) if stem(t) not in have]


def lexical_support(claim: str, source: str) -> float:
    """Share of the claim's content words in the source; words match on their first five
    letters ("Europe" = "European", "elected" = "election"), numbers exactly."""
    words = content_words(claim)
    if not words:
        return 0.0
    have = stems(content_words(source))
    return sum(stem(w) in have for w in words) / len(words)


def short_is_supported(short: str, source: str, question: str = "") -> bool:
    """A short answer is a span of its source: most of its words, and every name or number
    in it, occur there, in a passage that is about the question (the answer's sentence or
    the one before or after it shares a word with the question)."""
    if lexical_support(short, source) < 0.5 or missing_terms(f"x {short}", source):
        return False
    return not question or answer_in_context(short, source, question)


_PUBLICATION_WORDS = frozenset("article published publish publication posted dated".split())


def as_shown(hit: Hit, question: str) -> str:
    """The source as the model read it: its title, then its text — and its publication date
    when the question asks about the article's publication (the date in words too, as
    answers write it). The date is about the article, not the events in it: it must not
    lend support to "the talks began on September 20" when the text never says so."""
    head = hit.title.strip().rstrip(".")
    asks_date = not _PUBLICATION_WORDS.isdisjoint(re.findall(r"[a-z]+", question.lower()))
    if hit.published is not None and asks_date:
        d = hit.published
        head += f". Published {d.day} {d:%B} {d.year} ({d.isoformat()})"
    return f"{head}.\n{hit.text}" if head else hit.text


def claim_text(sentence: str) -> str:
    """A sentence of an answer without its citation markers."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", sentence)).strip()


class CitationVerifier:
    def __init__(self, embedder: object, threshold: float = 0.5) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def claims(self, answer: str) -> list[tuple[str, list[int]]]:
        out = []
        for sent in sentences(answer.strip()):
            nums = [int(n) for m in _MARKER.finditer(sent) for n in m.group(1).split(",")]
            text = claim_text(sent)
            if content_words(text):
                out.append((text, nums))
        return out

    def support(
        self, question: str, claims: list[str], citations: list[Citation], shown: list[str]
    ) -> tuple[np.ndarray, list[list[str]]]:
        """support[i, j] of claim i by source j (0..1) as the model read it (`shown[j]`,
        `as_shown`), and quote[i][j]: the sentence of source j's text that supports claim i
        best (lexically or semantically)."""
        lex = np.array([[lexical_support(c, s) for s in shown] for c in claims])
        src_sents: list[str] = []
        owner: list[int] = []
        quotable: list[bool] = []  # a quote is a sentence of the text, not of the header
        for j, c in enumerate(citations):
            for s in sentences(shown[j]):
                src_sents.append(s)
                owner.append(j)
                quotable.append(s in c.hit.text)
        quotes = [[c.hit.text for c in citations] for _ in claims]
        if not src_sents:
            return lex, quotes
        enc = self.embedder.encode  # type: ignore[attr-defined]
        cv = enc([f"{question} {c}" for c in claims])
        sv = enc(src_sents)
        sims = cv @ sv.T
        sem = np.zeros_like(lex)
        best = np.full_like(lex, -1.0)
        for k, j in enumerate(owner):
            sem[:, j] = np.maximum(sem[:, j], sims[:, k])
            for i, claim in enumerate(claims):
                score = max(float(sims[i, k]), lexical_support(claim, src_sents[k]))
                if quotable[k] and score > best[i, j]:
                    best[i, j], quotes[i][j] = score, src_sents[k]
        return np.maximum(lex, sem), quotes

    def verify(
        self, question: str, answer: str, citations: list[Citation], short: str = ""
    ) -> tuple[str, bool]:
        """Mark citations cited/supported, attribute uncited claims, and return the answer
        (with added markers) and whether it is supported: some claim is, and the short answer
        (when given) occurs in a source the answer cites. A claim naming a person, place,
        organisation or number its source never mentions is not supported, however many of
        its other words the source shares."""
        out, checks = self.check(question, answer, citations, short)
        any_supported = any(c.supported for c in checks)
        if any_supported and short and content_words(short):
            shown = [as_shown(c.hit, question) for c in citations]
            cited = [j for j, c in enumerate(citations) if c.supported] or range(len(citations))
            any_supported = any(short_is_supported(short, shown[j], question) for j in cited)
        return out, any_supported

    def check(
        self, question: str, answer: str, citations: list[Citation], short: str = ""
    ) -> tuple[str, list[ClaimCheck]]:
        """Each claim (sentence) of `answer` checked against the sources it cites: the answer
        with markers added or corrected, and one `ClaimCheck` per claim. Citations are marked
        as `verify` describes."""
        claims = self.claims(answer)
        if not claims or not citations:
            return answer, []
        shown = [as_shown(c.hit, question) for c in citations]
        sup, quotes = self.support(question, [c for c, _ in claims], citations, shown)
        for i, (text, _) in enumerate(claims):
            for j in range(len(citations)):
                if missing_terms(text, shown[j], question):
                    sup[i, j] = 0.0
        checks: list[ClaimCheck] = []
        out = answer
        for i, (text, nums) in enumerate(claims):
            valid = [n for n in nums if 1 <= n <= len(citations)]
            j = int(np.argmax(sup[i]))
            if not valid and sup[i, j] >= self.threshold:
                valid = [j + 1]
                out = _attach_marker(out, text, j + 1)
            elif (
                valid
                and all(sup[i, n - 1] < self.threshold for n in valid)
                and sup[i, j] >= self.threshold
            ):
                # The model cited the wrong source; another shown source says it.
                out = _recite(out, text, valid, j + 1)
                valid = [j + 1]
            best = max((float(sup[i, n - 1]) for n in valid), default=0.0)
            for n in valid:
                c = citations[n - 1]
                s = float(sup[i, n - 1])
                if c.support is None or s > c.support:
                    c.quote = _quote(quotes[i][n - 1], short, c.hit.text, question)
                c.cited = True
                c.support = s if c.support is None else max(c.support, s)
                c.supported = c.support >= self.threshold
            checks.append(ClaimCheck(text, valid, best, best >= self.threshold))
        return out, checks


@dataclass
class ClaimCheck:
    """One sentence of an answer as the citation check saw it: its text (without markers),
    the sources it cites (after correction) and how well the best of them supports it."""

    text: str
    cited: list[int]
    support: float
    supported: bool

    def to_dict(self) -> dict[str, object]:
        return {
            "text": self.text,
            "citations": self.cited,
            "support": round(self.support, 4),
            "supported": self.supported,
        }


def _quote(best: str, short: str, source: str, question: str) -> str:
    """The sentence a reader should see: the one that states the short answer (near the
    question's words) when there is one, else the one closest to the claim."""
    if short and content_words(short) and not short_is_supported(short, best, ""):
        for sent in sentences(source):
            if short_is_supported(short, sent, "") and answer_in_context(short, sent, question):
                return sent
        for sent in sentences(source):
            if short_is_supported(short, sent, ""):
                return sent
    return best


def _recite(answer: str, claim: str, old: list[int], new: int) -> str:
    """Point the markers after `claim` at source `new` instead of `old`."""
    core = claim.rstrip(" .!?")
    pos = answer.find(core)
    if pos < 0:
        return answer
    tail = answer[pos + len(core) :]
    fixed = _MARKER.sub(
        lambda m: f"[{new}]" if {int(x) for x in m.group(1).split(",")} <= set(old) else m.group(0),
        tail,
        count=1,
    )
    return answer[: pos + len(core)] + fixed


def _attach_marker(answer: str, claim: str, *ns: int) -> str:
    """Insert `[n]` (or `[n, m]`) after the claim's text (before its final punctuation)."""
    pos = answer.find(claim)
    if pos < 0:
        return answer
    core = claim.rstrip(".!?")
    end = pos + len(core)
    return f"{answer[:end]} [{', '.join(map(str, ns))}]{answer[end:]}"


def shown_where_supported(
    text: str, citations: list[Citation], checks: Sequence[ClaimCheck] = ()
) -> str:
    """The answer with the markers of the sources that support it only: a reader cites what
    it read beside the sentence it copied, or puts a marker mid-sentence that the citation
    check moved to the source that says it — the page must not point at a source that does
    not. A sentence left with no marker cites the sources its check found (`checks`; without
    them, every cited source that supports the answer)."""
    drop = {c.id for c in citations if not (c.cited and c.supported)}
    if not drop & set(cited_numbers(text)):
        return text
    backing = {ch.text: [n for n in ch.cited if n not in drop] for ch in checks}
    supporting = [c.id for c in citations if c.cited and c.supported]
    out: list[str] = []
    for sent in sentences(text):
        kept = clean_citations(sent, len(citations), drop)
        if cited_numbers(sent) and not cited_numbers(kept):
            nums = backing.get(claim_text(sent), []) if checks else supporting
            if nums:
                kept = _attach_marker(kept, kept, *nums)
        out.append(kept)
    for c in citations:
        if c.id in drop:
            c.cited, c.quote = False, None
    for ch in checks:
        ch.cited = [n for n in ch.cited if n not in drop]
    return " ".join(out)

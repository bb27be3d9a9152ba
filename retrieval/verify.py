"""Checking citations: is each answer sentence supported by the source it cites?

Support is measured two ways and the larger counts: lexical (the share of the claim's content
words, numbers normalised, found in the source) and semantic (embedder cosine between
"question + claim" and the best-matching source sentence). A claim without a citation is
attributed to its best-supporting source when that support is strong enough.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from retrieval.prompt import _MARKER
from retrieval.types import Citation

_NUMBER_WORDS = {
    w: str(i)
    for i, w in enumerate(
        (
            "zero one two three four five six seven eight nine ten eleven twelve thirteen "
            "fourteen fifteen sixteen seventeen eighteen nineteen twenty"
        ).split()
    )
}
_STOP = frozenset(
    (
        "a an the of to in on at for by with and or but is are was were be been being it its "
        "this that these those as from has have had not no do does did will would can could "
        "may might about into over after before than then so such their there they them he "
        "she his her we our you your i"
    ).split()
)
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“'])")


def content_words(text: str) -> list[str]:
    words = re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", text.lower())
    return [_NUMBER_WORDS.get(w, w) for w in words if w not in _STOP]


def lexical_support(claim: str, source: str) -> float:
    words = content_words(claim)
    if not words:
        return 0.0
    have = set(content_words(source))
    return sum(w in have for w in words) / len(words)


def choice_evidence(choice: str, texts: list[str]) -> float:
    """Share of a multiple-choice option's content words found in the evidence texts."""
    words = content_words(choice)
    if not words:
        return 0.0
    have = set(content_words(" ".join(texts)))
    return sum(w in have for w in words) / len(words)


@dataclass
class ClaimCheck:
    text: str
    cited: list[int]
    support: dict[int, float]


class CitationVerifier:
    def __init__(self, embedder: object, threshold: float = 0.5) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def claims(self, answer: str) -> list[tuple[str, list[int]]]:
        out = []
        for sent in _SENT.split(answer.strip()):
            nums = [int(n) for m in _MARKER.finditer(sent) for n in m.group(1).split(",")]
            text = _MARKER.sub("", sent).strip()
            if content_words(text):
                out.append((text, nums))
        return out

    def support(self, question: str, claims: list[str], citations: list[Citation]) -> np.ndarray:
        """support[i, j] of claim i by source j (0..1)."""
        lex = np.array([[lexical_support(c, s.hit.text) for s in citations] for c in claims])
        src_sents: list[str] = []
        owner: list[int] = []
        for j, c in enumerate(citations):
            for s in _SENT.split(c.hit.text):
                src_sents.append(s)
                owner.append(j)
        if not src_sents:
            return lex
        enc = self.embedder.encode  # type: ignore[attr-defined]
        cv = enc([f"{question} {c}" for c in claims])
        sv = enc(src_sents)
        sims = cv @ sv.T
        sem = np.zeros_like(lex)
        for k, j in enumerate(owner):
            sem[:, j] = np.maximum(sem[:, j], sims[:, k])
        return np.maximum(lex, sem)

    def verify(self, question: str, answer: str, citations: list[Citation]) -> tuple[str, bool]:
        """Mark citations cited/supported, attribute uncited claims, and return the answer
        (with added markers) and whether any claim is supported."""
        claims = self.claims(answer)
        if not claims or not citations:
            return answer, False
        sup = self.support(question, [c for c, _ in claims], citations)
        any_supported = False
        out = answer
        for i, (text, nums) in enumerate(claims):
            valid = [n for n in nums if 1 <= n <= len(citations)]
            if not valid:
                j = int(np.argmax(sup[i]))
                if sup[i, j] >= self.threshold:
                    valid = [j + 1]
                    out = _attach_marker(out, text, j + 1)
            for n in valid:
                c = citations[n - 1]
                s = float(sup[i, n - 1])
                c.cited = True
                c.support = s if c.support is None else max(c.support, s)
                c.supported = c.support >= self.threshold
                any_supported = any_supported or bool(c.supported)
        return out, any_supported


def _attach_marker(answer: str, claim: str, n: int) -> str:
    """Insert `[n]` after the claim's text (before its final punctuation)."""
    pos = answer.find(claim)
    if pos < 0:
        return answer
    end = pos + len(claim)
    core = claim.rstrip(".!?")
    end = pos + len(core)
    return f"{answer[:end]} [{n}]{answer[end:]}"

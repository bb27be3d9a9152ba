"""Evidence selection: from a wide set of retrieved chunks, the sentences that answer.

A small reader misreads long prompts: five 200-token chunks hold the answer for only half of
the RealTime QA questions, and mostly hold other things. Here every candidate sentence is scored
on its own (BM25 over the candidates' sentences, embedder cosine, and the rank of its chunk),
boilerplate is dropped, and the best sentences, each with the sentence before it for context,
are packed per article into a few short numbered sources within a token budget.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import date
from typing import Any, Literal

import numpy as np

from retrieval.find.bm25 import BM25Index
from retrieval.lang.text import contains_answer, split_sentences
from retrieval.lang.words import capitalised_words, content_words, stems
from retrieval.types import Hit

Order = Literal["score", "date", "best_last"]

# Scraped pages carry ad, video-player and consent text; none of it is news. ("Subscribe" as
# a word: "Netflix lost 970,000 subscribers" is news.)
_BOILERPLATE = re.compile(
    r"relevant is this ad|video (player|content)|ad froze|audio on ad|did not finish loading|"
    r"cookie|sign up for|newsletter|subscribe\b|all rights reserved|click here|advertisement|"
    r"terms of (use|service)|privacy policy|javascript|follow us on|download the app|"
    r"copyright ©|© \d{4}|share this|read more:|log in|create an account|accept all",
    re.IGNORECASE,
)
_WORD = re.compile(r"\w+")


def is_boilerplate(sentence: str) -> bool:
    """Ad, consent and page-furniture text, or a fragment too short to state a fact."""
    return len(_WORD.findall(sentence)) < 4 or bool(_BOILERPLATE.search(sentence))


@dataclass(frozen=True)
class EvidenceConfig:
    """How many chunks to read and how much of them to show the model (tuned on RealTime QA
    dev, docs/EVALUATION.md)."""

    candidates: int = 30  # chunks retrieved before selection
    max_sources: int = 5  # numbered sources (articles) in the prompt
    budget_tokens: int = 480  # evidence size, in approximate model tokens
    embed_top: int = 32  # sentences (by lexical score and chunk rank) scored by the embedder
    neighbours: int = 1  # sentences kept before a selected one, for context
    # Sentences kept after one: a sentence that restates the question is often followed by
    # the answer ("… a few major reforms were left out." "Also absent is a ban on …").
    after: int = 1
    w_lexical: float = 0.4
    w_dense: float = 0.4
    w_rank: float = 0.2
    order: Order = "score"
    enabled: bool = True


@dataclass
class Sentence:
    hit: int  # index of its chunk among the candidates
    pos: int  # position in its chunk
    text: str
    score: float = 0.0
    dense: float = 0.0  # embedder cosine with the question (0 when not embedded)


def with_mentions(question: str, mentions: Sequence[str]) -> str:
    """The search query for a question and the phrases its evidence should name (a
    multiple-choice question's options)."""
    return f"{question} {' ; '.join(mentions)}" if mentions else question


def names_shared(question: str, hits: Sequence[Hit]) -> bool:
    """Whether the question names someone or something (a capitalised word after its first)
    that a source's title or text names: a question about the sources' people and places is
    not plainly off-topic, however far from them the embedder puts it."""
    names = stems(capitalised_words(question))
    return bool(names) and any(names & stems(content_words(f"{h.title} {h.text}")) for h in hits)


def evidence_is_weak(
    question: str, hits: Sequence[Hit], min_score: float, min_sentence_score: float
) -> bool:
    """Abstain without calling the model when the question is plainly not about the
    sources. A 200-token chunk is a poor match for a short question about one of its
    sentences, and the embedder places rare names poorly (a question about a small province
    scored 0.24 against the article about an attack there): a close sentence, or a name the
    question shares with the sources, is enough to ask the model."""
    if not hits:
        return True
    if max(h.score for h in hits) >= min_score:
        return False
    if max(h.scores.get("sentence_dense", 0.0) for h in hits) >= min_sentence_score:
        return False
    return not names_shared(question, hits)


def approx_tokens(text: str) -> int:
    """Model tokens of English text, estimated (≈ 4 characters a token) without a tokenizer."""
    return max(1, len(text) // 4)


def candidate_sentences(hits: list[Hit]) -> tuple[list[Sentence], dict[int, list[Sentence]]]:
    """Sentences of the candidate chunks, boilerplate and repeats dropped (overlapping chunks
    and syndicated copies share sentences), and every chunk's sentences in order."""
    seen: set[str] = set()
    keep: list[Sentence] = []
    by_hit: dict[int, list[Sentence]] = {}
    for i, h in enumerate(hits):
        sents = [Sentence(i, p, h.text[s:e]) for p, (s, e) in enumerate(split_sentences(h.text))]
        by_hit[i] = sents
        for s in sents:
            key = " ".join(_WORD.findall(s.text.lower()))
            if key in seen or is_boilerplate(s.text):
                continue
            seen.add(key)
            keep.append(s)
    return keep, by_hit


def _normalised(values: np.ndarray) -> np.ndarray:
    top = float(values.max()) if len(values) else 0.0
    return values / top if top > 0 else np.zeros_like(values)


class EvidenceSelector:
    def __init__(self, embedder: Any, config: EvidenceConfig | None = None) -> None:
        self.embedder = embedder
        self.config = config or EvidenceConfig()

    def score(
        self, question: str, hits: list[Hit], sents: list[Sentence], embed_all: bool = False
    ) -> None:
        """Each sentence's fit to the question (lexical, meaning, its chunk's rank); the
        embedder reads the `embed_top` best by the other two, or all with `embed_all`."""
        cfg = self.config
        if not sents:
            return
        bm25 = BM25Index((k, s.text) for k, s in enumerate(sents))
        lex = np.zeros(len(sents))
        for k, v in bm25.search(question, len(sents)):
            lex[k] = v
        lex = _normalised(lex)
        rank = np.array([1.0 / (1.0 + s.hit / 5.0) for s in sents])
        prior = cfg.w_lexical * lex + cfg.w_rank * rank
        dense = np.zeros(len(sents))
        if cfg.w_dense > 0 and self.embedder is not None:
            top = np.argsort(-prior, kind="stable")[: None if embed_all else cfg.embed_top]
            vecs = self.embedder.encode([question] + [sents[k].text for k in top])
            dense[top] = np.clip(vecs[1:] @ vecs[0], 0.0, 1.0)
        total = prior + cfg.w_dense * dense
        for s, v, d in zip(sents, total, dense, strict=True):
            s.score, s.dense = float(v), float(d)

    def select(
        self,
        question: str,
        hits: list[Hit],
        max_sources: int | None = None,
        mentions: Sequence[str] = (),
    ) -> list[Hit]:
        """Numbered sources for the prompt: one per article, each the selected sentences of that
        article, best first, each after the sentence before it ("…" between passages).

        `mentions` (a multiple-choice question's options) each get their best-scoring sentence
        that names them shown first: the reader then weighs every option against its own
        evidence, and the right one is in the prompt whenever a candidate names it."""
        cfg = self.config
        limit = max_sources or cfg.max_sources
        if not cfg.enabled or not hits:
            return hits[:limit]
        sents, by_hit = candidate_sentences(hits)
        if not sents:
            return hits[:limit]
        self.score(question, hits, sents)
        first: set[tuple[int, int]] = set()
        for phrase in mentions:
            naming = [s for s in sents if contains_answer(s.text, phrase)]
            if naming:
                best_naming = max(naming, key=lambda s: s.score)
                first.add((best_naming.hit, best_naming.pos))
        chosen: dict[str, dict[tuple[int, int], Sentence]] = {}
        best: dict[str, float] = {}
        first_hit: dict[str, int] = {}
        used = 0
        for s in sorted(sents, key=lambda s: ((s.hit, s.pos) not in first, -s.score)):
            aid = hits[s.hit].article_id
            if aid not in chosen and len(chosen) >= limit:
                continue
            sents_of_hit = by_hit[s.hit]
            before = sents_of_hit[max(0, s.pos - cfg.neighbours) : s.pos]
            ctx_after = sents_of_hit[s.pos + 1 : s.pos + 1 + cfg.after]
            group = chosen.get(aid, {})
            add = [
                c
                for c in [*before, s, *ctx_after]
                if (c.hit, c.pos) not in group and not is_boilerplate(c.text)
            ]
            if s not in add:
                continue
            cost = sum(approx_tokens(c.text) for c in add)
            if used + cost > cfg.budget_tokens and chosen:
                # Try the sentence alone before giving up on it.
                add, cost = [s], approx_tokens(s.text)
                if used + cost > cfg.budget_tokens:
                    continue
            chosen.setdefault(aid, {}).update({(c.hit, c.pos): c for c in add})
            best[aid] = max(best.get(aid, 0.0), s.score)
            first_hit.setdefault(aid, s.hit)
            used += cost
            if used >= cfg.budget_tokens:
                break
        closest: dict[str, float] = {}
        for s in sents:
            aid = hits[s.hit].article_id
            closest[aid] = max(closest.get(aid, 0.0), s.dense)
        return self._sources(hits, chosen, best, first_hit, closest)

    def _sources(
        self,
        hits: list[Hit],
        chosen: dict[str, dict[tuple[int, int], Sentence]],
        best: dict[str, float],
        first_hit: dict[str, int],
        closest: dict[str, float],
    ) -> list[Hit]:
        out: list[Hit] = []
        for aid, group in chosen.items():
            # Best passage first (each selected sentence after its context), "…" between
            # passages that do not continue each other.
            parts: list[str] = []
            last: tuple[int, int] | None = None
            seen_text: set[str] = set()
            for key, s in group.items():
                if s.text in seen_text:
                    continue
                if parts and not (last is not None and key == (last[0], last[1] + 1)):
                    parts.append("…")
                parts.append(s.text)
                seen_text.add(s.text)
                last = key
            base = hits[first_hit[aid]]
            # The abstention gate reads `score`, the best dense score of the article's chunks,
            # and `sentence_dense`, its sentence closest to the question in meaning.
            dense = max(h.score for h in hits if h.article_id == aid)
            scores = {**base.scores, "evidence": best[aid], "sentence_dense": closest[aid]}
            out.append(replace(base, text=" ".join(parts), score=dense, scores=scores))
        order = self.config.order
        if order == "date":
            out.sort(key=lambda h: h.published or date.min, reverse=True)
        else:
            out.sort(key=lambda h: -h.scores["evidence"])
            if order == "best_last":
                out.reverse()
        return out

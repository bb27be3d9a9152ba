"""Answers from the stored articles themselves, no model: an article's opening sentence (news
states its main point first), questions about an article (its date, outlet, title…), and a
date window that holds nothing on the subject, explained with the newest article outside it."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from retrieval.answer import about
from retrieval.answer.prompt import ABSTAIN_TEXT, cited_numbers
from retrieval.check.answer_check import uncite
from retrieval.check.subject import about_subject
from retrieval.errors import ArticleNotFoundError
from retrieval.find.search import Retriever
from retrieval.types import Answer, Article, Citation, Hit, SearchFilter


def lead_of(retriever: Retriever, hit: Hit) -> str:
    """The first sentence of a hit's article ("" when the article is gone)."""
    try:
        body = retriever.store.get_article(hit.article_id).article.body
    except ArticleNotFoundError:  # deleted since the search
        return ""
    return about.lead(body, 1)


def with_lead(retriever: Retriever, hit: Hit) -> Hit:
    """A source for an open question, opening with its article's first sentence (news
    states its main point first; the evidence selection chose sentences like the
    question's words, which "what happened?" has few of)."""
    first = lead_of(retriever, hit)
    if not first or first in hit.text:
        return hit
    return replace(hit, text=f"{first} … {hit.text}")


def about_article(
    retriever: Retriever,
    question: str,
    named: str,
    citations: list[Citation],
    timings: dict[str, float],
) -> Answer:
    """An answer from the article's own metadata (`retrieval.answer.about`), citing it; abstains
    when no source's article is about the subject `named` (the question, or in a
    conversation the question before it), or when nothing names a subject and the sources
    are from several articles."""
    store = retriever.store
    articles: dict[str, Article] = {}
    for c in citations:
        if c.hit.article_id not in articles:
            try:
                articles[c.hit.article_id] = store.get_article(c.hit.article_id).article
            except ArticleNotFoundError:  # deleted since the search
                continue
    found = about.matching(named, citations, articles)
    if not about.has_subject(named) and len(articles) > 1:
        found = []
    if not found:
        uncite(citations)
        return Answer(
            ABSTAIN_TEXT, True, citations, timings, question, abstain_reason="weak_evidence"
        )
    # Of several articles on the subject, the best ranked that carries what is asked.
    best = next(
        (c for c in found if about.has_field(articles[c.hit.article_id], question)), found[0]
    )
    article = articles[best.hit.article_id]
    outlets: dict[str, int] = {}  # each outlet once, at its best-ranked source
    for c in found:
        outlets.setdefault(articles[c.hit.article_id].source or "", c.id)
    made = about.describe(question, article, best.id, list(outlets.items()))
    if made.abstain:
        uncite(citations)
        return Answer(
            f"I don't know: {made.text[0].lower()}{made.text[1:]}",
            True,
            citations,
            timings,
            question,
            abstain_reason=made.abstain,
        )
    cited = set(cited_numbers(made.text))
    for c in citations:
        if c.id in cited:
            c.cited, c.supported, c.support = True, True, 1.0
    answer = Answer(made.text, False, citations, timings, question, short_answer=made.short)
    answer.claims = [
        {"text": made.text, "citations": sorted(cited), "support": 1.0, "supported": True}
    ]
    return answer


def explain_window(
    retriever: Retriever,
    question: str,
    answer: Answer,
    used: SearchFilter,
    applied: dict[str, Any],
    as_of: date | None,
) -> None:
    """When a date window left nothing on the question's subject, say so: the answer
    becomes `no_articles_in_window`, naming the window and the newest article on the
    subject outside it (a reader can then search all dates)."""
    inside = [c.hit for c in answer.citations]
    if any(about_subject(question, [h.title, h.text]) for h in inside):
        return  # the window held articles on the subject; they did not answer
    # All dates up to the day the question is asked: nothing is published after it.
    wider = SearchFilter(published_to=as_of, sources=used.sources, include_undated=True)
    hits = retriever.search(question, 20, wider, as_of=as_of)
    outside = [
        h
        for h in hits
        if not used.accepts(h.published, h.source) and about_subject(question, [h.title, h.text])
    ]
    if not outside:
        return
    newest = max(outside, key=lambda h: (h.published or date.min, h.score))
    start, end = used.published_from, used.published_to
    span = (
        f"between {start.isoformat()} and {end.isoformat()}"
        if start and end
        else f"after {start.isoformat()}"
        if start
        else f"before {end.isoformat() if end else ''}"
    )
    words = applied.get("from_question")
    said = f" (“{words}”)" if words else ""
    when = newest.published.isoformat() if newest.published else "undated"
    answer.answer = (
        f"I don't know: no indexed article published {span}{said} is about this. The "
        f"newest one that is: “{newest.title}” ({newest.source or 'unknown outlet'}, {when})."
    )
    answer.abstain_reason = "no_articles_in_window"
    answer.window = {
        "published_from": start.isoformat() if start else None,
        "published_to": end.isoformat() if end else None,
        "expression": words,
        "newest": {
            "article_id": newest.article_id,
            "title": newest.title,
            "published": newest.published.isoformat() if newest.published else None,
            "source": newest.source,
            "url": newest.url,
        },
    }


def newest_title(retriever: Retriever, filters: SearchFilter) -> str | None:
    """The title of the newest article the filters allow: what a question naming no subject
    ("What happened?") is about."""
    page, _ = retriever.store.list_articles(
        limit=1,
        published_from=filters.published_from,
        published_to=filters.published_to,
        outlets=filters.sources,
    )
    return page[0].article.title if page else None

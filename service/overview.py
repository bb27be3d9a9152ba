"""What the chat page opens with (the newest articles, the feeds, questions to start from) and
adding a link from the page (a page's article or a feed, told apart by its content)."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date
from typing import Any

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from retrieval.lang.text import split_sentences
from retrieval.lang.words import STOP_WORDS
from retrieval.types import Article
from service.deps import NewsragDep
from service.feeds import FeedOut

NEWEST = 5  # headlines shown on the empty page
SUGGESTIONS = 4
TITLE_CHARS = 90  # a suggestion quotes at most this much of a title

# A name: capitalised words in a row ("Millbrook", "New York", "Dana Whitfield").
_POSSESSIVE = re.compile(r"['’]s?$")
_NAME = re.compile(r"\b[A-Z][\w’'-]*[a-z][\w’'-]*(?: [A-Z][\w’'-]*[a-z][\w’'-]*)*")


class Headline(BaseModel):
    id: str
    title: str
    source: str | None
    published: date | None
    url: str | None


class OverviewOut(BaseModel):
    articles: int
    chunks: int
    newest: list[Headline] = Field(description="the newest articles, newest first")
    feeds: list[FeedOut]
    suggestions: list[str] = Field(description="questions drawn from the newest articles")
    writable: bool = Field(description="whether articles and feeds can be added here")


class LinkIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(..., min_length=1, max_length=2000, description="an article page or a feed")


class LinkOut(BaseModel):
    kind: str = Field(description="'article' or 'feed': what the link turned out to be")
    added: list[str]
    titles: list[str] = Field(description="the titles of the articles added (at most 10)")
    duplicates: list[str]
    errors: list[str] = Field(description="items of a feed that could not be added, and why")
    feed: FeedOut | None
    feed_created: bool


def _quoted(title: str) -> str:
    title = " ".join(title.split())
    if len(title) > TITLE_CHARS:
        title = title[:TITLE_CHARS].rsplit(" ", 1)[0].rstrip(",;:-–—") + "…"
    return f"“{title}”"


def names(article: Article) -> Counter[str]:
    """Names in the body, counted: capitalised words that do not open a sentence (a sentence's
    first word is capitalised whatever it is), without stop words at their ends."""
    found: Counter[str] = Counter()
    body = article.body
    for start, end in split_sentences(body):
        for m in _NAME.finditer(body, start, end):
            words = m.group().split()
            if m.start() == start + (len(body[start:end]) - len(body[start:end].lstrip())):
                words = words[1:]  # the sentence's own first word
            while words and words[0].lower() in STOP_WORDS:
                words = words[1:]
            while words and words[-1].lower() in STOP_WORDS:
                words = words[:-1]
            if words:
                found[_POSSESSIVE.sub("", " ".join(words))] += 1
    return found


def suggest_questions(newest: list[Article], limit: int = SUGGESTIONS) -> list[str]:
    """Questions a reader could start from, drawn from the newest articles: a summary of the
    newest story, the latest on the names the newest articles talk about most (a name in a
    title counts more), and where and when the newest story was published."""
    if not newest:
        return []
    counts: Counter[str] = Counter()
    for art in newest:
        for name, n in names(art).items():
            counts[name] += n + (3 if name.lower() in art.title.lower() else 0)
    top = [n for n, c in counts.most_common() if c > 1]
    out = [f"Summarize {_quoted(newest[0].title)}."]
    out += [f"What's the latest on {n}?" for n in top[:2]]
    if len(newest) > 1:
        out.append(f"Summarize {_quoted(newest[1].title)}.")
    out.append(f"Which outlet published {_quoted(newest[0].title)}, and when?")
    return out[:limit]


def build_router() -> APIRouter:
    router = APIRouter(tags=["overview"])

    @router.get("/overview", response_model=OverviewOut)
    def overview(rag: NewsragDep) -> Any:
        """What is in scope: the newest headlines, the feeds and their last poll, and
        questions to start from (drawn from the newest articles)."""
        stored, total = rag.list_articles(limit=NEWEST)
        arts = [s.article for s in stored]
        return {
            "articles": total,
            "chunks": rag.store.chunk_count(),
            "newest": [
                {
                    "id": a.id,
                    "title": a.title,
                    "source": a.source,
                    "published": a.published,
                    "url": a.url,
                }
                for a in arts
            ],
            "feeds": [f.to_dict() for f in rag.list_feeds()],
            "suggestions": suggest_questions(arts[:3]),
            "writable": not rag.store.readonly,
        }

    @router.post("/links", response_model=LinkOut, responses={422: {"description": "invalid"}})
    async def add_link(body: LinkIn, rag: NewsragDep) -> Any:
        """Add what a link points at: a feed (RSS or Atom) is registered and polled now; a
        page's article is extracted and added. Only public http(s) addresses unless
        NEWSRAG_ALLOW_PRIVATE_URLS is set."""
        out = (await run_in_threadpool(rag.add_link, body.url)).to_dict()
        out["titles"] = [rag.get(i).article.title for i in out["added"][:10]]
        return out

    return router

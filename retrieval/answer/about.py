"""Questions about an article itself — when it was published, by which outlet, its title, its
link, its author, what it is about — answered from the stored article, not by the model:
the metadata is exact, and a model asked for a date copies the wrong one."""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import StrEnum

from retrieval.check.subject import about_subject, topic_words
from retrieval.lang.text import sentences as split
from retrieval.lang.words import content_words, stems
from retrieval.types import Article, Citation


class Field(StrEnum):
    DATE = "date"
    OUTLET = "outlet"
    TITLE = "title"
    LINK = "link"
    AUTHOR = "author"
    ABOUT = "about"


_FIELDS: list[tuple[Field, re.Pattern[str]]] = [
    (Field.AUTHOR, re.compile(r"\b(?:who\s+wrote|author|authored|byline|written\s+by)\b", re.I)),
    (
        Field.LINK,
        re.compile(r"\b(?:link|url|web\s*address|where\s+can\s+i\s+(?:read|find|see))\b", re.I),
    ),
    (Field.TITLE, re.compile(r"\b(?:title|headline|called|named)\b", re.I)),
    (
        Field.OUTLET,
        re.compile(
            r"\b(?:outlets?|publications?|newspapers?|sites?|websites?|media|who\s+"
            r"(?:published|reported|covered|ran))\b",
            re.I,
        ),
    ),
    (Field.DATE, re.compile(r"\b(?:when|date|day|published|posted|dated)\b", re.I)),
]
# Words that say what is asked about an article, not what the article is about.
_META_WORDS = frozenset(
    (
        "article articles story stories report piece headline title link url address outlet "
        "outlets publication publications newspaper newspapers site sites website websites "
        "media published publish posted dated written wrote author authored byline date day "
        "come came out read find see cover covered say says reported ran called named web "
        "can i where source sources profile profiles interview op-ed opinion analysis column "
        "review obituary editorial coverage feature explainer"
    ).split()
)


def field_asked(question: str) -> Field:
    """Which piece of an article's metadata a question asks for ("what is it about" when it
    names none)."""
    for f, pattern in _FIELDS:
        if pattern.search(question):
            return f
    return Field.ABOUT


def has_field(article: Article, question: str) -> bool:
    """Whether the article carries the piece of metadata the question asks for."""
    f = field_asked(question)
    value = {
        Field.DATE: article.published,
        Field.OUTLET: article.source,
        Field.LINK: article.url,
        Field.AUTHOR: article.author,
    }.get(f, True)
    return value is not None and value != ""


def subject(question: str) -> str:
    """The question without the words that ask about an article as such: what is left names
    the article ("the article about the earthquake in the Philippines")."""
    return " ".join(w for w in re.findall(r"[\w'’-]+", question) if w.lower() not in _META_WORDS)


_EXPLAIN = re.compile(r"^\W*(?:why|how)\b", re.IGNORECASE)


def asks_for_news(question: str) -> bool:
    """A question that asks for the news as such, naming nothing it is about ("What
    happened?", "Summarize the article.", "Catch me up."); not "Why?" or "How?", which ask
    about something said before."""
    return not has_subject(question) and not _EXPLAIN.match(question)


def has_subject(question: str) -> bool:
    names, words = topic_words(subject(question))
    return bool(names or words)


def long_date(article: Article) -> str | None:
    d = article.published
    return f"{d:%B} {d.day}, {d.year}" if d else None


# A photo caption or credit, which scraped pages often put before the story.
CAPTION = re.compile(
    r"Getty Images|/AP\b|AP Photo|Shutterstock|/Reuters|/AFP|Photo by|\(Photo|Photographer:|"
    r"Video Ad Feedback|\bis displayed\b|poses for a picture|takes questions",
    re.IGNORECASE,
)


def lead(body: str, sentences: int = 2) -> str:
    """The article's opening sentences, past a dateline ("Washington CNN —") and captions."""
    for para in re.split(r"\n\s*\n", body):
        text = " ".join(para.split())
        text = re.sub(
            r"^[A-Z][\w ,.()]{0,60}(?:CNN|AP|Reuters|AFP)[\w ]{0,20}\s+[—–-]+\s*", "", text
        )
        text = re.sub(r"^\((?:CNN|AP|Reuters|AFP)\)\s*", "", text)
        if len(content_words(text)) >= 10 and text[-1:] in ".!?”\"'" and not CAPTION.search(text):
            return " ".join(split(text)[:sentences])
    return " ".join(body.split())[:300]


@dataclass
class AboutAnswer:
    text: str  # with the citation marker
    short: str | None
    abstain: str | None = None  # the reason when the article's metadata cannot answer


def describe(
    question: str, article: Article, cite: int, outlets: list[tuple[str, int]]
) -> AboutAnswer:
    """The answer to `question` from `article`'s metadata, citing source `cite` (`outlets`:
    every outlet whose article on the subject is among the sources, for "which outlets")."""
    f = field_asked(question)
    title = f"“{article.title}”" if article.title else "The article"
    outlet = article.source
    by = f" by {outlet}" if outlet else ""
    when = long_date(article)
    if f is Field.DATE:
        if when is None:
            return AboutAnswer(f"{title} carries no publication date.", None, "unsupported")
        return AboutAnswer(f"{title} was published on {when}{by} [{cite}].", when)
    if f is Field.OUTLET:
        named = [(o, n) for o, n in outlets if o] or [(outlet or "", cite)]
        if len(named) > 1:
            parts = [f"{o} [{n}]" for o, n in named]
            listed = f"{', '.join(parts[:-1])} and {parts[-1]}"
            return AboutAnswer(
                f"{listed} published articles on it.", ", ".join(o for o, _ in named)
            )
        if outlet is None:
            return AboutAnswer(f"{title} does not name its outlet.", None, "unsupported")
        dated = f" on {when}" if when else ""
        return AboutAnswer(f"{title} was published by {outlet}{dated} [{cite}].", outlet)
    if f is Field.TITLE:
        place = f" ({outlet})" if outlet else ""
        return AboutAnswer(f"The article is titled {title}{place} [{cite}].", article.title)
    if f is Field.LINK:
        if not article.url:
            return AboutAnswer(f"{title} was stored without a link.", None, "unsupported")
        return AboutAnswer(f"{title} is at {article.url} [{cite}].", article.url)
    if f is Field.AUTHOR:
        if not article.author:
            return AboutAnswer(f"{title} does not name its author.", None, "unsupported")
        return AboutAnswer(f"{title} was written by {article.author} [{cite}].", article.author)
    said = ", ".join(x for x in (outlet, when) if x)
    said = f" ({said})" if said else ""
    return AboutAnswer(f"{title}{said} reports: {lead(article.body)} [{cite}]", None)


def matching(
    question: str, citations: list[Citation], articles: dict[str, Article]
) -> list[Citation]:
    """The sources whose whole article is about the subject the question names (all of them
    when it names none), best first, one per article."""
    about = subject(question)
    seen: set[str] = set()
    out: list[tuple[float, int, Citation]] = []
    for rank, c in enumerate(citations):
        a = articles.get(c.hit.article_id)
        if a is None or a.id in seen:
            continue
        seen.add(a.id)
        texts = [a.title, a.body, a.source or "", a.url or ""]
        if not has_subject(question) or about_subject(about, texts, share=0.6):
            out.append((-title_share(about, a.title), rank, c))
    # A reader names an article by its headline's words: of several on the subject, the one
    # whose title says most of what the question says comes first.
    return [c for _, _, c in sorted(out, key=lambda t: (t[0], t[1]))]


def title_share(about: str, title: str) -> float:
    names, words = topic_words(about)
    asked = names | words
    have = stems(content_words(title))
    return len(asked & have) / len(asked) if asked else 0.0

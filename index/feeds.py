"""RSS/Atom feeds that keep the index fresh: a registry (SQLite, beside the index) and a
poller that fetches new items' pages, extracts their articles and adds them.

A poll is polite (conditional GET, `index/fetch.py`) and never crashes on bad input: a
malformed feed, a page that is gone or has no article is recorded in the feed's status and the
rest is ingested. An item is remembered once it is ingested or permanently unusable (4xx, no
article), so the next poll neither fetches it again nor adds it twice; a transient failure
(timeout, 5xx) is retried next time.
"""

from __future__ import annotations

import calendar
import hashlib
import logging
import sqlite3
import threading
import time
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

from index.fetch import Fetched, Fetcher, FetchError, check_url
from index.formats import Limits, html_article
from index.ingest import IngestReport
from index.parse import ParseError
from index.sql import SideDb
from retrieval.errors import FeedNotFoundError, InvalidInputError, ReadOnlyError
from retrieval.types import Article

logger = logging.getLogger(__name__)

FEEDS_DB = "feeds.sqlite"
MAX_ITEMS_PER_POLL = 50  # newest first; the rest waits for the next poll

_SCHEMA = """
CREATE TABLE IF NOT EXISTS feeds (
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL UNIQUE,
    title TEXT,
    added_at REAL NOT NULL,
    etag TEXT,
    last_modified TEXT,
    last_poll REAL,
    last_status INTEGER,
    last_error TEXT,
    items_added INTEGER NOT NULL DEFAULT 0,
    last_added INTEGER NOT NULL DEFAULT 0,
    polls INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS feed_items (
    feed_id TEXT NOT NULL REFERENCES feeds(id) ON DELETE CASCADE,
    item TEXT NOT NULL,
    seen_at REAL NOT NULL,
    PRIMARY KEY (feed_id, item)
);
"""


@dataclass
class Feed:
    id: str
    url: str
    title: str | None
    added_at: float
    etag: str | None = None
    last_modified: str | None = None
    last_poll: float | None = None
    last_status: int | None = None
    last_error: str | None = None
    items_added: int = 0
    last_added: int = 0
    polls: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            k: getattr(self, k)
            for k in (
                "id",
                "url",
                "title",
                "added_at",
                "last_poll",
                "last_status",
                "last_error",
                "items_added",
                "last_added",
                "polls",
            )
        }


@dataclass
class PollResult:
    feed_id: str
    status: int | None
    added: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "feed_id": self.feed_id,
            "status": self.status,
            "added": self.added,
            "duplicates": self.duplicates,
            "errors": self.errors,
        }


class FeedRegistry:
    """The registered feeds and the items already taken from them: a SQLite file beside the
    index, or with a store URL, tables in the index's database (shared by every host)."""

    def __init__(
        self, index_dir: Path, readonly: bool = False, store_url: str | None = None
    ) -> None:
        self.path = index_dir / FEEDS_DB
        self.readonly = readonly
        self._lock = threading.Lock()
        if store_url:
            self._db = SideDb.connect(store_url)
        elif readonly and not self.path.exists():
            # A replica never creates files in the shared index directory.
            self._db = SideDb.sqlite(":memory:")
        else:
            self._db = SideDb.sqlite(self.path, readonly)
        if not readonly or store_url or not self.path.exists():
            self._db.script(_SCHEMA)

    def polling(self, feed_id: str) -> AbstractContextManager[bool]:
        """Whether this process may poll the feed now (no other process on any host is)."""
        return self._db.exclusive(f"feed:{feed_id}")

    def close(self) -> None:
        self._db.close()

    def check_writable(self) -> None:
        if self.readonly:
            raise ReadOnlyError(
                "this index is served read-only (a replica): manage feeds on the writer"
            )

    def add(self, url: str, allow_private: bool = False) -> tuple[Feed, bool]:
        """Register a feed (the URL is checked like every fetch); (feed, created)."""
        self.check_writable()
        url = check_url(url, allow_private)
        with self._lock:
            row = self._db.execute("SELECT * FROM feeds WHERE url = ?", (url,)).fetchone()
            if row is not None:
                return Feed(**dict(row)), False
            feed_id = hashlib.sha256(url.encode()).hexdigest()[:12]
            self._db.execute(
                "INSERT INTO feeds (id, url, added_at) VALUES (?, ?, ?)",
                (feed_id, url, time.time()),
            )
        return self.get(feed_id), True

    def all(self) -> list[Feed]:
        with self._lock:
            try:
                rows = self._db.execute("SELECT * FROM feeds ORDER BY added_at").fetchall()
            except sqlite3.OperationalError:  # a replica beside a writer that never had feeds
                return []
        return [Feed(**dict(r)) for r in rows]

    def get(self, feed_id: str) -> Feed:
        with self._lock:
            row = self._db.execute("SELECT * FROM feeds WHERE id = ?", (feed_id,)).fetchone()
        if row is None:
            raise FeedNotFoundError(f"no feed with id {feed_id!r}")
        return Feed(**dict(row))

    def remove(self, feed_id: str) -> None:
        self.check_writable()
        with self._lock:
            cur = self._db.execute("DELETE FROM feeds WHERE id = ?", (feed_id,))
        if cur.rowcount == 0:
            raise FeedNotFoundError(f"no feed with id {feed_id!r}")

    def seen(self, feed_id: str, items: list[str]) -> set[str]:
        with self._lock:
            wanted = set(items)
            return {
                r["item"]
                for r in self._db.execute(
                    "SELECT item FROM feed_items WHERE feed_id = ?", (feed_id,)
                )
                if r["item"] in wanted
            }

    def mark_seen(self, feed_id: str, items: list[str]) -> None:
        now = time.time()
        with self._lock:
            self._db.executemany(
                "INSERT INTO feed_items VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                [(feed_id, item, now) for item in items],
            )

    def record(self, feed: Feed, result: PollResult) -> None:
        with self._lock:
            self._db.execute(
                "UPDATE feeds SET title = ?, etag = ?, last_modified = ?, last_poll = ?, "
                "last_status = ?, last_error = ?, items_added = items_added + ?, "
                "last_added = ?, polls = polls + 1 WHERE id = ?",
                (
                    feed.title,
                    feed.etag,
                    feed.last_modified,
                    time.time(),
                    result.status,
                    "; ".join(result.errors)[:2000] or None,
                    len(result.added),
                    len(result.added),
                    feed.id,
                ),
            )


def _entry_date(entry: Any) -> date | None:
    parsed = entry.get("published_parsed") or entry.get("updated_parsed")
    if not parsed:
        return None
    try:
        return date.fromtimestamp(calendar.timegm(parsed))
    except (OverflowError, ValueError, OSError):
        return None


def _outlet(feed_title: str | None, url: str) -> str:
    host = urlsplit(url).hostname or ""
    return (feed_title or host.removeprefix("www.") or "feed")[:200]


class FeedPoller:
    """Polls feeds and hands the new articles to `add` (the index's own dedup applies)."""

    def __init__(
        self,
        registry: FeedRegistry,
        fetcher: Fetcher,
        add: Callable[[list[Article]], IngestReport],
        limits: Limits | None = None,
    ) -> None:
        self.registry = registry
        self.fetcher = fetcher
        self.add = add
        self.limits = limits or Limits()
        self._lock = threading.Lock()  # one poll at a time: two would fetch the same items

    def poll_all(self) -> list[PollResult]:
        return [self.poll(f.id) for f in self.registry.all()]

    def poll(self, feed_id: str, fetched: Fetched | None = None) -> PollResult:
        """Poll one feed; `fetched`: its content, already fetched (a link just added)."""
        self.registry.check_writable()
        with self._lock, self.registry.polling(feed_id) as ours:
            feed = self.registry.get(feed_id)
            result = PollResult(feed.id, None)
            if not ours:
                result.errors.append("skipped: another newsrag process is polling this feed")
                return result
            try:
                self._poll(feed, result, fetched)
            except Exception as exc:  # a feed must never take the poller down
                logger.exception("polling %s failed", feed.url)
                result.errors.append(f"{feed.url}: {type(exc).__name__}: {exc}")
            self.registry.record(feed, result)
            return result

    def _poll(self, feed: Feed, result: PollResult, got: Fetched | None = None) -> None:
        import feedparser

        if got is None:
            try:
                got = self.fetcher.get(feed.url, feed.etag, feed.last_modified)
            except (FetchError, InvalidInputError) as exc:
                result.errors.append(str(exc))
                result.status = exc.status if isinstance(exc, FetchError) else None
                return
        result.status = got.status
        if got.status == 304:
            return
        parsed = feedparser.parse(got.content)
        entries = [e for e in parsed.entries if e.get("link")][:MAX_ITEMS_PER_POLL]
        if (parsed.bozo or not parsed.version) and not entries:
            why = getattr(parsed, "bozo_exception", None) or "not RSS or Atom"
            result.errors.append(f"{feed.url}: malformed feed ({why})")
            return
        if parsed.bozo:  # readable in part: take what can be read, and say so
            result.errors.append(f"{feed.url}: feed partly malformed ({parsed.bozo_exception})")
        feed.etag, feed.last_modified = got.etag, got.last_modified
        feed.title = (parsed.feed.get("title") or feed.title or "").strip()[:200] or None
        keys = [str(e.get("id") or e.get("link")) for e in entries]
        seen = self.registry.seen(feed.id, keys)
        articles: list[Article] = []
        done: list[str] = []
        for entry, key in zip(entries, keys, strict=True):
            if key in seen:
                continue
            try:
                articles.append(self._article(entry, feed))
                done.append(key)
            except (FetchError, InvalidInputError) as exc:
                result.errors.append(str(exc))
                gone = isinstance(exc, FetchError) and exc.status is not None and exc.status < 500
                if isinstance(exc, InvalidInputError) or gone:
                    done.append(key)  # gone, refused or no article: do not fetch it again
        if articles:
            report = self.add(articles)
            result.added = report.added + report.updated
            result.duplicates = report.duplicates
        self.registry.mark_seen(feed.id, done)

    def _article(self, entry: Any, feed: Feed) -> Article:
        link = urljoin(feed.url, str(entry["link"]))  # (a relative link is the feed's)
        page = self.fetcher.get(link)
        art = html_article(
            page.content.decode("utf-8", errors="replace"),
            link,
            self.limits,
            url=page.url,
            source=_outlet(feed.title, feed.url),
        )
        published = _entry_date(entry)
        if art.published is None and published is not None:
            art = replace(art, published=published)  # the feed's date, when the page has none
        return art


def fetch_page(url: str, fetcher: Fetcher) -> Fetched:
    """One page, or ParseError (422) saying why not (the fetcher checks the URL, and every
    redirect, before any request)."""
    try:
        return fetcher.get(url)
    except FetchError as exc:
        raise ParseError(str(exc)) from None


def page_article(page: Fetched, asked: str, limits: Limits) -> Article:
    """The article of a fetched page (ParseError when it has none)."""
    return html_article(page.content.decode("utf-8", errors="replace"), asked, limits, url=page.url)


def fetch_articles(urls: list[str], fetcher: Fetcher, limits: Limits) -> list[Article]:
    """The articles of the given pages, all or nothing: ParseError names the first page
    that cannot be fetched or has no article."""
    return [page_article(fetch_page(url, fetcher), url, limits) for url in urls]


def is_feed(content: bytes) -> bool:
    """Whether fetched bytes are an RSS or Atom feed with items, rather than a page: what a
    person pastes may be either, and only the content tells."""
    import feedparser

    parsed = feedparser.parse(content)
    return bool(parsed.version) and any(e.get("link") for e in parsed.entries)

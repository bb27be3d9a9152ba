"""Articles from uploaded content: JSON objects, `.jsonl` lines, HTML pages (main text only)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import SplitResult, urlsplit

from index.parse import (
    SUPPORTED_SUFFIXES,
    ParseError,
    content_id,
    load_file,
    parse_text,
)
from retrieval.types import Article

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES


@dataclass(frozen=True)
class Limits:
    max_article_chars: int = 200_000
    # An HTML page whose main text is shorter holds no article (a cookie wall, a menu).
    min_html_chars: int = 200


# One rule for article ids wherever they come from (JSON body, .jsonl line, PUT path): ASCII
# letters, digits, '.', '_', '-', not starting with '.' (so never '.' or '..'), 1-128 long.
ID_PATTERN = r"^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$"
_ID_RE = re.compile(ID_PATTERN)


def check_id(value: str, where: str) -> str:
    if not _ID_RE.fullmatch(value):
        raise ParseError(
            f"{where}: {value[:40]!r} is not a valid id (1-128 ASCII letters, digits, '.', "
            "'_' or '-', not starting with '.')"
        )
    return value


def iso_date(value: object, where: str) -> date | None:
    """An ISO 8601 date (`2024-09-20`, or a full timestamp whose day is taken); anything else
    is refused rather than guessed (`12/11/2024` is 11 December or 12 November)."""
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise ParseError(f"{where}: must be an ISO date string (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        pass
    try:
        return datetime.fromisoformat(value.replace("z", "Z")).date()
    except ValueError:
        raise ParseError(f"{where}: {value[:40]!r} is not an ISO date (use YYYY-MM-DD)") from None


_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\u00ad"), None)


def text_problem(value: str) -> str | None:
    """Why a text cannot be stored as article text, or None: lone surrogates (not UTF-8),
    NUL bytes, or nothing but invisible characters."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        return f"not valid Unicode text (character {exc.start} is a lone surrogate)"
    if "\x00" in value:
        return "contains a NUL character"
    if not value.translate(_INVISIBLE).strip():
        return "contains only invisible characters"
    return None


def article_from_fields(
    fields: dict[str, Any], where: str, limits: Limits, article_id: str | None = None
) -> Article:
    """Build an article from {title, text, published?, url?, source?, id?}; ParseError names
    the field that is wrong."""

    def text_field(name: str, required: bool = False, max_len: int = 2000) -> str | None:
        value = fields.get(name)
        if value is None or (isinstance(value, str) and not value.strip()):
            if required:
                raise ParseError(f"{where}.{name}: required and must not be empty")
            return None
        if not isinstance(value, str):
            raise ParseError(f"{where}.{name}: must be a string")
        if len(value) > max_len:
            raise ParseError(f"{where}.{name}: longer than {max_len} characters")
        problem = text_problem(value)
        if problem:
            raise ParseError(f"{where}.{name}: {problem}")
        return value.strip()

    title = text_field("title", required=True, max_len=1000)
    body = text_field("text", required=True, max_len=limits.max_article_chars)
    assert title and body
    published = iso_date(fields.get("published"), f"{where}.published")
    given = article_id or text_field("id", max_len=10_000)
    if given is not None:
        check_id(given, f"{where}.id")
    url = text_field("url")
    if url:
        check_url(url, f"{where}.url")
    source = text_field("source", max_len=200) or outlet_of(url)
    return Article(
        id=given or content_id(title, body),
        title=title,
        body=body,
        published=published,
        url=url,
        source=source,
        author=text_field("author", max_len=300),
    )


def http_url_parts(url: str) -> SplitResult:
    """`url` split, if it is an http(s) URL with a host and a valid port; ValueError says
    what is wrong with it (the standard library's own ValueError — "http://[oops", port
    99999 — included)."""
    try:
        parts = urlsplit(url.strip())
        parts.port  # noqa: B018 - raises on a port that is not a number in range
    except ValueError as exc:
        raise ValueError(f"not a valid URL ({exc})") from exc
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"only http and https URLs are accepted, not {url[:80]!r}")
    if not parts.hostname:
        raise ValueError(f"no host in {url[:80]!r}")
    return parts


def check_url(url: str, where: str) -> None:
    """An article's link must be an http(s) URL with a host (its host names the outlet)."""
    try:
        http_url_parts(url)
    except ValueError as exc:
        raise ParseError(f"{where}: {exc}") from exc


def outlet_of(url: str | None) -> str | None:
    """An article's outlet when nobody named it: its URL's host, without `www.`."""
    try:
        host = urlsplit(url).hostname if url else None
    except ValueError:  # a page or feed link the standard library cannot split
        return None
    return host.removeprefix("www.") if host else None


def html_article(
    raw: str, where: str, limits: Limits, url: str | None = None, source: str | None = None
) -> Article:
    """Main text of an HTML page (boilerplate dropped) with its title, date, author and
    outlet (`source` when the caller knows it, e.g. a feed's; else the page's site name or
    its URL's host)."""
    import trafilatura

    doc = trafilatura.bare_extraction(
        raw,
        url=url,
        with_metadata=True,
        include_comments=False,
        # Dates from the page's metadata and markup only: the extensive search would read a
        # "(c) 2024" footer as the publication date.
        date_extraction_params={
            "original_date": True,
            "extensive_search": False,
            "max_date": date.today().isoformat(),
        },
    )
    data = (doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)) if doc is not None else {}
    text = (data.get("text") or "").strip()
    if len(text) < limits.min_html_chars:
        raise ParseError(
            f"{where}: no article in the page: {len(text)} characters of main text after "
            f"removing navigation and boilerplate (at least {limits.min_html_chars} are needed)"
        )
    return article_from_fields(
        {
            "title": data.get("title") or text.split("\n", 1)[0][:200],
            "text": text,
            "published": data.get("date"),
            "url": url
            or (data.get("url") if str(data.get("url") or "").startswith("http") else None),
            "source": (source or data.get("sitename") or outlet_of(url) or "")[:200] or None,
            "author": (data.get("author") or "")[:300] or None,
        },
        where,
        limits,
    )


def articles_from_upload(name: str, data: bytes, limits: Limits) -> list[Article]:
    """Parse one uploaded file by its extension; raises ParseError with a clear reason."""
    lower = name.lower()
    suffix = lower[lower.rfind(".") :] if "." in lower else ""
    if suffix not in UPLOAD_SUFFIXES:
        raise ParseError(
            f"{name}: unsupported file type {suffix or '(none)'}; "
            f"use one of {', '.join(UPLOAD_SUFFIXES)}"
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"{name}: not UTF-8 text (byte {exc.start})") from exc
    if "\x00" in text:
        raise ParseError(f"{name}: binary content")
    if suffix in (".html", ".htm"):
        return [html_article(text, name, limits)]
    if suffix == ".jsonl":
        out = []
        for n, line in enumerate(text.splitlines(), start=1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                raise ParseError(f"{name} line {n}: invalid JSON ({exc.msg})") from exc
            if not isinstance(obj, dict):
                raise ParseError(f"{name} line {n}: expected a JSON object")
            out.append(article_from_fields(obj, f"{name} line {n}", limits))
        return out
    if len(text) > limits.max_article_chars:
        raise ParseError(f"{name}: longer than {limits.max_article_chars} characters")
    art = parse_text(text, markdown=suffix == ".md")
    return [art]


def load_articles(path: Path, limits: Limits | None = None) -> list[Article]:
    """The articles of one file, whatever its supported type (the CLI takes what the API
    takes); raises ParseError with a clear reason."""
    if path.suffix.lower() in (".txt", ".md"):
        return [load_file(path)]
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}") from exc
    return articles_from_upload(path.name, data, limits or Limits())

"""Articles from uploaded content: JSON objects, `.jsonl` lines, HTML pages (main text only)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from index.parse import (
    SUPPORTED_SUFFIXES,
    ParseError,
    content_id,
    load_file,
    parse_date,
    parse_text,
)
from retrieval.types import Article

UPLOAD_SUFFIXES = SUPPORTED_SUFFIXES


@dataclass(frozen=True)
class Limits:
    max_article_chars: int = 200_000


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
    published: date | None = None
    raw_date = fields.get("published")
    if raw_date not in (None, ""):
        if not isinstance(raw_date, str):
            raise ParseError(f"{where}.published: must be an ISO date string")
        try:
            published = date.fromisoformat(raw_date[:10])
        except ValueError:
            published = parse_date(raw_date)
            if published is None:
                raise ParseError(
                    f"{where}.published: {raw_date!r} is not a date (use YYYY-MM-DD)"
                ) from None
    digest = content_id(title, body)
    given = article_id or text_field("id", max_len=128)
    if given is not None and not all(c.isalnum() or c in "-_." for c in given):
        raise ParseError(f"{where}.id: only letters, digits, '-', '_' and '.' are allowed")
    url = text_field("url")
    if url and not url.lower().startswith(("http://", "https://")):
        raise ParseError(f"{where}.url: must be an http(s) URL")
    return Article(
        id=given or digest,
        content_hash=digest,
        title=title,
        body=body,
        published=published,
        url=url,
        source=text_field("source", max_len=200),
    )


def html_article(raw: str, where: str, limits: Limits) -> Article:
    """Main text of an HTML page (boilerplate dropped) with its title and date."""
    import trafilatura

    doc = trafilatura.bare_extraction(raw, with_metadata=True, include_comments=False)
    if doc is None:
        raise ParseError(f"{where}: no article text found in the HTML")
    data = doc.as_dict() if hasattr(doc, "as_dict") else dict(doc)
    text = (data.get("text") or "").strip()
    if not text:
        raise ParseError(f"{where}: no article text found in the HTML")
    return article_from_fields(
        {
            "title": data.get("title") or text.split("\n", 1)[0][:200],
            "text": text,
            "published": data.get("date"),
            "url": data.get("url") if str(data.get("url") or "").startswith("http") else None,
            "source": data.get("sitename"),
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

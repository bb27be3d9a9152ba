"""Article loaders: the seed `.txt` format, plain `.txt` and `.md` files."""

from __future__ import annotations

import hashlib
import re
import unicodedata
from datetime import date
from pathlib import Path

from dateutil import parser as dateparser

from retrieval.errors import InvalidInputError
from retrieval.types import Article

SUPPORTED_SUFFIXES = (".txt", ".md", ".html", ".htm", ".jsonl")
_IMAGE_RE = re.compile(r"^\S+\.(png|jpe?g|gif|webp|svg|avif)$", re.IGNORECASE)
_MONTHS = (
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
)


class ParseError(InvalidInputError):
    """A file cannot be read as an article (the message says why)."""


def content_id(title: str, body: str) -> str:
    """Stable article id when none is given: a hash of the normalised title and text, so the
    same file ingested again (under any name, with other whitespace) gets the same id."""
    norm = " ".join(unicodedata.normalize("NFC", f"{title}\n{body}").split()).lower()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()[:16]


def parse_date(text: str) -> date | None:
    """A date from a line like `September, Friday 20, 2024` or `2022/06/12`; None if the line
    is not a date. Uses dateutil, but only on lines that look like dates (a month name or
    digits with separators), so an ordinary title never becomes a date."""
    s = text.strip()
    if not s or len(s) > 60:
        return None
    words = [w.lower() for w in re.findall(r"[A-Za-z]+", s)]
    month_words = set(_MONTHS) | {m[:3] for m in _MONTHS} | {"sept"}
    looks_like_date = any(w in month_words for w in words) or re.fullmatch(
        r"\d{4}[-/.]\d{1,2}[-/.]\d{1,2}([ T].*)?|\d{1,2}[-/.]\d{1,2}[-/.]\d{4}", s
    )
    if not looks_like_date:
        return None
    # Anything beyond date words (e.g. a title mentioning a month) disqualifies the line.
    allowed = month_words | {
        "monday",
        "tuesday",
        "wednesday",
        "thursday",
        "friday",
        "saturday",
        "sunday",
        "mon",
        "tue",
        "wed",
        "thu",
        "fri",
        "sat",
        "sun",
        "t",
        "z",
        "utc",
        "gmt",
        "am",
        "pm",
        "of",
        "the",
        "st",
        "nd",
        "rd",
        "th",
        "published",
        "updated",
    }
    if any(w not in allowed for w in words):
        return None
    try:
        return dateparser.parse(s, fuzzy=True).date()
    except (ValueError, OverflowError):
        return None


def parse_text(text: str, path: str | None = None, markdown: bool = False) -> Article:
    """Parse article text. Seed format: a date line, a title line, an optional image file name,
    then the body (blank lines between them are allowed). Otherwise the first non-empty line is
    the title and the rest the body."""
    text = unicodedata.normalize("NFC", text.replace("\r\n", "\n").replace("\r", "\n"))
    lines = text.split("\n")
    idx = 0

    def next_nonempty() -> tuple[int, str] | None:
        nonlocal idx
        while idx < len(lines) and not lines[idx].strip():
            idx += 1
        if idx >= len(lines):
            return None
        line = lines[idx].strip()
        idx += 1
        return idx - 1, line

    first = next_nonempty()
    if first is None:
        raise ParseError("file is empty")
    published = parse_date(first[1])
    title_line = next_nonempty() if published else first
    if title_line is None:
        raise ParseError("no title after the date line")
    title = title_line[1]
    if markdown:
        title = title.lstrip("#").strip()
    image = None
    save = idx
    maybe_image = next_nonempty()
    if maybe_image and _IMAGE_RE.match(maybe_image[1]):
        image = maybe_image[1]
    else:
        idx = save
    body = "\n".join(lines[idx:]).strip()
    if not body:
        # A one-paragraph note: the title is all there is; index it as the body too.
        body = title
    return Article(
        id=content_id(title, body),
        title=title,
        body=body,
        published=published,
        image=image,
        path=path,
    )


def load_file(path: Path) -> Article:
    """Read one article file; raises ParseError for unreadable or non-UTF-8 files."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ParseError(f"cannot read: {exc.strerror or exc}") from exc
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ParseError(f"not UTF-8 text (byte {exc.start}): {exc.reason}") from exc
    if "\x00" in text:
        raise ParseError("binary file (contains NUL bytes)")
    return parse_text(text, path=str(path), markdown=path.suffix.lower() == ".md")


def discover(paths: list[Path]) -> tuple[list[Path], list[tuple[Path, str]]]:
    """Expand files and folders into article files (sorted); report paths that do not exist
    or have an unsupported type."""
    files: list[Path] = []
    problems: list[tuple[Path, str]] = []
    for p in paths:
        if p.is_dir():
            files.extend(
                f
                for f in sorted(p.rglob("*"))
                if f.is_file()
                and f.suffix.lower() in SUPPORTED_SUFFIXES
                and not any(part.startswith(".") for part in f.relative_to(p).parts)
            )
        elif p.is_file():
            if p.suffix.lower() in SUPPORTED_SUFFIXES:
                files.append(p)
            else:
                problems.append(
                    (
                        p,
                        f"unsupported file type {p.suffix or '(none)'}; "
                        f"expected one of {', '.join(SUPPORTED_SUFFIXES)}",
                    )
                )
        else:
            problems.append((p, "no such file or directory"))
    return files, problems

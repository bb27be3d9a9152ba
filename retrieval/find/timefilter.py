"""Time in the question: "last week", "in September 2024", "yesterday" become a publication
window relative to the question's date.

An expression names a period (a day, a week, a month, a year, or "since …"). Nothing
published before a period can report on it, so the window starts at the period's start; reports
follow events (the hearing about January 6, the annual report on last year), so it ends at the
question's date, not the period's. For the short periods people mean literally — a day, a week,
a month — the window also has a `focus`: the period's end plus `GRACE` days, which the search
uses as its recency reference, so coverage from the time ranks above later mentions without
excluding them. Dates inside expressions are read by `dateparser` relative to the question's
date; which period they name comes from the pattern that matched. Only expressions that say
when count (a preposition or a relative word: "the 2020 election" names an event, "compared to
a year ago" a baseline, "600 years ago" history), and a month without a year that is still to
come ("flights cut during November", asked in August) is the future, not a filter.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, timedelta

GRACE = timedelta(days=7)

_MONTH = (
    r"(?:jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?)"
)
_YEAR = r"(?:19|20)\d{2}"
_NUM = r"(\d{1,3}|a|an|one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve)"
# A vague count reads as the most it usually means ("the past few days": up to about five), so
# that the window does not leave out what the asker had in mind; only for "the past …".
_SOME = _NUM[:-1] + r"|few|several|couple(?:\s+of)?)"
_WORD_NUMBERS = {
    "a": 1,
    "an": 1,
    "one": 1,
    "two": 2,
    "three": 3,
    "four": 4,
    "five": 5,
    "six": 6,
    "seven": 7,
    "eight": 8,
    "nine": 9,
    "ten": 10,
    "eleven": 11,
    "twelve": 12,
    "few": 5,
    "several": 7,
    "couple": 2,
}
_DAY_DATE = (
    rf"(?:{_MONTH}\.?\s+\d{{1,2}}(?:st|nd|rd|th)?(?:,?\s+{_YEAR})?|"
    rf"\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH}\.?(?:,?\s+{_YEAR})?|"
    rf"{_YEAR}-\d{{2}}-\d{{2}})"
)


@dataclass(frozen=True)
class TimeWindow:
    """An inclusive publication-date window, the date coverage is expected near (if the
    period is short), and the words of the question it came from."""

    published_from: date
    published_to: date
    expression: str
    focus: date | None = None


def _parse(text: str, as_of: date) -> date | None:
    import dateparser

    settings = {
        "RELATIVE_BASE": datetime(as_of.year, as_of.month, as_of.day),
        "PREFER_DATES_FROM": "past",
        "PREFER_DAY_OF_MONTH": "first",
        "DATE_ORDER": "DMY",
    }
    parsed = dateparser.parse(text, languages=["en"], settings=settings)
    return parsed.date() if parsed else None


def _month_end(d: date) -> date:
    return d.replace(day=calendar.monthrange(d.year, d.month)[1])


def _months_back(d: date, n: int) -> date:
    y, m = divmod(d.year * 12 + d.month - 1 - n, 12)
    return date(y, m + 1, 1)


def _count(word: str) -> int:
    w = word.lower().split()[0]
    return int(w) if w.isdigit() else _WORD_NUMBERS[w]


# (start, end, whether the end bounds the window: False leaves it open to the question's date)
Period = tuple[date, date, bool]
Rule = tuple[re.Pattern[str], Callable[[re.Match[str], date], Period | None]]


def _r(pattern: str) -> re.Pattern[str]:
    return re.compile(rf"\b(?:{pattern})\b", re.IGNORECASE)


def _since(m: re.Match[str], as_of: date) -> Period | None:
    text = m.group(1)
    start = date(int(text), 1, 1) if text.isdigit() else _parse(text, as_of)
    return (start, as_of, False) if start else None


def _on_day(m: re.Match[str], as_of: date) -> Period | None:
    d = _parse(m.group(1), as_of)
    return (d, d, True) if d else None


def _in_month(m: re.Match[str], as_of: date) -> Period | None:
    text = m.group(1)
    if text.startswith("may"):  # "in may" is a modal verb more often than a month
        return None
    d = _parse(text, as_of)
    if d is None:
        return None
    start = d.replace(day=1)
    if not re.search(_YEAR, text):
        # dateparser moves a bare month into the past; a month still to come this year is
        # the future ("flights cut during November", asked in August): no window.
        start = start.replace(year=as_of.year)
        if start > as_of:
            return None
    return start, _month_end(start), True


def _in_year(m: re.Match[str], as_of: date) -> Period:
    y = int(m.group(1))
    return date(y, 1, 1), date(y, 12, 31), False


def _ago(m: re.Match[str], as_of: date) -> Period:
    n, unit = _count(m.group(1)), m.group(2).lower()
    if unit.startswith("day"):
        d = as_of - timedelta(days=n)
        return d, d, True
    d = as_of - timedelta(weeks=n)
    return d - timedelta(days=d.weekday()), d + timedelta(days=6 - d.weekday()), True


def _past(m: re.Match[str], as_of: date) -> Period:
    n, unit = _count(m.group(1)), m.group(2).lower()
    days = {"day": 1, "week": 7, "month": 30, "year": 365}[unit.rstrip("s")]
    return as_of - timedelta(days=n * days), as_of, False


def _fixed(fn: Callable[[date], Period]) -> Callable[[re.Match[str], date], Period]:
    return lambda m, as_of: fn(as_of)


def _last_week(d: date) -> Period:
    monday = d - timedelta(days=d.weekday() + 7)
    return monday, monday + timedelta(days=6), True


def _last_month(d: date) -> Period:
    start = _months_back(d, 1)
    return start, _month_end(start), True


def _weekend(d: date) -> Period:
    """The latest Saturday and Sunday on or before the day ("over the weekend")."""
    saturday = d - timedelta(days=(d.weekday() - 5) % 7)
    return saturday, saturday + timedelta(days=1), True


def _this_weekend(d: date) -> Period:
    """The weekend of the day's week: still to come from Monday to Friday."""
    saturday = d + timedelta(days=5 - d.weekday())
    return saturday, saturday + timedelta(days=1), True


def _last_weekend(d: date) -> Period:
    """The weekend before this one: on a weekend day, the one a week earlier."""
    saturday, sunday, _ = _weekend(d - timedelta(days=2) if d.weekday() >= 5 else d)
    return saturday, sunday, True


# The first rule that matches wins, so longer expressions come before those they contain.
_RULES: list[Rule] = [
    (_r(rf"since\s+({_DAY_DATE}|{_MONTH}\.?(?:\s+{_YEAR})?|{_YEAR})"), _since),
    (
        _r(rf"(?:in|over|during)\s+the\s+(?:past|last)\s+{_SOME}\s+(days?|weeks?|months?|years?)"),
        _past,
    ),
    (_r(rf"(?:past|last)\s+{_SOME}\s+(days?|weeks?|months?|years?)"), _past),
    (_r(rf"{_NUM}\s+(days?|weeks?)\s+ago"), _ago),
    (_r(rf"on\s+(?:\w+day,?\s+)?({_DAY_DATE})"), _on_day),
    (_r(rf"(?:in|during)\s+({_MONTH}\.?(?:,?\s+{_YEAR})?)"), _in_month),
    (_r(rf"(?:in|during)\s+({_YEAR})"), _in_year),
    (_r(r"today|tonight|this\s+(?:morning|afternoon|evening)"), _fixed(lambda d: (d, d, True))),
    (_r(r"yesterday|last\s+night"), _fixed(lambda d: (d - timedelta(days=1), d, True))),
    (
        _r(r"this\s+week|(?:in\s+)?the\s+(?:past|last)\s+week"),
        _fixed(lambda d: (d - timedelta(days=6), d, False)),
    ),
    (_r(r"last\s+week|previous\s+week"), _fixed(_last_week)),
    (_r(r"this\s+past\s+weekend"), _fixed(_weekend)),
    (_r(r"(?:last|previous|past)\s+weekend"), _fixed(_last_weekend)),
    (_r(r"this\s+weekend"), _fixed(_this_weekend)),
    (_r(r"(?:over|during|at|on)\s+the\s+weekend"), _fixed(_weekend)),
    (
        _r(r"this\s+month|(?:in\s+)?the\s+(?:past|last)\s+month"),
        _fixed(lambda d: (d.replace(day=1), d, False)),
    ),
    (_r(r"last\s+month|previous\s+month"), _fixed(_last_month)),
    (_r(r"this\s+year|so\s+far\s+this\s+year"), _fixed(lambda d: (date(d.year, 1, 1), d, False))),
    (_r(r"last\s+year|previous\s+year"), _fixed(lambda d: (date(d.year - 1, 1, 1), d, False))),
]


def _in_a_name(m: re.Match[str]) -> bool:
    """A capitalised time word after a capitalised word is part of a name: "USA Today",
    "NBC's Today"."""
    before = m.string[: m.start()].split()
    return m.group(0)[:1].isupper() and bool(before) and before[-1][:1].isupper()


def time_window(question: str, as_of: date) -> TimeWindow | None:
    """The publication window a question's own time expression sets, or None."""
    for pattern, period in _RULES:
        m = next((m for m in pattern.finditer(question) if not _in_a_name(m)), None)
        if m is None:
            continue
        found = period(m, as_of)
        if found is None:
            continue
        start, end, bounded = found
        if start > as_of:  # a period after the question's date: nothing can report on it
            continue
        focus = min(end + GRACE, as_of) if bounded else None
        return TimeWindow(start, as_of, m.group(0), focus)
    return None


def without_time(question: str) -> str:
    """The question without its time expressions: "over the weekend" says when, not what an
    article on the subject is about."""
    for pattern, _ in _RULES:
        question = pattern.sub(lambda m: m[0] if _in_a_name(m) else " ", question)
    return question

"""A country, its people's adjective and its seat of government name one actor in news text.

"What has Moscow asked both sides to do?" is answered by "Russia has called on both
countries to exercise restraint"; "the French president" is France's; "Baku" is Azerbaijan's
government. The answer checks compare a question's words with the answer's passage by word
stems (their first five letters), which join "Russia" and "Russian" but not "Moscow" and
"Russia", "French" and "France", "Chinese" and "China". Each group below is one such actor;
a passage naming any of its words counts as naming all of them.

Only single words, and only those with no common second sense in English news ("Georgia",
"Jordan", "Turkey", "Washington", "Polish" are left out; "US" is "us" once lower-cased).
"""

from __future__ import annotations

_GROUPS = [
    "russia russian russians moscow kremlin",
    "america american americans",
    "britain british uk london",
    "china chinese beijing",
    "ukraine ukrainian ukrainians kyiv kiev",
    "france french paris elysee",
    "germany german germans berlin",
    "iran iranian iranians tehran",
    "turkish ankara",
    "israel israeli israelis",
    "japan japanese tokyo",
    "india indian indians delhi",
    "azerbaijan azerbaijani baku",
    "armenia armenian armenians yerevan",
    "syria syrian damascus",
    "iraq iraqi baghdad",
    "egypt egyptian cairo",
    "saudi riyadh",
    "italy italian rome",
    "spain spanish madrid",
    "poland warsaw",
    "belarus belarusian minsk",
    "taiwan taiwanese taipei",
    "canada canadian ottawa",
    "australia australian canberra",
    "mexico mexican",
    "brazil brazilian brasilia",
    "netherlands dutch amsterdam",
    "sweden swedish stockholm",
    "finland finnish helsinki",
    "norway norwegian oslo",
    "greece greek athens",
    "pakistan pakistani islamabad",
    "afghanistan afghan kabul",
    "venezuela venezuelan caracas",
    "cuba cuban havana",
    "ireland irish dublin",
    "scotland scottish edinburgh",
    "wales welsh cardiff",
    "switzerland swiss bern",
    "vatican pope",
]

STEM_LETTERS = 5  # `retrieval.verify` matches words on their first five letters


def _stem(word: str) -> str:
    return word[:STEM_LETTERS]


_ALIASES: dict[str, frozenset[str]] = {}
for _group in _GROUPS:
    _stems = frozenset(_stem(w) for w in _group.split())
    for _s in _stems:
        _ALIASES[_s] = _ALIASES.get(_s, frozenset()) | _stems


def with_aliases(stems: set[str]) -> set[str]:
    """The word stems of a passage, with every stem that names the same actor as one of
    them ("russi" brings "mosco" and "kreml")."""
    out = set(stems)
    for s in stems:
        out |= _ALIASES.get(s, frozenset())
    return out


def is_country(stem: str) -> bool:
    """Whether a word stem names a country, its people or its capital: the names news
    mentions in passing (an article about Armenia names France as an arms supplier)."""
    return stem in _ALIASES

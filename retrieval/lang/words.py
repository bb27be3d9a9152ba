"""Words as the checks compare them: content words with numbers normalised, five-letter
stems — shared by the citation check (retrieval.check.verify), the question's
constraints (retrieval.check.constraints) and the confidence signals."""

from __future__ import annotations

import re

from retrieval.lang.text import NUMBER_WORDS

STOP_WORDS = frozenset(
    (
        "a an the of to in on at for by with and or but is are was were be been being it its "
        "this that these those as from has have had not no do does did will would can could "
        "may might about into over after before than then so such their there they them he "
        "she his her we our you your i"
    ).split()
)

# The prepositions STOP_WORDS leaves in (a closed class of English): they say where or when,
# never what, so what a question takes as given is never one of them.
PREPOSITIONS = frozenset(
    (
        "during since until till within without across among amongst against toward towards "
        "through throughout despite amid amidst via per upon onto unto beyond beneath beside "
        "besides between behind below above around along near off out under underneath up "
        "down like unlike except inside outside"
    ).split()
)

_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}


# "re-election" and "reelection" are one word, written either way.
_PREFIXED = re.compile(r"\b(re|co|pre|non|anti|post)-(?=[a-z])")


def content_words(text: str) -> list[str]:
    """Lower-cased words without stop words; numbers written in words become digits
    ("four" = "4", "two hundred" = "200", "1.5 million" = "1500000"); a hyphenated prefix
    joins its word ("re-election" = "reelection")."""
    words = re.findall(r"[a-z0-9]+(?:[.,][0-9]+)*", _PREFIXED.sub(r"\1", text.lower()))
    out: list[str] = []
    for w in words:
        if w in STOP_WORDS:
            continue
        w = NUMBER_WORDS.get(w, w)
        if w in _SCALES and out and is_number(out[-1]):
            value = float(out.pop().replace(",", "")) * _SCALES[w]
            w = str(int(value)) if value.is_integer() else str(value)
        elif w in _SCALES and (not out or out[-1] != w):
            w = str(_SCALES[w]) if w != "hundred" else w
        out.append(w.replace(",", "") if is_number(w) else w)
    return out


def is_number(word: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+(?:[.,][0-9]+)*", word))


def stems(words: list[str]) -> set[str]:
    return {stem(w) for w in words}


def stem(word: str) -> str:
    return word if is_number(word) else word[:5]


WORD_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*")


def capitalised_words(text: str) -> list[str]:
    """Capitalised words after the first, lower-cased (names, mostly)."""
    return [
        low
        for i, tok in enumerate(WORD_TOKEN.findall(text))
        if i > 0
        and tok[0].isupper()
        and (low := tok.lower()) not in STOP_WORDS
        and low not in NUMBER_WORDS
    ]

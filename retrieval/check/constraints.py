"""What a question asks of the answer's place in its source: the answer's sentences and
windows, the question's numbers, names and negation met there (or not), the question's words
around the answer — for the citation check and the confidence signals."""

from __future__ import annotations

import re
from collections.abc import Iterator

from retrieval.lang.text import NUMBER_WORDS, asking_sentence, sentences
from retrieval.lang.words import (
    WORD_TOKEN,
    capitalised_words,
    content_words,
    is_number,
    stem,
    stems,
)

QUESTION_WORDS = frozenset("how many much what which who whom whose when where why".split())


def _answer_at(short: str, source: str) -> tuple[list[str], list[set[str]], list[int]]:
    """The source's sentences, their word stems, and the indexes of those the answer is in."""
    answer = stems(content_words(short))
    raw = sentences(source)
    sents = [stems(content_words(s)) for s in raw]
    at = [i for i, w in enumerate(sents) if answer <= w or (answer & w and len(answer) > 2)]
    return raw, sents, at


def _answer_places(short: str, source: str) -> Iterator[tuple[list[str], list[set[str]]]]:
    """Each place the answer occurs: its sentence and the ones either side, as text and as
    word stems."""
    raw, sents, at = _answer_at(short, source)
    for i in at:
        yield raw[max(0, i - 1) : i + 2], sents[max(0, i - 1) : i + 2]


def answer_sentences(short: str, source: str) -> list[tuple[str, str]]:
    """Each sentence of the source the answer occurs in, with its passage (it and the
    sentence either side); none for an answer of stop words."""
    if not content_words(short):
        return []
    raw, _, at = _answer_at(short, source)
    return [(raw[i], " ".join(raw[max(0, i - 1) : i + 2])) for i in at]


def _answer_windows(short: str, source: str) -> Iterator[set[str]]:
    """The words around each place the answer occurs, without the answer's own words."""
    answer = stems(content_words(short))
    for _, around in _answer_places(short, source):
        yield set().union(*around) - answer


_NEGATION = re.compile(r"\b(?:not|never|no|none|neither|nor|without|fail(?:ed|s)?)\b|n't\b")
_SMALL_NUMBER = re.compile(rf"\b(?:{'|'.join(NUMBER_WORDS)})\b")

# Words whose opposite turns an answerable question into one the source does not answer
# ("What is Europe's smallest inland port?" beside "Duisport, the largest inland port"):
# a fifth of SQuAD 2.0's unanswerable questions are made this way. Only pairs whose words
# are rarely used in another sense ("light", "close", "back" are not here).
_OPPOSITES = [
    ("largest", "smallest"), ("biggest", "smallest"), ("larger", "smaller"),
    ("bigger", "smaller"), ("most", "least"), ("more", "less"), ("more", "fewer"),
    ("highest", "lowest"), ("higher", "lower"), ("longest", "shortest"),
    ("longer", "shorter"), ("oldest", "youngest"), ("oldest", "newest"),
    ("older", "younger"), ("best", "worst"), ("better", "worse"),
    ("strongest", "weakest"), ("fastest", "slowest"), ("earliest", "latest"),
    ("first", "last"), ("before", "after"), ("maximum", "minimum"),
    ("majority", "minority"), ("increase", "decrease"), ("increased", "decreased"),
    ("increases", "decreases"), ("rise", "fall"), ("rose", "fell"), ("won", "lost"),
    ("win", "lose"), ("gained", "lost"), ("import", "export"), ("imports", "exports"),
    ("imported", "exported"), ("buy", "sell"), ("bought", "sold"), ("allowed", "banned"),
    ("allow", "ban"), ("accepted", "rejected"), ("accept", "reject"),
    ("supported", "opposed"), ("support", "oppose"), ("success", "failure"),
    ("successful", "unsuccessful"), ("legal", "illegal"), ("internal", "external"),
    ("inner", "outer"), ("upper", "lower"), ("north", "south"), ("east", "west"),
    ("northern", "southern"), ("eastern", "western"), ("above", "below"),
    ("inside", "outside"),
]  # fmt: skip
_OPPOSITE: dict[str, set[str]] = {}
for _a, _b in _OPPOSITES:
    _OPPOSITE.setdefault(_a, set()).add(_b)
    _OPPOSITE.setdefault(_b, set()).add(_a)


def _reversed(asking: str, places: list[str]) -> bool:
    """Whether the question asks with a word that every place the answer occurs lacks while
    it has the word's opposite."""
    asked = set(WORD_TOKEN.findall(asking.lower()))
    for word in asked & _OPPOSITE.keys():
        opposite = _OPPOSITE[word] - asked
        if opposite and all(
            word not in (words := set(WORD_TOKEN.findall(p.lower()))) and words & opposite
            for p in places
        ):
            return True
    return False


def unmet_constraints(short: str, source: str, question: str) -> tuple[bool, bool, bool] | None:
    """Whether every place the answer occurs lacks a number the question names ("As of 1970,
    how many private schools…?" beside "As of April 2014, there are 88 private schools");
    whether the question is negated where no sentence the answer is in is ("Who was not the
    ideologue…?" beside "Ali Shariati, ideologue of the Revolution") or asks with the
    opposite of what every such place says ("smallest" beside "largest"); and whether every
    such place lacks a name the question gives ("When was Darwin's theory published?" beside
    "Lyell published his book in 1830"): the one-word edits that turn an answerable question
    into an on-topic one the source does not answer. None when the answer does not occur in
    the source. Only the asking sentence counts: news quizzes set the scene first ("Kim
    Kardashian was accused of damaging a Marilyn Monroe dress. Who designed it?" is answered by
    "It was based on a sketch by Bob Mackie"). Number words ("which one") are not numbers it
    names."""
    asking = asking_sentence(question)
    asked = {w for w in content_words(_SMALL_NUMBER.sub(" ", asking.lower())) if is_number(w)}
    names = stems([n for n in capitalised_words(asking) if n not in QUESTION_WORDS])
    names -= stems(content_words(short))
    negated = bool(_NEGATION.search(asking.lower()))
    raw, sents, at = _answer_at(short, source)
    if not at:
        return None
    # Each place: the answer's sentence and the one either side, as text and as word stems.
    texts = [" ".join(raw[max(0, i - 1) : i + 2]) for i in at]
    words = [set().union(*sents[max(0, i - 1) : i + 2]) for i in at]
    number = all(asked - w for w in words)
    # The answer's own sentence must carry the negation: a neighbour's "not" is about
    # something else.
    negation = negated and not any(_NEGATION.search(raw[i].lower()) for i in at)
    negation = negation or _reversed(asking, texts)
    name = all(names - w for w in words)
    return number, negation, name


def _asked(question: str, short: str, skip: frozenset[str] = frozenset()) -> set[str]:
    words = content_words(question)
    return {stem(w) for w in words if len(w) > 2 and w not in skip} - stems(content_words(short))


def answer_in_context(short: str, source: str, question: str) -> bool:
    """Whether the answer occurs near the question's own words (a town named in a sentence
    about a bridge does not answer a question about a pelican sanctuary)."""
    asked = _asked(question, short)
    if not content_words(short) or not asked:
        return True
    return any(asked & window for window in _answer_windows(short, source))


def answer_coverage(short: str, source: str, question: str) -> float:
    """How much of the question the answer's own neighbourhood covers (0..1). An on-topic
    question the source does not answer usually differs from it in a word or two ("When did
    OPEC begin?" beside "OPEC was founded in 1960 as…" covers it; "the defence minister"
    beside "the prime minister" does not): the one signal retrieval similarity lacks."""
    asked = _asked(question, short, QUESTION_WORDS)
    if not content_words(short):
        return 0.0
    if not asked:
        return 1.0
    return max(
        (len(asked & window) / len(asked) for window in _answer_windows(short, source)),
        default=0.0,
    )

"""Whether a source's statement says the opposite of what a question asks: one of the two
negated (in its own clause only), or the change it states going the other way, or the
question's superlative ranked below the first — what turns a reader's "Yes" into a source's
"No" (`kind_check`), measured on the everyday set and on SQuAD 2.0 (docs/EVALUATION.md)."""

from __future__ import annotations

import re

from retrieval.lang.words import content_words, stems

# A statement negated in so many words: what a sentence the reader did not quote must say to
# answer "No". A contrast ("instead", "only", "rather than") answers only when quoted.
_DENIALS = r"not|never|no|none|neither|nor|without|left out|denied|denies|rejected|declined|refused"
DENIED = re.compile(rf"\b(?:{_DENIALS})\b|n['’]t\b", re.IGNORECASE)
NEGATED = re.compile(rf"\b(?:{_DENIALS}|instead|rather than|only)\b|n['’]t\b", re.IGNORECASE)
# Where a sentence turns to another clause: a contrast, a dash, a semicolon.
CLAUSES = re.compile(
    r"\s+[–—-]\s+|;\s+|,\s+(?=(?:but|while|whereas|although|though|yet)\b)", re.IGNORECASE
)


def fit(question: str, text: str) -> tuple[int, float]:
    """How closely a sentence matches a question: the words they share, then their share of
    the sentence's words (of equals, the sentence that says less besides)."""
    asked, words = stems(content_words(question)), stems(content_words(text))
    return len(asked & words), len(asked & words) / max(1, len(words))


def closest_clause(question: str, sentence: str, clauses: re.Pattern[str] = CLAUSES) -> str:
    """The clause of a sentence that matches the question best: a negation reaches as far
    as its clause ("… reached a $5 average – but it's not the highest record when inflation
    is counted" does not deny the $5)."""
    return max(clauses.split(sentence), key=lambda clause: fit(question, clause))


_SCOPE = 5  # content words a negation reaches (NegEx's window is five words)


def negates(question: str, text: str, negation: re.Pattern[str] = NEGATED) -> bool:
    """The text negates something the question asks: a negation followed, within a few
    words, by one of the question's words. A negation reaches forward and not far, as
    clinical text mining's NegEx takes it: in "traditionally conservative Kansas … denied its
    leaders the chance" the denial is not of Kansas being conservative, nor in "rejected a
    ballot measure that would have allowed lawmakers to ban abortion in the state" of the
    state."""
    asked = stems(content_words(question))
    return any(
        asked & stems(content_words(text[m.end() :])[:_SCOPE]) for m in negation.finditer(text)
    )


def turned(question: str, text: str, negation: re.Pattern[str] = NEGATED) -> bool:
    """A statement's polarity is the opposite of the question's: one of them is negated, or
    it states the opposite change or rank ("Is the drought easing?" — "a worsening
    drought", "the third hottest day" for the hottest), but not both."""
    negated = negates(question, text, negation) != bool(negation.search(question))
    return negated != opposed(question, text)


# Directions of change: a statement that moves the other way from the question's word answers
# it "No" ("more … in 2021 than in 2020?" — "an 80 % decrease compared to 2020").
DIRECTIONS = (
    re.compile(
        r"\b(?:ris(?:e|es|ing|en)|rose|increas(?:e|es|ed|ing)|gr(?:ow|ows|owing|own|ew)|"
        r"higher|more|climb(?:s|ed|ing)?|soar(?:s|ed|ing)?|jump(?:s|ed|ing)?|"
        r"surg(?:e|es|ed|ing)|worsen(?:s|ed|ing)?|expand(?:s|ed|ing)?)\b",
        re.IGNORECASE,
    ),
    re.compile(
        r"\b(?:fall(?:s|en|ing)?|fell|decreas(?:e|es|ed|ing)|declin(?:e|es|ed|ing)|"
        r"drop(?:s|ped|ping)?|lower|less|fewer|down|shr(?:ink|inks|inking|ank|unk)|"
        r"plung(?:e|es|ed|ing)|eas(?:e|es|ed|ing)|reduc(?:e|es|ed|ing|tion)|cut(?:s|ting)?)\b",
        re.IGNORECASE,
    ),
)
# A bound on a quantity ("less than $125,000 a year") is no change.
_BOUND = re.compile(r"\b(?:more|less|fewer)\s+than\s+(?=[$£€\d])", re.IGNORECASE)
# A superlative ("hottest", "most expensive"), not a noun or verb that ends as one does; a
# rank below the first ("the third hottest day") is not the first the question asks about.
_SUPERLATIVE = re.compile(
    r"\b(?:best|worst|(?:most|least)\s+\w+|(?!(?:inter|for|requ|prot|cont|arr|gu|ch|qu|harv|"
    r"sugg|dig|inv|manif|hon|mod|earn|att|conqu|inqu|bequ|pri|behe|tempe)est\b)\w{2,}est)\b",
    re.IGNORECASE,
)
_ORDINAL = r"(?:second|third|fourth|fifth|sixth|seventh|eighth|ninth|tenth|\d+(?:st|nd|rd|th))"


def _moves(way: re.Pattern[str], other: re.Pattern[str], text: str) -> bool:
    """The text states a change one way and not the other."""
    return bool(way.search(text)) and not other.search(text)


def opposed(question: str, text: str) -> bool:
    """The statement moves the other way from the question, or ranks what the question calls
    the most (a superlative) below the first."""
    question, text = _BOUND.sub(" ", question), _BOUND.sub(" ", text)
    up, down = DIRECTIONS
    for one, other in ((up, down), (down, up)):
        if _moves(one, other, question) and _moves(other, one, text):
            return True
    for sup in _SUPERLATIVE.findall(question):
        if not _ranked(sup, question) and _ranked(sup, text):
            return True
    return False


def _ranked(superlative: str, text: str) -> bool:
    """The text ranks the superlative below the first wherever it says it ("the second
    busiest container port", and not "the busiest commercial port" besides)."""
    ranks = [
        bool(re.search(rf"\b{_ORDINAL}[\s-]+$", text[: m.start()], re.IGNORECASE))
        for m in re.finditer(rf"\b{re.escape(superlative)}\b", text, re.IGNORECASE)
    ]
    return bool(ranks) and all(ranks)

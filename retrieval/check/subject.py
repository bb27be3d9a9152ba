"""Whether texts are about what a question asks: the names it gives (each one, or one word
of each), and enough of its other words, as themselves, their synonyms or a word of the same
direction of change. Every kind of answer's check uses it (retrieval.check.kind_check), and so
do the choice of an open answer's articles and sentences (retrieval.answer.extract,
retrieval.answer.articles) and the answers about an article itself (retrieval.answer.about)."""

from __future__ import annotations

import re

from retrieval.check.polarity import DIRECTIONS
from retrieval.find.timefilter import without_time
from retrieval.lang.synonyms import synonyms
from retrieval.lang.words import (
    STOP_WORDS,
    WORD_TOKEN,
    capitalised_words,
    content_words,
    stem,
    stems,
)

# Words that frame a question rather than name its subject ("what happened", "tell me about",
# "the latest news"): left out when checking that an answer's sources are about the subject.
_FRAME_WORDS = frozenset(
    (
        "how many much what which who whom whose when where why happen happened happening "
        "happens going latest news new tell me explain describe summarize summarise summary "
        "give brief update recap know main key biggest major point points story article "
        "report reported week month year today yesterday past last recent recently now "
        "currently any anything else there true yes is it its s t also just really get gets "
        "got getting more less most make made take took go goes went come came still"
    ).split()
)

_CALENDAR = frozenset(
    (
        "january february march april may june july august september october november "
        "december monday tuesday wednesday thursday friday saturday sunday"
    ).split()
)


# Phrases that ask for the news as such ("Catch me up on the strike."): frame, not subject.
_REQUESTS = re.compile(r"\b(?:catch\s+me\s+up|fill\s+me\s+in|walk\s+me\s+through)\b", re.I)


def topic_words(question: str) -> tuple[set[str], set[str]]:
    """The stems of the names (capitalised words after the first; months and weekdays are
    times, not names) and of the other content words a question is about, without the words
    and phrases that frame it."""
    question = _REQUESTS.sub(" ", without_time(question))
    names = stems(capitalised_words(question)) - stems(list(_FRAME_WORDS | _CALENDAR))
    words = {
        w
        for w in content_words(question)
        if w not in _FRAME_WORDS and w not in _CALENDAR and not w.isdigit()
    }
    return names, stems(list(words)) - names


def name_runs(question: str) -> list[set[str]]:
    """The names a question gives, one set of stems per name: runs of capitalised words after
    the first word, a run broken by anything but a space ("Rodolfo Hernandez" is one name,
    "the JetBlue-Spirit deal" two); months, weekdays and frame words are not names."""
    skip = stems(list(_FRAME_WORDS | _CALENDAR))
    runs: list[set[str]] = []
    last_end = -2
    for i, m in enumerate(WORD_TOKEN.finditer(question)):
        tok = m.group()
        low = tok.lower()
        name = i > 0 and tok[0].isupper() and low not in STOP_WORDS and stem(low) not in skip
        if name and runs and question[last_end : m.start()] == " ":
            runs[-1].add(stem(low))
        elif name:
            runs.append({stem(low)})
        last_end = m.end() if name else -2
    return runs


def about_subject(
    question: str,
    texts: list[str],
    share: float = 0.5,
    all_names: bool = True,
    named_in: tuple[str, ...] = (),
) -> bool:
    """Whether texts (an answer's claims and the sources they cite) are about what the
    question asks: every name it gives occurs (with `all_names` False, as for one sentence,
    which names "Hernandez" without "Rodolfo", one word of each name), and at least `share`
    of its other words (a question of names only, or of frame words only, passes on the
    names). A name may also be in `named_in`: the title of a sentence's article names what
    its sentences call "the quake"."""
    names, words = topic_words(question)
    said = " ".join(texts)
    have = stems(content_words(said))
    named = have | stems(content_words(" ".join(named_in)))
    short = _acronyms(question)
    if all_names and not all(_named(n, short, named) for n in names):
        return False
    if not all_names and not all(
        any(_named(n, short, named) for n in run) for run in name_runs(question)
    ):
        return False
    asked = {stem(w): w for w in content_words(question)}
    return (
        not words or sum(_said(asked.get(w, w), w, have, said) for w in words) / len(words) >= share
    )


def _acronyms(question: str) -> dict[str, str]:
    """The question's names written in capitals ("US", "UK", "EU"), by their stems."""
    return {
        stem(w.lower()): w.lower()
        for w in WORD_TOKEN.findall(question)
        if len(w) > 1 and w.isalpha() and w.isupper()
    }


def _named(name: str, acronyms: dict[str, str], have: set[str]) -> bool:
    """A name (its stem) is in a text; an acronym also as the other names WordNet gives it
    ("US" — "America", "UK" — "Britain"). Not a name that is also a word: WordNet's synonyms
    of "Spirit" (the airline) are "feel", "look" and "tone"."""
    if found(name, have):
        return True
    return name in acronyms and any(stem(s) in have for s in synonyms(acronyms[name]) if len(s) > 1)


def _said(word: str, stemmed: str, have: set[str], text: str) -> bool:
    """A question's word is in a text: as itself, as a synonym ("help" — "assistance"), or as
    another word of the same direction of change ("cut its use" — "reduce their use")."""
    return (
        found(stemmed, have)
        or any(stem(s) in have for s in synonyms(word))
        or any(way.fullmatch(word) and way.search(text) for way in DIRECTIONS)
    )


def found(stem: str, have: set[str]) -> bool:
    """A word's stem among others, a short word also as the start of a longer one ("win" in
    "winning", whose five-letter stem is "winni")."""
    if stem in have:
        return True
    return 3 <= len(stem) < 5 and any(h.startswith(stem) for h in have)

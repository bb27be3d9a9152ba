"""Checking citations: is each answer sentence supported by the source it cites?

Support is measured two ways and the larger counts: lexical (the share of the claim's content
words, numbers normalised, found in the source) and semantic (embedder cosine between
"question + claim" and the best-matching source sentence). A claim without a citation is
attributed to its best-supporting source when that support is strong enough.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import numpy as np

from retrieval.places import with_aliases
from retrieval.prompt import _MARKER
from retrieval.roles import outcome_conflict, role_conflict
from retrieval.text import NUMBER_WORDS
from retrieval.types import Citation, Hit

_STOP = frozenset(
    (
        "a an the of to in on at for by with and or but is are was were be been being it its "
        "this that these those as from has have had not no do does did will would can could "
        "may might about into over after before than then so such their there they them he "
        "she his her we our you your i"
    ).split()
)
_SENT = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"“'])")


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
        if w in _STOP:
            continue
        w = NUMBER_WORDS.get(w, w)
        if w in _SCALES and out and _is_number(out[-1]):
            value = float(out.pop().replace(",", "")) * _SCALES[w]
            w = str(int(value)) if value.is_integer() else str(value)
        elif w in _SCALES and (not out or out[-1] != w):
            w = str(_SCALES[w]) if w != "hundred" else w
        out.append(w.replace(",", "") if _is_number(w) else w)
    return out


def _is_number(word: str) -> bool:
    return bool(re.fullmatch(r"[0-9]+(?:[.,][0-9]+)*", word))


_TOKEN = re.compile(r"[A-Za-z0-9]+(?:[.,][0-9]+)*")


def key_terms(claim: str, question: str = "") -> list[str]:
    """Names and numbers a claim asserts (capitalised words after the first; numbers
    normalised as `content_words` does: "100,000", "four", "1.5 million"), leaving out those
    the question itself names."""
    asked = set(content_words(question))
    numbers = [w for w in content_words(claim) if _is_number(w)]
    return [t for t in [*_names(claim), *numbers] if t not in asked]


def _names(text: str) -> list[str]:
    """Capitalised words after the first, lower-cased (names, mostly)."""
    return [
        low
        for i, tok in enumerate(_TOKEN.findall(text))
        if i > 0
        and tok[0].isupper()
        and (low := tok.lower()) not in _STOP
        and low not in NUMBER_WORDS
    ]


def missing_terms(claim: str, source: str, question: str = "") -> list[str]:
    """The claim's names and numbers that its source never mentions (names match on their
    first five letters: "Europe" is in "European regulators")."""
    have = _stems(content_words(source))
    return [t for t in key_terms(claim, question) if _stem(t) not in have]


def _stems(words: list[str]) -> set[str]:
    return {_stem(w) for w in words}


def lexical_support(claim: str, source: str) -> float:
    """Share of the claim's content words in the source; words match on their first five
    letters ("Europe" = "European", "elected" = "election"), numbers exactly."""
    words = content_words(claim)
    if not words:
        return 0.0
    have = _stems(content_words(source))
    return sum(_stem(w) in have for w in words) / len(words)


def short_is_supported(short: str, source: str, question: str = "") -> bool:
    """A short answer is a span of its source: most of its words, and every name or number
    in it, occur there, in a passage that is about the question (the answer's sentence or
    the one before or after it shares a word with the question), and the source does not
    give a named answer another office than the one asked about."""
    if lexical_support(short, source) < 0.5 or missing_terms(f"x {short}", source):
        return False
    if question and role_conflict(short, source, question):
        return False  # "the defence minister" answered with "Prime Minister Pashinyan"
    if question and outcome_conflict(short, source, question):
        return False  # "How many were wounded?" answered with the count of the dead
    return not question or answer_in_context(short, source, question)


_PUBLICATION_WORDS = frozenset("article published publish publication posted dated".split())


def as_shown(hit: Hit, question: str) -> str:
    """The source as the model read it: its title, then its text — and its publication date
    when the question asks about the article's publication (the date in words too, as
    answers write it). The date is about the article, not the events in it: it must not
    lend support to "the talks began on September 20" when the text never says so."""
    head = hit.title.strip().rstrip(".")
    asks_date = not _PUBLICATION_WORDS.isdisjoint(re.findall(r"[a-z]+", question.lower()))
    if hit.published is not None and asks_date:
        d = hit.published
        head += f". Published {d.day} {d:%B} {d.year} ({d.isoformat()})"
    return f"{head}.\n{hit.text}" if head else hit.text


def _stem(word: str) -> str:
    return word if _is_number(word) else word[:5]


_QUESTION_WORDS = frozenset("how many much what which who whom whose when where why".split())


def _answer_at(short: str, source: str) -> tuple[list[str], list[set[str]], list[int]]:
    """The source's sentences, their word stems, and the indexes of those the answer is in."""
    answer = _stems(content_words(short))
    raw = _SENT.split(source)
    sents = [_stems(content_words(s)) for s in raw]
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
    answer = _stems(content_words(short))
    for _, stems in _answer_places(short, source):
        yield with_aliases(set().union(*stems)) - answer


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
    asked = set(_TOKEN.findall(asking.lower()))
    for word in asked & _OPPOSITE.keys():
        opposite = _OPPOSITE[word] - asked
        if opposite and all(
            word not in (words := set(_TOKEN.findall(p.lower()))) and words & opposite
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
    asking = _SENT.split(question.strip())[-1]
    asked = {w for w in content_words(_SMALL_NUMBER.sub(" ", asking.lower())) if _is_number(w)}
    names = _stems([n for n in _names(asking) if n not in _QUESTION_WORDS])
    names -= _stems(content_words(short))
    negated = bool(_NEGATION.search(asking.lower()))
    raw, sents, at = _answer_at(short, source)
    if not at:
        return None
    # Each place: the answer's sentence and the one either side, as text and as word stems.
    texts = [" ".join(raw[max(0, i - 1) : i + 2]) for i in at]
    words = [with_aliases(set().union(*sents[max(0, i - 1) : i + 2])) for i in at]
    number = all(asked - w for w in words)
    # The answer's own sentence must carry the negation: a neighbour's "not" is about
    # something else.
    negation = negated and not any(_NEGATION.search(raw[i].lower()) for i in at)
    negation = negation or _reversed(asking, texts)
    name = all(names - w for w in words)
    return number, negation, name


def _asked(question: str, short: str, skip: frozenset[str] = frozenset()) -> set[str]:
    words = content_words(question)
    return {_stem(w) for w in words if len(w) > 2 and w not in skip} - _stems(content_words(short))


def answer_in_context(short: str, source: str, question: str) -> bool:
    """Whether the answer occurs near the question's own words ("Azerbaijan" in a sentence
    about the border does not answer a question about a pelican sanctuary)."""
    asked = _asked(question, short)
    if not content_words(short) or not asked:
        return True
    return any(asked & window for window in _answer_windows(short, source))


def answer_coverage(short: str, source: str, question: str) -> float:
    """How much of the question the answer's own neighbourhood covers (0..1). An on-topic
    question the source does not answer usually differs from it in a word or two ("When did
    OPEC begin?" beside "OPEC was founded in 1960 as…" covers it; "the defence minister"
    beside "Prime Minister Pashinyan" does not): the one signal retrieval similarity lacks."""
    asked = _asked(question, short, _QUESTION_WORDS)
    if not content_words(short):
        return 0.0
    if not asked:
        return 1.0
    return max(
        (len(asked & window) / len(asked) for window in _answer_windows(short, source)),
        default=0.0,
    )


class CitationVerifier:
    def __init__(self, embedder: object, threshold: float = 0.5) -> None:
        self.embedder = embedder
        self.threshold = threshold

    def claims(self, answer: str) -> list[tuple[str, list[int]]]:
        out = []
        for sent in _SENT.split(answer.strip()):
            nums = [int(n) for m in _MARKER.finditer(sent) for n in m.group(1).split(",")]
            text = _MARKER.sub("", sent).strip()
            if content_words(text):
                out.append((text, nums))
        return out

    def support(
        self, question: str, claims: list[str], citations: list[Citation], shown: list[str]
    ) -> tuple[np.ndarray, list[list[str]]]:
        """support[i, j] of claim i by source j (0..1) as the model read it (`shown[j]`,
        `as_shown`), and quote[i][j]: the sentence of source j's text that supports claim i
        best (lexically or semantically)."""
        lex = np.array([[lexical_support(c, s) for s in shown] for c in claims])
        src_sents: list[str] = []
        owner: list[int] = []
        quotable: list[bool] = []  # a quote is a sentence of the text, not of the header
        for j, c in enumerate(citations):
            for s in _SENT.split(shown[j]):
                src_sents.append(s)
                owner.append(j)
                quotable.append(s in c.hit.text)
        quotes = [[c.hit.text for c in citations] for _ in claims]
        if not src_sents:
            return lex, quotes
        enc = self.embedder.encode  # type: ignore[attr-defined]
        cv = enc([f"{question} {c}" for c in claims])
        sv = enc(src_sents)
        sims = cv @ sv.T
        sem = np.zeros_like(lex)
        best = np.full_like(lex, -1.0)
        for k, j in enumerate(owner):
            sem[:, j] = np.maximum(sem[:, j], sims[:, k])
            for i, claim in enumerate(claims):
                score = max(float(sims[i, k]), lexical_support(claim, src_sents[k]))
                if quotable[k] and score > best[i, j]:
                    best[i, j], quotes[i][j] = score, src_sents[k]
        return np.maximum(lex, sem), quotes

    def verify(
        self, question: str, answer: str, citations: list[Citation], short: str = ""
    ) -> tuple[str, bool]:
        """Mark citations cited/supported, attribute uncited claims, and return the answer
        (with added markers) and whether it is supported: some claim is, and the short answer
        (when given) occurs in a source the answer cites. A claim naming a person, place,
        organisation or number its source never mentions is not supported, however many of
        its other words the source shares."""
        claims = self.claims(answer)
        if not claims or not citations:
            return answer, False
        shown = [as_shown(c.hit, question) for c in citations]
        sup, quotes = self.support(question, [c for c, _ in claims], citations, shown)
        for i, (text, _) in enumerate(claims):
            for j in range(len(citations)):
                if missing_terms(text, shown[j], question):
                    sup[i, j] = 0.0
        any_supported = False
        out = answer
        for i, (text, nums) in enumerate(claims):
            valid = [n for n in nums if 1 <= n <= len(citations)]
            j = int(np.argmax(sup[i]))
            if not valid and sup[i, j] >= self.threshold:
                valid = [j + 1]
                out = _attach_marker(out, text, j + 1)
            elif (
                valid
                and all(sup[i, n - 1] < self.threshold for n in valid)
                and sup[i, j] >= self.threshold
            ):
                # The model cited the wrong source; another shown source says it.
                out = _recite(out, text, valid, j + 1)
                valid = [j + 1]
            for n in valid:
                c = citations[n - 1]
                s = float(sup[i, n - 1])
                if c.support is None or s > c.support:
                    c.quote = _quote(quotes[i][n - 1], short, c.hit.text, question)
                c.cited = True
                c.support = s if c.support is None else max(c.support, s)
                c.supported = c.support >= self.threshold
                any_supported = any_supported or bool(c.supported)
        if any_supported and short and content_words(short):
            cited = [j for j, c in enumerate(citations) if c.supported] or range(len(citations))
            any_supported = any(short_is_supported(short, shown[j], question) for j in cited)
        return out, any_supported


def _quote(best: str, short: str, source: str, question: str) -> str:
    """The sentence a reader should see: the one that states the short answer (near the
    question's words) when there is one, else the one closest to the claim."""
    if short and content_words(short) and not short_is_supported(short, best, ""):
        for sent in _SENT.split(source):
            if short_is_supported(short, sent, "") and answer_in_context(short, sent, question):
                return sent
        for sent in _SENT.split(source):
            if short_is_supported(short, sent, ""):
                return sent
    return best


def _recite(answer: str, claim: str, old: list[int], new: int) -> str:
    """Point the markers after `claim` at source `new` instead of `old`."""
    core = claim.rstrip(" .!?")
    pos = answer.find(core)
    if pos < 0:
        return answer
    tail = answer[pos + len(core) :]
    fixed = _MARKER.sub(
        lambda m: f"[{new}]" if {int(x) for x in m.group(1).split(",")} <= set(old) else m.group(0),
        tail,
        count=1,
    )
    return answer[: pos + len(core)] + fixed


def _attach_marker(answer: str, claim: str, n: int) -> str:
    """Insert `[n]` after the claim's text (before its final punctuation)."""
    pos = answer.find(claim)
    if pos < 0:
        return answer
    core = claim.rstrip(".!?")
    end = pos + len(core)
    return f"{answer[:end]} [{n}]{answer[end:]}"

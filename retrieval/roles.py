"""Whether a named answer holds the office the question asks about.

News names people with their title in front ("Prime Minister Nikol Pashinyan", "Defence
Minister Suren Papikyan"). When a question asks for one office ("Who is Armenia's defence
minister?") and every mention of the answer in its source gives it another ("Prime Minister
Nikol Pashinyan"), the source does not support the answer, however many words they share.
Without a title in front of the name the source is silent on it and nothing is decided here.
"""

from __future__ import annotations

import re

from retrieval.places import with_aliases
from retrieval.text import NUMBER_WORDS, question_sentences
from retrieval.words import STOP_WORDS

# Offices and roles that precede names in news copy ("President Ilham Aliyev").
TITLES = frozenset(
    """minister president secretary chancellor governor mayor senator ambassador spokesman
    spokeswoman spokesperson ceo chairman chairwoman chair director commissioner general
    commander premier king queen prince princess pope judge coach captain speaker""".split()
)
# Words that may stand between a title's qualifier and its noun, or before the name.
_SKIP = frozenset("the a an of former acting then current deputy vice".split())
_WORD = re.compile(r"[A-Za-z][A-Za-z'’-]*")


def _bare(word: str) -> str:
    return word.lower().removesuffix("'s").removesuffix("’s")


def _norm(word: str) -> str:
    """Spelling variants of the same qualifier compare equal ("defence" = "defense")."""
    return _bare(word)[:5]


def _role_before(words: list[str], end: int) -> tuple[str, str | None] | None:
    """The title in front of a name ending at `words[end - 1]`, as (noun, qualifier): titles
    in front of names are capitalised ("Prime Minister", "Defence Minister", "President");
    a lower-case word before a title is prose ("follows President Aliyev")."""
    if end <= 0 or words[end - 1].lower() not in TITLES or not words[end - 1][:1].isupper():
        return None
    noun = words[end - 1].lower()
    k = end - 2
    while k >= 0 and words[k].lower() in _SKIP:
        k -= 1
    if k < 0 or not words[k][:1].isupper() or _bare(words[k]) != words[k].lower():
        return noun, None  # "Armenia's Minister …": a country, not part of the title
    return noun, _norm(words[k])


# What may stand between "who"/"what" and the office asked about: the question asks *for*
# the office holder ("Who is Armenia's defence minister?", "Who was recently re-elected
# president of Azerbaijan?"), not about something the office holder did ("Who did President
# Biden meet?").
_LEAD = frozenset(
    """is was are were has have been be become became will now currently recently newly
    elected re-elected reelected appointed named sworn in as the a an name of new""".split()
)

_AUX = frozenset("do does did can could would should shall may might must".split())


def asked_role(question: str) -> tuple[str, str | None] | None:
    """The office a question asks for, as (noun, qualifier): ("minister", "defen") for "Who
    is Armenia's defence minister?"; None when it asks for no office."""
    words = _WORD.findall(question)
    if not words or words[0].lower() not in {"who", "what", "which"}:
        return None
    for i in range(1, len(words)):
        w = words[i]
        if w.lower() in TITLES:
            if w[:1].isupper() and i + 1 < len(words) and words[i + 1][:1].isupper():
                return None  # "President Aliyev": the question names its subject
            before = words[1:i]
            qualifier = None
            if before and before[-1].isalpha() and before[-1].lower() not in _LEAD | _SKIP:
                if before[-1].lower() in _AUX:
                    return None  # "Who did …": asks what someone did, not who holds an office
                qualifier = _norm(before.pop())
            if all(b.lower() in _LEAD or b.lower() in _SKIP or _is_owner(b) for b in before):
                return w.lower(), qualifier
            return None
    return None


def _is_owner(word: str) -> bool:
    """A possessive name before the office ("Armenia's")."""
    return word[:1].isupper() and _bare(word) != word.lower()


def role_conflict(short: str, source: str, question: str) -> bool:
    """True when the question asks for an office and every mention of the answer in the
    source is titled with a different one."""
    asked = asked_role(question)
    name = _WORD.findall(short)
    if asked is None or not name or not name[0][:1].isupper():
        return False
    words = _WORD.findall(source)
    titles = []
    for i in range(len(words) - len(name) + 1):
        if [_bare(w) for w in words[i : i + len(name)]] == [_bare(w) for w in name]:
            role = _role_before(words, i)
            if role is None:
                return False  # a mention without a title: the source does not say
            titles.append(role)
    if not titles:
        return False
    noun, qualifier = asked
    return not any(
        n == noun and (qualifier is None or q is None or q == qualifier) for n, q in titles
    )


# What happened to the people a news count counts. A count answers a question about one
# outcome ("How many soldiers were wounded?") only where the source attaches it to that
# outcome: "four soldiers were killed and another wounded" gives "four" to the dead.
_OUTCOMES = {
    word: kind
    for kind, words in (
        ("death", "killed dead died deaths death fatalities perished"),
        ("injury", "wounded injured hurt injuries"),
        ("arrest", "arrested detained"),
        ("missing", "missing"),
        ("rescue", "rescued"),
        ("displacement", "evacuated displaced"),
    )
    for word in words.split()
}
_CLAUSE_END = frozenset("and but while whereas or".split())
_TOKEN = re.compile(r"[A-Za-z]+|\d[\d,.]*|[;,.:]")


def _count(token: str) -> str | None:
    """A count as digits ("four" = "4", "1,200" = "1200"), or None for any other word."""
    if token[0].isdigit():
        return token.rstrip(".,").replace(",", "")
    return NUMBER_WORDS.get(token.lower())


def _counted_at(short: str, source: str) -> tuple[list[str], list[int]] | None:
    """The source's tokens and where in them the short answer's count stands; None when the
    answer gives no count or several."""
    count = [c for t in _TOKEN.findall(short) if (c := _count(t))]
    if len(count) != 1:
        return None
    tokens = _TOKEN.findall(source)
    return tokens, [i for i, t in enumerate(tokens) if _count(t) == count[0]]


def _outcome_after(tokens: list[str], i: int, reach: int = 6) -> str | None:
    """The outcome the count at `tokens[i]` is given in its own clause ("four soldiers were
    killed"), or None when the clause names none."""
    for tok in tokens[i + 1 : i + 1 + reach]:
        low = tok.lower()
        if low in _CLAUSE_END or not tok[0].isalnum():
            return None
        if low in _OUTCOMES:
            return _OUTCOMES[low]
    return None


def outcome_conflict(short: str, source: str, question: str) -> bool:
    """True when the question's asking sentence counts one outcome (killed, wounded,
    arrested…) and the source gives the answer's count another outcome in its own clause and
    never the one asked ("claims lives of four soldiers… four soldiers were killed and
    another wounded"); a source that never ties the count to an outcome is silent, and
    nothing is decided."""
    asking = question_sentences(question)[-1]  # the scene set before it may say anything
    asked = {_OUTCOMES[w] for w in _WORD.findall(asking.lower()) if w in _OUTCOMES}
    counted = _counted_at(short, source)
    if len(asked) != 1 or counted is None:
        return False
    tokens, at = counted
    given = [_outcome_after(tokens, i) for i in at]
    return any(g is not None for g in given) and not any(g in asked for g in given)


# "How many Azerbaijani soldiers …": a count of a group the question names.
_NAMED_GROUP = re.compile(r"(?i:\bhow\s+many)\s+([A-Z][A-Za-z'’-]*)\s+([A-Za-z][A-Za-z-]*)")


def group_conflict(short: str, source: str, question: str) -> bool:
    """True when the question counts a group it names ("How many Azerbaijani soldiers were
    killed?") and the source gives the answer's count to another named group ("four Armenian
    soldiers") and never to the one asked ("Azerbaijani" and "Baku's" are one actor,
    `retrieval.places`). A count without a name in front ("four soldiers were killed") is
    silent on whose they were, and decides nothing."""
    m = _NAMED_GROUP.search(question_sentences(question)[-1])
    counted = _counted_at(short, source)
    if m is None or counted is None or m.group(1).isupper():
        return False  # an acronym ("US troops") has spellings the aliases do not know
    if m.group(2).lower() in STOP_WORDS:
        return False  # "How many Huguenots were slain?": the name is the group itself
    asked, noun = _norm(m.group(1)), _norm(m.group(2))
    tokens, at = counted
    named = {
        _norm(tokens[i + 1])
        for i in at
        if i + 2 < len(tokens) and tokens[i + 1][:1].isupper() and _norm(tokens[i + 2]) == noun
    }
    return bool(named) and not with_aliases({asked}) & with_aliases(named)

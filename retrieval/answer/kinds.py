"""What kind of answer a question wants, read from its form: a fact (a name, a number, a
date), an explanation or summary, a yes or no, a list, or something about the article itself
(its date, outlet, title, link).

The kind chooses the prompt, the answer's shape and its checks (retrieval.pipeline). It is
read from the grammar of English questions — the question word, an auxiliary verb opening a
yes/no question, a plural after "which" — never from a topic's words, so it means the same for
every article.
"""

from __future__ import annotations

import re
from enum import StrEnum


class QuestionType(StrEnum):
    FACTOID = "factoid"
    OPEN = "open"
    YESNO = "yesno"
    LIST = "list"
    META = "meta"


_ARTICLE = r"(?:article|story|report|piece|headline|news\s+item|post)"
_META = [
    # when / what date … the article … published
    rf"\b(?:when|what\s+(?:date|day))\b.*\b{_ARTICLE}s?\b.*\b(?:published|from|dated|posted|written|out|come\s+out)\b",
    r"\b(?:when|what\s+(?:date|day))\b.*\b(?:published|posted)\b",
    rf"\bwhat\s+date\s+is\s+(?:the|this|that)\s+{_ARTICLE}\b",
    rf"\b(?:title|headline)\s+of\s+(?:the|this|that)\s+{_ARTICLE}",
    r"\bwhat\s+is\s+(?:the|this|that|its)\s+(?:title|headline)\b",
    rf"\b(?:link|url|address|source)\s+(?:to|of|for)\s+(?:the|this|that)\s+{_ARTICLE}",
    rf"\bwhere\s+can\s+i\s+(?:read|find|see)\s+(?:the|this|that)\s+{_ARTICLE}",
    r"\bwhich\s+(?:\w+\s+)?(?:outlets?|publications?|newspapers?|news\s+(?:sites?|outlets?|organi[sz]ations?)|"
    r"sites?|websites?|media)\b",
    r"\bwhat\s+(?:outlets?|publications?|newspapers?|news\s+sites?)\b",
    r"\bwho\s+(?:wrote|published|authored)\b",
    r"\bwho\s+reported\s+(?:that|on|about)\b",
    rf"\bwhat\s+(?:is|was)\s+(?:the|this|that)\s+{_ARTICLE}\s+(?:about|on)\s*\??$",
    rf"\bwhat\s+does\s+(?:the|this|that)\s+{_ARTICLE}\s+(?:say|cover|report)\s*\??$",
]
_META_RE = [re.compile(p, re.IGNORECASE) for p in _META]

_AUXILIARY = (
    "is are was were am do does did has have had can could will would should shall may might "
    "must isn't aren't wasn't weren't don't doesn't didn't hasn't haven't hadn't can't couldn't "
    "won't wouldn't shouldn't"
).split()
_YESNO_START = re.compile(rf"^(?:{'|'.join(map(re.escape, _AUXILIARY))})\b", re.IGNORECASE)
_IS_IT_TRUE = re.compile(
    r"^(?:is\s+it\s+true|true\s+or\s+false|did\s+you\s+know)\b|^(?:so\s+)?(?:is|was)\s+it\s+"
    r"(?:true|correct|right)\b",
    re.IGNORECASE,
)
_CHOICE = re.compile(r"\bor\b(?!\s+not\b)", re.IGNORECASE)
# An "or" that is no choice: a question of whether something can happen ("Can monkeypox spread
# through kissing or sex?") or happened at all ("Did the earthquake kill or injure anyone?")
# is answered yes or no; "Is it given in one dose or two?" names its answers.
_ANY_OF = re.compile(
    r"^(?:can|could|may|might)\b|\b(?:any|anyone|anybody|anything|anywhere|ever)\b", re.IGNORECASE
)

_OPEN = re.compile(
    r"^(?:why|how\s+(?:come|did|does|do|is|are|was|were|will|would|could|can|has|have|should)\b"
    r"|how\b(?!\s+(?:many|much|old|long|far|big|large|tall|high|often|fast|deep|wide|soon)\b))"
    r"|^(?:and\s+)?(?:what|so\s+what)(?:'s|\s+is|\s+was|\s+has\s+been|\s+have\s+been)?\s+"
    r"(?:happen(?:ed|ing|s)?|going\s+on|being\s+done|new|the\s+latest|the\s+news|"
    r"the\s+situation|the\s+story|the\s+background|the\s+context)\b"
    r"|^(?:tell\s+me|explain|summari[sz]e|describe|give\s+me|brief\s+me|catch\s+me\s+up|"
    r"update\s+me|fill\s+me\s+in|walk\s+me\s+through|recap|outline)\b"
    r"|^(?:any|is\s+there\s+any)\s+(?:news|updates?|developments?)\b"
    r"|^what\s+do\s+we\s+know\b"
    r"|^what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+.+\s+about\s*\??$"
    r"|^what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+in\b"
    r"|^what\s+(?:are|were)\s+the\s+(?:main\s+|key\s+|biggest\s+|major\s+)?"
    r"(?:concerns?|issues?|reasons?|causes?|effects?|consequences?|implications?|risks?|"
    r"arguments?|criticisms?|problems?|challenges?|worries|fears|points?|details?|"
    r"takeaways?|reactions?|stakes)\b"
    # a cause or a consequence: "What caused the crisis?", "What could the vote mean for …?"
    r"|^what\s+(?:caused|causes(?!\s+of\b)|led\s+to|leads\s+to|is\s+behind|was\s+behind|drove|drives|"
    r"triggered|sparked|prompted)\b"
    r"|^what\s+(?:does|did|do|could|would|will|might|can)\s+(?!it\s)[^?]+?\s+mean\s+for\b"
    r"|^what\s+(?:did|does|do|has|have)\s+[^?]+?\s+(?:say|said|announce|propose|plan|want|"
    r"argue|think|decide|promise|pledge|warn|claim|reveal|report|do\s+about\b[^?]*)"
    r"(?:\s+(?:about|from|on|regarding)\b[^?]*)?\s*\?*$",
    re.IGNORECASE,
)
# A description: "What was the weather like in the UK?", "What is life like there?" — what
# something is like, not one fact about it.
_DESCRIPTION = re.compile(
    r"^what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+.+\s+like\b[^?]*\?*$",
    re.IGNORECASE,
)
_SUMMARY_ANYWHERE = re.compile(
    r"\b(?:summari[sz]e|summary\s+of|overview\s+of|what\s+happened|what\s+is\s+happening|"
    r"what's\s+happening|the\s+latest\s+(?:on|about|news)|main\s+points)\b",
    re.IGNORECASE,
)

# Who or what a name in the news is: "Who is Francia Marquez?", "What is the boyfriend
# loophole?" — a definition question (TREC's "definition" questions, beside its factoids),
# answered by what the sources say of the name, not by one span: a factoid reply repeats the
# name ("Answer: Francia Marquez"). "Who is" takes a name (capitalised words only; "Who is
# Kansas's lieutenant governor?" asks for one); "What is" a phrase with no preposition, clause
# or number in it, whose head is not an attribute that has a value ("What is the inflation
# rate?", "… the name of …", "… the most common price …" ask for one).
_ATTRIBUTE = (
    r"rate|rates|price|prices|cost|costs|number|amount|total|level|percentage|percent|share|"
    r"size|magnitude|population|age|height|weight|length|distance|speed|temperature|score|"
    r"value|name|date|day|time|year|month|deadline|figure|count|average|toll|budget|salary|"
    r"capital|address|status|result|outcome|answer|record|rating|ratings|ranking|rank"
)
# Words that make "what is …" something other than a name: a preposition or clause ("the
# capital of France"), a pronoun ("What is it?" — a follow-up, rewritten before it is read),
# an event ("What is happening?"), a rank ("the most common price").
_NOT_NAME = (
    r"most|least|best|worst|biggest|largest|first|last|next|latest|current|same|"
    r"of|in|on|at|for|from|by|with|to|about|between|after|before|since|during|under|over|"
    r"that|which|who|whom|whose|when|where|why|how|if|and|or|it|this|these|those|they|them|"
    r"he|him|she|her|you|we|us|there|new|happening|going|being|done|doing"
)
_DEFINITION = re.compile(
    r"^who(?:'s|\s+is|\s+was)\s+"
    r"(?P<name>(?-i:[A-Z][\w.'’-]*)(?:\s+(?-i:[A-Z][\w.'’-]*)){0,4})\s*\?*$"
    r"|^what(?:'s|\s+is|\s+was|\s+are|\s+were)\s+(?:(?:the|an?)\s+)?"
    rf"(?P<thing>(?:(?!(?:{_NOT_NAME})\b)[\w'’-]+\s+){{0,5}}"
    rf"(?!(?:{_ATTRIBUTE}|{_NOT_NAME})\b)(?!\d)[\w’-]+(?<!'s))\s*\?*$",
    re.IGNORECASE,
)

_NUMBER_WORD = r"(?:two|three|four|five|six|seven|eight|nine|ten|\d+)"
# A plural noun: ends in "s", but not in "ss", "us" or "is", and is not one of the common
# words that only look plural.
_PLURAL = (
    r"(?!(?:news|gas|bus|status|series|species|means|lens|atlas|canvas|texas|kansas|"
    r"arkansas|paris|ukraine's)\b)[a-z]+(?<!ss)(?<!us)(?<!is)(?<!'s)s\b"
)
_LIST = re.compile(
    rf"^(?:which|what)\s+(?:are|were)\s+the\s+(?:[\w-]+\s+){{0,3}}?{_PLURAL}"
    rf"|^which\s+(?:(?:{_NUMBER_WORD}|(?-i:[A-Z][\w-]*))\s+)?{_PLURAL}"
    rf"|^which\s+(?:[\w-]+\s+){{0,2}}{_PLURAL}\s+(?:are|were|have|had|did|do|does|will|would|can|could)\b"
    # a plural named by two words, then its verb: "Which cabinet ministers resigned …?"
    rf"|^which\s+[a-z-]+\s+(?!(?:was|has|is|does)\b){_PLURAL}\s+[a-z]+ed\b"
    rf"|^what\s+(?:(?-i:[A-Z][\w-]*)\s+)?{_PLURAL}\s+(?:are|were|have|had|did|do|does|will|would|can|could)\b"
    r"|^(?:name|list)\b"
    rf"|\b{_NUMBER_WORD}\s+(?:[\w-]+\s+)?{_PLURAL}\b(?=.*\b(?:which|what|who|name|list)\b)"
    rf"|^(?:which|what)\b.*\b{_NUMBER_WORD}\s+(?:[\w-]+\s+)?{_PLURAL}",
    re.IGNORECASE,
)


def defined(question: str) -> str | None:
    """What a definition question asks about ("Francia Marquez", "boyfriend loophole"), or
    None for any other question."""
    m = _DEFINITION.search(" ".join(question.strip().split()))
    return (m["name"] or m["thing"]) if m else None


def described(question: str) -> bool:
    """Whether a question asks what something is like."""
    return bool(_DESCRIPTION.search(" ".join(question.strip().split())))


def question_type(question: str) -> QuestionType:
    """The kind of answer a question asks for (see the module's docstring)."""
    q = " ".join(question.strip().split())
    if any(p.search(q) for p in _META_RE):
        return QuestionType.META
    if _IS_IT_TRUE.search(q):
        return QuestionType.YESNO
    choice = _CHOICE.search(q) and not _ANY_OF.search(q)
    if _YESNO_START.search(q) and not choice and not _OPEN.search(q):
        return QuestionType.YESNO
    if _OPEN.search(q) or _SUMMARY_ANYWHERE.search(q) or described(q):
        return QuestionType.OPEN
    if _LIST.search(q):
        return QuestionType.LIST
    if defined(q):
        return QuestionType.OPEN
    return QuestionType.FACTOID

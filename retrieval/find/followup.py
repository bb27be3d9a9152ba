"""Follow-up questions: a question that leans on the conversation is rewritten into one that
can be retrieved on its own; a self-contained one is left as asked."""

from __future__ import annotations

import re

from retrieval.answer.prompt import rewrite_messages
from retrieval.lang.words import content_words
from retrieval.models.base import TextGenerator
from retrieval.types import Turn

MAX_HISTORY_TURNS = 20

_REFERRING = re.compile(
    r"\b(he|she|it|they|them|their|theirs|his|her|hers|its|"
    r"this(?!\s+(?:week|month|year|morning|afternoon|evening|weekend|season|summer|winter|"
    r"spring|autumn|fall|time)\b)|that|these|those|there|then|"
    r"the same|the former|the latter)\b|^(and|but|so|also|what about|how about|why|why not)\b",
    re.IGNORECASE,
)


def is_follow_up(question: str) -> bool:
    """Whether a question leans on the conversation (a pronoun or a leading "and…/what
    about…"). A self-contained question is retrieved as asked: rewriting it toward the earlier
    topic would make "What is the capital of France?" look answerable from the last article."""
    return bool(_REFERRING.search(question.strip()))


def standalone_question(
    generator: TextGenerator | None, question: str, history: list[Turn] | None
) -> str:
    """Rewrite a follow-up ("And who supplies them now?") into a question that can be
    retrieved on its own. Falls back to prefixing the previous user question when the
    model's rewrite does not look like a question."""
    q = question.strip()
    if not history or not is_follow_up(q):
        return q
    history = history[-MAX_HISTORY_TURNS:]
    previous = [t.content.strip() for t in history if t.role == "user" and t.content.strip()]
    if not previous:
        return q
    if generator is not None:
        rewritten = generator.generate(rewrite_messages(history, q), 64)
        rewritten = rewritten.strip().split("\n")[0].strip().strip('"')
        if good_rewrite(rewritten, q, history):
            return rewritten
    return f"{previous[-1]} {q}"


def good_rewrite(rewritten: str, question: str, history: list[Turn]) -> bool:
    """A usable rewrite is a question of sane length that brings in something from the
    conversation (a rewrite adding nothing would retrieve no better than the follow-up)."""
    if not (8 <= len(rewritten) <= 2 * len(question) + 200 and rewritten.endswith("?")):
        return False
    own = set(content_words(question))
    context = {w for t in history for w in content_words(t.content)} - own
    return any(w in context for w in content_words(rewritten))

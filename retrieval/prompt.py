"""The few-shot prompt and the parsing of citations in what the model writes.

The prompt follows what probing the local models showed works best (../shared/MODELS.md): a
system rule, one example turn that abstains and one that cites `[1]`.
"""

from __future__ import annotations

import re

from retrieval.types import Hit, Turn

IDK = "I don't know"
ABSTAIN_TEXT = "I don't know: the indexed articles do not seem to answer this."
UNSUPPORTED_TEXT = (
    "I don't know: the answer I could write was not supported by the sources it cited."
)

SYSTEM = (
    "You answer questions about news using only the numbered sources. Reply with the short "
    "answer and cite the source number in square brackets, like [1]. If the sources do not "
    f"answer the question, reply exactly: {IDK}."
)

_EXAMPLES: list[tuple[str, str]] = [
    (
        "[1] City council approves park budget (2023-03-02)\n"
        "The city council approved a new budget for parks on Tuesday, adding two playgrounds.\n\n"
        "Question: Who won the football match on Sunday?",
        f"{IDK}.",
    ),
    (
        "[1] Carmaker to open plant in Ohio (2023-05-10)\n"
        "The company said it will hire 200 workers at its new plant near Columbus, Ohio.\n\n"
        "Question: How many workers will the new plant employ?",
        "200 workers [1].",
    ),
    (
        "[1] Election results (2023-06-01)\n"
        "Voters elected Maria Lopez as mayor on Sunday, ending a long campaign.\n\n"
        "[2] Storm hits coast (2023-06-02)\nA storm damaged homes along the coast.\n\n"
        "Question: Who was elected mayor?",
        "Maria Lopez [1].",
    ),
]


def format_sources(hits: list[Hit], max_chars: int = 1200) -> str:
    parts = []
    for i, h in enumerate(hits, start=1):
        date = f" ({h.published.isoformat()})" if h.published else ""
        text = h.text if len(h.text) <= max_chars else h.text[:max_chars] + "…"
        parts.append(f"[{i}] {h.title}{date}\n{text}")
    return "\n\n".join(parts)


def build_messages(question: str, hits: list[Hit]) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": SYSTEM}]
    for user, assistant in _EXAMPLES:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": assistant})
    messages.append({"role": "user", "content": f"{format_sources(hits)}\n\nQuestion: {question}"})
    return messages


_REWRITE_SYSTEM = (
    "Rewrite the user's last question so it can be understood without the conversation: "
    "replace pronouns and vague references with the names they refer to. Reply with the "
    "rewritten question only."
)
_REWRITE_EXAMPLE = (
    "Conversation:\nuser: What did the central bank decide on Thursday?\n"
    "assistant: It kept interest rates unchanged [1].\n\n"
    "Last question: Why did it do that?",
    "Why did the central bank keep interest rates unchanged on Thursday?",
)


def rewrite_messages(history: list[Turn], question: str) -> list[dict[str, str]]:
    """Prompt that turns a follow-up into a standalone question (history: role/content turns)."""
    convo = "\n".join(f"{t.role}: {t.content.strip()[:500]}" for t in history[-6:])
    return [
        {"role": "system", "content": _REWRITE_SYSTEM},
        {"role": "user", "content": _REWRITE_EXAMPLE[0]},
        {"role": "assistant", "content": _REWRITE_EXAMPLE[1]},
        {"role": "user", "content": f"Conversation:\n{convo}\n\nLast question: {question}"},
    ]


_MARKER = re.compile(r"\[(\d+(?:\s*,\s*\d+)*)\]")


def cited_numbers(text: str) -> list[int]:
    """Source numbers cited as `[n]` or `[n, m]`, in order of first appearance."""
    seen: list[int] = []
    for m in _MARKER.finditer(text):
        for n in m.group(1).split(","):
            v = int(n)
            if v not in seen:
                seen.append(v)
    return seen


def clean_citations(text: str, n_sources: int) -> str:
    """Drop markers that point at no shown source, so every `[n]` left matches a citation."""

    def fix(m: re.Match[str]) -> str:
        keep = [n.strip() for n in m.group(1).split(",") if 1 <= int(n) <= n_sources]
        return f"[{', '.join(keep)}]" if keep else ""

    out = _MARKER.sub(fix, text)
    return re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()


_IDK_RE = re.compile(
    r"^\W*(i\s+(do\s*n[o']t|don’t|cannot|can't)\s+know|the\s+sources?\s+do(es)?\s*n[o']t"
    r"|there\s+is\s+no\s+information|no\s+information)",
    re.IGNORECASE,
)


def is_abstention(text: str) -> bool:
    """Whether the model itself declined to answer."""
    return bool(_IDK_RE.match(text.strip())) or not text.strip()


def tidy_answer(text: str) -> str:
    """Keep the first paragraph: small models sometimes add a second, unrelated one."""
    text = text.strip()
    para = text.split("\n\n", 1)[0].strip()
    return para or text


def strip_citations(text: str) -> str:
    """The answer without `[n]` markers (for scoring against a gold string)."""
    return re.sub(r"\s+([.,;:!?])", r"\1", _MARKER.sub("", text)).strip()

"""The few-shot prompt and the parsing of citations in what the model writes.

The prompt follows what probing the local models showed works best: a
system rule, one example turn that abstains and two that cite. The reply has two lines: the
short answer (what exact-match scores) and a complete sentence (what a person reads).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from dataclasses import dataclass

from retrieval.answer.kinds import QuestionType
from retrieval.types import Hit, Turn

IDK = "I don't know"
ABSTAIN_TEXT = "I don't know: the indexed articles do not seem to answer this."
UNSUPPORTED_TEXT = (
    "I don't know: the answer I could write was not supported by the sources it cited."
)
LOW_CONFIDENCE_TEXT = "I don't know: the sources do not seem to answer this clearly enough."
OFF_TOPIC_TEXT = "I don't know: the sources I found are not about what you asked."


def unstated_text(words: tuple[str, ...]) -> str:
    """The abstention of a question whose premise no source states, naming what is missing."""
    named = " or ".join(f"“{w}”" for w in words)
    return f"I don't know: no article I found mentions {named}, which the question takes as given."


SYSTEM = (
    "You answer questions about news using only the numbered sources. Reply in two lines. "
    "First line: 'Answer:' and the shortest exact answer (a name, number, date or short "
    "phrase copied from the sources) with its source number in square brackets, like [1]. "
    "Second line: 'Sentence:' and one complete sentence that answers the question, citing "
    f"the source. If the sources do not answer the question, reply exactly: {IDK}."
)
ANSWER_LABEL = "Answer:"
SENTENCE_LABEL = "Sentence:"
# The first word of each kind of reply: abstaining vs answering (the reader's own doubt).
NO_ANSWER_OPENINGS = [IDK.split()[0], ANSWER_LABEL.rstrip(":")]

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
        "Answer: 200 [1]\nSentence: The new plant near Columbus will employ 200 workers [1].",
    ),
    (
        "[1] Storm hits coast (2023-06-02)\nA storm damaged homes along the coast.\n\n"
        "[2] Election results (2023-06-01)\n"
        "Voters elected Maria Lopez as mayor on Sunday, ending a long campaign.\n\n"
        "Question: Who was elected mayor?",
        "Answer: Maria Lopez [2]\nSentence: Maria Lopez was elected mayor on Sunday [2].",
    ),
]


def format_sources(hits: list[Hit], max_chars: int = 1200) -> str:
    parts = []
    for i, h in enumerate(hits, start=1):
        date = f" ({h.published.isoformat()})" if h.published else ""
        text = h.text if len(h.text) <= max_chars else h.text[:max_chars] + "…"
        parts.append(f"[{i}] {h.title}{date}\n{text}")
    return "\n\n".join(parts)


def _few_shot() -> list[dict[str, str]]:
    return _shots(SYSTEM, _EXAMPLES)


def build_messages(
    question: str, hits: list[Hit], kind: QuestionType = QuestionType.FACTOID
) -> list[dict[str, str]]:
    """The prompt for a question of `kind`: its own rule and examples, then the sources and
    the question (a fact and about-the-article questions share the factoid prompt)."""
    shots = _KIND_SHOTS.get(kind)
    head = _few_shot() if shots is None else _shots(*shots)
    return [
        *head,
        {"role": "user", "content": f"{format_sources(hits)}\n\nQuestion: {question}"},
    ]


# -- the prompts of the other kinds of question (retrieval.answer.kinds) -----------------------
OPEN_SYSTEM = (
    "You answer questions about news using only the numbered sources. Write two to four "
    "sentences that answer the question with the main points of the sources. End each "
    "sentence with the number of the source it comes from in square brackets, like [1]. "
    "When the sources are from different dates or outlets, say which one reported what and "
    "when; when they disagree, say so and cite both. If the sources do not answer the "
    f"question, reply exactly: {IDK}."
)
# Evidence first: the reader quotes the sentence that decides the question before it says yes
# or no (said first, the verdict was a guess the sentence then had to fit: docs/EVALUATION.md).
YESNO_SYSTEM = (
    "You answer yes/no questions about news using only the numbered sources. Reply in two "
    "lines. First line: 'Sentence:' the sentence of the sources that answers the question, "
    "copied word for word, with its source number in square brackets, like [1]. Second line: "
    "'Answer:' Yes or No: Yes only if that sentence says so, No only if it states the "
    f"opposite. If no sentence of the sources answers the question, reply exactly: {IDK}."
)
LIST_SYSTEM = (
    "You answer questions about news using only the numbered sources. Reply in two lines. "
    "First line: 'Answer:' and every item the sources give, separated by commas, each "
    "followed by its source number in square brackets, like [1]. Second line: 'Sentence:' "
    "and one complete sentence that answers the question, citing the sources. If the "
    f"sources do not answer the question, reply exactly: {IDK}."
)
_PARK = (
    "[1] City council approves park budget (2023-03-02)\n"
    "The city council approved a new budget for parks on Tuesday, adding two playgrounds."
)
_STRIKE = (
    "[1] Transit workers walk out (2023-04-03)\n"
    "Bus drivers began a strike on Monday after talks over wages broke down. The union "
    "says pay has not kept up with rents.\n\n"
    "[2] City hopes to end strike (2023-04-05)\n"
    "The mayor offered a 4% raise on Wednesday; the union called it too low. Schools "
    "reported lower attendance because pupils could not get to class."
)
_OPEN_SHOTS = [
    (f"{_PARK}\n\nQuestion: Why did the football club fire its coach?", f"{IDK}."),
    (
        f"{_STRIKE}\n\nQuestion: What is going on with the bus strike?",
        "Bus drivers went on strike on Monday after wage talks broke down; the union says "
        "pay has not kept up with rents [1]. On Wednesday the mayor offered a 4% raise, "
        "which the union called too low [2]. Schools reported lower attendance [2].",
    ),
]
_YESNO_SHOTS = [
    (
        f"{_PARK}\n\nQuestion: Did the council cut the parks budget?",
        "Sentence: The city council approved a new budget for parks on Tuesday, adding two "
        "playgrounds [1].\nAnswer: No",
    ),
    (
        f"{_STRIKE}\n\nQuestion: Is the union asking for higher pay?",
        "Sentence: The union says pay has not kept up with rents [1].\nAnswer: Yes",
    ),
    (f"{_STRIKE}\n\nQuestion: Did the bus company hire new drivers?", f"{IDK}."),
]
_LIST_SHOTS = [
    (f"{_PARK}\n\nQuestion: Which teams reached the final?", f"{IDK}."),
    (
        "[1] Storm closes roads (2023-01-09)\nSnow closed roads in Ohio and Indiana on "
        "Monday.\n\n[2] Storm moves east (2023-01-10)\nThe storm reached Pennsylvania "
        "on Tuesday.\n\nQuestion: Which states did the storm hit?",
        "Answer: Ohio [1], Indiana [1], Pennsylvania [2]\nSentence: The storm closed roads "
        "in Ohio and Indiana [1] and then reached Pennsylvania [2].",
    ),
]
_KIND_SHOTS: dict[QuestionType, tuple[str, list[tuple[str, str]]]] = {
    QuestionType.OPEN: (OPEN_SYSTEM, _OPEN_SHOTS),
    QuestionType.YESNO: (YESNO_SYSTEM, _YESNO_SHOTS),
    QuestionType.LIST: (LIST_SYSTEM, _LIST_SHOTS),
}


def _shots(system: str, examples: list[tuple[str, str]]) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": system}]
    for user, assistant in examples:
        messages.append({"role": "user", "content": user})
        messages.append({"role": "assistant", "content": assistant})
    return messages


def closed_book_messages(question: str) -> list[dict[str, str]]:
    """The same prompt with no sources: what the model believes without evidence (the
    multiple-choice calibration compares each option's likelihood with and without it)."""
    return [*_few_shot(), {"role": "user", "content": f"Question: {question}"}]


@dataclass
class ParsedAnswer:
    short: str  # the bare answer span, with its citation markers
    sentence: str  # the complete sentence, or "" if the model wrote none


# A sentence copied with its full stop, then marked ("… airline. [1]" or "… airline. [1].").
_CITE_AFTER_STOP = re.compile(r"([.!?])([”\"']?)\s*((?:\[\d+(?:,\s*\d+)*\]\s*)+)[.!?]?$")


def cite_before_stop(sentence: str) -> str:
    """ "… on Sunday. [1]." as "… on Sunday [1].": the marker inside the sentence it cites."""
    return _CITE_AFTER_STOP.sub(lambda m: f"{m[2]} {m[3].strip()}{m[1]}", sentence.strip())


def parse_answer(raw: str) -> ParsedAnswer:
    """Split the model's two-line reply, in either order (a yes/no reply quotes its sentence
    first). A reply without labels counts as the short answer (and the sentence is left
    empty)."""
    text = raw.strip()
    if text.startswith(SENTENCE_LABEL):
        sentence, _, short = text[len(SENTENCE_LABEL) :].partition(ANSWER_LABEL)
    else:
        short, sentence = text, ""
        pos = text.find(SENTENCE_LABEL)
        if pos >= 0:
            short, sentence = text[:pos], text[pos + len(SENTENCE_LABEL) :]
        short = short.strip().removeprefix(ANSWER_LABEL)
    return ParsedAnswer(
        cite_before_stop(_first_line(short)), cite_before_stop(_first_line(sentence))
    )


def _first_line(text: str) -> str:
    return text.strip().split("\n", 1)[0]


class AnswerStream:
    """Follows the reply as it is written: what to show (the sentence, once its label is
    written; all of a reply that does not use the labels), the short answer as it is written
    (shown above the sentence, before it exists) and whether the short answer's line is
    complete."""

    def __init__(self) -> None:
        self.raw = ""
        self._shown = 0
        self._short_shown = 0

    def visible(self) -> str:
        text = self.raw.lstrip()
        if any(len(text) < len(x) and x.startswith(text) for x in (ANSWER_LABEL, SENTENCE_LABEL)):
            return ""  # too early to tell whether the reply is labelled
        if text.startswith(SENTENCE_LABEL):  # the sentence first: shown until its line ends
            return text[len(SENTENCE_LABEL) :].lstrip().split("\n", 1)[0]
        if not text.startswith(ANSWER_LABEL):
            return text
        pos = text.find(SENTENCE_LABEL)
        return text[pos + len(SENTENCE_LABEL) :].lstrip() if pos >= 0 else ""

    def feed(self, piece: str) -> str:
        """Add a piece of the reply; return the new displayable text (maybe empty)."""
        self.raw += piece
        visible = self.visible()
        out = visible[self._shown :]
        self._shown = max(self._shown, len(visible))
        return out

    def short_visible(self) -> str:
        """The short answer's line as written so far, up to its citation: the answer itself,
        which a reader can be shown while the sentence is still to come."""
        text = self.raw.lstrip()
        at = 0 if text.startswith(ANSWER_LABEL) else text.find(f"\n{ANSWER_LABEL}") + 1
        if at == 0 and not text.startswith(ANSWER_LABEL):
            return ""  # not labelled, or the verdict of a sentence-first reply not yet written
        line = text[at + len(ANSWER_LABEL) :].split("\n", 1)[0]
        return line.split("[", 1)[0].lstrip()

    def new_short(self) -> str:
        """The short answer's text written since the last call (maybe empty)."""
        visible = self.short_visible()
        out = visible[self._short_shown :]
        self._short_shown = max(self._short_shown, len(visible))
        return out

    @property
    def short_done(self) -> bool:
        """The first line (the short answer, or an "I don't know") is complete."""
        return "\n" in self.raw.lstrip()


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


def clean_citations(text: str, n_sources: int, drop: Collection[int] = ()) -> str:
    """Drop markers that point at no shown source (or at a source in `drop`), so every `[n]`
    left matches a citation."""

    def fix(m: re.Match[str]) -> str:
        keep = [
            n.strip()
            for n in m.group(1).split(",")
            if 1 <= int(n) <= n_sources and int(n) not in drop
        ]
        return f"[{', '.join(keep)}]" if keep else ""

    out = _MARKER.sub(fix, text)
    out = re.sub(r"[ \t]+([.,;:!?])", r"\1", re.sub(r"[ \t]{2,}", " ", out)).strip()
    # A sentence copied with its marker and then marked again: "… airline [1]. [1]."
    return _REMARKED.sub(lambda m: m[1] + (m[2] or m[3]), out)


_REMARKED = re.compile(r"(\[\d+(?:,\s*\d+)*\])([.!?]?)\s*\1([.!?]?)(?=\s|$)")


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

"""The generator contract every backend (transformers, llama.cpp, OpenAI-compatible) and the
test fakes implement: one streaming primitive with cancellation, `generate` as the joined
stream, explicit capabilities and usage counters."""

from __future__ import annotations

import threading
from collections.abc import Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import ClassVar, Protocol, runtime_checkable

from retrieval.errors import UnsupportedError

Messages = list[dict[str, str]]

# Scores answer options by the model's log-likelihood (multiple choice, calibration).
CHOICE_SCORES = "choice_scores"
# Continues a reply made to open with given text (`stream(..., opening=…)`).
OPENED_REPLY = "opened_reply"
# Keeps the previous prompt's KV cache and reuses its longest shared prefix: reading the
# prompts' common opening ahead of time saves the first question that reading.
PREFIX_CACHE = "prefix_cache"
# Keeps copies of several prompt openings' caches (`remember`): a prompt of one kind after
# another kind's does not read its instructions and examples again.
PREFIX_SNAPSHOTS = "prefix_snapshots"


@dataclass
class Usage:
    """Counters for /metrics and benchmarks."""

    calls: int = 0
    prompt_tokens: int = 0
    reused_prompt_tokens: int = 0  # served from a cached prompt prefix
    completion_tokens: int = 0


@runtime_checkable
class TextGenerator(Protocol):
    name: str
    usage: Usage

    @property
    def capabilities(self) -> frozenset[str]: ...

    def load(self) -> None: ...

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]: ...

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str: ...

    def remember(self, messages: Messages) -> None: ...

    def choice_scores(
        self, messages: Messages, choices: list[str], prefix: str = ""
    ) -> list[float]: ...

    def turn(self) -> AbstractContextManager[object]: ...


class BaseGenerator:
    """`generate` as the joined stream, and a clear error for capabilities a backend lacks."""

    name: str = "generator"
    capabilities: ClassVar[frozenset[str]] = frozenset()

    def __init__(self) -> None:
        self.usage = Usage()
        self._turn = threading.Lock()

    def load(self) -> None:
        return None

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        """The reply's text as it is generated; with `opening` (backends with `OPENED_REPLY`),
        the reply is made to begin with it and only what follows is yielded."""
        raise NotImplementedError

    def generate(self, messages: Messages, max_new_tokens: int | None = None) -> str:
        return "".join(self.stream(messages, max_new_tokens)).strip()

    def remember(self, messages: Messages) -> None:
        """Read a prompt's opening into the cache (`PREFIX_SNAPSHOTS` backends keep a copy of
        each; others hold the last one read)."""
        self.generate(messages, max_new_tokens=1)

    def choice_scores(
        self, messages: Messages, choices: list[str], prefix: str = ""
    ) -> list[float]:
        """Mean log-probability of each choice as the reply to `messages`, after `prefix`."""
        raise UnsupportedError(
            f"generator {self.name!r} cannot score answer options (multiple choice needs a "
            "local model: backend transformers or llamacpp)"
        )

    def turn(self) -> AbstractContextManager[object]:
        """Hold the model for one answer's calls (`with generator.turn(): …`). A reply, its
        verdict line and the confidence's scoring passes read the same prompt, which a local
        model (`PREFIX_CACHE`) keeps only until another prompt is read: interleaved with other
        requests' calls, each pass read its ~900-token prompt again (4 concurrent clients on
        2 cores: 18.5 s an answer against 8.9 s one at a time, docs/BENCHMARKS.md). A model
        behind a server schedules its own requests: no turn is taken there."""
        return self._turn if PREFIX_CACHE in self.capabilities else nullcontext()


def supports(generator: TextGenerator | None, capability: str) -> bool:
    return generator is not None and capability in generator.capabilities


# -- where a one-paragraph answer ends, shared by the local backends --------------------------
NewlineTokens = tuple[frozenset[int], frozenset[int], frozenset[int]]


def newline_token_sets(pieces: Iterable[tuple[int, str]]) -> NewlineTokens:
    """(ids whose text holds a blank line, ids ending in a newline, ids starting with one),
    from (token id, decoded text) pairs."""
    texts = dict(pieces)
    return (
        frozenset(i for i, t in texts.items() if "\n\n" in t),
        frozenset(i for i, t in texts.items() if t.endswith("\n")),
        frozenset(i for i, t in texts.items() if t.startswith("\n")),
    )


def ends_paragraph(newlines: NewlineTokens, generated: list[int]) -> bool:
    """Whether the answer so far has just reached a blank line (the end of a one-paragraph
    answer; small models ramble on after it)."""
    blank, ends, starts = newlines
    if not generated:
        return False
    if generated[-1] in blank:
        return True
    return len(generated) >= 2 and generated[-1] in starts and generated[-2] in ends

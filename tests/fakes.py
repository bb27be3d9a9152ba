"""Tiny deterministic stand-ins for the models, for fast unit tests."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from index.core import CoreConfig, Models, Newsrag
from retrieval.models.base import CHOICE_SCORES, BaseGenerator, TextGenerator
from retrieval.options import PipelineConfig


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar vectors."""

    name = "fake-embedder"
    dtype = "fake"

    def __init__(self, dimension: int = 64) -> None:
        self._dim = dimension

    def load(self) -> None:
        return None

    @property
    def dimension(self) -> int:
        return self._dim

    @property
    def max_tokens(self) -> int:
        return 256

    def count_tokens(self, texts: list[str]) -> list[int]:
        return [len(re.findall(r"\w+|[^\w\s]", t)) for t in texts]

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        out = np.zeros((len(texts), self._dim), dtype=np.float32)
        for i, t in enumerate(texts):
            for w in re.findall(r"\w+", t.lower()):
                h = int(hashlib.md5(w.encode()).hexdigest(), 16)
                out[i, h % self._dim] += 1.0
            norm = np.linalg.norm(out[i])
            out[i] = out[i] / norm if norm else out[i]
        return out


class Scripted(BaseGenerator):
    """Replies by the question's subject (the first key found in it), "I don't know." to
    anything else; records the prompts it was given."""

    name = "scripted"

    def __init__(self, replies: dict[str, str] | None = None) -> None:
        super().__init__()
        self.replies = replies or {}
        self.calls: list[list[dict[str, str]]] = []

    def reply_for(self, messages: list[dict[str, str]]) -> str:
        question = messages[-1]["content"].rsplit("Question:", 1)[-1].lower()
        return next((r for k, r in self.replies.items() if k in question), "I don't know.")

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        self.calls.append(messages)
        for word in re.findall(r"\S+\s*", self.reply_for(messages)):
            if cancel is not None and cancel.is_set():
                return
            yield word


class FakeGenerator(Scripted):
    """Returns one scripted reply to everything; scores choices by how many of their words
    the prompt contains."""

    name = "fake-generator"
    capabilities = frozenset({CHOICE_SCORES})

    def __init__(self, reply: str = "Four soldiers [1].") -> None:
        super().__init__()
        self.reply = reply

    def reply_for(self, messages: list[dict[str, str]]) -> str:
        return self.reply

    def choice_scores(
        self, messages: list[dict[str, str]], choices: list[str], prefix: str = ""
    ) -> list[float]:
        prompt = set(re.findall(r"\w+", messages[-1]["content"].lower()))
        return [
            sum(w in prompt for w in re.findall(r"\w+", c.lower())) / (1 + len(c)) for c in choices
        ]


# Test clients address the app as a local browser or curl would (the default Host,
# "testserver", is not a host the app serves).
LOCAL = "http://127.0.0.1"


def make_newsrag(
    index_dir: Path,
    embedder: Any,
    generator: TextGenerator | None,
    pipeline: PipelineConfig | None = None,
    **config: Any,
) -> Newsrag:
    """The system over an existing index with the given (fake or real) models. Unless a
    pipeline configuration is given, answers are not gated on the shipped confidence
    calibration (it was fitted on the real small model, not on fakes or the tiny one)."""
    pipeline = pipeline or PipelineConfig(min_confidence=0.0)
    core = CoreConfig(index_dir=index_dir, pipeline=pipeline, **config)
    return Newsrag.open(core, Models(embedder, generator))

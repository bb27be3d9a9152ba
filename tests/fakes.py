"""Tiny deterministic stand-ins for the models, for fast unit tests."""

from __future__ import annotations

import hashlib
import re
import threading
from collections.abc import Iterator

import numpy as np


class FakeEmbedder:
    """Hashed bag of words: texts sharing words get similar vectors."""

    name = "fake-embedder"

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


class FakeGenerator:
    """Returns a scripted reply and records the prompts it was given."""

    name = "fake-generator"

    def __init__(self, reply: str = "Four soldiers [1].") -> None:
        self.reply = reply
        self.calls: list[list[dict[str, str]]] = []

    def load(self) -> None:
        return None

    def generate(self, messages: list[dict[str, str]], max_new_tokens: int | None = None) -> str:
        self.calls.append(messages)
        return self.reply

    def stream(
        self,
        messages: list[dict[str, str]],
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
    ) -> Iterator[str]:
        self.calls.append(messages)
        for word in re.findall(r"\S+\s*", self.reply):
            if cancel is not None and cancel.is_set():
                return
            yield word

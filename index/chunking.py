"""Sentence-aware chunking within the embedder's token limit, with overlap.

Token counts come from the embedder's own tokenizer. WordPiece never lets a token span
whitespace, so the count of a span of whole sentences is the sum of their counts: each
sentence is tokenised once.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from retrieval.errors import InvalidInputError
from retrieval.lang.text import split_sentences
from retrieval.types import ChunkSpan

TokenCounter = Callable[[list[str]], list[int]]


@dataclass(frozen=True)
class ChunkingParams:
    max_tokens: int = 200
    overlap_tokens: int = 40

    def __post_init__(self) -> None:
        if self.max_tokens < 8:
            raise InvalidInputError(f"max_tokens must be >= 8, got {self.max_tokens}")
        if not 0 <= self.overlap_tokens < self.max_tokens:
            raise InvalidInputError(
                f"overlap_tokens must be in [0, max_tokens), got {self.overlap_tokens}"
            )


class Chunker:
    """Packs whole sentences into chunks of at most `max_tokens` tokens; consecutive chunks
    share up to `overlap_tokens` tokens of whole sentences. A sentence longer than the bound
    is split between words (or, for a single giant word, between characters)."""

    def __init__(self, count_tokens: TokenCounter, params: ChunkingParams | None = None) -> None:
        self.count_tokens = count_tokens
        self.params = params or ChunkingParams()

    def chunk(self, text: str) -> list[ChunkSpan]:
        units = self._units(text)
        if not units:
            return []
        max_t, overlap = self.params.max_tokens, self.params.overlap_tokens
        chunks: list[ChunkSpan] = []
        i = 0
        while i < len(units):
            total = 0
            j = i
            while j < len(units) and total + units[j][2] <= max_t:
                total += units[j][2]
                j += 1
            j = max(j, i + 1)  # a unit never exceeds max_t, so this only guards zero progress
            start, end = units[i][0], units[j - 1][1]
            chunks.append(ChunkSpan(ord=len(chunks), start=start, end=end, text=text[start:end]))
            if j >= len(units):
                break
            # Next chunk starts with the trailing sentences that fit in the overlap budget.
            k, tail = j, 0
            while k - 1 > i and tail + units[k - 1][2] <= overlap:
                tail += units[k - 1][2]
                k -= 1
            i = k
        return chunks

    def _units(self, text: str) -> list[tuple[int, int, int]]:
        """(start, end, tokens) pieces that each fit in max_tokens."""
        spans = split_sentences(text)
        counts = self.count_tokens([text[s:e] for s, e in spans])
        units: list[tuple[int, int, int]] = []
        for (s, e), c in zip(spans, counts, strict=True):
            if c <= self.params.max_tokens:
                units.append((s, e, c))
            else:
                units.extend(self._split_long(text, s, e))
        return units

    def _split_long(self, text: str, s: int, e: int) -> list[tuple[int, int, int]]:
        words = [(m.start() + s, m.end() + s) for m in re.finditer(r"\S+", text[s:e])]
        counts = self.count_tokens([text[a:b] for a, b in words])
        pieces: list[tuple[int, int, int]] = []
        cur_start, cur_end, cur = -1, -1, 0
        for (a, b), c in zip(words, counts, strict=True):
            if c > self.params.max_tokens:
                if cur:
                    pieces.append((cur_start, cur_end, cur))
                    cur = 0
                pieces.extend(self._split_chars(text, a, b))
                continue
            if cur and cur + c > self.params.max_tokens:
                pieces.append((cur_start, cur_end, cur))
                cur = 0
            if not cur:
                cur_start = a
            cur_end = b
            cur += c
        if cur:
            pieces.append((cur_start, cur_end, cur))
        return pieces

    def _split_chars(self, text: str, a: int, b: int) -> list[tuple[int, int, int]]:
        pieces = []
        while a < b:
            lo, hi = a + 1, b  # longest prefix within the bound (binary search)
            while lo < hi:
                mid = (lo + hi + 1) // 2
                if self.count_tokens([text[a:mid]])[0] <= self.params.max_tokens:
                    lo = mid
                else:
                    hi = mid - 1
            pieces.append((a, lo, self.count_tokens([text[a:lo]])[0]))
            a = lo
        return pieces

from __future__ import annotations

import itertools
import re

from hypothesis import given, settings
from hypothesis import strategies as st

from index.chunking import Chunker, ChunkingParams
from index.parse import load_file
from retrieval.lang.text import split_sentences
from tests.conftest import SEED_FILE


def test_sentences_respect_abbreviations():
    text = "Mr. Smith went to Washington. He met Dr. Jones at 5 p.m. Then U.S. officials spoke."
    sents = [text[s:e] for s, e in split_sentences(text)]
    assert sents == [
        "Mr. Smith went to Washington.",
        "He met Dr. Jones at 5 p.m. Then U.S. officials spoke.",
    ] or sents == [
        "Mr. Smith went to Washington.",
        "He met Dr. Jones at 5 p.m.",
        "Then U.S. officials spoke.",
    ]


def test_seed_chunks_within_real_token_bound(token_counter):
    body = load_file(SEED_FILE).body
    params = ChunkingParams(max_tokens=64, overlap_tokens=16)
    chunks = Chunker(token_counter, params).chunk(body)
    assert len(chunks) > 3
    for c in chunks:
        assert token_counter([c.text])[0] <= 64
        assert body[c.start : c.end] == c.text
    assert [c.ord for c in chunks] == list(range(len(chunks)))


_words = st.text(
    alphabet=st.characters(whitelist_categories=("Lu", "Ll", "Nd"), max_codepoint=0x24F),
    min_size=1,
    max_size=30,
)
_punct = st.sampled_from([" ", " ", " ", ". ", "! ", "? ", ", ", "\n\n", " Mr. ", "; "])
_docs = st.lists(st.tuples(_words, _punct), min_size=0, max_size=120).map(
    lambda parts: "".join(w + p for w, p in parts)
)


@settings(max_examples=150, deadline=None)
@given(
    text=_docs,
    max_tokens=st.integers(min_value=8, max_value=80),
    overlap=st.integers(min_value=0, max_value=40),
)
def test_chunker_properties(token_counter, text, max_tokens, overlap):
    overlap = min(overlap, max_tokens - 1)
    chunker = Chunker(token_counter, ChunkingParams(max_tokens=max_tokens, overlap_tokens=overlap))
    chunks = chunker.chunk(text)
    # Bound kept, spans faithful.
    for c in chunks:
        assert text[c.start : c.end] == c.text
        assert token_counter([c.text])[0] <= max_tokens
    # No text lost: every non-space character lies inside some chunk.
    covered = [False] * len(text)
    for c in chunks:
        for i in range(c.start, c.end):
            covered[i] = True
    for i, ch in enumerate(text):
        if not ch.isspace():
            assert covered[i], f"character {i} ({ch!r}) lost"
    # Chunks move forward.
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)
    # Deterministic.
    assert chunker.chunk(text) == chunks
    if not re.search(r"\S", text):
        assert chunks == []


def test_overlap_repeats_trailing_sentences(token_counter):
    text = " ".join(f"Sentence number {i} is here." for i in range(40))
    chunks = Chunker(token_counter, ChunkingParams(max_tokens=40, overlap_tokens=10)).chunk(text)
    assert len(chunks) > 2
    for a, b in itertools.pairwise(chunks):
        assert b.start < a.end, "consecutive chunks should share a sentence"


def test_giant_word_is_split(token_counter):
    text = "x" * 3000
    chunks = Chunker(token_counter, ChunkingParams(max_tokens=16, overlap_tokens=0)).chunk(text)
    assert "".join(c.text for c in chunks) == text
    assert all(token_counter([c.text])[0] <= 16 for c in chunks)

"""The first question as fast as later ones: `newsrag serve` reads the answer prompt's common
opening into the reader's cache at start, and /health says "warming" until it is done."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

from fastapi.testclient import TestClient

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from index.parse import parse_text
from retrieval.answer.prompt import build_messages
from retrieval.models.base import PREFIX_CACHE, Messages
from service.app import create_app
from service.settings import Settings
from tests.fakes import LOCAL, FakeEmbedder, FakeGenerator, make_newsrag
from tests.unit.test_store import ARTICLES


class Caching(FakeGenerator):
    """A reader with a prompt cache whose first reading waits for the test."""

    capabilities = frozenset({*FakeGenerator.capabilities, PREFIX_CACHE})

    def __init__(self) -> None:
        super().__init__()
        self.release = threading.Event()

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        self.release.wait(10)
        yield from super().stream(messages, max_new_tokens, cancel, opening)


def _rag(tmp_path, generator):
    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    return make_newsrag(tmp_path / "idx", emb, generator)


def _status(client: TestClient) -> str:
    return str(client.get("/health").json()["status"])


def test_serve_warms_the_reader_and_health_says_so(tmp_path):
    gen = Caching()
    settings = Settings(index_dir=tmp_path / "idx", warm_up=True, feed_poll_minutes=0)
    with TestClient(create_app(settings, _rag(tmp_path, gen)), base_url=LOCAL) as client:
        assert _status(client) == "warming"
        gen.release.set()
        deadline = time.monotonic() + 10
        while _status(client) == "warming" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _status(client) == "ok"
    # What was read: the answer prompt's instructions and examples, no sources, no question.
    assert gen.calls[0] == build_messages("", [])


def test_nothing_to_warm_without_a_prompt_cache_or_when_turned_off(tmp_path):
    gen = FakeGenerator()  # no prompt cache: reading ahead would save nothing
    settings = Settings(index_dir=tmp_path / "idx", warm_up=True, feed_poll_minutes=0)
    with TestClient(create_app(settings, _rag(tmp_path, gen)), base_url=LOCAL) as client:
        deadline = time.monotonic() + 10
        while _status(client) == "warming" and time.monotonic() < deadline:
            time.sleep(0.02)
        assert _status(client) == "ok"
    assert gen.calls == []
    cached = Caching()
    cached.release.set()
    off = Settings(index_dir=tmp_path / "idx", warm_up=False, feed_poll_minutes=0)
    with TestClient(create_app(off, _rag(tmp_path / "b", cached)), base_url=LOCAL) as client:
        assert _status(client) == "ok"
    assert cached.calls == []


class Interleaving(FakeGenerator):
    """A reader with a prompt cache that logs which question each call read, slowly enough
    for concurrent answers to interleave unless each holds the model for its turn."""

    capabilities = frozenset({*FakeGenerator.capabilities, PREFIX_CACHE})

    def __init__(self) -> None:
        super().__init__("Four soldiers [1].")
        self.log: list[str] = []

    def _note(self, messages: Messages) -> None:
        self.log.append(messages[-1]["content"].rsplit("Question:", 1)[-1].strip())
        time.sleep(0.02)

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        self._note(messages)
        for piece in super().stream(messages, max_new_tokens, cancel, opening):
            time.sleep(0.02)
            yield piece

    def choice_scores(
        self, messages: Messages, choices: list[str], prefix: str = ""
    ) -> list[float]:
        self._note(messages)
        return super().choice_scores(messages, choices, prefix)


def test_concurrent_answers_each_hold_the_reader_for_their_turn(tmp_path):
    """An answer's reply and the scoring passes of its confidence read one prompt, which a
    local model keeps in its cache only until another prompt is read: with four concurrent
    users, interleaved calls re-read every prompt (twice the time an answer on 2 cores)."""
    gen = Interleaving()
    rag = _rag(tmp_path, gen)
    questions = [f"How many soldiers were killed at the border, report {i}?" for i in range(3)]
    answers: list[object] = []
    threads = [threading.Thread(target=lambda q=q: answers.append(rag.ask(q))) for q in questions]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == 3
    assert len(gen.log) > 3  # each answer read its prompt more than once (reply, confidence)
    runs = [q for i, q in enumerate(gen.log) if i == 0 or gen.log[i - 1] != q]
    assert sorted(runs) == sorted(questions), gen.log  # each question's calls in one run


def test_an_answer_that_needs_no_model_does_not_queue_for_it(tmp_path):
    """An "I don't know" for lack of evidence, or a question about the article itself, is
    answered while another answer holds the reader."""
    gen = Interleaving()
    rag = _rag(tmp_path, gen)
    done: list[object] = []
    with gen.turn():  # another answer is being written
        worker = threading.Thread(
            target=lambda: done.append(rag.ask("What is the capital of France?"))
        )
        worker.start()
        worker.join(10)
        assert done and done[0].abstain_reason == "weak_evidence"  # type: ignore[attr-defined]
    assert gen.log == []

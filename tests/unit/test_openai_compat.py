"""newsrag as an OpenAI-compatible server, and newsrag using one as its generator backend."""

from __future__ import annotations

from typing import Any

import pytest
from openai import OpenAI

from retrieval.models.openai_backend import OpenAIChatGenerator
from service.app import create_app
from service.live import live_server
from service.settings import Settings
from tests.fakes import make_newsrag
from tests.unit.test_api import rag  # noqa: F401  (fixture)


@pytest.fixture
def server(rag, tmp_path):  # noqa: F811
    with live_server(create_app(Settings(index_dir=tmp_path), rag)) as url:
        yield f"{url}/v1"


def test_official_client_non_stream_and_stream(server):
    client = OpenAI(base_url=server, api_key="unused")
    assert [m.id for m in client.models.list().data] == ["newsrag"]
    q: Any = [{"role": "user", "content": "How many soldiers were killed at the border?"}]
    r = client.chat.completions.create(model="newsrag", messages=q)
    assert r.choices[0].message.content == "Four soldiers [1]."
    extra = r.model_extra or {}
    assert extra["citations"][0]["id"] == 1 and extra["citations"][0]["cited"] is True
    chunks = list(client.chat.completions.create(model="newsrag", messages=q, stream=True))
    text = "".join(c.choices[0].delta.content or "" for c in chunks)
    assert text.strip() == "Four soldiers [1]."
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert (chunks[-1].model_extra or {})["citations"]


def test_follow_up_through_openai_messages(server, rag):  # noqa: F811
    client = OpenAI(base_url=server, api_key="unused")
    client.chat.completions.create(
        model="newsrag",
        messages=[
            {"role": "system", "content": "be brief"},
            {"role": "user", "content": "Were soldiers killed?"},
            {"role": "assistant", "content": "Four soldiers [1]."},
            {"role": "user", "content": "And at which border?"},
        ],
    )
    rewrite_prompt = rag.pipeline.generator.calls[0][-1]["content"]
    assert "Were soldiers killed?" in rewrite_prompt


def test_openai_errors_are_4xx(server):
    import openai

    client = OpenAI(base_url=server, api_key="unused")
    with pytest.raises(openai.NotFoundError):
        client.chat.completions.create(model="gpt-4", messages=[{"role": "user", "content": "x"}])
    with pytest.raises(openai.UnprocessableEntityError):
        client.chat.completions.create(
            model="newsrag", messages=[{"role": "assistant", "content": "hi"}]
        )


def test_openai_backend_against_newsrag_server(server, rag):  # noqa: F811
    """A second pipeline whose generator is the first newsrag, over HTTP (stream and not)."""
    gen = OpenAIChatGenerator(server, "newsrag")
    gen.load()
    rag.pipeline.generator.reply = "Four soldiers [1]."
    remote = make_newsrag(
        rag.config.index_dir,
        rag.models.embedder,
        gen,
        rag.config.pipeline,
        store_url=rag.config.store_url,
    )
    # The remote server answers the prompt's last user message: sources + question.
    answer = remote.ask("How many soldiers were killed at the border?")
    assert answer.answer.startswith("Four soldiers")
    events = list(remote.ask_stream("How many soldiers were killed at the border?"))
    assert events[0].event == "sources" and events[-1].event == "done"
    assert "".join(e.data["text"] for e in events if e.event == "token").startswith("Four")
    with pytest.raises(Exception, match="does not serve"):
        OpenAIChatGenerator(server, "other-model").load()

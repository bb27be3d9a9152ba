"""News-native answers: time in the question, outlets, quotes (fake models)."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.find.timefilter import time_window
from tests.unit.test_api import rag  # noqa: F401  (fixture)
from tests.unit.test_documents_api import client  # noqa: F401  (fixture)

FRI = date(2024, 9, 20)  # a Friday
SUN = date(2024, 9, 22)


@pytest.mark.parametrize(
    ("question", "as_of", "expected"),
    [
        # (published_from, published_to, focus); None: no window
        (
            "What happened at the Armenian border last week?",
            FRI,
            ("2024-09-09", "2024-09-20", "2024-09-20"),
        ),
        (
            "What did the bank decide in September 2024?",
            date(2026, 11, 28),
            ("2024-09-01", "2026-11-28", "2024-10-07"),
        ),
        ("Who resigned yesterday?", FRI, ("2024-09-19", "2024-09-20", "2024-09-20")),
        ("What did parliament pass this year?", FRI, ("2024-01-01", "2024-09-20", None)),
        ("Which company announced a merger this week?", FRI, ("2024-09-14", "2024-09-20", None)),
        ("What happened on September 5, 2024?", FRI, ("2024-09-05", "2024-09-20", "2024-09-12")),
        ("What happened on 5 Sept?", FRI, ("2024-09-05", "2024-09-20", "2024-09-12")),
        ("What has changed since March 2024?", FRI, ("2024-03-01", "2024-09-20", None)),
        ("What happened in December?", FRI, None),  # a month still to come is not a filter
        ("Which flights are cut during November?", date(2022, 8, 19), None),
        ("What happened in May?", FRI, ("2024-05-01", "2024-09-20", "2024-06-07")),
        ("How much did the royal family cost last year?", FRI, ("2023-01-01", "2024-09-20", None)),
        ("What happened in 2023?", FRI, ("2023-01-01", "2024-09-20", None)),
        ("What was reported in the past three days?", FRI, ("2024-09-17", "2024-09-20", None)),
        ("What happened two weeks ago?", FRI, ("2024-09-02", "2024-09-20", "2024-09-15")),
        ("What did the minister say last month?", FRI, ("2024-08-01", "2024-09-20", "2024-09-07")),
        ("Who won the 2020 election?", FRI, None),  # names an event, not a time of coverage
        ("Rents are up on a year ago: by how much?", FRI, None),
        ("The plague may have started 600 years ago where?", FRI, None),
        ("Is the May election still on?", FRI, None),
        ("How many soldiers were killed?", FRI, None),
        # a weekend: the latest one, or the one before it ("last weekend" asked on a Sunday)
        ("What happened over the weekend?", FRI, ("2024-09-14", "2024-09-20", "2024-09-20")),
        ("What happened over the weekend?", SUN, ("2024-09-21", "2024-09-22", "2024-09-22")),
        ("What happened last weekend?", SUN, ("2024-09-14", "2024-09-22", "2024-09-22")),
        ("Any protests planned this weekend?", FRI, None),  # still to come
        ("What happened this past weekend?", SUN, ("2024-09-21", "2024-09-22", "2024-09-22")),
        ("What happened this past weekend?", FRI, ("2024-09-14", "2024-09-20", "2024-09-20")),
        # a vague count: the most it usually means
        ("What happened in the past few days?", FRI, ("2024-09-15", "2024-09-20", None)),
        ("Any news over the last couple of weeks?", FRI, ("2024-09-06", "2024-09-20", None)),
        ("What changed over the past several months?", FRI, ("2024-02-23", "2024-09-20", None)),
        ("It rained a few days ago: where?", FRI, None),  # not a window: how many is unsaid
        # a time word inside a name: the outlet "USA Today", not the day
        ("How did USA Today report the strike?", FRI, None),
        ("What did USA Today report today?", FRI, ("2024-09-20", "2024-09-20", "2024-09-20")),
        ("Today, who resigned?", FRI, ("2024-09-20", "2024-09-20", "2024-09-20")),
    ],
)
def test_time_expressions(question, as_of, expected):
    w = time_window(question, as_of)
    if expected is None:
        assert w is None, w
        return
    assert w is not None
    got = (
        w.published_from.isoformat(),
        w.published_to.isoformat(),
        w.focus.isoformat() if w.focus else None,
    )
    assert got == expected


def test_question_window_is_applied_and_reported(client):  # noqa: F811
    r = client.post(
        "/ask",
        json={
            "question": "How many soldiers were killed at the border yesterday?",
            "as_of": "2024-09-21",
        },
    ).json()
    assert r["filters_applied"] == {
        "published_from": "2024-09-20",
        "published_to": "2024-09-21",
        "sources": [],
        "from_question": "yesterday",
    }
    assert r["abstained"] is False
    # The window excludes the only article that answers: the sources are silent for it.
    r = client.post(
        "/ask",
        json={
            "question": "How many soldiers were killed at the border yesterday?",
            "as_of": "2024-10-05",
        },
    ).json()
    assert r["abstained"] is True and r["filters_applied"]["from_question"] == "yesterday"


def test_explicit_filters_win(client):  # noqa: F811
    body = {
        "question": "How many soldiers were killed at the border last week?",
        "as_of": "2024-09-21",
        "filters": {"published_from": "2024-09-01", "published_to": "2024-09-30"},
    }
    r = client.post("/ask", json=body).json()
    assert r["filters_applied"]["published_from"] == "2024-09-01"
    assert r["filters_applied"]["from_question"] is None


def test_sources_filter_and_outlet(client):  # noqa: F811
    art = {
        "title": "Flamingos at the border lake",
        "text": "Four flamingos were seen at the border lake, rangers said on Friday.",
        "url": "https://www.example.org/flamingos",
    }
    assert client.post("/documents", json={"articles": [art]}).status_code == 200
    doc = client.get("/documents", params={"source": "example.org"}).json()["items"][0]
    assert doc["source"] == "example.org"  # from the URL's host
    q = {"query": "four border", "top_k": 10}
    hits = client.post("/search", json={**q, "filters": {"sources": ["EXAMPLE.org"]}}).json()
    assert {h["article_id"] for h in hits["results"]} == {doc["id"]}
    none = client.post("/search", json={**q, "filters": {"sources": ["other.example"]}}).json()
    assert none["results"] == []


def test_cited_sources_carry_a_quote_from_their_text(client):  # noqa: F811
    r = client.post("/ask", json={"question": "How many soldiers were killed at the border?"})
    cited = [c for c in r.json()["citations"] if c["cited"]]
    assert cited and all(c["quote"] and c["quote"] in c["text"] for c in cited)
    assert "Four soldiers" in cited[0]["quote"]
    assert r.json()["answer_id"]


def test_feedback_is_kept_with_its_answer_and_exported(client, rag, tmp_path):  # noqa: F811
    import json

    from typer.testing import CliRunner

    from service.cli import app
    from service.evals.feedback import read_export, replay

    q = "How many soldiers were killed at the border?"
    answer = client.post("/ask", json={"question": q, "as_of": "2024-09-21"}).json()
    streamed = client.post("/ask/stream", json={"question": "What did farmers celebrate?"})
    done = next(ln for ln in streamed.text.split("\n\n") if ln.startswith("event: done"))
    stream_id = json.loads(done.split("data: ", 1)[1])["answer_id"]
    r = client.post(
        "/feedback", json={"answer_id": answer["answer_id"], "rating": "up", "comment": "right"}
    )
    assert r.status_code == 200 and r.json()["stored"] is True
    assert (
        client.post("/feedback", json={"answer_id": stream_id, "rating": "down"}).status_code == 200
    )
    # Unknown ids, bad ratings and odd text are refused.
    assert client.post("/feedback", json={"answer_id": "0" * 32, "rating": "up"}).status_code == 404
    bad = client.post("/feedback", json={"answer_id": answer["answer_id"], "rating": "meh"})
    assert bad.status_code == 422
    odd = client.post(
        "/feedback", json={"answer_id": answer["answer_id"], "rating": "up", "comment": "\u200b"}
    )
    assert odd.status_code == 422
    metrics = client.get("/metrics").text
    assert 'newsrag_feedback_stored{rating="up"} 1.0' in metrics
    assert 'newsrag_feedback_total{rating="down"} 1.0' in metrics

    out = tmp_path / "ratings.jsonl"
    from service.settings import get_settings

    url = {"NEWSRAG_STORE_URL": rag.config.store_url} if rag.config.store_url else {}
    get_settings.cache_clear()  # the CLI reads its settings (the store URL) from the environment
    result = CliRunner().invoke(
        app, ["feedback", "export", "--out", str(out), "--index", str(tmp_path / "idx")], env=url
    )
    get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    records = read_export(out)
    assert [r["rating"] for r in records] == ["up", "down"]
    first = records[0]
    assert first["question"] == q and first["as_of"] == "2024-09-21" and first["comment"] == "right"
    assert first["answer"] == answer["answer"] and first["citations"][0]["quote"]
    summary = replay(rag, records, tmp_path / "replay")
    assert summary["up"] == 1 and summary["up_kept_pct"] == 100.0 and summary["regressions"] == []
    rag.pipeline.generator.reply = "Eleven soldiers [1]."  # a changed answer is a regression
    assert replay(rag, records[:1], tmp_path / "replay2")["regressions"] == [q]


def test_a_rating_can_reach_another_replica(tmp_path, rag):  # noqa: F811
    """Behind a load balancer the rating may land on another process than the answer: the
    answers are kept in the shared feedback file, not in one process's memory."""
    from index.feedback import FeedbackStore

    answer = rag.ask("How many soldiers were killed at the border?")
    one, two = FeedbackStore(tmp_path / "fb.sqlite"), FeedbackStore(tmp_path / "fb.sqlite")
    one.remember(answer, None)
    assert two.rate(answer.answer_id, "up", None)["stored"] is True
    assert [r["answer_id"] for r in one.export()] == [answer.answer_id]
    blocked = tmp_path / "a-file"
    blocked.write_text("not a directory")
    mem = FeedbackStore(blocked / "fb.sqlite")  # cannot be written: answers stay in memory
    mem.remember(answer, None)
    assert mem._recent and mem._persist is False

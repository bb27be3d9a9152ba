"""What the chat page opens with (`GET /overview`) and adding a link from it (`POST /links`):
suggestions drawn from the newest articles, a page or a feed told apart by its content, and
the attacks a page on the same machine can make."""

from __future__ import annotations

from datetime import date

import pytest
from fastapi.testclient import TestClient

from index.parse import parse_text
from retrieval.answer.kinds import QuestionType, question_type
from service.app import create_app
from service.overview import names, suggest_questions
from service.settings import Settings
from tests.fakes import LOCAL
from tests.fixtures.archive import ARCHIVE
from tests.unit.test_feeds import _rag, rss, site  # noqa: F401  (site is a fixture)

HARBOUR = parse_text(
    "2025-03-02\n\nHarbour bridge reopens after repairs\n\n"
    "The harbour bridge in Lindqvist reopened on Monday. Engineers from Marrow Works replaced "
    "forty cables. The mayor of Lindqvist thanked Marrow Works. Buses from Osterby crossed at "
    "dawn, and Lindqvist's ferries stopped."
)


def test_names_skip_sentence_openers_and_stop_words():
    found = names(HARBOUR)
    assert found["Lindqvist"] == 3  # the possessive counts as the name
    assert found["Marrow Works"] == 2
    assert "The" not in found and "Engineers" not in found and "Buses" not in found


def test_suggestions_come_from_the_newest_articles():
    arts = sorted(ARCHIVE, key=lambda a: a.published or date.min, reverse=True)
    got = suggest_questions(arts[:3])
    assert got[0] == f"Summarize “{arts[0].title}”."
    assert any(q.startswith("What's the latest on ") for q in got)
    assert len(got) == 4 and len(set(got)) == 4
    # Every suggestion is a question the pipeline reads as what it is meant to be.
    assert all(question_type(q) is QuestionType.OPEN for q in got)
    assert suggest_questions([]) == []
    long = parse_text("2025-01-01\n\n" + "Word " * 60 + "\n\nBody of the long one. It is short.")
    assert len(suggest_questions([long])[0]) < 110  # a long title is cut at a word, with …


@pytest.fixture
def client(tmp_path):
    rag = _rag(tmp_path, allow_private=True)
    settings = Settings(
        index_dir=tmp_path / "idx", allow_private_urls=True, fetch_host_delay=0, feed_poll_minutes=0
    )
    with TestClient(create_app(settings, rag), base_url=LOCAL, client=("127.0.0.1", 5000)) as c:
        yield c


def test_overview_lists_newest_feeds_and_suggestions(client, site):  # noqa: F811
    client.post("/feeds", json={"url": site.url("/port.atom")})
    body = client.get("/overview").json()
    assert body["articles"] == len(body["newest"]) or len(body["newest"]) == 5
    dates = [h["published"] for h in body["newest"] if h["published"]]
    assert dates == sorted(dates, reverse=True)
    assert body["suggestions"][0].startswith("Summarize “")
    assert [f["url"] for f in body["feeds"]] == [site.url("/port.atom")]
    assert body["writable"] is True


def test_a_link_is_told_apart_by_its_content(client, site):  # noqa: F811
    before = client.get("/documents").json()["total"]
    r = client.post("/links", json={"url": site.url("/bridge.html")})
    assert r.status_code == 200, r.text
    assert r.json()["kind"] == "article" and len(r.json()["added"]) == 1
    assert r.json()["titles"] == ["Harbour bridge reopens"]
    again = client.post("/links", json={"url": site.url("/bridge.html")}).json()
    assert again["added"] == [] and again["duplicates"] == r.json()["added"]
    # A feed is registered and polled at once: its items are answerable right away.
    feed = client.post("/links", json={"url": site.url("/city.rss")}).json()
    assert feed["kind"] == "feed" and feed["feed_created"] is True
    assert len(feed["added"]) == 1  # the pelicans page; the other two items fail, and say so
    assert any("gone.html" in e for e in feed["errors"])
    assert client.get("/documents").json()["total"] == before + 2
    assert feed["feed"]["title"] == "City Gazette"
    assert [p for p, _ in site.log].count("/city.rss") == 1  # fetched once, not again to poll


@pytest.mark.parametrize(
    ("path", "why"),
    [("/cookies.html", "article"), ("/gone.html", "404"), ("/notafeed", "")],
)
def test_a_link_with_nothing_to_add_is_refused_and_nothing_is_written(
    client,
    site,  # noqa: F811
    path,
    why,
):
    before = client.get("/documents").json()["total"]
    r = client.post("/links", json={"url": site.url(path)})
    assert r.status_code == 422, r.text
    assert why in r.json()["detail"]
    assert client.get("/documents").json()["total"] == before
    assert client.get("/feeds").json()["feeds"] == []


def test_links_are_refused_across_sites_remotely_and_to_private_addresses(tmp_path, site):  # noqa: F811
    rag = _rag(tmp_path, allow_private=False)
    settings = Settings(index_dir=tmp_path / "idx", feed_poll_minutes=0)
    app = create_app(settings, rag)
    with TestClient(app, base_url=LOCAL, client=("127.0.0.1", 5000)) as c:
        # Another site's page, in a browser on this machine, posting a link.
        r = c.post(
            "/links",
            json={"url": "https://example.org/"},
            headers={"Origin": "https://evil.example", "Sec-Fetch-Site": "cross-site"},
        )
        assert r.status_code == 403 and "cross-site" in r.json()["detail"]
        for url in ("http://127.0.0.1:9/x", "http://169.254.169.254/latest/", "file:///etc/passwd"):
            r = c.post("/links", json={"url": url})
            assert r.status_code == 422, (url, r.text)
        assert c.post("/links", json={"url": site.url("/bridge.html")}).status_code == 422
        assert c.post("/links", json={"link": "x"}).status_code == 422
    with TestClient(app, base_url=LOCAL, client=("203.0.113.9", 5000)) as c:
        r = c.post("/links", json={"url": "https://example.org/"})
        assert r.status_code == 403  # not from this machine, and no API key is set
    assert rag.list_articles()[1] == 3 and rag.list_feeds() == []


def test_with_protected_reads_the_overview_needs_the_key(tmp_path):
    rag = _rag(tmp_path, allow_private=True)
    settings = Settings(
        index_dir=tmp_path / "idx", api_key="k" * 20, protect_reads=True, feed_poll_minutes=0
    )
    with TestClient(create_app(settings, rag), base_url=LOCAL) as c:
        assert c.get("/overview").status_code == 401
        ok = c.get("/overview", headers={"Authorization": "Bearer " + "k" * 20})
        assert ok.status_code == 200 and ok.json()["newest"]

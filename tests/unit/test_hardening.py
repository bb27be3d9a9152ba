"""Regression tests for what a hostile or careless client tried (issue #13, items 4-8): each
failed on the code before the fix."""

from __future__ import annotations

import json
import sqlite3

import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from index.parse import parse_text
from retrieval.store.directory import IndexStore
from retrieval.types import text_hash
from tests.fakes import FakeEmbedder
from tests.unit.test_api import rag  # noqa: F401  (fixture)
from tests.unit.test_documents_api import ARTICLE, client, make_client  # noqa: F401

H = {"content-type": "application/json"}


def _total(c) -> int:
    return int(c.get("/documents").json()["total"])


# -- 4. HTML with no article; dates only from metadata ----------------------------------------
COOKIE_WALL = (
    "<html><head><title>Cookies</title></head><body><nav>Home | About</nav>"
    "<div>We use cookies. Accept all.</div><footer>\u00a9 2024 Example</footer></body></html>"
)
STORY = (
    "<p>The harbour bridge reopened on Monday after eight months of repairs, the city said, "
    "and the first buses crossed it at dawn.</p><p>Engineers replaced forty steel cables and "
    "resurfaced the whole deck; the work cost less than planned.</p>"
)


def test_html_page_without_an_article_is_refused(client):  # noqa: F811
    before = _total(client)
    r = client.post("/documents", files=[("files", ("wall.html", COOKIE_WALL.encode()))])
    assert r.status_code == 422, r.text
    assert "no article" in r.json()["detail"] and "wall.html" in r.json()["detail"]
    assert _total(client) == before


def test_html_date_comes_from_metadata_not_a_copyright_footer(client):  # noqa: F811
    page = (
        "<html><head><title>Bridge reopens</title></head><body><article><h1>Bridge reopens</h1>"
        f"{STORY}</article><footer>\u00a9 2024 Example News</footer></body></html>"
    )
    r = client.post("/documents", files=[("files", ("a.html", page.encode()))])
    assert r.status_code == 200, r.text
    assert client.get(f"/documents/{r.json()['added'][0]}").json()["published"] is None
    dated = page.replace(
        "<head>", '<head><meta property="article:published_time" content="2024-03-05T08:00:00Z">'
    ).replace("Bridge reopens", "Harbour bridge reopens")
    dated = dated.replace("at dawn", "at sunrise")
    r = client.post("/documents", files=[("files", ("b.html", dated.encode()))])
    assert client.get(f"/documents/{r.json()['added'][0]}").json()["published"] == "2024-03-05"


# -- 5. Dedup by text; a PUT that duplicates another article's text -----------------------------
def test_same_text_under_another_title_is_a_duplicate(client):  # noqa: F811
    first = client.post("/documents", json={"articles": [ARTICLE]}).json()["added"][0]
    retitled = {**ARTICLE, "title": "Lake sees pelicans back", "text": ARTICLE["text"].upper()}
    r = client.post("/documents", json={"articles": [retitled]})
    assert r.json() == {"added": [], "updated": [], "duplicates": [first]}


def test_put_with_another_articles_text_is_409_and_changes_nothing(client):  # noqa: F811
    client.put("/documents/one", json=ARTICLE)
    other = {**ARTICLE, "title": "Other", "text": "A different story about flamingos entirely."}
    client.put("/documents/two", json=other)
    r = client.put("/documents/two", json={**ARTICLE, "title": "Copy"})
    assert r.status_code == 409 and "'one'" in r.json()["detail"], r.text
    assert client.get("/documents/two").json()["title"] == "Other"
    # Writing an article's own text again is a no-op, not a conflict.
    r = client.put("/documents/one", json=ARTICLE)
    assert r.status_code == 200 and r.json()["duplicates"] == ["one"]


def test_old_indexes_are_rehashed_by_text_once(tmp_path):
    emb = FakeEmbedder()
    params = ChunkingParams(max_tokens=32, overlap_tokens=8)
    store = open_or_create(tmp_path / "idx", emb, params)
    a = parse_text("2024-01-02\n\nFirst title\n\nThe same body text about a harbour bridge.")
    Indexer(store, emb).ingest_articles([a])
    store.close()
    # As an index written before dedup ignored titles: the hash covered the title too.
    db = sqlite3.connect(tmp_path / "idx" / "store.sqlite")
    with db:
        db.execute("UPDATE articles SET content_hash = id")
        db.execute("DELETE FROM meta WHERE key = 'text_hash'")
    db.close()
    store = IndexStore.open(tmp_path / "idx")
    assert store.find_content(text_hash(a.body)) == a.id
    b = parse_text("2024-01-03\n\nSecond title\n\nThe same body text about a harbour bridge.")
    report = Indexer(store, emb).ingest_articles([b])
    assert report.added == [] and report.duplicates == [a.id]
    store.close()


# -- 6. Status codes -----------------------------------------------------------------------------
@pytest.mark.parametrize("path", ["/search", "/ask", "/documents/x1", "/v1/chat/completions"])
@pytest.mark.parametrize(
    ("body", "needle"),
    [(b"[" * 5000 + b"]" * 5000, "nested"), (b'{"query": "\xff\xfe"}', "UTF-8")],
)
def test_unparseable_bodies_are_422(client, path, body, needle):  # noqa: F811
    method = "PUT" if path.startswith("/documents") else "POST"
    r = client.request(method, path, content=body, headers=H)
    assert r.status_code == 422, r.text
    assert needle in r.json()["detail"]


def test_oversized_chunked_body_is_413(rag, tmp_path):  # noqa: F811
    def chunks():
        for _ in range(8):
            yield b" " * 1024

    with make_client(rag, tmp_path, max_body_bytes=4096) as c:
        for method, path in (("POST", "/search"), ("POST", "/ask"), ("PUT", "/documents/x1")):
            r = c.request(method, path, content=chunks(), headers=H)
            assert r.status_code == 413, (path, r.text)
            assert "NEWSRAG_MAX_BODY_BYTES" in r.json()["detail"]


def test_media_type_is_case_insensitive(client):  # noqa: F811
    body = json.dumps({"articles": [ARTICLE]})
    r = client.post("/documents", content=body, headers={"content-type": "Application/JSON"})
    assert r.status_code == 200, r.text


def test_authentication_comes_before_validation(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, api_key="s3cret", protect_reads=True) as c:
        for method, path in (("PUT", "/documents/x1"), ("POST", "/documents"), ("POST", "/ask")):
            r = c.request(method, path, content=b"{bad", headers=H)
            assert r.status_code == 401, (path, r.text)
            assert r.headers["www-authenticate"] == "Bearer"


def test_every_api_route_is_guarded_when_reads_are_protected(rag, tmp_path):  # noqa: F811
    """Access is decided in one place; a route added later cannot forget it."""
    public = {"/health"}
    with make_client(rag, tmp_path, api_key="s3cret", protect_reads=True) as c:
        paths = c.get("/openapi.json").json()["paths"]
        for path, ops in paths.items():
            for method in ops:
                r = c.request(method.upper(), path.replace("{article_id}", "x1"))
                if path in public:
                    assert r.status_code == 200
                else:
                    assert r.status_code == 401, (method, path, r.status_code)
        assert c.get("/metrics").status_code == 401


# -- 7. One id rule; strict dates -----------------------------------------------------------------
@pytest.mark.parametrize("bad_id", ["..", ".hidden", "caf\u00e9", "a" * 129, "a b"])
def test_one_id_rule_everywhere(client, bad_id):  # noqa: F811
    before = _total(client)
    # (a client normalises '..' out of a URL path; escaped, it reaches the server as '..')
    path = "%2E%2E" if bad_id == ".." else bad_id
    r = client.put(f"/documents/{path}", json=ARTICLE)
    assert r.status_code == 422 and "article_id" in r.json()["detail"], r.text
    r = client.post("/documents", json={"articles": [{**ARTICLE, "id": bad_id}]})
    assert r.status_code == 422 and "id" in r.json()["detail"]
    line = json.dumps({**ARTICLE, "id": bad_id}).encode()
    r = client.post("/documents", files=[("files", ("a.jsonl", line))])
    assert r.status_code == 422 and "not a valid id" in r.json()["detail"], r.text
    assert _total(client) == before


@pytest.mark.parametrize("value", ["2024-01-01xyz", "12/11/2024", "yesterday", "2024-13-01"])
def test_jsonl_dates_are_iso_or_refused(client, value):  # noqa: F811
    line = json.dumps({**ARTICLE, "published": value}).encode()
    r = client.post("/documents", files=[("files", ("a.jsonl", line))])
    assert r.status_code == 422 and "published" in r.json()["detail"], r.text
    ok = json.dumps({**ARTICLE, "published": "2024-11-12T09:30:00Z"}).encode()
    r = client.post("/documents", files=[("files", ("b.jsonl", ok))])
    doc = client.get(f"/documents/{r.json()['added'][0]}").json()
    assert doc["published"] == "2024-11-12"
    client.delete(f"/documents/{doc['id']}")


# -- 8. Leaks and offline breakage ----------------------------------------------------------------
def test_health_shows_only_status_without_the_key(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, api_key="s3cret", protect_reads=True) as c:
        assert c.get("/health").json() == {"status": "ok"}
        full = c.get("/health", headers={"Authorization": "Bearer s3cret"}).json()
        assert full["articles"] >= 1 and full["embedder"] == "fake-embedder"


def test_api_docs_need_no_network(client):  # noqa: F811
    page = client.get("/docs").text
    assert "http://" not in page and "https://" not in page
    for asset in ("swagger-ui-bundle.js", "swagger-ui.css"):
        assert client.get(f"/docs/assets/{asset}").status_code == 200
    assert client.get("/redoc").status_code == 404  # ReDoc would load from a CDN

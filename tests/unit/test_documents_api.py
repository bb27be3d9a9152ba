"""Articles API, access control, limits and metrics, with fake models."""

from __future__ import annotations

import json

import pytest
from fastapi.testclient import TestClient

from service.app import create_app
from service.settings import Settings
from tests.fakes import LOCAL
from tests.unit.test_api import rag  # noqa: F401  (fixture)

LOOPBACK = ("127.0.0.1", 50000)
REMOTE = ("203.0.113.9", 50000)


def make_client(system, tmp_path, client=LOOPBACK, **settings):
    return TestClient(
        create_app(Settings(index_dir=tmp_path / "idx", **settings), system),
        client=client,
        base_url=LOCAL,
    )


@pytest.fixture
def client(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path) as c:
        yield c


ARTICLE = {
    "title": "Pelicans return to the lake",
    "text": "Two hundred pelicans returned to the city lake this week, rangers said.",
    "published": "2024-10-01",
    "url": "https://example.org/pelicans",
    "source": "example.org",
}


def test_add_list_show_delete_cycle(client):
    r = client.post("/documents", json={"articles": [ARTICLE]})
    assert r.status_code == 200, r.text
    added = r.json()["added"]
    assert len(added) == 1 and r.json()["duplicates"] == []
    doc_id = added[0]
    again = client.post("/documents", json={"articles": [ARTICLE]}).json()
    assert again == {"added": [], "updated": [], "duplicates": [doc_id]}
    page = client.get("/documents", params={"limit": 2}).json()
    assert page["total"] == 4 and page["items"][0]["id"] == doc_id  # newest first
    only = client.get("/documents", params={"source": "example.org"}).json()
    assert [d["id"] for d in only["items"]] == [doc_id]
    ranged = client.get("/documents", params={"published_to": "2024-09-21"}).json()
    assert ranged["total"] == 2
    shown = client.get(f"/documents/{doc_id}").json()
    assert shown["title"] == ARTICLE["title"] and shown["chunks"] >= 1
    hit = client.post("/search", json={"query": "pelicans lake rangers"}).json()["results"][0]
    assert hit["article_id"] == doc_id
    assert client.delete(f"/documents/{doc_id}").status_code == 200
    assert client.get(f"/documents/{doc_id}").status_code == 404
    results = client.post("/search", json={"query": "pelicans lake rangers", "top_k": 50}).json()
    assert all(x["article_id"] != doc_id for x in results["results"])
    assert client.delete(f"/documents/{doc_id}").status_code == 404


def test_put_replaces_chunks(client):
    r = client.put("/documents/pelicans-1", json=ARTICLE)
    assert r.json()["added"] == ["pelicans-1"]
    new = {**ARTICLE, "text": "Flamingos, not pelicans, now crowd the city lake, rangers said."}
    r = client.put("/documents/pelicans-1", json=new)
    assert r.json()["updated"] == ["pelicans-1"]
    hits = client.post("/search", json={"query": "flamingos crowd", "top_k": 50}).json()["results"]
    texts = [h["text"] for h in hits if h["article_id"] == "pelicans-1"]
    assert texts and all("Flamingos" in t for t in texts)
    assert client.get("/documents").json()["total"] == 4


def test_multipart_upload_of_each_format(client):
    html = (
        "<html><head><title>Storm hits coast</title></head><body><nav>Home | Login</nav>"
        "<article><p>A storm damaged two hundred homes along the coast on Tuesday, officials "
        "said, and thousands lost power overnight.</p><p>Crews worked through the night to "
        "clear fallen trees from the coastal road, which reopened on Wednesday morning.</p>"
        "</article>"
        "<footer>Cookie policy</footer></body></html>"
    )
    jsonl = "\n".join(
        json.dumps({**ARTICLE, "title": f"T{i}", "text": f"Story {i} text."}) for i in range(3)
    )
    files = [
        ("files", ("a.txt", b"2024-10-02\n\nBridge opens\n\nThe new bridge opened.", "text/plain")),
        ("files", ("b.md", b"# Library expands\n\nThe library added a wing.", "text/markdown")),
        ("files", ("c.html", html.encode(), "text/html")),
        ("files", ("d.jsonl", jsonl.encode(), "application/jsonl")),
    ]
    r = client.post("/documents", files=files)
    assert r.status_code == 200, r.text
    assert len(r.json()["added"]) == 6
    titles = {d["title"] for d in client.get("/documents", params={"limit": 100}).json()["items"]}
    assert {"Bridge opens", "Library expands", "Storm hits coast", "T0"} <= titles
    storm = next(
        d for d in client.get("/documents").json()["items"] if d["title"] == "Storm hits coast"
    )
    assert storm["chars"] < 300  # navigation and footer were dropped


@pytest.mark.parametrize(
    ("kwargs", "status", "needle"),
    [
        ({"json": {"articles": [{**ARTICLE, "title": ""}]}}, 422, "title"),
        ({"json": {"articles": []}}, 422, "articles"),
        ({"json": {"articles": [{**ARTICLE, "published": "someday"}]}}, 422, "published"),
        ({"json": {"articles": [{**ARTICLE, "url": "file:///etc/passwd"}]}}, 422, "url"),
        ({"json": {"articles": [{**ARTICLE, "path": "/etc/passwd"}]}}, 422, "path"),
        ({"content": b"{bad", "headers": {"content-type": "application/json"}}, 422, "JSON"),
        ({"files": [("files", ("x.pdf", b"%PDF", "application/pdf"))]}, 422, "unsupported"),
        ({"files": [("files", ("x.txt", b"\xff\xfe\x81", "text/plain"))]}, 422, "UTF-8"),
        ({"files": [("files", ("x.jsonl", b'{"title": 1}', "text/plain"))]}, 422, "line 1"),
        ({"content": b"hello", "headers": {"content-type": "text/plain"}}, 415, "json"),
    ],
)
def test_bad_uploads_are_rejected_and_nothing_is_written(client, kwargs, status, needle):
    before = client.get("/documents").json()["total"]
    r = client.post("/documents", **kwargs)
    assert r.status_code == status, r.text
    assert needle.lower() in r.json()["detail"].lower()
    assert client.get("/documents").json()["total"] == before


def test_limits(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, max_body_bytes=2048, max_files=2, max_article_chars=500) as c:
        big = {"articles": [{**ARTICLE, "text": "x " * 5000}]}
        r = c.post("/documents", json=big)
        assert r.status_code == 413 and "too large" in r.json()["detail"]
        files = [("files", (f"{i}.txt", b"T\n\nbody", "text/plain")) for i in range(3)]
        r = c.post("/documents", files=files)
        assert r.status_code == 413 and "at most 2 files" in r.json()["detail"]
        r = c.post("/documents", json={"articles": [{**ARTICLE, "text": "word " * 150}]})
        assert r.status_code == 422 and "500" in r.json()["detail"]


def test_writes_need_loopback_without_key(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, client=REMOTE) as c:
        r = c.post("/documents", json={"articles": [ARTICLE]})
        assert r.status_code == 403 and "NEWSRAG_API_KEY" in r.json()["detail"]
        assert c.delete("/documents/x").status_code == 403
        assert c.post("/search", json={"query": "soldiers"}).status_code == 200


def test_api_key_guards_writes_and_optionally_reads(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, client=REMOTE, api_key="s3cret") as c:
        assert c.post("/documents", json={"articles": [ARTICLE]}).status_code == 401
        bad = {"Authorization": "Bearer wrong"}
        assert c.post("/documents", json={"articles": [ARTICLE]}, headers=bad).status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert c.post("/documents", json={"articles": [ARTICLE]}, headers=ok).status_code == 200
        assert c.get("/documents").status_code == 200
    with make_client(rag, tmp_path, api_key="s3cret", protect_reads=True) as c:
        assert c.post("/search", json={"query": "x"}).status_code == 401
        assert c.get("/documents").status_code == 401
        ok = {"Authorization": "Bearer s3cret"}
        assert c.post("/search", json={"query": "x"}, headers=ok).status_code == 200


def test_metrics_count_requests_errors_and_stages(client):
    client.post("/ask", json={"question": "How many soldiers were killed at the border?"})
    client.post("/ask", json={"question": ""})
    text = client.get("/metrics").text
    assert 'newsrag_requests_total{endpoint="/ask",method="POST",status="200"} 1.0' in text
    assert 'newsrag_errors_total{endpoint="/ask",status="422"} 1.0' in text
    assert 'newsrag_stage_seconds_count{stage="generate"} 1.0' in text
    assert "newsrag_index_articles 3.0" in text


def test_metrics_report_query_batching(rag, tmp_path):  # noqa: F811
    from tests.fakes import make_newsrag

    batching = make_newsrag(
        rag.config.index_dir,
        rag.models.embedder,
        None,
        rag.config.pipeline,
        query_batching=True,
        store_url=rag.config.store_url,
    )
    with make_client(batching, tmp_path) as c:
        for q in ("border soldiers", "harvest festival"):
            assert c.post("/search", json={"query": q}).status_code == 200
        text = c.get("/metrics").text
    assert "newsrag_queries_embedded 2.0" in text
    assert "newsrag_query_embedding_passes 2.0" in text
    assert "newsrag_prompt_tokens_reused 0.0" in text


JSONL_OVERWRITE = (
    b'{"id": "victim", "title": "Hijacked", "text": "Planted text for the victim article."}\n'
)


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Origin": "http://127.0.0.1:3000"},  # another local site: same site, other origin
        {"Sec-Fetch-Site": "cross-site"},
        {"Sec-Fetch-Site": "same-site", "Origin": "http://localhost:5173"},
    ],
)
def test_cross_site_writes_are_refused(client, headers):
    """A page in a local browser is on loopback too: its multipart POST (no preflight) must
    not add, replace or delete articles."""
    client.put("/documents/victim", json={"title": "Original", "text": "The original text."})
    before = client.get("/documents/victim").json()
    files = [("files", ("a.jsonl", JSONL_OVERWRITE, "application/x-ndjson"))]
    r = client.post("/documents", files=files, headers=headers)
    assert r.status_code == 403 and "cross-site" in r.json()["detail"]
    assert client.delete("/documents/victim", headers=headers).status_code == 403
    r = client.put("/documents/victim", json={"title": "x", "text": "y z"}, headers=headers)
    assert r.status_code == 403
    assert client.get("/documents/victim").json() == before


def test_same_origin_and_non_browser_writes_pass(client):
    ok = {"Origin": "http://127.0.0.1", "Sec-Fetch-Site": "same-origin"}
    assert client.post("/documents", json={"articles": [ARTICLE]}, headers=ok).status_code == 200
    assert client.get("/documents").status_code == 200


def test_allowed_origin_can_write(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, allowed_origins=["https://ui.example"]) as c:
        h = {"Origin": "https://ui.example", "Sec-Fetch-Site": "cross-site"}
        assert c.post("/documents", json={"articles": [ARTICLE]}, headers=h).status_code == 200


def test_unknown_host_is_refused(client):
    """DNS rebinding: evil.example resolves to 127.0.0.1 and the browser sends its name."""
    for method, path in (("GET", "/documents"), ("POST", "/search"), ("DELETE", "/documents/x")):
        r = client.request(method, path, headers={"Host": "evil.example"}, json={"query": "a"})
        assert r.status_code == 400 and "NEWSRAG_ALLOWED_HOSTS" in r.json()["detail"]
    assert client.get("/health", headers={"Host": "localhost:8000"}).status_code == 200


def test_ipv4_mapped_loopback_counts_as_local(rag, tmp_path):  # noqa: F811
    with make_client(rag, tmp_path, client=("::ffff:127.0.0.1", 50000)) as c:
        assert c.post("/documents", json={"articles": [ARTICLE]}).status_code == 200


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("\\ud800 lone surrogate", "surrogate"),
        ("has a \\u0000 NUL", "NUL"),
        ("\\u200b\\u200b\\u200d", "invisible"),
    ],
)
def test_text_that_cannot_be_stored_is_422_naming_the_field(client, text, why):
    before = client.get("/documents").json()["total"]
    line = b'{"title": "T", "text": "' + text.encode() + b'"}\n'
    r = client.post("/documents", files=[("files", ("a.jsonl", line, "application/x-ndjson"))])
    assert r.status_code == 422 and "text" in r.json()["detail"], r.text
    assert why.lower() in r.json()["detail"].lower()
    body = b'{"articles": [{"title": "T", "text": "' + text.encode() + b'"}]}'
    r = client.post("/documents", content=body, headers={"content-type": "application/json"})
    # (pydantic's JSON parser refuses a lone surrogate escape as malformed JSON)
    detail = r.json()["detail"]
    assert r.status_code == 422 and ("text" in detail or "malformed JSON" in detail), r.text
    assert client.get("/documents").json()["total"] == before


def test_lone_surrogates_in_questions_are_422(client):
    for path, field in (("/ask", "question"), ("/search", "query")):
        body = b'{"' + field.encode() + b'": "why \\ud800?"}'
        r = client.post(path, content=body, headers={"content-type": "application/json"})
        assert r.status_code == 422 and field in r.json()["detail"], r.text
    body = (
        b'{"model": "newsrag", "messages": [{"role": "user", "content": '
        b'[{"type": "text", "text": "why \\ud800?"}]}]}'
    )
    r = client.post(
        "/v1/chat/completions", content=body, headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and "content" in r.json()["detail"], r.text
    r = client.post(
        "/v1/chat/completions",
        json={"model": "newsrag", "messages": [{"role": "user", "content": [{"type": 5}]}]},
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "http://[oops/story",
        "https://[::1",
        "ftp://example.com/a",
        "http://",
        "http://example.com:99999/a",  # a port out of range: the fetcher's check, shared
    ],
)
def test_a_malformed_url_is_422_and_nothing_is_written(client, url):
    """Found by the API fuzzer: a URL the standard library cannot split ("http://[…") was a
    500 on PUT /documents/{id} (its host names the outlet)."""
    before = client.get("/documents").json()["total"]
    r = client.put("/documents/a1", json={**ARTICLE, "url": url})
    assert r.status_code == 422 and "url" in r.json()["detail"], r.text
    r = client.post("/documents", json={"articles": [{**ARTICLE, "url": url}]})
    assert r.status_code == 422 and "url" in r.json()["detail"], r.text
    assert client.get("/documents").json()["total"] == before

"""Feeds end to end over real HTTP (a local server with fixture feeds and pages; fake
models): register, poll, answer with a quote, conditional GET, broken feeds and pages, SSRF."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from index.chunking import ChunkingParams
from index.fetch import FetchConfig, Fetcher, UnsafeURLError
from index.ingest import Indexer, open_or_create
from index.parse import parse_text
from retrieval.options import PipelineConfig
from service.app import create_app
from service.settings import Settings
from tests.fakes import LOCAL, FakeEmbedder, FakeGenerator, make_newsrag
from tests.fixtures.webserver import Page, Site, serve
from tests.unit.test_store import ARTICLES


def article_page(title: str, date: str, *paragraphs: str) -> Page:
    body = "".join(f"<p>{p}</p>" for p in paragraphs)
    return Page(
        (
            f"<html><head><title>{title}</title>"
            f'<meta property="article:published_time" content="{date}T09:00:00Z">'
            f'<meta name="author" content="Ana Reporter"></head>'
            f"<body><nav>Home | World | Sport</nav><article><h1>{title}</h1>{body}</article>"
            "<footer>Cookie settings</footer></body></html>"
        ).encode()
    )


def rss(title: str, items: list[tuple[str, str]]) -> Page:
    entries = "".join(
        f"<item><title>{t}</title><link>{link}</link><guid>{link}</guid>"
        "<pubDate>Fri, 20 Sep 2024 09:00:00 GMT</pubDate></item>"
        for t, link in items
    )
    xml = (
        '<?xml version="1.0"?><rss version="2.0">'
        f"<channel><title>{title}</title>{entries}</channel></rss>"
    )
    return Page(xml.encode(), "application/rss+xml", etag='"rss-v1"')


def atom(title: str, items: list[tuple[str, str]]) -> Page:
    entries = "".join(
        f'<entry><title>{t}</title><link href="{link}"/><id>{link}</id>'
        "<updated>2024-09-21T09:00:00Z</updated></entry>"
        for t, link in items
    )
    xml = (
        '<?xml version="1.0" encoding="utf-8"?><feed xmlns="http://www.w3.org/2005/Atom">'
        f"<title>{title}</title>{entries}</feed>"
    )
    return Page(xml.encode(), "application/atom+xml", etag='"atom-v1"')


PELICANS = (
    "Two hundred pelicans returned to the city lake this week, rangers said on Friday.",
    "The birds had left the lake two years ago when a drought dried its northern shore, and "
    "volunteers spent the summer replanting reeds along the water's edge.",
)
BRIDGE = (
    "The harbour bridge reopened on Monday after eight months of repairs, the city said.",
    "Engineers replaced forty steel cables and resurfaced the deck; the work cost less than "
    "planned and buses crossed the bridge again at dawn.",
)


@pytest.fixture
def site():
    s = Site()
    with serve(s):
        s.pages.update(
            {
                "/pelicans.html": article_page(
                    "Pelicans return to the lake", "2024-09-20", *PELICANS
                ),
                "/bridge.html": article_page("Harbour bridge reopens", "2024-09-21", *BRIDGE),
                "/cookies.html": Page(
                    b"<html><body><div>We use cookies. Accept all.</div></body></html>"
                ),
                "/broken.xml": Page(b"<rss><channel><item>oops", "application/rss+xml"),
                "/notafeed": Page(b"\x00\x01 binary junk", "application/octet-stream"),
            }
        )
        s.pages["/city.rss"] = rss(
            "City Gazette",
            [
                ("Pelicans", s.url("/pelicans.html")),
                ("Gone", s.url("/gone.html")),  # 404
                ("Cookie wall", s.url("/cookies.html")),  # no article
            ],
        )
        s.pages["/port.atom"] = atom("Port News", [("Bridge", s.url("/bridge.html"))])
        yield s


def _rag(tmp_path, allow_private: bool):
    emb = FakeEmbedder()
    store = open_or_create(tmp_path / "idx", emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    return make_newsrag(
        tmp_path / "idx",
        emb,
        FakeGenerator(),
        PipelineConfig(min_score=0.3, min_confidence=0.0),
        fetch=FetchConfig(allow_private=allow_private, host_delay=0),
    )


@pytest.fixture
def rag(tmp_path):
    return _rag(tmp_path, allow_private=True)


@pytest.fixture
def client(rag, tmp_path):
    settings = Settings(
        index_dir=tmp_path / "idx", allow_private_urls=True, fetch_host_delay=0, feed_poll_minutes=0
    )
    with TestClient(create_app(settings, rag), base_url=LOCAL, client=("127.0.0.1", 5000)) as c:
        yield c


def test_feeds_end_to_end(client, site, rag):
    ids = {}
    for path in ("/city.rss", "/port.atom", "/broken.xml", "/notafeed"):
        r = client.post("/feeds", json={"url": site.url(path)})
        assert r.status_code == 201, r.text
        ids[path] = r.json()["id"]
    again = client.post("/feeds", json={"url": site.url("/city.rss")})
    assert again.status_code == 200 and again.json()["id"] == ids["/city.rss"]

    results = {r["feed_id"]: r for r in client.post("/feeds/poll").json()["results"]}
    city, port = results[ids["/city.rss"]], results[ids["/port.atom"]]
    assert len(city["added"]) == 1 and len(port["added"]) == 1
    assert any("gone.html: HTTP 404" in e for e in city["errors"])
    assert any("cookies.html: no article" in e for e in city["errors"])
    assert "malformed feed" in results[ids["/broken.xml"]]["errors"][0]
    assert "malformed feed" in results[ids["/notafeed"]]["errors"][0]

    doc = client.get(f"/documents/{city['added'][0]}").json()
    assert doc["source"] == "City Gazette" and doc["published"] == "2024-09-20"
    assert doc["author"] == "Ana Reporter" and doc["url"] == site.url("/pelicans.html")
    assert client.get(f"/documents/{port['added'][0]}").json()["source"] == "Port News"

    rag.pipeline.generator.reply = "Two hundred pelicans [1]."
    r = client.post("/ask", json={"question": "How many pelicans returned to the city lake?"})
    body = r.json()
    assert body["abstained"] is False, body
    cited = [c for c in body["citations"] if c["cited"]]
    assert cited[0]["source"] == "City Gazette"
    assert "Two hundred pelicans returned" in cited[0]["quote"]
    assert cited[0]["quote"] in cited[0]["text"]

    fetched = len(site.log)
    second = {r["feed_id"]: r for r in client.post("/feeds/poll").json()["results"]}
    assert all(not r["added"] for r in second.values())
    new_requests = site.log[fetched:]
    assert ("/city.rss", 304) in new_requests and ("/port.atom", 304) in new_requests
    assert not any(path.endswith(".html") for path, _ in new_requests)  # nothing fetched twice
    assert site.agents == {a for a in site.agents if a.startswith("newsrag/")}

    feeds = {f["id"]: f for f in client.get("/feeds").json()["feeds"]}
    assert feeds[ids["/city.rss"]]["items_added"] == 1
    assert feeds[ids["/city.rss"]]["last_status"] == 304
    assert "malformed" in feeds[ids["/broken.xml"]]["last_error"]
    metrics = client.get("/metrics").text
    assert f'newsrag_feed_items_added{{feed="{site.url("/city.rss")}"}} 1.0' in metrics

    assert client.delete(f"/feeds/{ids['/broken.xml']}").status_code == 200
    assert client.delete(f"/feeds/{ids['/broken.xml']}").status_code == 404
    assert len(client.get("/feeds").json()["feeds"]) == 3


def test_documents_from_urls(client, site):
    r = client.post("/documents", json={"urls": [site.url("/bridge.html")]})
    assert r.status_code == 200 and len(r.json()["added"]) == 1, r.text
    before = client.get("/documents").json()["total"]
    r = client.post(
        "/documents", json={"urls": [site.url("/pelicans.html"), site.url("/gone.html")]}
    )
    assert r.status_code == 422 and "gone.html" in r.json()["detail"]
    assert client.get("/documents").json()["total"] == before  # all or nothing
    r = client.post("/documents", json={"urls": [site.url("/bridge.html")], "articles": []})
    assert r.status_code == 422


@pytest.mark.parametrize(
    "url",
    [
        "file:///etc/passwd",
        "ftp://example.org/feed",
        "http://169.254.169.254/latest/meta-data/",  # cloud metadata (link-local)
        "http://127.0.0.1:9/feed",
        "http://[::1]/feed",
        "http://10.0.0.8/feed",
        "http://localhost/feed",
        "http://user:pw@example.org/feed",
        "javascript:alert(1)",
        "http://[oops/feed",  # the standard library cannot split it: was a 500
        "http://example.org:99999/feed",
    ],
)
def test_unsafe_feed_urls_are_refused(tmp_path, url):
    settings = Settings(index_dir=tmp_path / "idx", feed_poll_minutes=0)
    system = _rag(tmp_path, allow_private=False)
    with TestClient(create_app(settings, system), base_url=LOCAL, client=("127.0.0.1", 5000)) as c:
        r = c.post("/feeds", json={"url": url})
        assert r.status_code == 422, r.text
        assert c.get("/feeds").json()["feeds"] == []
        r = c.post("/documents", json={"urls": [url]})
        assert r.status_code == 422, r.text


def test_redirect_hops_and_the_connected_address_are_checked(site, monkeypatch):
    """A public page may redirect to a private address, and a name may resolve to a public
    address at the check and a private one at the connection (DNS rebinding). Simulated: the
    fixture server (loopback) passes the name check as if it were public."""
    import index.fetch as fetch

    real = fetch.check_url

    def pretend_public(url: str, allow_private: bool = False) -> str:
        return url if url.startswith(site.base) else real(url, allow_private)

    monkeypatch.setattr(fetch, "check_url", pretend_public)
    fetcher = Fetcher(FetchConfig(allow_private=False, host_delay=0))
    # The connection lands on 127.0.0.1: refused before the body is read.
    with pytest.raises(UnsafeURLError, match=r"connected to 127\.0\.0\.1"):
        fetcher.get(site.url("/pelicans.html"))
    # A redirect from the "public" page to the metadata address is refused at the hop.
    monkeypatch.setattr(fetch.Fetcher, "_check_peer", lambda self, resp, url: None)
    site.pages["/hop"] = Page(b"", status=302, location="http://169.254.169.254/latest/")
    with pytest.raises(UnsafeURLError, match=r"169\.254\.169\.254"):
        fetcher.get(site.url("/hop"))
    assert ("/hop", 302) in site.log


def test_oversized_pages_are_refused(site):
    site.pages["/huge.html"] = Page(b"<p>" + b"x" * 50_000 + b"</p>")
    fetcher = Fetcher(FetchConfig(allow_private=True, host_delay=0, max_bytes=10_000))
    with pytest.raises(Exception, match="larger than 10000 bytes"):
        fetcher.get(site.url("/huge.html"))

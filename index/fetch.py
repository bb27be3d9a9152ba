"""Fetching pages and feeds from the web as a careful, polite client.

Every URL comes from outside (a feed someone registered, a link inside that feed, a list sent
to `POST /documents`), so: only http(s); the host must resolve to public addresses only (no
loopback, private, link-local — e.g. a cloud metadata address — or reserved ranges) unless
private addresses are explicitly allowed; redirects are followed by hand and each hop is checked
the same way; after connecting, the peer's address is checked again (a DNS answer that changed
between the check and the connection — rebinding — is caught before the body is read); bodies
are capped; each request has a timeout; requests to one host are spaced by a delay; the
User-Agent says who we are; conditional GET (ETag / Last-Modified) saves everyone's bandwidth.
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

import httpx

from index.formats import http_url_parts
from retrieval.errors import InvalidInputError

USER_AGENT = "newsrag/0.1 (local news question answering; feed reader)"
MAX_REDIRECTS = 5


class UnsafeURLError(InvalidInputError):
    """A URL newsrag will not fetch (scheme, or an address it must not reach)."""


class FetchError(Exception):
    """A fetch that failed (network, HTTP status, size); the message says why."""

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status  # the HTTP status, when the server answered with an error


@dataclass(frozen=True)
class FetchConfig:
    timeout: float = 10.0
    max_bytes: int = 5 * 1024 * 1024
    host_delay: float = 1.0  # seconds between two requests to the same host
    allow_private: bool = False  # tests serve fixtures from 127.0.0.1


@dataclass
class Fetched:
    url: str  # after redirects
    status: int
    content: bytes
    etag: str | None = None
    last_modified: str | None = None
    content_type: str = ""


def _address_problem(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    if ip.is_global and not ip.is_multicast:
        return None
    return f"{ip} is not a public address"


def check_url(url: str, allow_private: bool = False) -> str:
    """The URL if newsrag may fetch it; UnsafeURLError (422) says why not."""
    if not isinstance(url, str) or len(url) > 2000:
        raise UnsafeURLError("url: must be a string of at most 2000 characters")
    try:
        parts = http_url_parts(url)
    except ValueError as exc:
        raise UnsafeURLError(f"url: {exc}") from exc
    if parts.username or parts.password:
        raise UnsafeURLError("url: credentials in URLs are not accepted")
    if allow_private:
        return url.strip()
    try:
        infos = socket.getaddrinfo(parts.hostname, parts.port or 443, proto=socket.IPPROTO_TCP)
    except (socket.gaierror, UnicodeError) as exc:
        raise UnsafeURLError(f"url: cannot resolve {parts.hostname!r} ({exc})") from None
    for info in infos:
        problem = _address_problem(ipaddress.ip_address(info[4][0]))
        if problem:
            raise UnsafeURLError(
                f"url: {parts.hostname} resolves to {problem}; set "
                "NEWSRAG_ALLOW_PRIVATE_URLS=true to fetch from private networks"
            )
    return url.strip()


class Fetcher:
    """A shared HTTP client with the rules above. Thread-safe."""

    def __init__(self, config: FetchConfig | None = None) -> None:
        self.config = config or FetchConfig()
        self._client = httpx.Client(
            timeout=self.config.timeout,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
            trust_env=False,  # no proxy from the environment: the address checks must hold
        )
        self._last: dict[str, float] = {}
        self._lock = threading.Lock()

    def close(self) -> None:
        self._client.close()

    def _wait_for_host(self, host: str) -> None:
        with self._lock:
            now = time.monotonic()
            ready = self._last.get(host, 0.0) + self.config.host_delay
            self._last[host] = max(now, ready)
        if ready > now:
            time.sleep(ready - now)

    def get(self, url: str, etag: str | None = None, last_modified: str | None = None) -> Fetched:
        """GET with the checks; 304 is returned as is (status 304, no content). Raises
        UnsafeURLError for a refused URL or hop, FetchError for everything else."""
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        for _ in range(MAX_REDIRECTS + 1):
            check_url(url, self.config.allow_private)
            self._wait_for_host(urlsplit(url).hostname or "")
            try:
                with self._client.stream("GET", url, headers=headers) as resp:
                    self._check_peer(resp, url)
                    if resp.is_redirect and "location" in resp.headers:
                        url = urljoin(url, resp.headers["location"])
                        continue
                    if resp.status_code == 304:
                        return Fetched(url, 304, b"", etag, last_modified)
                    if resp.status_code >= 400:
                        raise FetchError(f"{url}: HTTP {resp.status_code}", resp.status_code)
                    declared = resp.headers.get("content-length", "")
                    if declared.isdigit() and int(declared) > self.config.max_bytes:
                        raise FetchError(f"{url}: larger than {self.config.max_bytes} bytes")
                    body = bytearray()
                    for chunk in resp.iter_bytes():
                        body += chunk
                        if len(body) > self.config.max_bytes:
                            raise FetchError(f"{url}: larger than {self.config.max_bytes} bytes")
                    return Fetched(
                        url,
                        resp.status_code,
                        bytes(body),
                        resp.headers.get("etag"),
                        resp.headers.get("last-modified"),
                        resp.headers.get("content-type", ""),
                    )
            except httpx.TimeoutException:
                raise FetchError(f"{url}: timed out after {self.config.timeout:g} s") from None
            except httpx.HTTPError as exc:
                raise FetchError(f"{url}: {type(exc).__name__}: {exc}") from None
        raise FetchError(f"{url}: more than {MAX_REDIRECTS} redirects")

    def _check_peer(self, resp: httpx.Response, url: str) -> None:
        """The address actually connected to must pass the same rule (DNS rebinding)."""
        if self.config.allow_private:
            return
        stream = resp.extensions.get("network_stream")
        peer = stream.get_extra_info("server_addr") if stream is not None else None
        if not peer:
            return
        problem = _address_problem(ipaddress.ip_address(peer[0]))
        if problem:
            raise UnsafeURLError(f"url: {urlsplit(url).hostname} connected to {problem}")

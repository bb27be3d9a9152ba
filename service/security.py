"""Access control and request limits."""

from __future__ import annotations

import hmac
import ipaddress
import json
from collections.abc import Mapping
from typing import Literal

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.settings import Settings


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host == "localhost"
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped  # a local client seen as ::ffff:127.0.0.1
    return ip.is_loopback


SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CrossSiteGuardMiddleware:
    """Refuses state-changing requests that a browser sent on behalf of another site.

    A page open in a local browser is on loopback too, and a form or multipart POST needs no
    CORS preflight: without this, any web site could add, replace or delete articles through
    the visitor's browser. Browsers say where a request comes from (`Sec-Fetch-Site`,
    `Origin`); clients that send neither (curl, SDKs, the CLI) are not browsers and pass."""

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self.app = app
        self.allowed = {o.rstrip("/").lower() for o in allowed_origins}

    def _cross_site(self, scope: Scope) -> str | None:
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        origin = headers.get("origin", "").rstrip("/").lower()
        fetch_site = headers.get("sec-fetch-site", "").lower()
        if origin and origin in self.allowed:
            return None
        if fetch_site and fetch_site not in ("same-origin", "none"):
            return f"Sec-Fetch-Site: {fetch_site}"
        if origin:
            scheme = scope.get("scheme", "http")
            host = headers.get("host", "").lower()
            if origin == "null" or origin != f"{scheme}://{host}":
                return f"Origin {origin} is not this server"
        return None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["method"] not in SAFE_METHODS:
            why = self._cross_site(scope)
            if why is not None:
                detail = (
                    f"cross-site request refused ({why}); to allow a web app, add its origin "
                    "to NEWSRAG_ALLOWED_ORIGINS"
                )
                await _send_json(send, 403, {"detail": detail})
                return
        await self.app(scope, receive, send)


async def _send_json(
    send: Send, status: int, payload: dict[str, str], headers: Mapping[str, str] | None = None
) -> None:
    body = json.dumps(payload).encode()
    extra = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in (headers or {}).items()]
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                *extra,
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


class TrustedHostMiddleware:
    """Answers only requests addressed to a configured host name: a DNS-rebinding page
    (evil.example resolving to 127.0.0.1) reaches this server with `Host: evil.example`."""

    def __init__(self, app: ASGIApp, allowed_hosts: list[str]) -> None:
        self.app = app
        self.any = "*" in allowed_hosts
        self.allowed = {h.lower() for h in allowed_hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and not self.any:
            host = ""
            for k, v in scope["headers"]:
                if k == b"host":
                    host = v.decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in self.allowed and host not in self.allowed:
                detail = (
                    f"host {host or '(none)'!r} is not served here; set NEWSRAG_ALLOWED_HOSTS "
                    "to the names clients use"
                )
                await _send_json(send, 400, {"detail": detail})
                return
        await self.app(scope, receive, send)


def _bearer_ok(request: Request, key: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), key.encode())  # constant time


# Where access is decided, for every route at once, before anything reads a body (FastAPI
# parses and validates a body before route dependencies run, so a per-route check would let a
# client without the key get 422s that describe the API).
PUBLIC_PATHS = frozenset({"/", "/health", "/docs", "/openapi.json"})
PUBLIC_PREFIXES = ("/static/", "/docs/")
WRITE_PREFIXES = ("/documents", "/feeds", "/links")


def access_needed(method: str, path: str) -> Literal["read", "write"] | None:
    """What a request needs: writes change articles or feeds; everything else but the chat page,
    `/health` (which then shows only its status) and the API documentation is a read."""
    if path in PUBLIC_PATHS or path.startswith(PUBLIC_PREFIXES):
        return None
    if method not in SAFE_METHODS and path.startswith(WRITE_PREFIXES):
        return "write"
    return "read"


def check_access(request: Request, settings: Settings, write: bool) -> None:
    """Writes need the API key when one is set, else a loopback client. Reads need the key only
    with NEWSRAG_PROTECT_READS."""
    key = settings.api_key.get_secret_value() if settings.api_key else None
    if key:
        if (write or settings.protect_reads) and not _bearer_ok(request, key):
            raise HTTPException(
                status_code=401,
                detail="missing or wrong API key: send 'Authorization: Bearer <NEWSRAG_API_KEY>'",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return
    if write and not _is_loopback(request.client.host if request.client else None):
        raise HTTPException(
            status_code=403,
            detail="writes are only allowed from this machine unless NEWSRAG_API_KEY is set",
        )


def may_read(request: Request, settings: Settings) -> bool:
    try:
        check_access(request, settings, write=False)
    except HTTPException:
        return False
    return True


class AccessMiddleware:
    """Applies `access_needed` to every request before the app sees it."""

    def __init__(self, app: ASGIApp, settings: Settings) -> None:
        self.app = app
        self.settings = settings

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            need = access_needed(scope["method"], scope["path"])
            if need is not None:
                try:
                    check_access(Request(scope), self.settings, write=need == "write")
                except HTTPException as exc:
                    await _send_json(send, exc.status_code, {"detail": exc.detail}, exc.headers)
                    return
        await self.app(scope, receive, send)


class BodyLimitMiddleware:
    """Rejects request bodies over `max_bytes` with 413, whether or not Content-Length is sent,
    before the app reads them into memory."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        length = headers.get(b"content-length")
        if length is not None and length.isdigit() and int(length) > self.max_bytes:
            await self._reject(send)
            return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    raise _TooLarge(self.max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except _TooLarge:
            if not started:
                await self._reject(send)

    async def _reject(self, send: Send) -> None:
        await _send_json(send, 413, {"detail": _too_large_detail(self.max_bytes)})


class _TooLarge(HTTPException):
    """Raised while the body is read; an HTTPException so FastAPI's body parsing passes it
    on as a 413 instead of turning it into "400 error parsing the body"."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, _too_large_detail(max_bytes))


def _too_large_detail(max_bytes: int) -> str:
    return f"request body too large: the limit is {max_bytes} bytes (NEWSRAG_MAX_BODY_BYTES)"

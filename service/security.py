"""Access control and request limits."""

from __future__ import annotations

import hmac
import ipaddress

from fastapi import HTTPException, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from service.settings import Settings


def _is_loopback(host: str | None) -> bool:
    if not host:
        return False
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


def _bearer_ok(request: Request, key: str) -> bool:
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        return False
    return hmac.compare_digest(token.strip().encode(), key.encode())  # constant time


def check_access(request: Request, write: bool) -> None:
    """Writes need the API key when one is set, else a loopback client. Reads need the key only
    with NEWSRAG_PROTECT_READS."""
    settings: Settings = request.app.state.settings
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


def require_write(request: Request) -> None:
    check_access(request, write=True)


def require_read(request: Request) -> None:
    check_access(request, write=False)


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
                    raise _TooLarge()
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
        body = (
            b'{"detail": "request body too large: the limit is '
            + str(self.max_bytes).encode()
            + b' bytes (NEWSRAG_MAX_BODY_BYTES)"}'
        )
        await send(
            {
                "type": "http.response.start",
                "status": 413,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class _TooLarge(Exception):
    pass

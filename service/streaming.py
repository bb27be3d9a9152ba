"""One Server-Sent Events response for every streaming door (`/ask/stream` and the
OpenAI-compatible stream): the first event is computed before the response starts (so bad input
and a missing index still get a plain 4xx/5xx), a client that disconnects stops the model at its
next token, and a failure after the start becomes an `error` event instead of a cut stream."""

from __future__ import annotations

import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from retrieval.errors import NewsragError
from retrieval.options import StreamEvent

logger = logging.getLogger(__name__)

Frame = Callable[[StreamEvent], list[str]]


class _SSEResponse(StreamingResponse):
    """A stream that runs `on_close` however it ends. Starlette stops iterating when a send
    fails on a closed connection without closing the body iterator, so a `finally` inside it
    would only run at garbage collection; this hook stops the model at once."""

    def __init__(self, content: Any, on_close: Callable[[], None], **kwargs: Any) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()


def error_event(exc: BaseException) -> StreamEvent:
    if isinstance(exc, NewsragError):
        return StreamEvent("error", {"detail": exc.detail, "status": exc.status})
    detail = f"internal error ({type(exc).__name__}); see the server log"
    return StreamEvent("error", {"detail": detail, "status": 500})


async def sse_response(
    events: Iterator[StreamEvent],
    request: Request,
    cancel: threading.Event,
    frame: Frame,
    metrics: Any = None,
    head: list[str] | None = None,
    tail: list[str] | None = None,
) -> StreamingResponse:
    """Stream `events` as SSE, each turned into wire frames by `frame`; `head` and `tail` are
    sent first and last (e.g. the OpenAI role chunk and `[DONE]`)."""
    first = await run_in_threadpool(next, events)  # raises bad input as a plain HTTP error

    async def body() -> AsyncIterator[str]:
        try:
            for line in head or []:
                yield line
            event: StreamEvent | None = first
            while event is not None:
                if event.event == "done" and metrics is not None:
                    metrics.observe_timings(event.data.get("timings_ms", {}))
                for line in frame(event):
                    yield line
                if await request.is_disconnected():
                    return
                event = await run_in_threadpool(next, events, None)
            for line in tail or []:
                yield line
        except Exception as exc:
            logger.exception("stream failed")
            for line in frame(error_event(exc)):
                yield line
        finally:
            # On completion, on disconnect (polled between events) and on cancellation: the
            # model stops at its next token.
            cancel.set()

    return _SSEResponse(
        body(),
        on_close=cancel.set,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

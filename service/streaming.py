"""One Server-Sent Events response for every streaming door (`/ask/stream` and the
OpenAI-compatible stream): the first event is computed before the response starts (so bad input
and a missing index still get a plain 4xx/5xx), a client that disconnects stops the model at its
next token, and a failure after the start becomes an `error` event instead of a cut stream."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import anyio
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import StreamingResponse

from retrieval.errors import NewsragError
from retrieval.options import StreamEvent

logger = logging.getLogger(__name__)

Frame = Callable[[StreamEvent], list[str]]


class _SSEResponse(StreamingResponse):
    """A stream that runs `on_close` and closes the answer's `events` however it ends.
    Starlette stops iterating when a send fails on a closed connection without closing the
    body iterator, so a `finally` inside it would only run at garbage collection; this hook
    stops the model at once and closes the answer, which gives back the reader it holds for
    its turn."""

    def __init__(
        self,
        content: Any,
        on_close: Callable[[], None],
        events: Iterator[StreamEvent],
        **kwargs: Any,
    ) -> None:
        super().__init__(content, **kwargs)
        self.on_close = on_close
        self.events = events

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        try:
            await super().__call__(scope, receive, send)
        finally:
            self.on_close()
            with anyio.CancelScope(shield=True):  # also when the request was cancelled
                await run_in_threadpool(close_events, self.events)


def close_events(events: Iterator[StreamEvent], wait: float = 30.0) -> None:
    """Close a stream of events; when a worker thread is still inside it, after that step
    ends (it stops at the cancelled model's next token)."""
    close = getattr(events, "close", None)
    if close is None:
        return
    deadline = time.monotonic() + wait
    while getattr(events, "gi_running", False) and time.monotonic() < deadline:
        time.sleep(0.01)
    try:
        close()
    except ValueError:  # still running after `wait`: it ends when its model does
        logger.warning("an answer's stream could not be closed after %.0f s", wait)


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
        events=events,
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )

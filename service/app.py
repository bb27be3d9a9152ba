"""The FastAPI app: thin routes over the core pipeline."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exception_handlers import http_exception_handler
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from index.core import Models, Newsrag
from retrieval.errors import IndexMismatchError, IndexNotFoundError, NewsragError
from retrieval.options import StreamEvent
from service.deps import NewsragDep
from service.documents import build_router
from service.feeds import build_router as feeds_router
from service.loading import build_models, core_config
from service.metrics import Metrics, MetricsMiddleware
from service.openai_api import build_router as openai_router
from service.overview import build_router as overview_router
from service.schemas import (
    AskRequest,
    AskResponse,
    ErrorResponse,
    FeedbackIn,
    FeedbackOut,
    HealthResponse,
    SearchRequest,
    SearchResponse,
    describe_errors,
)
from service.security import (
    AccessMiddleware,
    BodyLimitMiddleware,
    CrossSiteGuardMiddleware,
    TrustedHostMiddleware,
    may_read,
)
from service.settings import Settings, get_settings
from service.streaming import sse_response

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"
# Swagger UI's files as shipped in a wheel (imported for its path only).
SWAGGER_ASSETS = Path(str(resources.files("fastapi_swagger") / "resources"))


def _sse_frame(event: StreamEvent) -> list[str]:
    return [f"event: {event.event}\ndata: {json.dumps(event.data, ensure_ascii=False)}\n\n"]


class Holder:
    """Owns the system; retries opening the index on demand (at most every few seconds, and
    without loading models again) so an index built after the service started is picked up
    without a restart."""

    RETRY_SECONDS = 2.0

    def __init__(self, settings: Settings, newsrag: Newsrag | None) -> None:
        self.settings = settings
        self.newsrag = newsrag
        self.models: Models | None = newsrag.models if newsrag else None
        self.error: NewsragError | None = None
        self.warming = False
        self._tried = 0.0
        self._lock = threading.Lock()

    def load(self) -> None:
        with self._lock:
            if self.newsrag is not None:
                return
            if self.models is None:
                self.models = build_models(self.settings)
            now = time.monotonic()
            if self.error is not None and now - self._tried < self.RETRY_SECONDS:
                return
            self._tried = now
            try:
                newsrag = Newsrag.open(core_config(self.settings), self.models)
            except (IndexNotFoundError, IndexMismatchError) as exc:
                self.error = exc
                logger.error("%s", exc)
                return
            self.models.load()
            self.newsrag, self.error = newsrag, None

    def warm(self) -> None:
        """Warm the system (`Newsrag.warm`) while /health says "warming"; a failure is logged
        and the service answers anyway, only the first question slower."""
        try:
            rag = self.get()
            t0 = time.perf_counter()
            if rag.warm():
                logger.info("reader warmed in %.1f s", time.perf_counter() - t0)
        except Exception:
            logger.exception("warming up failed; the first question will be slower")
        finally:
            self.warming = False

    def get(self) -> Newsrag:
        if self.newsrag is None:
            self.load()
        if self.newsrag is None:
            raise self.error or IndexNotFoundError("index is not available")
        return self.newsrag


async def poll_feeds_forever(holder: Holder, minutes: float) -> None:
    """The service's own feed reader: poll every registered feed, then wait. A failed poll is
    logged and recorded in the feed's status; the loop goes on."""
    await asyncio.sleep(5)  # let the server finish starting
    while True:
        rag = holder.newsrag
        if rag is not None:
            try:
                for result in await run_in_threadpool(rag.poll_feeds):
                    if result.added or result.errors:
                        logger.info(
                            "feed %s: %d added, errors: %s",
                            result.feed_id,
                            len(result.added),
                            "; ".join(result.errors) or "none",
                        )
            except Exception:
                logger.exception("polling feeds failed")
        await asyncio.sleep(minutes * 60)


def create_app(settings: Settings | None = None, newsrag: Newsrag | None = None) -> FastAPI:
    """The app; tests inject a ready `newsrag`, otherwise models load once in the lifespan."""
    settings = settings or get_settings()
    holder = Holder(settings, newsrag)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder.load()
        if settings.warm_up and holder.newsrag is not None:
            holder.warming = True
            threading.Thread(target=holder.warm, name="warm-up", daemon=True).start()
        poller = None
        standby = holder.newsrag is not None and holder.newsrag.store.readonly
        if settings.feed_poll_minutes > 0 and not settings.readonly and not standby:
            poller = asyncio.create_task(poll_feeds_forever(holder, settings.feed_poll_minutes))
        yield
        if poller is not None:
            poller.cancel()

    app = FastAPI(
        title="newsrag",
        version="0.1.0",
        summary="Question answering over news articles, with cited answers, fully local.",
        lifespan=lifespan,
        docs_url=None,  # served below from local assets: the default loads them from a CDN
        redoc_url=None,
        responses={503: {"model": ErrorResponse, "description": "index or model unavailable"}},
    )
    app.state.holder = holder
    app.state.settings = settings
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.add_middleware(AccessMiddleware, settings=settings)
    app.add_middleware(CrossSiteGuardMiddleware, allowed_origins=settings.allowed_origins)
    app.add_middleware(TrustedHostMiddleware, allowed_hosts=settings.allowed_hosts)
    app.include_router(build_router())
    app.include_router(feeds_router())
    app.include_router(openai_router())
    app.include_router(overview_router())

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = describe_errors(exc.errors())
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> Response:
        # FastAPI answers 400 "error parsing the body" for bodies json.loads cannot take
        # (too deeply nested, not UTF-8): they are invalid input, 422, and say so.
        cause = exc.__cause__
        if exc.status_code == 400 and cause is not None:
            if isinstance(cause, RecursionError):
                detail = "body: JSON nested too deeply"
            elif isinstance(cause, UnicodeDecodeError):
                detail = f"body: not UTF-8 (byte {cause.start})"
            else:
                detail = f"body: cannot be parsed as JSON ({type(cause).__name__})"
            return JSONResponse({"detail": detail}, status_code=422)
        return await http_exception_handler(request, exc)

    @app.exception_handler(NewsragError)
    async def core_error(request: Request, exc: NewsragError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail}, status_code=exc.status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        logger.exception("unhandled error on %s", request.url.path)
        return JSONResponse(
            {"detail": f"internal error ({type(exc).__name__}); see the server log"},
            status_code=500,
        )

    @app.post(
        "/ask",
        response_model=AskResponse,
        responses={422: {"model": ErrorResponse}},
    )
    def ask(body: AskRequest, rag: NewsragDep) -> Any:
        """Answer a question from the indexed articles, citing its sources as [n]."""
        answer = rag.ask(body.question, body.options())
        metrics.observe_timings(answer.timings_ms)
        return answer.to_dict()

    @app.post(
        "/ask/stream",
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
            422: {"model": ErrorResponse},
        },
    )
    async def ask_stream(body: AskRequest, request: Request, rag: NewsragDep) -> Any:
        """Answer as Server-Sent Events: `sources`, `token`s, then `done` (or `error`).

        Retrieval runs before the response starts, so bad input and a missing index still get
        a plain 4xx/5xx; a client that disconnects stops the generation."""
        cancel = threading.Event()
        events = rag.ask_stream(body.question, body.options(), cancel)
        return await sse_response(events, request, cancel, _sse_frame, metrics)

    @app.post(
        "/search",
        response_model=SearchResponse,
        responses={422: {"model": ErrorResponse}},
    )
    def search(body: SearchRequest, rag: NewsragDep) -> Any:
        """Retrieve the chunks most relevant to a query (no generation)."""
        filters = body.filters.to_core() if body.filters else None
        hits = rag.search(body.query, body.top_k, filters)
        return {"results": [h.to_dict() for h in hits]}

    @app.post("/feedback", response_model=FeedbackOut, responses={404: {"model": ErrorResponse}})
    def feedback(body: FeedbackIn, rag: NewsragDep) -> Any:
        """Thumbs up or down on an answer (by its `answer_id`), kept with the question, the
        answer, its citations and confidence; `newsrag feedback export` writes them out."""
        stored = rag.rate_answer(body.answer_id, body.rating, body.comment)
        metrics.feedback.labels(body.rating).inc()
        return stored

    @app.get("/health", response_model=HealthResponse, response_model_exclude_none=True)
    def health(rag: NewsragDep, request: Request) -> Any:
        """Index size and the models in use (only the status for a client that may not read)."""
        status = "warming" if holder.warming else "ok"
        if not may_read(request, settings):
            return {"status": status}
        stats = rag.stats()
        fields = {k: stats[k] for k in HealthResponse.model_fields if k in stats}
        return {"status": status, **fields}

    @app.get("/metrics", include_in_schema=False)
    def prometheus() -> Response:
        """Prometheus metrics."""
        if holder.newsrag is not None:
            metrics.observe_stats(holder.newsrag.stats())
            metrics.observe_feeds([f.to_dict() for f in holder.newsrag.list_feeds()])
            metrics.observe_feedback(holder.newsrag.feedback.counts())
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    @app.get("/docs", include_in_schema=False)
    def api_docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="newsrag API",
            swagger_js_url="/docs/assets/swagger-ui-bundle.js",
            swagger_css_url="/docs/assets/swagger-ui.css",
            swagger_favicon_url="/docs/assets/favicon-32x32.png",
        )

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    app.mount("/docs/assets", StaticFiles(directory=SWAGGER_ASSETS), name="docs-assets")
    return app

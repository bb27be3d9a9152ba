"""The FastAPI app: thin routes over the core pipeline."""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import FileResponse, JSONResponse, Response, StreamingResponse
from fastapi.staticfiles import StaticFiles
from prometheus_client import CONTENT_TYPE_LATEST
from starlette.concurrency import run_in_threadpool

from retrieval.errors import (
    ArticleNotFoundError,
    IndexMismatchError,
    IndexNotFoundError,
    InvalidInputError,
    ModelLoadError,
    NewsragError,
)
from retrieval.pipeline import RAGPipeline
from service.deps import PipelineDep
from service.documents import build_router
from service.metrics import Metrics, MetricsMiddleware
from service.openai_api import build_router as openai_router
from service.schemas import (
    AskRequest,
    AskResponse,
    ErrorResponse,
    HealthResponse,
    SearchRequest,
    SearchResponse,
    describe_errors,
)
from service.security import BodyLimitMiddleware, require_read
from service.settings import Settings, get_settings

logger = logging.getLogger(__name__)
STATIC = Path(__file__).parent / "static"

_STATUS: dict[type[NewsragError], int] = {
    InvalidInputError: 422,
    ArticleNotFoundError: 404,
    IndexNotFoundError: 503,
    IndexMismatchError: 503,
    ModelLoadError: 503,
}


def _status_for(exc: NewsragError) -> int:
    for cls in type(exc).__mro__:
        if cls in _STATUS:
            return _STATUS[cls]
    return 500


def _sse(event: str, data: dict[str, Any]) -> str:
    return f"event: {event}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n"


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


class PipelineHolder:
    """Owns the pipeline; retries opening the index on demand so an index built after the
    service started is picked up without a restart."""

    def __init__(self, settings: Settings, pipeline: RAGPipeline | None) -> None:
        self.settings = settings
        self.pipeline = pipeline
        self.error: NewsragError | None = None
        self._lock = threading.Lock()

    def load(self) -> None:
        from service.loading import make_pipeline

        with self._lock:
            if self.pipeline is not None:
                return
            try:
                pipeline = make_pipeline(self.settings)
            except (IndexNotFoundError, IndexMismatchError) as exc:
                self.error = exc
                logger.error("%s", exc)
                return
            pipeline.retriever.embedder.load()
            if pipeline.generator is not None:
                pipeline.generator.load()
            self.pipeline, self.error = pipeline, None

    def get(self) -> RAGPipeline:
        if self.pipeline is None:
            self.load()
        if self.pipeline is None:
            raise self.error or IndexNotFoundError("index is not available")
        return self.pipeline


def create_app(settings: Settings | None = None, pipeline: RAGPipeline | None = None) -> FastAPI:
    """The app; tests inject a ready `pipeline`, otherwise models load once in the lifespan."""
    settings = settings or get_settings()
    holder = PipelineHolder(settings, pipeline)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        holder.load()
        yield

    app = FastAPI(
        title="newsrag",
        version="0.1.0",
        summary="Question answering over news articles, with cited answers, fully local.",
        lifespan=lifespan,
        responses={503: {"model": ErrorResponse, "description": "index or model unavailable"}},
    )
    app.state.holder = holder
    app.state.settings = settings
    metrics = Metrics()
    app.state.metrics = metrics
    app.add_middleware(MetricsMiddleware, metrics=metrics)
    app.add_middleware(BodyLimitMiddleware, max_bytes=settings.max_body_bytes)
    app.include_router(build_router())
    app.include_router(openai_router())
    reads = [Depends(require_read)]

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        detail, errors = describe_errors(exc.errors())
        return JSONResponse({"detail": detail, "errors": errors}, status_code=422)

    @app.exception_handler(NewsragError)
    async def core_error(request: Request, exc: NewsragError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=_status_for(exc))

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
        dependencies=reads,
    )
    def ask(body: AskRequest, pipe: PipelineDep) -> Any:
        """Answer a question from the indexed articles, citing its sources as [n]."""
        filters = body.filters.to_core() if body.filters else None
        answer = pipe.ask(body.question, body.top_k, filters, history=body.core_history())
        metrics.observe_timings(answer.timings_ms)
        return answer.to_dict()

    @app.post(
        "/ask/stream",
        responses={
            200: {"content": {"text/event-stream": {}}, "description": "Server-Sent Events"},
            422: {"model": ErrorResponse},
        },
        dependencies=reads,
    )
    async def ask_stream(body: AskRequest, request: Request, pipe: PipelineDep) -> Any:
        """Answer as Server-Sent Events: `sources`, `token`s, then `done` (or `error`).

        Retrieval runs before the response starts, so bad input and a missing index still get
        a plain 4xx/5xx; a client that disconnects stops the generation."""
        filters = body.filters.to_core() if body.filters else None
        cancel = threading.Event()
        events = pipe.ask_stream(
            body.question, body.top_k, filters, body.core_history(), cancel=cancel
        )
        first = await run_in_threadpool(next, events)  # raises validation errors as HTTP errors

        async def sse() -> AsyncIterator[str]:
            try:
                yield _sse(first.event, first.data)
                while True:
                    if await request.is_disconnected():
                        return
                    event = await run_in_threadpool(next, events, None)
                    if event is None:
                        return
                    if event.event == "done":
                        metrics.observe_timings(event.data.get("timings_ms", {}))
                    yield _sse(event.event, event.data)
            except Exception as exc:
                logger.exception("stream failed")
                yield _sse("error", {"detail": f"{type(exc).__name__}: {exc}"})
            finally:
                # On completion, on disconnect (polled between events) and on cancellation:
                # the model stops at its next token.
                cancel.set()

        return _SSEResponse(
            sse(),
            on_close=cancel.set,
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    @app.post(
        "/search",
        response_model=SearchResponse,
        responses={422: {"model": ErrorResponse}},
        dependencies=reads,
    )
    def search(body: SearchRequest, pipe: PipelineDep) -> Any:
        """Retrieve the chunks most relevant to a query (no generation)."""
        filters = body.filters.to_core() if body.filters else None
        hits = pipe.search(body.query, body.top_k, filters)
        return {"results": [h.to_dict() for h in hits]}

    @app.get("/health", response_model=HealthResponse)
    def health(pipe: PipelineDep) -> Any:
        """Index size and the models in use."""
        store = pipe.retriever.store
        return {
            "status": "ok",
            "articles": store.article_count(),
            "chunks": store.chunk_count(),
            "embedder": pipe.retriever.embedder.name,
            "generator": pipe.generator.name if pipe.generator else "none",
        }

    @app.get("/metrics", include_in_schema=False, dependencies=reads)
    def prometheus() -> Response:
        """Prometheus metrics."""
        pipe = holder.pipeline
        if pipe is not None:
            metrics.observe_pipeline(pipe)
        return Response(metrics.render(), media_type=CONTENT_TYPE_LATEST)

    @app.get("/", include_in_schema=False)
    def chat_page() -> FileResponse:
        return FileResponse(STATIC / "index.html", media_type="text/html")

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    return app

"""The articles API: add, list, show, replace and delete articles over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, HTTPException, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.concurrency import run_in_threadpool

from index.core import Newsrag
from index.formats import ID_PATTERN, Limits, article_from_fields, articles_from_upload
from index.ingest import IngestReport
from index.parse import ParseError
from retrieval.store.directory import StoredArticle
from retrieval.types import Article
from service.deps import NewsragDep
from service.schemas import describe_errors
from service.settings import Settings

ArticleId = Annotated[str, Path(pattern=ID_PATTERN, description="an article id")]


class ArticleIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    title: str = Field(..., min_length=1, max_length=1000)
    text: str = Field(..., min_length=1)
    published: date | None = Field(None, description="YYYY-MM-DD")
    url: str | None = Field(None, max_length=2000, pattern=r"^https?://")
    source: str | None = Field(None, max_length=200, description="outlet (default: the URL's host)")
    author: str | None = Field(None, max_length=300)
    id: str | None = Field(None, pattern=ID_PATTERN)


class DocumentsIn(BaseModel):
    """Either articles, or the URLs of pages to fetch and extract (not both)."""

    model_config = ConfigDict(extra="forbid")
    articles: list[ArticleIn] | None = Field(None, min_length=1)
    urls: list[Annotated[str, Field(min_length=1, max_length=2000)]] | None = Field(
        None, min_length=1, max_length=50, description="public http(s) pages to fetch"
    )

    @model_validator(mode="after")
    def _one_kind(self) -> DocumentsIn:
        if (self.articles is None) == (self.urls is None):
            raise ValueError("send either articles or urls")
        return self


class WriteOut(BaseModel):
    added: list[str]
    updated: list[str]
    duplicates: list[str]


class DocumentOut(BaseModel):
    id: str
    title: str
    published: date | None
    url: str | None
    source: str | None
    author: str | None
    chunks: int
    added_at: float
    chars: int


class DocumentPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[DocumentOut]


def _out(s: StoredArticle) -> dict[str, Any]:
    a = s.article
    return {
        "id": a.id,
        "title": a.title,
        "published": a.published,
        "url": a.url,
        "source": a.source,
        "author": a.author,
        "chunks": s.chunk_count,
        "added_at": s.added_at,
        "chars": len(a.body),
    }


def _upload_body() -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {
                "application/json": {"schema": DocumentsIn.model_json_schema()},
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {
                            "files": {
                                "type": "array",
                                "items": {"type": "string", "format": "binary"},
                            }
                        },
                        "required": ["files"],
                    }
                },
            },
        }
    }


def _links(article_id: str) -> dict[str, Any]:
    """OpenAPI links from a write to what can be done with the article it wrote (stateful API
    testing follows them)."""
    return {
        op: {"operationId": f"{op}_document", "parameters": {"article_id": article_id}}
        for op in ("get", "put", "delete")
    }


def build_router() -> APIRouter:
    router = APIRouter(tags=["documents"])

    def limits(request: Request) -> tuple[Settings, Limits]:
        s: Settings = request.app.state.settings
        return s, Limits(max_article_chars=s.max_article_chars)

    def written(report: IngestReport) -> dict[str, Any]:
        return {"added": report.added, "updated": report.updated, "duplicates": report.duplicates}

    def write_urls(rag: Newsrag, urls: list[str]) -> dict[str, Any]:
        return written(rag.add_urls(urls))

    def write(rag: Newsrag, articles: list[Article], put: bool = False) -> dict[str, Any]:
        return written(rag.replace(articles[0]) if put else rag.add(articles))

    @router.post(
        "/documents",
        response_model=WriteOut,
        openapi_extra=_upload_body(),
        operation_id="add_documents",
        responses={
            200: {"links": _links("$response.body#/added/0")},
            409: {"description": "read-only index"},
            413: {"description": "too large"},
            422: {"description": "invalid"},
        },
    )
    async def add_documents(request: Request, rag: NewsragDep) -> Any:
        """Add articles from JSON (`{"articles": [...]}`), from pages to fetch
        (`{"urls": [...]}`: main text, title, date, author and outlet extracted) or uploaded
        files (.txt, .md, .html, .jsonl). All are validated first: one bad article (or page)
        rejects the request, nothing is written. An article with an `id` that exists is
        replaced by its new text."""
        settings, lim = limits(request)
        ctype = request.headers.get("content-type", "").lower()
        articles: list[Article] = []
        errors: list[str] = []
        if ctype.startswith("multipart/form-data"):
            form = await request.form(max_files=settings.max_files + 1, max_fields=10)
            files = [f for _, f in form.multi_items() if not isinstance(f, str)]
            if not files:
                raise HTTPException(422, "files: upload at least one file in the 'files' field")
            if len(files) > settings.max_files:
                raise HTTPException(
                    413, f"files: at most {settings.max_files} files per upload, got {len(files)}"
                )
            for f in files:
                data = await f.read()
                try:
                    # Parsing HTML or a large JSONL file is CPU work: keep the event loop free.
                    articles += await run_in_threadpool(
                        articles_from_upload, f.filename or "upload", data, lim
                    )
                except ParseError as exc:
                    errors.append(str(exc))
        elif ctype.startswith("application/json"):
            try:
                body = DocumentsIn.model_validate_json(await request.body())
            except ValidationError as exc:
                raise HTTPException(422, describe_errors(exc.errors())[0]) from None
            if body.urls is not None:
                return await run_in_threadpool(write_urls, rag, body.urls)
            for i, a in enumerate(body.articles or []):
                try:
                    articles.append(
                        article_from_fields(
                            a.model_dump(mode="json", exclude_none=True), f"articles[{i}]", lim
                        )
                    )
                except ParseError as exc:
                    errors.append(str(exc))
        else:
            raise HTTPException(
                415, 'send application/json ({"articles": [...]}) or multipart/form-data files'
            )
        if errors:
            raise HTTPException(422, "; ".join(errors))
        if len(articles) > settings.max_articles_per_request:
            raise HTTPException(
                413,
                f"at most {settings.max_articles_per_request} articles per "
                f"request, got {len(articles)}",
            )
        return await run_in_threadpool(write, rag, articles)

    @router.get("/documents", response_model=DocumentPage, operation_id="list_documents")
    def list_documents(
        rag: NewsragDep,
        limit: Annotated[int, Query(ge=1, le=500)] = 50,
        offset: Annotated[int, Query(ge=0, le=10**12)] = 0,
        published_from: date | None = None,
        published_to: date | None = None,
        source: Annotated[str | None, Query(max_length=200)] = None,
    ) -> Any:
        """Articles, newest first, filtered by publication date range and source."""
        if published_from and published_to and published_from > published_to:
            raise HTTPException(422, "published_from: is after published_to")
        items, total = rag.list_articles(limit, offset, published_from, published_to, source)
        return {"total": total, "limit": limit, "offset": offset, "items": [_out(s) for s in items]}

    @router.get(
        "/documents/{article_id}",
        response_model=DocumentOut,
        operation_id="get_document",
        responses={404: {"description": "not found"}},
    )
    def get_document(article_id: ArticleId, rag: NewsragDep) -> Any:
        """One article's metadata and chunk count."""
        return _out(rag.get(article_id))

    @router.put(
        "/documents/{article_id}",
        response_model=WriteOut,
        operation_id="put_document",
        responses={
            200: {"links": _links("$request.path.article_id")},
            409: {"description": "the text is another article's, or the index is read-only"},
        },
    )
    def put_document(
        article_id: ArticleId, body: ArticleIn, request: Request, rag: NewsragDep
    ) -> Any:
        """Create or replace the article with this id (its old chunks leave both indexes)."""
        if body.id is not None and body.id != article_id:
            raise HTTPException(422, f"id: body id {body.id!r} differs from the path")
        _, lim = limits(request)
        try:
            art = article_from_fields(
                body.model_dump(mode="json", exclude_none=True), "body", lim, article_id
            )
        except ParseError as exc:
            raise HTTPException(422, str(exc)) from None
        return write(rag, [art], put=True)

    @router.delete(
        "/documents/{article_id}",
        operation_id="delete_document",
        responses={404: {"description": "not found"}},
    )
    def delete_document(article_id: ArticleId, rag: NewsragDep) -> dict[str, Any]:
        """Delete an article; its chunks leave the vector and BM25 indexes at once."""
        return {"deleted": article_id, "chunks": rag.delete(article_id)}

    return router

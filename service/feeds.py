"""The feeds API: register RSS/Atom feeds, see how their polls went, poll now."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool

from service.deps import NewsragDep

FeedId = Annotated[str, Path(pattern=r"^[0-9a-f]{12}$", description="a feed id")]


class FeedIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    url: str = Field(..., min_length=1, max_length=2000, description="an RSS or Atom feed")


class FeedOut(BaseModel):
    id: str
    url: str
    title: str | None = Field(None, description="the feed's own title: its articles' outlet")
    added_at: float
    last_poll: float | None = Field(None, description="when it was last polled (Unix time)")
    last_status: int | None = Field(None, description="HTTP status of the last poll")
    last_error: str | None = Field(None, description="what went wrong in the last poll")
    items_added: int = Field(description="articles added from it, all polls")
    last_added: int = Field(description="articles added by the last poll")
    polls: int


class FeedList(BaseModel):
    feeds: list[FeedOut]


class PollOut(BaseModel):
    feed_id: str
    status: int | None
    added: list[str]
    duplicates: list[str]
    errors: list[str]


class PollList(BaseModel):
    results: list[PollOut]


def build_router() -> APIRouter:
    router = APIRouter(tags=["feeds"])

    @router.post(
        "/feeds",
        response_model=FeedOut,
        status_code=201,
        responses={200: {"model": FeedOut, "description": "already registered"}},
    )
    def add_feed(body: FeedIn, rag: NewsragDep) -> Any:
        """Register a feed. It is polled every NEWSRAG_FEED_POLL_MINUTES by the service (or
        now, with POST /feeds/poll); only public http(s) addresses unless
        NEWSRAG_ALLOW_PRIVATE_URLS is set."""
        feed, created = rag.add_feed(body.url)
        if not created:
            return JSONResponse(FeedOut(**feed.to_dict()).model_dump(), status_code=200)
        return feed.to_dict()

    @router.get("/feeds", response_model=FeedList)
    def list_feeds(rag: NewsragDep) -> Any:
        """The registered feeds with the status of their last poll."""
        return {"feeds": [f.to_dict() for f in rag.list_feeds()]}

    @router.get("/feeds/{feed_id}", response_model=FeedOut)
    def get_feed(feed_id: FeedId, rag: NewsragDep) -> Any:
        return rag.get_feed(feed_id).to_dict()

    @router.delete("/feeds/{feed_id}")
    def remove_feed(feed_id: FeedId, rag: NewsragDep) -> dict[str, str]:
        """Stop polling a feed (its articles stay in the index)."""
        rag.remove_feed(feed_id)
        return {"deleted": feed_id}

    @router.post("/feeds/poll", response_model=PollList)
    async def poll_feeds(
        rag: NewsragDep,
        feed_id: Annotated[str | None, Query(pattern=r"^[0-9a-f]{12}$")] = None,
    ) -> Any:
        """Poll every feed (or one) now; new items are fetched, extracted and added."""
        results = await run_in_threadpool(rag.poll_feeds, feed_id)
        return {"results": [r.to_dict() for r in results]}

    return router

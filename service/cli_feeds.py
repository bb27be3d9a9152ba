"""`newsrag feeds …`, `newsrag watch` (a headless ingester) and `newsrag feedback export`."""

from __future__ import annotations

import json
import logging
import time
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from service.cli_common import IndexOpt, settings_for

if TYPE_CHECKING:
    from index.core import Newsrag

feeds_app = typer.Typer(help="RSS/Atom feeds that keep the index fresh.", no_args_is_help=True)
logger = logging.getLogger("newsrag")


def _rag(index_dir: IndexOpt) -> Newsrag:
    from service.loading import open_newsrag

    return open_newsrag(settings_for(index_dir), with_generator=False)


def _when(ts: float | None) -> str:
    return datetime.fromtimestamp(ts).strftime("%Y-%m-%d %H:%M") if ts else "never"


@feeds_app.command("add")
def feeds_add(
    url: Annotated[str, typer.Argument(help="feed URL")], index_dir: IndexOpt = None
) -> None:
    """Register a feed (poll it with `newsrag feeds poll` or `newsrag watch`)."""
    feed, created = _rag(index_dir).add_feed(url)
    typer.echo(f"{'added' if created else 'already registered'}: {feed.id} {feed.url}")


@feeds_app.command("list")
def feeds_list(
    as_json: Annotated[bool, typer.Option("--json")] = False, index_dir: IndexOpt = None
) -> None:
    """The feeds and how their last poll went."""
    feeds = _rag(index_dir).list_feeds()
    if as_json:
        typer.echo(json.dumps([f.to_dict() for f in feeds], indent=2))
        return
    for f in feeds:
        status = f.last_status if f.last_status is not None else "-"
        typer.echo(
            f"{f.id}  {f.title or '(untitled)'}  {f.url}\n"
            f"    last poll {_when(f.last_poll)} (HTTP {status}), {f.items_added} added"
            + (f"\n    error: {f.last_error}" if f.last_error else "")
        )


@feeds_app.command("remove")
def feeds_remove(feed_ids: list[str], index_dir: IndexOpt = None) -> None:
    """Stop polling feeds (their articles stay)."""
    rag = _rag(index_dir)
    for feed_id in feed_ids:
        rag.remove_feed(feed_id)
        typer.echo(f"removed {feed_id}")


@feeds_app.command("poll")
def feeds_poll(
    feed_id: Annotated[str | None, typer.Argument(help="one feed [default: all]")] = None,
    index_dir: IndexOpt = None,
) -> None:
    """Poll now: new items are fetched, extracted and added."""
    for r in _rag(index_dir).poll_feeds(feed_id):
        typer.echo(f"{r.feed_id}: HTTP {r.status}, {len(r.added)} added, {len(r.duplicates)} dup")
        for e in r.errors:
            typer.echo(f"    {e}", err=True)


def watch(
    minutes: Annotated[float, typer.Option(min=0.1, help="between polls")] = 30.0,
    index_dir: IndexOpt = None,
) -> None:
    """Poll every feed forever (a headless ingester beside read-only replicas)."""
    rag = _rag(index_dir)
    while True:
        for r in rag.poll_feeds():
            typer.echo(f"{_when(time.time())} {r.feed_id}: {len(r.added)} added")
            for e in r.errors:
                typer.echo(f"    {e}", err=True)
        time.sleep(minutes * 60)


feedback_app = typer.Typer(help="Ratings people gave to answers.", no_args_is_help=True)


@feedback_app.command("export")
def feedback_export(
    out: Annotated[
        Path | None, typer.Option("--out", help="JSONL file to write [default: stdout]")
    ] = None,
    index_dir: IndexOpt = None,
) -> None:
    """Every rating with its question, answer, citations and confidence, as JSONL (replay it
    with `newsrag eval feedback --data FILE`). Loads no model."""
    from index.feedback import FEEDBACK_DB, FeedbackStore

    settings = settings_for(index_dir)
    url = settings.store_url.get_secret_value() if settings.store_url else None
    store = FeedbackStore(settings.feedback_path or settings.index_dir / FEEDBACK_DB, store_url=url)
    lines = [json.dumps(r, ensure_ascii=False) for r in store.export()]
    text = "".join(line + "\n" for line in lines)
    if out is None:
        typer.echo(text, nl=False)
    else:
        out.write_text(text, encoding="utf-8")
        typer.echo(f"{len(lines)} ratings -> {out}", err=True)

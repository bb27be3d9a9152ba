"""The `newsrag` command line: ingest, ask, search, serve, prepare."""

from __future__ import annotations

import contextlib
import json
import logging
import sys
from pathlib import Path
from typing import Annotated

import typer

from retrieval.errors import NewsragError
from retrieval.store.base import Store
from service.cli_common import (
    FromOpt,
    IndexOpt,
    PresetOpt,
    SourceOpt,
    ToOpt,
    TopKOpt,
    date_filter,
    day,
    fail,
    settings_for,
    where,
)
from service.cli_feeds import feedback_app, feeds_app, watch
from service.evals.cli import eval_app

app = typer.Typer(
    help="newsrag: local question answering over news articles, with cited answers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
logger = logging.getLogger("newsrag")
app.add_typer(eval_app, name="eval")
app.add_typer(feeds_app, name="feeds")
app.add_typer(feedback_app, name="feedback")
app.command()(watch)


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="article files or folders")],
    index_dir: IndexOpt = None,
) -> None:
    """Add articles (.txt, .md, .html, .jsonl) to the index; ones already indexed are skipped."""
    from tqdm import tqdm

    from index.parse import discover
    from service.loading import open_newsrag

    settings = settings_for(index_dir)
    files, _ = discover(paths)
    rag = open_newsrag(settings, create=True, with_generator=False)
    with tqdm(total=len(files), unit="article", disable=not sys.stderr.isatty()) as bar:
        report = rag.add_paths(paths, progress=bar.update)
    for path, why in report.failed:
        typer.secho(f"skipped {path}: {why}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"added {len(report.added)} articles ({report.chunks} chunks), "
        f"{len(report.duplicates)} already indexed, {len(report.failed)} skipped "
        f"-> {where(settings)}"
    )
    if report.failed and not report.added and not report.duplicates:
        raise typer.Exit(1)


@app.command("copy-index")
def copy_index(
    url: Annotated[str, typer.Argument(help="postgresql://user:password@host/database")],
    index_dir: IndexOpt = None,
) -> None:
    """Copy the index directory (articles, chunks and their vectors) into PostgreSQL +
    pgvector, embedding nothing again; run it again to finish an interrupted copy."""
    from index.transfer import copy_index as copy
    from retrieval.store.directory import IndexStore
    from retrieval.store.pg_schema import is_store_url, redacted
    from retrieval.store.postgres import PostgresStore

    if not is_store_url(url):
        fail(f"{url!r} is not a postgresql:// URL", 2)
    source = IndexStore.open(settings_for(index_dir).index_dir, readonly=True)
    target = PostgresStore.create(url, source.manifest)  # (re)creates any missing index
    # Into an empty database: the search indexes are built once at the end.
    with target.bulk_load() if target.chunk_count() == 0 else contextlib.nullcontext():
        report = copy(source, target)
    typer.echo(
        f"copied {len(report.added) + len(report.updated)} articles ({report.chunks} chunks), "
        f"{len(report.duplicates)} already there -> {redacted(url)}"
    )


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    top_k: TopKOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    source: SourceOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the question's date, YYYY-MM-DD (default today)")
    ] = None,
    index_dir: IndexOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Answer a question from the index, with numbered sources."""
    from retrieval.options import AskOptions
    from service.loading import open_newsrag

    settings = settings_for(index_dir, preset)
    filters = date_filter(date_from, date_to, source)
    as_of_day = day(as_of, "--as-of")
    options = AskOptions(top_k=top_k, filters=filters, as_of=as_of_day)
    answer = open_newsrag(settings).ask(question, options)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(answer.answer)
    window = (answer.filters_applied or {}).get("from_question")
    if window:
        applied = answer.filters_applied or {}
        typer.echo(
            f"(articles published {applied['published_from']} to {applied['published_to']}, "
            f'from "{window}")'
        )
    shown = [] if answer.abstained else [c for c in answer.citations if c.cited]
    if shown:
        typer.echo("\nSources:")
        for c in shown:
            date_s = c.hit.published.isoformat() if c.hit.published else "undated"
            outlet = f", {c.hit.source}" if c.hit.source else ""
            typer.echo(
                f"  [{c.id}] {c.hit.title} ({date_s}{outlet})"
                f"{'  ' + c.hit.url if c.hit.url else ''}"
            )
            if c.quote:
                typer.echo(f'      "{c.quote}"')


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    top_k: TopKOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    source: SourceOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Show the chunks most relevant to a query (no generation)."""
    from service.loading import open_newsrag

    settings = settings_for(index_dir)
    hits = open_newsrag(settings, with_generator=False).search(
        query, top_k, date_filter(date_from, date_to, source)
    )
    if as_json:
        typer.echo(json.dumps({"results": [h.to_dict() for h in hits]}, indent=2))
        return
    for i, h in enumerate(hits, start=1):
        date_s = h.published.isoformat() if h.published else "undated"
        typer.echo(f"{i}. [{h.score:.3f}] {h.title} ({date_s})")
        typer.echo(f"   {h.text[:300]}{'…' if len(h.text) > 300 else ''}")


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="[env NEWSRAG_HOST]")] = None,
    port: Annotated[int | None, typer.Option(help="[env NEWSRAG_PORT]")] = None,
    index_dir: IndexOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Serve the HTTP API and the chat page."""
    import uvicorn

    from service.app import create_app

    settings = settings_for(index_dir, preset)
    bind = host or settings.host
    if bind not in ("0.0.0.0", "::") and bind not in settings.allowed_hosts:
        # The address it is reached at is a host name it serves.
        settings = settings.model_copy(update={"allowed_hosts": [*settings.allowed_hosts, bind]})
    uvicorn.run(
        create_app(settings),
        host=bind,
        port=port or settings.port,
        log_level=settings.log_level,
    )


@app.command()
def prepare(preset: PresetOpt = None) -> None:
    """Load (and on first use convert) the embedder and the generator, so serving starts fast."""
    from service.loading import build_models

    settings = settings_for(preset=preset)
    models = build_models(settings)
    models.load()
    name = models.generator.name if models.generator else "none"
    typer.echo(f"ready: embedder and generator {name} (cache {settings.cache_dir})")


docs_app = typer.Typer(help="List, show and delete indexed articles.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


def _store(index_dir: Path | None) -> Store:
    """The configured index (directory or database), opened without loading any model."""
    from index.core import open_store
    from service.loading import core_config

    return open_store(core_config(settings_for(index_dir)), None)


@docs_app.command("list")
def docs_list(
    limit: Annotated[int, typer.Option(min=1, max=10000)] = 50,
    offset: Annotated[int, typer.Option(min=0)] = 0,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    source: Annotated[str | None, typer.Option()] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    index_dir: IndexOpt = None,
) -> None:
    """Articles, newest first."""
    f = date_filter(date_from, date_to)
    items, total = _store(index_dir).list_articles(
        limit, offset, f.published_from, f.published_to, source
    )
    if as_json:
        rows = [
            {
                "id": s.article.id,
                "title": s.article.title,
                "published": s.article.published.isoformat() if s.article.published else None,
                "source": s.article.source,
                "url": s.article.url,
                "chunks": s.chunk_count,
            }
            for s in items
        ]
        typer.echo(json.dumps({"total": total, "items": rows}, indent=2))
        return
    for s in items:
        d = s.article.published.isoformat() if s.article.published else "undated   "
        typer.echo(f"{s.article.id}  {d}  {s.chunk_count:3d} chunks  {s.article.title[:70]}")
    typer.echo(f"{len(items)} of {total} articles")


@docs_app.command("show")
def docs_show(article_id: str, index_dir: IndexOpt = None) -> None:
    """One article with its metadata."""
    s = _store(index_dir).get_article(article_id)
    a = s.article
    typer.echo(f"id:        {a.id}\ntitle:     {a.title}\npublished: {a.published or '-'}")
    typer.echo(
        f"source:    {a.source or '-'}\nurl:       {a.url or '-'}\nchunks:    {s.chunk_count}"
    )
    typer.echo(f"\n{a.body}")


@docs_app.command("delete")
def docs_delete(article_ids: list[str], index_dir: IndexOpt = None) -> None:
    """Delete articles (their chunks leave both indexes)."""
    store = _store(index_dir)
    for article_id in article_ids:
        n = store.delete_article(article_id)
        typer.echo(f"deleted {article_id} ({n} chunks)")


def main() -> None:
    logging.basicConfig(
        level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("retrieval").setLevel(logging.INFO)
    logging.getLogger("index").setLevel(logging.INFO)
    from service.loading import offline

    offline()
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        try:
            app()
        except NewsragError as exc:
            # Distinct exit codes per kind of failure (retrieval/errors.py).
            fail(str(exc), exc.exit_code)
        except ValueError as exc:  # pydantic settings errors
            fail(str(exc), 2)
    except typer.Exit as exc:  # raised outside the app, typer would not turn it into the code
        raise SystemExit(exc.exit_code) from None


if __name__ == "__main__":
    main()

"""What the `newsrag` commands share: errors, settings from options, option types."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from retrieval.types import SearchFilter
from service.settings import Settings, get_settings


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def settings_for(index_dir: Path | None = None, preset: str | None = None) -> Settings:
    s = get_settings()
    update: dict[str, object] = {}
    if index_dir is not None:
        update["index_dir"] = index_dir
    if preset is not None:
        update["preset"] = preset
    return s.model_copy(update=update) if update else s


IndexOpt = Annotated[
    Path | None, typer.Option("--index", help="index directory [env NEWSRAG_INDEX_DIR]")
]
PresetOpt = Annotated[
    str | None, typer.Option("--preset", help="generator preset [env NEWSRAG_PRESET]")
]
TopKOpt = Annotated[int | None, typer.Option("--top-k", "-k", min=1, max=50)]
FromOpt = Annotated[str | None, typer.Option("--from", help="published on or after YYYY-MM-DD")]
SourceOpt = Annotated[
    list[str] | None, typer.Option("--source", help="only this outlet (repeatable)")
]
ToOpt = Annotated[str | None, typer.Option("--to", help="published on or before YYYY-MM-DD")]


def day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}", 2)


def date_filter(
    date_from: str | None, date_to: str | None, sources: list[str] | None = None
) -> SearchFilter:
    return SearchFilter(day(date_from, "--from"), day(date_to, "--to"), tuple(sources or ()))


def where(settings: Settings) -> str:
    """Where the index is, fit for a message (a database URL without its password)."""
    if settings.store_url is not None:
        from retrieval.store.pg_schema import redacted

        return redacted(settings.store_url.get_secret_value())
    return str(settings.index_dir)

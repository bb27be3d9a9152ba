"""The `newsrag` command line: ingest, ask, search, serve, prepare."""

from __future__ import annotations

import json
import logging
import sys
from datetime import date
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from retrieval.errors import NewsragError
from retrieval.search import DateFilter
from retrieval.store import IndexStore
from service.settings import Settings, get_settings

app = typer.Typer(
    help="newsrag: local question answering over news articles, with cited answers.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
logger = logging.getLogger("newsrag")


def fail(message: str, code: int = 1) -> NoReturn:
    typer.secho(f"error: {message}", fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings(index_dir: Path | None = None, preset: str | None = None) -> Settings:
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
ToOpt = Annotated[str | None, typer.Option("--to", help="published on or before YYYY-MM-DD")]


def _day(value: str | None, option: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"{option} must be a date YYYY-MM-DD, got {value!r}", 2)


def _filters(date_from: str | None, date_to: str | None) -> DateFilter:
    return DateFilter(_day(date_from, "--from"), _day(date_to, "--to"))


@app.command()
def ingest(
    paths: Annotated[list[Path], typer.Argument(help="article files or folders")],
    index_dir: IndexOpt = None,
) -> None:
    """Add articles (.txt, .md, .html, .jsonl) to the index; ones already indexed are skipped."""
    from tqdm import tqdm

    from index.parse import discover
    from service.loading import open_newsrag

    settings = _settings(index_dir)
    files, _ = discover(paths)
    rag = open_newsrag(settings, create=True, with_generator=False)
    with tqdm(total=len(files), unit="article", disable=not sys.stderr.isatty()) as bar:
        report = rag.add_paths(paths, progress=bar.update)
    for path, why in report.failed:
        typer.secho(f"skipped {path}: {why}", fg=typer.colors.YELLOW, err=True)
    typer.echo(
        f"added {len(report.added)} articles ({report.chunks} chunks), "
        f"{len(report.duplicates)} already indexed, {len(report.failed)} skipped "
        f"-> {settings.index_dir}"
    )
    if report.failed and not report.added and not report.duplicates:
        raise typer.Exit(1)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="the question")],
    top_k: TopKOpt = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the API's JSON")] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    as_of: Annotated[
        str | None, typer.Option("--as-of", help="the question's date, YYYY-MM-DD (default today)")
    ] = None,
    index_dir: IndexOpt = None,
    preset: PresetOpt = None,
) -> None:
    """Answer a question from the index, with numbered sources."""
    from service.loading import open_newsrag

    settings = _settings(index_dir, preset)
    filters = _filters(date_from, date_to)
    day = _day(as_of, "--as-of")
    answer = open_newsrag(settings).ask(question, top_k, filters, day)
    if as_json:
        typer.echo(json.dumps(answer.to_dict(), indent=2, ensure_ascii=False))
        return
    typer.echo(answer.answer)
    shown = [] if answer.abstained else [c for c in answer.citations if c.cited]
    if shown:
        typer.echo("\nSources:")
        for c in shown:
            date_s = c.hit.published.isoformat() if c.hit.published else "undated"
            typer.echo(
                f"  [{c.id}] {c.hit.title} ({date_s}){'  ' + c.hit.url if c.hit.url else ''}"
            )


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="what to look for")],
    top_k: TopKOpt = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
    date_from: FromOpt = None,
    date_to: ToOpt = None,
    index_dir: IndexOpt = None,
) -> None:
    """Show the chunks most relevant to a query (no generation)."""
    from service.loading import open_newsrag

    settings = _settings(index_dir)
    hits = open_newsrag(settings, with_generator=False).search(
        query, top_k, _filters(date_from, date_to)
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

    settings = _settings(index_dir, preset)
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

    settings = _settings(preset=preset)
    models = build_models(settings)
    models.load()
    name = models.generator.name if models.generator else "none"
    typer.echo(f"ready: embedder and generator {name} (cache {settings.cache_dir})")


docs_app = typer.Typer(help="List, show and delete indexed articles.", no_args_is_help=True)
app.add_typer(docs_app, name="docs")


def _store(index_dir: Path | None) -> IndexStore:
    """The index's SQLite store, opened without loading any model."""
    return IndexStore.open(_settings(index_dir).index_dir)


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
    f = _filters(date_from, date_to)
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


eval_app = typer.Typer(help="Batch evaluations through the service's pipeline.")
app.add_typer(eval_app, name="eval")


@eval_app.command("realtimeqa")
def eval_realtimeqa(
    data: Annotated[Path, typer.Option(help="RealTime QA folder (…/shared/data/realtimeqa)")],
    weeks: Annotated[
        list[str] | None,
        typer.Argument(
            help="weeks to run, e.g. 20220617 20220624 or 20220617,20220624 [default: all]"
        ),
    ] = None,
    weeks_opt: Annotated[
        list[str] | None, typer.Option("--weeks", help="same as the arguments; repeatable")
    ] = None,
    limit: Annotated[int | None, typer.Option(min=1, help="questions per week")] = None,
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("eval-out/realtimeqa"),
    mode: Annotated[str, typer.Option(help="hybrid | dense | bm25")] = "hybrid",
    top_k: Annotated[int, typer.Option(min=1, max=50, help="sources in the prompt")] = 5,
    chunk_tokens: Annotated[int, typer.Option(min=16, max=206)] = 200,
    chunk_overlap: Annotated[int, typer.Option(min=0)] = 40,
    date_filter: Annotated[bool, typer.Option(help="drop articles after the question date")] = True,
    recency_weight: Annotated[float, typer.Option(min=0.0, max=1.0)] = 0.3,
    tracks: Annotated[
        str, typer.Option(help="comma list of mc, nota, gen, or retrieval (no model)")
    ] = "mc,nota,gen",
    index_cache: Annotated[
        Path | None, typer.Option(help="reuse weekly indexes here [default: OUT/indexes]")
    ] = None,
    dense_weight: Annotated[float, typer.Option(min=0.0, help="RRF weight of dense vs BM25")] = 0.5,
    mc_query: Annotated[str, typer.Option(help="question | question+choices")] = "question",
    evidence: Annotated[bool, typer.Option(help="sentence-level evidence selection")] = True,
    evidence_budget: Annotated[int, typer.Option(min=32, help="evidence tokens")] = 480,
    evidence_candidates: Annotated[int, typer.Option(min=1, help="chunks read")] = 30,
    evidence_order: Annotated[str, typer.Option(help="score | date | best_last")] = "score",
    neighbours: Annotated[int, typer.Option(min=0, help="context sentences before each")] = 1,
    after: Annotated[int, typer.Option(min=0, help="context sentences after each")] = 1,
    mc_closed_book: Annotated[
        float, typer.Option(help="weight of the closed-book choice likelihood")
    ] = 0.0,
    nota_gain: Annotated[
        float,
        typer.Option(help="NOTA when evidence lifts no option's likelihood by more than this"),
    ] = 0.25,
) -> None:
    """RealTime QA: multiple choice and generation, beside the published leaderboard.

    Runs what `newsrag ask` runs (backend, preset and embedder from the NEWSRAG_ settings)."""
    from dataclasses import replace

    from tqdm import tqdm

    from retrieval.evidence import EvidenceConfig
    from retrieval.search import SearchConfig
    from service.evals.realtimeqa import EvalConfig, run
    from service.loading import core_config, offline

    if mode not in ("hybrid", "dense", "bm25"):
        fail(f"--mode must be hybrid, dense or bm25, got {mode!r}", 2)
    if not data.is_dir():
        fail(f"--data {data} is not a directory", 2)
    if mc_query not in ("question", "question+choices"):
        fail(f"--mc-query must be question or question+choices, got {mc_query!r}", 2)
    if evidence_order not in ("score", "date", "best_last"):
        fail(f"--evidence-order must be score, date or best_last, got {evidence_order!r}", 2)
    chosen = tuple(t.strip() for t in tracks.split(",") if t.strip())
    if not chosen or set(chosen) - {"mc", "nota", "gen", "retrieval"}:
        fail(f"--tracks must be a comma list of mc, nota, gen (or retrieval); got {tracks!r}", 2)
    settings = _settings(preset=preset)
    base = core_config(settings)
    core = replace(
        base,
        chunk_tokens=chunk_tokens,
        chunk_overlap=chunk_overlap,
        search=SearchConfig(
            mode=mode,  # type: ignore[arg-type]
            recency_weight=recency_weight,
            dense_weight=dense_weight,
        ),
        pipeline=replace(
            base.pipeline,
            top_k=top_k,
            mc_closed_book_weight=mc_closed_book,
            evidence=EvidenceConfig(
                enabled=evidence,
                budget_tokens=evidence_budget,
                candidates=evidence_candidates,
                order=evidence_order,  # type: ignore[arg-type]
                neighbours=neighbours,
                after=after,
            ),
        ),
    )
    cfg = EvalConfig(date_filter=date_filter, mc_query=mc_query, nota_gain=nota_gain)
    week_list = [
        w.strip() for item in [*(weeks or []), *(weeks_opt or [])] for w in item.split(",")
    ]
    week_list = [w for w in week_list if w]
    offline()
    bar = tqdm(total=None, unit="q", dynamic_ncols=True)

    def progress(done: int, total: int, week: str) -> None:
        bar.total = total
        bar.set_postfix_str(week)
        bar.update(done - bar.n)

    try:
        summary = run(
            data,
            out,
            core,
            week_list or None,
            limit,
            cfg,
            chosen,
            progress=progress,
            index_cache=index_cache,
        )
    except FileNotFoundError as exc:
        fail(str(exc), 2)
    finally:
        bar.close()
    from service.evals.realtimeqa import markdown_table

    typer.echo(markdown_table(summary))
    typer.echo(f"{summary['seconds']} -> {out}/predictions.jsonl, summary.json, results.md/png")


@eval_app.command("squad")
def eval_squad(
    data: Annotated[Path, typer.Option(help="SQuAD dev JSON (v1.1 or v2.0)")],
    limit: Annotated[int | None, typer.Option(min=1, help="questions (balanced sample)")] = 400,
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("eval-out/squad"),
    retrieval_only: Annotated[bool, typer.Option(help="scores only, no model")] = False,
    min_score: Annotated[float | None, typer.Option(help="[env NEWSRAG_MIN_SCORE]")] = None,
    index_cache: Annotated[Path | None, typer.Option()] = None,
) -> None:
    """SQuAD: EM/F1 and, on v2.0, answer and abstention rates with a threshold sweep."""
    from dataclasses import replace

    from tqdm import tqdm

    from service.evals.squad import run
    from service.loading import core_config, offline

    if not data.is_file():
        fail(f"--data {data} is not a file", 2)
    settings = _settings(preset=preset)
    core = core_config(settings)
    if min_score is not None:
        core = replace(core, pipeline=replace(core.pipeline, min_score=min_score))
    offline()
    bar = tqdm(total=None, unit="q", dynamic_ncols=True)

    def progress(done: int, total: int) -> None:
        bar.total = total
        bar.update(done - bar.n)

    try:
        summary = run(
            data,
            out,
            core,
            limit,
            generate=not retrieval_only,
            progress=progress,
            index_cache=index_cache,
        )
    except (KeyError, json.JSONDecodeError) as exc:
        fail(f"{data} is not SQuAD JSON: {exc}", 2)
    finally:
        bar.close()
    summary.pop("threshold_sweep")
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"-> {out}/predictions.jsonl, summary.json, abstention_curve.png")


@eval_app.command("calibrate")
def eval_calibrate(
    squad: Annotated[
        Path | None, typer.Option(help="predictions.jsonl of `newsrag eval squad` (v2.0)")
    ] = None,
    realtimeqa: Annotated[
        list[Path] | None, typer.Option(help="predictions.jsonl of `newsrag eval realtimeqa`")
    ] = None,
    out: Annotated[Path, typer.Option(help="calibration file to write")] = Path(
        "retrieval/calibration.json"
    ),
    report: Annotated[Path, typer.Option(help="folder for the report and plot")] = Path(
        "eval-out/calibration"
    ),
) -> None:
    """Fit the answer confidence on evaluation predictions; report calibration on held-out
    SQuAD questions (reliability table, ECE, answer/abstain rates at the chosen threshold)."""
    from service.evals.calibrate import calibrate

    paths = [p for p in [squad, *(realtimeqa or [])] if p is not None]
    for p in paths:
        if not p.is_file():
            fail(f"{p} is not a file", 2)
    if not paths:
        fail("give --squad and/or --realtimeqa predictions", 2)
    result = calibrate(squad, realtimeqa or [], out, report)
    report.mkdir(parents=True, exist_ok=True)
    (report / "report.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "curve"}, indent=2))


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
        app()
    except NewsragError as exc:
        # Distinct exit codes per kind of failure (retrieval/errors.py).
        fail(str(exc), exc.exit_code)
    except ValueError as exc:  # pydantic settings errors
        fail(str(exc), 2)


if __name__ == "__main__":
    main()

"""`newsrag eval …`: batch evaluations through the same core as every other door."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from service.cli_common import IndexOpt, PresetOpt, fail, settings_for

eval_app = typer.Typer(help="Batch evaluations through the service's pipeline.")


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
    mc_query: Annotated[
        str,
        typer.Option(
            help="question, or question+choices: multiple choice on evidence of its own (the "
            "options in the search, each one's best sentence shown; a second prompt per question)"
        ),
    ] = "question",
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
    ] = 0.0,
    time_filters: Annotated[
        bool | None, typer.Option(help="date windows from the question's words [env]")
    ] = None,
    only_timed: Annotated[
        bool, typer.Option(help="only questions whose words set a date window")
    ] = False,
    resume: Annotated[
        bool,
        typer.Option(help="keep the answers already in OUT/predictions.jsonl (same options)"),
    ] = False,
) -> None:
    """RealTime QA: multiple choice and generation, beside the published leaderboard.

    Runs what `newsrag ask` runs (backend, preset and embedder from the NEWSRAG_ settings)."""
    from dataclasses import replace

    from retrieval.find.evidence import EvidenceConfig
    from retrieval.find.search import SearchConfig
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
    settings = settings_for(preset=preset)
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
            time_filters=base.pipeline.time_filters if time_filters is None else time_filters,
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
    cfg = EvalConfig(
        date_filter=date_filter, mc_query=mc_query, nota_gain=nota_gain, only_timed=only_timed
    )
    week_list = [
        w.strip() for item in [*(weeks or []), *(weeks_opt or [])] for w in item.split(",")
    ]
    week_list = [w for w in week_list if w]
    offline()
    bar, progress = progress_bar()
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
            resume=resume,
        )
    except FileNotFoundError as exc:
        fail(str(exc), 2)
    finally:
        bar.close()
    from service.evals.rtqa_report import markdown_table

    typer.echo(markdown_table(summary))
    typer.echo(f"{summary['seconds']} -> {out}/predictions.jsonl, summary.json, results.md/png")


def progress_bar() -> tuple[Any, Callable[..., None]]:
    """A questions bar and the callback the evaluations report to (done, total[, week])."""
    from tqdm import tqdm

    bar = tqdm(total=None, unit="q", dynamic_ncols=True)

    def progress(done: int, total: int, week: str = "") -> None:
        bar.total = total
        if week:
            bar.set_postfix_str(week)
        bar.update(done - bar.n)

    return bar, progress


@eval_app.command("squad")
def eval_squad(
    data: Annotated[Path, typer.Option(help="SQuAD dev JSON (v1.1 or v2.0)")],
    limit: Annotated[int | None, typer.Option(min=1, help="questions (balanced sample)")] = 400,
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("eval-out/squad"),
    retrieval_only: Annotated[bool, typer.Option(help="scores only, no model")] = False,
    min_score: Annotated[float | None, typer.Option(help="[env NEWSRAG_MIN_SCORE]")] = None,
    index_cache: Annotated[Path | None, typer.Option()] = None,
    seed: Annotated[
        int, typer.Option(help="sample seed: another seed, another sample to pool in calibrate")
    ] = 13,
) -> None:
    """SQuAD: EM/F1 and, on v2.0, answer and abstention rates with a threshold sweep."""
    from dataclasses import replace

    from service.evals.squad import run
    from service.loading import core_config, offline

    if not data.is_file():
        fail(f"--data {data} is not a file", 2)
    settings = settings_for(preset=preset)
    core = core_config(settings)
    if min_score is not None:
        core = replace(core, pipeline=replace(core.pipeline, min_score=min_score))
    offline()
    bar, progress = progress_bar()
    try:
        summary = run(
            data,
            out,
            core,
            limit,
            generate=not retrieval_only,
            seed=seed,
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
        list[Path] | None,
        typer.Option(help="predictions.jsonl of `newsrag eval squad` (v2.0); repeatable"),
    ] = None,
    realtimeqa: Annotated[
        list[Path] | None, typer.Option(help="predictions.jsonl of `newsrag eval realtimeqa`")
    ] = None,
    preset: PresetOpt = None,
    out: Annotated[
        Path | None,
        typer.Option(help="calibration file to write [default: the preset's, in retrieval/check/]"),
    ] = None,
    report: Annotated[Path, typer.Option(help="folder for the report and plot")] = Path(
        "eval-out/calibration"
    ),
    without: Annotated[
        list[str] | None,
        typer.Option(help="a signal to leave out of the fit (to measure its worth); repeatable"),
    ] = None,
    measure: Annotated[
        bool,
        typer.Option(
            "--measure",
            help="only measure the calibration file (--out, or the preset's) on the "
            "predictions' held-out half (and on RealTime QA answers, if given): no fit, "
            "nothing written but the report",
        ),
    ] = False,
) -> None:
    """Fit the answer confidence on evaluation predictions; report calibration on held-out
    SQuAD questions (reliability table, ECE, answer/abstain rates at the chosen threshold).
    Every signal all fitting answers carry is fitted, except those named by --without.
    With --measure, a shipped file is checked against a new run's answers instead."""
    from service.evals.calibrate import calibrate, measure_file

    paths = [*(squad or []), *(realtimeqa or [])]
    for p in paths:
        if not p.is_file():
            fail(f"{p} is not a file", 2)
    if not paths:
        fail("give --squad and/or --realtimeqa predictions", 2)
    from retrieval.check.confidence import preset_calibration

    if out is None:
        try:
            out = preset_calibration(settings_for(preset=preset).preset)
        except ValueError as exc:
            fail(f"{exc}: give --out for its calibration file", 2)
    from retrieval.check.confidence import FEATURES

    unknown = sorted(set(without or []) - set(FEATURES))
    if unknown:
        fail(f"--without {', '.join(unknown)}: not a signal ({', '.join(FEATURES)})", 2)
    try:
        if measure:
            if without:
                fail("--measure fits nothing: --without does not apply", 2)
            result = measure_file(squad or [], out, report, realtimeqa or [])
        else:
            result = calibrate(squad or [], realtimeqa or [], out, report, skip=set(without or []))
    except ValueError as exc:
        fail(str(exc), 2)
    report.mkdir(parents=True, exist_ok=True)
    (report / "report.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    typer.echo(json.dumps({k: v for k, v in result.items() if k != "curve"}, indent=2))


@eval_app.command("kind-confidence")
def eval_kind_confidence(
    answers: Annotated[
        list[Path],
        typer.Option(help="answers.jsonl of `newsrag eval questions` (both parts); repeatable"),
    ],
    out: Annotated[
        Path | None,
        typer.Option(
            help="file to write [default: calibration-kinds.json in --report]; the service "
            "reads retrieval/check/calibration-kinds-<preset>.json"
        ),
    ] = None,
    report: Annotated[Path, typer.Option(help="folder for the report")] = Path(
        "eval-out/kind-confidence"
    ),
) -> None:
    """Fit the confidence of open, yes/no, list and about-the-article answers on the everyday
    set's development answers; report its calibration (ECE) per kind on the held-out ones.
    The fit is written beside the report unless --out names the file the service reads: a
    measurement does not put a confidence on every answer."""
    from service.evals.kind_confidence import run

    for p in answers:
        if not p.is_file():
            fail(f"--answers {p} is not a file", 2)
    target = out or report / "calibration-kinds.json"
    report.mkdir(parents=True, exist_ok=True)
    try:
        result = run(answers, target, report)
    except (ValueError, KeyError, json.JSONDecodeError, OSError) as exc:
        fail(f"cannot fit the kind confidence: {exc}", 2)
    typer.echo(json.dumps(result, indent=2))


@eval_app.command("feedback")
def eval_feedback(
    data: Annotated[Path, typer.Option(help="JSONL from `newsrag feedback export`")],
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("eval-out/feedback"),
) -> None:
    """Replay rated answers: liked answers that changed are regressions, disliked ones that
    changed may be fixes (each question asked again at its own date)."""
    from service.evals.feedback import read_export, replay
    from service.loading import open_newsrag

    if not data.is_file():
        fail(f"--data {data} is not a file", 2)
    try:
        records = read_export(data)
    except ValueError as exc:
        fail(str(exc), 2)
    summary = replay(open_newsrag(settings_for(preset=preset)), records, out)
    typer.echo(json.dumps(summary, indent=2))
    typer.echo(f"-> {out}/replay.jsonl, summary.json")


@eval_app.command("questions")
def eval_questions(
    data: Annotated[Path, typer.Option(help="RealTime QA folder the set's articles come from")],
    questions: Annotated[
        Path | None, typer.Option(help="question set [default: the everyday set]")
    ] = None,
    split: Annotated[str | None, typer.Option(help="dev | heldout [default: both]")] = None,
    types: Annotated[
        str | None, typer.Option(help="comma list of factoid, open, yesno, list, meta")
    ] = None,
    preset: PresetOpt = None,
    out: Annotated[Path, typer.Option(help="output folder")] = Path("eval-out/questions"),
    index_cache: Annotated[
        Path | None, typer.Option(help="reuse the set's index here [default: OUT/indexes]")
    ] = None,
) -> None:
    """Everyday questions (what happened, why, yes/no, which, about the article) over real
    articles that are not the seed, with the product's own settings; scored per type."""
    from service.evals.everyday import DEFAULT_SET, TYPES, run
    from service.loading import core_config, offline

    if not data.is_dir():
        fail(f"--data {data} is not a directory", 2)
    if split not in (None, "dev", "heldout"):
        fail(f"--split must be dev or heldout, got {split!r}", 2)
    chosen = {t.strip() for t in (types or "").split(",") if t.strip()}
    if chosen - set(TYPES):
        fail(f"--types must be a comma list of {', '.join(TYPES)}; got {types!r}", 2)
    qset = questions or DEFAULT_SET
    if not qset.is_file():
        fail(f"--questions {qset} is not a file", 2)
    offline()
    bar, progress = progress_bar()
    try:
        summary = run(
            data,
            out,
            core_config(settings_for(preset=preset)),
            qset,
            split,
            chosen or None,
            progress=lambda done, total: progress(done, total),
            index_cache=index_cache,
        )
    except (FileNotFoundError, ValueError) as exc:
        fail(str(exc), 2)
    finally:
        bar.close()
    from service.evals.everyday import markdown

    typer.echo(markdown(summary["results"]))
    typer.echo(f"{summary['seconds']} s -> {out}/answers.jsonl, summary.json, results.md")


@eval_app.command("seed")
def eval_seed(
    which: Annotated[str, typer.Option("--set", help="test | fresh")] = "test",
    index: IndexOpt = None,
    preset: PresetOpt = None,
) -> None:
    """The seed-article question sets: a smoke test that nothing broke (answerable ones right,
    unanswerable ones abstained, time per question), never a training set."""
    from service.evals.seed import load, run
    from service.loading import offline, open_newsrag

    if which not in load()[1]:
        fail(f"--set must be one of {', '.join(sorted(load()[1]))}; got {which!r}", 2)
    offline()
    settings = settings_for(index, preset)
    rag = open_newsrag(settings)
    rag.models.load()
    summary = run(rag, which, typer.echo)
    typer.echo(json.dumps({"preset": settings.preset, "backend": settings.backend, **summary}))

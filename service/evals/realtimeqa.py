"""RealTime QA (Kasai et al. 2023): weekly news questions scored as the public leaderboard does.

For each week a fresh index is built from that week's article pool (the union of the `_gcs`
search results, deduplicated by URL) and every question is asked through `Newsrag.ask`, the
path every door uses, with the backend, preset and embedder the settings name.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

from index.core import CoreConfig, Models, Newsrag, index_exists
from index.ingest import Indexer
from index.transfer import copy_index
from retrieval.find.evidence import approx_tokens
from retrieval.find.timefilter import time_window
from retrieval.models.embedder import resolve_dtype
from retrieval.options import AskOptions
from retrieval.types import Answer, Hit, SearchFilter
from service.evals.leaderboard import (
    baseline_scores,
    gold_urls,
    list_weeks,
    parse_day,
    read_jsonl,
    week_articles,
)
from service.evals.rtqa_report import chart, markdown_table, summarize
from service.evals.scoring import (
    contains_answer,
    gold_text,
    recall_at_k,
    reciprocal_rank,
)

logger = logging.getLogger(__name__)

KS = (1, 5, 10)


# -- running ------------------------------------------------------------------------------
@dataclass
class EvalConfig:
    """What the evaluation adds to the system's own configuration (`CoreConfig`)."""

    date_filter: bool = True  # articles published after the question date are not evidence
    # Multiple choice may retrieve with the choices appended to the question (they are part of
    # that track's input); generation never sees them.
    mc_query: str = "question"
    # NOTA track: "None of the above" is picked when the evidence makes no remaining option
    # more likely than the model finds it without evidence: the best gain (mean
    # log-likelihood with evidence − without) is below this (tuned on dev for the default
    # reader, docs/EVALUATION.md: 0 for base; small's runs used 0.25).
    nota_gain: float = 0.0
    # Only the questions whose own words set a date window ("this week"): measures time
    # filters where they act (compare --time-filters with --no-time-filters).
    only_timed: bool = False


NOTA = "None of the above"


def eval_core(core: CoreConfig) -> CoreConfig:
    """The leaderboard always expects an answer: no retrieval gate and no confidence gate (the
    confidence is still recorded), a short answer budget, and the closed-book reading of the
    options that the NOTA rule needs."""
    pipe = replace(
        core.pipeline,
        min_score=0.0,
        min_confidence=0.0,
        max_new_tokens=min(core.pipeline.max_new_tokens, 48),
        mc_closed_book_reading=True,  # the NOTA rule reads it
    )
    return replace(core, pipeline=pipe, query_batching=False, readonly=False)


def open_week(data: Path, week: str, cache: Path, core: CoreConfig, models: Models) -> Newsrag:
    """The week's index (built once from its article pool, then reused from `cache`); with a
    store URL, a database of its own on that server (copied from `cache` when the week's
    directory is there: the same vectors, nothing embedded again)."""
    tag = f"{week}-{core.chunk_tokens}-{core.chunk_overlap}-{models.embedder.dtype}"
    path = cache / tag
    if core.store_url:
        return open_week_database(data, week, path, core, models)
    if not (path / "manifest.json").exists():
        tmp = path.with_name(path.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        building = Newsrag.open(replace(core, index_dir=tmp), models, create=True)
        Indexer(building.store, models.embedder, batch_articles=64).ingest_articles(
            week_articles(data, week)
        )
        building.close()
        tmp.rename(path)
    return Newsrag.open(replace(core, index_dir=path), models)


def open_week_database(
    data: Path, week: str, path: Path, core: CoreConfig, models: Models
) -> Newsrag:
    from retrieval.store.directory import IndexStore
    from retrieval.store.pg_schema import create_database, database_url, rename_database

    assert core.store_url is not None
    name = "newsrag_rtqa_" + re.sub(r"[^a-z0-9]+", "_", path.name.lower())
    url = database_url(core.store_url, name)
    if not index_exists(replace(core, store_url=url)):
        building_url = create_database(core.store_url, f"{name}_building", replace=True)
        building = Newsrag.open(replace(core, store_url=building_url), models, create=True)
        if (path / "manifest.json").exists():
            source = IndexStore.open(path, readonly=True)
            copy_index(source, building.store)
            source.close()
        else:
            Indexer(building.store, models.embedder, batch_articles=64).ingest_articles(
                week_articles(data, week)
            )
        building.close()
        rename_database(core.store_url, f"{name}_building", name)
    return Newsrag.open(replace(core, store_url=url), models)


def evaluate_question(
    rag: Newsrag,
    q: dict[str, Any],
    cfg: EvalConfig,
    gold: set[str],
    mc: bool,
    gen: bool,
    nota_q: dict[str, Any] | None = None,
) -> dict[str, Any]:
    qdate = parse_day(q.get("question_date"))
    filters = SearchFilter(published_to=qdate) if cfg.date_filter and qdate else None
    question = q["question_sentence"]
    answer_text = gold_text(q["choices"], q["answer"])
    top_k = rag.config.pipeline.top_k
    rec: dict[str, Any] = {
        "question_id": q["question_id"],
        "question": question,
        "gold": answer_text,
        "choice": None,
        "answer": "",
        "abstained": False,
        "citations": [],
    }
    t0 = time.perf_counter()
    timings: dict[str, float] = {}
    same_prompt = cfg.mc_query == "question"
    if gen or (mc and same_prompt):
        ans = rag.ask(
            question,
            AskOptions(
                filters=filters,
                as_of=qdate,
                choices=q["choices"] if mc and same_prompt else None,
                sentence=False,
            ),
        )
        candidates, sources = ans.candidates, [c.hit for c in ans.citations]
        timings.update(ans.timings_ms)
        if gen:
            rec.update(answer_record(ans, answer_text))
        if ans.choice_scores is not None:
            rec.update(choice_record(ans.choice_scores, ans.choice_detail))
    else:
        # What an answer would read: the question's own date window applies here too.
        candidates, sources, _ = rag.pipeline.sources_for(question, top_k, filters, qdate)
    rec["retrieval"] = retrieval_record(candidates, sources, answer_text, gold)
    if mc and not same_prompt:
        t_mc = time.perf_counter()
        mc_ans = rag.pipeline.choose_answer(question, q["choices"], None, filters, qdate)
        timings["choose"] = (time.perf_counter() - t_mc) * 1000
        mc_has = [contains_answer(h.text, answer_text) for h in mc_ans.candidates]
        rec["retrieval"].update({f"mc_answer_recall@{k}": recall_at_k(mc_has, k) for k in KS})
        rec["retrieval"]["mc_evidence_recall"] = float(
            any(contains_answer(h.text, answer_text) for h in mc_ans.sources)
        )
        rec.update(choice_record(mc_ans.scores, mc_ans.detail))
    if nota_q is not None and "choice_scores_evidence" in rec:
        rec.update(nota_record(q, nota_q, rec, cfg))
    timings["total"] = (time.perf_counter() - t0) * 1000
    rec["timings_ms"] = {k: round(v, 1) for k, v in timings.items()}
    return rec


def nota_record(
    q: dict[str, Any], nota_q: dict[str, Any], rec: dict[str, Any], cfg: EvalConfig
) -> dict[str, Any]:
    """The NOTA variant of a question keeps three of its four options and replaces one by
    "None of the above": the kept options' scores are the ones multiple choice computed on the
    same sources; "None of the above" wins when none of them scores well enough."""
    options = [i for i, c in enumerate(nota_q["choices"]) if c.strip().lower() != NOTA.lower()]
    nota_index = next(i for i in range(len(nota_q["choices"])) if i not in options)
    where = [q["choices"].index(nota_q["choices"][i]) for i in options]
    kinds = [k for k in ("evidence", "closed_book") if f"choice_scores_{k}" in rec]
    detail = {k: [rec[f"choice_scores_{k}"][w] for w in where] for k in kinds}
    scores = [rec["choice_scores"][w] for w in where]
    best = max(range(len(scores)), key=lambda i: scores[i])
    gain = max(e - c for e, c in zip(detail["evidence"], detail["closed_book"], strict=True))
    pick = nota_index if gain < cfg.nota_gain else options[best]
    return {
        "nota_choice": pick,
        "nota_options": options,
        "nota_index": nota_index,
        "nota_scores_combined": scores,
        **{f"nota_scores_{k}": v for k, v in detail.items()},
    }


def retrieval_record(
    candidates: list[Hit], sources: list[Hit], answer_text: str, gold: set[str]
) -> dict[str, float]:
    """Answer recall of the ranked chunks and of the evidence actually shown to the model."""
    has_answer = [contains_answer(h.text, answer_text) for h in candidates]
    has_gold = [h.url in gold for h in candidates] if gold else []
    return {
        **{f"answer_recall@{k}": recall_at_k(has_answer, k) for k in KS},
        "answer_mrr@10": reciprocal_rank(has_answer, 10),
        "evidence_recall": float(any(contains_answer(h.text, answer_text) for h in sources)),
        "evidence_tokens": float(sum(approx_tokens(h.text) for h in sources)),
        **({f"gold_recall@{k}": recall_at_k(has_gold, k) for k in KS} if gold else {}),
        **({"gold_mrr@10": reciprocal_rank(has_gold, 10)} if gold else {}),
    }


def answer_record(ans: Answer, answer_text: str) -> dict[str, Any]:
    short = ans.short_answer or ""
    return {
        "answer": "" if ans.abstained else short,
        "raw_answer": ans.answer,
        "abstained": ans.abstained,
        "abstain_reason": ans.abstain_reason,
        # What "flag" mode would have answered (unsupported answers kept, marked).
        "answer_if_flagged": short
        if ans.abstain_reason in ("unsupported", "low_confidence")
        else ("" if ans.abstained else short),
        "citations": [
            {"id": c.id, "url": c.hit.url, "cited": c.cited} for c in ans.citations if c.cited
        ],
        "cited_contains_gold": any(
            contains_answer(c.hit.text, answer_text) for c in ans.citations if c.cited
        ),
        # For `newsrag eval calibrate`: the signals and the short answer they describe.
        "confidence": ans.confidence,
        "features": ans.features,
        "short_answer": short,
    }


def choice_record(scores: list[float], detail: dict[str, list[float]] | None) -> dict[str, Any]:
    out: dict[str, Any] = {
        "choice": max(range(len(scores)), key=lambda i: scores[i]),
        "choice_scores": [round(s, 4) for s in scores],
    }
    for k, v in (detail or {}).items():
        if k != "combined":
            out[f"choice_scores_{k}"] = [round(x, 4) for x in v]
    return out


def run(
    data: Path,
    out: Path,
    core: CoreConfig,
    weeks: list[str] | None = None,
    limit: int | None = None,
    cfg: EvalConfig | None = None,
    tracks: tuple[str, ...] = ("mc", "gen"),
    models: Models | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    index_cache: Path | None = None,
    resume: bool = False,
) -> dict[str, Any]:
    """Evaluate and write predictions.jsonl, summary.json, results.md and results.png. With
    `resume`, questions already in OUT/predictions.jsonl keep their records (a run that was
    interrupted, or a longer run after a `limit`ed one with the same options)."""
    cfg = cfg or EvalConfig()
    core = eval_core(core)
    weeks = weeks or list_weeks(data)
    missing = [w for w in weeks if not (data / f"{w}_qa.jsonl").exists()]
    if missing:
        raise FileNotFoundError(f"no questions for week(s) {', '.join(missing)} in {data}")
    out.mkdir(parents=True, exist_ok=True)
    needs_model = bool({"mc", "gen", "nota"} & set(tracks))
    models = models or Models.build(core, with_generator=needs_model)
    questions = {w: read_jsonl(data / f"{w}_qa.jsonl")[: limit or None] for w in weeks}
    if cfg.only_timed:
        questions = {w: [q for q in qs if sets_window(q)] for w, qs in questions.items()}
    nota = {
        q["question_id"].removesuffix("_nota"): q
        for w in weeks
        if "nota" in tracks and (data / f"{w}_qa_nota.jsonl").exists()
        for q in read_jsonl(data / f"{w}_qa_nota.jsonl")
    }
    total = sum(len(v) for v in questions.values())
    done = previous_records(out / "predictions.jsonl") if resume else {}
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    index_s = 0.0
    with open(out / "predictions.jsonl", "w", encoding="utf-8") as fh:
        for w in weeks:
            t = time.perf_counter()
            rag = open_week(data, w, index_cache or out / "indexes", core, models)
            index_s += time.perf_counter() - t
            golds = gold_urls(data, w)
            for q in questions[w]:
                nota_q = nota.get(q["question_id"])
                rec = done.get(q["question_id"])
                if rec is None:
                    rec = evaluate_question(
                        rag,
                        q,
                        cfg,
                        golds.get(q["question_id"], set()),
                        "mc" in tracks,
                        "gen" in tracks,
                        nota_q,
                    )
                elif nota_q is not None and "nota_choice" in rec:
                    # Decided from the stored scores: a resumed run applies this run's
                    # --nota-gain without asking the model again.
                    rec.update(nota_record(q, nota_q, rec, cfg))
                rec["week"] = w
                records.append(rec)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                if progress:
                    progress(len(records), total, w)
            rag.close()
    elapsed = time.perf_counter() - started
    asked = {r["question_id"] for r in records}
    nota = {k: v for k, v in nota.items() if k in asked}
    config = {**asdict(cfg), **describe(core)}
    summary = summarize(records, questions, config, tracks, elapsed, index_s, nota)
    summary["published"] = baseline_scores(data, weeks)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown_table(summary), encoding="utf-8")
    chart(summary, out / "results.png")
    return summary


def previous_records(path: Path) -> dict[str, dict[str, Any]]:
    """The records of an earlier run by question id; a line cut short by an interruption is
    asked again."""
    if not path.is_file():
        return {}
    records = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            rec = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(rec, dict) and "question_id" in rec:
            records[rec["question_id"]] = rec
    return records


def sets_window(q: dict[str, Any]) -> bool:
    qdate = parse_day(q.get("question_date"))
    return qdate is not None and time_window(q["question_sentence"], qdate) is not None


def describe(core: CoreConfig) -> dict[str, Any]:
    """The parts of the system's configuration that decide the numbers."""
    return {
        "preset": core.preset,
        "backend": core.backend,
        "embed_dtype": resolve_dtype(core.embed_dtype),
        "chunk_tokens": core.chunk_tokens,
        "chunk_overlap": core.chunk_overlap,
        "top_k": core.pipeline.top_k,
        "time_filters": core.pipeline.time_filters,
        "mc_closed_book_weight": core.pipeline.mc_closed_book_weight,
        "evidence": asdict(core.pipeline.evidence),
        "search": asdict(core.search),
    }

"""RealTime QA (Kasai et al. 2023): weekly news questions scored as the public leaderboard does.

For each week a fresh index is built from that week's article pool (the union of the `_gcs`
search results, deduplicated by URL) and every question goes through the service's pipeline.
"""

from __future__ import annotations

import json
import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from index.chunking import ChunkingParams
from index.ingest import Indexer, manifest_for
from retrieval.embedder import Embedder
from retrieval.metrics import (
    contains_answer,
    gold_text,
    recall_at_k,
    reciprocal_rank,
)
from retrieval.pipeline import PipelineConfig, RAGPipeline
from retrieval.prompt import strip_citations
from retrieval.search import DateFilter, Retriever, SearchConfig
from retrieval.store import IndexStore
from service.evals.leaderboard import (
    baseline_scores,
    gold_urls,
    list_weeks,
    parse_day,
    read_jsonl,
    score_generation,
    score_mc,
    week_articles,
)

logger = logging.getLogger(__name__)

KS = (1, 5, 10)


# -- running ------------------------------------------------------------------------------
@dataclass
class EvalConfig:
    preset: str = "small"
    top_k: int = 5
    chunk_tokens: int = 200
    chunk_overlap: int = 40
    search: SearchConfig = field(default_factory=SearchConfig)
    date_filter: bool = True  # articles published after the question date are not evidence
    # Multiple choice may retrieve with the choices appended to the question (they are part of
    # that track's input); generation never sees them.
    mc_query: str = "question"
    min_score: float = 0.0  # the leaderboard always expects an answer
    embed_dtype: str = "bfloat16"


def build_week_index(
    data: Path, week: str, cache: Path, embedder: Embedder, params: ChunkingParams
) -> IndexStore:
    path = cache / f"{week}-{params.max_tokens}-{params.overlap_tokens}-{embedder.dtype}"
    if (path / "manifest.json").exists():
        return IndexStore.open(path, expect=manifest_for(embedder, params))
    tmp = path.with_name(path.name + ".building")
    import shutil

    shutil.rmtree(tmp, ignore_errors=True)
    store = IndexStore.create(tmp, manifest_for(embedder, params))
    Indexer(store, embedder, batch_articles=64).ingest_articles(week_articles(data, week))
    store.close()
    tmp.rename(path)
    return IndexStore.open(path, expect=manifest_for(embedder, params))


def evaluate_question(
    pipe: RAGPipeline, q: dict[str, Any], cfg: EvalConfig, gold: set[str], mc: bool, gen: bool
) -> dict[str, Any]:
    qdate = parse_day(q.get("question_date"))
    filters = DateFilter(published_to=qdate) if cfg.date_filter and qdate else None
    t0 = time.perf_counter()
    hits = pipe.retriever.search(q["question_sentence"], max(10, cfg.top_k), filters, as_of=qdate)
    retrieve_ms = (time.perf_counter() - t0) * 1000
    answer_text = gold_text(q["choices"], q["answer"])
    has_answer = [contains_answer(h.text, answer_text) for h in hits]
    has_gold = [h.url in gold for h in hits] if gold else []
    ctx = hits[: cfg.top_k]
    rec: dict[str, Any] = {
        "question_id": q["question_id"],
        "question": q["question_sentence"],
        "gold": answer_text,
        "choice": None,
        "answer": "",
        "abstained": False,
        "citations": [],
        "retrieval": {
            **{f"answer_recall@{k}": recall_at_k(has_answer, k) for k in KS},
            "answer_mrr@10": reciprocal_rank(has_answer, 10),
            **({f"gold_recall@{k}": recall_at_k(has_gold, k) for k in KS} if gold else {}),
            **({"gold_mrr@10": reciprocal_rank(has_gold, 10)} if gold else {}),
        },
    }
    timings = {"retrieve": retrieve_ms}
    scores: list[float] | None = None
    mc_ctx = ctx
    if cfg.mc_query == "question+choices":
        query = f"{q['question_sentence']} {' ; '.join(q['choices'])}"
        mc_hits = pipe.retriever.search(query, max(10, cfg.top_k), filters, as_of=qdate)
        mc_has = [contains_answer(h.text, answer_text) for h in mc_hits]
        rec["retrieval"].update({f"mc_answer_recall@{k}": recall_at_k(mc_has, k) for k in KS})
        mc_ctx = mc_hits[: cfg.top_k]
    if gen:
        ans = pipe.answer(
            q["question_sentence"],
            ctx,
            retrieve_ms=retrieve_ms,
            choices=q["choices"] if mc and mc_ctx is ctx else None,
        )
        scores = ans.choice_scores
        rec["answer"] = "" if ans.abstained else strip_citations(ans.answer)
        rec["raw_answer"] = ans.answer
        rec["abstained"] = ans.abstained
        rec["abstain_reason"] = ans.abstain_reason
        # What "flag" mode would have answered (unsupported answers kept, marked).
        rec["answer_if_flagged"] = strip_citations(ans.draft) if ans.draft else rec["answer"]
        rec["citations"] = [
            {"id": c.id, "url": c.hit.url, "cited": c.cited} for c in ans.citations if c.cited
        ]
        rec["cited_contains_gold"] = any(
            contains_answer(c.hit.text, answer_text) for c in ans.citations if c.cited
        )
        timings["generate"] = ans.timings_ms["generate"]
    if mc:
        t1 = time.perf_counter()
        if scores is None:
            scores = pipe.choose(q["question_sentence"], q["choices"], mc_ctx)
        rec["choice"] = max(range(len(scores)), key=lambda i: scores[i])
        rec["choice_scores"] = [round(s, 4) for s in scores]
        timings["choose"] = (time.perf_counter() - t1) * 1000
    timings["total"] = (time.perf_counter() - t0) * 1000
    rec["timings_ms"] = {k: round(v, 1) for k, v in timings.items()}
    return rec


def run(
    data: Path,
    out: Path,
    weeks: list[str] | None = None,
    limit: int | None = None,
    cfg: EvalConfig | None = None,
    tracks: tuple[str, ...] = ("mc", "gen"),
    embedder: Embedder | None = None,
    progress: Callable[[int, int, str], None] | None = None,
    index_cache: Path | None = None,
) -> dict[str, Any]:
    """Evaluate and write predictions.jsonl, summary.json, results.md and results.png."""
    from retrieval.generator import Generator

    cfg = cfg or EvalConfig()
    weeks = weeks or list_weeks(data)
    missing = [w for w in weeks if not (data / f"{w}_qa.jsonl").exists()]
    if missing:
        raise FileNotFoundError(f"no questions for week(s) {', '.join(missing)} in {data}")
    out.mkdir(parents=True, exist_ok=True)
    embedder = embedder or Embedder(dtype=cfg.embed_dtype)  # type: ignore[arg-type]
    generator = Generator(cfg.preset, _model_cache(), max_new_tokens=32)
    params = ChunkingParams(cfg.chunk_tokens, cfg.chunk_overlap)
    questions = {w: read_jsonl(data / f"{w}_qa.jsonl")[: limit or None] for w in weeks}
    total = sum(len(v) for v in questions.values())
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    index_s = 0.0
    with open(out / "predictions.jsonl", "w", encoding="utf-8") as fh:
        for w in weeks:
            t = time.perf_counter()
            store = build_week_index(data, w, index_cache or out / "indexes", embedder, params)
            index_s += time.perf_counter() - t
            pipe = RAGPipeline(
                Retriever(store, embedder, cfg.search),
                generator,
                PipelineConfig(top_k=cfg.top_k, min_score=cfg.min_score, max_new_tokens=32),
            )
            golds = gold_urls(data, w)
            for q in questions[w]:
                rec = evaluate_question(
                    pipe,
                    q,
                    cfg,
                    golds.get(q["question_id"], set()),
                    "mc" in tracks,
                    "gen" in tracks,
                )
                rec["week"] = w
                records.append(rec)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                if progress:
                    progress(len(records), total, w)
            store.close()
    elapsed = time.perf_counter() - started
    summary = summarize(records, questions, cfg, tracks, elapsed, index_s)
    summary["published"] = baseline_scores(data, weeks)
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown_table(summary), encoding="utf-8")
    chart(summary, out / "results.png")
    return summary


def _model_cache() -> Path:
    from service.settings import get_settings

    return get_settings().cache_dir


def summarize(
    records: list[dict[str, Any]],
    questions: dict[str, list[dict[str, Any]]],
    cfg: EvalConfig,
    tracks: tuple[str, ...],
    elapsed: float,
    index_s: float,
) -> dict[str, Any]:
    qs = [q for w in questions.values() for q in w]
    by_id = {r["question_id"]: r for r in records}
    ours: dict[str, Any] = {"questions": len(qs)}
    if "mc" in tracks:
        ours["mc"] = score_mc({k: r["choice"] for k, r in by_id.items()}, qs)
    if "gen" in tracks:
        em, f1, n = score_generation({k: r["answer"] for k, r in by_id.items()}, qs)
        ours.update(em=em, f1=f1, gen_questions=n)
        em_f, f1_f, _ = score_generation(
            {k: r.get("answer_if_flagged", r["answer"]) for k, r in by_id.items()}, qs
        )
        ours.update(em_if_flagged=em_f, f1_if_flagged=f1_f)
        ours["abstained"] = 100 * sum(bool(r.get("abstained")) for r in records) / len(records)
        ours["abstained_unsupported"] = (
            100 * sum(r.get("abstain_reason") == "unsupported" for r in records) / len(records)
        )
        cited = [r for r in records if r.get("citations")]
        ours["answers_with_citation"] = 100 * len(cited) / len(records) if records else 0
        ours["citations_contain_gold"] = (
            100 * sum(r["cited_contains_gold"] for r in cited) / len(cited) if cited else 0.0
        )
    retrieval: dict[str, float] = {}
    keys = sorted({k for r in records for k in r["retrieval"]})
    for k in keys:
        vals = [r["retrieval"][k] for r in records if k in r["retrieval"]]
        retrieval[k] = 100 * statistics.fmean(vals) if vals else 0.0
    retrieval["gold_questions"] = sum(1 for r in records if "gold_mrr@10" in r["retrieval"])
    times = [r["timings_ms"]["total"] for r in records]
    return {
        "config": asdict(cfg),
        "weeks": sorted(questions),
        "ours": ours,
        "retrieval": retrieval,
        "seconds": {
            "total": round(elapsed, 1),
            "indexing": round(index_s, 1),
            "per_question_median": round(statistics.median(times) / 1000, 2) if times else 0,
        },
    }


def markdown_table(summary: dict[str, Any]) -> str:
    ours = summary["ours"]
    name = f"newsrag ({summary['config']['preset']}, local CPU)"
    rows = [(name, ours.get("mc"), ours.get("em"), ours.get("f1"))]
    rows += [(k, v["mc"], v["em"], v["f1"]) for k, v in summary["published"].items()]
    rows.sort(key=lambda r: -(r[1] or 0))

    def cell(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    lines = [
        f"RealTime QA, weeks {summary['weeks'][0]}–{summary['weeks'][-1]} "
        f"({ours['questions']} questions, pooled)",
        "",
        "| system | MC accuracy | gen EM | gen F1 |",
        "|---|---|---|---|",
        *[
            f"| {'**' + r[0] + '**' if r[0] == name else r[0]} | {cell(r[1])} | {cell(r[2])} | "
            f"{cell(r[3])} |"
            for r in rows
        ],
        "",
        "Retrieval (our index over each week's pool): "
        + ", ".join(
            f"{k} {v:.1f}" for k, v in summary["retrieval"].items() if k != "gold_questions"
        ),
        f"(gold-article metrics over {summary['retrieval']['gold_questions']} questions).",
    ]
    return "\n".join(lines) + "\n"


def chart(summary: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ours = summary["ours"]
    systems = {f"newsrag ({summary['config']['preset']})": ours, **summary["published"]}
    names = list(systems)
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, key, label in ((axes[0], "mc", "MC accuracy (%)"), (axes[1], "f1", "generation F1")):
        vals = [systems[n].get(key) or 0 for n in names]
        colors = ["#1f5fbf" if n.startswith("newsrag") else "#9aa4ad" for n in names]
        ax.barh(names, vals, color=colors)
        ax.set_xlabel(label)
        ax.invert_yaxis()
        for i, v in enumerate(vals):
            ax.text(v + 0.5, i, f"{v:.1f}", va="center", fontsize=8)
    fig.suptitle("RealTime QA, pooled over the evaluated weeks")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

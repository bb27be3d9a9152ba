"""SQuAD v1.1 / v2.0 dev through the service's pipeline: extractive answer quality, and on v2.0
how often newsrag answers the answerable questions and abstains on the unanswerable ones.

Every paragraph becomes a document of one index; each question is retrieved over all of them.
"""

from __future__ import annotations

import json
import random
import shutil
import statistics
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from index.core import CoreConfig, Models, Newsrag
from index.ingest import Indexer
from index.parse import content_id
from retrieval.options import AskOptions
from retrieval.types import Article
from service.evals.scoring import best_over, exact_match, token_f1


def load(path: Path) -> tuple[list[Article], list[dict[str, Any]]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    articles: list[Article] = []
    questions: list[dict[str, Any]] = []
    for doc in data["data"]:
        title = doc["title"].replace("_", " ")
        for p in doc["paragraphs"]:
            aid = content_id(title, p["context"])
            articles.append(Article(id=aid, title=title, body=p["context"]))
            for qa in p["qas"]:
                questions.append(
                    {
                        "id": qa["id"],
                        "question": qa["question"],
                        "article_id": aid,
                        "answers": [a["text"] for a in qa.get("answers", [])],
                        "impossible": bool(qa.get("is_impossible")),
                    }
                )
    return articles, questions


def open_index(
    path: Path, cache: Path, core: CoreConfig, models: Models, articles: list[Article]
) -> Newsrag:
    """Every dev paragraph as a document of one index (built once, then reused)."""
    target = (
        cache
        / f"squad-{path.stem}-{core.chunk_tokens}-{core.chunk_overlap}-{models.embedder.dtype}"
    )
    if not (target / "manifest.json").exists():
        tmp = target.with_name(target.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        building = Newsrag.open(replace(core, index_dir=tmp), models, create=True)
        Indexer(building.store, models.embedder, batch_articles=128).ingest_articles(articles)
        building.close()
        tmp.rename(target)
    return Newsrag.open(replace(core, index_dir=target), models)


def sample(questions: list[dict[str, Any]], limit: int | None, seed: int) -> list[dict[str, Any]]:
    """A deterministic sample, balanced between answerable and unanswerable when both exist."""
    if not limit or limit >= len(questions):
        return questions
    rng = random.Random(seed)
    pos = [q for q in questions if not q["impossible"]]
    neg = [q for q in questions if q["impossible"]]
    if not neg:
        return rng.sample(pos, limit)
    half = limit // 2
    return rng.sample(pos, limit - half) + rng.sample(neg, half)


def run(
    path: Path,
    out: Path,
    core: CoreConfig,
    limit: int | None,
    generate: bool = True,
    seed: int = 13,
    progress: Callable[[int, int], None] | None = None,
    index_cache: Path | None = None,
) -> dict[str, Any]:
    """Ask each sampled question through `Newsrag.ask` (the path every door uses)."""
    out.mkdir(parents=True, exist_ok=True)
    core = replace(core, pipeline=replace(core.pipeline, max_new_tokens=48), readonly=False)
    min_score = core.pipeline.min_score
    models = Models.build(core, with_generator=generate)
    articles, questions = load(path)
    rag = open_index(path, index_cache or out / "indexes", core, models, articles)
    chosen = sample(questions, limit, seed)
    records = []
    t0 = time.perf_counter()
    with open(out / "predictions.jsonl", "w", encoding="utf-8") as fh:
        for i, q in enumerate(chosen, start=1):
            if generate:
                ans = rag.ask(q["question"], AskOptions(sentence=False))
                candidates, sources = ans.candidates, [c.hit for c in ans.citations]
            else:
                candidates, sources = rag.pipeline.retrieve(q["question"], core.pipeline.top_k)
            rec: dict[str, Any] = {
                "id": q["id"],
                "impossible": q["impossible"],
                "top_dense": max((h.scores["dense"] for h in candidates), default=0.0),
                "top_bm25": max((h.scores["bm25"] for h in candidates), default=0.0),
                "gold_rank": next(
                    (r for r, h in enumerate(sources, 1) if h.article_id == q["article_id"]),
                    None,
                ),
            }
            if generate:
                pred = "" if ans.abstained else (ans.short_answer or "")
                rec.update(
                    answer=pred,
                    abstained=ans.abstained,
                    reason=ans.abstain_reason,
                    draft=pred if not ans.abstained else (ans.short_answer or ""),
                    confidence=ans.confidence,
                    features=ans.features,
                    answers=q["answers"],
                    question=q["question"],
                    # what the features were computed from, to try new ones without a rerun
                    sources=[
                        {"text": c.hit.text, "cited": c.cited, "score": c.hit.score}
                        for c in ans.citations
                    ],
                )
                if q["impossible"]:
                    rec["em"] = rec["f1"] = float(ans.abstained)
                else:
                    rec["em"] = best_over(exact_match, pred, q["answers"], drop_articles=True)
                    rec["f1"] = best_over(token_f1, pred, q["answers"], drop_articles=True)
                    rec["draft_f1"] = best_over(
                        token_f1, rec["draft"], q["answers"], drop_articles=True
                    )
            records.append(rec)
            fh.write(json.dumps(rec) + "\n")
            if progress:
                progress(i, len(chosen))
    rag.close()
    summary = summarize(records, min_score)
    summary["seconds"] = round(time.perf_counter() - t0, 1)
    summary["data"] = path.name
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    curve(records, out / "abstention_curve.png", min_score)
    return summary


def summarize(records: list[dict[str, Any]], min_score: float) -> dict[str, Any]:
    pos = [r for r in records if not r["impossible"]]
    neg = [r for r in records if r["impossible"]]
    s: dict[str, Any] = {
        "questions": len(records),
        "answerable": len(pos),
        "unanswerable": len(neg),
        "min_score": min_score,
    }
    s["gold_in_top5"] = (
        100 * statistics.fmean(r["gold_rank"] is not None for r in pos) if pos else 0
    )
    if records and "em" in records[0]:
        s["em"] = 100 * statistics.fmean(r["em"] for r in records)
        s["f1"] = 100 * statistics.fmean(r["f1"] for r in records)
        if pos:
            s["has_ans_f1"] = 100 * statistics.fmean(r["f1"] for r in pos)
            s["answered_answerable"] = 100 * statistics.fmean(not r["abstained"] for r in pos)
        if neg:
            s["abstained_unanswerable"] = 100 * statistics.fmean(r["abstained"] for r in neg)
    s["threshold_sweep"] = sweep(records)
    return s


def sweep(records: list[dict[str, Any]]) -> list[dict[str, float]]:
    """Abstaining when the top dense score is below t: answer rate on answerable questions and
    abstention rate on unanswerable ones, for a range of t."""
    pos = [r["top_dense"] for r in records if not r["impossible"]]
    neg = [r["top_dense"] for r in records if r["impossible"]]
    rows = []
    for i in range(0, 81, 2):
        t = i / 100
        rows.append(
            {
                "threshold": t,
                "answer_rate_answerable": 100 * statistics.fmean(x >= t for x in pos) if pos else 0,
                "abstain_rate_unanswerable": 100 * statistics.fmean(x < t for x in neg)
                if neg
                else 0,
            }
        )
    return rows


def curve(records: list[dict[str, Any]], path: Path, chosen: float) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = sweep(records)
    fig, ax = plt.subplots(figsize=(6.5, 4))
    ts = [r["threshold"] for r in rows]
    ax.plot(ts, [r["answer_rate_answerable"] for r in rows], label="answers answerable (%)")
    ax.plot(
        ts, [r["abstain_rate_unanswerable"] for r in rows], label="abstains on unanswerable (%)"
    )
    ax.axvline(chosen, color="grey", ls="--", lw=1, label=f"min_score = {chosen:.2f}")
    ax.axhline(80, color="#c33", ls=":", lw=1)
    ax.set_xlabel("retrieval threshold (top dense cosine)")
    ax.set_ylabel("%")
    ax.legend(fontsize=8)
    ax.set_title("Abstention by retrieval score")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

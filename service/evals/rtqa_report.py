"""RealTime QA results: pooled scores, the table beside the leaderboard and its chart."""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from service.evals.leaderboard import score_generation, score_mc


def summarize(
    records: list[dict[str, Any]],
    questions: dict[str, list[dict[str, Any]]],
    config: dict[str, Any],
    tracks: tuple[str, ...],
    elapsed: float,
    index_s: float,
    nota_questions: dict[str, dict[str, Any]] | None = None,
) -> dict[str, Any]:
    nota_questions = nota_questions or {}
    qs = [q for w in questions.values() for q in w]
    by_id = {r["question_id"]: r for r in records}
    ours: dict[str, Any] = {"questions": len(qs)}
    if "mc" in tracks:
        ours["mc"] = score_mc({k: r["choice"] for k, r in by_id.items()}, qs)
    nota_qs = [q for q in nota_questions.values()]
    if "nota" in tracks and nota_qs:
        ours["nota"] = score_mc(
            {f"{k}_nota": r["nota_choice"] for k, r in by_id.items() if "nota_choice" in r},
            nota_qs,
        )
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
        # Rates in percent; evidence_tokens is a size (mean tokens), not a rate.
        scale = 1 if k == "evidence_tokens" else 100
        retrieval[k] = scale * statistics.fmean(vals) if vals else 0.0
    retrieval["gold_questions"] = sum(1 for r in records if "gold_mrr@10" in r["retrieval"])
    times = sorted(r["timings_ms"]["total"] for r in records)
    return {
        "config": config,
        "weeks": sorted(questions),
        "ours": ours,
        "retrieval": retrieval,
        "seconds": {
            "total": round(elapsed, 1),
            "indexing": round(index_s, 1),
            "per_question_median": round(statistics.median(times) / 1000, 2) if times else 0,
            "per_question_p95": round(times[int(0.95 * (len(times) - 1))] / 1000, 2)
            if times
            else 0,
        },
    }


def markdown_table(summary: dict[str, Any]) -> str:
    ours = summary["ours"]
    name = f"newsrag ({summary['config']['preset']}, local CPU)"
    # The leaderboard scores an answer to every question (its systems never abstain), and the
    # evaluation already lifts the retrieval and confidence gates for it; likewise the answers
    # the citation check would withdraw are scored as answered, and the withdrawn variant is
    # reported beside the table.
    em = ours.get("em_if_flagged", ours.get("em"))
    f1 = ours.get("f1_if_flagged", ours.get("f1"))
    rows = [(name, ours.get("mc"), ours.get("nota"), em, f1)]
    rows += [(k, v["mc"], v.get("nota"), v["em"], v["f1"]) for k, v in summary["published"].items()]
    rows.sort(key=lambda r: -(r[1] or 0))

    def cell(v: float | None) -> str:
        return "–" if v is None else f"{v:.1f}"

    lines = [
        f"RealTime QA, weeks {summary['weeks'][0]}–{summary['weeks'][-1]} "
        f"({ours['questions']} questions, pooled)",
        "",
        "| system | MC accuracy | MC NOTA | gen EM | gen F1 |",
        "|---|---|---|---|---|",
        *[
            f"| {'**' + r[0] + '**' if r[0] == name else r[0]} | {cell(r[1])} | {cell(r[2])} | "
            f"{cell(r[3])} | {cell(r[4])} |"
            for r in rows
        ],
        "",
        (
            f'Generation with unsupported answers withdrawn ("I don\'t know", as the service '
            f"answers): EM {ours['em']:.1f}, F1 {ours['f1']:.1f}; withdrawn: "
            f"{ours.get('abstained_unsupported', 0):.1f} % of questions."
            if "em" in ours
            else ""
        ),
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

"""Fit the answer confidence (retrieval/check/confidence.py) on evaluation predictions and
measure its calibration on held-out questions.

Fitting split: half of the SQuAD 2.0 questions and half of the RealTime QA answers (each by a
hash of its id); report split: the other halves, each reported on its own. A label is 1 when
the short answer is right (token F1 ≥ 0.5 against a gold answer) and 0 otherwise — every
answer to an unanswerable SQuAD question is wrong. A logistic regression (numpy, Newton steps
with a small L2 penalty) over standardised features gives the score; the operating threshold
is the one that best balances answering answerable and abstaining on unanswerable SQuAD
questions on the fitting half.
"""

from __future__ import annotations

import hashlib
import json
import math
import statistics
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.check.confidence import FEATURES, Calibration
from service.evals.scoring import best_over, loose_f1, token_f1


def _half(qid: str) -> int:
    return int(hashlib.sha256(qid.encode()).hexdigest(), 16) % 2


def load_squad(path: Path) -> list[dict[str, Any]]:
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if "features" not in r:
            continue
        short = r.get("draft") or ""
        right = (
            not r["impossible"]
            and bool(short)
            and best_over(token_f1, short, r.get("answers", []), drop_articles=True) >= 0.5
        )
        rows.append(
            {
                "id": r["id"],
                "source": "squad",
                "split": "fit" if _half(r["id"]) == 0 else "holdout",
                "impossible": r["impossible"],
                "features": r["features"],
                "label": int(right),
                "f1": 0.0
                if r["impossible"] or not short
                else best_over(token_f1, short, r.get("answers", []), drop_articles=True),
                "abstained_before": bool(r.get("abstained"))
                and r.get("reason") in ("weak_evidence", "model"),
                "gated": bool(r.get("abstained")) and r.get("reason") == "unsupported",
            }
        )
    return rows


def load_realtimeqa(path: Path) -> list[dict[str, Any]]:
    """The generation track's answers, half to fit and half to report on (by a hash of the
    question's id). The fit uses those carrying signals (a declined answer has none); the
    report every one, with `impossible` meaning that the evidence shown to the reader does
    not hold the gold answer: on news, "the sources don't say"."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if "short_answer" not in r:  # not a generation-track record
            continue
        f1 = loose_f1(r.get("short_answer") or "", r["gold"])
        in_evidence = (r.get("retrieval") or {}).get("evidence_recall")
        qid = r.get("question_id") or r["question"]
        rows.append(
            {
                "id": qid,
                "source": "realtimeqa",
                "split": "fit" if _half(qid) == 0 else "holdout",
                "impossible": in_evidence == 0.0,
                "features": r.get("features") or {},
                "label": int(f1 >= 0.5),
                "f1": f1,
                "abstained_before": bool(r.get("abstained"))
                and r.get("abstain_reason") in ("weak_evidence", "model"),
                "gated": r.get("abstain_reason") == "unsupported",
            }
        )
    return rows


def _matrix(rows: list[dict[str, Any]], features: Sequence[str] = FEATURES) -> np.ndarray:
    return np.array([[float(r["features"].get(f, 0.0)) for f in features] for r in rows])


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1e-2, steps: int = 50) -> np.ndarray:
    """Weights (intercept first) of an L2-penalised logistic regression, by Newton's method."""
    xb = np.hstack([np.ones((len(x), 1)), x])
    w = np.zeros(xb.shape[1])
    penalty = l2 * np.eye(xb.shape[1])
    penalty[0, 0] = 0.0
    for _ in range(steps):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + penalty @ w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + penalty
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-8:
            break
    return w


L2_GRID = (0.01, 0.1, 0.3, 1.0, 3.0, 10.0, 30.0, 100.0)


def choose_l2(x: np.ndarray, y: np.ndarray, folds: int = 5) -> float:
    """The penalty with the best cross-validated log-loss on the fitting rows: a few hundred
    answers and ten correlated signals overfit without one, and the held-out half must not
    choose it."""
    fold = np.arange(len(x)) % folds
    best, best_loss = L2_GRID[0], math.inf
    for l2 in L2_GRID:
        losses = []
        for f in range(folds):
            tr, te = fold != f, fold == f
            if len(set(y[tr])) < 2 or not te.any():
                continue
            mean, scale = x[tr].mean(axis=0), x[tr].std(axis=0)
            scale[scale == 0] = 1.0
            w = fit_logistic((x[tr] - mean) / scale, y[tr], l2=l2)
            z = np.hstack([np.ones((int(te.sum()), 1)), (x[te] - mean) / scale]) @ w
            p = np.clip(1.0 / (1.0 + np.exp(-np.clip(z, -30, 30))), 1e-6, 1 - 1e-6)
            losses.append(-np.mean(y[te] * np.log(p) + (1 - y[te]) * np.log(1 - p)))
        loss = float(np.mean(losses)) if losses else math.inf
        if loss < best_loss - 1e-9:
            best, best_loss = l2, loss
    return best


def decisions(
    rows: list[dict[str, Any]], scores: list[float], threshold: float, gate: float = 0.0
) -> list[bool]:
    """Whether each question is answered: its best source reaches the retrieval gate, it got
    an answer the pipeline kept (not withdrawn as unsupported) and its confidence reaches the
    threshold."""
    return [
        not r["abstained_before"]
        and not r["gated"]
        and s >= threshold
        and (r["features"] or {}).get("top_dense", 0.0) >= gate
        for r, s in zip(rows, scores, strict=True)
    ]


def rates(rows: list[dict[str, Any]], answered: list[bool]) -> dict[str, float]:
    pos = [(r, a) for r, a in zip(rows, answered, strict=True) if not r["impossible"]]
    neg = [a for r, a in zip(rows, answered, strict=True) if r["impossible"]]
    out = {
        "answered_answerable": 100 * statistics.fmean(a for _, a in pos) if pos else 0.0,
        "abstained_unanswerable": 100 * statistics.fmean(not a for a in neg) if neg else 0.0,
        "answered_correct": 100 * statistics.fmean(a and r["label"] for r, a in pos) if pos else 0,
    }
    f1s = [r["f1"] for r, a in pos if a]
    out["f1_on_answered"] = 100 * statistics.fmean(f1s) if f1s else 0.0
    return out


def reliability(scores: list[float], labels: list[int], bins: int = 10) -> tuple[list[dict], float]:
    table = []
    ece = 0.0
    n = len(scores)
    for b in range(bins):
        lo, hi = b / bins, (b + 1) / bins
        idx = [i for i, s in enumerate(scores) if lo <= s < hi or (b == bins - 1 and s == 1.0)]
        if not idx:
            continue
        conf = statistics.fmean(scores[i] for i in idx)
        acc = statistics.fmean(labels[i] for i in idx)
        ece += len(idx) / n * abs(acc - conf)
        table.append(
            {"bin": f"{lo:.1f}-{hi:.1f}", "n": len(idx), "confidence": conf, "accuracy": acc}
        )
    return table, ece


def fit_regression(fit: list[dict[str, Any]], features: Sequence[str]) -> Calibration:
    """A penalised logistic regression of the answers' labels on standardised `features`,
    its penalty chosen by cross-validation on the same answers."""
    x = _matrix(fit, features)
    mean, scale = x.mean(axis=0), x.std(axis=0)
    scale[scale == 0] = 1.0
    y = np.array([r["label"] for r in fit], dtype=float)
    l2 = choose_l2(x, y)
    w = fit_logistic((x - mean) / scale, y, l2=l2)
    return Calibration(
        coef=[round(float(v), 6) for v in w[1:]],
        intercept=round(float(w[0]), 6),
        mean=[round(float(v), 6) for v in mean],
        scale=[round(float(v), 6) for v in scale],
        features=list(features),
        fitted_on=f"L2 {l2:g} by 5-fold cross-validation",
    )


def final_score(cal: Calibration, row: dict[str, Any]) -> float:
    """The confidence the pipeline gives an answer (0 for one it withdrew before scoring)."""
    return 0.0 if row["abstained_before"] else cal.score(row["features"])


def calibrate(
    squad: list[Path],
    realtimeqa: list[Path],
    out: Path,
    report_dir: Path,
    features: Sequence[str] | None = None,
    skip: set[str] | frozenset[str] = frozenset(),
) -> dict[str, Any]:
    """Fit on the fitting half, report on the held-out half. Several SQuAD runs (other
    `--seed`s) pool into one sample; a question in more than one counts once. By default the
    fit uses every signal of `FEATURES` that all fitting answers carry (a run made before a
    signal existed fits without it) but those in `skip`; naming `features` measures a
    candidate signal."""
    rows = load_rows(squad, realtimeqa)
    scored = [r for r in rows if not r["abstained_before"] and r["features"]]
    fit = [r for r in scored if r["split"] == "fit"]
    if len(fit) < 20 or len({r["label"] for r in fit}) < 2:
        raise ValueError("not enough fitting data: need answers both right and wrong")
    if features is None:
        features = [f for f in FEATURES if f not in skip and all(f in r["features"] for r in fit)]
    cal = fit_regression(fit, features)
    cal.fitted_on = (
        f"{len(fit)} answers: "
        + ", ".join(f"{sum(r['source'] == s for r in fit)} {s}" for s in ("squad", "realtimeqa"))
        + f"; {cal.fitted_on}"
    )
    squad_fit = [r for r in rows if r["source"] == "squad" and r["split"] == "fit"]
    if squad_fit:
        fit_scores = [
            cal.score(r["features"]) if not r["abstained_before"] else 0.0 for r in squad_fit
        ]
        best = max(
            (t / 100 for t in range(5, 96)),
            key=lambda t: min(
                (rt := rates(squad_fit, decisions(squad_fit, fit_scores, t)))[
                    "answered_answerable"
                ],
                rt["abstained_unanswerable"],
            ),
        )
        cal.threshold = round(best, 2)
    cal.save(out)
    return held_out_report(cal, out, rows, report_dir)


def load_rows(squad: list[Path], realtimeqa: list[Path]) -> list[dict[str, Any]]:
    by_id: dict[str, dict[str, Any]] = {}
    for p in squad:
        for r in load_squad(p):
            by_id.setdefault(r["id"], r)
    return [*by_id.values(), *(r for p in realtimeqa for r in load_realtimeqa(p))]


def measure_file(
    squad: list[Path], path: Path, report_dir: Path, realtimeqa: Sequence[Path] = ()
) -> dict[str, Any]:
    """A calibration file measured on the held-out half of other answers, unfitted: whether
    a shipped file still holds for the answers the pipeline gives after a change. RealTime QA
    answers are reported on the same half a refit would hold out."""
    cal = Calibration.load(path)
    if cal is None:
        raise ValueError(f"{path}: no calibration file")
    rows = load_rows(squad, list(realtimeqa))
    if not any(r["split"] == "holdout" for r in rows):
        raise ValueError("no held-out SQuAD 2.0 or RealTime QA answers to measure on")
    answered = [r for r in rows if not r["abstained_before"]]
    missing = sorted({f for r in answered for f in cal.features if f not in r["features"]})
    if missing:  # scored as average, the measurement would not be the pipeline's
        raise ValueError(f"answers without the signals {', '.join(missing)}: answer them again")
    return held_out_report(cal, path, rows, report_dir)


def measured(rows: list[dict[str, Any]], scores: list[float], threshold: float) -> dict[str, Any]:
    """What a confidence does on held-out rows: its answer/abstain rates at the threshold and
    without it, its reliability against right answers (the rows that got an answer), and the
    rates along the thresholds."""
    answered = [
        (s, r["label"]) for s, r in zip(scores, rows, strict=True) if not r["abstained_before"]
    ]
    table, ece = reliability([s for s, _ in answered], [y for _, y in answered])
    return {
        "at_threshold": rates(rows, decisions(rows, scores, threshold)),
        "without_confidence": rates(rows, decisions(rows, scores, 0.0)),
        "ece": ece,
        "reliability": table,
        "curve": [
            {"threshold": t / 20, **rates(rows, decisions(rows, scores, t / 20))}
            for t in range(0, 20)
        ],
    }


def news_report(cal: Calibration, rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The confidence on news questions (RealTime QA): its reliability against right answers,
    and whether it answers when the evidence shown holds the gold answer and abstains when
    it does not (the gold text matched literally, so a paraphrased answer counts as absent)."""
    return {
        "questions": len(rows),
        "evidence_holds_answer": sum(not r["impossible"] for r in rows),
        **measured(rows, [final_score(cal, r) for r in rows], cal.threshold),
    }


def held_out_report(
    cal: Calibration, path: Path, rows: list[dict[str, Any]], report_dir: Path
) -> dict[str, Any]:
    report: dict[str, Any] = {
        "calibration": str(path),
        "features": list(cal.features),
        "threshold": cal.threshold,
    }
    report_dir.mkdir(parents=True, exist_ok=True)
    hold = [r for r in rows if r["source"] == "squad" and r["split"] == "holdout"]
    if hold:
        scores = [final_score(cal, r) for r in hold]
        seen = measured(hold, scores, cal.threshold)
        report["holdout_questions"] = len(hold)
        report["holdout"] = seen["at_threshold"]
        report["holdout_without_confidence"] = seen["without_confidence"]
        report.update({k: seen[k] for k in ("ece", "reliability", "curve")})
        # The retrieval gate (NEWSRAG_MIN_SCORE) in front of the confidence: what each value
        # costs, measured on answers generated without it (`eval squad --min-score 0`).
        report["gates"] = [
            {"min_score": g / 100, **rates(hold, decisions(hold, scores, cal.threshold, g / 100))}
            for g in range(0, 50, 5)
        ]
        plot(report, report_dir / "calibration.png", "held-out SQuAD 2.0", cal.threshold)
    news = [r for r in rows if r["source"] == "realtimeqa" and r["split"] == "holdout"]
    if news:
        report["news"] = news_report(cal, news)
        plot(
            report["news"],
            report_dir / "calibration-news.png",
            "held-out RealTime QA",
            cal.threshold,
            "evidence holds the answer",
            "evidence does not",
        )
    return report


def plot(
    report: dict[str, Any],
    path: Path,
    data: str,
    threshold: float,
    answerable: str = "answerable",
    unanswerable: str = "unanswerable",
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(11, 4))
    rel = report["reliability"]
    a.plot([0, 1], [0, 1], ls=":", color="grey")
    a.plot([r["confidence"] for r in rel], [r["accuracy"] for r in rel], marker="o")
    for r in rel:
        a.annotate(str(r["n"]), (r["confidence"], r["accuracy"]), fontsize=7)
    a.set_xlabel("confidence")
    a.set_ylabel("share of answers right")
    a.set_title(f"Reliability ({data}), ECE {report['ece']:.3f}")
    curve = report["curve"]
    ts = [c["threshold"] for c in curve]
    b.plot(ts, [c["answered_answerable"] for c in curve], label=f"answers, {answerable} (%)")
    b.plot(ts, [c["abstained_unanswerable"] for c in curve], label=f"abstains, {unanswerable} (%)")
    b.plot(ts, [c["answered_correct"] for c in curve], label=f"answers right, {answerable} (%)")
    b.axvline(threshold, color="grey", ls="--", lw=1)
    b.axhline(80, color="#c33", ls=":", lw=1)
    b.set_xlabel("NEWSRAG_MIN_CONFIDENCE")
    b.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)

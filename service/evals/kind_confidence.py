"""Fit and measure the confidence of each kind of question (open, yes/no, list, about the
article) on the answers of `newsrag eval questions`: fitted on the development part's shown
answers, measured on the held-out part's (reliability table and ECE per kind)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from retrieval.check.kind_confidence import KIND_FEATURES, KINDS, KindConfidence
from service.evals.calibrate import fit_regression, reliability

BINS = 5  # a few dozen answers per kind: ten bins would hold one or two each


def shown_answers(path: Path) -> list[dict[str, Any]]:
    """The answers a person was shown (not abstentions), of a kind with a confidence, each
    labelled right (1) or not (0: wrong, or an answer where the sources are silent)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("abstained") or r.get("question_type") not in KINDS or not r.get("features"):
            continue
        r["label"] = int(bool(r["right"]) and r["answerable"])
        rows.append(r)
    return rows


def fit(rows: list[dict[str, Any]], split: str = "dev") -> KindConfidence:
    """One regression per kind on `split`'s shown answers (a kind with one outcome only is
    fitted too: its intercept carries the rate, the penalty keeps it finite)."""
    fits = {}
    for kind in KINDS:
        mine = [r for r in rows if r["question_type"] == kind and r["split"] == split]
        if mine:
            cal = fit_regression(mine, KIND_FEATURES)
            cal.fitted_on = f"{len(mine)} {split} answers of the everyday set; {cal.fitted_on}"
            fits[kind] = cal
    return KindConfidence(fits)


def measure(conf: KindConfidence, rows: list[dict[str, Any]], split: str) -> dict[str, Any]:
    """Per kind: answers, share right, mean confidence, ECE and the reliability table."""
    out: dict[str, Any] = {}
    for kind in KINDS:
        mine = [r for r in rows if r["question_type"] == kind and r["split"] == split]
        scores = [conf.score(kind, r["features"]) for r in mine]
        if not mine or any(s is None for s in scores):
            continue
        labels = [r["label"] for r in mine]
        table, ece = reliability([float(s or 0.0) for s in scores], labels, BINS)
        out[kind] = {
            "answers": len(mine),
            "right": round(sum(labels) / len(labels), 3),
            "mean_confidence": round(sum(float(s or 0.0) for s in scores) / len(scores), 3),
            "ece": round(ece, 3),
            "reliability": table,
        }
    return out


def run(answers: list[Path], out: Path, report: Path) -> dict[str, Any]:
    """Fit on the development answers of every run given, write `out`, and measure the fit on
    both parts (the development part in-sample, the held-out part unseen)."""
    rows = [r for path in answers for r in shown_answers(path)]
    if not any(r["split"] == "dev" for r in rows):
        raise ValueError("no shown answer of the development part among the answers given")
    conf = fit(rows)
    conf.save(out)
    result = {
        "fitted": {k: v.fitted_on for k, v in conf.fits.items()},
        "dev (in-sample)": measure(conf, rows, "dev"),
        "heldout": measure(conf, rows, "heldout"),
        "file": str(out),
    }
    report.mkdir(parents=True, exist_ok=True)
    (report / "kind_confidence.json").write_text(json.dumps(result, indent=2), encoding="utf-8")
    return result

"""Does the reader's own yes/no check of an answer separate right answers from wrong ones
better than the calibrated confidence does, and by how much does it help it? Measured on SQuAD
2.0 dev questions (answerable and unanswerable interleaved) through the service's pipeline.

    .venv/bin/python -m bench.self_check --data ../shared/data/squad/dev-v2.0.reconstructed.json \\
        --index-cache DIR --limit 120 --out checks.jsonl
    .venv/bin/python -m bench.self_check --report checks.jsonl
    # checks of the answers of finished `newsrag eval squad` runs (`--check`, default the
    # pipeline's `turn`; `none`: no generator); writes each run's predictions with the
    # signals added since it ran (`self_check` and those that need no generator:
    # `checks.0.predictions.jsonl`, …) for `newsrag eval calibrate`; then the calibration
    # refitted with and without each check (the calibrate command's split and rules):
    .venv/bin/python -m bench.self_check --data … --from-predictions A/predictions.jsonl \\
        --from-predictions B/predictions.jsonl [--check turn --check fresh] --out checks.jsonl
    # the second look's signal (`fresh`) for answers near the threshold only, on predictions
    # whose features are current (the output of a `--check none` run):
    .venv/bin/python -m bench.self_check --data … --from-predictions C.0.predictions.jsonl \\
        --from-predictions C.1.predictions.jsonl --check fresh --near-threshold 0.2 --out G.jsonl
    .venv/bin/python -m bench.self_check --report checks.jsonl --from-predictions A/… \\
        --from-predictions B/… [--check turn --check fresh]

Three checks, each scored as log P("Yes") - log P("No") as the next token:
- `turn` (the pipeline's `self_check`, retrieval.answer.prompt.check_messages): the answer prompt,
  the short answer as the reader's reply, and the check as the next user turn — it extends
  the answer prompt, so with its cache kept it costs a few dozen tokens;
- `fresh`: a new prompt (a checker's rule, the sources, the question, the proposed answer) — a
  second full prefill of the sources, about as long again as the answer;
- `same`: the answer prompt itself with the proposed answer and the check appended to its last
  turn — it shares the answer prompt's cache too.
And `closed`, not a check: the reader's mean log-probability of the same short answer on the
closed-book prompt (no sources) — how much the evidence, rather than what the model already
believes, makes the answer likely (measured: AUROC 0.52, docs/EVALUATION.md).
The report gives each signal's AUROC (right answers against the rest) and the 5-fold
cross-validated AUROC of the confidence with each check added (a logistic regression).
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np

from index.core import Models
from retrieval.check.confidence import FEATURES, Calibration, features
from retrieval.models.embedder import TextEncoder
from service.evals.scoring import best_over, token_f1
from retrieval.answer.prompt import (
    ANSWER_LABEL,
    FRESH_CHECK_QUESTION,
    YES_NO,
    build_messages,
    check_messages,
    closed_book_messages,
    fresh_check_messages,
)
from retrieval.types import Citation, Hit
from service.evals.calibrate import calibrate, fit_logistic
from service.evals.squad import load, open_index, sample
from service.loading import core_config, offline
from service.settings import Settings

CHECK = FRESH_CHECK_QUESTION


def checks(
    gen: Any,
    question: str,
    short: str,
    sources: list[Any],
    which: tuple[str, ...] = ("same", "turn", "fresh"),
    cited: int = 1,
) -> dict[str, float]:
    """The checks of one answer named in `which` (`same` and `turn` first: they reuse the
    answer prompt's cache)."""
    same = build_messages(question, sources)
    same[-1] = {
        "role": "user",
        "content": f"{same[-1]['content']}\nProposed answer: {short}\n{CHECK}",
    }
    fresh = fresh_check_messages(question, sources, short)
    # `turn`: the pipeline's own check (`self_check`), the turn after the answer.
    turn = check_messages(build_messages(question, sources), short, cited)
    out = {}
    for name, messages in (("same", same), ("turn", turn), ("fresh", fresh)):
        if name not in which:
            continue
        yes, no = gen.choice_scores(messages, YES_NO)
        out[name] = yes - no
    if "closed" in which:
        # Not a check: the reader's mean log-probability of the same answer with no sources.
        out["closed"] = gen.choice_scores(closed_book_messages(question), [short], ANSWER_LABEL)[0]
    return out


def collect(args: argparse.Namespace) -> None:
    offline()
    core = core_config(Settings())
    pipeline = replace(core.pipeline, max_new_tokens=48, min_score=0.0)
    core = replace(core, pipeline=pipeline, readonly=False)
    models = Models.build(core)
    articles, questions = load(args.data)
    rag = open_index(args.data, args.index_cache, core, models, articles)
    # The sample `newsrag eval squad --limit 400 --seed S` answers: 200 answerable questions,
    # then 200 unanswerable ones.
    chosen = sample(questions, 400, args.seed)
    pos, neg = chosen[:200][: args.limit], chosen[200:][: args.limit]
    order = [q for pair in zip(pos, neg, strict=False) for q in pair]
    done = set()
    if args.out.exists():
        done = {json.loads(line)["id"] for line in args.out.read_text().splitlines()}
    with open(args.out, "a", encoding="utf-8") as fh:
        for q in order:
            if q["id"] in done:
                continue
            t = time.perf_counter()
            ans = rag.ask(q["question"], sentence=False)
            short = ans.short_answer or ""
            rec: dict[str, Any] = {
                "id": q["id"],
                "impossible": q["impossible"],
                "reason": ans.abstain_reason,
                "confidence": ans.confidence,
            }
            if ans.features and short:
                sources = [c.hit for c in ans.citations]
                rec.update(checks(rag.pipeline.generator, q["question"], short, sources))
                right = not q["impossible"] and (
                    best_over(token_f1, short, q["answers"], drop_articles=True) >= 0.5
                )
                rec["right"] = int(right)
            rec["seconds"] = round(time.perf_counter() - t, 2)
            fh.write(json.dumps(rec) + "\n")
            fh.flush()
            print(json.dumps(rec), flush=True)


def from_predictions(args: argparse.Namespace) -> None:
    """The checks named by `--check` for the answers of finished `newsrag eval squad` runs, on
    the sources they stored (each source's article title recovered from the data file),
    without answering again; then each run's predictions with the pipeline's check
    (`turn`) added to their features as `self_check`, for `newsrag eval calibrate`."""
    offline()
    core = core_config(Settings())
    models = Models.build(core)
    gen = models.generator
    assert gen is not None
    articles, _ = load(args.data)
    bodies = [(a.body, a.title, a.id) for a in articles]
    which = tuple(c for c in args.check if c != "none")
    near, width = None, args.near_threshold or 0.0
    if args.near_threshold is not None:
        near = Calibration.load(core.pipeline.calibration_path)
        if near is None:
            raise SystemExit(f"--near-threshold: no calibration for the {core.preset} preset")
    done: dict[str, dict[str, Any]] = {}
    if args.out.exists():
        for line in args.out.read_text().splitlines():
            r = json.loads(line)
            done[r["id"]] = r
    with open(args.out, "a", encoding="utf-8") as fh:
        for path in args.from_predictions:
            for line in path.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                short = r.get("draft") or ""
                if not r.get("features") or not short:
                    continue
                if not which or (r["id"] in done and all(k in done[r["id"]] for k in which)):
                    continue
                if near is not None and abs(near.score(r["features"]) - near.threshold) >= width:
                    continue
                t = time.perf_counter()
                sources = stored_sources(r, bodies)
                # The source the answer cited (one withdrawn for low confidence lost its mark).
                cited = next((k for k, s in enumerate(r["sources"], 1) if s.get("cited")), 1)
                rec: dict[str, Any] = {
                    "id": r["id"],
                    "impossible": r["impossible"],
                    "reason": r.get("reason"),
                    "confidence": r["confidence"],
                    "features": r["features"],
                    **checks(gen, r["question"], short, sources, which, cited),
                    "right": int(
                        not r["impossible"]
                        and best_over(token_f1, short, r["answers"], drop_articles=True) >= 0.5
                    ),
                    "titles_found": sum(bool(h.title) for h in sources),
                    "seconds": round(time.perf_counter() - t, 2),
                }
                done[r["id"]] = {**done.get(r["id"], {}), **rec}
                fh.write(json.dumps(done[r["id"]]) + "\n")
                fh.flush()
    for k, path in enumerate(args.from_predictions):
        target = args.out.with_name(f"{args.out.stem}.{k}.predictions.jsonl")
        with_signals(path, done, bodies, target, models.embedder)
        print(f"{path} with the new signals: {target}")


def stored_sources(r: dict[str, Any], bodies: list[tuple[str, str, str]]) -> list[Hit]:
    """The sources a prediction stored, each with its article's title recovered from the
    data file (the model read the title too)."""
    sources = []
    for k, s in enumerate(r["sources"]):
        head = s["text"].split("…")[0].strip()[:80]
        title, aid = next(((t_, i) for b, t_, i in bodies if head in b), ("", ""))
        sources.append(Hit(k, aid, title, None, None, None, s["text"], s["score"]))
    return sources


ADDED = (
    "number_unmet",
    "negation_unmet",
    "name_unmet",
    "place_similarity",
    "statement_similarity",
)


def with_signals(
    path: Path,
    checked: dict[str, dict[str, Any]],
    bodies: list[tuple[str, str, str]],
    target: Path,
    embedder: TextEncoder,
) -> None:
    """A run's predictions with the signals added since it ran: the pipeline's checks of each
    checked answer (`turn` as `self_check`; `fresh` as `fresh_check`, which the calibration's
    second look uses; an answer not checked keeps its features as they were: calibrate then
    fits without the signal) and the question-constraint and answer-sentence-similarity ones,
    computed on the stored sources by the pipeline's own `features` (a source's cited mark,
    lost when an answer was withdrawn for low confidence, then counts every source as
    cited)."""
    rows = []
    for line in path.read_text(encoding="utf-8").splitlines():
        r = json.loads(line)
        if r.get("features"):
            hits = stored_sources(r, bodies)
            cites = [
                Citation(k, h, bool(s.get("cited")))
                for k, (h, s) in enumerate(zip(hits, r["sources"], strict=True), 1)
            ]
            now = features(r["question"], r.get("draft") or "", cites, embedder=embedder)
            r["features"] = {**r["features"], **{f: now[f] for f in ADDED}}
            if "turn" in checked.get(r["id"], {}):
                r["features"]["self_check"] = checked[r["id"]]["turn"]
            if "fresh" in checked.get(r["id"], {}):
                r["features"]["fresh_check"] = checked[r["id"]]["fresh"]
        rows.append(json.dumps(r))
    target.write_text("\n".join(rows) + "\n", encoding="utf-8")


def auroc(scores: np.ndarray, labels: np.ndarray) -> float:
    pos, neg = scores[labels == 1], scores[labels == 0]
    if not len(pos) or not len(neg):
        return float("nan")
    greater = (pos[:, None] > neg[None]).mean()
    ties = (pos[:, None] == neg[None]).mean()
    return float(greater + 0.5 * ties)


def cv_auroc(x: np.ndarray, y: np.ndarray, folds: int = 5, l2: float = 0.1) -> float:
    """AUROC of a logistic regression's out-of-fold scores (the calibration's own fit)."""
    x = (x - x.mean(0)) / (x.std(0) + 1e-9)
    scores = np.zeros(len(y))
    fold = np.arange(len(y)) % folds
    for f in range(folds):
        tr, te = fold != f, fold == f
        w = fit_logistic(x[tr], y[tr], l2=l2)
        scores[te] = w[0] + x[te] @ w[1:]
    return auroc(scores, y)


def report(path: Path) -> dict[str, Any]:
    latest = {}  # a row checked again (another --check) is written again: the last counts
    for line in path.read_text().splitlines():
        r = json.loads(line)
        latest[r["id"]] = r
    rows = [r for r in latest.values() if "right" in r]
    y = np.array([r["right"] for r in rows], dtype=float)

    def logit(p: float) -> float:
        p = min(max(p, 1e-4), 1 - 1e-4)
        return math.log(p / (1 - p))

    conf = np.array([logit(r["confidence"]) for r in rows])
    out: dict[str, Any] = {
        "answers": len(rows),
        "right": int(y.sum()),
        "to_unanswerable": sum(r["impossible"] for r in rows),
        "auroc": {"confidence": round(auroc(conf, y), 3)},
        "cv_auroc": {"confidence": round(cv_auroc(conf[:, None], y), 3)},
    }
    for name in ("same", "turn", "fresh", "closed"):
        if not all(name in r for r in rows):
            continue
        v = np.array([r[name] for r in rows])
        out["auroc"][name] = round(auroc(v, y), 3)
        out["cv_auroc"][f"confidence + {name}"] = round(cv_auroc(np.column_stack([conf, v]), y), 3)
    return out


def with_calibration(checked: Path, predictions: list[Path], name: str) -> dict[str, Any]:
    """The confidence refitted with the check `name` as its `self_check` signal, beside the same
    fit without it: `newsrag eval calibrate`'s own fitting split, penalty choice, threshold
    rule and held-out report, on the predictions the checks were computed for."""
    values = {}
    for line in checked.read_text().splitlines():
        r = json.loads(line)
        if name in r:
            values[r["id"]] = r[name]
    out: dict[str, Any] = {"checked_answers": len(values)}
    base = tuple(f for f in FEATURES if f != "self_check")
    with tempfile.TemporaryDirectory() as tmp:
        paths = []
        for k, path in enumerate(predictions):
            rows = []
            for line in path.read_text(encoding="utf-8").splitlines():
                r = json.loads(line)
                if r.get("features") and r["id"] in values:
                    r["features"] = {**r["features"], "self_check": values[r["id"]]}
                elif r.get("features") and r.get("draft"):
                    continue  # an answer not checked yet: left out of both fits
                rows.append(json.dumps(r))
            paths.append(Path(tmp) / f"{k}.jsonl")
            paths[-1].write_text("\n".join(rows) + "\n", encoding="utf-8")
        for label, feats in (("without", base), (f"with {name}", (*base, "self_check"))):
            rep = calibrate(paths, [], Path(tmp) / "cal.json", Path(tmp) / label, feats)
            keep = ("threshold", "holdout_questions", "holdout", "ece")
            out[label] = {k: rep.get(k) for k in keep}
            out[label]["at_80_abstained"] = next(
                (c for c in rep["curve"] if c["abstained_unanswerable"] >= 80), None
            )
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--data", type=Path)
    ap.add_argument("--index-cache", type=Path, default=Path("eval-out/indexes"))
    ap.add_argument("--limit", type=int, default=120, help="of each kind, ≤ 200")
    ap.add_argument("--seed", type=int, default=14)
    ap.add_argument("--out", type=Path, default=Path("eval-out/self_check.jsonl"))
    ap.add_argument("--report", type=Path, help="only report on a finished file")
    ap.add_argument(
        "--check",
        action="append",
        choices=("same", "turn", "fresh", "closed", "none"),
        help="with --from-predictions: which checks (repeatable; none: only add the signals "
        "that need no generator) [default: turn]",
    )
    ap.add_argument(
        "--near-threshold",
        type=float,
        default=None,
        metavar="W",
        help="with --from-predictions: check only answers whose confidence under the preset's "
        "calibration (on the predictions' features) lies within W of its threshold — the "
        "only ones a second look is fitted on and asked for",
    )
    ap.add_argument(
        "--from-predictions",
        type=Path,
        action="append",
        help="predictions.jsonl of `newsrag eval squad`: check its answers (repeatable)",
    )
    args = ap.parse_args()
    if args.from_predictions and args.report is None:
        if args.data is None:
            ap.error("--data is required")
        args.check = args.check or ["turn"]
        from_predictions(args)
        if args.check == ["none"]:
            return
    elif args.report is None:
        if args.data is None:
            ap.error("--data is required to collect")
        collect(args)
    result = report(args.report or args.out)
    if args.from_predictions and args.report is not None:
        for name in [c for c in args.check or ["turn"] if c != "none"]:
            result[f"calibration ({name})"] = with_calibration(
                args.report, args.from_predictions, name
            )
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()

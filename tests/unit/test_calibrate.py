"""`newsrag eval calibrate`: the fit (a penalised logistic regression), its split, the
signals it fits and the command's errors — on synthetic predictions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np
import pytest

from retrieval.check.confidence import FEATURES, Calibration
from service.evals.calibrate import calibrate, choose_l2, fit_logistic, load_squad, reliability


def test_logistic_fit_separates_and_calibrates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    p = 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))
    y = (rng.random(400) < p).astype(float)
    w = fit_logistic(x, y)
    assert w[1] > 1.0 and abs(w[2]) < 0.5  # the informative feature, not the noise
    fitted = 1 / (1 + np.exp(-(w[0] + x @ w[1:])))
    _, ece = reliability(list(fitted), list(y.astype(int)))
    assert ece < 0.1


def test_the_penalty_is_chosen_by_cross_validation():
    """Many noise signals and few rows: cross-validation picks a strong penalty; one clean
    signal and many rows: a weak one."""
    rng = np.random.default_rng(3)
    noisy = rng.normal(size=(60, 10))
    y = (rng.random(60) < 1 / (1 + np.exp(-0.5 * noisy[:, 0]))).astype(float)
    assert choose_l2(noisy, y) >= 10
    clean = rng.normal(size=(2000, 1))
    y = (rng.random(2000) < 1 / (1 + np.exp(-4 * clean[:, 0]))).astype(float)
    assert choose_l2(clean, y) <= 1


def _squad_rows(path: Path, n: int, start: int = 0) -> None:
    rng = np.random.default_rng(1 + start)
    with open(path, "w") as fh:
        for i in range(start, start + n):
            impossible = i % 2 == 1
            good = not impossible and rng.random() < 0.8
            feats = {f: 0.0 for f in FEATURES}
            feats["in_context"] = float(good or rng.random() < 0.2)
            feats["answer_logprob"] = float(rng.normal(-0.5 if good else -2.0, 0.5))
            rec = {
                "id": f"q{i}",
                "impossible": impossible,
                "abstained": False,
                "reason": None,
                "draft": "Paris" if good else "Lyon",
                "answers": [] if impossible else ["Paris"],
                "features": feats,
            }
            fh.write(json.dumps(rec) + "\n")


def test_calibrate_writes_a_file_the_pipeline_loads(tmp_path):
    _squad_rows(tmp_path / "squad.jsonl", 400)
    out = tmp_path / "calibration.json"
    report = calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "report")
    cal = Calibration.load(out)
    assert cal is not None and 0.05 <= cal.threshold <= 0.95
    assert report["holdout"]["abstained_unanswerable"] >= 80
    assert report["holdout"]["answered_answerable"] >= 60
    assert report["ece"] < 0.15
    assert (tmp_path / "report" / "calibration.png").exists()
    good = {f: 0.0 for f in FEATURES} | {"in_context": 1.0, "answer_logprob": -0.4}
    bad = {f: 0.0 for f in FEATURES} | {"answer_logprob": -2.5}
    assert cal.score(good) > cal.threshold > cal.score(bad)


def test_calibrate_measures_a_candidate_signal(tmp_path):
    """A signal the pipeline does not compute yet is fitted by name: the
    file lists it, and an answer is scored on it."""
    _squad_rows(tmp_path / "squad.jsonl", 400)
    rows = [json.loads(line) for line in (tmp_path / "squad.jsonl").read_text().splitlines()]
    for r in rows:
        right = not r["impossible"] and r["draft"] == "Paris"
        r["features"] = {f: 0.0 for f in FEATURES} | {"extra": 2.0 if right else -2.0}
    (tmp_path / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "cal.json"
    report = calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "r", (*FEATURES, "extra"))
    cal = Calibration.load(out)
    assert cal is not None and cal.features == [*FEATURES, "extra"]
    assert report["holdout"]["answered_answerable"] >= 70
    assert report["holdout"]["abstained_unanswerable"] == 100
    assert cal.score({"extra": 2.0}) > cal.threshold > cal.score({"extra": -2.0})


def test_calibrate_fits_the_signals_every_answer_carries(tmp_path):
    """A run made before a signal existed fits without it (rather than reading its absence as
    zero); once every fitting answer carries it, it is fitted."""
    _squad_rows(tmp_path / "squad.jsonl", 200)
    rows = [json.loads(line) for line in (tmp_path / "squad.jsonl").read_text().splitlines()]
    rows[0]["features"].pop("place_similarity")
    (tmp_path / "old.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    old = calibrate([tmp_path / "old.jsonl"], [], tmp_path / "old.json", tmp_path / "r1")
    assert "place_similarity" not in old["features"] and "answer_logprob" in old["features"]
    new = calibrate([tmp_path / "squad.jsonl"], [], tmp_path / "new.json", tmp_path / "r2")
    cal = Calibration.load(tmp_path / "new.json")
    assert cal is not None and cal.uses("place_similarity") and new["features"] == list(FEATURES)


def test_squad_runs_pool_with_each_question_once(tmp_path):
    """Two samples (`eval squad --seed`) that overlap: the overlap is counted once."""
    _squad_rows(tmp_path / "a.jsonl", 300)
    _squad_rows(tmp_path / "b.jsonl", 300, start=200)  # q200..q299 in both
    one = calibrate([tmp_path / "a.jsonl"], [], tmp_path / "1.json", tmp_path / "r1")
    both = calibrate(
        [tmp_path / "a.jsonl", tmp_path / "b.jsonl"], [], tmp_path / "2.json", tmp_path / "r2"
    )
    held = sum(r["split"] == "holdout" for r in load_squad(tmp_path / "a.jsonl"))
    assert one["holdout_questions"] == held
    pooled = {r["id"]: r for p in ("a", "b") for r in load_squad(tmp_path / f"{p}.jsonl")}
    assert both["holdout_questions"] == sum(r["split"] == "holdout" for r in pooled.values())
    assert len(pooled) == 500


def test_calibrate_command_leaves_out_a_named_signal(tmp_path):
    """`newsrag eval calibrate --without S` fits every other signal (measuring S's worth, or
    shipping without a signal that costs more than it buys); a name that is no signal and
    data too thin to fit are clear errors."""
    from typer.testing import CliRunner

    from service.cli import app

    _squad_rows(tmp_path / "squad.jsonl", 400)
    out = tmp_path / "cal.json"
    args = ["eval", "calibrate", "--squad", str(tmp_path / "squad.jsonl"), "--out", str(out)]
    args += ["--report", str(tmp_path / "report")]
    result = CliRunner().invoke(app, [*args, "--without", "support"])
    assert result.exit_code == 0, result.output
    cal = Calibration.load(out)
    assert cal is not None and not cal.uses("support") and cal.uses("answer_logprob")
    bad = CliRunner().invoke(app, [*args, "--without", "shoe_size"])
    assert bad.exit_code == 2 and "shoe_size" in bad.output
    _squad_rows(tmp_path / "few.jsonl", 10)
    few = [*args[:3], str(tmp_path / "few.jsonl"), *args[4:]]
    thin = CliRunner().invoke(app, few)
    assert thin.exit_code == 2 and "not enough fitting data" in thin.output


def test_measure_checks_a_shipped_file_on_new_answers_without_refitting(tmp_path):
    """`newsrag eval calibrate --measure`: the file as it is, on another run's held-out half
    (what the pipeline gives after a change); answers missing a signal it uses are refused,
    since scoring them as average would not measure the pipeline."""
    from typer.testing import CliRunner

    from service.cli import app
    from service.evals.calibrate import measure_file

    _squad_rows(tmp_path / "old.jsonl", 400)
    out = tmp_path / "cal.json"
    fitted = calibrate([tmp_path / "old.jsonl"], [], out, tmp_path / "r1")
    shipped = out.read_text()
    again = measure_file([tmp_path / "old.jsonl"], out, tmp_path / "r2")
    assert again["holdout"] == fitted["holdout"] and again["ece"] == fitted["ece"]
    _squad_rows(tmp_path / "new.jsonl", 400, start=1000)  # other questions, same signals
    args = ["eval", "calibrate", "--squad", str(tmp_path / "new.jsonl"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "r3"), "--measure"])
    assert result.exit_code == 0, result.output
    assert out.read_text() == shipped  # measured, not refitted
    report = json.loads((tmp_path / "r3" / "report.json").read_text())
    assert report["holdout_questions"] > 150 and report["holdout"] != fitted["holdout"]
    rows = [json.loads(line) for line in (tmp_path / "new.jsonl").read_text().splitlines()]
    for r in rows:
        r["features"].pop("answer_logprob")
    (tmp_path / "older.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    older = [*args[:3], str(tmp_path / "older.jsonl"), *args[4:], "--measure"]
    refused = CliRunner().invoke(app, older)
    assert refused.exit_code == 2 and "answer_logprob" in refused.output
    mixed = CliRunner().invoke(app, [*args, "--measure", "--without", "support"])
    assert mixed.exit_code == 2 and "--without" in mixed.output


def _news_rows(path: Path, n: int) -> None:
    """RealTime QA generation records: the gold answer in the evidence for even questions;
    there the reader answers it, elsewhere it answers something else or declines."""
    rng = np.random.default_rng(7)
    with open(path, "w") as fh:
        for i in range(n):
            held = i % 2 == 0
            declined = not held and i % 6 == 1
            good = held and rng.random() < 0.8
            feats = {f: 0.0 for f in FEATURES}
            feats["answer_logprob"] = float(rng.normal(-0.5 if good else -2.0, 0.5))
            short = "" if declined else ("Europe" if good else "Asia")
            rec = {
                "question_id": f"w_{i}",
                "gold": "Europe",
                "short_answer": short,
                "abstained": declined,
                "abstain_reason": "model" if declined else None,
                "features": {} if declined else feats,
                "retrieval": {"evidence_recall": float(held)},
            }
            fh.write(json.dumps(rec) + "\n")


def test_measure_on_news_answers_whether_it_abstains_where_the_evidence_is_silent(tmp_path):
    """`--measure --realtimeqa`: the shipped file on the held-out half of news answers —
    reliability against right answers, and answering where the evidence shown holds the gold
    answer, abstaining where it does not (a declined answer is an abstention, never
    dropped). A refit holds out the same half."""
    from typer.testing import CliRunner

    from service.cli import app
    from service.evals.calibrate import load_realtimeqa

    _squad_rows(tmp_path / "squad.jsonl", 400)
    out = tmp_path / "cal.json"
    calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "r1")
    _news_rows(tmp_path / "news.jsonl", 200)
    held = [r for r in load_realtimeqa(tmp_path / "news.jsonl") if r["split"] == "holdout"]
    assert 60 < len(held) < 140
    silent = [r for r in held if r["impossible"]]
    declined = sum(r["abstained_before"] for r in silent)
    args = ["eval", "calibrate", "--realtimeqa", str(tmp_path / "news.jsonl"), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "r2"), "--measure"])
    assert result.exit_code == 0, result.output
    news = json.loads((tmp_path / "r2" / "report.json").read_text())["news"]
    assert news["questions"] == len(held)
    assert news["evidence_holds_answer"] == len(held) - len(silent)
    assert (tmp_path / "r2" / "calibration-news.png").is_file()
    kept, lifted = news["at_threshold"], news["without_confidence"]
    # Without the confidence only the declined answers abstain where the evidence is silent.
    assert lifted["answered_answerable"] == 100 and declined > 0
    assert lifted["abstained_unanswerable"] == pytest.approx(100 * declined / len(silent))
    assert kept["abstained_unanswerable"] > lifted["abstained_unanswerable"]
    assert 0 < kept["answered_answerable"] < 100
    assert kept["answered_correct"] >= 0.9 * kept["answered_answerable"]  # what it keeps is right
    # Fitted with the news answers, the same half is held out and reported.
    refit = calibrate([tmp_path / "squad.jsonl"], [tmp_path / "news.jsonl"], out, tmp_path / "r3")
    assert refit["news"]["questions"] == len(held)
    shipped = Calibration.load(out)
    assert shipped is not None and re.search(r"\b[1-9]\d* realtimeqa", shipped.fitted_on)


def test_a_news_label_ignores_the_quotes_the_leaderboard_keeps():
    """The leaderboard's F1 keeps curly quotes (reproducing its cells); whether an answer is
    right, for the calibration, must not hinge on them."""
    from service.evals.scoring import loose_f1, token_f1

    assert token_f1("Squid Game", "“Squid Game”") == 0.0
    assert loose_f1("'Squid Game'", "“Squid Game”") == 1.0
    assert loose_f1("The Walking Dead", "“Squid Game”") == 0.0
    assert loose_f1("the Europe", "Europe") == 1.0

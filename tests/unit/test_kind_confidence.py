"""The confidence of open, yes/no, list and about-the-article answers: its signals, its fit per
kind on the everyday set's development answers, and the pipeline giving it."""

from __future__ import annotations

import json
import random

from typer.testing import CliRunner

from retrieval.check.kind_confidence import KIND_FEATURES, KindConfidence, kind_features
from retrieval.options import AskOptions, PipelineConfig
from retrieval.types import Answer, Citation, Hit
from service.evals.everyday import record
from service.evals.kind_confidence import fit, measure, shown_answers
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag
from tests.fixtures.kinds import AS_OF


def _answer(text: str, support: float, dense: float = 0.6) -> Answer:
    hit = Hit(1, "a", "t", None, None, None, text, 0.5, {"dense": dense})
    a = Answer(text, False, [Citation(1, hit, True, True, support)], {})
    a.claims = [{"text": text, "citations": [1], "support": support, "supported": True}]
    return a


def test_signals_of_a_shown_answer():
    q = "Did Millbrook limit garden watering?"
    said = kind_features(
        "yesno", q, _answer("Yes. Millbrook limited garden watering [1].", 0.9), FakeEmbedder()
    )
    assert set(said) == set(KIND_FEATURES)
    assert said["support"] == 0.9 and said["top_dense"] == 0.6
    assert said["coverage"] == 1.0  # every word of the question, "limited" for "limit"
    other = kind_features(
        "yesno", q, _answer("Yes. The ferry crews went on strike [1].", 0.9), None
    )
    assert other["coverage"] == 0.0 and other["similarity"] == 0.0  # no embedder: no cosine
    # an answer from the article's metadata rests on no claim: its support is the metadata's
    meta = Answer("It was published on 20 March 2025 [1].", False, [], {})
    assert kind_features("meta", "When was it published?", meta, None)["support"] == 1.0


def _rows(n: int, split: str, seed: int) -> list[dict]:
    """Answers whose support says whether they are right, as a kind's would."""
    rng = random.Random(seed)
    rows = []
    for i in range(n):
        right = i % 2
        feats = {f: rng.random() for f in KIND_FEATURES}
        feats["support"] = 0.8 + 0.2 * rng.random() if right else 0.3 + 0.3 * rng.random()
        rows.append({"question_type": "yesno", "split": split, "features": feats, "label": right})
    return rows


def test_fitted_per_kind_on_the_development_answers_and_measured_on_the_held_out(tmp_path):
    conf = fit(_rows(40, "dev", 1) + _rows(20, "heldout", 2))
    assert set(conf.fits) == {"yesno"} and "40 dev answers" in conf.fits["yesno"].fitted_on
    sure = conf.score("yesno", {"support": 0.95})
    unsure = conf.score("yesno", {"support": 0.35})
    assert sure is not None and unsure is not None and sure > 0.8 > 0.2 > unsure
    assert conf.score("open", {"support": 0.95}) is None  # no open answers: no fit, no number
    report = measure(conf, _rows(20, "heldout", 2), "heldout")
    assert report["yesno"]["answers"] == 20 and report["yesno"]["ece"] < 0.2
    path = tmp_path / "kinds.json"
    conf.save(path)
    again = KindConfidence.load(path)
    assert again is not None and again.score("yesno", {"support": 0.95}) == sure
    assert KindConfidence.load(tmp_path / "missing.json") is None


def test_only_shown_answers_of_kinds_with_a_confidence_are_fitted(tmp_path):
    lines = [
        {
            "question_type": "yesno",
            "split": "dev",
            "abstained": False,
            "right": True,
            "answerable": True,
            "features": {"support": 1.0},
        },
        # an answer where the sources are silent is wrong, whatever it says
        {
            "question_type": "yesno",
            "split": "dev",
            "abstained": False,
            "right": False,
            "answerable": False,
            "features": {"support": 1.0},
        },
        {
            "question_type": "yesno",
            "split": "dev",
            "abstained": True,
            "right": False,
            "answerable": True,
            "features": None,
        },
        {
            "question_type": "factoid",
            "split": "dev",
            "abstained": False,
            "right": True,
            "answerable": True,
            "features": None,
        },
    ]
    path = tmp_path / "answers.jsonl"
    path.write_text("\n".join(json.dumps(x) for x in lines), encoding="utf-8")
    assert [r["label"] for r in shown_answers(path)] == [1, 0]


def test_the_pipeline_gives_a_kind_its_confidence(archive, tmp_path):
    path, emb = archive
    reply = "Sentence: Admission is free for children under 12. [1]\nAnswer: Yes"
    question = "Is the glass museum free for children?"
    plain = make_newsrag(path, emb, FakeGenerator(reply), PipelineConfig(min_confidence=0.0))
    a = plain.ask(question, AskOptions(as_of=AS_OF))
    assert not a.abstained and a.confidence is None  # no fit: no number
    assert not a.features  # and no signals computed for nothing to read them
    # the evaluation that fits one records them for every shown answer of a kind
    q = {"id": "x", "split": "dev", "type": "yesno", "question": question, "yesno": "yes"}
    assert set(record(q, a, 1.0, {}, emb)["features"]) == set(KIND_FEATURES)
    fitted = tmp_path / "kinds.json"
    fit(_rows(40, "dev", 1)).save(fitted)
    cfg = PipelineConfig(min_confidence=0.0, kinds_calibration_path=fitted)
    a = make_newsrag(path, emb, FakeGenerator(reply), cfg).ask(question, AskOptions(as_of=AS_OF))
    assert not a.abstained and a.confidence is not None and 0.0 <= a.confidence <= 1.0
    assert set(a.features) == set(KIND_FEATURES)
    assert a.to_dict()["confidence"] == a.confidence


def test_cli_fits_and_rejects_bad_input(tmp_path):
    from service.cli import app

    rows = [
        {**r, "abstained": False, "right": bool(r["label"]), "answerable": True}
        for r in _rows(30, "dev", 3) + _rows(10, "heldout", 4)
    ]
    answers = tmp_path / "answers.jsonl"
    answers.write_text("\n".join(json.dumps(r) for r in rows), encoding="utf-8")
    out = tmp_path / "kinds.json"
    args = ["eval", "kind-confidence", "--answers", str(answers), "--out", str(out)]
    result = CliRunner().invoke(app, [*args, "--report", str(tmp_path / "r")])
    assert result.exit_code == 0, result.output
    assert json.loads(out.read_text())["yesno"]["features"] == list(KIND_FEATURES)
    assert "heldout" in json.loads(result.output)
    # without --out the fit stays beside the report: the service does not start using it
    report = tmp_path / "r2"
    alone = CliRunner().invoke(
        app, ["eval", "kind-confidence", "--answers", str(answers), "--report", str(report)]
    )
    assert alone.exit_code == 0, alone.output
    assert (report / "calibration-kinds.json").is_file()
    nowhere = [*args[:4], "--out", str(tmp_path / "no" / "such" / "dir" / "k.json")]
    unwritable = CliRunner().invoke(app, [*nowhere, "--report", str(tmp_path / "r3")])
    assert unwritable.exit_code == 2 and "cannot fit" in unwritable.output
    missing = CliRunner().invoke(app, ["eval", "kind-confidence", "--answers", "nope.jsonl"])
    assert missing.exit_code == 2 and "not a file" in missing.output
    held = tmp_path / "held.jsonl"
    held.write_text("\n".join(json.dumps(r) for r in rows if r["split"] == "heldout"))
    none = CliRunner().invoke(
        app, ["eval", "kind-confidence", "--answers", str(held), "--out", str(out)]
    )
    assert none.exit_code == 2 and "development part" in none.output

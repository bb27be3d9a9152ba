"""The everyday question set and its scorer (`newsrag eval questions`)."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from retrieval.types import Answer, Citation, Hit
from service.evals.everyday import (
    DEFAULT_SET,
    TYPES,
    covers,
    has_phrase,
    load_set,
    markdown,
    score,
    summarize,
    tokens,
)


def test_the_set_is_what_the_issue_asks_for():
    qset = load_set(DEFAULT_SET)
    qs = qset["questions"]
    assert len(qs) >= 80 and len(qset["articles"]) >= 12
    assert not any("seeds/" in u or "aaeb0940" in u for u in qset["articles"].values())
    assert sum(not q.get("answerable", True) for q in qs) >= len(qs) / 4
    assert {q["type"] for q in qs} == set(TYPES)
    assert any(q.get("history") for q in qs) and any(q.get("expect_reason") for q in qs)
    held = [q for q in qs if q["split"] == "heldout"]
    assert len(qs) / 4 <= len(held) <= len(qs) / 2
    assert len({q["id"] for q in qs}) == len(qs)


def test_tokens_normalise_numbers_and_dots():
    assert tokens("$10,000 and 7.0-magnitude") == ["10000", "and", "7.0", "magnitude"]
    assert tokens("www.cnn.com/2022/08/17") == ["www", "cnn", "com", "2022", "08", "17"]
    assert has_phrase("july 26", "Published on July 26, 2022.")
    assert not has_phrase("july 2", "Published on July 26, 2022.")
    assert covers(["evacuat"], "32,000 people were evacuated")
    assert not covers(["strategic petroleum reserve"], "the oil reserve")


def _answer(text: str, short: str | None = None, abstained: bool = False) -> Answer:
    hit = Hit(1, "a", "t", None, None, None, "text", 0.5)
    return Answer(text, abstained, [Citation(1, hit, True, True)], {}, short_answer=short)


def test_score_per_type():
    fact = {"type": "factoid", "answers": ["10", "ten"]}
    assert score(fact, _answer("Ten senators [1].", "ten"), {})["right"]
    assert not score(fact, _answer("I don't know.", abstained=True), {})["right"]
    yn = {"type": "yesno", "yesno": "no"}
    assert score(yn, _answer("No. It was not [1].", "no"), {})["right"]
    assert not score(yn, _answer("Yes. It was [1].", "yes"), {})["right"]
    lst = {"type": "list", "items": [["texas"], ["south carolina"]], "min_items": 2}
    assert score(lst, _answer("Texas and South Carolina [1].", "Texas, South Carolina"), {})[
        "right"
    ]
    assert not score(lst, _answer("Texas [1].", "Texas"), {})["right"]
    opn = {"type": "open", "key_points": [["oil"], ["recession"], ["demand"]]}
    a = _answer("Oil fell on recession fears [1]. Demand is low [1].")
    a.claims = [{"supported": True}, {"supported": True}]
    assert score(opn, a, {})["right"]
    a.claims = [{"supported": True}, {"supported": False}]
    assert not score(opn, a, {})["right"]  # every sentence must be supported
    una = {
        "type": "open",
        "answerable": False,
        "expect_reason": "no_articles_in_window",
        "newest": "k",
    }
    b = _answer("I don't know.", abstained=True)
    b.abstain_reason, b.window = "no_articles_in_window", {"newest": {"article_id": "id-k"}}
    assert score(una, b, {"k": "id-k"})["right"]
    assert not score(una, b, {"k": "other"})["right"]


def test_summary_counts_per_split_and_type():
    rows = [
        {
            "split": "dev",
            "type": "open",
            "answerable": True,
            "right": True,
            "abstained": False,
            "seconds": 2.0,
            "first_word_s": 0.5,
            "covered": 1.0,
            "supported": True,
        },
        {
            "split": "dev",
            "type": "open",
            "answerable": False,
            "right": True,
            "abstained": True,
            "seconds": 1.0,
            "first_word_s": None,
        },
        {
            "split": "heldout",
            "type": "open",
            "answerable": True,
            "right": False,
            "abstained": True,
            "seconds": 3.0,
        },
    ]
    s = summarize(rows)
    assert s["dev"]["open"]["right"] == 1 and s["dev"]["open"]["unanswerable_abstained"] == 1
    assert s["heldout"]["open"]["abstained"] == 1 and s["all"]["all"]["answerable"] == 2
    # the first streamed word over answers that streamed one (not the abstentions)
    assert s["dev"]["open"]["first_word_p50_s"] == 0.5
    assert s["heldout"]["open"]["first_word_p50_s"] is None
    assert "| dev | open | 1/1 (100.0 %) |" in markdown(s) and "| 0.5 |" in markdown(s)


def test_cli_rejects_bad_input(tmp_path):
    from service.cli import app

    runner = CliRunner()
    r = runner.invoke(app, ["eval", "questions", "--data", str(tmp_path / "missing")])
    assert r.exit_code == 2 and "not a directory" in r.output
    r = runner.invoke(app, ["eval", "questions", "--data", str(tmp_path), "--split", "test"])
    assert r.exit_code == 2 and "--split" in r.output
    r = runner.invoke(app, ["eval", "questions", "--data", str(tmp_path), "--types", "essay"])
    assert r.exit_code == 2 and "--types" in r.output
    bad = tmp_path / "set.json"
    bad.write_text(json.dumps({"articles": {}, "questions": [{"id": "x", "type": "poem"}]}))
    with pytest.raises(ValueError, match="type must be one of"):
        load_set(bad)
    r = runner.invoke(app, ["eval", "questions", "--data", str(tmp_path), "--questions", str(bad)])
    assert r.exit_code == 2 and "type must be one of" in r.output

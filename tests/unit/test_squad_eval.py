from __future__ import annotations

import json
from typing import Any

from service.evals.squad import load, sample, summarize, sweep


def test_load_sample_and_sweep(tmp_path):
    data = {
        "version": "v2.0",
        "data": [
            {
                "title": "Oil_crisis",
                "paragraphs": [
                    {
                        "context": "The 1973 oil crisis began in October 1973.",
                        "qas": [
                            {
                                "id": "a",
                                "question": "When?",
                                "answers": [{"text": "October 1973"}],
                                "is_impossible": False,
                            },
                            {
                                "id": "b",
                                "question": "Who won?",
                                "answers": [],
                                "is_impossible": True,
                            },
                        ],
                    }
                ],
            }
        ],
    }
    path = tmp_path / "dev.json"
    path.write_text(json.dumps(data))
    articles, questions = load(path)
    assert articles[0].title == "Oil crisis" and len(questions) == 2
    assert questions[1]["impossible"] and questions[0]["answers"] == ["October 1973"]
    assert {q["id"] for q in sample(questions, 2, seed=1)} == {"a", "b"}
    records: list[dict[str, Any]] = [
        {"impossible": False, "top_dense": 0.7, "gold_rank": 1},
        {"impossible": True, "top_dense": 0.3, "gold_rank": None},
    ]
    rows = {r["threshold"]: r for r in sweep(records)}
    assert (
        rows[0.5]["answer_rate_answerable"] == 100 and rows[0.5]["abstain_rate_unanswerable"] == 100
    )
    assert rows[0.8]["answer_rate_answerable"] == 0
    assert summarize(records, 0.5)["gold_in_top5"] == 100

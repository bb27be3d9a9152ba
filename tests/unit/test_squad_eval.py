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


def test_evaluations_run_what_the_settings_name(monkeypatch, tmp_path):
    """`newsrag eval` builds the system from the same NEWSRAG_* settings as `newsrag ask`:
    backend, preset and embedder dtype reach the evaluation unchanged."""
    from typer.testing import CliRunner

    import service.evals.realtimeqa as rtqa
    import service.evals.squad as squad
    from service.cli import app
    from service.settings import get_settings

    seen: dict[str, Any] = {}

    def fake_rtqa(data, out, core, *args, **kwargs):
        seen["realtimeqa"] = rtqa.eval_core(core)
        raise FileNotFoundError("stop here")

    def fake_squad(path, out, core, *args, **kwargs):
        seen["squad"] = core
        raise KeyError("stop here")

    monkeypatch.setattr(rtqa, "run", fake_rtqa)
    monkeypatch.setattr(squad, "run", fake_squad)
    for key, value in {
        "NEWSRAG_BACKEND": "transformers",  # none of the three is the default
        "NEWSRAG_EMBED_DTYPE": "float32",
        "NEWSRAG_PRESET": "small",
    }.items():
        monkeypatch.setenv(key, value)
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        runner.invoke(app, ["eval", "realtimeqa", "--data", str(tmp_path)])
        squad_file = tmp_path / "dev.json"
        squad_file.write_text("{}")
        runner.invoke(app, ["eval", "squad", "--data", str(squad_file)])
    finally:
        get_settings.cache_clear()
    for name in ("realtimeqa", "squad"):
        core = seen[name]
        assert (core.backend, core.embed_dtype, core.preset) == ("transformers", "float32", "small")

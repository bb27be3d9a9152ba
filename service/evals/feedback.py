"""Replaying rated answers as a regression set: does the system still give the answers people
liked, and has it changed the ones they did not?"""

from __future__ import annotations

import json
import statistics
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from index.core import Newsrag
from retrieval.options import AskOptions
from service.evals.scoring import exact_match, token_f1


def read_export(path: Path) -> list[dict[str, Any]]:
    """`newsrag feedback export` lines; ValueError names a line that is not a rating."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ValueError(f"{path} line {n}: invalid JSON ({exc.msg})") from None
        if not isinstance(rec, dict) or rec.get("rating") not in ("up", "down"):
            raise ValueError(f"{path} line {n}: not a rating from `newsrag feedback export`")
        if not isinstance(rec.get("question"), str) or not rec["question"].strip():
            raise ValueError(f"{path} line {n}: no question")
        out.append(rec)
    return out


def _same(old: dict[str, Any], new: dict[str, Any]) -> bool:
    """The same answer: both abstain, or the short answers match (F1 >= 0.5 after the
    leaderboard's normalisation)."""
    if old.get("abstained") or new["abstained"]:
        return bool(old.get("abstained")) == new["abstained"]
    a, b = old.get("short_answer") or "", new.get("short_answer") or ""
    return exact_match(b, a, drop_articles=True) == 1 or token_f1(b, a, drop_articles=True) >= 0.5


def replay(
    rag: Newsrag,
    records: list[dict[str, Any]],
    out: Path,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, Any]:
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for i, rec in enumerate(records, start=1):
        as_of = date.fromisoformat(rec["as_of"]) if rec.get("as_of") else None
        answer = rag.ask(rec["question"], AskOptions(as_of=as_of)).to_dict()
        same = _same(rec, answer)
        rows.append(
            {
                "answer_id": rec.get("answer_id"),
                "rating": rec["rating"],
                "question": rec["question"],
                "then": rec.get("answer"),
                "now": answer["answer"],
                "same": same,
                # A regression: a liked answer that changed. A fix: a disliked one that did.
                "regression": rec["rating"] == "up" and not same,
                "fixed": rec["rating"] == "down" and not same,
                "seconds": answer["timings_ms"].get("total", 0) / 1000,
            }
        )
        if progress:
            progress(i, len(records))
    with (out / "replay.jsonl").open("w", encoding="utf-8") as f:
        for r in rows:
            f.write(json.dumps(r, ensure_ascii=False) + "\n")
    up = [r for r in rows if r["rating"] == "up"]
    down = [r for r in rows if r["rating"] == "down"]
    summary = {
        "ratings": len(rows),
        "up": len(up),
        "down": len(down),
        "up_kept_pct": round(100 * sum(r["same"] for r in up) / len(up), 1) if up else None,
        "down_changed_pct": round(100 * sum(r["fixed"] for r in down) / len(down), 1)
        if down
        else None,
        "regressions": [r["question"] for r in up if r["regression"]],
        "median_seconds": round(statistics.median(r["seconds"] for r in rows), 2) if rows else 0,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    return summary

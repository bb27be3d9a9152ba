"""The seed-article question sets (questions/seed.json): every answer, right or wrong, with its
time. A smoke test that nothing broke, never a training set: a change is judged on the
non-seed sets (`newsrag eval questions`, `newsrag eval realtimeqa`)."""

from __future__ import annotations

import json
import re
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from index.core import Newsrag
from retrieval.options import AskOptions
from retrieval.types import Answer

SEED_QUESTIONS = Path(__file__).parent / "questions" / "seed.json"


@dataclass(frozen=True)
class SeedSet:
    answerable: list[tuple[str, tuple[str, ...]]]  # (question, any of these in the answer)
    unanswerable: list[str]


def load(path: Path = SEED_QUESTIONS) -> tuple[date, dict[str, SeedSet]]:
    """The date the questions are asked on, and the sets by name ("test", "fresh")."""
    raw = json.loads(path.read_text(encoding="utf-8"))
    sets = {
        name: SeedSet(
            [(a["question"], tuple(a["expected"])) for a in s["answerable"]],
            list(s["unanswerable"]),
        )
        for name, s in raw["sets"].items()
    }
    return date.fromisoformat(raw["as_of"]), sets


def _norm(text: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"[^\w,]", " ", text.lower())).strip()


def is_right(answer: Answer, expected: tuple[str, ...]) -> bool:
    """Answered, with one of the expected strings in the short answer (in the answer for an
    open question, which has none), citing a source that supports it."""
    short = _norm(answer.short_answer or (answer.answer if answer.question_type == "open" else ""))
    return (
        not answer.abstained
        and any(_norm(e) in short for e in expected)
        and any(c.cited and c.supported for c in answer.citations)
    )


def run(rag: Newsrag, which: str, echo: Callable[[str], Any] = print) -> dict[str, Any]:
    """Ask one set (after a warm-up question) and summarise it."""
    as_of, sets = load()
    chosen = sets[which]
    rag.ask(chosen.answerable[0][0])  # warm-up: the first question is not timed cold
    times: list[float] = []
    first: list[float] = []  # when the first word was streamed (the whole answer at once: its end)
    sentence: list[float] = []  # when the sentence's first word was (after a short answer)
    right = abstained = 0
    asked: list[tuple[str, tuple[str, ...] | None]] = [
        *chosen.answerable,
        *((q, None) for q in chosen.unanswerable),
    ]
    for question, expected in asked:
        t = time.perf_counter()
        a = rag.ask(question, AskOptions(as_of=as_of))
        times.append(time.perf_counter() - t)
        first.append(a.timings_ms.get("first_word", a.timings_ms.get("total", 0.0)) / 1000)
        sentence.append(a.timings_ms.get("sentence", first[-1] * 1000) / 1000)
        ok = a.abstained if expected is None else is_right(a, expected)
        if expected is None:
            abstained += ok
        else:
            right += ok
        conf = "-" if a.confidence is None else f"{a.confidence:.2f}"
        mark = "ok " if ok else "BAD"
        echo(f"{mark} {times[-1]:5.2f}s conf {conf}  {question[:58]:58}  {a.answer[:80]}")
    xs = sorted(times)
    return {
        "set": which,
        "answerable_right": f"{right}/{len(chosen.answerable)}",
        "unanswerable_abstained": f"{abstained}/{len(chosen.unanswerable)}",
        "p50_s": round(statistics.median(xs), 2),
        "p95_s": round(xs[min(len(xs) - 1, int(0.95 * len(xs)))], 2),
        "first_word_p50_s": round(statistics.median(first), 2),
        "sentence_p50_s": round(statistics.median(sentence), 2),
    }

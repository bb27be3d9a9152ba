"""Questions a new user would ask about the seed article, on the default preset: how many
answerable ones are answered right (the short answer, with a supporting citation) and how many
on-topic unanswerable ones are abstained — at least the measured floors below.

The questions are paraphrased (they do not copy the article's wording) and cover who, which,
how many, when and where; one needs two sentences ("the country" in one is Armenia in the one
before). The same set is a benchmark: `python -m bench.seed_questions` prints every answer and
the time per question.
"""

from __future__ import annotations

import re
from datetime import date

import pytest

from retrieval.types import Answer
from tests.conftest import MODEL_CACHE
from tests.fakes import make_newsrag

pytestmark = pytest.mark.slow

# (question, any of these must occur in the short answer, normalised)
ANSWERABLE: list[tuple[str, tuple[str, ...]]] = [
    ("How many Armenian soldiers were killed?", ("four", "4")),
    ("How many soldiers were wounded in the incident?", ("one", "1", "another")),
    ("Who was recently re-elected president of Azerbaijan?", ("aliyev",)),
    ("Which country has peacekeepers stationed in Karabakh?", ("russia",)),
    ("Which countries does Armenia now see as its main arms suppliers?", ("france and india",)),
    ("Which neighbour of Armenia is worried about linking Turkey and Azerbaijan?", ("iran",)),
    ("In which Armenian province did the attack happen?", ("syunik",)),
    ("Who is Armenia's prime minister?", ("pashinyan",)),
    ("How many ethnic Armenians left Azerbaijan last September?", ("100,000", "100000")),
    ("Which transport corridor might Azerbaijan push Armenia to open?", ("zangezur",)),
    ("What does Azerbaijan say it destroyed in retaliation?", ("combat post",)),
    ("Which region did Azerbaijan take back control of last year?", ("karabakh",)),
    ("Which country used to be Armenia's ally?", ("russia",)),
    ("Where would the Zangezur corridor lead through Armenian territory?", ("nakhchivan",)),
    ("When was the article about the border violence published?", ("2024", "september 20")),
    ("The attack came after whose re-election?", ("aliyev",)),
    ("Whose popularity in Armenia has fallen since the military defeat?", ("pashinyan",)),
    ("Who do pro-government voices in Azerbaijan blame for the violence?", ("opposition",)),
    ("What is Armenia discussing as part of the proposed peace agreement?", ("constitution",)),
    ("What has Moscow asked both sides to do?", ("restraint",)),
    (
        "After distancing itself from Russia, which two countries does Armenia rely on for "
        "weapons?",
        ("france and india",),
    ),
]

UNANSWERABLE: list[str] = [
    "What is the population of Azerbaijan?",
    "What is the name of Armenia's defence minister?",
    "On what date did the peace talks between Armenia and Azerbaijan begin?",
    "How much military aid has France given Armenia?",
    "How many Russian peacekeepers are stationed in Karabakh?",
    "What weapons did Azerbaijan use in the attack?",
    "What is the GDP of Armenia?",
    "Who won Armenia's last parliamentary election?",
]


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


@pytest.fixture(scope="module")
def rag(seed_index_dir, embedder):
    from service.loading import build_models, core_config
    from service.settings import Settings

    settings = Settings(index_dir=seed_index_dir, cache_dir=MODEL_CACHE)
    models = build_models(settings)
    models.load()
    # The product's own configuration (gates, the preset's confidence calibration).
    pipeline = core_config(settings).pipeline
    return make_newsrag(seed_index_dir, embedder, models.generator, pipeline, readonly=True)


# Measured (bench/seed_questions.py, docs/EVALUATION.md): the default, base on llama.cpp with
# its own calibration, 17 of 21 answerable questions right and 8 of 8 unanswerable ones
# abstained with its weights as packaged (15 before a declining reader was made to answer,
# RAGPipeline.reopen_declined); small (llama.cpp, same gate) 12 and 7. The floors catch
# regressions; the goal (all right) is not reached yet.
MIN_RIGHT = {"small": 8, "base": 17}
# Asked as a reader of the article would, the day after it appeared: "last year" and other
# relative words are read against this date (asked today, "last year" is rightly another year).
AS_OF = date(2024, 9, 21)
MIN_ABSTAINED = {"small": 5, "base": 7}


def test_seed_questions_answered_right_and_unanswerable_ones_abstained(rag):
    from service.settings import Settings

    preset = Settings().preset
    right = [q for q, expected in ANSWERABLE if is_right(rag.ask(q, as_of=AS_OF), expected)]
    abstained = [q for q in UNANSWERABLE if rag.ask(q, as_of=AS_OF).abstained]
    assert len(right) >= MIN_RIGHT.get(preset, 0), sorted(
        set(q for q, _ in ANSWERABLE) - set(right)
    )
    assert len(abstained) >= MIN_ABSTAINED.get(preset, 0), sorted(
        set(UNANSWERABLE) - set(abstained)
    )

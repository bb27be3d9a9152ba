"""Questions a new user would ask about the seed article, on the default preset: how many
answerable ones are answered right (the short answer, with a supporting citation) and how many
on-topic unanswerable ones are abstained — at least the measured floors below.

The questions are paraphrased (they do not copy the article's wording) and cover who, which,
how many, when and where; one needs two sentences ("the country" in one is Armenia in the one
before). The same set is a benchmark that prints every answer and
the time per question (`newsrag eval seed`; the questions are in
service/evals/questions/seed.json, asked as of the day after the article appeared).
"""

from __future__ import annotations

import pytest

from retrieval.options import AskOptions
from service.evals.seed import is_right, load
from tests.conftest import MODEL_CACHE
from tests.fakes import make_newsrag

pytestmark = pytest.mark.slow

AS_OF, SETS = load()
ANSWERABLE = SETS["test"].answerable
UNANSWERABLE = SETS["test"].unanswerable


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
MIN_ABSTAINED = {"small": 5, "base": 7}


def test_seed_questions_answered_right_and_unanswerable_ones_abstained(rag):
    from service.settings import Settings

    preset = Settings().preset
    right = [
        q for q, expected in ANSWERABLE if is_right(rag.ask(q, AskOptions(as_of=AS_OF)), expected)
    ]
    abstained = [q for q in UNANSWERABLE if rag.ask(q, AskOptions(as_of=AS_OF)).abstained]
    assert len(right) >= MIN_RIGHT.get(preset, 0), sorted(
        set(q for q, _ in ANSWERABLE) - set(right)
    )
    assert len(abstained) >= MIN_ABSTAINED.get(preset, 0), sorted(
        set(UNANSWERABLE) - set(abstained)
    )

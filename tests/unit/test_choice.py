"""Multiple choice: how the readings of the options combine, and the exception questions."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.answer.choice import MAX_CHOICES, PADDING, affirmed, mc_combine, score_choices
from retrieval.errors import InvalidInputError
from retrieval.types import Hit
from tests.fakes import FakeGenerator


def _hit(text: str) -> Hit:
    return Hit(1, "a", "Border clash", date(2024, 9, 20), None, None, text, 0.5)


def test_the_closed_book_reading_counts_only_by_its_weight():
    evidence, closed = [-1.0, -1.2], [-3.0, -0.5]
    assert mc_combine(evidence, closed, 0.0) == evidence
    weighted = mc_combine(evidence, closed, 1.0)
    assert weighted[1] > weighted[0]  # the model's belief without sources overturns the pick


def test_scoring_reads_closed_book_only_when_it_counts_or_is_asked_for():
    gen = FakeGenerator()
    hits = [_hit("Four soldiers were killed.")]
    msgs = [{"role": "user", "content": "Four soldiers were killed. Question: How many?"}]
    detail = score_choices(gen, "How many?", ["Four soldiers", "Bananas"], hits, msgs, 0.0)
    assert set(detail) == {"evidence", "combined"} and detail["combined"] == detail["evidence"]
    asked = score_choices(gen, "How many?", ["Four soldiers", "Bananas"], hits, msgs, 0.0, True)
    assert set(asked) == {"evidence", "closed_book", "combined"}
    assert asked["combined"] == asked["evidence"]  # read, but weighted 0
    with pytest.raises(InvalidInputError):
        score_choices(gen, "How many?", ["x"] * (MAX_CHOICES + 1), hits, msgs, 0.0)


@pytest.mark.parametrize(
    ("question", "other_way"),
    [
        (
            "Which of these celebs was not invited to join the Academy?",
            "Which of these celebs was invited to join the Academy?",
        ),
        (
            "Several players moved. Which of these players wasn’t traded this week?",
            "Several players moved. Which of these players was traded this week?",
        ),
        (
            "Philip Baker Hall died this week. He was in all of these movies except:",
            "Philip Baker Hall died this week. He was in which of these movies?",
        ),
        ("She appeared in all these films except:", "She appeared in which of these films?"),
        (
            "Which of the following investors has not been linked to a takeover?",
            "Which of the following investors has been linked to a takeover?",
        ),
        ("Which of these candidates did not withdraw?", "Which of these candidates did withdraw?"),
        # Not asking for the exception: a negation about the answer itself, or no "not".
        ("Which tennis star said they won’t play at the US Open?", None),
        ("Fans of which musician will not be able to take photos?", None),
        ("Which of these films won the most awards?", None),
        # The negation is in the scene, not in the asking sentence.
        ("No one expected it. Which of these teams won the cup?", None),
    ],
)
def test_a_question_asking_for_the_exception_is_read_the_other_way(question, other_way):
    assert affirmed(question) == other_way


def test_the_exception_is_the_option_the_evidence_supports_least():
    gen = FakeGenerator()
    hits = [_hit("Biles, Washington and McCain received the medal.")]
    question = "Which of these people was not presented with the medal?"
    choices = ["Biles", "Washington", "McCain", "Johnson"]
    msgs = [{"role": "user", "content": f"{hits[0].text} Question: {question}"}]
    detail = score_choices(gen, question, choices, hits, msgs, 0.0)
    # Asked as is, the likelihood follows the names the evidence gives: a wrong pick.
    assert max(range(4), key=lambda i: detail["evidence"][i]) != 3
    assert "affirmed" in detail
    assert max(range(4), key=lambda i: detail["combined"][i]) == 3
    # The positive question keeps the ordinary reading.
    plain = score_choices(gen, "Who received the medal?", choices, hits, msgs, 0.0)
    assert "affirmed" not in plain and plain["combined"] == plain["evidence"]


def test_an_empty_padding_option_is_never_the_pick():
    gen = FakeGenerator()
    hits = [_hit("Four soldiers were killed.")]
    msgs = [{"role": "user", "content": "Four soldiers were killed. Question: How many?"}]
    detail = score_choices(gen, "How many?", ["Ten", "Twenty", ""], hits, msgs, 0.0)
    assert detail["combined"][2] == PADDING < min(detail["combined"][:2])

"""Multiple choice: the lettered prompt and how the readings of the options combine."""

from __future__ import annotations

import math
from datetime import date

import pytest

from retrieval.answer.choice import (
    LETTERS,
    PADDING,
    affirmed,
    lettered_messages,
    log_softmax,
    mc_combine,
    score_choices,
)
from retrieval.errors import InvalidInputError
from retrieval.types import Hit
from tests.fakes import FakeGenerator


def _hit(text: str) -> Hit:
    return Hit(1, "a", "Border clash", date(2024, 9, 20), None, None, text, 0.5)


def test_the_lettered_prompt_lists_every_option_after_its_letter():
    msgs = lettered_messages("How many died?", [_hit("Four soldiers died.")], [" Four", "Two"])
    assert msgs[0]["role"] == "system" and "letter" in msgs[0]["content"]
    user = msgs[1]["content"]
    assert user.startswith("[1] Border clash (2024-09-20)\nFour soldiers died.")
    assert "Question: How many died?\nA. Four\nB. Two\n" in user
    # Without sources: the same question, closed book.
    assert lettered_messages("How many died?", [], ["Four"])[1]["content"].startswith("Question:")


def test_log_softmax_normalises_over_the_options():
    out = log_softmax([-1.0, -2.0, -3.0])
    assert math.isclose(sum(math.exp(x) for x in out), 1.0)
    assert out[0] > out[1] > out[2]
    # Large magnitudes do not overflow.
    assert math.isclose(sum(math.exp(x) for x in log_softmax([-1000.0, -1001.0])), 1.0)


def test_the_letters_can_overturn_the_cloze_pick_and_weight_zero_ignores_them():
    evidence, closed = [-1.0, -1.2], [-3.0, -3.0]
    letters = [-5.0, -0.01]  # the model reading both options side by side prefers B
    assert mc_combine(evidence, closed, 0.0) == evidence
    assert mc_combine(evidence, closed, 0.0, letters, 0.0) == evidence
    both = mc_combine(evidence, closed, 0.0, letters, 2.0)
    assert both[1] > both[0]
    # …and a confident cloze reading survives a lukewarm letter preference.
    both = mc_combine([-0.1, -4.0], closed, 0.0, [-0.8, -0.6], 2.0)
    assert both[0] > both[1]


def test_scoring_reads_the_letters_only_when_they_count():
    gen = FakeGenerator()
    hits = [_hit("Four soldiers were killed.")]
    msgs = [{"role": "user", "content": "Four soldiers were killed. Question: How many?"}]
    detail = score_choices(gen, "How many?", ["Four soldiers", "Bananas"], hits, msgs, 0.0, 2.0)
    assert set(detail) == {"evidence", "letters", "combined"}  # closed book: not asked for
    assert len(detail["letters"]) == 2
    detail = score_choices(gen, "How many?", ["Four soldiers", "Bananas"], hits, msgs, 0.0, 0.0)
    assert "letters" not in detail and detail["combined"] == detail["evidence"]
    with pytest.raises(InvalidInputError):
        score_choices(gen, "How many?", ["x"] * (len(LETTERS) + 1), hits, msgs, 0.0, 2.0)


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
    detail = score_choices(gen, question, choices, hits, msgs, 0.0, 0.0)
    # Asked as is, the likelihood follows the names the evidence gives: a wrong pick.
    assert max(range(4), key=lambda i: detail["evidence"][i]) != 3
    assert "affirmed" in detail
    assert max(range(4), key=lambda i: detail["combined"][i]) == 3
    # The positive question keeps the ordinary reading.
    plain = score_choices(gen, "Who received the medal?", choices, hits, msgs, 0.0, 0.0)
    assert "affirmed" not in plain and plain["combined"] == plain["evidence"]


def test_an_empty_padding_option_is_never_the_pick():
    gen = FakeGenerator()
    hits = [_hit("Four soldiers were killed.")]
    msgs = [{"role": "user", "content": "Four soldiers were killed. Question: How many?"}]
    detail = score_choices(gen, "How many?", ["Ten", "Twenty", ""], hits, msgs, 0.0, 0.0)
    assert detail["combined"][2] == PADDING < min(detail["combined"][:2])

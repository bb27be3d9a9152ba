from __future__ import annotations

from retrieval.prompt import cited_numbers, clean_citations, is_abstention, tidy_answer


def test_cited_numbers_in_order():
    assert cited_numbers("A [2] and B [1, 3] and again [2].") == [2, 1, 3]


def test_clean_citations_drops_unknown_sources():
    assert clean_citations("Four soldiers [1][7].", 3) == "Four soldiers [1]."
    assert clean_citations("Paris [4, 2].", 3) == "Paris [2]."
    assert clean_citations("Nothing [9] here.", 3) == "Nothing here."


def test_abstention_detection():
    assert is_abstention("I don't know.")
    assert is_abstention("I do not know the answer")
    assert is_abstention("The sources do not mention it.")
    assert is_abstention("")
    assert not is_abstention("Four soldiers [1].")
    assert not is_abstention("Know-how matters [1].")


def test_tidy_answer_keeps_first_paragraph():
    assert tidy_answer("Four [1].\n\nAlso unrelated rambling.") == "Four [1]."

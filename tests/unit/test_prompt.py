from __future__ import annotations

from retrieval.answer.prompt import cited_numbers, clean_citations, is_abstention, tidy_answer


def test_cited_numbers_in_order():
    assert cited_numbers("A [2] and B [1, 3] and again [2].") == [2, 1, 3]


def test_clean_citations_drops_unknown_sources():
    assert clean_citations("Four soldiers [1][7].", 3) == "Four soldiers [1]."
    assert clean_citations("Paris [4, 2].", 3) == "Paris [2]."
    assert clean_citations("Nothing [9] here.", 3) == "Nothing here."


def test_clean_citations_drops_a_marker_repeated_alone():
    assert clean_citations("Fifth-largest airline [1]. [1].", 3) == "Fifth-largest airline [1]."
    assert clean_citations("By Labor Day [1].  [1]", 3) == "By Labor Day [1]."
    assert clean_citations("One [1]. Two [1].", 3) == "One [1]. Two [1]."
    assert clean_citations("One [1]. [2].", 3) == "One [1]. [2]."
    assert clean_citations("Under 12 [1] [1].", 3) == "Under 12 [1]."


def test_abstention_detection():
    assert is_abstention("I don't know.")
    assert is_abstention("I do not know the answer")
    assert is_abstention("The sources do not mention it.")
    assert is_abstention("")
    assert not is_abstention("Four soldiers [1].")
    assert not is_abstention("Know-how matters [1].")


def test_tidy_answer_keeps_first_paragraph():
    assert tidy_answer("Four [1].\n\nAlso unrelated rambling.") == "Four [1]."


def test_parse_two_line_reply():
    from retrieval.answer.prompt import parse_answer

    p = parse_answer("Answer: Ilham Aliyev [1]\nSentence: Ilham Aliyev was re-elected [1].")
    assert p.short == "Ilham Aliyev [1]" and p.sentence == "Ilham Aliyev was re-elected [1]."
    # A reply without the labels is the short answer; a missing sentence is empty.
    assert parse_answer("Four soldiers [1].") == type(p)("Four soldiers [1].", "")
    assert parse_answer("Answer: 200 [1]\n").sentence == ""
    assert parse_answer("Answer: I don't know.").short == "I don't know."


def test_answer_stream_shows_only_the_sentence_and_knows_when_the_short_line_ends():
    from retrieval.answer.prompt import AnswerStream

    s = AnswerStream()
    shown = [s.feed(p) for p in ["Ans", "wer: Ilham", " Aliyev [1]"]]
    assert shown == ["", "", ""] and not s.short_done
    assert s.feed("\nSent") == "" and s.short_done
    assert s.feed("ence: Ilham Aliyev") + s.feed(" won [1].") == "Ilham Aliyev won [1]."
    plain = AnswerStream()
    assert plain.feed("An") == "" and plain.feed("d four died") == "And four died"
    assert AnswerStream().feed("Four") == "Four"


def test_a_reply_that_quotes_its_sentence_first():
    from retrieval.answer.prompt import AnswerStream, parse_answer

    p = parse_answer("Sentence: The union says pay lags [1].\nAnswer: Yes")
    assert p.short == "Yes" and p.sentence == "The union says pay lags [1]."
    cut = parse_answer("Sentence: The union says pay lags")  # the budget ran out
    assert cut.short == "" and cut.sentence == "The union says pay lags"
    # streamed: the sentence, without its label, and not the verdict line after it
    s = AnswerStream()
    shown = [s.feed(x) for x in ["Sen", "tence: The union", " says pay lags [1].", "\nAnswer: Yes"]]
    assert "".join(shown) == "The union says pay lags [1]." and shown[0] == ""


def test_closed_book_prompt_shares_the_few_shot_prefix():
    from retrieval.answer.prompt import build_messages, closed_book_messages

    with_sources = build_messages("Who won?", [])
    closed = closed_book_messages("Who won?")
    assert closed[:-1] == with_sources[:-1]
    assert closed[-1]["content"] == "Question: Who won?"


def test_the_short_answer_is_followed_as_it_is_written_without_its_citation():
    from retrieval.answer.prompt import AnswerStream

    def shorts(pieces: list[str]) -> str:
        s = AnswerStream()
        out = ""
        for p in pieces:
            s.feed(p)
            out += s.new_short()
        return out

    assert shorts(["Answer:", " Four", " sold", "iers [", "1]\n", "Sentence: Four died."]) == (
        "Four soldiers "
    )
    assert shorts(["Sentence: It is free [1].", "\nAnswer:", " Yes"]) == "Yes"  # verdict last
    assert shorts(["I don't", " know."]) == ""  # not labelled: nothing to show above
    assert shorts(["The sentence mentions Answer: yes."]) == ""


def test_a_marker_after_the_sentences_full_stop_moves_inside_it():
    from retrieval.answer.prompt import parse_answer

    parsed = parse_answer("Answer: 12 [1]\nSentence: Admission is free under 12. [1].")
    assert parsed.sentence == "Admission is free under 12 [1]."
    parsed = parse_answer("Sentence: It opened on “Sunday.” [2]\nAnswer: Yes")
    assert parsed.sentence == "It opened on “Sunday” [2]."
    # a reply of one line, the answer copied with its full stop
    parsed = parse_answer("Answer: A ferry route to the coast. [1]")
    assert parsed.short == "A ferry route to the coast [1]." and parsed.sentence == ""


def test_a_one_line_reply_copied_with_its_full_stop_is_cited_once(archive):
    from retrieval.options import AskOptions
    from tests.fixtures.kinds import AS_OF, open_with

    rag, _ = open_with(archive, "Answer: A former rail depot in Port Avalon. [1]")
    a = rag.ask("Where did the glass museum open?", AskOptions(as_of=AS_OF))
    assert not a.abstained, a.answer
    assert a.answer == "A former rail depot in Port Avalon [1].", a.answer

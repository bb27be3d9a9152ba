"""Every kind of question recognised from its form; lists, questions about the article and
date windows answered in their own shape and checked claim by claim (yes/no answers:
tests/unit/test_yesno.py, open answers: tests/unit/test_open_answers.py) — with fake models
over short articles written for the tests."""

from __future__ import annotations

from datetime import date

import pytest

from retrieval.answer import about
from retrieval.answer.kinds import QuestionType, question_type
from retrieval.answer.prompt import cited_numbers
from retrieval.check.subject import about_subject
from retrieval.options import AskOptions
from tests.fixtures.kinds import AS_OF, FERRY_TALK, open_with

K = QuestionType


@pytest.mark.parametrize(
    ("question", "kind"),
    [
        ("How many daily crossings did Bayline cancel?", K.FACTOID),
        ("Who lent the glass to the museum?", K.FACTOID),
        ("Which country has peacekeepers in the region?", K.FACTOID),
        ("What is the capital of France?", K.FACTOID),
        ("What happened in Port Avalon?", K.OPEN),
        ("Why are the ferry crews striking?", K.OPEN),
        ("How did the council respond to the drought?", K.OPEN),
        ("Tell me about the Millbrook drought.", K.OPEN),
        ("Summarize the news on the reservoir.", K.OPEN),
        ("What's the latest on the water limits?", K.OPEN),
        ("What are the main concerns about the reservoir?", K.OPEN),
        ("What's in the council's plan?", K.OPEN),
        ("What is being done about the water shortage?", K.OPEN),
        ("Did the council limit garden watering?", K.YESNO),
        ("Is the museum free for children?", K.YESNO),
        ("Has Bayline offered new talks?", K.YESNO),
        ("Is it true that the reservoir is full?", K.YESNO),
        ("Is the museum in the depot or the harbor?", K.FACTOID),  # a choice, not yes/no
        ("Is the ferry ticket paid by card or in cash?", K.FACTOID),
        # an "or" inside a yes/no question: whether it can happen, or happened at all
        ("Can the strike spread to buses or trams?", K.YESNO),
        ("Did the drought hurt farmers or gardeners anywhere?", K.YESNO),
        ("Did the strike delay or cancel any crossings?", K.YESNO),
        ("Which towns had water limits?", K.LIST),
        ("Which two outlets reported on the drought?", K.META),
        ("What are the three reasons the board gave?", K.LIST),
        ("Name the collectors who lent pieces.", K.LIST),
        ("When was the article about the ferry strike published?", K.META),
        ("What is the title of the article about the museum?", K.META),
        ("Who wrote the article about the water limits?", K.META),
        ("Where can I read the article about the glass museum?", K.META),
        ("What is the article about?", K.META),
        ("What is “Drought forces water limits in Millbrook” about?", K.OPEN),
        ("What was the council's plan about?", K.OPEN),
        ("Which outlet reported the reservoir figures?", K.META),
        # a cause or a consequence is explained, not named
        ("What caused the reservoir to fall so low?", K.OPEN),
        ("What led to the ferry strike?", K.OPEN),
        ("What could the water limits mean for farmers?", K.OPEN),
        ("What causes of the drought did the council name?", K.FACTOID),
        ("What does it mean for a reservoir to be at capacity?", K.FACTOID),
        # a plural named by two words, then its verb in the past
        ("Which ferry crews walked out on Monday?", K.LIST),
        ("Which town has farmers affected by the cuts?", K.FACTOID),
        ("Which ferry was cancelled on Monday?", K.FACTOID),
        # who or what a name is: what the sources say of it, not one span
        ("Who is Irene Vasquez?", K.OPEN),
        ("What is the Clearwater reservoir?", K.OPEN),
        ("What is Bayline?", K.OPEN),
        ("Who is Millbrook's mayor?", K.FACTOID),  # a role: asks for a name
        ("Who is the mayor of Millbrook?", K.FACTOID),
        ("What is the reservoir's level?", K.FACTOID),  # an attribute with a value
        ("What is the ticket price?", K.FACTOID),
        ("What is the most common ferry?", K.FACTOID),
        ("What is it?", K.FACTOID),  # a follow-up, rewritten before it is read
        # what something is like: a description, not one fact
        ("What was the weather like in Millbrook during the drought?", K.OPEN),
        ("What are the conditions like at the reservoir?", K.OPEN),  # not a list
        ("What's the mood like among the ferry crews?", K.OPEN),
        ("What did the crews like about the offer?", K.FACTOID),  # "like" the verb
    ],
)
def test_question_type_from_the_form_of_the_question(question, kind):
    assert question_type(question) is kind


def test_about_subject_needs_the_names_and_most_words():
    text = ["Millbrook's council limited garden watering after the reservoir fell."]
    assert about_subject("What is happening with water in Millbrook?", [*text, "water"])
    assert not about_subject("What is happening with gas prices?", text)
    assert not about_subject("What did Bayline say about Millbrook?", text)  # a name missing


def test_meta_field_and_subject():
    q = "When was the article about the ferry strike published?"
    assert about.field_asked(q) is about.Field.DATE
    assert about.subject(q).split() == ["When", "was", "the", "about", "the", "ferry", "strike"]
    assert about.field_asked("Who wrote the story on the museum?") is about.Field.AUTHOR
    assert about.field_asked("What is the link to the article on the strike?") is about.Field.LINK
    assert about.field_asked("What is the article about?") is about.Field.ABOUT
    assert not about.has_subject("What is the article about?")
    assert about.has_subject("What is the article about the reservoir about?")


def test_lead_skips_the_dateline():
    body = (
        "Washington CNN —\n\nA bipartisan group of senators unveiled an agreement on gun "
        "safety legislation on Sunday, the first in decades. It was welcomed by many."
    )
    assert about.lead(body, 1).startswith("A bipartisan group of senators")


def test_list_keeps_only_items_a_source_names(archive):
    reply = (
        "Answer: Millbrook [1], Riverton [1]\n"
        "Sentence: Water limits were set in Millbrook and Riverton [1]."
    )
    rag, _ = open_with(archive, reply)
    a = rag.ask("Which towns set water limits during the drought?", AskOptions(as_of=AS_OF))
    assert a.question_type == "list" and not a.abstained
    assert a.short_answer == "Millbrook"
    assert "Riverton" not in a.answer


@pytest.mark.parametrize(
    "reply",
    [
        # The items line runs on into a sentence: what follows describes, it lists nothing.
        "Answer: Millbrook [1]. The council said the limits will stay until autumn rains "
        "refill the reservoir [1].\nSentence: —",
        # A sentence the token budget cut mid-clause.
        "Answer: Millbrook [1]\nSentence: Millbrook's council limited garden watering to two "
        "days a week on Monday [1], after the Clearwater reservoir fell to",
        # A sentence that says more than its sources.
        "Answer: Millbrook [1]\nSentence: Millbrook set water limits after Governor Ellen "
        "Park sent 40 tanker trucks [1].",
    ],
)
def test_a_list_answer_is_its_items_alone_when_the_sentence_cannot_stand(archive, reply):
    rag, _ = open_with(archive, reply)
    a = rag.ask("Which towns set water limits during the drought?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "Millbrook", a.answer
    assert a.answer.startswith("Millbrook [") and a.answer.endswith("].")
    assert all(c["supported"] for c in a.claims)


def _numbered(archive, question: str) -> dict[str, int]:
    """Each article's source number in the prompt of `question` (first source it is in)."""
    rag, _ = open_with(archive, "—", top_k=8)
    _, sources, _ = rag.pipeline.sources_for(question, 8, as_of=AS_OF)
    out: dict[str, int] = {}
    for i, h in enumerate(sources, start=1):
        out.setdefault(h.article_id, i)
    return out


def _cited_articles(a) -> set[str]:
    shown = {c.id: c.hit.article_id for c in a.citations}
    return {shown[n] for n in cited_numbers(a.answer)}


@pytest.mark.parametrize(
    ("question", "reply", "kind", "says"),
    [
        (
            "Is the glass museum free for children?",
            "Sentence: Admission is free for children under 12 [{museum}, {ferry}].\nAnswer: Yes",
            "yesno",
            "museum",
        ),
        (  # a fact's sentence too
            "How many daily crossings did Bayline cancel?",
            "Answer: 46 [{ferry}]\nSentence: Bayline cancelled all 46 daily crossings "
            "[{ferry}, {museum}].",
            "factoid",
            "ferry-strike",
        ),
        (  # a marker mid-sentence that points at a source which does not say it
            "Which towns have a museum of glass art?",
            "Answer: Port Avalon [{museum}]\nSentence: A museum of glass art opened in Port "
            "Avalon [{ferry}]'s former rail depot [{museum}].",
            "list",
            "museum",
        ),
    ],
)
def test_a_source_cited_beside_the_one_that_says_it_is_not_shown(
    archive, question, reply, kind, says
):
    n = _numbered(archive, question)
    reply = reply.format(museum=n["museum"], ferry=n["ferry-strike"])
    rag, _ = open_with(archive, reply, top_k=8)
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert not a.abstained and a.question_type == kind, a.answer
    assert _cited_articles(a) == {says}, a.answer
    assert {c.hit.article_id for c in a.citations if c.cited} == {says}
    assert all(a.citations[n - 1].hit.article_id == says for c in a.claims for n in c["citations"])


def test_metadata_question_is_answered_from_the_article_without_the_model(archive):
    rag, gen = open_with(archive, "should not be asked")
    a = rag.ask("When was the article about the ferry strike published?", AskOptions(as_of=AS_OF))
    assert a.question_type == "meta" and not a.abstained
    assert a.short_answer == "February 11, 2025"
    assert "“Harbor ferry crews strike over pay”" in a.answer
    assert not gen.calls
    cited = [c for c in a.citations if c.cited]
    assert cited and cited[0].hit.article_id == "ferry-strike" and cited[0].supported
    a = rag.ask("Who wrote the article about the Millbrook water limits?", AskOptions(as_of=AS_OF))
    assert a.short_answer == "Sam Ortiz"
    a = rag.ask("Who wrote the article about the glass museum?", AskOptions(as_of=AS_OF))
    assert a.abstained and "does not name its author" in a.answer
    a = rag.ask("When was the article about the moon landing published?", AskOptions(as_of=AS_OF))
    assert a.abstained


def test_what_is_this_article_about_follows_the_conversation(archive):
    rag, _ = open_with(archive, "unused")
    a = rag.ask("What is the article about?", AskOptions(as_of=AS_OF, history=FERRY_TALK))
    assert not a.abstained
    assert "Harbor ferry crews strike over pay" in a.answer
    assert "Ferry crews in Port Avalon walked off the job" in a.answer
    # without a conversation, over several articles, "the article" names none
    assert rag.ask("What is the article about?", AskOptions(as_of=AS_OF)).abstained


def test_empty_time_window_names_the_newest_article_outside_it(archive):
    rag, _gen = open_with(archive, "I don't know.")
    a = rag.ask(
        "What happened with the Millbrook reservoir this week?", AskOptions(as_of=date(2025, 6, 2))
    )
    assert a.abstained and a.abstain_reason == "no_articles_in_window"
    assert a.window is not None
    assert a.window["published_from"] == "2025-05-27"
    assert a.window["newest"]["article_id"] == "water-courier"
    assert "Millbrook reservoir keeps falling despite limits" in a.answer
    body = a.to_dict()
    assert body["window"]["newest"]["published"] == "2025-03-20"
    # the same subject asked about when it was covered is answered normally
    reply = "The reservoir dropped to 27 percent of capacity [1]."
    rag, _ = open_with(archive, reply)
    a = rag.ask("What happened with the Millbrook reservoir this week?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.window is None


def test_the_window_names_no_article_from_after_the_day_asked_nor_needs_its_words(archive):
    """Asked on March 16, the newest article outside the window is from before that day (the
    archive's March 20 report did not exist yet); "over the weekend" is the window, not a
    word an article on Millbrook must say."""
    rag, _ = open_with(archive, "I don't know.")
    a = rag.ask(
        "What happened with the Millbrook reservoir this week?",
        AskOptions(as_of=date(2025, 3, 16)),
    )
    assert a.abstain_reason == "no_articles_in_window" and a.window is not None, a.answer
    assert a.window["newest"]["article_id"] == "water-ledger"
    a = rag.ask("What happened in Millbrook over the weekend?", AskOptions(as_of=date(2025, 3, 16)))
    assert a.abstain_reason == "no_articles_in_window" and a.window is not None, a.answer
    assert a.window["published_from"] == "2025-03-15"
    assert a.window["newest"]["article_id"] == "water-ledger"


def test_the_time_a_question_names_is_no_word_its_articles_must_say(archive):
    """ "Over the weekend" sets the window; an article on Millbrook in it answers, though it
    never says "weekend"."""
    rag, _ = open_with(archive, "The council limited watering [1].")
    a = rag.ask("What happened in Millbrook over the weekend?", AskOptions(as_of=date(2025, 3, 3)))
    assert a.filters_applied is not None
    assert a.filters_applied["from_question"] == "over the weekend"
    assert not a.abstained and "limited garden watering" in a.answer, a.answer


@pytest.mark.parametrize(
    ("question", "item", "category"),
    [
        ("Which senators negotiated the deal?", "The bipartisan group of senators", True),
        ("Which senators negotiated the deal?", "Senators", True),
        ("Which mannequins will fly?", "a suited mannequin that can collect data", True),
        ("What are the three reasons the board gave?", "reasons of cost", True),
        # a member names itself
        ("Which senators negotiated the deal?", "Senator Chris Murphy", False),
        ("Which states had the highest prices?", "the state of Texas", False),
        ("Which mannequins will fly?", "Commander Moonikin Campos", False),
        ("Which reforms does the framework include?", "red flag laws", False),
    ],
)
def test_a_list_item_that_is_the_asked_category_names_no_member(question, item, category):
    from retrieval.check.kind_check import _the_category

    assert _the_category(question, item) is category


def test_a_list_of_the_category_alone_abstains(archive):
    reply = "Answer: The ferry crews [1]\nSentence: The ferry crews went on strike [1]."
    rag, _ = open_with(archive, reply)
    a = rag.ask("Which crews went on strike in Port Avalon?", AskOptions(as_of=AS_OF))
    assert a.question_type == "list"
    assert a.abstained, a.answer

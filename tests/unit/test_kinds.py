"""Every kind of question but yes/no (tests/unit/test_yesno.py): recognised from its form,
answered in its own shape and checked claim by claim — with fake models over short articles
written for the tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from retrieval.answer import about
from retrieval.answer.kinds import QuestionType, question_type
from retrieval.answer.prompt import cited_numbers
from retrieval.check.kind_check import about_subject
from retrieval.options import AskOptions, PipelineConfig
from retrieval.types import Article, Turn
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag
from tests.fixtures.archive import ARCHIVE
from tests.fixtures.kinds import AS_OF, build_index, one_article, open_with

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


def test_open_answer_in_the_sources_own_words_says_who_reported_what_and_when(archive):
    rag, gen = open_with(archive, "The council limited watering [1].")
    a = rag.ask("What is happening with the Millbrook water supply?", AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert a.short_answer is None
    assert 2 <= len(a.claims) <= 4 and all(c["supported"] for c in a.claims)
    bodies = {x.body for x in ARCHIVE}
    assert all(any(c["text"].rstrip(".") in b for b in bodies) for c in a.claims)
    assert "ledger.example reported on March 3, 2025:" in a.answer
    assert "courier.example reported on March 20, 2025:" in a.answer
    assert "two to four sentences" in gen.calls[-1][0]["content"]  # the reader was asked


@pytest.mark.parametrize(
    "question, first",
    [
        ("Tell me about Millbrook's watering limits.", "ledger.example"),
        # asked for the latest, the newest article opens the answer
        ("What's the latest on Millbrook's watering limits?", "courier.example"),
    ],
)
def test_the_latest_opens_with_the_newest_article(archive, question, first):
    rag, _ = open_with(archive, "The council limited watering [1].")
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert a.answer.startswith(f"{first} reported on"), a.answer


def test_open_question_the_reader_declines_abstains(archive):
    rag, _ = open_with(archive, "I don't know.")
    a = rag.ask("What is happening with the Millbrook water supply?", AskOptions(as_of=AS_OF))
    assert a.abstained and a.abstain_reason == "model"


def test_written_open_answer_drops_an_unsupported_sentence(archive):
    reply = (
        "Millbrook's council limited garden watering to two days a week after the Clearwater "
        "reservoir fell to 31 percent [1]. The regional water board said the reservoir dropped "
        "to 27 percent and asked farmers to cut irrigation by a third [2]. The governor "
        "declared a state of emergency in Riverton [1]."
    )
    rag, gen = open_with(archive, reply, open_answers="write")
    a = rag.ask("What is happening with the Millbrook water supply?", AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained
    assert a.short_answer is None
    assert "Riverton" not in a.answer  # no source supports it: dropped
    assert "31 percent" in a.answer and "27 percent" in a.answer
    assert len(a.claims) == 2 and all(c["supported"] for c in a.claims)
    assert "two to four sentences" in gen.calls[-1][0]["content"]  # the open prompt
    cited = {c.hit.article_id for c in a.citations if c.cited}
    assert cited == {"water-ledger", "water-courier"}


def test_open_answer_about_another_subject_abstains(archive):
    reply = "Ferry crews walked off the job after pay talks collapsed [1]."
    rag, _ = open_with(archive, reply, open_answers="write")
    a = rag.ask("What is happening with the Millbrook water supply?", AskOptions(as_of=AS_OF))
    assert a.abstained and a.abstain_reason == "weak_evidence"
    assert not any(c.cited for c in a.citations)


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
    history = [
        Turn("user", "Why are the Port Avalon ferry crews striking?"),
        Turn("assistant", "Pay talks with Bayline collapsed [1]."),
    ]
    a = rag.ask("What is the article about?", AskOptions(as_of=AS_OF, history=history))
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


def test_open_answer_reads_the_whole_article_not_only_the_shown_chunk(tmp_path):
    """The points of a summary are often far from the question's words: an open answer
    reads the best articles whole."""
    emb = FakeEmbedder()
    long = Article(
        id="reservoir",
        title="Millbrook reservoir plan",
        body="\n\n".join(
            [
                "Millbrook's council approved a plan on Monday to raise the Clearwater dam by "
                "four metres to store more winter rain.",
                *[
                    f"Paragraph {i} of the report describes the history of the old mill "
                    f"district and its {i} brick warehouses along the canal towpath."
                    for i in range(1, 9)
                ],
                "Engineers estimate that the higher dam will cost 40 million dollars and take "
                "three years to build.",
            ]
        ),
        published=date(2025, 3, 3),
        source="ledger.example",
    )
    store = open_or_create(tmp_path / "l", emb, ChunkingParams(max_tokens=48, overlap_tokens=0))
    Indexer(store, emb).ingest_articles([long, *ARCHIVE[2:]])
    store.close()
    cfg = PipelineConfig(min_score=0.0, min_sentence_score=0.0, min_confidence=0.0)
    rag = make_newsrag(tmp_path / "l", emb, FakeGenerator("The council approved [1]."), cfg)
    a = rag.ask("What's in the council's plan for the dam?", AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert "raise the Clearwater dam by four metres" in a.answer
    assert "40 million dollars" in a.answer  # in the article's last chunk
    cited = {c.hit.article_id for c in a.citations if c.cited}
    assert cited == {"reservoir"}  # the strike and the museum are other subjects


def test_links_to_other_stories_are_no_point_of_an_answer():
    from retrieval.answer.extract import usable

    assert not usable("BUDGET AIRLINE BONANZA: What the merger would mean for fares and fees")
    assert not usable("Highest rate of inflation in 40 years:New level driven by rent in May")
    assert usable("The company said at 10:30 on Monday that fares would rise for travellers.")


def test_captions_teasers_and_headings_are_no_point_of_an_answer():
    """A paragraph that does not end as prose does is a photo caption and its credit, a
    link to another story or a heading, however much it reads like a sentence."""
    from retrieval.answer.extract import _paragraph_sentences

    body = (
        "Port Avalon CNN —\n\n"
        "A strong earthquake struck the harbor town of Port Avalon on Tuesday morning.\n\n"
        "A damaged ferry terminal lies on its side after the earthquake in Port Avalon on "
        "Tuesday. Harbor Photo/AP\n\n"
        "Experts say the old sea wall may be too weak to protect the harbor this winter\n\n"
        "Officials said repairs to the terminal would take “at least three months.”\n\n"
        "The mayor listed what the town needs first:"
    )
    assert _paragraph_sentences(body) == [
        "A strong earthquake struck the harbor town of Port Avalon on Tuesday morning.",
        "Officials said repairs to the terminal would take “at least three months.”",
        "The mayor listed what the town needs first:",
    ]


def test_a_second_article_joins_an_open_answer_only_when_it_is_about_the_question(tmp_path):
    """An article whose title and opening are about something else adds nothing, though it
    uses the question's words further down."""
    water, museum = ARCHIVE[0], ARCHIVE[3]
    museum = replace(
        museum,
        body=museum.body + "\n\nThe museum's director said Millbrook's watering limits would "
        "not affect the depot, and that farmers had lent glass from their own collections.",
    )
    rag, _ = open_with(
        build_index(tmp_path / "two", [water, museum]), "The council limited watering [1]."
    )
    a = rag.ask(
        "What do Millbrook's limits on garden watering mean for farmers?", AskOptions(as_of=AS_OF)
    )
    assert not a.abstained and a.question_type == "open", a.answer
    assert {c.hit.article_id for c in a.citations} == {water.id}, a.answer


def test_a_gallerys_repeated_captions_are_no_point_of_an_answer():
    """A photo gallery's caption ends with the day it was taken and the page repeats it; a
    repeated news sentence, or a sentence ending with a date said once, stays."""
    from retrieval.answer.extract import _paragraph_sentences

    caption = "A man stands near the damaged ferry terminal in Port Avalon on June 22."
    news = "The harbor will stay closed until the sea wall is inspected by engineers."
    dated = "The mayor said the terminal would reopen to ferry traffic on July 30."
    body = "\n\n".join([caption, caption, news, news, dated])
    assert _paragraph_sentences(body) == [news, news, dated]


def test_an_open_answer_opens_with_the_opening_paragraphs_main_point(tmp_path):
    """A feature opens with a question or a scene before its main point: the answer opens
    with the point."""
    answer = _open_answer(
        tmp_path,
        "Port Avalon CNN —\n\n"
        "Hoping to catch a ferry out of Port Avalon this week? When the morning boat failed to "
        "leave on Monday, dozens of commuters waited on the pier in the rain. Bayline has "
        "cancelled all its ferry crossings as its crews strike over pay.\n\n"
        "The crews walked out after talks with the company failed on Sunday night.",
        "What's going on with Bayline's ferry crossings?",
    )
    assert answer.startswith("Bayline has cancelled all its ferry crossings"), answer
    assert "dozens of commuters waited" in answer  # still a point, in its place


def _open_answer(tmp_path, body: str, question: str) -> str:
    """An open question's answer over one article on a ferry strike."""
    rag = one_article(
        tmp_path, "Ferry strike in Port Avalon", body, "Bayline cancelled its ferry crossings [1]."
    )
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained, a.answer
    return a.answer


def test_an_open_answer_about_part_of_a_story_favours_the_sentences_naming_it():
    """Asked about one country in an article on a continent's heat wave, the sentences naming
    that country score higher; a name in the title is the whole article's subject."""
    from retrieval.answer.extract import _favour_narrowed
    from retrieval.find.evidence import Sentence
    from retrieval.types import Hit

    europe = Hit(1, "europe", "Heat wave grips Europe", None, None, None, "", 1.0)
    ruritania = replace(europe, title="Heat wave grips Ruritania")
    question = "How bad is the heat wave in Ruritania?"
    for hit, raised in ((europe, True), (ruritania, False)):
        sents = [
            Sentence(0, 0, "Officials in Ruritania said 500 people had died in the heat."),
            Sentence(0, 1, "In France, the heat wave moved east toward Paris on Tuesday."),
        ]
        _favour_narrowed(question, [hit], sents)
        assert (sents[0].score > sents[1].score) == raised
        assert sents[1].score == 0.0


def test_the_newsrooms_notes_on_a_story_are_no_point_of_an_answer():
    from retrieval.answer.extract import usable

    assert not usable("This story has been updated with additional developments on Monday.")
    assert not usable("Correction: An earlier version of this article misstated the date.")
    assert not usable("CNN's Dana Whitfield and Irene Vasquez contributed to this report.")
    assert usable("The council updated its water rules for the third time since the spring.")


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


def test_an_open_answer_prefers_a_sentence_that_stands_on_its_own(tmp_path):
    """Of two sentences saying the same, the one that does not point back to a sentence the
    answer does not show ("His company …")."""
    answer = _open_answer(
        tmp_path,
        "Bayline's ferry crews went on strike in Port Avalon on Monday over pay.\n\n"
        "His company cancelled all 46 daily Bayline ferry crossings during the strike.\n\n"
        "The harbor museum said visitor numbers were steady through the spring season.\n\n"
        "A new bakery opened on the seafront road near the old lighthouse last week.\n\n"
        "Local schools kept their usual timetable while the town council met on Tuesday.\n\n"
        "The company cancelled all 46 daily Bayline ferry crossings during the strike.",
        "What happened with Bayline's ferry crossings?",
    )
    assert "The company cancelled all 46" in answer and "His company" not in answer, answer

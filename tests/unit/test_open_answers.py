"""Open questions ("what happened", "why", "summarize"): the sources' own sentences that
answer best, from the best articles read whole, each cited — never a caption, a link, a
heading or the newsroom's note — with fake models over short articles written for the tests."""

from __future__ import annotations

from dataclasses import replace
from datetime import date

import pytest

from index.chunking import ChunkingParams
from index.ingest import Indexer, open_or_create
from retrieval.answer import about
from retrieval.options import AskOptions, PipelineConfig
from retrieval.types import Article, SearchFilter
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag
from tests.fixtures.archive import ARCHIVE
from tests.fixtures.kinds import AS_OF, FERRY_TALK, build_index, one_article, open_with


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


def test_the_rest_of_a_quotation_is_no_point_of_an_answer():
    """A sentence closing a quotation opened in the sentence before it carries someone's
    words without their start (or, often, their speaker); a whole quotation inside one
    sentence, or a title in mixed quotation marks, is no such rest."""
    from retrieval.answer.extract import usable

    assert not usable("And that means the ferry fares will have to rise again next spring.”")
    assert not usable('It should have been done years ago by the council," the mayor said.')
    assert not usable("‘What the crews want is a fair deal on pay and hours,” she told reporters.")
    assert usable("The mayor said the strike was “a disgrace to the whole harbor town.”")
    assert usable('Fares will rise "by at least a fifth," the ferry company said on Monday.')
    assert usable('The crews sang "Harbor Lights” as the ferries stayed in port on Monday.')


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


def test_a_newsletters_pitch_is_no_point_of_an_answer():
    """The paragraph of a newsletter's plug pitches in its other sentences too; a short
    paragraph of news that names subscribers keeps its sentences."""
    from retrieval.answer.extract import _paragraph_sentences

    plug = (
        "Sign up for the Harbor Weekly newsletter. Explore the coast with news on ferries, "
        "fishing and the weather every week."
    )
    news = "The ferry company said crossings will resume on Friday after the strike ends."
    told = (
        "Bayline said its ferry pass subscribers would get refunds for cancelled crossings. "
        "The strike by the ferry crews over pay and hours has lasted nine days."
    )
    assert _paragraph_sentences("\n\n".join([plug, news, told])) == [
        news,
        "Bayline said its ferry pass subscribers would get refunds for cancelled crossings.",
        "The strike by the ferry crews over pay and hours has lasted nine days.",
    ]


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


@pytest.mark.parametrize(
    ("question", "said"),
    [
        ("Who is Irene Vasquez?", "with 300 pieces lent by collector Irene Vasquez"),
        ("What is the Clearwater reservoir?", "the Clearwater reservoir fell to 31 percent"),
    ],
)
def test_a_definition_is_what_the_sources_say_of_the_name(archive, question, said):
    rag, _ = open_with(archive, "It is named [1].")
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert said in a.answer
    # every sentence names it; no article opening that does not
    name = question.rstrip("?").split()[-1]
    assert all(name in c["text"] for c in a.claims), a.claims


@pytest.mark.parametrize(
    ("question", "unsaid"),
    [
        # what a "why" question takes as given, said in another form of its word
        ("Why did Bayline's crews walk out?", None),
        ("Why did the crews strike?", None),
        # a verb that only says it began, and an adverb of time, take nothing more as given
        ("Why did the strike break out again?", None),
        ("Why did the riots break out?", "“riots”"),
        # ... and never said: the article is about the strike, not about a lawsuit or a fine
        ("Why did Bayline sue the ferry crews?", "“sue”"),
        ("Why was Bayline fined over the strike?", "“fined”"),
        ("Why did Northport close the pier?", "“Northport”"),  # a name, as the question writes it
        # a preposition is no part of what is taken as given
        ("Why did the crews walk out during the talks?", None),
        # what something was like takes it as given, as a "why" question does
        ("What was the strike like for commuters?", None),
        ("What was the weather like on the pier?", "“weather”"),
    ],
)
def test_a_question_whose_premise_no_source_states_abstains(tmp_path, question, unsaid):
    rag = one_article(
        tmp_path,
        "Ferry strike in Port Avalon",
        "Bayline cancelled all its ferry crossings on Monday as its crews struck over pay.\n\n"
        "The crews walked out after talks with the company failed on Sunday night, and the "
        "union said the company had taken legal action against two of its members.\n\n"
        "Commuters waited on the pier for hours before the company offered buses instead.",
        "Bayline cancelled its ferry crossings [1].",
    )
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "open"
    if unsaid is None:
        assert not a.abstained, a.answer
    else:
        assert a.abstained and a.abstain_reason == "weak_evidence", a.answer
        assert unsaid in a.answer


@pytest.mark.parametrize(
    ("question", "published_to", "opening", "title"),
    [
        ("What happened?", None, "courier.example reported on March 20, 2025:", None),
        ("Catch me up.", None, "courier.example reported on March 20, 2025:", None),
        # the newest article the filters allow
        ("Summarize the article.", date(2025, 2, 15), "", "Harbor ferry crews strike over pay"),
    ],
)
def test_a_question_naming_no_subject_is_about_the_newest_article(
    archive, question, published_to, opening, title
):
    rag, _ = open_with(archive, "The council limited watering [1].")
    filters = SearchFilter(published_to=published_to) if published_to else None
    a = rag.ask(question, AskOptions(as_of=AS_OF, filters=filters))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert a.answer.startswith(opening), a.answer
    if title:
        assert {c.hit.title for c in a.citations if c.cited} == {title}, a.answer


def test_a_question_naming_no_subject_reads_the_newest_article_of_the_asked_outlet(tmp_path):
    """Filtered to an outlet, "What happened?" is about that outlet's newest article however
    many newer ones other outlets published (the listing once read only the newest 50)."""
    wire = [
        Article(
            id=f"wire{i}",
            title=f"Wire bulletin {i}",
            body=f"Bulletin {i} of the day said the weather stayed calm over the coast.",
            published=date(2025, 3, 24),
            source="wire.example",
            url=f"https://wire.example/{i}",
        )
        for i in range(55)
    ]
    rag, _ = open_with(build_index(tmp_path / "idx", [*ARCHIVE, *wire]), "It was dry [1].")
    only = SearchFilter(sources=(" LEDGER.example",))
    a = rag.ask("What happened?", AskOptions(as_of=AS_OF, filters=only))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert {c.hit.title for c in a.citations if c.cited} == {ARCHIVE[0].title}, a.answer


@pytest.mark.parametrize(
    ("question", "news"),
    [
        ("What happened?", True),
        ("Summarize the article.", True),
        ("Catch me up.", True),
        ("What's the latest news?", True),
        ("What happened at the reservoir?", False),
        ("Catch me up on the ferry strike.", False),
        ("Why?", False),  # about something said before, not a request for the news
        ("How come?", False),
    ],
)
def test_which_questions_ask_for_the_news_as_such(question, news):
    assert about.asks_for_news(question) is news


def test_a_summary_asked_in_a_conversation_is_of_what_it_was_about(archive):
    rag, _ = open_with(archive, "The crews walked out [1].")
    a = rag.ask("Summarize it.", AskOptions(as_of=AS_OF, history=FERRY_TALK))
    assert a.question_type == "open" and not a.abstained, a.answer
    assert {c.hit.title for c in a.citations if c.cited} == {"Harbor ferry crews strike over pay"}

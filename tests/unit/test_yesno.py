"""Yes/no questions: "Yes" with the sentence that says so, "No" only where a source states
the opposite (a negation, a change the other way, a lower rank), otherwise no answer — with
fake models over short articles written for the tests."""

from __future__ import annotations

import pytest

from retrieval.check.subject import about_subject
from retrieval.options import AskOptions
from tests.fakes import FakeGenerator
from tests.fixtures.kinds import AS_OF, one_article, open_with


def test_yes_answer_with_its_sentence(archive):
    reply = "Answer: Yes [1]\nSentence: Admission is free for children under 12 [1]."
    rag, gen = open_with(archive, reply)
    a = rag.ask("Is the glass museum free for children?", AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno" and not a.abstained, a
    assert a.short_answer == "yes"
    assert a.answer.startswith("Yes. Admission is free for children under 12 [")
    assert "Yes or No" in gen.calls[-1][0]["content"]


def test_a_yes_shows_the_one_sentence_that_says_so(archive):
    reply = (
        "Sentence: A museum of glass art opened on Saturday in Port Avalon's former rail "
        "depot, with 300 pieces lent by collector Irene Vasquez. Admission is free for children "
        "under 12 [1].\nAnswer: Yes"
    )
    rag, _ = open_with(archive, reply)
    a = rag.ask("Is the glass museum free for children?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer
    assert a.answer.startswith("Yes. Admission is free for children under 12 ["), a.answer
    assert "Vasquez" not in a.answer and len(a.claims) == 1


def test_no_needs_a_source_that_says_so(archive):
    silent = "Answer: No [1]\nSentence: The museum opened in the former rail depot [1]."
    rag, _ = open_with(archive, silent)
    a = rag.ask("Did the glass museum open in the former rail depot late?", AskOptions(as_of=AS_OF))
    assert a.abstained  # nothing in the sentence says "not"


@pytest.mark.parametrize("negated", ["did not", "didn’t", "didn't"])  # a curly apostrophe too
def test_a_no_rests_on_a_sentence_that_says_not(archive, negated):
    stated = f"Answer: No [1]\nSentence: The company {negated} offer a new date for talks [1]."
    rag, _ = open_with(archive, stated)
    a = rag.ask(
        "Did Bayline offer a new date for talks with the ferry crews?", AskOptions(as_of=AS_OF)
    )
    assert not a.abstained and a.short_answer == "no", a.answer


def test_a_yes_over_a_source_that_says_the_opposite_becomes_its_no(archive):
    reply = "Answer: Yes [1]\nSentence: Bayline offered a new date for talks [1]."
    rag, _ = open_with(archive, reply)
    a = rag.ask(
        "Did Bayline offer a new date for talks with the ferry crews?", AskOptions(as_of=AS_OF)
    )
    assert not a.abstained and a.short_answer == "no"
    assert a.answer.startswith("No. The company did not offer a new date for talks [")


def test_yes_no_reply_quoting_its_sentence_first(archive):
    """The yes/no prompt asks for the deciding sentence before the verdict."""
    reply = "Sentence: Admission is free for children under 12. [1]\nAnswer: Yes"
    rag, gen = open_with(archive, reply)
    a = rag.ask("Is the glass museum free for children?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer
    # the copied full stop does not leave a citation standing alone ("… 12. [1].")
    assert a.answer.startswith("Yes. Admission is free for children under 12 [")
    assert a.answer.count("[") == 1
    assert gen.calls[-1][2]["content"].startswith("Sentence:")  # the examples show the order


def test_a_yes_resting_on_what_could_happen_abstains(archive, tmp_path):
    rag = one_article(
        tmp_path,
        "Millbrook braces for record heat",
        "Forecasters said Millbrook could see its hottest day on record on Friday.",
        "Answer: Yes [1]\nSentence: Millbrook could see its hottest day on record on Friday [1].",
    )
    a = rag.ask("Was Friday Millbrook's hottest day on record?", AskOptions(as_of=AS_OF))
    assert a.abstained and a.abstain_reason == "unsupported", a.answer
    # asked as a possibility, the same sentence answers
    a = rag.ask("Could Millbrook see its hottest day on record?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer


def test_a_hedge_reaches_its_clause_only(tmp_path):
    """A "would" in a relative clause hedges what that clause says, not the rest."""
    body = (
        "In the historically rainy town of Millbrook, residents rejected a plan that would "
        "have allowed a new reservoir on the river."
    )
    rag = one_article(
        tmp_path,
        "Millbrook votes down reservoir plan",
        body,
        f"Answer: Yes [1]\nSentence: {body[:-1]} [1].",
    )
    a = rag.ask("Is Millbrook a historically rainy town?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer
    # the clause the hedge is in is no "Yes"
    a = rag.ask("Did Millbrook get a new reservoir on the river?", AskOptions(as_of=AS_OF))
    assert a.short_answer != "yes", a.answer


def test_the_sentence_closest_to_the_question_decides_not_a_negation_nearby(archive):
    """A "Yes" stands when the quoted sentence that matches the question is affirmative,
    whatever a neighbouring sentence negates."""
    reply = (
        "Answer: Yes [1]\nSentence: Bayline cancelled all 46 daily crossings and told "
        "commuters to use the coastal bridge. The company did not offer a new date for "
        "talks [1]."
    )
    rag, _ = open_with(archive, reply)
    a = rag.ask(
        "Did Bayline cancel all 46 daily crossings during the strike?", AskOptions(as_of=AS_OF)
    )
    assert not a.abstained and a.short_answer == "yes", a.answer


@pytest.mark.parametrize(
    ("reply", "answered"),
    [
        # the question put as a statement, over a source on the harbor's own boats
        (
            "Answer: Yes [1]\nSentence: The navy sent boats to Port Avalon during the strike [1].",
            False,
        ),
        ("Answer: No [1]\nSentence: The navy did not send boats to Port Avalon [1].", False),
        # the source's own words, though they are the question's too
        ("Answer: Yes [1]\nSentence: Harbor boats carried commuters during the strike [1].", True),
    ],
)
def test_a_yes_no_sentence_that_only_echoes_the_question_is_no_evidence(tmp_path, reply, answered):
    rag = one_article(
        tmp_path,
        "Ferry strike in Port Avalon",
        "Bayline cancelled its ferry crossings as its crews struck over pay.\n\n"
        "Harbor boats carried commuters to Port Avalon during the strike, and the navy's "
        "ships stayed at their base, the harbor master said.",
        reply,
    )
    q = "Did the navy send boats to Port Avalon during the strike?"
    if answered:
        q = "Did harbor boats carry commuters during the strike?"
    a = rag.ask(q, AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert a.abstained is not answered, a.answer
    if not answered:
        assert a.abstain_reason == "unsupported", a.answer


def test_each_name_of_a_yes_no_question_must_be_in_its_sentence():
    from retrieval.check.subject import name_runs

    q = "Has the Justice Department sued to block the JetBlue-Spirit deal?"
    assert [sorted(r) for r in name_runs(q)] == [["depar", "justi"], ["jetbl"], ["spiri"]]
    said = ["The Justice Department sued to block an alliance between American and JetBlue."]
    assert not about_subject(q, said, all_names=False)  # Spirit is in no sentence
    # one word of a name is enough for a sentence ("Hernandez" for "Rodolfo Hernandez")
    assert about_subject(
        "Did Rodolfo Hernandez concede the election?",
        ["Hernandez conceded the election on Sunday."],
        all_names=False,
    )


def test_a_yes_no_reply_cut_before_its_verdict_is_finished():
    from retrieval.answer.reading import verdict_line
    from retrieval.models.base import OPENED_REPLY

    class Continues(FakeGenerator):
        capabilities = frozenset({OPENED_REPLY})

        def stream(self, messages, max_new_tokens=None, cancel=None, opening=""):
            self.calls.append(messages)
            self.opening = opening
            yield " No"

    gen = Continues()
    cut = "Sentence: The company did not offer a new date for talks [1]."
    raw = verdict_line(gen, [{"role": "user", "content": "q"}], cut, None)
    assert gen.opening == f"{cut}\nAnswer:"
    assert raw.endswith("Answer: No")
    finished = f"{cut}\nAnswer: Yes"
    assert verdict_line(gen, [], finished, None) == finished  # nothing to finish
    assert verdict_line(FakeGenerator(), [], cut, None) == cut  # cannot continue a reply


@pytest.mark.parametrize(
    "question, quoted, answered",
    [
        # The sentence says "the quake": its article's title names which one.
        (
            "Did the Port Avalon earthquake trigger landslides?",
            "The quake triggered landslides",
            True,
        ),
        # The sentence names Bayline and not Kestrel: it is about Bayline's other deal,
        # whatever the title says.
        (
            "Did Bayline sign the Kestrel deal?",
            "Bayline signed a fuel deal with Northport",
            False,
        ),
    ],
)
def test_a_yes_sentence_may_lean_on_its_title_for_names_it_gives_none_of(
    tmp_path, question, quoted, answered
):
    rag = one_article(
        tmp_path,
        "Port Avalon earthquake: Bayline and Kestrel ferries halted",
        "The quake triggered landslides across the harbor road on Tuesday.\n\n"
        "Bayline signed a fuel deal with Northport last year.\n\n"
        "Kestrel said its own talks go on.",
        f"Sentence: {quoted} [1].\nAnswer: Yes",
    )
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert (not a.abstained and a.short_answer == "yes") == answered, a.answer


@pytest.mark.parametrize(
    "reply, answer",
    [
        # The reader quotes a sentence that does not answer and says "Yes": the shown
        # sentence that says otherwise in so many words answers.
        (
            "Sentence: Bayline cancelled all 46 daily crossings and told commuters to use "
            "the coastal bridge [1].\nAnswer: Yes",
            "No. The company did not offer a new date for talks [",
        ),
        # The reader found no answer: a negation among the sources is no "No".
        ("I don't know.", "I don't know"),
    ],
)
def test_a_shown_sentence_that_says_otherwise_answers_no(archive, reply, answer):
    rag, _ = open_with(archive, reply)
    a = rag.ask("Did the ferry company offer a new date for talks?", AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert a.answer.startswith(answer), a.answer
    assert (a.short_answer == "no") == answer.startswith("No.")
    if a.short_answer == "no":
        cited = [c for c in a.citations if c.cited]
        assert [c.hit.article_id for c in cited] == ["ferry-strike"] and cited[0].supported


@pytest.mark.parametrize(
    ("question", "body", "quoted", "short"),
    [
        # the opposite change answers "No" ...
        (
            "Did Millbrook use more water in May than in April?",
            "Millbrook used 40 million gallons in May, a 12 percent decrease from April.",
            "Millbrook used 40 million gallons in May, a 12 percent decrease from April",
            "no",
        ),
        (
            "Is the drought in Millbrook easing?",
            "The drought in Millbrook is worsening, the council said.",
            "The drought in Millbrook is worsening, the council said",
            "no",
        ),
        # ... and so does a rank below the first for the question's superlative
        (
            "Was Friday Millbrook's hottest day on record?",
            "Friday was Millbrook's third hottest day on record.",
            "Friday was Millbrook's third hottest day on record",
            "no",
        ),
        # a change the same way in other words is a "Yes", its question words found
        (
            "Will Millbrook have to cut its river water use?",
            "Millbrook will have to reduce its river intake by a fifth from June.",
            "Millbrook will have to reduce its river intake by a fifth from June",
            "yes",
        ),
        # a bound on a quantity is no change ("less than" a number)
        (
            "Will families in Millbrook get more water credits?",
            "Families in Millbrook earning less than $50,000 will get more water credits.",
            "Families in Millbrook earning less than $50,000 will get more water credits",
            "yes",
        ),
        (
            "Will families in Millbrook get more water credits?",
            "Families in Millbrook earning less than $50,000 will get water credits twice.",
            "Families in Millbrook earning less than $50,000 will get water credits twice",
            "yes",
        ),
        # a negation reaches as far as its clause: "… – but it was not the highest price"
        # does not deny five dollars
        (
            "Did gas reach five dollars a gallon for the first time?",
            "Gas reached five dollars a gallon for the first time on Saturday – but it was not "
            "the highest price once inflation is counted.",
            "Gas reached five dollars a gallon for the first time on Saturday",
            "yes",
        ),
        # a question's word said as a synonym ("help" — "assistance")
        (
            "Did the Millbrook council ask for help?",
            "The Millbrook council sought assistance from the state as the reservoir fell.",
            "The Millbrook council sought assistance from the state as the reservoir fell",
            "yes",
        ),
    ],
)
def test_the_verdict_of_a_quoted_sentence(tmp_path, question, body, quoted, short):
    """A change the other way or a lower rank answers "No" as a negation does; a negation in
    another clause, a bound on a quantity or a synonym does not stop a "Yes"."""
    rag = one_article(
        tmp_path, "Millbrook water news", body, f"Sentence: {quoted} [1].\nAnswer: Yes"
    )
    a = rag.ask(question, AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert not a.abstained and a.short_answer == short, a.answer
    assert a.answer.startswith(f"{short.capitalize()}. {quoted}"), a.answer


def test_what_ends_like_a_superlative_is_no_rank():
    from retrieval.check.polarity import opposed as _opposed

    assert _opposed("Is Millbrook the most expensive town?", "the second most expensive town")
    assert _opposed("Is it the best beach?", "the 2nd best beach")
    assert not _opposed("Was the protest peaceful?", "The second protest was peaceful.")
    assert not _opposed("Did the forest burn?", "A second forest burned.")
    # asked about the rank itself, or said unranked besides, it is no other rank
    assert not _opposed("Was it the second hottest day?", "It was the second hottest day.")
    assert not _opposed(
        "Is it the busiest port?", "It is the busiest port; its twin is the second busiest port."
    )


def test_synonyms_of_a_words_common_senses():
    """WordNet's synonyms of a word's common senses: "help" is "assistance"; a rare sense
    ("cut" as "edit") is not."""
    from retrieval.lang.synonyms import synonyms

    assert "assistance" in synonyms("help") and "seek" in synonyms("sought")
    assert "reduce" in synonyms("cut") and "edit" not in synonyms("cut")
    assert "moon" not in synonyms("astronauts")


def test_a_negation_denies_only_what_follows_it(tmp_path):
    """ "Traditionally dry Millbrook … denied its council the power" does not deny that
    Millbrook is dry: a negation reaches forward to what it negates."""
    sentence = (
        "Traditionally dry Millbrook, given the chance at the ballot box, denied its council "
        "the power to sell more water"
    )
    rag = one_article(
        tmp_path,
        "Millbrook votes on water",
        f"{sentence}.",
        f"Sentence: {sentence} [1].\nAnswer: Yes",
    )
    a = rag.ask("Is Millbrook a traditionally dry town?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer
    # nor does a denial reach a word far after it
    sentence = (
        "In traditionally dry Millbrook, voters rejected selling the reservoir's water "
        "to large farms outside the town"
    )
    rag = one_article(
        tmp_path / "far",
        "Millbrook votes on water",
        f"{sentence}.",
        f"Sentence: {sentence} [1].\nAnswer: Yes",
    )
    a = rag.ask("Is Millbrook a traditionally dry town?", AskOptions(as_of=AS_OF))
    assert not a.abstained and a.short_answer == "yes", a.answer


def test_another_name_of_a_country_is_its_name():
    q = "Would the merger make it the largest airline in the US?"
    assert about_subject(q, ["The merger would create America's largest airline."])
    assert not about_subject(q, ["The merger would create Canada's largest airline."])
    # a name that is also a word is no other word WordNet gives it
    q = "Did Spirit change its tone on the merger?"
    assert not about_subject(q, ["The airline's tone on the merger changed on Monday."])


@pytest.mark.parametrize("stop", ["", "."])
def test_a_sentence_copied_with_its_full_stop_is_cited_once(archive, stop):
    reply = f"Sentence: Admission is free for children under 12. [1]{stop}\nAnswer: Yes"
    rag, _ = open_with(archive, reply)
    a = rag.ask("Is the glass museum free for children?", AskOptions(as_of=AS_OF))
    assert a.answer == "Yes. Admission is free for children under 12 [1].", a.answer


@pytest.mark.parametrize(
    ("before", "answered"),
    [
        # "Neither airline" is Kestrel and Bayline, named in the sentence before it
        ("A Kestrel-Bayline merger would have joined two airlines with very low fares.", True),
        # nothing before it names Kestrel: the sentence is about other airlines
        ("A Northport-Bayline merger would have joined two airlines with very low fares.", False),
    ],
)
def test_a_no_may_lean_on_the_sentence_before_it_for_its_names(tmp_path, before, answered):
    rag = one_article(
        tmp_path,
        "Budget carriers weigh their futures",
        "Fares rose across the region this spring.\n\n"
        f"{before} Neither airline has first class or business class seats.\n\n"
        "Kestrel reached out to travel agents for comment.",
        "Sentence: Kestrel reached out to travel agents for comment [1].\nAnswer: No",
    )
    a = rag.ask("Does Kestrel offer business class seats?", AskOptions(as_of=AS_OF))
    assert a.question_type == "yesno"
    assert (a.answer.startswith("No. Neither airline") and a.short_answer == "no") == answered, (
        a.answer
    )

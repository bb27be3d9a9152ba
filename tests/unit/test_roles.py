"""The lexical checks' reading of names and words: the office a named answer holds
(`retrieval.roles`) and hyphenated prefixes (`retrieval.verify.content_words`)."""

from __future__ import annotations

import pytest

SEED_LIKE = (
    "The attack follows President Ilham Aliyev's reelection. Prime Minister Nikol "
    "Pashinyan's popularity has declined, and Defence Minister Suren Papikyan visited the border."
)


@pytest.mark.parametrize(
    ("question", "short", "conflict"),
    [
        # Every mention of the answer carries another office than the one asked for.
        ("What is the name of Armenia's defence minister?", "Nikol Pashinyan", True),
        ("Who is the president of Azerbaijan?", "Nikol Pashinyan", True),
        ("Who is Armenia's foreign minister?", "Suren Papikyan", True),
        # The office asked for, in any spelling of its qualifier.
        ("Who is Armenia's defense minister?", "Suren Papikyan", False),
        ("Who is Armenia's prime minister?", "Pashinyan", False),
        ("Who was recently re-elected president of Azerbaijan?", "Ilham Aliyev", False),
        ("Who is the President of Azerbaijan?", "Ilham Aliyev", False),
        # Questions that ask about what an office holder did, not who holds the office.
        ("Who did President Aliyev blame?", "Nikol Pashinyan", False),
        ("Who did the president blame?", "Nikol Pashinyan", False),
        ("Whose popularity has declined?", "Nikol Pashinyan", False),
    ],
)
def test_a_named_answer_must_hold_the_office_asked_about(question, short, conflict):
    from retrieval.roles import role_conflict
    from retrieval.verify import short_is_supported

    assert role_conflict(short, SEED_LIKE, question) is conflict
    if conflict:
        assert not short_is_supported(short, SEED_LIKE, question)


def test_an_untitled_mention_leaves_the_office_undecided():
    from retrieval.roles import role_conflict

    # One mention without a title: the source does not say which office the person holds.
    src = "Prime Minister Nikol Pashinyan spoke. Later, Nikol Pashinyan met the defence chiefs."
    assert not role_conflict("Nikol Pashinyan", src, "Who is Armenia's defence minister?")
    # An answer that is not a name is never judged by office.
    assert not role_conflict("four", SEED_LIKE, "Who is the defence minister?")


def test_a_hyphenated_prefix_is_the_same_word_written_either_way():
    from retrieval.verify import lexical_support
    from retrieval.words import content_words

    assert content_words("after whose re-election?") == ["whose", "reelection"]
    assert lexical_support("re-election", "President Aliyev's reelection") == 1.0
    # Only prefixes join: a compound keeps its parts ("Syunik-based" mentions Syunik).
    assert content_words("Syunik-based troops") == ["syunik", "based", "troops"]


CASUALTIES = (
    "Armenia has reported that four soldiers were killed and another wounded. Police said "
    "12 people were injured, and at least 1,200 people were killed in the region this year. "
    "Fifteen hostages were rescued."
)


@pytest.mark.parametrize(
    ("question", "short", "conflict"),
    [
        # The count the source gives to another outcome than the one asked about.
        ("How many soldiers were wounded in the incident?", "Four", True),
        ("How many soldiers were wounded in the incident?", "4", True),
        ("How many people were hurt?", "1,200", True),
        ("How many people died this year?", "12", True),
        ("How many hostages were killed?", "15", True),  # a count spelled out past twelve
        # The count of the outcome asked about, in any form of its word.
        ("How many Armenian soldiers were killed?", "four", False),
        ("How many soldiers died?", "4", False),
        ("How many people were injured?", "12", False),
        # Nothing asked about an outcome, or the scene set before the asking sentence.
        ("How many soldiers were there?", "four", False),
        ("Soldiers were wounded. How many soldiers were there?", "four", False),
        # A count the source never ties to an outcome in its clause: silent.
        ("How many people were injured?", "3", False),
        ("How many people were there?", "1,200", False),
    ],
)
def test_a_count_must_be_of_the_outcome_asked_about(question, short, conflict):
    from retrieval.roles import outcome_conflict

    assert outcome_conflict(short, CASUALTIES, question) is conflict


def test_a_count_of_another_outcome_is_not_support():
    from retrieval.verify import short_is_supported

    src = (
        "Border clash claims lives of four Armenian soldiers.\nArmenia has reported that four "
        "soldiers were killed and another wounded on its border."
    )  # the title (shown with the text) names the count without an outcome word
    assert short_is_supported("four", src, "How many Armenian soldiers were killed?")
    assert not short_is_supported("Four", src, "How many soldiers were wounded on the border?")
    # Another place giving the count the outcome asked about supports it.
    both = src + " Four others were wounded."
    assert short_is_supported("Four", both, "How many soldiers were wounded on the border?")


GROUPS = (
    "Border clash claims lives of four Armenian soldiers.\nArmenia has reported that four "
    "soldiers were killed. Two Russian peacekeepers were hurt, and 300 Baku officials met."
)


@pytest.mark.parametrize(
    ("question", "short", "conflict"),
    [
        # The count the source gives to another named group than the one asked about.
        ("How many Azerbaijani soldiers were killed?", "4", True),
        ("How many Iranian peacekeepers were hurt?", "two", True),
        # The group asked about, under any of its names (Baku is Azerbaijan's government).
        ("How many Armenian soldiers were killed?", "four", False),
        ("How many Moscow peacekeepers were hurt?", "2", False),
        ("How many Azerbaijani officials met?", "300", False),
        # No group named, a count given to nobody named, an acronym: nothing decided.
        ("How many soldiers were killed?", "four", False),
        ("How many Azerbaijani soldiers died?", "12", False),
        ("How many US soldiers were killed?", "4", False),
    ],
)
def test_a_count_must_be_of_the_group_asked_about(question, short, conflict):
    from retrieval.roles import group_conflict

    assert group_conflict(short, GROUPS, question) is conflict


def test_a_group_named_without_its_noun_decides_nothing():
    from retrieval.roles import group_conflict

    # "Huguenots were": no noun counted after the name; another name for the same people.
    src = "Nearly 3,000 Protestants were slaughtered in Toulouse alone."
    assert not group_conflict("3,000", src, "How many Huguenots were slain in Toulouse?")


def test_a_count_of_another_group_is_not_support():
    from retrieval.verify import short_is_supported

    assert short_is_supported("four", GROUPS, "How many Armenian soldiers were killed?")
    assert not short_is_supported("Four", GROUPS, "How many Azerbaijani soldiers were killed?")

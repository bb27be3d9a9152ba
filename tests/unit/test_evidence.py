"""Evidence selection: the sentences that answer, packed per article within a budget."""

from __future__ import annotations

from datetime import date

from retrieval.find.evidence import (
    EvidenceConfig,
    EvidenceSelector,
    approx_tokens,
    candidate_sentences,
    is_boilerplate,
)
from retrieval.types import Hit
from tests.fakes import FakeEmbedder


def hit(cid: int, article: str, text: str, published: date | None = None) -> Hit:
    return Hit(cid, article, f"Title {article}", published, None, None, text, 0.5)


FILLER = " ".join(f"Sentence number {i} says nothing much about it." for i in range(12))


def test_boilerplate_and_fragments_are_dropped():
    assert is_boilerplate("1. How relevant is this ad to you?")
    assert is_boilerplate("Video player was slow to load content")
    assert is_boilerplate("Read more.")
    assert not is_boilerplate("Armenia now views France and India as its main arms suppliers.")
    assert is_boilerplate("Subscribe to the newsletter here or text messages here.")
    # news about subscribers is news
    assert not is_boilerplate("Netflix said it lost 200,000 subscribers in the first quarter.")


def test_repeated_sentences_count_once():
    text = "Four soldiers were killed at the border. Another one was wounded there."
    sents, _ = candidate_sentences([hit(1, "a", text), hit(2, "a", text), hit(3, "b", text)])
    assert [s.text for s in sents] == text.replace(". ", ".\n").split("\n")


def test_the_answering_sentence_comes_first_with_its_context():
    body = (
        f"{FILLER} Armenia has distanced itself from Russia. "
        f"The country now views France and India as its primary arms suppliers. {FILLER}"
    )
    sel = EvidenceSelector(FakeEmbedder(), EvidenceConfig(budget_tokens=60))
    sources = sel.select("Which countries are Armenia's arms suppliers?", [hit(1, "a", body)])
    assert len(sources) == 1
    text = sources[0].text
    assert text.startswith("Armenia has distanced itself from Russia. The country now views")
    assert approx_tokens(text) <= 60 + 15  # the budget, give or take the last sentence
    assert "evidence" in sources[0].scores


def test_one_source_per_article_at_most_max_sources():
    hits = [
        hit(i, f"art{i % 7}", f"Soldiers were killed at the border in clash {i}. {FILLER}")
        for i in range(14)
    ]
    sources = EvidenceSelector(FakeEmbedder()).select("soldiers killed border", hits, 3)
    assert len(sources) == 3
    assert len({s.article_id for s in sources}) == 3


def test_the_gate_still_reads_the_best_dense_score_of_the_article():
    a = hit(1, "a", "Four soldiers were killed at the border. " + FILLER)
    b = hit(2, "a", FILLER)
    b.score = 0.9
    sources = EvidenceSelector(FakeEmbedder()).select("soldiers killed", [a, b])
    assert sources[0].score == 0.9


def test_each_source_carries_its_sentence_closest_in_meaning():
    a = hit(1, "a", "Four soldiers were killed at the border. " + FILLER)
    sources = EvidenceSelector(FakeEmbedder()).select("soldiers killed border", [a])
    closest = sources[0].scores["sentence_dense"]
    assert 0.5 < closest <= 1.0  # the first sentence, not the filler
    assert (
        closest > EvidenceSelector(FakeEmbedder()).select("zebra", [a])[0].scores["sentence_dense"]
    )


def test_disabled_selection_returns_the_chunks():
    hits = [hit(i, f"a{i}", f"Text {i} about soldiers.") for i in range(8)]
    sel = EvidenceSelector(FakeEmbedder(), EvidenceConfig(enabled=False))
    assert sel.select("soldiers", hits, 5) == hits[:5]


def test_each_option_gets_its_best_sentence_shown():
    # The budget holds two sentences; the question's words pull in the filler about the
    # summit, but each option's own sentence is shown first.
    body = (
        "The summit in Geneva was about trade and tariffs on steel. "
        "The summit also discussed trade in grain and tariffs on cars. "
        "Officials said Paris would host the next round. "
        "A spokesman later mentioned Lisbon as a fallback venue."
    )
    sel = EvidenceSelector(FakeEmbedder(), EvidenceConfig(budget_tokens=30, neighbours=0, after=0))
    q = "Which city was chosen for the coming trade summit on tariffs?"
    plain = sel.select(q, [hit(1, "a", body)])[0].text
    assert "Paris" not in plain and "Lisbon" not in plain
    shown = sel.select(q, [hit(1, "a", body)], mentions=["Paris", "Lisbon", "Madrid"])[0].text
    assert "Paris would host" in shown and "Lisbon as a fallback" in shown
    assert "Madrid" not in shown  # an option no candidate names adds nothing

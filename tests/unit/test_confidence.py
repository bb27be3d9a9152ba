"""Answer confidence: the features, the fitted calibration, and abstaining below it."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from retrieval.answer.prompt import NO_ANSWER_OPENINGS
from retrieval.check.confidence import (
    DEFAULT_PATH,
    FEATURES,
    Calibration,
    answer_similarity,
    calibration_for,
    coverage,
    features,
)
from retrieval.check.constraints import unmet_constraints
from retrieval.check.verify import as_shown
from retrieval.models.base import CHOICE_SCORES, OPENED_REPLY
from retrieval.options import PipelineConfig
from retrieval.types import Citation, Hit
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag


def _cit(text: str, score: float = 0.6) -> Citation:
    return Citation(1, Hit(1, "a", "T", None, None, None, text, score, {"evidence": 0.8}), True)


def test_features_describe_the_answer_and_its_evidence():
    src = "Armenia has reported that four soldiers were killed at the border."
    emb = FakeEmbedder()
    f = features("How many soldiers were killed?", "four", [_cit(src)], -0.3, -2.5, emb)
    assert set(f) == set(FEATURES) and f["no_answer_margin"] == -2.5
    assert f["top_dense"] == 0.6 and f["top_evidence"] == 0.8
    assert f["short_in_source"] == 1.0 and f["in_context"] == 1.0
    assert f["coverage"] == 1.0 and f["answer_logprob"] == -0.3
    off = features("What is the population of Azerbaijan?", "3,000,000", [_cit(src)], -2.0)
    assert off["short_in_source"] == 0.0 and off["coverage"] < 1.0
    assert coverage("zebra quantum", [_cit(src)]) == 0.0


def test_the_answers_sentence_is_compared_with_the_question_in_meaning():
    """The passage the answer occurs in (its sentence and the ones either side), not the best
    one, is held against the question, and its own sentence against the question followed by
    the answer: the right span sits where the source reads like the question."""
    src = (
        "Armenia has reported that four soldiers were killed at the border. "
        "The government met on Monday. "
        "Talks on a peace treaty resumed in May after two years."
    )
    emb, q = FakeEmbedder(), "How many soldiers were killed at the border?"
    near = answer_similarity(emb, q, "four", [src])
    far = answer_similarity(emb, q, "two years", [src])
    assert near[0] > far[0] > 0.0 and near[1] > far[1]
    assert answer_similarity(emb, q, "Lyon", [src]) == (0.0, 0.0)  # in no sentence
    assert answer_similarity(emb, q, "the", [src]) == (0.0, 0.0)  # no words of its own
    f = features(q, "four", [_cit(src)], -0.3, embedder=emb)
    shown = as_shown(_cit(src).hit, q)  # as the model read it: under its title
    assert (f["place_similarity"], f["statement_similarity"]) == pytest.approx(
        answer_similarity(emb, q, "four", [shown])
    )
    assert "place_similarity" not in features(q, "four", [_cit(src)], -0.3)  # no embedder


def test_answer_coverage_tells_the_asked_role_from_a_neighbouring_one():
    """The words around the answer must be the question's: a prime minister's name does not
    answer a question about the defence minister, though the two share most words."""
    src = (
        "Prime Minister Nikol Pashinyan has seen his popularity fall. Armenia reported that "
        "four soldiers were killed and another wounded."
    )

    def cov(question: str, short: str) -> float:
        return features(question, short, [_cit(src)], -0.5)["answer_coverage"]

    assert cov("Who is Armenia's prime minister?", "Nikol Pashinyan") == 1.0
    assert cov("What is the name of Armenia's defence minister?", "Nikol Pashinyan") <= 0.5
    assert cov("How many Armenian soldiers were killed?", "four") == 1.0
    assert cov("How many soldiers were wounded?", "two") == 0.0  # not in the source at all


def test_an_unmet_number_name_or_negation_in_the_question_is_a_signal():
    """SQuAD 2.0's unanswerable questions are one-word edits of answerable ones: a changed
    year, another name, an added "not". The answer's passage must carry the question's
    numbers and names, and a negated question needs a negated passage; "which one" is not a
    number. (number, negation, name) unmet:"""
    schools = "As of April 2014, there are 88 private schools in New Zealand."
    asked = "As of 1970, how many private schools were in New Zealand?"
    assert unmet_constraints("88", schools, asked) == (True, False, False)
    met = schools.replace("April 2014", "1970")
    assert unmet_constraints("88", met, asked) == (False, False, False)
    ideologue = "The views of Ali Shariati, ideologue of the Iranian Revolution, spread."
    assert unmet_constraints("Ali Shariati", ideologue, "Who was not the ideologue?") == (
        False,
        True,
        False,
    )
    fell = "Ali Shariati was not the ideologue of the Revolution."
    negated = unmet_constraints("Ali Shariati", fell, "Who wasn't the ideologue?")
    assert negated == (False, False, False)
    # A neighbour's "not" is about something else: the answer's own sentence must be negated.
    beside = "The Revolution did not end at once. Ali Shariati was its ideologue."
    assert unmet_constraints("Ali Shariati", beside, "Who wasn't the ideologue?") == (
        False,
        True,
        False,
    )
    lyell = "Sir Charles Lyell first published his famous book, Principles of Geology, in 1830."
    darwin = "When was Charles Darwin's theory of evolution published?"
    assert unmet_constraints("1830", lyell, darwin) == (False, False, True)
    assert unmet_constraints("1830", lyell.replace("Lyell", "Darwin"), darwin) == (
        False,
        False,
        False,
    )
    killed = "Armenia said four soldiers were killed."
    assert unmet_constraints("four", killed, "Which one said 4 soldiers died?") == (
        False,
        False,
        False,
    )
    assert unmet_constraints("Paris", killed, "Who said 4 soldiers died?") is None
    scene = "Iran did not comment on the clash in 2023. Which one said 4 soldiers were killed?"
    assert unmet_constraints("four", killed, scene) == (False, False, False)  # the asking one
    f = features(asked, "88", [_cit(schools)], -0.3)
    assert f["number_unmet"] == 1.0 and f["negation_unmet"] == f["name_unmet"] == 0.0
    elsewhere = [_cit(schools), _cit(met)]
    assert features(asked, "88", elsewhere, -0.3)["number_unmet"] == 0.0  # one source meets it


def test_a_question_asking_with_the_opposite_word_is_unmet():
    """A question asking "smallest" where every place the answer occurs says "largest": the
    antonym edit of SQuAD 2.0 (a fifth of its unanswerable questions), counted with negation.
    The word itself, or a passage saying both, meets it; a question with both words asks
    nothing reversed."""
    met, reversed_ = (False, False, False), (False, True, False)

    def unmet(source: str, question: str) -> tuple[bool, bool, bool] | None:
        return unmet_constraints("Duisport", source, question)

    port = "Duisport is the largest inland port in Europe."
    assert unmet(port, "What is Europe's smallest inland port?") == reversed_
    assert unmet(port, "What is Europe's largest inland port?") == met
    both = "Duisport is the largest inland port in Europe, not the smallest."
    assert unmet(both, "What is Europe's smallest port?") == met
    assert unmet(port, "Is Duisport the largest or the smallest inland port?") == met
    # Only the asking sentence counts; the scene set before it may say anything.
    scene = "The smallest ports lost trade. Which inland port is Europe's largest?"
    assert unmet(port, scene) == met
    # A place is the answer's sentence and the one either side: one that has the word meets it.
    near = "Duisport is the largest inland port. Smaller ports lost trade; the smallest grew."
    assert unmet(near, "What is the smallest port?") == met


def test_each_preset_uses_its_own_calibration():
    """The model's own log-probability is a feature, so a calibration belongs to one model;
    presets without a fit of their own (tiny, local folders) fall back to small's."""
    assert DEFAULT_PATH.name == "calibration-small.json" and DEFAULT_PATH.is_file()
    assert calibration_for("small") == DEFAULT_PATH
    assert calibration_for("tiny") == DEFAULT_PATH
    assert calibration_for("/models/base") == DEFAULT_PATH  # a folder, not the preset
    assert calibration_for("base").name == "calibration-base.json"
    for preset in ("small", "base"):
        cal = Calibration.load(calibration_for(preset))
        assert cal is not None and 0.0 < cal.threshold < 1.0


def _index(path: Path) -> FakeEmbedder:
    """The API tests' articles indexed with the fake embedder (returned)."""
    from index.chunking import ChunkingParams
    from index.ingest import Indexer, open_or_create
    from index.parse import parse_text
    from tests.unit.test_api import ARTICLES

    emb = FakeEmbedder()
    store = open_or_create(path, emb, ChunkingParams(max_tokens=32, overlap_tokens=8))
    Indexer(store, emb).ingest_articles(parse_text(t) for t in ARTICLES)
    store.close()
    return emb


def test_low_confidence_answers_abstain(tmp_path):
    emb = _index(tmp_path / "idx")
    path = tmp_path / "cal.json"
    Calibration(
        coef=[5.0 if f == "answer_tokens" else 0.0 for f in FEATURES],
        intercept=0.0,
        mean=[0.0] * len(FEATURES),
        scale=[1.0] * len(FEATURES),
        threshold=0.5,
    ).save(path)  # confident only for long short answers: log(1 + words) > 0
    rag = make_newsrag(
        tmp_path / "idx",
        emb,
        FakeGenerator("Answer: Four [1]\nSentence: Four soldiers were killed [1]."),
        PipelineConfig(min_score=0.3, calibration_path=path, min_confidence=0.999),
    )
    answer = rag.ask("How many soldiers were killed at the border?")
    assert answer.abstained and answer.abstain_reason == "low_confidence"
    assert answer.confidence is not None and answer.confidence < 0.999
    assert answer.draft == "Four soldiers were killed [1]."
    rag.pipeline.judge.min_confidence = 0.0
    kept = rag.ask("How many soldiers were killed at the border?")
    assert not kept.abstained and kept.to_dict()["confidence"] == kept.confidence


class _Scripted(FakeGenerator):
    """Gives set scores for set choices (the reader's own signals: its doubt, its check) and
    records the prompt each was asked on."""

    def __init__(self, reply: str, scores: dict[tuple[str, ...], list[float]]) -> None:
        super().__init__(reply)
        self.scores = scores
        self.asked: dict[tuple[str, ...], list[dict[str, str]]] = {}

    def choice_scores(
        self, messages: list[dict[str, str]], choices: list[str], prefix: str = ""
    ) -> list[float]:
        if tuple(choices) in self.scores:
            self.asked[tuple(choices)] = messages
            return self.scores[tuple(choices)]
        return super().choice_scores(messages, choices, prefix)


class _Unscoring(FakeGenerator):
    capabilities = frozenset()


def test_the_readers_own_doubt_is_a_signal(tmp_path):
    """The margin of "I" over "Answer" as the first word of the reply, on the very prompt the
    answer was written from, reaches the features; a backend that cannot score leaves it out."""
    emb = _index(tmp_path / "idx")
    reply = "Answer: Four [1]\nSentence: Four soldiers were killed [1]."
    gen = _Scripted(reply, {tuple(NO_ANSWER_OPENINGS): [-0.2, -1.7]})
    rag = make_newsrag(tmp_path / "idx", emb, gen, PipelineConfig(min_confidence=0.0))
    answer = rag.ask("How many soldiers were killed at the border?")
    assert not answer.abstained
    assert answer.features["no_answer_margin"] == pytest.approx(1.5)
    # the prompt the answer was written from
    assert gen.asked[tuple(NO_ANSWER_OPENINGS)] == gen.calls[-1]
    rag.pipeline.generator = _Unscoring(gen.reply)
    answer = rag.ask("How many soldiers were killed at the border?")
    assert "no_answer_margin" not in answer.features
    # ... and a calibration counts a signal it does not get as average, not as doubt.
    cal = Calibration(
        coef=[-1.0], intercept=0.0, mean=[-2.0], scale=[1.0], features=["no_answer_margin"]
    )
    assert cal.score({}) == 0.5 < cal.score({"no_answer_margin": -3.0})


class _Declining(FakeGenerator):
    """Declines, unless its reply is made to open "Answer:"."""

    capabilities = frozenset({CHOICE_SCORES, OPENED_REPLY})

    def __init__(self) -> None:
        super().__init__()
        self.openings: list[str] = []
        self.written: list[str] = []

    def stream(self, messages, max_new_tokens=None, cancel=None, opening=""):
        self.calls.append(messages)
        self.openings = [*self.openings, opening]
        if not opening:
            yield "I don't know."
            return
        for piece in (" Four [1]", "\n", "Sentence: Four soldiers were killed [1]."):
            self.written.append(piece)
            yield piece


def test_a_declining_reader_is_made_to_answer_and_the_confidence_decides(tmp_path):
    """The reader declined with the answer in front of it (seed: the Zangezur corridor): its
    reply is made to open "Answer:" and the calibrated confidence, not the reader's goodwill,
    decides; with the confidence gate off, or a backend that cannot open a reply, it stays
    declined."""
    emb = _index(tmp_path / "idx")
    path = tmp_path / "cal.json"
    Calibration(
        coef=[1.0], intercept=0.0, mean=[0.0], scale=[1.0], features=["answer_tokens"]
    ).save(path)  # log(1 + 1 word) = 0.69 → 0.67
    gen = _Declining()
    config = PipelineConfig(min_score=0.3, calibration_path=path, min_confidence=0.5)
    rag = make_newsrag(tmp_path / "idx", emb, gen, config)
    question = "How many soldiers were killed at the border?"
    answer = rag.ask(question)
    assert not answer.abstained and answer.short_answer == "Four", answer.to_dict()
    assert gen.openings == ["", "Answer:"] and "reopen" in answer.timings_ms
    # Only the short answer's line of the forced reply is decoded, and it is what is shown.
    assert gen.written == [" Four [1]", "\n"] and answer.answer == "Four [1]."
    assert answer.confidence == pytest.approx(1 / (1 + math.exp(-math.log(2))), abs=1e-4)
    rag.pipeline.judge.min_confidence = 0.9  # the forced answer is not trusted enough
    doubted = rag.ask(question)
    assert doubted.abstained and doubted.abstain_reason == "low_confidence"
    text_only = _Unscoring("I don't know.")
    for gate, reopen, backend in ((0.0, True, gen), (0.5, False, gen), (0.5, True, text_only)):
        rag.pipeline.judge.min_confidence, rag.pipeline.generator = gate, backend
        rag.pipeline.config.reopen_declined = reopen
        gen.openings = []
        kept = rag.ask(question)
        assert kept.abstained and kept.abstain_reason == "model", (gate, reopen, backend)
        assert "Answer:" not in gen.openings

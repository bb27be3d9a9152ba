"""Answer confidence: the features, the fitted calibration, and abstaining below it."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

from retrieval.confidence import (
    DEFAULT_PATH,
    FEATURES,
    Calibration,
    answer_similarity,
    calibration_for,
    coverage,
    features,
)
from retrieval.generation import CHOICE_SCORES, OPENED_REPLY
from retrieval.pipeline import PipelineConfig
from retrieval.prompt import CHECK_QUESTION, NO_ANSWER_OPENINGS, YES_NO
from retrieval.types import Citation, Hit
from retrieval.verify import as_shown, unmet_constraints
from service.evals.calibrate import calibrate, choose_l2, fit_logistic, load_squad, reliability
from tests.fakes import FakeEmbedder, FakeGenerator, make_newsrag


def _cit(text: str, score: float = 0.6) -> Citation:
    return Citation(1, Hit(1, "a", "T", None, None, None, text, score, {"evidence": 0.8}), True)


def test_features_describe_the_answer_and_its_evidence():
    src = "Armenia has reported that four soldiers were killed at the border."
    emb = FakeEmbedder()
    f = features("How many soldiers were killed?", "four", [_cit(src)], -0.3, -2.5, 1.5, emb)
    assert set(f) == set(FEATURES) and f["no_answer_margin"] == -2.5 and f["self_check"] == 1.5
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


def test_a_capital_or_an_adjective_names_its_country():
    """News writes "Moscow asked" for "Russia called on", "the French" for France: a question
    naming one and a source naming the other meet the name constraint and the coverage; a
    country the source never names, in no form, still does not."""
    src = "Russia has called on both countries to exercise restraint in Karabakh."
    moscow = "What has Moscow asked both sides to do?"
    assert unmet_constraints("exercise restraint", src, moscow) == (False, False, False)
    kremlin = "What did the Kremlin call for in Karabakh?"
    assert unmet_constraints("restraint", src, kremlin) == (False, False, False)
    paris = "What has Paris asked both sides to do?"
    assert unmet_constraints("exercise restraint", src, paris) == (False, False, True)
    french = "The French government sent arms to Armenia."
    assert unmet_constraints("arms", french, "What did France send to Armenia?") == (
        False,
        False,
        False,
    )
    wide = features(moscow, "exercise restraint", [_cit(src)], -0.5)
    narrow = features(paris, "exercise restraint", [_cit(src)], -0.5)
    assert wide["answer_coverage"] > narrow["answer_coverage"]
    assert wide["coverage"] > narrow["coverage"]


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


def test_logistic_fit_separates_and_calibrates():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    p = 1 / (1 + np.exp(-(2 * x[:, 0] - 1)))
    y = (rng.random(400) < p).astype(float)
    w = fit_logistic(x, y)
    assert w[1] > 1.0 and abs(w[2]) < 0.5  # the informative feature, not the noise
    fitted = 1 / (1 + np.exp(-(w[0] + x @ w[1:])))
    _, ece = reliability(list(fitted), list(y.astype(int)))
    assert ece < 0.1


def test_the_penalty_is_chosen_by_cross_validation():
    """Many noise signals and few rows: cross-validation picks a strong penalty; one clean
    signal and many rows: a weak one."""
    rng = np.random.default_rng(3)
    noisy = rng.normal(size=(60, 10))
    y = (rng.random(60) < 1 / (1 + np.exp(-0.5 * noisy[:, 0]))).astype(float)
    assert choose_l2(noisy, y) >= 10
    clean = rng.normal(size=(2000, 1))
    y = (rng.random(2000) < 1 / (1 + np.exp(-4 * clean[:, 0]))).astype(float)
    assert choose_l2(clean, y) <= 1


def _squad_rows(path: Path, n: int, start: int = 0) -> None:
    rng = np.random.default_rng(1 + start)
    with open(path, "w") as fh:
        for i in range(start, start + n):
            impossible = i % 2 == 1
            good = not impossible and rng.random() < 0.8
            feats = {f: 0.0 for f in FEATURES}
            feats["in_context"] = float(good or rng.random() < 0.2)
            feats["answer_logprob"] = float(rng.normal(-0.5 if good else -2.0, 0.5))
            rec = {
                "id": f"q{i}",
                "impossible": impossible,
                "abstained": False,
                "reason": None,
                "draft": "Paris" if good else "Lyon",
                "answers": [] if impossible else ["Paris"],
                "features": feats,
            }
            fh.write(json.dumps(rec) + "\n")


def test_calibrate_writes_a_file_the_pipeline_loads(tmp_path):
    _squad_rows(tmp_path / "squad.jsonl", 400)
    out = tmp_path / "calibration.json"
    report = calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "report")
    cal = Calibration.load(out)
    assert cal is not None and 0.05 <= cal.threshold <= 0.95
    assert report["holdout"]["abstained_unanswerable"] >= 80
    assert report["holdout"]["answered_answerable"] >= 60
    assert report["ece"] < 0.15
    assert (tmp_path / "report" / "calibration.png").exists()
    good = {f: 0.0 for f in FEATURES} | {"in_context": 1.0, "answer_logprob": -0.4}
    bad = {f: 0.0 for f in FEATURES} | {"answer_logprob": -2.5}
    assert cal.score(good) > cal.threshold > cal.score(bad)


def test_calibrate_measures_a_candidate_signal(tmp_path):
    """A signal the pipeline does not compute yet (bench/self_check.py) is fitted by name: the
    file lists it, and an answer is scored on it."""
    _squad_rows(tmp_path / "squad.jsonl", 400)
    rows = [json.loads(line) for line in (tmp_path / "squad.jsonl").read_text().splitlines()]
    for r in rows:
        right = not r["impossible"] and r["draft"] == "Paris"
        r["features"] = {f: 0.0 for f in FEATURES} | {"extra": 2.0 if right else -2.0}
    (tmp_path / "squad.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    out = tmp_path / "cal.json"
    report = calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "r", (*FEATURES, "extra"))
    cal = Calibration.load(out)
    assert cal is not None and cal.features == [*FEATURES, "extra"]
    assert report["holdout"]["answered_answerable"] >= 70
    assert report["holdout"]["abstained_unanswerable"] == 100
    assert cal.score({"extra": 2.0}) > cal.threshold > cal.score({"extra": -2.0})


def test_calibrate_fits_the_signals_every_answer_carries(tmp_path):
    """A run made before a signal existed fits without it (rather than reading its absence as
    zero); once every fitting answer carries it, it is fitted."""
    _squad_rows(tmp_path / "squad.jsonl", 200)
    rows = [json.loads(line) for line in (tmp_path / "squad.jsonl").read_text().splitlines()]
    rows[0]["features"].pop("self_check")
    (tmp_path / "old.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    old = calibrate([tmp_path / "old.jsonl"], [], tmp_path / "old.json", tmp_path / "r1")
    assert "self_check" not in old["features"] and "answer_logprob" in old["features"]
    new = calibrate([tmp_path / "squad.jsonl"], [], tmp_path / "new.json", tmp_path / "r2")
    cal = Calibration.load(tmp_path / "new.json")
    assert cal is not None and cal.uses("self_check") and new["features"] == list(FEATURES)


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


def test_squad_runs_pool_with_each_question_once(tmp_path):
    """Two samples (`eval squad --seed`) that overlap: the overlap is counted once."""
    _squad_rows(tmp_path / "a.jsonl", 300)
    _squad_rows(tmp_path / "b.jsonl", 300, start=200)  # q200..q299 in both
    one = calibrate([tmp_path / "a.jsonl"], [], tmp_path / "1.json", tmp_path / "r1")
    both = calibrate(
        [tmp_path / "a.jsonl", tmp_path / "b.jsonl"], [], tmp_path / "2.json", tmp_path / "r2"
    )
    held = sum(r["split"] == "holdout" for r in load_squad(tmp_path / "a.jsonl"))
    assert one["holdout_questions"] == held
    pooled = {r["id"]: r for p in ("a", "b") for r in load_squad(tmp_path / f"{p}.jsonl")}
    assert both["holdout_questions"] == sum(r["split"] == "holdout" for r in pooled.values())
    assert len(pooled) == 500


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
    rag.pipeline.min_confidence = 0.0
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


def test_the_reader_checks_its_answer_when_the_calibration_uses_it(tmp_path):
    """Asked as the turn after its answer, on the prompt the answer was written from (so a
    backend's cache serves it); computed only for a calibration that uses the signal."""
    emb = _index(tmp_path / "idx")
    reply = "Answer: Four [1]\nSentence: Four soldiers were killed [1]."
    gen = _Scripted(reply, {tuple(YES_NO): [-0.1, -2.6]})  # says Yes
    path = tmp_path / "cal.json"
    Calibration(coef=[1.0], intercept=0.0, mean=[0.0], scale=[1.0], features=["self_check"]).save(
        path
    )
    rag = make_newsrag(
        tmp_path / "idx", emb, gen, PipelineConfig(calibration_path=path, min_confidence=0.0)
    )
    answer = rag.ask("How many soldiers were killed at the border?")
    assert answer.features["self_check"] == pytest.approx(2.5)
    assert answer.confidence == pytest.approx(1 / (1 + np.exp(-2.5)), abs=1e-4)
    assert gen.asked[tuple(YES_NO)] == [
        *gen.calls[-1],
        {"role": "assistant", "content": "Answer: Four [1]"},
        {"role": "user", "content": CHECK_QUESTION},
    ]
    gen.asked.clear()
    rag.pipeline.calibration = Calibration(
        coef=[1.0], intercept=0.0, mean=[0.0], scale=[1.0], features=["answer_logprob"]
    )
    answer = rag.ask("How many soldiers were killed at the border?")
    assert "self_check" not in answer.features and tuple(YES_NO) not in gen.asked


def test_an_answer_near_the_threshold_gets_a_second_look(tmp_path):
    """Near the operating threshold the reader checks its answer on a checker's prompt of its
    own (the sources, the question, the proposed answer) and the second regression decides;
    far from it, or with the gate lifted, nothing more is asked."""
    emb = _index(tmp_path / "idx")
    reply = "Answer: Four [1]\nSentence: Four soldiers were killed [1]."
    gen = _Scripted(reply, {tuple(YES_NO): [-0.1, -3.1]})  # says Yes: +3
    second = Calibration(
        coef=[1.0], intercept=0.0, mean=[0.0], scale=[1.0], features=["fresh_check"]
    )
    cal = Calibration(
        coef=[0.0], intercept=-0.2, mean=[0.0], scale=[1.0], features=["answer_logprob"],
        second=second, second_margin=0.1,
    )  # fmt: skip
    path = tmp_path / "cal.json"
    cal.save(path)
    assert Calibration.load(path) == cal  # the second look survives the file
    first = 1 / (1 + np.exp(0.2))  # 0.45
    config = PipelineConfig(calibration_path=path, min_confidence=0.5)
    rag = make_newsrag(tmp_path / "idx", emb, gen, config)
    answer = rag.ask("How many soldiers were killed at the border?")
    assert answer.features["fresh_check"] == pytest.approx(3.0)
    assert answer.confidence == pytest.approx(1 / (1 + np.exp(-3.0)), abs=1e-4)
    assert not answer.abstained and "second_look" in answer.timings_ms
    checked = gen.asked[tuple(YES_NO)]
    assert checked[0]["role"] == "system" and "Proposed answer: Four" in checked[-1]["content"]
    assert "Four soldiers were killed" in checked[-1]["content"]  # the sources, read again
    # Far from the threshold (0.45 against 0.8): the first confidence stands.
    gen.asked.clear()
    rag.pipeline.min_confidence = 0.8
    answer = rag.ask("How many soldiers were killed at the border?")
    assert "fresh_check" not in answer.features and tuple(YES_NO) not in gen.asked
    assert answer.confidence == pytest.approx(first, abs=1e-4) and answer.abstained
    # The gate lifted, as evaluations run it: no second look.
    rag.pipeline.min_confidence = 0.0
    answer = rag.ask("How many soldiers were killed at the border?")
    assert "fresh_check" not in answer.features


def test_calibrate_fits_a_second_look_when_the_answers_carry_the_check(tmp_path):
    """Answers whose first signals leave them undecided but whose check tells them apart: the
    fit keeps a second regression with the check and a margin around the threshold, and the
    held-out half is scored as the pipeline would score it."""
    _squad_rows(tmp_path / "squad.jsonl", 600)
    rng = np.random.default_rng(7)
    rows = [json.loads(line) for line in (tmp_path / "squad.jsonl").read_text().splitlines()]
    for r in rows:
        right = not r["impossible"] and r["draft"] == "Paris"
        r["features"]["fresh_check"] = float(rng.normal(2.0 if right else -2.0, 0.7))
    (tmp_path / "squad.jsonl").write_text("\n".join(json.dumps(r) for r in rows) + "\n")
    out = tmp_path / "cal.json"
    report = calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "rep")
    cal = Calibration.load(out)
    assert cal is not None and cal.second is not None and 0 < cal.second_margin < 1
    assert "fresh_check" not in cal.features and "fresh_check" in cal.second.features
    assert 0 < report["second_look_share"] < 100
    first, final = report["holdout_first_look"], report["holdout"]
    assert final["abstained_unanswerable"] + final["answered_answerable"] > (
        first["abstained_unanswerable"] + first["answered_answerable"]
    )
    # Checked only near the threshold (`bench/self_check --near-threshold`): fitted there.
    near = [
        {**r, "features": {k: v for k, v in r["features"].items() if k != "fresh_check"}}
        if abs(r["features"]["answer_logprob"] + 1.2) > 0.6
        else r
        for r in rows
    ]
    (tmp_path / "near.jsonl").write_text("\n".join(json.dumps(r) for r in near) + "\n")
    calibrate([tmp_path / "near.jsonl"], [], out, tmp_path / "rep")
    assert (local := Calibration.load(out)) is not None and local.second is not None
    # Left out by name (`--without fresh_check`), or missing from an answer: no second look.
    calibrate([tmp_path / "squad.jsonl"], [], out, tmp_path / "rep", skip={"fresh_check"})
    assert (left_out := Calibration.load(out)) is not None and left_out.second is None
    _squad_rows(tmp_path / "plain.jsonl", 400)
    calibrate([tmp_path / "plain.jsonl"], [], out, tmp_path / "rep")
    plain = Calibration.load(out)
    assert plain is not None and plain.second is None


def test_calibrate_command_leaves_out_a_named_signal(tmp_path):
    """`newsrag eval calibrate --without S` fits every other signal (measuring S's worth, or
    shipping without a signal that costs more than it buys); a name that is no signal and
    data too thin to fit are clear errors."""
    from typer.testing import CliRunner

    from service.cli import app

    _squad_rows(tmp_path / "squad.jsonl", 400)
    out = tmp_path / "cal.json"
    args = ["eval", "calibrate", "--squad", str(tmp_path / "squad.jsonl"), "--out", str(out)]
    args += ["--report", str(tmp_path / "report")]
    result = CliRunner().invoke(app, [*args, "--without", "self_check"])
    assert result.exit_code == 0, result.output
    cal = Calibration.load(out)
    assert cal is not None and not cal.uses("self_check") and cal.uses("answer_logprob")
    bad = CliRunner().invoke(app, [*args, "--without", "shoe_size"])
    assert bad.exit_code == 2 and "shoe_size" in bad.output
    _squad_rows(tmp_path / "few.jsonl", 10)
    few = [*args[:3], str(tmp_path / "few.jsonl"), *args[4:]]
    thin = CliRunner().invoke(app, few)
    assert thin.exit_code == 2 and "not enough fitting data" in thin.output


class _Declining(FakeGenerator):
    """Declines, unless its reply is made to open "Answer:"."""

    capabilities = frozenset({CHOICE_SCORES, OPENED_REPLY})

    def __init__(self) -> None:
        super().__init__()
        self.openings: list[str] = []

    def stream(self, messages, max_new_tokens=None, cancel=None, opening=""):
        self.calls.append(messages)
        self.openings = [*self.openings, opening]
        yield " Four [1]\nSentence: Four soldiers were killed [1]." if opening else "I don't know."


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
    assert answer.confidence == pytest.approx(1 / (1 + math.exp(-math.log(2))), abs=1e-4)
    rag.pipeline.min_confidence = 0.9  # the forced answer is not trusted enough
    doubted = rag.ask(question)
    assert doubted.abstained and doubted.abstain_reason == "low_confidence"
    text_only = _Unscoring("I don't know.")
    for gate, reopen, backend in ((0.0, True, gen), (0.5, False, gen), (0.5, True, text_only)):
        rag.pipeline.min_confidence, rag.pipeline.generator = gate, backend
        rag.pipeline.config.reopen_declined = reopen
        gen.openings = []
        kept = rag.ask(question)
        assert kept.abstained and kept.abstain_reason == "model", (gate, reopen, backend)
        assert "Answer:" not in gen.openings

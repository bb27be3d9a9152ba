"""How likely an answer is right: one calibrated score in [0, 1] from signals the pipeline
already has.

No local model abstains by itself (probed: none says "I don't know" reliably), and one raw
similarity score cannot tell a paraphrased question from an on-topic one the sources do not
answer. So each answer gets a few cheap signals — how similar its best source is, how much of
the question the best evidence covers, whether the short answer occurs in a cited source next
to the question's words, whether the passages it occurs in carry the question's numbers, names
and negation and how close they are to the question in meaning, how strongly its claims are
supported, how sure the model was of the short answer (its mean token log-probability) and how
close it came to replying "I don't know" — combined by a logistic regression fitted on held-out
data (`newsrag eval calibrate`) and kept beside this module, one file per model
(`calibration-<preset>.json`): the model's own log-probabilities are signals, and each model's
are distributed differently. (The reader's yes/no check of its own answer, and a second look
near the threshold, were measured and not adopted: docs/EVALUATION.md.)"""

from __future__ import annotations

import json
import math
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.answer.prompt import ANSWER_LABEL, NO_ANSWER_OPENINGS
from retrieval.check.constraints import (
    QUESTION_WORDS,
    answer_coverage,
    answer_in_context,
    answer_sentences,
    unmet_constraints,
)
from retrieval.check.verify import as_shown, short_is_supported
from retrieval.lang.text import sentences
from retrieval.lang.words import content_words, stem
from retrieval.models.base import CHOICE_SCORES, Messages, TextGenerator, supports
from retrieval.models.embedder import TextEncoder
from retrieval.models.presets import PRESETS
from retrieval.types import Citation

FEATURES = (
    "top_dense",  # best dense cosine among the sources
    "top_evidence",  # best sentence score of the evidence selection
    "coverage",  # share of the question's words in the best-covering source sentence
    "short_in_source",  # the short answer occurs in a cited source (1/0)
    "in_context",  # … next to the question's own words (1/0)
    "answer_coverage",  # share of the question's words around the answer in a cited source
    "support",  # best support of a cited claim
    "answer_logprob",  # the model's mean token log-probability of its short answer
    "answer_tokens",  # log(1 + words in the short answer)
    "no_answer_margin",  # log P(reply opens "I") - log P(reply opens "Answer") on the prompt
    "number_unmet",  # the answer's passages lack a number the question names (1/0)
    "negation_unmet",  # the question is negated, the answer's sentences are not, or it asks
    # with the opposite of its passages' word ("smallest" beside "largest") (1/0)
    "name_unmet",  # the answer's passages lack a name the question gives (1/0)
    "place_similarity",  # best cosine of the question and a passage the answer is in
    "statement_similarity",  # … of the question followed by the answer and its sentence
)

DEFAULT_PATH = Path(__file__).with_name("calibration-small.json")


def preset_calibration(preset: str) -> Path:
    """Where a preset's own calibration lives (written by `newsrag eval calibrate`)."""
    if preset not in PRESETS:
        raise ValueError(f"{preset!r} is not a preset ({', '.join(PRESETS)})")
    return DEFAULT_PATH.with_name(f"calibration-{preset}.json")


def calibration_for(preset: str) -> Path:
    """The preset's own fitted calibration; a model without one (the tiny test model, a local
    folder) uses small's, the closest fitted model (same family)."""
    if preset not in PRESETS:
        return DEFAULT_PATH
    own = preset_calibration(preset)
    return own if own.is_file() else DEFAULT_PATH


def coverage(question: str, citations: list[Citation]) -> float:
    """Share of the question's content words found in its best-matching source sentence."""
    asked = {stem(w) for w in content_words(question) if len(w) > 2 and w not in QUESTION_WORDS}
    if not asked:
        return 0.0
    best = 0.0
    for c in citations:
        for sent in sentences(as_shown(c.hit, question)):
            words = {stem(w) for w in content_words(sent)}
            best = max(best, len(asked & words) / len(asked))
    return best


def features(
    question: str,
    short: str,
    citations: list[Citation],
    answer_logprob: float | None = None,
    no_answer_margin: float | None = None,
    embedder: TextEncoder | None = None,
) -> dict[str, float]:
    """The signals of one answer. A signal the backend cannot give (the reader's own, without
    choice scoring) is left out: the calibration then counts it as average."""
    cited = [c for c in citations if c.cited] or citations
    shown = [as_shown(c.hit, question) for c in cited]
    feats = {
        "top_dense": max((c.hit.score for c in citations), default=0.0),
        "top_evidence": max((c.hit.scores.get("evidence", 0.0) for c in citations), default=0.0),
        "coverage": coverage(question, citations),
        "short_in_source": float(any(short_is_supported(short, s) for s in shown)),
        "in_context": float(any(answer_in_context(short, s, question) for s in shown)),
        "answer_coverage": max((answer_coverage(short, s, question) for s in shown), default=0.0),
        "support": max((c.support or 0.0 for c in citations), default=0.0),
        "answer_logprob": answer_logprob if answer_logprob is not None else -5.0,
        "answer_tokens": math.log1p(len(short.split())),
    }
    unmet = [u for s in shown if (u := unmet_constraints(short, s, question)) is not None]
    for k, name in enumerate(("number_unmet", "negation_unmet", "name_unmet")):
        feats[name] = float(bool(unmet) and all(u[k] for u in unmet))
    if embedder is not None:
        place, statement = answer_similarity(embedder, question, short, shown)
        feats["place_similarity"], feats["statement_similarity"] = place, statement
    if no_answer_margin is not None:
        feats["no_answer_margin"] = no_answer_margin
    return feats


def answer_similarity(
    embedder: TextEncoder, question: str, short: str, shown: list[str]
) -> tuple[float, float]:
    """How close in meaning the question is to the passages the answer occurs in (its
    sentence and the ones either side: a question may lean on the sentence before), and the
    question followed by the answer — the answered question as a statement — to the
    answer's own sentences: the counterpart of the lexical signals, which paraphrase
    defeats, and of `top_evidence`, which scores the best sentence rather than the
    answer's. 0 when the answer is in none."""
    found = [pair for s in shown for pair in answer_sentences(short, s)]
    if not found:
        return 0.0, 0.0
    own, places = zip(*found, strict=True)
    v = embedder.encode([question, f"{question} {short}", *places, *own])
    n = len(places)
    return float((v[2 : 2 + n] @ v[0]).max()), float((v[2 + n :] @ v[1]).max())


def reader_signals(
    generator: TextGenerator | None,
    messages: Messages | None,
    short: str,
) -> dict[str, float | None]:
    """The reader's own signals of one answer, scored on the prompt it answered from (still
    in the generator's cache, so each costs a few tokens): its mean token log-probability of
    the short answer and how much more it wanted to open with "I don't know" than "Answer:".
    A backend that cannot score gives none."""
    if not messages or not supports(generator, CHOICE_SCORES):
        return {}
    assert generator is not None
    out: dict[str, float | None] = {"answer_logprob": None}
    if short:
        out["answer_logprob"] = generator.choice_scores(messages, [short], prefix=ANSWER_LABEL)[0]
    idk, answer = generator.choice_scores(messages, NO_ANSWER_OPENINGS)
    out["no_answer_margin"] = idk - answer
    return out


@dataclass
class Calibration:
    """A logistic regression over `FEATURES` (standardised), then isotonic-free: the fitted
    probabilities are checked for calibration on held-out data (docs/EVALUATION.md)."""

    coef: list[float]
    intercept: float
    mean: list[float]
    scale: list[float]
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    version: int = 1
    fitted_on: str = ""
    threshold: float = 0.5  # the operating point chosen on held-out data

    def uses(self, signal: str) -> bool:
        return signal in self.features

    def score(self, feats: dict[str, float]) -> float:
        z = self.intercept
        for name, w, m, s in zip(self.features, self.coef, self.mean, self.scale, strict=True):
            z += w * (feats.get(name, m) - m) / (s or 1.0)  # missing: average
        return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))

    def save(self, path: Path) -> None:
        path.write_text(json.dumps(asdict(self), indent=2) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, path: Path | None = None) -> Calibration | None:
        path = path or DEFAULT_PATH
        if not path.exists():
            return None
        return cls.from_dict(json.loads(path.read_text(encoding="utf-8")))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        return cls(**known)

"""Evaluation metrics, scored exactly as the RealTime QA leaderboard and SQuAD do."""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence

from retrieval.lang.text import contains_answer as contains_answer
from retrieval.lang.text import loose

_PUNCT = set(string.punctuation)


def normalize_answer(text: str, drop_articles: bool = False) -> str:
    """SQuAD normalisation: lower-case, strip punctuation, collapse spaces. The RealTime QA
    leaderboard keeps articles (a/an/the); SQuAD's official script drops them."""
    text = text.lower()
    text = "".join(ch for ch in text if ch not in _PUNCT)
    if drop_articles:
        text = re.sub(r"\b(a|an|the)\b", " ", text)
    return " ".join(text.split())


def exact_match(prediction: str, gold: str, drop_articles: bool = False) -> float:
    return float(
        normalize_answer(prediction, drop_articles) == normalize_answer(gold, drop_articles)
    )


def token_f1(prediction: str, gold: str, drop_articles: bool = False) -> float:
    pred = normalize_answer(prediction, drop_articles).split()
    ref = normalize_answer(gold, drop_articles).split()
    if not pred or not ref:
        return float(pred == ref)
    common = Counter(pred) & Counter(ref)
    same = sum(common.values())
    if same == 0:
        return 0.0
    precision, recall = same / len(pred), same / len(ref)
    return 2 * precision * recall / (precision + recall)


def best_over(fn: object, prediction: str, golds: Sequence[str], **kw: bool) -> float:
    """SQuAD takes the best score over the gold answers."""
    assert callable(fn)
    return max((float(fn(prediction, g, **kw)) for g in golds), default=0.0)


def gold_text(choices: Sequence[str], answer: Sequence[str]) -> str:
    """RealTime QA generation target: the gold choice, or several joined by a space."""
    return " ".join(choices[int(i)] for i in answer)


def mc_correct(prediction: Sequence[str] | int | None, answer: Sequence[str]) -> bool:
    """A multiple-choice prediction is right when it names the gold index (set equality for
    the rare questions with several gold indices)."""
    if prediction is None:
        return False
    pred = [str(prediction)] if isinstance(prediction, int) else [str(p) for p in prediction]
    return sorted(pred) == sorted(str(a) for a in answer)


def is_except_question(sentence: str) -> bool:
    """The leaderboard skips "… except" questions in the generation track."""
    return sentence.strip().rstrip("?:.").strip().lower().endswith("except")


def recall_at_k(ranked_hits: Sequence[bool], k: int) -> float:
    return float(any(ranked_hits[:k]))


def reciprocal_rank(ranked_hits: Sequence[bool], k: int = 10) -> float:
    for i, hit in enumerate(ranked_hits[:k], start=1):
        if hit:
            return 1.0 / i
    return 0.0


def loose_f1(prediction: str, gold: str) -> float:
    """Token F1 ignoring case, articles and every punctuation mark: whether an answer is right
    (a calibration label), where the leaderboard's own scoring keeps curly quotes
    ("“Squid Game”" would not match "Squid Game")."""
    return token_f1(loose(prediction), loose(gold), drop_articles=True)

"""Everyday questions (`newsrag eval questions`): what readers ask a news assistant — what
happened, why, summarize, yes/no, which ones, about the article itself — over real articles
that are not the seed, scored per question type.

The question set (`service/evals/questions/everyday.json`) names its articles by URL; their
text is read from the RealTime QA files (`--data`, never copied into the repository), indexed
once into a cache, and every question is asked through `Newsrag.ask` with the product's own
settings (gates on): this measures what a user gets.

Scoring, per type:
- factoid / about the article: a gold alternative occurs, as a phrase, in the answer;
- list: at least `min_items` of the items occur;
- yes/no: the answer's yes or no equals the gold one;
- open: at least two thirds of the key points are covered (every word of one of a point's
  alternatives occurs in the answer, words matched on their first five letters) and every
  sentence of the answer is supported by the source it cites;
- unanswerable: the answer abstains (with the expected reason and the newest article named,
  for time windows that hold nothing).
"""

from __future__ import annotations

import json
import math
import re
import shutil
import statistics
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import replace
from datetime import date
from hashlib import sha256
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

from index.core import CoreConfig, Models, Newsrag
from index.ingest import Indexer
from index.parse import content_id
from retrieval.check.kind_confidence import KINDS, kind_features
from retrieval.lang.words import stem
from retrieval.models.embedder import TextEncoder
from retrieval.options import AskOptions
from retrieval.types import Answer, Article, SearchFilter, Turn
from service.evals.leaderboard import parse_day, read_jsonl

DEFAULT_SET = Path(__file__).with_name("questions") / "everyday.json"
TYPES = ("factoid", "open", "yesno", "list", "meta")


# -- the set ----------------------------------------------------------------------------------
def load_set(path: Path) -> dict[str, Any]:
    """The question set, checked: every question names a known type and what it is scored on."""
    data = json.loads(path.read_text(encoding="utf-8"))
    for q in data.get("questions", []):
        qid = q.get("id", "?")
        if q.get("type") not in TYPES:
            raise ValueError(f"question {qid}: type must be one of {', '.join(TYPES)}")
        if q.get("answerable", True):
            if not any(k in q for k in ("answers", "items", "yesno", "key_points")):
                raise ValueError(
                    f"question {qid}: an answerable question needs what it is scored on"
                )
        elif q.get("newest") and q["newest"] not in data.get("articles", {}):
            raise ValueError(f"question {qid}: newest names an unknown article {q['newest']!r}")
    return data


def _slug_title(url: str) -> str:
    """A readable title for an article stored without one: the words of its URL's slug."""
    parts = [p for p in urlparse(url).path.split("/") if p and p not in ("index.html",)]
    slug = parts[-1] if parts else url
    words = re.sub(r"[-_]+", " ", re.sub(r"\.html?$", "", slug)).strip()
    return words[:1].upper() + words[1:]


def read_articles(data: Path, urls: dict[str, str]) -> dict[str, Article]:
    """The set's articles by key, from the RealTime QA search results and gold files: for each
    URL the longest stored text, and the first title any record gives."""
    wanted = {u: k for k, u in urls.items()}
    texts: dict[str, dict[str, Any]] = {}
    titles: dict[str, str] = {}
    files = sorted(data.glob("*_gcs.jsonl")) + sorted(data.glob("*_gold.jsonl"))
    for path in files:
        for row in read_jsonl(path):
            for r in row.get("search_result", []):
                url = r.get("url") or ""
                if url not in wanted or not (r.get("text") or "").strip():
                    continue
                if len(r["text"]) > len(texts.get(url, {}).get("text", "")):
                    texts[url] = r
                if r.get("title") and url not in titles:
                    titles[url] = r["title"].strip()
    missing = [k for u, k in wanted.items() if u not in texts]
    if missing:
        raise FileNotFoundError(f"articles not found in {data}: {', '.join(sorted(missing))}")
    out: dict[str, Article] = {}
    for url, key in wanted.items():
        r = texts[url]
        title = re.sub(r"\s+-\s+CNN$", "", titles.get(url) or _slug_title(url))
        body = r["text"].strip()
        out[key] = Article(
            id=content_id(title, body),
            title=title,
            body=body,
            published=parse_day(r.get("publish_date")),
            url=url,
            source=urlparse(url).netloc.removeprefix("www.") or None,
        )
    return out


def open_index(
    articles: Iterable[Article], cache: Path, core: CoreConfig, models: Models
) -> Newsrag:
    """An index of the set's articles (built once into `cache`, keyed by their ids and the
    chunking), opened with the product's configuration."""
    arts = list(articles)
    key = sha256("".join(sorted(a.id for a in arts)).encode()).hexdigest()[:12]
    path = cache / f"everyday-{key}-{core.chunk_tokens}-{core.chunk_overlap}"
    if not (path / "manifest.json").exists():
        tmp = path.with_name(path.name + ".building")
        shutil.rmtree(tmp, ignore_errors=True)
        building = Newsrag.open(replace(core, index_dir=tmp, readonly=False), models, create=True)
        Indexer(building.store, models.embedder, batch_articles=64).ingest_articles(arts)
        building.close()
        tmp.rename(path)
    return Newsrag.open(replace(core, index_dir=path, readonly=False), models)


# -- scoring ----------------------------------------------------------------------------------
def tokens(text: str) -> list[str]:
    """Lower-cased words and numbers: "$10,000" → "10000", "7.0-magnitude" → "7.0",
    "magnitude"; a dot that is not a decimal point separates ("cnn.com" → "cnn", "com")."""
    t = text.lower().replace("’", "'")
    t = re.sub(r"(?<=\d),(?=\d{3})", "", t)
    t = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", t)
    return re.findall(r"[a-z0-9]+(?:[.'][a-z0-9]+)*", t)


def has_phrase(phrase: str, text: str) -> bool:
    want, have = tokens(phrase), tokens(text)
    n = len(want)
    return n > 0 and any(have[i : i + n] == want for i in range(len(have) - n + 1))


def covers(point: list[str], text: str) -> bool:
    """A key point is covered when every word of one of its alternatives is in the text."""
    have = {stem(w) for w in tokens(text)}
    return any(tokens(alt) and all(stem(w) in have for w in tokens(alt)) for alt in point)


def yes_or_no(answer: Answer) -> str | None:
    words = tokens(answer.short_answer or "") or tokens(answer.answer)[:1]
    first = words[0] if words else ""
    return first if first in ("yes", "no") else None


def all_supported(answer: Answer) -> bool:
    """Every sentence of the answer is supported: as the citation check recorded it per claim,
    or (an answer without that record) each sentence cites a source found supported."""
    claims = getattr(answer, "claims", None)
    if claims:
        return all(c["supported"] for c in claims)
    ok = {c.id for c in answer.citations if c.supported}
    sentences = [s for s in re.split(r"(?<=[.!?])\s+", answer.answer.strip()) if s]
    marks = [
        [int(n) for n in re.findall(r"\d+", m)]
        for m in (" ".join(re.findall(r"\[[\d,\s]+\]", s)) for s in sentences)
    ]
    return bool(sentences) and all(any(n in ok for n in ms) for ms in marks)


def score(q: dict[str, Any], a: Answer, newest_ids: dict[str, str]) -> dict[str, Any]:
    """right / wrong / abstained for one answer, with what it was judged on."""
    text = f"{a.short_answer or ''} {a.answer}" if not a.abstained else ""
    out: dict[str, Any] = {"abstained": a.abstained}
    if not q.get("answerable", True):
        ok = a.abstained
        if q.get("expect_reason"):
            named = (getattr(a, "window", None) or {}).get("newest") or {}
            ok = (
                ok
                and a.abstain_reason == q["expect_reason"]
                and named.get("article_id") == newest_ids.get(q.get("newest", ""))
            )
        out["right"] = ok
        return out
    if a.abstained:
        out["right"] = False
        return out
    kind = q["type"]
    if "yesno" in q:
        out["right"] = yes_or_no(a) == q["yesno"]
    elif "key_points" in q:
        covered = [covers(p, a.answer) for p in q["key_points"]]
        out["key_points"] = f"{sum(covered)}/{len(covered)}"
        out["covered"] = sum(covered) / len(covered)
        out["supported"] = all_supported(a)
        need = math.ceil(2 * len(covered) / 3)
        out["right"] = sum(covered) >= need and out["supported"]
    elif "items" in q:
        found = sum(any(has_phrase(alt, text) for alt in item) for item in q["items"])
        out["items"] = f"{found}/{len(q['items'])}"
        out["right"] = found >= q.get("min_items", len(q["items"]))
    else:
        out["right"] = any(has_phrase(alt, text) for alt in q["answers"])
    if kind == "open" and "supported" not in out:
        out["supported"] = all_supported(a)
    return out


# -- running ----------------------------------------------------------------------------------
def ask(rag: Newsrag, q: dict[str, Any], default_as_of: date) -> Answer:
    """Ask as a reader on the question's date would: a question dated inside the archive
    (`as_of`) sees nothing published after that day, as RealTime QA's questions do."""
    history = [Turn(t["role"], t["content"]) for t in q.get("history", [])] or None
    if q.get("as_of"):
        as_of = date.fromisoformat(q["as_of"])
        return rag.ask(
            q["question"],
            AskOptions(as_of=as_of, history=history, filters=SearchFilter(published_to=as_of)),
        )
    return rag.ask(q["question"], AskOptions(as_of=default_as_of, history=history))


def record(
    q: dict[str, Any],
    a: Answer,
    seconds: float,
    newest: dict[str, str],
    embedder: TextEncoder | None = None,
) -> dict[str, Any]:
    return {
        "id": q["id"],
        "split": q["split"],
        "type": q["type"],
        "answerable": q.get("answerable", True),
        "question": q["question"],
        "question_type": getattr(a, "question_type", None),
        "answer": a.answer,
        "short_answer": a.short_answer,
        "abstain_reason": a.abstain_reason,
        "confidence": a.confidence,
        # the signals of a kind's confidence (`newsrag eval kind-confidence` fits on them)
        "features": (
            kind_features(a.question_type, a.standalone_question or a.question, a, embedder)
            if a.question_type in KINDS and not a.abstained
            else None
        ),
        "seconds": round(seconds, 2),
        # when the answer's first word was streamed (None: nothing was, e.g. an abstention)
        "first_word_s": (
            round(a.timings_ms["first_word"] / 1000, 2) if "first_word" in a.timings_ms else None
        ),
        **score(q, a, newest),
    }


def summarize(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Per split and type: answerable right / wrong / abstained, key points covered, answers
    fully supported (open), unanswerable abstained, and p50 seconds."""
    groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
    for r in records:
        for split in (r["split"], "all"):
            groups[(split, r["type"])].append(r)
            groups[(split, "all")].append(r)
    out: dict[str, Any] = {}
    for (split, kind), rs in sorted(groups.items()):
        ans = [r for r in rs if r["answerable"]]
        una = [r for r in rs if not r["answerable"]]
        row: dict[str, Any] = {
            "answerable": len(ans),
            "right": sum(r["right"] for r in ans),
            "wrong": sum(not r["right"] and not r["abstained"] for r in ans),
            "abstained": sum(r["abstained"] for r in ans),
            "unanswerable": len(una),
            "unanswerable_abstained": sum(r["right"] for r in una),
            "p50_s": round(statistics.median(r["seconds"] for r in rs), 2),
        }
        words = [r["first_word_s"] for r in rs if r.get("first_word_s") is not None]
        row["first_word_p50_s"] = round(statistics.median(words), 2) if words else None
        row["right_pct"] = round(100 * row["right"] / len(ans), 1) if ans else None
        row["abstained_pct"] = (
            round(100 * row["unanswerable_abstained"] / len(una), 1) if una else None
        )
        opened = [r for r in ans if "covered" in r]
        if opened:
            row["key_points_covered"] = round(statistics.mean(r["covered"] for r in opened), 3)
            row["fully_supported"] = sum(r["supported"] for r in opened)
        out.setdefault(split, {})[kind] = row
    return out


def markdown(summary: dict[str, Any]) -> str:
    lines = [
        "| split | type | answerable right | wrong | abstained | unanswerable abstained "
        "| key points | p50 s | first word p50 s |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for split in ("dev", "heldout", "all"):
        for kind in (*TYPES, "all"):
            r = summary.get(split, {}).get(kind)
            if r is None:
                continue
            right = f"{r['right']}/{r['answerable']}" + (
                f" ({r['right_pct']} %)" if r["right_pct"] is not None else ""
            )
            una = f"{r['unanswerable_abstained']}/{r['unanswerable']}" + (
                f" ({r['abstained_pct']} %)" if r["abstained_pct"] is not None else ""
            )
            kp = f"{r['key_points_covered']:.2f}" if "key_points_covered" in r else ""
            word = r.get("first_word_p50_s")
            lines.append(
                f"| {split} | {kind} | {right} | {r['wrong']} | {r['abstained']} | {una} "
                f"| {kp} | {r['p50_s']} | {'' if word is None else word} |"
            )
    return "\n".join(lines)


def run(
    data: Path,
    out: Path,
    core: CoreConfig,
    question_set: Path = DEFAULT_SET,
    split: str | None = None,
    types: set[str] | None = None,
    models: Models | None = None,
    progress: Callable[[int, int], None] | None = None,
    index_cache: Path | None = None,
) -> dict[str, Any]:
    """Ask every question of the set (or of one split / some types) and write answers.jsonl,
    summary.json and results.md to `out`."""
    qset = load_set(question_set)
    articles = read_articles(data, qset["articles"])
    newest = {k: a.id for k, a in articles.items()}
    questions = [
        q
        for q in qset["questions"]
        if (split is None or q["split"] == split) and (not types or q["type"] in types)
    ]
    out.mkdir(parents=True, exist_ok=True)
    models = models or Models.build(core, with_generator=True)
    rag = open_index(articles.values(), index_cache or out / "indexes", core, models)
    default_as_of = date.fromisoformat(qset["as_of"])
    records: list[dict[str, Any]] = []
    started = time.perf_counter()
    try:
        ask(rag, {"question": "What happened?", "id": "warm-up"}, default_as_of)
        with open(out / "answers.jsonl", "w", encoding="utf-8") as fh:
            for q in questions:
                t = time.perf_counter()
                a = ask(rag, q, default_as_of)
                rec = record(q, a, time.perf_counter() - t, newest, models.embedder)
                records.append(rec)
                fh.write(json.dumps(rec, ensure_ascii=False) + "\n")
                fh.flush()
                if progress:
                    progress(len(records), len(questions))
    finally:
        rag.close()
    results = summarize(records)
    summary = {
        "questions": len(records),
        "seconds": round(time.perf_counter() - started, 1),
        "results": results,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2), encoding="utf-8")
    (out / "results.md").write_text(markdown(results) + "\n", encoding="utf-8")
    return summary

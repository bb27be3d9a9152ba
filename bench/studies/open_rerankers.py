"""Can anything rank an open answer's sentences better than today's signals? Measured on the
everyday dev set's open questions, kept as run (twenty-seventh session, docs/EVALUATION.md):

    # 1. every sentence of each open question's pool, scored as today (one pass of the eval)
    python -m bench.studies.open_rerankers pools OUT.json --data ../shared/data --index-cache C
    # 2a. the reader picks the sentences among the 12 best, numbered ("4, 1, 7")
    python -m bench.studies.open_rerankers pick OUT.json
    # 2b. query likelihood: log P(question | sentence) by the reader for the 16 best (UPR,
    #     Sachan et al. 2022), added to today's score as a z-score at several weights
    python -m bench.studies.open_rerankers upr OUT.json
    # 2c. centrality: cosine of a sentence to the rest of its article, the same way
    python -m bench.studies.open_rerankers centrality OUT.json
    # twenty-eighth session: UPR over fewer candidates or by another GGUF, and redundancy by
    # meaning (maximal marginal relevance) at several weights
    python -m bench.studies.open_rerankers upr OUT.json --candidates 8 [--model GGUF]
    python -m bench.studies.open_rerankers mmr OUT.json

Each prints how many answers cover two thirds of their key points (the eval's rule) with the
article's opening sentence first and three more, against today's answers, and seconds spent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def pools(out: Path, data: Path, cache: Path) -> None:
    from retrieval.answer import extract
    from service.cli_common import settings_for
    from service.evals import everyday as ev
    from service.loading import core_config

    got: dict[str, list[dict]] = {}
    orig = extract.open_sources

    def spy(question, sources, retriever, selector):  # type: ignore[no-untyped-def]
        keep, extract.MAX_SENTENCES = extract.MAX_SENTENCES, 400
        try:
            res = orig(question, sources, retriever, selector)
            got[question] = [
                {"score": s.score, "hit": s.hit, "pos": s.pos, "text": s.text}
                for s in res.sentences
            ]
        finally:
            extract.MAX_SENTENCES = keep
        return orig(question, sources, retriever, selector)

    extract.open_sources = spy
    run = out.with_suffix(".run")
    ev.run(data / "realtimeqa", run, core_config(settings_for()), split="dev", types={"open"},
           index_cache=cache)
    qs = {q["id"]: q for q in ev.load_set(ev.DEFAULT_SET)["questions"]}
    rows = []
    for line in (run / "answers.jsonl").read_text().splitlines():
        r = json.loads(line)
        pool = next((v for k, v in got.items() if r["question"] in k), [])
        rows.append({**r, "key_points": qs[r["id"]].get("key_points"), "pool": pool})
    out.write_text(json.dumps(rows, indent=1))


def _best(pool: list[dict], n: int) -> list[dict]:
    from retrieval.answer.extract import _SAME, _overlap

    keep: list[dict] = []
    for s in sorted(pool, key=lambda s: -s["score"]):
        if len(keep) == n:
            break
        if not any(_overlap(s["text"], c["text"]) >= _SAME for c in keep):
            keep.append(s)
    return keep


def _covered(r: dict, chosen: list[dict]) -> bool:
    from service.evals.everyday import covers

    cov = [covers(p, " ".join(s["text"] for s in chosen)) for p in r["key_points"]]
    return sum(cov) >= math.ceil(2 * len(cov) / 3)


def _rows(path: Path) -> list[dict]:
    return [r for r in json.loads(path.read_text()) if r["key_points"] and r["pool"]
            and not r["abstained"]]


def _select(r: dict, key: str, w: float) -> list[dict]:
    """Today's opening sentence first (the answer's first), then the best by score + w·z."""
    from retrieval.answer.extract import _SAME, MAX_SENTENCES, _overlap

    cands = [s for s in r["pool"] if key in s]
    if cands:
        u = np.array([s[key] for s in cands])
        for s, z in zip(cands, (u - u.mean()) / (u.std() + 1e-9), strict=True):
            s["new"] = s["score"] + w * z
    first = min((s for s in r["pool"] if s["text"][:60] in r["answer"]),
                key=lambda s: r["answer"].find(s["text"][:60]), default=None)
    chosen = [first] if first else []
    for s in sorted(r["pool"], key=lambda s: -s.get("new", s["score"] - 9)):
        if len(chosen) == MAX_SENTENCES:
            break
        if not any(s is c or _overlap(s["text"], c["text"]) >= _SAME for c in chosen):
            chosen.append(s)
    return chosen


def _report(rows: list[dict], key: str) -> None:
    today = sum(_covered(r, [{"text": r["answer"]}]) for r in rows)
    print(f"today: {today}/{len(rows)}")
    for w in (0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1.0):
        print(f"w={w}: {sum(_covered(r, _select(r, key, w)) for r in rows)}/{len(rows)}")


def _reader(model: Path | None = None):  # type: ignore[no-untyped-def]
    import llama_cpp
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    model = model or Path.home() / ".cache/newsrag/base.original.gguf"
    llm = llama_cpp.Llama(model_path=str(model),
                          n_ctx=2048, n_threads=2, n_threads_batch=2, flash_attn=True,
                          verbose=False, logits_all=True)
    fmt = Jinja2ChatFormatter(llm.metadata["tokenizer.chat_template"],
                              eos_token=llm._model.token_get_text(llm.token_eos()),
                              bos_token=llm._model.token_get_text(llm.token_bos()))
    return llm, fmt


PICK = ("You help answer questions about news. You are given numbered sentences from news "
        "articles and a question. Choose the sentences that together answer the question best: "
        "the main facts, causes or events it asks about. Reply with the numbers of up to four "
        "sentences, the most important first, separated by commas, like: 4, 1, 7. If no "
        "sentence answers the question, reply exactly: I don't know.")


def pick(path: Path) -> None:
    from index.core import Models
    from service.cli_common import settings_for
    from service.loading import core_config

    gen = Models.build(core_config(settings_for()), with_generator=True).generator
    gen.load()
    rows, right, secs = _rows(path), 0, []
    for r in rows:
        cands = sorted(_best(r["pool"], 12), key=lambda s: (s["hit"], s["pos"]))
        body = "\n".join(f"{i}. {c['text']}" for i, c in enumerate(cands, 1))
        msgs = [{"role": "system", "content": PICK},
                {"role": "user", "content": f"Sentences:\n{body}\n\nQuestion: {r['question']}"}]
        t = time.time()
        reply = gen.generate(msgs, 16)
        secs.append(time.time() - t)
        nums = [int(x) for x in re.findall(r"\d+", reply.split("\n")[0])]
        chosen = [cands[n - 1] for n in dict.fromkeys(nums) if 1 <= n <= len(cands)][:4]
        right += _covered(r, chosen)
        print(r["id"], repr(reply.strip()[:40]), f"{secs[-1]:.1f} s")
    print(f"picked: {right}/{len(rows)}; today: "
          f"{sum(_covered(r, [{'text': r['answer']}]) for r in rows)}/{len(rows)}; "
          f"median {sorted(secs)[len(secs) // 2]:.1f} s")


def upr(path: Path, candidates: int = 16, model: Path | None = None) -> None:
    llm, fmt = _reader(model)
    rows, secs = _rows(path), []
    for r in rows:
        t = time.time()
        for s in _best(r["pool"], candidates):
            pre = fmt(messages=[{"role": "user", "content": f"Passage: {s['text']}\n\nWrite a "
                                 "question that this passage answers."}]).prompt
            pt = llm.tokenize(pre.encode(), add_bos=False, special=True)
            qt = llm.tokenize(r["question"].encode(), add_bos=False, special=False)
            llm.reset()
            llm.eval(pt + qt)
            sc = np.asarray(llm.scores[len(pt) - 1 : len(pt) + len(qt) - 1], dtype=np.float64)
            sc -= sc.max(1, keepdims=True)
            sc -= np.log(np.exp(sc).sum(1, keepdims=True))
            s["upr"] = float(np.mean([sc[i, tok] for i, tok in enumerate(qt)]))
        secs.append(time.time() - t)
    print(f"median {sorted(secs)[len(secs) // 2]:.1f} s a question")
    _report(rows, "upr")


def centrality(path: Path) -> None:
    from index.core import Models
    from service.cli_common import settings_for
    from service.loading import core_config

    emb = Models.build(core_config(settings_for()), with_generator=False).embedder
    emb.load()
    rows = _rows(path)
    for r in rows:
        v = np.asarray(emb.encode([s["text"] for s in r["pool"]]))
        for h in {s["hit"] for s in r["pool"]}:
            idx = [i for i, s in enumerate(r["pool"]) if s["hit"] == h]
            total = v[idx].sum(0)
            for i in idx:
                rest = (total - v[i]) / max(1, len(idx) - 1)
                r["pool"][i]["cent"] = float(v[i] @ rest / (np.linalg.norm(rest) + 1e-9))
    _report(rows, "cent")


def mmr(path: Path) -> None:
    """Today's selection with a sentence's score less lam x its highest cosine to the sentences
    already chosen (on top of the word-overlap rule)."""
    from index.core import Models
    from retrieval.answer.extract import _SAME, MAX_SENTENCES, _overlap
    from service.cli_common import settings_for
    from service.loading import core_config

    emb = Models.build(core_config(settings_for()), with_generator=False).embedder
    emb.load()
    rows = _rows(path)
    for r in rows:
        for s, v in zip(r["pool"], emb.encode([s["text"] for s in r["pool"]]), strict=True):
            s["vec"] = np.asarray(v)
    for lam in (0.0, 0.1, 0.2, 0.3, 0.5, 0.8, 1.2):
        right = 0
        for r in rows:
            first = min((s for s in r["pool"] if s["text"][:60] in r["answer"]),
                        key=lambda s: r["answer"].find(s["text"][:60]), default=None)
            chosen = [first] if first else []
            while len(chosen) < MAX_SENTENCES:
                free = [s for s in r["pool"] if not any(s is c or _overlap(s["text"], c["text"])
                                                        >= _SAME for c in chosen)]
                if not free:
                    break
                chosen.append(max(free, key=lambda s: s["score"] - lam * max(
                    (float(s["vec"] @ c["vec"]) for c in chosen), default=0.0)))
            right += _covered(r, chosen)
        print(f"lambda={lam}: {right}/{len(rows)}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("what", choices=["pools", "pick", "upr", "centrality", "mmr"])
    ap.add_argument("path", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--index-cache", type=Path, default=Path("/tmp/everyday-cache"))
    ap.add_argument("--candidates", type=int, default=16, help="upr: the pool's best N")
    ap.add_argument("--model", type=Path, help="upr: another GGUF (the small reader's)")
    a = ap.parse_args()
    if a.what == "pools":
        pools(a.path, a.data, a.index_cache)
    elif a.what == "upr":
        upr(a.path, a.candidates, a.model)
    else:
        {"pick": pick, "centrality": centrality, "mmr": mmr}[a.what](a.path)


if __name__ == "__main__":
    sys.exit(main())

"""Prompt-lookup drafting on and off: time to write the two-line answers to the seed questions
with the same prompts, alternating rounds in one run, and whether the answers are the same.

    .venv/bin/python -m bench.bench_prompt_lookup --index data/index [--rounds 2]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

from retrieval.models.transformers_backend import Generator
from retrieval.answer.prompt import build_messages
from service.loading import open_newsrag
from service.settings import Settings
from service.evals.seed import load

ANSWERABLE = load()[1]["test"].answerable


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=int, default=8)
    args = ap.parse_args()
    rag = open_newsrag(Settings(index_dir=args.index, backend="transformers"))
    gen = rag.models.generator
    assert isinstance(gen, Generator)
    gen.load()
    prompts = [
        build_messages(q, rag.pipeline.retrieve(q, 5)[1]) for q, _ in ANSWERABLE[: args.questions]
    ]
    seconds: dict[int, float] = {0: 0.0, 10: 0.0}
    answers: dict[int, list[str]] = {}
    tokens = 0
    for _ in range(args.rounds):
        for lookup in (0, 10):
            gen.prompt_lookup = lookup
            out = []
            for m in prompts:
                gen._prefix = None  # the same (cold) prompt cost on both sides
                t = time.perf_counter()
                out.append(gen.generate(m))
                seconds[lookup] += time.perf_counter() - t
            answers[lookup] = out
    tokens = sum(len(gen.tokenizer(a)["input_ids"]) for a in answers[10])
    same = sum(a == b for a, b in zip(answers[0], answers[10], strict=True))
    print(
        json.dumps(
            {
                "preset": gen.name,
                "answers": len(prompts),
                "answer_tokens": tokens,
                "seconds_off": round(seconds[0] / args.rounds, 2),
                "seconds_on": round(seconds[10] / args.rounds, 2),
                "speedup": round(seconds[0] / seconds[10], 2),
                "same_answers": f"{same}/{len(prompts)}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

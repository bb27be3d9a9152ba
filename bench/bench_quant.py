"""llama.cpp weight encodings of one preset, side by side on this machine: cold prefill and
decode speed on the seed questions' real prompts, and whether the greedy answers stay the same
as bf16's (the encoding the backend ships).

    .venv/bin/python -m bench.bench_quant [--preset base] [--encodings bf16,q8_0,original]
        [--rounds 2] [--index DIR]

The encodings are made once in the model cache (`original` is the packaged file, for base
Q4_K/Q6_K). Rounds interleave the encodings so machine noise hits all of them alike.
"""

from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from retrieval.answer.prompt import build_messages
from retrieval.models.llamacpp_backend import LlamaCppGenerator
from service.evals.seed import load
from service.loading import core_config, offline, open_newsrag
from service.settings import Settings


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="base")
    ap.add_argument("--encodings", default="bf16,q8_0,original")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=int, default=10)
    ap.add_argument(
        "--index", type=Path, default=None, help="index of seeds/ (default: the configured one)"
    )
    args = ap.parse_args()
    offline()
    settings = Settings(preset=args.preset, **({"index_dir": args.index} if args.index else {}))
    rag = open_newsrag(settings, with_generator=False)
    as_of, sets = load()
    questions = [q for q, _ in sets["test"].answerable] + sets["test"].unanswerable
    questions = questions[:: max(1, len(questions) // args.questions)][: args.questions]
    prompts = []
    for q in questions:
        _, sources = rag.pipeline.retrieve(q, 5, None, as_of)
        prompts.append(build_messages(q, sources))
    encodings = args.encodings.split(",")
    cache_dir = core_config(settings).cache_dir
    gens = {}
    for enc in encodings:
        gen = LlamaCppGenerator(args.preset, cache_dir, encoding=enc)
        gen.load()
        gens[enc] = gen
    prefill: dict[str, list[float]] = {e: [] for e in encodings}
    decode: dict[str, list[float]] = {e: [] for e in encodings}
    answers: dict[str, list[str]] = {e: [] for e in encodings}
    for r in range(args.rounds):
        for messages in prompts:
            for enc in encodings:
                gen = gens[enc]
                gen._llm.reset()  # a cold prompt: no cached prefix
                n_prompt = len(gen.prompt_tokens(messages))
                t0 = time.perf_counter()
                first = last = None
                text = ""
                for piece in gen.stream(messages, 32):
                    last = time.perf_counter()
                    first = first or last
                    text += piece
                assert first is not None and last is not None
                n_out = gen.usage.completion_tokens
                gen.usage.completion_tokens = 0
                prefill[enc].append(n_prompt / (first - t0))
                if n_out > 1:
                    decode[enc].append((n_out - 1) / max(last - first, 1e-9))
                if r == 0:
                    answers[enc].append(text.strip())
    ref = encodings[0]
    print(f"{len(prompts)} prompts × {args.rounds} rounds, preset {args.preset}")
    print(f"| encoding | prefill tok/s | decode tok/s | prefill × vs {ref} | same reply as {ref} |")
    print("|---|---|---|---|---|")
    base_pf = statistics.median(prefill[ref])
    for enc in encodings:
        pf = statistics.median(prefill[enc])
        dc = statistics.median(decode[enc]) if decode[enc] else 0.0
        same = sum(a == b for a, b in zip(answers[enc], answers[ref], strict=True))
        print(f"| {enc} | {pf:.0f} | {dc:.1f} | {pf / base_pf:.2f} | {same}/{len(prompts)} |")
    for enc in encodings[1:]:
        for q, a, b in zip(questions, answers[ref], answers[enc], strict=True):
            if a != b:
                print(f"- {enc} differs on {q!r}:\n    {ref}: {a!r}\n    {enc}: {b!r}")


if __name__ == "__main__":
    main()

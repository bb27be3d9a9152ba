"""The transformers generator in bf16 and in float32 side by side: the same seed prompts, the
time to read each prompt and write its answer, and whether the answers agree.

    .venv/bin/python -m bench.bench_generator_dtype --index data/index [--preset tiny]

Decides what `generator_dtype=auto` picks on a CPU: bf16 is fast only where the CPU computes it
natively (AMX, AVX512-BF16); elsewhere torch emulates it. Rounds alternate the precisions so
that noise on the machine falls on both; the ratio of medians is printed with the CPU's name."""

from __future__ import annotations

import argparse
import json
import statistics
import time
from pathlib import Path

from bench.bench_embed_dtype import cpu_name
from retrieval.answer.prompt import build_messages
from retrieval.models.cpu import FAST_BF16_FLAGS, cpu_flags, native_dtype
from retrieval.models.transformers_backend import Generator
from service.evals.seed import load
from service.loading import open_newsrag
from service.settings import Settings

DTYPES = ("bfloat16", "float32")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--index", type=Path, required=True)
    ap.add_argument("--preset", default="tiny")
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--questions", type=int, default=6)
    args = ap.parse_args()
    settings = Settings(index_dir=args.index, preset=args.preset, backend="transformers")
    rag = open_newsrag(settings, with_generator=False)
    asked = [q for q, _ in load()[1]["test"].answerable[: args.questions]]
    prompts = [build_messages(q, rag.pipeline.retrieve(q, 5)[1]) for q in asked]
    gens = {d: Generator(args.preset, settings.cache_dir, dtype=d) for d in DTYPES}  # type: ignore[arg-type]
    for g in gens.values():
        g.load()
        g.generate(prompts[0], max_new_tokens=2)  # first-call costs out of the timing
    first: dict[str, list[float]] = {d: [] for d in DTYPES}
    whole: dict[str, list[float]] = {d: [] for d in DTYPES}
    answers: dict[str, list[str]] = {}
    for _ in range(args.rounds):
        for d in DTYPES:
            g, out = gens[d], []
            for m in prompts:
                g._prefix = None  # every prompt read whole, on both sides
                t = time.perf_counter()
                pieces = g.stream(m)
                text = next(pieces, "")
                first[d].append(time.perf_counter() - t)
                text += "".join(pieces)
                whole[d].append(time.perf_counter() - t)
                out.append(text.strip())
            answers[d] = out
    med = {d: (statistics.median(first[d]), statistics.median(whole[d])) for d in DTYPES}
    same = sum(a == b for a, b in zip(answers["bfloat16"], answers["float32"], strict=True))
    flags = cpu_flags()
    print(
        json.dumps(
            {
                "cpu": cpu_name(),
                "fast_bf16_flags": sorted(flags & FAST_BF16_FLAGS),
                "auto_picks": native_dtype(flags),
                "preset": gens["float32"].name,
                "answers": len(prompts),
                "first_piece_s": {d: round(med[d][0], 2) for d in DTYPES},
                "answer_s": {d: round(med[d][1], 2) for d in DTYPES},
                "float32_speedup_first": round(med["bfloat16"][0] / med["float32"][0], 2),
                "float32_speedup_answer": round(med["bfloat16"][1] / med["float32"][1], 2),
                "same_answers": f"{same}/{len(prompts)}",
            },
            indent=2,
        )
    )


if __name__ == "__main__":
    main()

"""Generation: time to first token and decode speed of `/ask/stream` vs the raw library call
with the same model, prompt and settings (greedy, same token budget), for each backend:

- transformers: raw `model.generate` with a `TextIteratorStreamer`;
- llama.cpp (if installed): raw `Llama.create_chat_completion(stream=True)`.

Every path is timed the same way: first text piece, last text piece, and the tokens of the
text it produced (counted with one tokenizer), so the ratios compare like with like.

    .venv/bin/python -m bench.bench_generate [--preset small] [--runs 5]
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import torch
from transformers import TextIteratorStreamer

from index.core import Models, Newsrag
from retrieval.answer.prompt import build_messages
from retrieval.models.transformers_backend import Generator
from service.app import create_app
from service.live import live_server
from service.loading import core_config, open_newsrag
from service.settings import Settings

QUESTIONS = {
    "short": "How many Armenian soldiers were killed?",
    "long": "Explain in detail what the article says about Armenia's arms suppliers and its "
    "relations with Russia.",
}
Run = tuple[float, float, int, float]  # ttft s, decode tok/s, tokens, total s


def timed(pieces: Callable[[], Iterator[str]], count: Callable[[str], int]) -> Run:
    t0 = time.perf_counter()
    first = last = None
    text = ""
    for piece in pieces():
        if piece:
            last = time.perf_counter()
            first = first or last
            text += piece
    assert first and last, "no text produced"
    n = count(text)
    return first - t0, (n - 1) / max(last - first, 1e-9), n, last - t0


def raw_transformers(gen: Generator, messages: list[dict[str, str]], n: int) -> Iterator[str]:
    inputs = gen._inputs(messages)
    streamer = TextIteratorStreamer(gen.tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**gen._gen_kwargs(inputs, n), "streamer": streamer}
    kwargs.pop("stopping_criteria")  # raw: the library's own loop (end of turn or budget)

    def run() -> None:
        with torch.inference_mode():
            gen._model.generate(**kwargs)

    th = threading.Thread(target=run)
    th.start()
    yield from streamer
    th.join()


def raw_llama(llm: Any, messages: list[dict[str, str]], n: int) -> Iterator[str]:
    llm.reset()  # a cold prompt, like the other paths
    for chunk in llm.create_chat_completion(
        messages=messages, max_tokens=n, temperature=0.0, top_k=1, stream=True
    ):
        yield chunk["choices"][0]["delta"].get("content") or ""


def over_http(url: str, question: str, before: Callable[[], None]) -> Iterator[str]:
    before()
    event = ""
    with httpx.stream("POST", f"{url}/ask/stream", json={"question": question}, timeout=600) as r:
        for line in r.iter_lines():
            if line.startswith("event: "):
                event = line[7:]
            elif line.startswith("data: ") and event == "token":
                yield json.loads(line[6:])["text"]


def measure(
    settings: Settings,
    pipe: Any,
    llm: Any,
    gen: Generator,
    messages: list[dict[str, str]],
    question: str,
    runs: int,
    count: Callable[[str], int],
) -> tuple[list[Run], list[Run], list[Run]]:
    """Interleaved runs of newsrag over HTTP (cold: no cached prompt; warm: right after
    another question, so the prompt prefix they share is cached) and of the raw call, all
    with the configured token budget (each stops at the end of turn or the budget)."""
    budget = settings.max_new_tokens
    other = next(q for q in QUESTIONS.values() if q != question)

    def reset() -> None:  # forget cached prompts: the raw calls start cold too
        if llm is not None:
            llm.reset()
        gen._prefix = None

    def raw() -> Iterator[str]:
        if llm is None:
            return raw_transformers(gen, messages, budget)
        return raw_llama(llm, messages, budget)

    with live_server(create_app(settings, pipe)) as url:
        ours_fn = lambda: over_http(url, question, reset)  # noqa: E731
        warm_fn = lambda: over_http(url, question, lambda: None)  # noqa: E731
        timed(ours_fn, count)  # warm up both paths
        timed(raw, count)
        ours: list[Run] = []
        raws: list[Run] = []
        warms: list[Run] = []
        for _ in range(runs):
            ours.append(timed(ours_fn, count))
            raws.append(timed(raw, count))
            timed(lambda: over_http(url, other, reset), count)
            warms.append(timed(warm_fn, count))
    return ours, raws, warms


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--index", default=os.environ.get("NEWSRAG_INDEX_DIR", "data/index"))
    args = ap.parse_args()
    settings = Settings(preset=args.preset, index_dir=Path(args.index), backend="transformers")
    pipe = open_newsrag(settings)
    gen = pipe.models.generator
    assert isinstance(gen, Generator)
    gen.load()
    count = lambda text: len(gen.tokenizer(text, add_special_tokens=False)["input_ids"])  # noqa: E731
    backends: dict[str, tuple[Any, Any]] = {"transformers": (pipe, None)}
    if importlib.util.find_spec("llama_cpp"):
        ll_settings = settings.model_copy(update={"backend": "llamacpp"})
        ll_core = core_config(ll_settings)
        ll_models = Models(pipe.models.embedder, Models.build(ll_core).generator)
        ll_pipe = Newsrag.open(ll_core, ll_models)
        ll_models.load()
        backends["llamacpp"] = (ll_pipe, ll_pipe.models.generator._llm)  # type: ignore[union-attr]

    results: dict[str, Any] = {"preset": args.preset}
    for label, question in QUESTIONS.items():
        messages = build_messages(question, pipe.pipeline.retrieve(question, settings.top_k)[1])
        prompt_tokens = int(gen._inputs(messages)["input_ids"].shape[1])
        row: dict[str, Any] = {"question": question, "prompt_tokens": prompt_tokens}
        for name, (bpipe, llm) in backends.items():
            ours, raws, warms = measure(
                settings, bpipe, llm, gen, messages, question, args.runs, count
            )
            med = lambda xs, i: round(statistics.median(x[i] for x in xs), 3)  # noqa: E731
            row[name] = {
                "raw": {"ttft_s": med(raws, 0), "tok_per_s": med(raws, 1), "tokens": med(raws, 2)},
                "newsrag_http": {
                    "ttft_s": med(ours, 0),
                    "tok_per_s": med(ours, 1),
                    "tokens": med(ours, 2),
                    "total_s": med(ours, 3),
                    "warm_ttft_s": med(warms, 0),
                    "warm_total_s": med(warms, 3),
                },
                "decode_ratio": round(med(ours, 1) / med(raws, 1), 3),
                "ttft_ratio_raw_over_ours": round(med(raws, 0) / med(ours, 0), 3),
            }
        results[label] = row
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()

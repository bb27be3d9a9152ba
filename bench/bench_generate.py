"""Generation: time to first token and decode speed of `/ask/stream` vs raw `model.generate`
with the same model, prompt and settings (greedy, same max_new_tokens).

    .venv/bin/python -m bench.bench_generate [--preset small] [--runs 5]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import threading
import time
from pathlib import Path

import httpx
import torch
import uvicorn
from transformers import TextIteratorStreamer

from retrieval.generator import Generator
from retrieval.prompt import build_messages
from service.app import create_app
from service.loading import make_pipeline
from service.settings import Settings

QUESTION = "How many Armenian soldiers were killed?"


def raw_run(
    gen: Generator, messages: list[dict[str, str]], max_new: int
) -> tuple[float, float, int]:
    """(ttft s, decode tokens/s, tokens) of plain model.generate with a streamer."""
    inputs = gen._inputs(messages)
    streamer = TextIteratorStreamer(gen.tokenizer, skip_prompt=True, skip_special_tokens=True)
    kwargs = {**gen._gen_kwargs(inputs, max_new), "streamer": streamer}
    kwargs.pop("stop_strings")  # the raw baseline: no stop strings, same token budget below
    kwargs.pop("tokenizer")
    t0 = time.perf_counter()
    out: list = []
    th = threading.Thread(target=lambda: out.append(gen._model.generate(**kwargs)))
    with torch.inference_mode():
        th.start()
        first = None
        for piece in streamer:
            if piece and first is None:
                first = time.perf_counter()
        th.join()
    end = time.perf_counter()
    n = int(out[0].shape[1] - inputs["input_ids"].shape[1])
    return (first or end) - t0, (n - 1) / max(end - (first or end), 1e-9), n


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--preset", default="small")
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--index", default=os.environ.get("NEWSRAG_INDEX_DIR", "data/index"))
    args = ap.parse_args()
    settings = Settings(preset=args.preset, index_dir=Path(args.index))
    pipe = make_pipeline(settings)
    gen = pipe.generator
    assert isinstance(gen, Generator)
    gen.load()
    hits = pipe.search(QUESTION, settings.top_k)
    messages = build_messages(QUESTION, hits)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(create_app(settings, pipe), port=port, log_level="warning")
    )
    threading.Thread(target=server.run, daemon=True).start()
    while not server.started:
        time.sleep(0.02)

    def http_run() -> tuple[float, float, int]:
        t0 = time.perf_counter()
        first = last = None
        text = ""
        event = ""
        with httpx.stream(
            "POST", f"http://127.0.0.1:{port}/ask/stream", json={"question": QUESTION}, timeout=300
        ) as r:
            for line in r.iter_lines():
                if line.startswith("event: "):
                    event = line[7:]
                elif line.startswith("data: ") and event == "token":
                    text += json.loads(line[6:])["text"]
                    last = time.perf_counter()
                    first = first or last
        assert first and last
        # SSE pieces are words (the streamer flushes at spaces): count real tokens instead.
        n = len(gen.tokenizer(text, add_special_tokens=False)["input_ids"])
        return first - t0, (n - 1) / max(last - first, 1e-9), n

    raw_run(gen, messages, 32)
    http_run()
    raws, https = [], []
    for _ in range(args.runs):
        https.append(http_run())
        raws.append(raw_run(gen, messages, https[-1][2]))
    server.should_exit = True
    med = lambda xs, i: statistics.median(x[i] for x in xs)  # noqa: E731
    res = {
        "preset": args.preset,
        "prompt_tokens": int(gen._inputs(messages)["input_ids"].shape[1]),
        "raw": {"ttft_s": round(med(raws, 0), 3), "tok_per_s": round(med(raws, 1), 2)},
        "newsrag_http": {
            "ttft_s": round(med(https, 0), 3),
            "tok_per_s": round(med(https, 1), 2),
            "note": "ttft includes retrieval and the HTTP round trip",
        },
    }
    res["decode_ratio"] = round(res["newsrag_http"]["tok_per_s"] / res["raw"]["tok_per_s"], 3)
    res["ttft_ratio_raw_over_ours"] = round(res["raw"]["ttft_s"] / res["newsrag_http"]["ttft_s"], 3)
    print(json.dumps(res, indent=2))


if __name__ == "__main__":
    main()

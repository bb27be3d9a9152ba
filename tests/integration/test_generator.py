"""The transformers generator with a real (tiny) model: stopping, streaming, embedder dtypes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from retrieval.models.transformers_backend import BlankLineStop, newline_tokens

pytestmark = pytest.mark.slow


def _ids(tokenizer, text: str) -> list[int]:
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


@pytest.mark.parametrize(
    ("answer", "stops_at"),
    [
        ("Four soldiers [1].\n\nAnother paragraph", "Four soldiers [1].\n\n"),
        ("One line\nsecond line", None),
        ("Ends with a newline\n", None),
    ],
)
def test_blank_line_stop_agrees_with_the_text(tiny_generator, answer, stops_at):
    """Feeding an answer token by token, the criterion fires exactly when the decoded text
    first holds a blank line, whichever way the tokenizer split the newlines."""
    tok = tiny_generator.tokenizer
    prompt = _ids(tok, "Question?\n")  # ends in a newline: must not count
    answer_ids = _ids(tok, answer)
    stop = BlankLineStop(newline_tokens(tok), len(prompt))
    fired_at = None
    for n in range(1, len(answer_ids) + 1):
        ids = torch.tensor([prompt + answer_ids[:n]])
        if bool(stop(ids, None)[0]):
            fired_at = n
            break
    if stops_at is None:
        assert fired_at is None
    else:
        assert fired_at is not None
        text = tok.decode(answer_ids[:fired_at])
        assert "\n\n" in text and "\n\n" not in tok.decode(answer_ids[: fired_at - 1])
        assert text.startswith(stops_at.rstrip("\n"))


def test_split_newlines_stop_too(tiny_generator):
    """Two separate newline tokens make a blank line as well."""
    tok = tiny_generator.tokenizer
    nl = _ids(tok, "\n")
    assert len(nl) == 1
    words = _ids(tok, "Four")
    stop = BlankLineStop(newline_tokens(tok), 0)
    assert not bool(stop(torch.tensor([words + nl]), None)[0])
    assert bool(stop(torch.tensor([words + nl + nl]), None)[0])


def test_generation_stops_at_the_first_blank_line(tiny_generator):
    """A letter opens with "Dear ...,", then a blank line: the answer ends there, in
    `generate` and in `stream` alike, while the model without the criterion writes on."""
    messages = [{"role": "user", "content": "Write a short letter to a friend."}]
    g = tiny_generator
    inputs = g._inputs(messages)
    kwargs = g._gen_kwargs(inputs, 30)
    kwargs.pop("stopping_criteria")
    with torch.inference_mode():
        unstopped = g.tokenizer.decode(
            g._model.generate(**kwargs)[0][inputs["input_ids"].shape[1] :],
            skip_special_tokens=True,
        )
    assert "\n\n" in unstopped.strip()
    whole = g.generate(messages, max_new_tokens=30)
    streamed = "".join(g.stream(messages, max_new_tokens=30)).strip()
    assert whole == streamed == unstopped.split("\n\n")[0].strip()


def test_int8_embedder_shares_the_vector_space():
    """The int8 ONNX copy must be interchangeable with the fp32 model (same index, same
    neighbours), or choosing it would silently break retrieval."""
    pytest.importorskip("onnxruntime")
    from retrieval.models.embedder import Embedder

    texts = [
        "Four Armenian soldiers were killed in a border clash with Azerbaijan.",
        "The central bank kept interest rates unchanged on Thursday.",
        "Farmers celebrated a record apple harvest in the valley.",
        "How many soldiers died at the Armenian border?",
    ]
    fp32 = Embedder(dtype="float32").encode(texts)
    int8 = Embedder(dtype="int8")
    q8 = int8.encode(texts)
    assert q8.shape == fp32.shape and q8.dtype == np.float32
    assert np.allclose(np.linalg.norm(q8, axis=1), 1.0, atol=1e-5)
    assert float((fp32 * q8).sum(axis=1).min()) > 0.99
    # The question's nearest article is the same with both.
    assert int(np.argmax(fp32[:3] @ fp32[3])) == int(np.argmax(q8[:3] @ q8[3])) == 0
    assert int8.dimension == 384 and int8.max_tokens == 256
    assert int8.count_tokens(["two words"]) == [2]


def test_prompt_prefix_cache_gives_the_same_answers(exact_decoding, seed_index_dir, embedder):
    """The second prompt resumes from the KV cache of the prefix it shares with the first
    (system rule, few-shot examples); answers and choice scores must not change."""
    from retrieval.answer.prompt import build_messages
    from tests.fakes import make_newsrag

    rag = make_newsrag(seed_index_dir, embedder, None, readonly=True)
    g = exact_decoding
    prompts = [
        build_messages(q, rag.search(q, 3))
        for q in ("How many Armenian soldiers were killed?", "Who supplies arms to Armenia?")
    ]
    choices = ["Four", "France and India", "Nobody"]
    fresh = []
    for m in prompts:
        g._prefix = None
        fresh.append((g.generate(m), g.choice_scores(m, choices)))
    g._prefix = None
    before = g.usage.reused_prompt_tokens
    g.generate(prompts[1])  # remembered: the other prompt
    reused = []
    for m in prompts:
        text = "".join(g.stream(m)).strip()
        reused.append((text, g.choice_scores(m, choices)))
    assert g.usage.reused_prompt_tokens - before > 2 * 200  # the shared prefix was not recomputed
    # bf16 rounds a prefix computed on its own slightly differently: the same answer line
    # (the tiny model may ramble on differently after it), the same choice, scores within
    # bf16 noise.
    best = lambda xs: max(range(len(xs)), key=lambda i: xs[i])  # noqa: E731
    first_line = lambda text: text.split("\n", 1)[0]  # noqa: E731
    for (a, sa), (b, sb) in zip(fresh, reused, strict=True):
        assert first_line(a) == first_line(b)
        assert best(sa) == best(sb) and sa == pytest.approx(sb, abs=0.25)
    # Right after its answer, a prompt's choices are scored from the cached prompt.
    assert first_line(g.generate(prompts[0])) == first_line(fresh[0][0])
    shared = g.choice_scores(prompts[0], choices)
    assert best(shared) == best(fresh[0][1])
    assert shared == pytest.approx(fresh[0][1], abs=0.25)


def test_choice_scores_after_drafted_generation_match_fresh_ones(
    tiny_generator, seed_index_dir, embedder
):
    """Prompt-lookup drafting rolls the KV cache back and forth; the prompt cache kept for
    the next call must still be the prompt's (it once was not, and choice scores after an
    answer became garbage)."""
    from retrieval.answer.prompt import ANSWER_LABEL, build_messages
    from tests.fakes import make_newsrag

    rag = make_newsrag(seed_index_dir, embedder, None, readonly=True)
    g = tiny_generator
    assert g.prompt_lookup > 0
    choices = ["Four", "France and India", "Nobody"]
    prompts = [
        build_messages(q, rag.search(q, 3))
        for q in ("Who supplies arms to Armenia?", "How many Armenian soldiers were killed?")
    ]
    g._prefix = None
    fresh = g.choice_scores(prompts[1], choices, prefix=ANSWER_LABEL)
    g.generate(prompts[0])
    g.generate(prompts[1])
    after = g.choice_scores(prompts[1], choices, prefix=ANSWER_LABEL)
    assert after == pytest.approx(fresh, abs=0.25)


def test_the_generator_runs_in_the_precision_the_cpu_computes_natively(tiny_generator):
    """bf16 only where the CPU has AMX or AVX512-BF16: emulated elsewhere, it read prompts
    ~2.7x and wrote answers ~2x slower than float32 (bench/bench_generator_dtype.py)."""
    from retrieval.models.cpu import native_dtype
    from retrieval.models.transformers_backend import Generator

    assert tiny_generator.dtype == native_dtype()
    assert tiny_generator._model.dtype == getattr(torch, native_dtype())
    assert Generator("tiny", "unused", dtype="bfloat16").dtype == "bfloat16"

"""The optional llama.cpp backend against the transformers one, on the same GGUF weights."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from index.core import Models, Newsrag
from retrieval.answer.prompt import build_messages
from retrieval.errors import InvalidInputError
from service.app import create_app
from service.loading import core_config
from service.settings import Settings
from tests.conftest import MODEL_CACHE
from tests.fakes import LOCAL, make_newsrag

pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

SEED_Q = "How many Armenian soldiers were killed?"


@pytest.fixture(scope="module")
def llama_tiny():
    from retrieval.models.llamacpp_backend import LlamaCppGenerator

    g = LlamaCppGenerator("tiny", MODEL_CACHE, max_new_tokens=48)
    g.load()
    return g


@pytest.fixture(scope="module")
def seed_messages(seed_index_dir, embedder):
    rag = make_newsrag(seed_index_dir, embedder, None, readonly=True)
    return build_messages(SEED_Q, rag.pipeline.retrieve(SEED_Q, 5)[1])


def test_same_prompt_tokens_as_transformers(llama_tiny, tiny_generator, seed_messages):
    """Both backends must feed the model the very same tokens, chat template included."""
    hf = tiny_generator._inputs(seed_messages)["input_ids"][0].tolist()
    assert llama_tiny.prompt_tokens(seed_messages) == hf


def test_same_greedy_answer_and_choice_order_as_transformers(
    llama_tiny, exact_decoding, seed_messages
):
    tiny_generator = exact_decoding
    assert llama_tiny.generate(seed_messages) == tiny_generator.generate(seed_messages, 48)
    choices = ["Four", "Forty", "Two hundred", "None"]
    ours = llama_tiny.choice_scores(seed_messages, choices)
    theirs = tiny_generator.choice_scores(seed_messages, choices)
    # The two backends order the options alike wherever transformers does not see a near-tie:
    # on an AMD EPYC without AMX two close options ("Forty", "Two hundred") swapped places,
    # at the previous revision too — rounding, not a scoring difference.
    for i in range(len(choices)):
        for j in range(len(choices)):
            if theirs[i] - theirs[j] > 0.25:
                assert ours[i] > ours[j], (choices[i], choices[j], ours, theirs)
    assert max(abs(a - b) for a, b in zip(ours, theirs, strict=True)) < 0.5
    # Scoring right after the answer (its prompt still in the KV cache) gives the same
    # numbers as scoring alone.
    llama_tiny.generate(seed_messages)
    assert llama_tiny.choice_scores(seed_messages, choices) == pytest.approx(ours, abs=1e-3)
    # Scores after the answer label: the same prompt plus the label, the label not scored.
    labelled = llama_tiny.choice_scores(seed_messages, choices, prefix="Answer:")
    assert labelled == pytest.approx(
        tiny_generator.choice_scores(seed_messages, choices, prefix="Answer:"), abs=0.5
    )


def test_stream_matches_generate_and_stops_at_a_blank_line(llama_tiny):
    messages = [{"role": "user", "content": "Write a short letter to a friend."}]
    whole = llama_tiny.generate(messages, 30)
    assert whole == "".join(llama_tiny.stream(messages, 30)).strip()
    assert whole and "\n\n" not in whole


def test_cancel_stops_the_stream(llama_tiny):
    messages = [{"role": "user", "content": "Tell me a long story about a dragon."}]
    cancel = threading.Event()
    pieces = []
    for piece in llama_tiny.stream(messages, 200, cancel):
        pieces.append(piece)
        if len(pieces) == 3:
            cancel.set()
    assert len(pieces) == 3


def test_prompt_longer_than_the_context_is_a_clear_error(tmp_path):
    from retrieval.models.llamacpp_backend import LlamaCppGenerator

    small_ctx = LlamaCppGenerator("tiny", MODEL_CACHE, n_ctx=64)
    with pytest.raises(InvalidInputError, match="context"):
        small_ctx.generate([{"role": "user", "content": "word " * 200}])


def test_service_answers_the_seed_question_with_llamacpp(seed_index_dir, embedder):
    settings = Settings(
        index_dir=seed_index_dir, preset="tiny", backend="llamacpp", cache_dir=MODEL_CACHE
    )
    config = core_config(settings)
    rag = Newsrag.open(config, Models(embedder, Models.build(config).generator))
    with TestClient(create_app(settings, rag), base_url=LOCAL) as client:
        body = client.post("/ask", json={"question": SEED_Q}).json()
        assert body["citations"][0]["published"] == "2024-09-20"
        assert body["timings_ms"]["generate"] > 0
        events = client.post("/ask/stream", json={"question": SEED_Q}).text
        assert "event: token" in events and "event: done" in events


def test_packaged_weights_are_served_as_they_are(seed_messages):
    """NEWSRAG_WEIGHTS=original: the packaged GGUF file, copied once into the cache, answers
    the seed question (faster decoding than bf16; docs/BENCHMARKS.md)."""
    from retrieval.models.llamacpp_backend import LlamaCppGenerator, encoded_gguf
    from retrieval.models.presets import PRESETS

    path = encoded_gguf("tiny", MODEL_CACHE, "original")
    folder, name = PRESETS["tiny"].gguf_source(MODEL_CACHE / "unused")
    assert path.read_bytes() == (folder / name).read_bytes()
    core = core_config(Settings(preset="tiny", weights="original", cache_dir=MODEL_CACHE))
    gen = Models.build(core).generator
    assert isinstance(gen, LlamaCppGenerator) and gen.encoding == "original"
    assert "four" in gen.generate(seed_messages).lower()


def test_a_remembered_opening_is_restored_and_answers_alike(seed_index_dir, embedder):
    """A prompt whose opening (a kind's instructions and examples) was remembered is read
    from the copy after another kind's prompt took the cache, and scores and answers exactly
    as when that opening was still in the cache. (Read in one go from the start, the scores
    differ in the third decimal: llama.cpp rounds differently for another split of the
    prompt into batches — as with any prefix reuse.)"""
    from retrieval.answer.kinds import QuestionType
    from retrieval.answer.prompt import build_messages
    from retrieval.models.llamacpp_backend import LlamaCppGenerator, _shared_prefix

    rag = make_newsrag(seed_index_dir, embedder, None, readonly=True)
    q = "Did Armenia report soldiers killed at the border?"
    yes_no = build_messages(q, rag.pipeline.retrieve(q, 5)[1], QuestionType.YESNO)
    head = build_messages("", [], QuestionType.YESNO)
    choices = ["Yes", "No"]

    live = LlamaCppGenerator("tiny", MODEL_CACHE, max_new_tokens=24)
    live.generate(head, 1)  # the opening is still in the cache
    live_reply = live.generate(yes_no)
    live.generate(head, 1)
    live_scores = live.choice_scores(yes_no, choices)

    restored = LlamaCppGenerator("tiny", MODEL_CACHE, max_new_tokens=24)
    restored.remember(head)
    restored.remember(build_messages("", []))  # the factoid opening took the cache
    opening = _shared_prefix(restored.prompt_tokens(head), restored.prompt_tokens(yes_no))
    reused = restored.usage.reused_prompt_tokens
    assert restored.generate(yes_no) == live_reply
    assert restored.usage.reused_prompt_tokens - reused >= opening > 200
    restored.remember(build_messages("", []))
    assert restored.choice_scores(yes_no, choices) == live_scores

"""SSE streaming, follow-up questions and citation verification, with fake models."""

from __future__ import annotations

import json

import pytest

from retrieval.check.verify import (
    CitationVerifier,
    ClaimCheck,
    lexical_support,
    shown_where_supported,
)
from retrieval.errors import InvalidInputError
from retrieval.options import AskOptions
from retrieval.types import Citation, Hit
from tests.fakes import FakeEmbedder
from tests.unit.test_api import client, rag  # noqa: F401  (fixtures)


def read_sse(response) -> list[tuple[str, dict]]:
    events = []
    for block in response.text.strip().split("\n\n"):
        lines = dict(line.split(": ", 1) for line in block.splitlines())
        events.append((lines["event"], json.loads(lines["data"])))
    return events


def test_stream_event_order_and_final_json(client):  # noqa: F811
    with client.stream(
        "POST", "/ask/stream", json={"question": "How many soldiers were killed at the border?"}
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        r.read()
        events = read_sse(r)
    kinds = [e for e, _ in events]
    assert kinds[0] == "sources" and kinds[-1] == "done"
    assert set(kinds[1:-1]) == {"token"}
    done = events[-1][1]
    assert "".join(d["text"] for e, d in events if e == "token").strip() == "Four soldiers [1]."
    assert done["answer"] == "Four soldiers [1]."
    assert [c["id"] for c in events[0][1]["citations"]] == [c["id"] for c in done["citations"]]
    assert done["timings_ms"]["sources"] <= done["timings_ms"]["first_token"]
    assert done["timings_ms"]["first_token"] <= done["timings_ms"]["total"]
    # the first word the reader sees comes with (not before) the first model token
    assert done["timings_ms"]["first_token"] <= done["timings_ms"]["first_word"]
    assert done["timings_ms"]["first_word"] <= done["timings_ms"]["total"]


def test_stream_abstains_without_tokens(client):  # noqa: F811
    r = client.post("/ask/stream", json={"question": "zebra quantum xylophone"})
    kinds = [e for e, _ in read_sse(r)]
    assert kinds == ["sources", "done"]
    assert read_sse(r)[-1][1]["abstained"] is True


def test_stream_bad_input_is_plain_422(client):  # noqa: F811
    r = client.post("/ask/stream", json={"question": " "})
    assert r.status_code == 422 and "question" in r.json()["detail"]


def test_stream_generator_failure_is_error_event(client, rag):  # noqa: F811
    def boom(*args, **kwargs):
        yield "Four"
        raise RuntimeError("model crashed")

    rag.pipeline.generator.stream = boom
    events = read_sse(client.post("/ask/stream", json={"question": "soldiers killed border?"}))
    assert [e for e, _ in events] == ["sources", "token", "error"]
    # An unexpected failure names its kind, not its internals (they go to the server log).
    assert events[-1][1] == {
        "detail": "internal error (RuntimeError); see the server log",
        "status": 500,
    }


def test_stream_backend_failure_keeps_its_status(client, rag):  # noqa: F811
    from retrieval.errors import GenerationError

    def down(*args, **kwargs):
        raise GenerationError("the generation server at http://gpu:8000/v1 failed")
        yield ""

    rag.pipeline.generator.stream = down
    events = read_sse(client.post("/ask/stream", json={"question": "soldiers killed border?"}))
    assert [e for e, _ in events] == ["sources", "error"]
    assert events[-1][1]["status"] == 502 and "generation server" in events[-1][1]["detail"]
    r = client.post("/ask", json={"question": "soldiers killed border?"})
    assert r.status_code == 502 and "generation server" in r.json()["detail"]


def test_follow_up_is_rewritten_with_history(client, rag):  # noqa: F811
    rag.pipeline.generator.reply = "Were soldiers killed at the border?"
    body = client.post(
        "/ask",
        json={
            "question": "And at the border?",
            "history": [
                {"role": "user", "content": "Were soldiers killed?"},
                {"role": "assistant", "content": "Four soldiers [1]."},
            ],
        },
    ).json()
    assert body["standalone_question"] == "Were soldiers killed at the border?"
    rewrite_prompt = rag.pipeline.generator.calls[0][-1]["content"]
    assert "Were soldiers killed?" in rewrite_prompt and "And at the border?" in rewrite_prompt


def test_bad_history_is_422(client):  # noqa: F811
    r = client.post(
        "/ask", json={"question": "q?", "history": [{"role": "system", "content": "x"}]}
    )
    assert r.status_code == 422 and "history" in r.json()["detail"]


def _cit(i: int, text: str) -> Citation:
    hit = Hit(i, f"a{i}", f"T{i}", None, None, None, text, 0.9)
    return Citation(id=i, hit=hit)


def test_lexical_support_normalises_numbers():
    assert lexical_support("4 soldiers", "Four soldiers were killed.") == 1.0
    assert lexical_support("Paris", "Four soldiers were killed.") == 0.0


def test_verifier_marks_wrong_citation_unsupported_and_attributes_uncited():
    v = CitationVerifier(FakeEmbedder(), threshold=0.5)
    cits = [_cit(1, "The bank kept rates unchanged."), _cit(2, "Four soldiers were killed.")]
    text, ok = v.verify("How many soldiers were killed?", "Four soldiers were killed [1].", cits)
    # The wrong citation is pointed at the source that says it.
    assert ok and text == "Four soldiers were killed [2]."
    assert not cits[0].cited and cits[1].supported is True
    cits = [_cit(1, "The bank kept rates unchanged."), _cit(2, "A storm hit the coast.")]
    text, ok = v.verify("How many soldiers were killed?", "Four soldiers were killed [1].", cits)
    assert cits[0].cited and cits[0].supported is False
    assert not ok
    cits = [_cit(1, "The bank kept rates unchanged."), _cit(2, "Four soldiers were killed.")]
    text, ok = v.verify("How many soldiers were killed?", "Four soldiers were killed.", cits)
    assert ok and text == "Four soldiers were killed [2]."
    assert cits[1].supported is True and not cits[0].cited


@pytest.mark.parametrize("mode", ["abstain", "flag"])
def test_unsupported_answer_policy(client, rag, mode):  # noqa: F811
    rag.pipeline.judge.unsupported = mode
    rag.pipeline.generator.reply = "Bananas are purple [1]."
    body = client.post("/ask", json={"question": "How many soldiers were killed?"}).json()
    assert body["abstained"] is (mode == "abstain")
    if mode == "flag":
        assert body["citations"][0]["supported"] is False


def test_client_disconnect_stops_generation(rag, tmp_path):  # noqa: F811
    """A real server and a real HTTP client that hangs up after the first tokens."""
    import threading
    import time

    import httpx

    from retrieval.models.base import PREFIX_CACHE
    from service.app import create_app
    from service.live import live_server
    from service.settings import Settings

    produced: list[int] = []
    cancelled = threading.Event()

    def slow_stream(messages, max_new_tokens=None, cancel=None):
        # Like the real generator: the model runs in its own thread and checks `cancel`.
        import queue

        pieces: queue.Queue = queue.Queue()

        def model() -> None:
            for i in range(400):
                if cancel is not None and cancel.is_set():
                    cancelled.set()
                    break
                produced.append(i)
                pieces.put(f"w{i} ")
                time.sleep(0.02)
            pieces.put(None)

        threading.Thread(target=model, daemon=True).start()
        while (piece := pieces.get()) is not None:
            yield piece

    gen = rag.pipeline.generator
    gen.stream = slow_stream
    gen.capabilities = frozenset({*gen.capabilities, PREFIX_CACHE})  # answers take turns
    app = create_app(Settings(index_dir=tmp_path), rag)
    with live_server(app) as url:
        with httpx.stream(
            "POST",
            f"{url}/ask/stream",
            json={"question": "How many soldiers were killed at the border?"},
            timeout=10,
        ) as r:
            tokens = 0
            for line in r.iter_lines():
                if line.startswith("event: token"):
                    tokens += 1
                    if tokens == 3:
                        break
        assert cancelled.wait(5), "generation kept running after the client left"
        assert len(produced) < 100
        turn = gen.turn()
        assert turn.acquire(timeout=5), "the answer kept the reader after the client left"
        turn.release()


def test_useless_rewrite_falls_back_to_the_previous_question(client, rag):  # noqa: F811
    rag.pipeline.generator.reply = "What is happening now?"  # brings nothing from the conversation
    body = client.post(
        "/ask",
        json={
            "question": "And at the border?",
            "history": [{"role": "user", "content": "Were soldiers killed?"}],
        },
    ).json()
    assert body["standalone_question"] == "Were soldiers killed? And at the border?"


def test_self_contained_question_is_not_rewritten(client, rag):  # noqa: F811
    body = client.post(
        "/ask",
        json={
            "question": "Did the central bank change interest rates?",
            "history": [{"role": "user", "content": "Were soldiers killed at the border?"}],
        },
    ).json()
    assert body["standalone_question"] == "Did the central bank change interest rates?"
    assert rag.pipeline.generator.calls[0][-1]["content"].endswith(
        "Question: Did the central bank change interest rates?"
    )


@pytest.mark.parametrize(
    ("question", "follow_up"),
    [
        ("And who supplies them now?", True),
        ("What about India?", True),
        ("Why did it happen?", True),
        ("What is the capital of France?", False),
        ("How many Armenian soldiers were killed?", False),
        # "this week" names a time, not something said before
        ("What happened at the border this week?", False),
        ("When was this article published?", True),
    ],
)
def test_is_follow_up(question, follow_up):
    from retrieval.find.followup import is_follow_up

    assert is_follow_up(question) is follow_up


def test_key_terms_are_names_and_numbers_the_question_does_not_give():
    from retrieval.check.verify import key_terms, missing_terms, short_is_supported

    assert key_terms("Nikol Pashinyan was re-elected president of Azerbaijan", "Who leads?") == [
        "pashinyan",
        "azerbaijan",
    ]
    assert key_terms("Four soldiers were killed in Syunik", "How many in Syunik?") == ["4"]
    source = "President Ilham Aliyev was re-elected. Armenia's prime minister lost support."
    assert missing_terms("Ilham Aliyev was re-elected on Sunday", source) == ["sunday"]
    # Numbers are compared as the source's words are read: thousands separators, scales.
    source = "Over 100,000 people fled, and the fund holds 1.5 million euros."
    assert missing_terms("100,000 fled", source) == []
    assert missing_terms("It holds 1.5 million", source) == []
    assert missing_terms("It holds 2 million", source) == ["2000000"]
    assert short_is_supported("100,000", source)


def test_a_name_the_source_never_mentions_is_not_supported():
    v = CitationVerifier(FakeEmbedder(), threshold=0.5)
    src = "The attack follows President Ilham Aliyev's reelection in Azerbaijan."
    cits = [_cit(1, src)]
    q = "Who was recently re-elected president of Azerbaijan?"
    _, ok = v.verify(q, "Nikol Pashinyan was re-elected president of Azerbaijan [1].", cits)
    assert not ok and cits[0].supported is False
    cits = [_cit(1, src)]
    _, ok = v.verify(q, "Ilham Aliyev was re-elected president [1].", cits, short="Ilham Aliyev")
    assert ok
    cits = [_cit(1, src)]
    _, ok = v.verify(q, "Aliyev was re-elected president [1].", cits, short="Nikol Pashinyan")
    assert not ok  # the sentence is fine, but the short answer is not in the source


def test_sentence_with_an_invented_detail_falls_back_to_the_short_answer(client, rag):  # noqa: F811
    rag.pipeline.generator.reply = (
        "Answer: Four [1]\nSentence: Four soldiers were killed at the border on Sunday [1]."
    )
    body = client.post("/ask", json={"question": "How many soldiers were killed at the border?"})
    data = body.json()
    assert data["answer"] == "Four [1]." and data["short_answer"] == "Four"
    assert data["abstained"] is False and data["abstain_reason"] is None


def test_ask_is_the_stream_drained_and_validates_before_any_event(rag):  # noqa: F811
    from retrieval.errors import InvalidInputError

    q = "How many soldiers were killed at the border?"
    rag.pipeline.generator.reply = "Answer: Four [1]\nSentence: Four soldiers were killed [1]."
    events = list(rag.ask_stream(q))
    done = events[-1]
    assert done.event == "done" and done.answer is not None
    assert "".join(e.data["text"] for e in events if e.event == "token") == (
        "Four soldiers were killed [1]."
    )
    answer = rag.ask(q)
    assert answer.to_dict()["answer"] == done.data["answer"]
    assert answer.short_answer == "Four"
    with pytest.raises(InvalidInputError):
        rag.ask_stream(" ")  # raised by the call itself, before any event is produced


def test_short_only_stops_reading_the_model(rag):  # noqa: F811
    pieces_read: list[str] = []
    gen = rag.pipeline.generator

    def counting(messages, max_new_tokens=None, cancel=None):
        for piece in ["Answer:", " Four", " [1]", "\n", "Sentence:", " long", " text", "."]:
            pieces_read.append(piece)
            yield piece

    gen.stream = counting
    answer = rag.ask("How many soldiers were killed at the border?", AskOptions(sentence=False))
    assert answer.short_answer == "Four" and answer.answer == "Four [1]."
    assert "Sentence:" not in pieces_read


def test_choices_are_scored_on_the_evidence_and_closed_book_only_when_asked(rag):  # noqa: F811
    q = "How many soldiers were killed at the border?"
    answer = rag.ask(q, AskOptions(choices=["Four soldiers", "Bananas"], sentence=False))
    detail = answer.choice_detail
    assert detail is not None and set(detail) == {"evidence", "combined"}
    assert answer.choice_scores == detail["combined"]
    assert answer.choice_scores[0] > answer.choice_scores[1]
    rag.pipeline.config.mc_closed_book_reading = True  # as the RealTime QA evaluation asks
    try:
        again = rag.ask(q, AskOptions(choices=["Four soldiers", "Bananas"], sentence=False))
        assert again.choice_detail is not None and "closed_book" in again.choice_detail
        assert again.choice_scores == answer.choice_scores  # read, not weighted in
    finally:
        rag.pipeline.config.mc_closed_book_reading = False


def test_multiple_choice_needs_a_scoring_backend(rag):  # noqa: F811
    from retrieval.errors import UnsupportedError
    from retrieval.models.base import BaseGenerator

    class TextOnly(BaseGenerator):
        def stream(self, messages, max_new_tokens=None, cancel=None, opening=""):
            yield "Four [1]."

    rag.pipeline.generator = TextOnly()
    with pytest.raises(UnsupportedError) as err:
        rag.ask("How many soldiers?", AskOptions(choices=["a", "b"]))
    assert err.value.status == 501


def test_a_claim_citing_the_wrong_source_is_pointed_at_the_right_one():
    v = CitationVerifier(FakeEmbedder(), threshold=0.5)
    cits = [_cit(1, "A storm hit the coast."), _cit(2, "European regulators want one charger.")]
    q = "Which continent will require a common charger?"
    text, ok = v.verify(q, "Europe [1].", cits, short="Europe")
    assert ok and text == "Europe [2]."
    assert cits[1].cited and cits[1].supported and not cits[0].cited


def test_a_sentence_that_does_not_state_the_answer_is_replaced_by_it(client, rag):  # noqa: F811
    rag.pipeline.generator.reply = (
        "Answer: Four [1]\nSentence: Soldiers were at the border, with the [1]."
    )
    data = client.post("/ask", json={"question": "How many soldiers were killed at the border?"})
    assert data.json()["answer"] == "Four [1]."


def test_the_header_the_model_read_supports_a_claim_but_is_never_the_quote():
    """The model reads each source's title and date: "when was it published?" is answered by
    them, in words or ISO form; the quote stays a sentence of the text (it is highlighted in
    it); a date the header does not give, or a question about another date, is unsupported."""
    from datetime import date

    from retrieval.types import Citation, Hit

    def cit() -> Citation:
        hit = Hit(1, "a", "Border clash", date(2024, 9, 20), None, None, "Four died.", 0.5)
        return Citation(1, hit)

    v = CitationVerifier(FakeEmbedder(), threshold=0.5)
    q = "When was the article about the border clash published?"
    for short in ("2024-09-20", "September 20, 2024"):
        cits = [cit()]
        sentence = f"The article was published on {short} [1]."
        _, ok = v.verify(q, sentence, cits, short=short)
        assert ok and cits[0].supported, short
        assert cits[0].quote in (None, "Four died.")
    cits = [cit()]
    _, ok = v.verify(q, "It was published on 2023-01-05 [1].", cits, short="2023-01-05")
    assert not ok
    # The date is the article's, not its events': it supports no other date question.
    cits = [cit()]
    q = "On what date did the border clash begin?"
    _, ok = v.verify(q, "The clash began on September 20 [1].", cits, short="September 20")
    assert not ok


def test_multiple_choice_on_its_own_evidence_generates_nothing(rag):  # noqa: F811
    gen = rag.pipeline.generator
    before = len(gen.calls)
    q = "How many soldiers were killed at the border?"
    mc = rag.pipeline.choose_answer(q, ["Four soldiers", "Bananas"])
    assert len(gen.calls) == before  # scored, not generated
    assert set(mc.detail) == {"evidence", "combined"}
    assert mc.scores == mc.detail["combined"] and mc.scores[0] > mc.scores[1]
    assert mc.sources and len(mc.sources) <= rag.pipeline.config.top_k
    with pytest.raises(InvalidInputError):
        rag.pipeline.choose_answer(q, [])
    with pytest.raises(InvalidInputError, match="at most 26"):
        rag.pipeline.choose_answer(q, [str(i) for i in range(27)])


def test_the_short_answer_streams_before_its_sentence(client, rag):  # noqa: F811
    """The reader sees the answer itself as soon as it is written, not only once the sentence
    after it starts (#31: time to the first visible word)."""
    rag.pipeline.generator.reply = (
        "Answer: Four soldiers [1]\nSentence: Four soldiers were killed at the border [1]."
    )
    q = {"question": "How many soldiers were killed at the border?"}
    with client.stream("POST", "/ask/stream", json=q) as r:
        r.read()
        events = read_sse(r)
    kinds = [e for e, _ in events]
    assert "short" in kinds and kinds.index("short") < kinds.index("token")
    assert "".join(d["text"] for e, d in events if e == "short") == "Four soldiers "  # no [1]
    timings = events[-1][1]["timings_ms"]
    assert timings["first_word"] <= timings["sentence"]  # the short answer came first
    assert events[-1][1]["short_answer"] == "Four soldiers"


def _citations(*flags: tuple[bool, bool]) -> list[Citation]:
    out = []
    for i, (cited, ok) in enumerate(flags, start=1):
        h = Hit(i, f"a{i}", "t", None, None, None, "text", 1.0)
        out.append(Citation(id=i, hit=h, cited=cited, supported=ok if cited else None))
    return out


def test_a_sentence_whose_only_marker_pointed_elsewhere_cites_the_source_that_says_it():
    # The check found source 1 says it; the reader's mid-sentence marker named source 2.
    cits = _citations((True, True), (False, False))
    text = "Economists, including Larry Summers [2], warned about inflation."
    checks = [
        ClaimCheck("Economists, including Larry Summers, warned about inflation.", [1], 1, True)
    ]
    out = shown_where_supported(text, cits, checks)
    assert out == "Economists, including Larry Summers, warned about inflation [1]."
    # Without the checks (a fact's answer): the sources that support it.
    out = shown_where_supported(
        "Four soldiers [2] were killed.", _citations((True, True), (True, False))
    )
    assert out == "Four soldiers were killed [1]."
    # A sentence that keeps a marker of its own is left as it is, less the wrong one.
    out = shown_where_supported(
        "Four [1] soldiers [2] died.", _citations((True, True), (True, False))
    )
    assert out == "Four [1] soldiers died."

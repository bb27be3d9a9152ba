"""An OpenAI-compatible face: `POST /v1/chat/completions` (stream and not) and `GET /v1/models`,
answering with retrieval-augmented, cited answers, so existing OpenAI clients and chat UIs work."""

from __future__ import annotations

import json
import threading
import time
import uuid
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from starlette.concurrency import run_in_threadpool

from index.formats import text_problem
from retrieval.options import AskOptions, StreamEvent
from retrieval.types import Turn
from service.deps import NewsragDep
from service.streaming import sse_response

MODEL_ID = "newsrag"


def _checked_content(value: Any) -> Any:
    """Text that cannot be stored or embedded (a lone surrogate, NUL) is refused with a 422."""
    texts = [value] if isinstance(value, str) else [p.text or "" for p in value or []]
    for t in texts:
        problem = text_problem(t) if t.strip() else None
        if problem:
            raise ValueError(problem)
    return value


class ContentPart(BaseModel):
    model_config = ConfigDict(extra="allow")  # image_url, … parts are accepted and ignored
    type: str
    text: str | None = None


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[ContentPart] | None = None

    _valid = field_validator("content")(_checked_content)

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return " ".join(p.text or "" for p in self.content if p.type == "text")
        return ""


class ChatRequest(BaseModel):
    model_config = ConfigDict(extra="allow")  # temperature, top_p, … are accepted and ignored
    model: str = MODEL_ID
    messages: list[ChatMessage] = Field(..., min_length=1)
    stream: bool = False


def _split(body: ChatRequest) -> tuple[str, list[Turn]]:
    turns = [m for m in body.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user" or not turns[-1].text().strip():
        raise HTTPException(422, "messages: the last message must be a non-empty user message")
    history = [Turn(m.role, m.text()) for m in turns[:-1] if m.text().strip()]  # type: ignore[arg-type]
    return turns[-1].text(), history


def _extras(answer: dict[str, Any]) -> dict[str, Any]:
    """newsrag's fields beside OpenAI's: sources, the short answer, abstention."""
    keys = ("citations", "short_answer", "abstained", "abstain_reason", "confidence")
    return {k: answer[k] for k in keys if k in answer}


def build_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["openai"])

    @router.get("/models")
    def models() -> dict[str, Any]:
        """The one model newsrag serves: retrieval-augmented answers over the index."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsrag"}],
        }

    @router.post("/chat/completions")
    async def chat(body: ChatRequest, request: Request, rag: NewsragDep) -> Any:
        """Chat completions; citations are in the text as [n] and in a `citations` field."""
        if body.model != MODEL_ID:
            raise HTTPException(404, f"model: unknown model {body.model!r}; use {MODEL_ID!r}")
        question, history = _split(body)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not body.stream:
            answer = await run_in_threadpool(rag.ask, question, AskOptions(history=history))
            data = answer.to_dict()
            return {
                "id": cid,
                "object": "chat.completion",
                "created": created,
                "model": MODEL_ID,
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "stop",
                        "message": {"role": "assistant", "content": data["answer"]},
                    }
                ],
                "usage": {"prompt_tokens": 0, "completion_tokens": 0, "total_tokens": 0},
                **_extras(data),
            }
        cancel = threading.Event()
        events = rag.ask_stream(question, AskOptions(history=history), cancel)
        streamed = ""

        def chunk(delta: dict[str, Any], finish: str | None = None, **extra: Any) -> str:
            payload = {
                "id": cid,
                "object": "chat.completion.chunk",
                "created": created,
                "model": MODEL_ID,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
                **extra,
            }
            return f"data: {json.dumps(payload, ensure_ascii=False)}\n\n"

        def frame(event: StreamEvent) -> list[str]:
            nonlocal streamed
            if event.event == "token":
                streamed += event.data["text"]
                return [chunk({"content": event.data["text"]})]
            if event.event == "error":
                # OpenAI's streaming error shape; the client sees why the answer stopped.
                err = {"error": {"message": event.data["detail"], "type": "server_error"}}
                return [f"data: {json.dumps(err)}\n\n"]
            if event.event != "done":
                return []
            final = event.data["answer"]
            out = []
            # The verified answer may differ from the raw tokens (abstention, dropped or added
            # citations): send the difference, then the sources.
            if final != streamed.strip():
                tail = final[len(streamed) :] if final.startswith(streamed) else "\n\n" + final
                out.append(chunk({"content": tail}))
            out.append(chunk({}, "stop", **_extras(event.data)))
            return out

        return await sse_response(
            events,
            request,
            cancel,
            frame,
            head=[chunk({"role": "assistant", "content": ""})],
            tail=["data: [DONE]\n\n"],
        )

    return router

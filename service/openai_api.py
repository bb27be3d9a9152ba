"""An OpenAI-compatible face: `POST /v1/chat/completions` (stream and not) and `GET /v1/models`,
answering with retrieval-augmented, cited answers, so existing OpenAI clients and chat UIs work."""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import AsyncIterator
from typing import Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Request
from pydantic import BaseModel, ConfigDict, Field
from starlette.concurrency import run_in_threadpool
from starlette.responses import StreamingResponse

from retrieval.types import Turn
from service.deps import PipelineDep
from service.security import require_read

MODEL_ID = "newsrag"


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")
    role: Literal["system", "user", "assistant", "tool", "developer"]
    content: str | list[dict[str, Any]] | None = None

    def text(self) -> str:
        if isinstance(self.content, str):
            return self.content
        if isinstance(self.content, list):
            return " ".join(str(p.get("text", "")) for p in self.content if p.get("type") == "text")
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


def build_router() -> APIRouter:
    router = APIRouter(prefix="/v1", tags=["openai"], dependencies=[Depends(require_read)])

    @router.get("/models")
    def models() -> dict[str, Any]:
        """The one model newsrag serves: retrieval-augmented answers over the index."""
        return {
            "object": "list",
            "data": [{"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "newsrag"}],
        }

    @router.post("/chat/completions")
    async def chat(body: ChatRequest, request: Request, pipe: PipelineDep) -> Any:
        """Chat completions; citations are in the text as [n] and in a `citations` field."""
        if body.model != MODEL_ID:
            raise HTTPException(404, f"model: unknown model {body.model!r}; use {MODEL_ID!r}")
        question, history = _split(body)
        cid = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        created = int(time.time())
        if not body.stream:
            answer = await run_in_threadpool(pipe.ask, question, None, None, None, history)
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
                "citations": data["citations"],
                "abstained": data["abstained"],
            }
        cancel = threading.Event()
        events = pipe.ask_stream(question, None, None, history, cancel=cancel)
        first = await run_in_threadpool(next, events)

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

        async def sse() -> AsyncIterator[str]:
            try:
                yield chunk({"role": "assistant", "content": ""})
                streamed = ""
                event: Any = first
                while event is not None:
                    if await request.is_disconnected():
                        return
                    if event.event == "token":
                        streamed += event.data["text"]
                        yield chunk({"content": event.data["text"]})
                    elif event.event == "done":
                        final = event.data["answer"]
                        # The verified answer may differ from the raw tokens (abstention,
                        # dropped or added citations): send the difference, then the sources.
                        if final != streamed.strip():
                            tail = (
                                final[len(streamed) :]
                                if final.startswith(streamed)
                                else ("\n\n" + final)
                            )
                            yield chunk({"content": tail})
                        yield chunk(
                            {},
                            "stop",
                            citations=event.data["citations"],
                            abstained=event.data["abstained"],
                        )
                    event = await run_in_threadpool(next, events, None)
                yield "data: [DONE]\n\n"
            finally:
                cancel.set()

        return StreamingResponse(sse(), media_type="text/event-stream")

    return router

"""Generator backend for any OpenAI-compatible chat-completions server (vLLM, TGI, llama.cpp
server, Ollama, or another newsrag), with streaming."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import httpx

from retrieval.errors import GenerationError, InvalidInputError, ModelLoadError, UnsupportedError
from retrieval.models.base import BaseGenerator, Messages


class OpenAIChatGenerator(BaseGenerator):
    """The generator contract over `POST {base_url}/chat/completions` (no choice scoring:
    the protocol gives no log-likelihood of a given text)."""

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        max_new_tokens: int = 96,
        timeout: float = 120.0,
    ) -> None:
        super().__init__()
        if not base_url.startswith(("http://", "https://")):
            raise InvalidInputError(f"openai base URL must be http(s), got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.name = model
        self.max_new_tokens = max_new_tokens
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._client = httpx.Client(timeout=timeout, headers=headers)

    def load(self) -> None:
        """Checks that the server answers and serves the model (fails early at start-up)."""
        try:
            r = self._client.get(f"{self.base_url}/models")
            r.raise_for_status()
        except httpx.HTTPError as exc:
            raise ModelLoadError(f"OpenAI-compatible server at {self.base_url}: {exc}") from exc
        ids = [m.get("id") for m in r.json().get("data", [])]
        if ids and self.name not in ids:
            raise ModelLoadError(
                f"{self.base_url} does not serve model {self.name!r} (it has {', '.join(ids)})"
            )

    def _body(self, messages: Messages, max_new_tokens: int | None, stream: bool) -> dict[str, Any]:
        return {
            "model": self.name,
            "messages": messages,
            "max_tokens": max_new_tokens or self.max_new_tokens,
            "temperature": 0,
            "stream": stream,
        }

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        if opening:
            raise UnsupportedError("an OpenAI-compatible server cannot be made to open a reply")
        body = self._body(messages, max_new_tokens, True)
        self.usage.calls += 1
        try:
            yield from self._events(body, cancel)
        except httpx.HTTPError as exc:
            raise GenerationError(
                f"the generation server at {self.base_url} failed: {type(exc).__name__}: {exc}"
            ) from exc

    def _events(self, body: dict[str, Any], cancel: threading.Event | None) -> Iterator[str]:
        with self._client.stream("POST", f"{self.base_url}/chat/completions", json=body) as r:
            if r.status_code >= 400:
                r.read()
                raise GenerationError(
                    f"generation failed at {self.base_url}: {r.status_code} {r.text[:300]}"
                )
            for line in r.iter_lines():
                if cancel is not None and cancel.is_set():
                    return  # closing the response stops the remote generation
                if not line.startswith("data:"):
                    continue
                data = line[5:].strip()
                if data == "[DONE]":
                    return
                delta = json.loads(data)["choices"][0].get("delta", {})
                if delta.get("content"):
                    self.usage.completion_tokens += 1
                    yield delta["content"]

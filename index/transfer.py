"""Moving an index to another backend without embedding anything again: every article with its
chunks and stored vectors, read from the index directory and written to the target store in
batches (each batch one transaction there). Articles the target already holds are reported as
duplicates, so an interrupted copy is finished by running it again."""

from __future__ import annotations

from collections.abc import Callable

from index.ingest import IngestReport
from retrieval.errors import IndexMismatchError
from retrieval.store.base import Store
from retrieval.store.directory import IndexStore


def copy_index(
    source: IndexStore, target: Store, progress: Callable[[int], object] | None = None
) -> IngestReport:
    """Copy `source` into `target` (which must use the same embedder and chunking)."""
    src, dst = source.manifest, target.manifest
    if (src.embedder, src.dimension, src.chunking) != (dst.embedder, dst.dimension, dst.chunking):
        raise IndexMismatchError(
            f"the target index was built with {dst.embedder} ({dst.dimension}-d, chunking "
            f"{dst.chunking}), this one with {src.embedder} ({src.dimension}-d, chunking "
            f"{src.chunking}): copy into an empty database"
        )
    target.check_writable()
    report = IngestReport()
    for batch in source.export():
        written = target.write_articles(batch)
        report.added += written.added
        report.updated += written.updated
        report.duplicates += written.duplicates
        stored = {*written.added, *written.updated}
        report.chunks += sum(len(spans) for a, spans, _ in batch if a.id in stored)
        if progress is not None:
            progress(len(batch))
    return report

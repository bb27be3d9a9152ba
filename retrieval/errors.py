"""One error hierarchy for the core; the service maps it to HTTP statuses, the CLI to exit codes."""

from __future__ import annotations


class NewsragError(Exception):
    """Base class of every error newsrag raises on purpose."""


class InvalidInputError(NewsragError, ValueError):
    """The caller passed a value the core cannot use (the message names it)."""


class IndexNotFoundError(NewsragError):
    """No index exists at the configured directory."""


class IndexMismatchError(NewsragError):
    """The index was built with another embedder or an unsupported format version."""


class ModelLoadError(NewsragError):
    """A model could not be found or loaded from local files."""


class ArticleNotFoundError(NewsragError, KeyError):
    """No article with the given id is in the index."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "article not found"

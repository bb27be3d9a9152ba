"""One error hierarchy for the core; the service maps it to HTTP statuses, the CLI to exit codes.

Every failure a user can cause or meet is one of these, with a message that says what to do.
"""

from __future__ import annotations


class NewsragError(Exception):
    """Base class of every error newsrag raises on purpose."""

    status = 500  # HTTP status the service answers with
    exit_code = 1  # CLI exit code
    # What an HTTP client is told when the message names server internals (paths).
    public_detail: str | None = None

    @property
    def detail(self) -> str:
        return self.public_detail or str(self)


class InvalidInputError(NewsragError, ValueError):
    """The caller passed a value the core cannot use (the message names it)."""

    status = 422
    exit_code = 2


class NotFoundError(NewsragError, KeyError):
    """Nothing with the given id exists."""

    status = 404
    exit_code = 3

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0]) if self.args else "not found"


class ArticleNotFoundError(NotFoundError):
    """No article with the given id is in the index."""


class FeedNotFoundError(NotFoundError):
    """No feed with the given id is registered."""


class ReadOnlyError(NewsragError):
    """A write was sent to a read-only index (a replica)."""

    status = 409
    exit_code = 4


class IndexNotFoundError(NewsragError):
    """No index exists at the configured directory."""

    status = 503
    exit_code = 5
    public_detail = (
        "no index is available: build one on the server with `newsrag ingest <articles>` "
        "(the server log names the directory)"
    )


class IndexMismatchError(NewsragError):
    """The index was built with another embedder or an unsupported format version."""

    status = 503
    exit_code = 5
    public_detail = (
        "the index was built with another embedder or format version: rebuild it on the "
        "server (the server log says how)"
    )


class ModelLoadError(NewsragError):
    """A model could not be found or loaded from local files."""

    status = 503
    exit_code = 6


class GenerationError(NewsragError):
    """The generation backend failed (e.g. a remote OpenAI-compatible server)."""

    status = 502
    exit_code = 7


class UnsupportedError(NewsragError):
    """The configured backend lacks a capability the request needs."""

    status = 501
    exit_code = 8


class DuplicateTextError(NewsragError):
    """A write would store text that another article already has."""

    status = 409
    exit_code = 9

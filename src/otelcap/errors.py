"""Errors that cross layers: raised low (model, pipeline, storage), mapped high (receiver, cli).

The receiver turns each into the OTLP status the specification asks for, so these classes
say *what kind of failure* it is, not which protocol code it becomes.
"""

from __future__ import annotations


class OtelcapError(Exception):
    """Base class: anything otelcap raises on purpose."""


class BadRequest(OtelcapError):
    """The client sent something we cannot decode (400 / INVALID_ARGUMENT). Not retryable."""


class PayloadTooLarge(OtelcapError):
    """Body over the size limit or the decompression-ratio cap (413 / RESOURCE_EXHAUSTED)."""


class Overloaded(OtelcapError):
    """The queue is full: the client should retry later (503 / UNAVAILABLE)."""

    def __init__(self, message: str, retry_after_s: float = 1.0) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class StoreUnavailable(OtelcapError):
    """The store failed to commit; nothing of the request was kept, so a retry is safe."""


class ConfigError(OtelcapError):
    """A flag, environment variable or config file value is wrong."""


class QueryError(OtelcapError):
    """A query failed: bad SQL, a bad parameter, a statement that is not read-only, or the
    engine's own refusal (its message is kept)."""


class NoDatabase(ConfigError):
    """The DuckDB file a command was pointed at does not exist (yet)."""


class NotReadOnly(QueryError):
    """SQL that would do more than read otelcap's tables (write, DDL, a file, ATTACH, an
    extension, a setting, a pragma): refused where only reading is allowed."""

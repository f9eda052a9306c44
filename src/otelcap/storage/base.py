"""The Store protocol: the verbs every backend offers.

Ownership: the pipeline's single writer thread is the only caller of `append`; the store owns
its connection and its transactions. Readers call `query`, which must be safe to call from
other threads while a writer appends.
"""

from __future__ import annotations

from importlib import resources
from typing import Any, Protocol

import pyarrow as pa


class Store(Protocol):
    name: str

    def create_schema(self) -> None:
        """Create every table if missing (idempotent)."""

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        """Commit all batches in one transaction, or none of them (raise StoreUnavailable)."""

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        """Run read-only SQL with bound parameters."""

    def close(self) -> None:
        """Make everything committed durable and release the database."""


def ddl_statements(dialect: str) -> list[tuple[str, str]]:
    """(table, CREATE statement) pairs in the order written in schema/<dialect>/_order."""
    root = resources.files("otelcap").joinpath("schema", dialect)
    order = [line.strip() for line in root.joinpath("_order").read_text().splitlines()]
    return [(t, root.joinpath(f"{t}.sql").read_text()) for t in order if t]

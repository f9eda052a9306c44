"""The Store protocol: the verbs every backend offers, and the abilities only some have.

Ownership: the pipeline's single writer thread is the only caller of `append`; the store owns
its connection and its transactions. Readers call `query`, which must be safe to call from
other threads while a writer appends.

`Reader` is what every store answers, local or remote (access.py hands commands one); `Store`
adds the writer's verbs. An ability is a protocol of its own, checked with isinstance on the
store in hand, never by the backend's name: a DuckDB file can merge and prune, ClickHouse
drops old rows by its TTL and cannot; a remote store has exactly the abilities of the
server's store.
"""

from __future__ import annotations

from datetime import datetime
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import pyarrow as pa


class Reader(Protocol):
    dialect: str  # the SQL it speaks: duckdb | clickhouse

    def query(self, sql: str, params: dict[str, Any] | list[Any] | None = None) -> pa.Table:
        """Run read-only SQL with bound parameters; QueryError when the engine refuses it."""

    def close(self) -> None:
        """Release the database (a remote store has nothing to release)."""


class Store(Reader, Protocol):
    name: str

    def create_schema(self) -> None:
        """Create every table if missing (idempotent)."""

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        """Commit all batches in one transaction, or none of them (raise StoreUnavailable)."""

    def close(self) -> None:
        """Make everything committed durable and release the database."""


@runtime_checkable
class Mergeable(Protocol):
    """Merges exported Parquet files into a table, each record once (`otelcap import`)."""

    def merge_parquet(self, table: str, files: list[Path]) -> tuple[int, int]:
        """(rows inserted, rows read)."""
        ...


@runtime_checkable
class Prunable(Protocol):
    """Deletes old rows in small transactions beside the writer (retention, `otelcap prune`)."""

    def delete_before(self, table: str, cutoff: datetime, limit: int) -> int:
        """Delete at most `limit` rows older than `cutoff` (naive UTC); how many it deleted."""
        ...


@runtime_checkable
class Spooled(Protocol):
    """Keeps on disk what its backend cannot take yet."""

    @property
    def spool_bytes(self) -> int: ...


@runtime_checkable
class DedupTokens(Protocol):
    """append(batches, token=…) twice with one token stores the rows once (replaying a spooled
    flush whose answer was lost)."""

    deduplicates: bool

    def append(
        self, batches: dict[str, list[pa.RecordBatch]], token: str | None = None
    ) -> None: ...


@runtime_checkable
class SelfChecking(Protocol):
    """Says where it is and whether this user can write, for `otelcap doctor` (ClickHouse:
    a server of its own, with users and grants)."""

    @property
    def display(self) -> str:
        """Where it is, fit to print (no password)."""
        ...

    @property
    def database(self) -> str: ...

    def test_write(self) -> str | None:
        """None when a scratch row round-trips (never in the telemetry tables); else what came
        back. Raises when the user may not write."""
        ...

    def classify(self, exc: BaseException) -> str:
        """Why a request failed: login, database or unreachable."""
        ...


def ddl_statements(dialect: str) -> list[tuple[str, str]]:
    """(table, CREATE statement) pairs in the order written in schema/<dialect>/_order."""
    root = resources.files("otelcap").joinpath("schema", dialect)
    order = [line.strip() for line in root.joinpath("_order").read_text().splitlines()]
    return [(t, root.joinpath(f"{t}.sql").read_text()) for t in order if t]


@runtime_checkable
class Sealable(Protocol):
    """A store whose engine can be locked down to reading its own tables (DuckDB: no files,
    extensions or settings; storage/sqlguard.py), done before others' SQL reaches it."""

    def seal(self) -> None: ...

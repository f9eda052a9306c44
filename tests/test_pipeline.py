"""Group commit: acks after commit, and one bad request does not sink its group."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from otelcap.errors import Overloaded, StoreUnavailable
from otelcap.pipeline import Pipeline
from otelcap.storage.duckdb import DuckDBStore


class _PoisonAwareStore(DuckDBStore):
    """A real DuckDB store that refuses any transaction containing the marker row, as a
    database would refuse a value it cannot store."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.calls: list[int] = []

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        rows = [r for b in batches["t"] for r in b.column("v").to_pylist()]
        self.calls.append(len(rows))
        if "poison" in rows:
            raise RuntimeError("cannot store 'poison'")
        super().append(batches)

    def create_schema(self) -> None:
        self._con.execute("CREATE TABLE IF NOT EXISTS t (v VARCHAR)")


def _batch(*values: str) -> dict[str, pa.RecordBatch]:
    return {"t": pa.record_batch({"v": pa.array(values, pa.string())})}


def test_bad_request_fails_alone_and_the_rest_of_its_group_commits(tmp_path: Path) -> None:
    store = _PoisonAwareStore(tmp_path / "p.duckdb")
    store.create_schema()
    # A long linger so the three requests are flushed as one group.
    pipe = Pipeline(store, flush_rows=1000, flush_interval_ms=300)
    tickets = [pipe.submit(_batch("a")), pipe.submit(_batch("poison")), pipe.submit(_batch("b"))]
    pipe.start()
    tickets[0].wait(10)
    tickets[2].wait(10)
    with pytest.raises(StoreUnavailable, match="poison"):
        tickets[1].wait(10)
    pipe.stop()
    assert store.calls[0] == 3  # first tried as one group
    got = sorted(r["v"] for r in store.query("SELECT v FROM t").to_pylist())
    assert got == ["a", "b"]
    store.close()


def test_ack_only_after_commit_and_overload_when_full(tmp_path: Path) -> None:
    store = _PoisonAwareStore(tmp_path / "q.duckdb")
    store.create_schema()
    pipe = Pipeline(store, flush_rows=1000, flush_interval_ms=50, queue_max_rows=2)
    first = pipe.submit(_batch("a", "b"))
    with pytest.raises(Overloaded):
        pipe.submit(_batch("c"))
    assert not first._done.is_set()  # nothing acknowledged before the writer commits
    pipe.start()
    first.wait(10)
    assert store.query("SELECT count(*) AS n FROM t").column("n")[0].as_py() == 2
    pipe.submit(_batch("c")).wait(10)  # room again once the queue drained
    pipe.stop()
    with pytest.raises(Overloaded):
        pipe.submit(_batch("d"))  # stopped: refuses new work
    store.close()

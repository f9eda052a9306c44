"""Group commit: acks after commit, and one bad request does not sink its group."""

from __future__ import annotations

import threading
import time
from pathlib import Path
from typing import Any

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
        self.entered = threading.Event()
        self.gate = threading.Event()  # cleared by a test to hold the writer in `append`
        self.gate.set()

    def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
        self.entered.set()
        self.gate.wait(10)
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
    store.gate.clear()
    pipe.start()
    assert store.entered.wait(10)  # the writer is inside the commit ...
    assert not first._done.is_set()  # ... and nothing is acknowledged before it returns
    store.gate.set()
    first.wait(10)
    assert store.query("SELECT count(*) AS n FROM t").column("n")[0].as_py() == 2
    pipe.submit(_batch("c")).wait(10)  # room again once the queue drained
    pipe.stop()
    with pytest.raises(Overloaded):
        pipe.submit(_batch("d"))  # stopped: refuses new work
    store.close()


def test_writer_lingers_for_arriving_requests_only_below_linger_rows(tmp_path: Path) -> None:
    store = _PoisonAwareStore(tmp_path / "l.duckdb")
    store.create_schema()
    # A 20 s interval: any flush within the test's waits is not the timer's doing.
    pipe = Pipeline(store, flush_rows=1000, flush_interval_ms=20_000, linger_rows=3)
    pipe.start()
    with pipe.arriving():  # a request still being converted
        first = pipe.submit(_batch("a"))
        time.sleep(0.3)
        assert not first._done.is_set()  # 1 row < linger_rows: the writer waits for more
        second = pipe.submit(_batch("b", "c"))  # 3 rows: worth a flush; stop waiting
        first.wait(10)
        second.wait(10)
        assert store.calls == [3]  # one transaction, started while a request still arrives
    third = pipe.submit(_batch("d"))  # nothing arriving: flushed at once, not lingered
    third.wait(10)
    pipe.stop()
    assert store.calls == [3, 1]
    store.close()


def test_ingest_never_leaves_a_grouped_request_waiting(tmp_path: Path) -> None:
    """A failure inside a conversion round reaches every request of the round."""
    import threading

    from otelcap.ingest import Ingest
    from otelcap.sanitize import Sanitizer

    class Boom(Exception):
        pass

    class BuggyIngest(Ingest):
        """A bug that escapes a conversion round (not an error _convert handles itself)."""

        def _convert(self, jobs: list[Any]) -> None:
            time.sleep(0.2)  # the other requests pile up and form the next round's group
            raise Boom("bug in a conversion round")

    store = DuckDBStore(tmp_path / "i.duckdb")
    store.create_schema()
    pipe = Pipeline(store)
    pipe.start()
    ingest = BuggyIngest(Sanitizer(None), pipe, commit_timeout_s=5)
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    req = ExportLogsServiceRequest()
    req.resource_logs.add().scope_logs.add().log_records.add(time_unix_nano=1)
    body = req.SerializeToString()
    errors: list[BaseException] = []

    def call() -> None:
        try:
            ingest("logs", body)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=call) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert not any(t.is_alive() for t in threads)
    assert len(errors) == 6 and all(isinstance(e, Boom) for e in errors)
    pipe.stop()
    store.close()


def test_ingest_replies_once_and_only_after_the_commit(tmp_path: Path) -> None:
    """`submit` does not block: its reply comes from the writer, once the transaction that
    carries the request has committed, and only once."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    from otelcap.ingest import Ingest
    from otelcap.receiver import IngestResult
    from otelcap.sanitize import Sanitizer

    class GatedStore(DuckDBStore):
        def __init__(self, path: Path) -> None:
            super().__init__(path)
            self.entered, self.gate = threading.Event(), threading.Event()

        def append(self, batches: dict[str, list[pa.RecordBatch]]) -> None:
            self.entered.set()
            self.gate.wait(30)
            super().append(batches)

    store = GatedStore(tmp_path / "r.duckdb")
    store.create_schema()
    pipe = Pipeline(store)
    pipe.start()
    req = ExportLogsServiceRequest()
    recs = req.resource_logs.add().scope_logs.add().log_records
    recs.add(time_unix_nano=1)
    recs.add(time_unix_nano=2)
    replies: list[tuple[Any, Any]] = []
    replied = threading.Event()

    def reply(result: Any, error: Any) -> None:
        replies.append((result, error))
        replied.set()

    Ingest(Sanitizer(None), pipe).submit("logs", req.SerializeToString(), reply)
    assert store.entered.wait(10)  # the writer is storing the request's rows
    assert replies == []  # not answered before its commit
    store.gate.set()
    assert replied.wait(10)
    pipe.stop()
    assert replies == [(IngestResult(2), None)]
    assert store.query("SELECT count(*) AS n FROM otel_logs").column("n")[0].as_py() == 2
    store.close()


def test_a_bad_request_in_a_conversion_group_fails_alone(tmp_path: Path) -> None:
    """Two good requests and a malformed one converted as one group: the good ones are
    queued together with their own tallies; only the bad one gets the error."""
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import (
        ExportLogsServiceRequest,
    )

    from otelcap.errors import BadRequest
    from otelcap.ingest import Ingest, _Job
    from otelcap.sanitize import Sanitizer

    store = DuckDBStore(tmp_path / "g.duckdb")
    store.create_schema()
    pipe = Pipeline(store)
    pipe.start()
    good = []
    for n in (2, 3):
        req = ExportLogsServiceRequest()
        recs = req.resource_logs.add().scope_logs.add().log_records
        for i in range(n):
            recs.add(time_unix_nano=1 + i)
        good.append(req.SerializeToString())
    jobs = [_Job("logs", good[0]), _Job("logs", b"\xff\xff garbage"), _Job("logs", good[1])]
    Ingest(Sanitizer(None), pipe)._convert(jobs)
    assert all(j.converted for j in jobs)
    assert isinstance(jobs[1].error, BadRequest)
    assert [j.result.accepted for j in (jobs[0], jobs[2])] == [2, 3]  # type: ignore[union-attr]
    for j in (jobs[0], jobs[2]):
        j.ticket.wait(10)  # type: ignore[union-attr]
    assert store.query("SELECT count(*) AS n FROM otel_logs").column("n")[0].as_py() == 5
    pipe.stop()
    store.close()

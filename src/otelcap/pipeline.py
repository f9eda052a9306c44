"""Bounded queue → one writer thread → group commit → acknowledgements.

A request is acknowledged only after the transaction that carries its rows has committed:
`submit` returns a Ticket and the receiver waits on it. The writer takes whatever is queued
and, while more requests are still being converted and fewer than `linger_rows` rows are
queued, waits at most `flush_interval_ms` (counted from the oldest queued request) for them;
one transaction carries at most `flush_rows` rows. So a burst of small requests costs one
transaction, a lone request is not delayed for nothing, and once a flush is worth its fixed
cost the writer starts it while the next requests are still being converted.
When more than `queue_max_rows` rows wait, `submit` raises Overloaded and the receiver
answers with OTLP's retryable codes: the client retries, nothing is dropped silently.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import pyarrow as pa

from otelcap.errors import Overloaded, StoreUnavailable
from otelcap.selfmetrics import Registry, ingest_registry
from otelcap.storage.base import Store

log = logging.getLogger(__name__)


class Ticket:
    """Completion of one submitted request."""

    __slots__ = ("_callbacks", "_done", "error", "rows")

    def __init__(self, rows: int) -> None:
        self.rows = rows
        self._done = threading.Event()
        self._callbacks: list[Callable[[BaseException | None], None]] = []
        self.error: BaseException | None = None

    def _finish(self, error: BaseException | None = None) -> None:
        with _callbacks_lock:
            self.error = error
            self._done.set()
            callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            _call(fn, error)

    def add_done_callback(self, fn: Callable[[BaseException | None], None]) -> None:
        """Call fn(error) once the ticket is finished (None: committed): in the writer
        thread, or here and now if it already is. fn must not block: the writer waits."""
        with _callbacks_lock:
            if not self._done.is_set():
                self._callbacks.append(fn)
                return
        _call(fn, self.error)

    def wait(self, timeout: float | None = None) -> None:
        """Block until committed; raise StoreUnavailable if the commit failed or timed out."""
        if not self._done.wait(timeout):
            raise StoreUnavailable("timed out waiting for the database to commit")
        if self.error is not None:
            raise StoreUnavailable(str(self.error)) from self.error


_callbacks_lock = threading.Lock()  # a ticket's callbacks are held briefly; one lock for all


def _call(fn: Callable[[BaseException | None], None], error: BaseException | None) -> None:
    try:
        fn(error)
    except Exception:  # one broken callback must not keep the others' requests waiting
        log.exception("a commit callback failed")


@dataclass
class PipelineStats:
    flushes: int = 0
    failed_flushes: int = 0
    consecutive_failures: int = 0


@dataclass
class _Item:
    batches: dict[str, pa.RecordBatch]
    ticket: Ticket
    enqueued: float


class Pipeline:
    def __init__(
        self,
        store: Store,
        flush_rows: int = 20_000,
        flush_interval_ms: int = 100,
        queue_max_rows: int = 400_000,
        linger_rows: int = 2_000,
        metrics: Registry | None = None,
    ) -> None:
        self.store = store
        self.metrics = metrics if metrics is not None else ingest_registry()
        self.flush_rows = max(1, flush_rows)
        self.flush_interval_s = flush_interval_ms / 1000.0
        self.linger_rows = min(self.flush_rows, max(1, linger_rows))
        self.queue_max_rows = queue_max_rows
        self.stats = PipelineStats()
        self._queue: collections.deque[_Item] = collections.deque()
        self._queued_rows = 0
        self._arriving = 0  # requests between receipt and submit (see `arriving`)
        self._cond = threading.Condition()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="otelcap-writer", daemon=True)

    @property
    def queued_rows(self) -> int:
        return self._queued_rows

    def start(self) -> None:
        self._thread.start()

    @property
    def healthy(self) -> bool:
        """The writer runs and its last transaction (if any) committed."""
        return (
            self._thread.is_alive() and not self._stopping and not self.stats.consecutive_failures
        )

    @contextlib.contextmanager
    def arriving(self) -> Iterator[None]:
        """Wrap the work that precedes `submit` (decode, convert, sanitize), so the writer
        knows more rows are on their way and lingers for them instead of flushing early."""
        self.expect(1)
        try:
            yield
        finally:
            self.arrived(1)

    def expect(self, requests: int) -> None:
        """`requests` more are being converted and will be submitted (see `arriving`)."""
        with self._cond:
            self._arriving += requests

    def arrived(self, requests: int) -> None:
        """`requests` expected ones are submitted, or will never be."""
        with self._cond:
            self._arriving -= requests
            self._cond.notify()

    def submit(self, batches: dict[str, pa.RecordBatch]) -> Ticket:
        rows = sum(b.num_rows for b in batches.values())
        ticket = Ticket(rows)
        if rows == 0:
            ticket._finish()
            return ticket
        with self._cond:
            if self._stopping:
                raise Overloaded("otelcap is shutting down; retry against the next instance")
            # Always admit a request into an empty queue, however large, or it could never go.
            if self._queue and self._queued_rows + rows > self.queue_max_rows:
                raise Overloaded(
                    f"ingest queue is full ({self._queued_rows} rows waiting for the database)"
                )
            self._queue.append(_Item(batches, ticket, time.monotonic()))
            self._queued_rows += rows
            self._cond.notify()
        return ticket

    def stop(self, timeout: float = 30.0) -> None:
        """Refuse new work, flush what is queued, stop the writer."""
        with self._cond:
            self._stopping = True
            self._cond.notify()
        self._thread.join(timeout)

    # --- writer thread -------------------------------------------------------------------

    def _take(self) -> list[_Item] | None:
        """Wait for work; return a group to flush, or None when stopped and drained."""
        with self._cond:
            while not self._queue:
                if self._stopping:
                    return None
                self._cond.wait()
            deadline = self._queue[0].enqueued + self.flush_interval_s
            # Linger only while requests are still being converted: when every request in
            # flight is already queued (its client blocked on the ack), waiting gains nothing.
            # Nor past `linger_rows`: a DuckDB flush costs ~18 ms plus ~20 µs a row, so 2k rows
            # already run at 3/4 of the speed of 20k, and writing them while the next requests
            # convert overlaps the two stages (waiting for every request in flight made them
            # take turns: 4 clients got 20k records/s on 2 cores, with one core idle).
            while (
                self._queued_rows < self.linger_rows and self._arriving > 0 and not self._stopping
            ):
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                self._cond.wait(remaining)
            group: list[_Item] = []
            rows = 0
            while self._queue and (not group or rows < self.flush_rows):
                item = self._queue.popleft()
                group.append(item)
                rows += item.ticket.rows
            self._queued_rows -= rows
            return group

    def _run(self) -> None:
        while True:
            group = self._take()
            if group is None:
                return
            self._flush(group)

    def _flush(self, group: list[_Item]) -> None:
        t0 = time.perf_counter()
        error = self._append(group)
        if error is not None and len(group) > 1:
            # One bad request must not make every request it was grouped with fail (and be
            # retried with it forever): commit them one by one so only the bad one fails.
            log.warning("flush of %d requests failed (%s); retrying one by one", len(group), error)
            for item in group:
                item.ticket._finish(self._append([item]))
        else:
            for item in group:
                item.ticket._finish(error)
        elapsed = time.perf_counter() - t0
        self.metrics.observe("otelcap_flush_seconds", elapsed)

    def _append(self, group: list[_Item]) -> BaseException | None:
        """One transaction for the group; the error if the store refused it."""
        by_table: dict[str, list[pa.RecordBatch]] = {}
        for item in group:
            for table, batch in item.batches.items():
                by_table.setdefault(table, []).append(batch)
        try:
            self.store.append(by_table)
        except Exception as exc:
            self.stats.failed_flushes += 1
            self.stats.consecutive_failures += 1
            self.metrics.inc("otelcap_flush_failures_total")
            log.error("the store refused %d requests: %s", len(group), exc)
            return exc
        self.stats.flushes += 1
        self.stats.consecutive_failures = 0
        for table, parts in by_table.items():
            rows = sum(p.num_rows for p in parts)
            self.metrics.inc("otelcap_rows_written_total", rows, table=table)
        return None

"""The receivers' sink: decode, convert and sanitize concurrent requests together, queue them
as one item, and answer each after the commit that carries it.

Converting a request costs ~2 ms whatever its size (about 140 Arrow and ptars calls), and
Claude Code sends 1-9 records per request, so converting one request at a time caps a core
near a few hundred requests/s. One converter thread takes every request waiting (up to
`max_group_bytes`), converts and sanitizes them in one pass and submits one pipeline item;
the receivers' threads only hand their request over and wait for its answer. Each request
is woken once, when its answer is known (after the commit, or at the error that ends it):
letting the first waiting receiver thread lead a round and waking every other one after each
round (32-64 threads, a few of which had anything to do) cost more CPU than the rounds saved
on 2 cores. Sanitization still happens before anything is queued.

A request's answer depends on that request alone: when converting or sanitizing a round
fails, for any reason, its requests are converted again one by one, and when the commit of a
round of several requests fails, each of them is converted and committed again on its own,
so only the request at fault fails.

Memory follows the bytes in flight, not the rows: converting an 8.5 MiB request and holding
its batches until the commit took ~180 MB, so a request whose decompressed bytes would take
what is being decoded, converted or waiting for its commit past `max_inflight_bytes` is
answered "retry later" (Overloaded) at once (`hold`, called by the receivers). A request
arriving while nothing else is in flight is always taken, however large, or one bigger than
the budget could never be stored.
"""

from __future__ import annotations

import collections
import contextlib
import logging
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from otelcap.errors import Overloaded, StoreUnavailable
from otelcap.model import PromptSteps, to_batches
from otelcap.pipeline import Pipeline, Ticket
from otelcap.receiver import IngestResult
from otelcap.sanitize import Sanitizer

log = logging.getLogger(__name__)

# One group's payload bytes; a larger request still forms a group on its own. Small enough
# that a round of large requests (1,000 Claude Code records are ~750 KB) does not hold back
# the writer while it converts, large enough to fold hundreds of Claude Code's usual
# 1-9-record requests into one round.
MAX_GROUP_BYTES = 1024 * 1024

# How a request's answer is delivered: (result, None) once its rows are committed, or
# (None, error). Called once, from the converter or the writer thread; it must not block.
Reply = Callable[[IngestResult | None, BaseException | None], None]


@dataclass(eq=False)
class _Job:
    signal: str
    data: bytes
    reply: Reply | None = None
    ticket: Ticket | None = None
    result: IngestResult | None = None
    error: BaseException | None = None
    shared: bool = False  # its ticket carries other requests' rows too
    alone: bool = False  # its round's commit failed: converted and committed on its own

    @property
    def converted(self) -> bool:
        return self.error is not None or self.ticket is not None


class Ingest:
    def __init__(
        self,
        sanitizer: Sanitizer,
        pipeline: Pipeline,
        commit_timeout_s: float = 30.0,
        max_group_bytes: int = MAX_GROUP_BYTES,
        max_inflight_bytes: int = 0,
    ) -> None:
        self.sanitizer = sanitizer
        self.pipeline = pipeline
        self.commit_timeout_s = commit_timeout_s
        self.max_group_bytes = max_group_bytes
        self.steps = PromptSteps()  # each turn's workflow step, for its later requests
        self.max_inflight_bytes = max_inflight_bytes  # 0: no limit
        self.inflight_bytes = 0  # decompressed request bytes from arrival to answer
        self._inflight_lock = threading.Lock()
        self._cond = threading.Condition()
        self._waiting: collections.deque[_Job] = collections.deque()
        self._thread: threading.Thread | None = None  # the converter, started by the first job
        self.groups = 0  # conversion rounds, and the requests they carried (for /metrics)
        self.grouped_requests = 0

    @contextlib.contextmanager
    def hold(self, size: int) -> Iterator[None]:
        """Count `size` decompressed request bytes as in flight until the block ends; raise
        Overloaded instead when they would pass `max_inflight_bytes`. Receivers hold from
        decompression to their answer, so JSON parsing counts too (16 JSON bodies of 8.6 MiB
        at once peaked at 1,487 MB unbounded, 353 MB with 16 MiB)."""
        with self._inflight_lock:
            held, limit = self.inflight_bytes, self.max_inflight_bytes
            if limit and held and held + size > limit:
                raise Overloaded(
                    f"otelcap is already converting or committing {held} bytes of requests "
                    f"and this one has {size}; the limit (max_inflight_bytes) is {limit}. "
                    "Retry later."
                )
            self.inflight_bytes += size
        try:
            yield
        finally:
            with self._inflight_lock:
                self.inflight_bytes -= size

    def __call__(self, signal: str, data: bytes) -> IngestResult:
        """Store one request and return once its rows are committed (receivers that give a
        thread to each request); raises what `submit` would reply."""
        answered = threading.Event()
        answer: list[tuple[IngestResult | None, BaseException | None]] = []

        def reply(result: IngestResult | None, error: BaseException | None) -> None:
            answer.append((result, error))
            answered.set()

        self.submit(signal, data, reply)
        if not answered.wait(self.commit_timeout_s):
            # The commit may still happen, so the client's retry may store the rows twice;
            # answering nothing would make it retry all the same.
            raise StoreUnavailable("timed out waiting for the database to commit")
        result, error = answer[0]
        if error is not None:
            raise error
        assert result is not None
        return result

    def submit(self, signal: str, data: bytes, reply: Reply) -> None:
        """Queue one request for the next conversion round; `reply` gets its answer: the
        result once its rows are committed, or BadRequest (its data), Overloaded or
        StoreUnavailable (retry later), or any other error (a bug of ours)."""
        self._queue(_Job(signal, data, reply))

    def _queue(self, job: _Job) -> None:
        self.pipeline.expect(1)  # the writer lingers for rows still being converted
        with self._cond:
            self._waiting.append(job)
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="otelcap-convert", daemon=True
                )
                self._thread.start()
            self._cond.notify()

    def _run(self) -> None:
        while True:
            with self._cond:
                while not self._waiting:
                    self._cond.wait()
                group = self._take()
                self.groups += 1
                self.grouped_requests += len(group)
            try:
                for signal_jobs in _by_signal(group):
                    self._convert(signal_jobs)
            except BaseException as exc:
                # Whatever went wrong, no request of the group may be left waiting.
                log.exception("a conversion round of %d requests failed", len(group))
                for job in group:
                    if not job.converted:
                        job.error = exc
            finally:
                self.pipeline.arrived(len(group))
            for job in group:
                self._follow(job)

    def _take(self) -> list[_Job]:
        """The next round, from the waiting requests in order: up to `max_group_bytes` (at
        least one request), and a request retried alone makes a round of its own."""
        waiting = self._waiting
        first = waiting.popleft()
        group, size = [first], len(first.data)
        if first.alone:
            return group
        while waiting and not waiting[0].alone:
            size += len(waiting[0].data)
            if size > self.max_group_bytes:
                break
            group.append(waiting.popleft())
        return group

    def _convert(self, jobs: list[_Job]) -> None:
        """Convert, sanitize and submit the jobs as one item; each job ends with a ticket and
        its result, or its error."""
        try:
            conv = to_batches(jobs[0].signal, [j.data for j in jobs], self.steps)
            batches = self.sanitizer.sanitize(conv.batches)
        except Exception as exc:
            if len(jobs) == 1:
                jobs[0].error = exc  # BadRequest: 400; anything else is a bug of ours
                return
            # Whatever failed (a malformed request, or one whose data trips a bug), find the
            # request at fault by converting each alone; the others go on.
            for job in jobs:
                self._convert([job])
            return
        try:
            ticket = self.pipeline.submit(batches)
        except Exception as exc:  # Overloaded: every request of the group is retried
            for job in jobs:
                job.error = exc
            return
        tally = conv.tally
        for i, job in enumerate(jobs):
            job.ticket = ticket
            job.shared = len(jobs) > 1
            job.result = IngestResult(tally.accepted[i], tally.rejected[i], tally.reasons[i])

    def _follow(self, job: _Job) -> None:
        """Answer a converted job: now if it failed, else once its ticket is finished."""
        if job.ticket is None:
            _answer(job, None, job.error)
            return
        job.ticket.add_done_callback(lambda error: self._committed(job, error))

    def _committed(self, job: _Job, error: BaseException | None) -> None:
        """In the writer thread, once the transaction carrying the job has ended."""
        if error is None:
            _answer(job, job.result, None)
        elif job.shared:
            # A finished ticket with an error means its transaction rolled back: nothing of
            # the round was stored, so committing this request again cannot store it twice.
            job.alone, job.shared, job.ticket, job.result = True, False, None, None
            self._queue(job)
        else:
            _answer(job, None, _unavailable(error))


def _unavailable(error: BaseException) -> StoreUnavailable:
    exc = StoreUnavailable(str(error))
    exc.__cause__ = error
    return exc


def _answer(job: _Job, result: IngestResult | None, error: BaseException | None) -> None:
    reply, job.reply = job.reply, None
    if reply is None:
        return
    try:
        reply(result, error)
    except Exception:  # a receiver's bug must not stop the converter or the writer
        log.exception("answering a %s request failed", job.signal)


def _by_signal(jobs: list[_Job]) -> list[list[_Job]]:
    groups: dict[str, list[_Job]] = {}
    for job in jobs:
        groups.setdefault(job.signal, []).append(job)
    return list(groups.values())

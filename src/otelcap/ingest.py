"""The receivers' sink: decode, convert and sanitize concurrent requests together, queue them
as one item, and answer each after the commit that carries it.

Converting a request costs ~5.6 ms whatever its size (about 140 Arrow and ptars calls), and
Claude Code sends 1-9 records per request, so converting one request at a time capped a core
near 180 requests/s; 32 gRPC threads converting at once also fought over the GIL. Here the
first thread to arrive while no conversion runs becomes the leader: it takes every request
waiting (up to `max_group_bytes`), converts and sanitizes them in one pass, submits one
pipeline item, and hands each waiting thread its own result. Sanitization still happens
before anything is queued.

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

import contextlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

from otelcap.errors import Overloaded, StoreUnavailable
from otelcap.model import PromptSteps, to_batches
from otelcap.pipeline import Pipeline, Ticket
from otelcap.receiver import IngestResult
from otelcap.sanitize import Sanitizer

# One group's payload bytes; a larger request still forms a group on its own. Small enough
# that a round of large requests (1,000 Claude Code records are ~750 KB) does not hold back
# the writer while it converts, large enough to fold hundreds of Claude Code's usual
# 1-9-record requests into one round.
MAX_GROUP_BYTES = 1024 * 1024


@dataclass
class _Job:
    signal: str
    data: bytes
    done: threading.Event = field(default_factory=threading.Event)
    ticket: Ticket | None = None
    result: IngestResult | None = None
    error: BaseException | None = None
    shared: bool = False  # its ticket carries other requests' rows too


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
        self._waiting: list[_Job] = []
        self._leading = False
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
        job = _Job(signal, data)
        with self.pipeline.arriving():  # the writer lingers for rows still being converted
            with self._cond:
                self._waiting.append(job)
            while True:
                with self._cond:
                    while self._leading and not job.done.is_set():
                        self._cond.wait()
                    if job.done.is_set():
                        break
                    self._leading = True  # lead one round: everything waiting now
                    group, self._waiting = self._take(self._waiting)
                    self.groups += 1
                    self.grouped_requests += len(group)
                try:
                    for signal_jobs in _by_signal(group):
                        self._convert(signal_jobs)
                except BaseException as exc:
                    # Whatever went wrong, no request of the group may be left waiting.
                    _finish([j for j in group if not j.done.is_set()], error=exc)
                    raise
                finally:
                    with self._cond:
                        self._leading = False
                        self._cond.notify_all()
        if job.error is not None:
            raise job.error
        assert job.ticket is not None and job.result is not None
        try:
            job.ticket.wait(self.commit_timeout_s)
        except StoreUnavailable:
            # A finished ticket with an error means its transaction rolled back: nothing of
            # the round was stored, so committing this request again cannot store it twice.
            # (A timeout leaves `error` unset: the commit may still happen, so no retry.)
            if job.shared and job.ticket.error is not None:
                return self._alone(job)
            raise
        return job.result

    def _alone(self, job: _Job) -> IngestResult:
        """Convert, sanitize and commit one request on its own: what a round does, for a
        request whose round failed because of another request's rows."""
        with self.pipeline.arriving():
            conv = to_batches(job.signal, [job.data], self.steps)
            ticket = self.pipeline.submit(self.sanitizer.sanitize(conv.batches))
        ticket.wait(self.commit_timeout_s)
        tally = conv.tally
        return IngestResult(tally.accepted[0], tally.rejected[0], tally.reasons[0])

    def _take(self, waiting: list[_Job]) -> tuple[list[_Job], list[_Job]]:
        size = 0
        for i, job in enumerate(waiting):
            size += len(job.data)
            if i and size > self.max_group_bytes:
                return waiting[:i], waiting[i:]
        return waiting, []

    def _convert(self, jobs: list[_Job]) -> None:
        try:
            conv = to_batches(jobs[0].signal, [j.data for j in jobs], self.steps)
            batches = self.sanitizer.sanitize(conv.batches)
        except Exception as exc:
            if len(jobs) == 1:
                _finish(jobs, error=exc)  # BadRequest: 400; anything else is a bug of ours
                return
            # Whatever failed (a malformed request, or one whose data trips a bug), find the
            # request at fault by converting each alone; the others go on.
            for job in jobs:
                self._convert([job])
            return
        try:
            ticket = self.pipeline.submit(batches)
        except Exception as exc:  # Overloaded: every request of the group is retried
            _finish(jobs, error=exc)
            return
        tally = conv.tally
        for i, job in enumerate(jobs):
            job.ticket = ticket
            job.shared = len(jobs) > 1
            job.result = IngestResult(tally.accepted[i], tally.rejected[i], tally.reasons[i])
        _finish(jobs)


def _by_signal(jobs: list[_Job]) -> list[list[_Job]]:
    groups: dict[str, list[_Job]] = {}
    for job in jobs:
        groups.setdefault(job.signal, []).append(job)
    return list(groups.values())


def _finish(jobs: list[_Job], error: BaseException | None = None) -> None:
    for job in jobs:
        job.error = error
        job.done.set()

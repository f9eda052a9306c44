"""What a receiver hands decoded requests to. The service composes the real sink
(model → sanitize → pipeline); receivers only know this signature."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from otelcap.selfmetrics import Registry


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int = 0
    reason: str = ""


class Sink(Protocol):
    commit_timeout_s: float  # how long a request may wait for its answer

    def __call__(self, signal: str, data: bytes) -> IngestResult:
        """(signal, serialized Export*ServiceRequest protobuf) → result. Stores the request
        and returns only after its rows are committed; raises otelcap.errors.Overloaded /
        StoreUnavailable when the client should retry."""
        ...

    def submit(
        self,
        signal: str,
        data: bytes,
        reply: Callable[[IngestResult | None, BaseException | None], None],
    ) -> None:
        """The same without blocking: reply(result, None) once the rows are committed, or
        reply(None, error) with what the call above would raise; called once, from another
        thread, and it must not block."""
        ...

    def hold(self, size: int) -> contextlib.AbstractContextManager[None]:
        """Count a request's `size` decompressed bytes as in flight for the block (decode and
        the call above); raises otelcap.errors.Overloaded when that would pass the budget."""
        ...


def count_request(
    metrics: Registry, signal: str, protocol: str, outcome: str, result: IngestResult | None = None
) -> None:
    """Self-metrics for one export request (both receivers count the same way)."""
    metrics.inc("otelcap_requests_total", signal=signal, protocol=protocol, outcome=outcome)
    if result is not None:
        metrics.inc("otelcap_records_accepted_total", result.accepted, signal=signal)
        if result.rejected:
            metrics.inc("otelcap_records_rejected_total", result.rejected, signal=signal)

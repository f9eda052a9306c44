"""What a receiver hands decoded requests to. The service composes the real sink
(model → sanitize → pipeline); receivers only know this signature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from otelcap.selfmetrics import Registry


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int = 0
    reason: str = ""


# (signal, serialized Export*ServiceRequest protobuf) → result. Stores the request and returns
# only after its rows are committed; raises otelcap.errors.Overloaded / StoreUnavailable when
# the client should retry.
Sink = Callable[[str, bytes], IngestResult]


def count_request(
    metrics: Registry, signal: str, protocol: str, outcome: str, result: IngestResult | None = None
) -> None:
    """Self-metrics for one export request (both receivers count the same way)."""
    metrics.inc("otelcap_requests_total", signal=signal, protocol=protocol, outcome=outcome)
    if result is not None:
        metrics.inc("otelcap_records_accepted_total", result.accepted, signal=signal)
        if result.rejected:
            metrics.inc("otelcap_records_rejected_total", result.rejected, signal=signal)

"""What a receiver hands decoded requests to. The service composes the real sink
(model → sanitize → pipeline); receivers only know this signature."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int = 0
    reason: str = ""


# (signal, serialized Export*ServiceRequest protobuf) → result. Stores the request and returns
# only after its rows are committed; raises otelcap.errors.Overloaded / StoreUnavailable when
# the client should retry.
Sink = Callable[[str, bytes], IngestResult]

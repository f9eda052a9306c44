"""What a receiver hands decoded requests to. The service composes the real sink
(model → sanitize → pipeline); receivers only know this signature."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True)
class IngestResult:
    accepted: int
    rejected: int = 0
    reason: str = ""


class Sink(Protocol):
    def __call__(self, signal: str, pb_request: Any) -> IngestResult:
        """Store the request; return only after its rows are committed. Raises
        otelcap.errors.Overloaded / StoreUnavailable for retryable failures."""

"""Entry point of the model layer: one decoded OTLP request → Arrow batches per table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from otelcap.model import claude, logs, metrics, traces

Batches = dict[str, pa.RecordBatch]
SIGNALS = ("logs", "metrics", "traces")


@dataclass
class Conversion:
    batches: Batches = field(default_factory=dict)
    rejected: int = 0  # records, data points or spans that could not be stored
    reason: str = ""

    @property
    def rows(self) -> int:
        return sum(b.num_rows for b in self.batches.values())


def to_batches(signal: str, data: bytes) -> Conversion:
    """Convert a serialized Export*ServiceRequest. Empty tables are left out. Raises
    BadRequest when the bytes are not a valid request."""
    if signal == "logs":
        batch, rejected, reason = logs.convert(data)
        out = {"otel_logs": claude.promote_logs(batch)}
    elif signal == "traces":
        batch, rejected, reason = traces.convert(data)
        out = {"otel_traces": claude.promote_spans(batch)}
    elif signal == "metrics":
        raw, rejected, reason = metrics.convert(data)
        out = {name: claude.promote_metrics(b) for name, b in raw.items()}
    else:
        raise ValueError(f"unknown signal {signal!r}; expected one of {SIGNALS}")
    return Conversion({k: v for k, v in out.items() if v.num_rows}, rejected, reason)

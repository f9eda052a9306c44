"""Entry point of the model layer: one decoded OTLP request → Arrow batches per table."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from otelcap.model import claude, logs, metrics, traces, wire
from otelcap.model.workflow import PromptSteps

Batches = dict[str, pa.RecordBatch]
SIGNALS = ("logs", "metrics", "traces")


@dataclass
class Conversion:
    """Batches for every table, and per request (in the order given) how many records,
    data points or spans were kept and rejected, and why."""

    batches: Batches = field(default_factory=dict)
    tally: wire.Tally = field(default_factory=lambda: wire.Tally([], [], []))


def to_batches(
    signal: str, payloads: bytes | list[bytes], steps: PromptSteps | None = None
) -> Conversion:
    """Convert serialized Export*ServiceRequests of one signal together. Empty tables are
    left out. Raises BadRequest when any payload is not a valid request.

    `steps` remembers each turn's workflow step for its events in later calls; without it
    only the payloads given here are looked at (workflow.py)."""
    if isinstance(payloads, bytes):
        payloads = [payloads]
    if signal == "logs":
        batch, tally = logs.convert(payloads)
        out = {"otel_logs": (steps or PromptSteps()).fill(claude.promote_logs(batch))}
    elif signal == "traces":
        batch, tally = traces.convert(payloads)
        out = {"otel_traces": claude.promote_spans(batch)}
    elif signal == "metrics":
        raw, tally = metrics.convert(payloads)
        out = {name: claude.promote_metrics(b) for name, b in raw.items()}
    else:
        raise ValueError(f"unknown signal {signal!r}; expected one of {SIGNALS}")
    return Conversion({k: v for k, v in out.items() if v.num_rows}, tally)

"""otelcap's own metrics, served as Prometheus text on GET /metrics.

A few counters, gauges and one histogram, thread-safe, with no dependency: the exposition
format is a handful of lines, and prometheus_client would be one more package on the hot path
for what is a dict of floats.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

Labels = tuple[tuple[str, str], ...]

FLUSH_BUCKETS_S = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)


def _fmt_labels(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = (*labels, *extra)
    if not items:
        return ""
    body = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in items
    )
    return "{" + body + "}"


def _num(v: float) -> str:
    return repr(float(v)) if v != int(v) else str(int(v))


class RecentWindow:
    """What a counter gained over the last `seconds`, in one-second buckets: the ingest rate
    `otelcap status` shows. A fixed ring of 60 slots, not a timestamp per event."""

    def __init__(self, seconds: int = 60, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._sums = [0.0] * seconds
        self._stamps = [-1] * seconds  # the second each slot holds

    def add(self, amount: float) -> None:  # called under the registry's lock
        now = int(self._clock())
        i = now % self.seconds
        if self._stamps[i] != now:
            self._stamps[i], self._sums[i] = now, 0.0
        self._sums[i] += amount

    def total(self) -> float:
        now = int(self._clock())
        return sum(
            v for v, t in zip(self._sums, self._stamps, strict=True) if 0 <= now - t < self.seconds
        )


class Registry:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._help: dict[str, tuple[str, str]] = {}  # name → (type, help)
        self._values: dict[str, dict[Labels, float]] = {}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._hist: dict[str, tuple[tuple[float, ...], list[int], list[float]]] = {}
        self._recent: dict[str, RecentWindow] = {}

    def counter(self, name: str, help_text: str, recent_s: int = 0) -> None:
        """recent_s > 0 also keeps what the counter gained over that many seconds (`recent`)."""
        self._help[name] = ("counter", help_text)
        self._values.setdefault(name, {})
        if recent_s:
            self._recent[name] = RecentWindow(recent_s)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        key = tuple(sorted(labels.items()))
        with self._lock:
            series = self._values[name]
            series[key] = series.get(key, 0.0) + amount
            window = self._recent.get(name)
            if window is not None:
                window.add(amount)

    def recent(self, name: str) -> float:
        """What the counter gained (all labels) over its window; see `counter(recent_s=…)`."""
        with self._lock:
            return self._recent[name].total()

    def gauge(self, name: str, help_text: str, read: Callable[[], float]) -> None:
        """A gauge read when scraped (queue depth, spool bytes): nothing to keep in sync."""
        self._help[name] = ("gauge", help_text)
        self._gauges[name] = read

    def histogram(self, name: str, help_text: str, buckets: tuple[float, ...]) -> None:
        self._help[name] = ("histogram", help_text)
        self._hist[name] = (buckets, [0] * len(buckets), [0.0, 0.0])  # counts, [sum, count]

    def observe(self, name: str, value: float) -> None:
        buckets, counts, total = self._hist[name]
        with self._lock:
            for i, bound in enumerate(buckets):
                if value <= bound:
                    counts[i] += 1
            total[0] += value
            total[1] += 1

    def series(self, name: str) -> dict[Labels, float]:
        """Every labelled value of a counter (what /v1/status reports per signal/protocol)."""
        with self._lock:
            return dict(self._values[name])

    def value(self, name: str, **labels: str) -> float:
        return self._values[name].get(tuple(sorted(labels.items())), 0.0)

    def render(self) -> str:
        lines: list[str] = []
        with self._lock:
            for name, (kind, help_text) in sorted(self._help.items()):
                lines.append(f"# HELP {name} {help_text}")
                lines.append(f"# TYPE {name} {kind}")
                if kind == "counter":
                    for labels, v in sorted(self._values[name].items()):
                        lines.append(f"{name}{_fmt_labels(labels)} {_num(v)}")
                elif kind == "gauge":
                    lines.append(f"{name} {_num(self._gauges[name]())}")
                else:
                    buckets, counts, (total, count) = self._hist[name]
                    for bound, c in zip(buckets, counts, strict=True):
                        lines.append(f'{name}_bucket{{le="{bound}"}} {c}')
                    lines.append(f'{name}_bucket{{le="+Inf"}} {int(count)}')
                    lines.append(f"{name}_sum {_num(total)}")
                    lines.append(f"{name}_count {int(count)}")
        return "\n".join(lines) + "\n"


def ingest_registry() -> Registry:
    """The metrics a running collector keeps. Names follow Prometheus conventions."""
    r = Registry()
    r.counter("otelcap_requests_total", "Export requests by signal, protocol and outcome.")
    r.counter(
        "otelcap_records_accepted_total", "Log records, data points and spans stored.", recent_s=60
    )
    r.counter("otelcap_records_rejected_total", "Records refused inside accepted requests.")
    r.counter("otelcap_rows_written_total", "Rows committed, by table.")
    r.counter("otelcap_flush_failures_total", "Transactions the store refused.")
    r.histogram("otelcap_flush_seconds", "Time to commit one group of requests.", FLUSH_BUCKETS_S)
    return r

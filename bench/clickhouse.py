"""ClickHouse write path and spool benchmark (run by hand, not in CI).

Synthetic Claude Code telemetry (bench/queries.py's generator, through model → sanitizer, in
the pipeline's 20k-row flushes) is sent to ClickHouseStore on ClickHouse's in-process engine
(clickhouse-connect's chdb interface: the same insert_arrow, settings and tokens a server
gets, without the network), then through the spool: written while the store is down, and
replayed when it is back. Prints rows/s for each, and the spool's bytes per row for each IPC
compression.

    .venv/bin/python bench/clickhouse.py --events 200000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

import queries  # noqa: E402
from otelcap.errors import StoreUnavailable  # noqa: E402
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget  # noqa: E402
from otelcap.storage.spool import SpoolingStore  # noqa: E402

Flush = dict[str, list[pa.RecordBatch]]


class Recorder:
    """A store that keeps the flushes it is given, to replay them into the real ones."""

    def __init__(self) -> None:
        self.flushes: list[Flush] = []

    def append(self, batches: Flush) -> None:
        self.flushes.append({t: list(parts) for t, parts in batches.items()})


class Switch:
    """ClickHouseStore behind an on/off switch (off: unreachable)."""

    name = "clickhouse"
    dialect = "clickhouse"
    deduplicates = True

    def __init__(self, inner: ClickHouseStore) -> None:
        self.inner, self.up = inner, False

    def create_schema(self) -> None:
        if not self.up:
            raise StoreUnavailable("off")
        self.inner.create_schema()

    def append(self, batches: Flush, token: str | None = None) -> None:
        if not self.up:
            raise StoreUnavailable("off")
        self.inner.append(batches, token=token)

    def query(self, sql: str, params: Any = None) -> pa.Table:
        return self.inner.query(sql, params)

    def close(self) -> None:
        self.inner.close()


def rows(flushes: list[Flush]) -> int:
    return sum(b.num_rows for f in flushes for parts in f.values() for b in parts)


def stored_rows(store: ClickHouseStore) -> int:
    tables = [
        "otel_logs", "otel_traces", "otel_metrics_sum", "otel_metrics_gauge",
        "otel_metrics_histogram", "otel_metrics_exponential_histogram", "otel_metrics_summary",
    ]  # fmt: skip
    sql = " + ".join(f"(SELECT count() FROM {t})" for t in tables)
    return int(store.query(f"SELECT {sql} AS n").column(0)[0].as_py())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=200_000, help="log events to generate")
    args = ap.parse_args()

    rec = Recorder()
    queries.load(rec, events=args.events, seed=3)
    flushes, n = rec.flushes, rows(rec.flushes)
    print(f"{len(flushes)} flushes, {n:,} rows ({args.events:,} events + metrics)")

    keeper = ClickHouseStore(ClickHouseTarget(chdb="", database="bench_keeper"))
    keeper.create_schema()  # chdb's engine lives while a connection does

    direct = ClickHouseStore(ClickHouseTarget(chdb="", database="bench_direct"), ttl_days=0)
    direct.create_schema()
    t0 = time.perf_counter()
    for f in flushes:
        direct.append(f, token=uuid.uuid4().hex)
    dt = time.perf_counter() - t0
    assert stored_rows(direct) == n
    print(f"insert_arrow into chdb (async_insert, token): {n / dt:,.0f} rows/s "
          f"({dt / len(flushes) * 1000:.1f} ms per flush)")  # fmt: skip

    for compression in ("zstd", "lz4", None):
        opts = pa.ipc.IpcWriteOptions(compression=compression)
        size = 0
        t0 = time.perf_counter()
        for f in flushes:
            sink = pa.BufferOutputStream()
            for parts in f.values():
                with pa.ipc.new_stream(sink, parts[0].schema, options=opts) as w:
                    for b in parts:
                        w.write_batch(b)
            size += sink.tell()
        dt = time.perf_counter() - t0
        print(f"IPC {compression or 'none':>4}: {size / n:6.1f} bytes/row, "
              f"encode {n / dt:,.0f} rows/s")  # fmt: skip

    with tempfile.TemporaryDirectory() as tmp:
        switch = Switch(ClickHouseStore(ClickHouseTarget(chdb="", database="bench_spool"), 0))
        spool = SpoolingStore(switch, Path(tmp) / "spool", 1 << 40, retry_s=(0.01, 0.01))
        spool.create_schema()  # down: warns, spools
        t0 = time.perf_counter()
        for f in flushes:
            spool.append(f)
        dt = time.perf_counter() - t0
        print(f"spool write (zstd, fsync per flush): {n / dt:,.0f} rows/s, "
              f"{spool.spool_bytes / n:.1f} bytes/row on disk, "
              f"{spool.spool_bytes / 2**20:.1f} MiB")  # fmt: skip
        t0 = time.perf_counter()
        switch.up = True
        while not spool.idle:
            time.sleep(0.005)
        dt = time.perf_counter() - t0
        assert stored_rows(switch.inner) == n
        print(f"spool replay into chdb: {n / dt:,.0f} rows/s ({spool.sent_from_spool} flushes)")
        spool.close()
    direct.close()
    keeper.close()


if __name__ == "__main__":
    main()

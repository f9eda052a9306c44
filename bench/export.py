"""Export / import / prune benchmark on synthetic Claude Code telemetry (bench/queries.py's
generator, through the real ingest code into DuckDB).

Prints rows/s for: `otelcap export` of the whole store to a Parquet bundle; `otelcap import`
of that bundle into a fresh database; importing it again (every record already stored: the
whole-record identity is computed over the stored rows); the query pack on the bundle in
place (`query --from`) next to the same queries on DuckDB; retention deleting half a year;
and (--while-serving) ingest latency while `otelcap serve` merges the bundle beside its writer.
Run by hand, not in CI:

    .venv/bin/python bench/export.py                      # 1M events
    .venv/bin/python bench/export.py --db /tmp/otelcap-1m.duckdb --reuse --while-serving
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))


def _config(db: Path, data_dir: Path, **overrides: object):  # type: ignore[no-untyped-def]
    from otelcap import config

    values = {"db_path": db, "data_dir": data_dir, **overrides}
    return config.load(values, env={}, config_file=data_dir / "absent.toml")


def _rate(rows: int, seconds: float) -> str:
    return f"{rows:>10,} rows {seconds:>7.2f} s {rows / seconds:>10,.0f} rows/s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--events", type=int, default=1_000_000, help="log records to generate")
    ap.add_argument("--db", type=Path, help="source DuckDB file (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="use an existing --db, no generation")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--runs", type=int, default=3, help="timed runs per query (median shown)")
    ap.add_argument(
        "--while-serving", action="store_true", help="also import through a running server"
    )
    args = ap.parse_args()

    import queries as gen
    from otelcap import export, retention
    from otelcap.model import schema
    from otelcap.storage.bundle import BundleStore
    from otelcap.storage.duckdb import DuckDBStore

    work = Path(tempfile.mkdtemp(prefix="otelcap-bench-export-"))
    try:
        src = args.db or work / "source.duckdb"
        if not args.reuse:
            store = DuckDBStore(src)
            store.create_schema()
            t0 = time.perf_counter()
            n = gen.load(store, args.events, args.seed)
            store.close()
            print(f"generated and ingested {n:,} events in {time.perf_counter() - t0:.0f} s")
        cfg = _config(src, work / "data")
        size = os.path.getsize(src) / 2**20
        print(f"source {src} ({size:.0f} MiB); DuckDB; {os.cpu_count()} cores\n")

        t0 = time.perf_counter()
        manifest = export.export_bundle(cfg, work / "bundle")
        s = time.perf_counter() - t0
        mib = sum(f["bytes"] for f in manifest["files"]) / 2**20
        print(f"export          {_rate(manifest['rows'], s)}   "
              f"{len(manifest['files'])} files, {mib:.0f} MiB zstd")  # fmt: skip

        fresh = _config(work / "fresh.duckdb", work / "data")
        t0 = time.perf_counter()
        first = export.import_bundles(fresh, [work / "bundle"])
        s = time.perf_counter() - t0
        print(f"import (fresh)  {_rate(first['read'], s)}   {first['inserted']:,} inserted")
        t0 = time.perf_counter()
        again = export.import_bundles(fresh, [work / "bundle"])
        s = time.perf_counter() - t0
        print(f"import (again)  {_rate(again['read'], s)}   {again['inserted']:,} inserted "
              "(every record already stored)")  # fmt: skip

        # What identity costs on its own: hashing every stored row, whole.
        store = DuckDBStore(work / "fresh.duckdb", read_only=True)
        cols = ", ".join(f'"{c}"' for c in schema.LOGS.names)
        t0 = time.perf_counter()
        store.query(f"SELECT count(DISTINCT (Timestamp, hash({cols}))) AS n FROM otel_logs")
        s = time.perf_counter() - t0
        logs = manifest["tables"]["otel_logs"]["rows"]
        print(f"identity        {_rate(logs, s)}   (time, hash of the whole row) over otel_logs")

        print(f"\n{'query':<16}{'DuckDB ms':>10}{'--from ms':>10}{'rows':>8}")
        bundle = BundleStore(work / "bundle")
        on_store = {n: (ms, rows) for n, ms, _lo, _hi, rows in gen.time_queries(store, args.runs)}
        for name, ms, _lo, _hi, rows in gen.time_queries(bundle, args.runs):
            print(f"{name:<16}{on_store[name][0]:>10.1f}{ms:>10.1f}{rows:>8}")
        bundle.close()
        store.close()

        store = DuckDBStore(work / "fresh.duckdb")
        first_t, last_t = (
            store.query("SELECT min(Timestamp) AS a, max(Timestamp) AS b FROM otel_logs")
            .to_pylist()[0]
            .values()
        )
        cutoff = first_t + (last_t - first_t) / 2
        batches: list[float] = []
        real = store.delete_before

        def timed(table: str, before: dt.datetime, limit: int) -> int:
            t = time.perf_counter()
            n = real(table, before, limit)
            batches.append((time.perf_counter() - t) * 1000)
            return n

        store.delete_before = timed  # type: ignore[method-assign]
        t0 = time.perf_counter()
        deleted = retention.prune_store(store, cutoff)
        s = time.perf_counter() - t0
        total = sum(deleted.values())
        print(f"\nprune half      {_rate(total, s)}   {len(batches)} transactions of "
              f"{retention.DELETE_BATCH_ROWS:,} rows, median {statistics.median(batches):.0f} ms, "
              f"max {max(batches):.0f} ms")  # fmt: skip
        store.close()
        if args.while_serving:
            _while_serving(work)
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _while_serving(work: Path) -> None:
    """Import the bundle through a running server while a client keeps sending a recorded
    Claude Code session over gRPC; the client's ack latency before and during."""
    import threading

    sys.path.insert(0, str(ROOT / "tests"))
    import recordings
    from otelcap import export
    from otelcap.service import Service

    cfg = _config(work / "served.duckdb", work / "served", grpc_port=0, http_port=0, retention="0")
    svc = Service(cfg)
    svc.start()
    reqs = recordings.load("tools-grpc")

    def send_all() -> list[float]:
        out = []
        for req in reqs:
            t = time.perf_counter()
            recordings.send(req, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url)
            out.append((time.perf_counter() - t) * 1000)
        return out

    try:
        before = [ms for _ in range(5) for ms in send_all()]
        result: dict[str, int] = {}
        job = threading.Thread(
            target=lambda: result.update(export.import_bundles(cfg, [work / "bundle"]))
        )
        t0 = time.perf_counter()
        job.start()
        during: list[float] = []
        while job.is_alive():
            during += send_all()
        s = time.perf_counter() - t0
    finally:
        svc.stop()
    print(f"\nimport via serve {_rate(result['read'], s)}   while a client sent "
          f"{len(during)} requests: ack median {statistics.median(during):.0f} ms, max "
          f"{max(during):.0f} ms (alone: median {statistics.median(before):.0f} ms, max "
          f"{max(before):.0f} ms)")  # fmt: skip


if __name__ == "__main__":
    main()

"""Sanitizer throughput on Claude-shaped log batches (run by hand, not in CI).

Converts every recorded log request in tests/fixtures/claude-code with the real model, tiles
the records to --rows, gives each copy its own ids, times and content (so repeated values
are about as frequent as in real traffic; --distinct makes every value unique), then times
Sanitizer.sanitize over batches of --batch rows. Raw API body events (60 KiB each, only
sent with OTEL_LOG_RAW_API_BODIES) are left out unless --raw-bodies is given.

    .venv/bin/python bench/sanitize.py --rows 100000 --batch 100000
    .venv/bin/python bench/sanitize.py --rows 100000 --batch 1000
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import recordings  # noqa: E402
from otelcap import config  # noqa: E402
from otelcap.model import to_batches  # noqa: E402
from otelcap.receiver.decode import parse_json  # noqa: E402
from otelcap.sanitize import Sanitizer  # noqa: E402
from otelcap.sanitize.rules import FIELD_RULES  # noqa: E402


def _convert(req: recordings.Request) -> dict[str, pa.RecordBatch]:
    body = (
        parse_json(req.signal, req.body).SerializeToString()
        if req.protocol == "http-json"
        else req.body
    )
    return to_batches(req.signal, body).batches


def recorded_logs(raw_bodies: bool) -> pa.Table:
    parts = []
    for scenario in recordings.scenarios():
        for req in recordings.load(scenario):
            if req.signal == "logs":
                parts.append(_convert(req)["otel_logs"])
    table = pa.Table.from_batches(parts)
    if not raw_bodies:
        table = table.filter(pc.invert(pc.ends_with(table.column("Body"), "_body")))
    return table


# Values that differ from event to event in real traffic (ids, times, costs) and the content
# that gets hashed: each copy gets its own, so distinct values are about as many as in a
# real stream (~a quarter of all values) instead of the 606 records' worth.
PER_EVENT = {
    "event.timestamp", "event.sequence", "session.id", "prompt.id", "message.uuid",
    "message.id", "request_id", "request_body_id", "tool_use_id", "cost_usd",
    "cost_usd_micros", "duration_ms", "ttft_ms", "input_tokens", "output_tokens",
    "cache_read_tokens", "cache_creation_tokens", "cache_creation_5m_tokens",
    *(k for r in FIELD_RULES for k in r.keys),
}  # fmt: skip


def tiled(table: pa.Table, rows: int, distinct: bool) -> pa.Table:
    copies = -(-rows // table.num_rows)
    out = pa.concat_tables([table] * copies).slice(0, rows).combine_chunks()
    col = out.column("LogAttributes").chunk(0)
    row_of_entry = pc.list_parent_indices(pa.ListArray.from_arrays(col.offsets, col.keys))
    copy = pc.cast(pc.divide(row_of_entry, table.num_rows), pa.string())
    vary = pc.is_in(col.keys, value_set=pa.array(sorted(PER_EVENT)))
    if distinct:  # worst case: every value differs from every other
        vary, copy = pc.not_equal(col.keys, ""), pc.cast(row_of_entry, pa.string())
    items = pc.if_else(vary, pc.binary_join_element_wise(col.items, copy, "-"), col.items)
    attrs = pa.MapArray.from_arrays(col.offsets, col.keys, items, type=col.type)
    i = out.schema.get_field_index("LogAttributes")
    return out.set_column(i, out.schema.field(i), attrs)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--batch", type=int, default=100_000, help="rows per sanitize() call")
    ap.add_argument("--repeat", type=int, default=3, help="best of N runs")
    ap.add_argument("--raw-bodies", action="store_true")
    ap.add_argument("--distinct", action="store_true", help="worst case: no repeated values")
    args = ap.parse_args()

    base = recorded_logs(args.raw_bodies)
    data = tiled(base, args.rows, args.distinct)
    batches = [b for b in data.to_batches(max_chunksize=args.batch)]
    mib = data.nbytes / 2**20
    with tempfile.TemporaryDirectory() as tmp:
        cfg = config.load({"data_dir": tmp}, env={}, config_file=Path(tmp) / "none.toml")
        sanitizer = Sanitizer(cfg)
        best = float("inf")
        for _ in range(args.repeat):
            t0 = time.perf_counter()
            for b in batches:
                sanitizer.sanitize({"otel_logs": b})
            best = min(best, time.perf_counter() - t0)
    print(
        f"sanitize: {data.num_rows:,} log records ({base.num_rows} recorded, tiled; "
        f"{mib:.0f} MiB of Arrow) in batches of {args.batch:,}: "
        f"{best:.3f} s, {data.num_rows / best:,.0f} records/s"
        f"{' (raw API bodies included)' if args.raw_bodies else ''}"
        f"{' (every value distinct)' if args.distinct else ''}"
    )


if __name__ == "__main__":
    main()

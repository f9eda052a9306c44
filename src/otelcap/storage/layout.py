"""The DuckDB attribute layout: in otelcap's own DuckDB file a promoted attribute (one with a
typed column, model/schema.py's PROMOTED_LOG) is kept once, in its typed column, and left
out of `LogAttributes`.

Why: DuckDB's MAP append checks every key, and costs ~25 µs a row with a Claude Code event's
~19 attributes; ~7 of them have typed columns (bench/rounds.py). The copy in the map is what
a stock Collector's tables have, so everything that leaves otelcap's file gets it back:
ClickHouse is never given the reduced map (the store drops the keys, not the model),
exports read `full_map_sql()` (opsql's `__columns__`), and `otel_logs_full` is the table
with whole maps, for anyone's SQL (`otelcap sql`).

A key leaves the map only when the map can be given back exactly: its typed column, written
as text by `full_map_sql()`, is the map's value, byte for byte. So a value that did not
parse ("12.0" for an integer, "True"), an empty string, a float DuckDB would print another
way (1e-05, 100.0 → "100"), and every row written before this layout keep their map entry,
and `full_map_sql()` then adds nothing for that key. `app.version` always stays: its column
falls back to the resource's service.version, so the column cannot tell whether the
attribute was sent. Nothing in otelcap reads a promoted key from the map: the typed columns
are the readers' source (the query pack, show, doctor).

Metric points and spans keep their maps whole: the pack's series identity hashes a point's
`Attributes` (cost.sql), so dropping keys there would split a series at the upgrade, and
neither carries enough rows to pay for it (Claude Code sends metrics every 60 s).
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model.schema import MAP, PROMOTED_LOG

TABLE = "otel_logs"
MAP_COLUMN = "LogAttributes"
FULL_VIEW = "otel_logs_full"

# (column, attribute key, kind) of every key kept only in its column.
SINGLE_COPY: list[tuple[str, str, str]] = [p for p in PROMOTED_LOG if p[0] != "AppVersion"]
_KEYS = pa.array([key for _, key, _ in SINGLE_COPY], pa.string())
# Kinds side by side, so each is written as text with one Arrow call (see _rendered).
_KIND_ORDER = ("str", "int", "int32", "float", "bool")
_ORDER = sorted(range(len(SINGLE_COPY)), key=lambda i: _KIND_ORDER.index(SINGLE_COPY[i][2]))
# Where Arrow and DuckDB write a double the same way, so a float leaves the map only there:
# from 1e-4 (below it DuckDB writes 1e-05, Arrow 0.00001) to 1e15, without an exponent.
# Tried on 209k doubles across 1e-12..1e22 (and -0.0): no difference inside, 51k outside.
_FLOAT_MIN, _FLOAT_MAX = 1e-4, 1e15


def single_copy(table: pa.Table) -> pa.Table:
    """otel_logs rows with the promoted keys left out of LogAttributes wherever the typed
    column gives them back exactly. Vectorized: ~15 Arrow calls a flush whatever its size."""
    n = table.num_rows
    if n == 0:
        return table
    m = table.column(MAP_COLUMN).combine_chunks()
    # MapArray.keys/.items ignore a slice offset: work from the offsets (as claude.py does).
    offsets = m.offsets.to_numpy(zero_copy_only=False).astype(np.int64)
    start, end = int(offsets[0]), int(offsets[-1])
    keys, values = m.keys.slice(start, end - start), m.items.slice(start, end - start)
    which = pc.fill_null(pc.index_in(keys, value_set=_KEYS), -1).to_numpy(zero_copy_only=False)
    hits = np.flatnonzero(which >= 0)
    if not len(hits):
        return table
    sizes = np.diff(offsets)
    parents = np.repeat(np.arange(n, dtype=np.int64), sizes)
    slot = np.empty(len(SINGLE_COPY), dtype=np.int64)  # key index → its block in _rendered
    slot[_ORDER] = np.arange(len(SINGLE_COPY))
    wanted = pc.take(_rendered(table), pa.array(slot[which[hits]] * n + parents[hits]))
    same = pc.fill_null(pc.equal(pc.take(values, pa.array(hits)), wanted), False)
    dropped = hits[same.to_numpy(zero_copy_only=False)]
    if not len(dropped):
        return table
    keep = np.ones(len(keys), dtype=bool)
    keep[dropped] = False
    new_sizes = sizes - np.bincount(parents[dropped], minlength=n)
    new_offsets = np.concatenate([[0], np.cumsum(new_sizes)]).astype(np.int32)
    mask = pa.array(keep)
    reduced = pa.MapArray.from_arrays(
        pa.array(new_offsets), pc.filter(keys, mask), pc.filter(values, mask), type=MAP,
        mask=m.is_null() if m.null_count else None,
    )  # fmt: skip
    i = table.schema.get_field_index(MAP_COLUMN)
    return table.set_column(i, table.schema.field(i), reduced)


def _rendered(table: pa.Table) -> pa.Array:
    """Each SINGLE_COPY column (in _ORDER) as the text full_map_sql() writes for it, null
    where that text would not be the value exactly; one block of num_rows per column."""
    blocks = []
    i = 0
    while i < len(_ORDER):
        kind = SINGLE_COPY[_ORDER[i]][2]
        j = i
        while j < len(_ORDER) and SINGLE_COPY[_ORDER[j]][2] == kind:
            j += 1
        cols = [table.column(SINGLE_COPY[k][0]) for k in _ORDER[i:j]]
        run = pa.chunked_array([c for col in cols for c in col.chunks]).combine_chunks()
        if kind == "str":  # '' is "absent" in a string column: the map keeps an empty value
            text = pc.if_else(pc.equal(run, ""), pa.scalar(None, pa.string()), run)
        elif kind == "bool":
            text = pc.if_else(run, "true", "false")
        else:
            text = pc.cast(run, pa.string())
            if kind == "float":
                size = pc.abs(run)
                exact = pc.and_(
                    pc.or_(pc.equal(size, 0), pc.and_(pc.greater_equal(size, _FLOAT_MIN),
                                                      pc.less(size, _FLOAT_MAX))),
                    pc.invert(pc.match_substring(text, "e")),
                )  # fmt: skip
                text = pc.if_else(exact, text, pa.scalar(None, pa.string()))
        blocks.append(text)
        i = j
    return pa.concat_arrays(blocks)


def _as_text(column: str, kind: str) -> str:
    """DuckDB SQL writing a typed column as the attribute's text; NULL when absent."""
    col = f'"{column}"'
    if kind == "str":
        return f"nullif({col}, '')"
    if kind == "float":  # DuckDB writes 100.0 where Arrow (and so the wire's text) wrote 100
        return f"regexp_replace(CAST({col} AS VARCHAR), '\\.0$', '')"
    return f"CAST({col} AS VARCHAR)"  # integers in decimal, booleans as true/false


def full_map_sql() -> str:
    """The whole LogAttributes of a stored row: the map, and after it each promoted key it
    lacks whose column has a value. A row written before this layout lacks none."""
    entries = ", ".join(
        f"{{'key': '{key}', 'value': {_as_text(col, kind)}}}" for col, key, kind in SINGLE_COPY
    )
    return (
        f'map_concat("{MAP_COLUMN}", map_from_entries(list_filter([{entries}], '
        f'lambda e: e.value IS NOT NULL AND "{MAP_COLUMN}"[e.key] IS NULL)))'
    )


def reduced_map_sql() -> str:
    """LogAttributes without the entries full_map_sql() would give back: the same for a
    record stored whole (written before this layout, or imported from ClickHouse) and
    stored in single copy, so import compares records in this form."""
    cases = " ".join(
        f"WHEN '{key}' THEN e.value = {_as_text(col, kind)}" for col, key, kind in SINGLE_COPY
    )
    return (
        f'map_from_entries(list_filter(map_entries("{MAP_COLUMN}"), '
        f"lambda e: NOT coalesce(CASE e.key {cases} END, false)))"
    )


def full_view_sql() -> str:
    """The view `otelcap sql` documents: otel_logs with whole attribute maps."""
    return (
        f'CREATE OR REPLACE VIEW "{FULL_VIEW}" AS SELECT * REPLACE '
        f'({full_map_sql()} AS "{MAP_COLUMN}") FROM "{TABLE}"'
    )

"""Promoted Claude Code columns, computed from the attribute maps with Arrow kernels.

Claude Code's value types drift between versions (numbers were strings before v2.1.122;
`success` is the string "true"/"false"), so every cast is defensive: a value that does not
parse becomes NULL in the typed column and stays verbatim in the map. A batch never fails
because of one bad number.
"""

from __future__ import annotations

import math

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model import wire
from otelcap.model.schema import PROMOTED_LOG, PROMOTED_METRIC, PROMOTED_SPAN

_EVENT_PREFIX = "claude_code."


def lookup_many(m: pa.MapArray, keys: list[str]) -> pa.Array:
    """map_lookup for many keys in one pass over the flat key array: one string array of
    len(keys) * len(m) values, key after key (slice j * len(m) is key j's column; absent
    values are null). pc.map_lookup costs ~0.25 ms per key per 1,000 rows, and a take per
    key cost ~60 Arrow calls a batch whatever its size: one take serves every key."""
    n = len(m)
    if isinstance(m, pa.ChunkedArray):
        m = m.combine_chunks()
    # MapArray.keys/.items ignore a slice offset, and list_parent_indices crashes on maps
    # (pyarrow 26), so derive both from the offsets.
    offsets = m.offsets.to_numpy(zero_copy_only=False)
    start, end = int(offsets[0]), int(offsets[-1])
    flat_keys, flat_values = m.keys.slice(start, end - start), m.items.slice(start, end - start)
    parents = np.repeat(np.arange(n), np.diff(offsets))
    which = pc.index_in(flat_keys, value_set=pa.array(keys, pa.string()))
    which_np = pc.fill_null(which, -1).to_numpy(zero_copy_only=False)
    hits = np.flatnonzero(which_np >= 0)
    pos = np.full(len(keys) * n, -1, dtype=np.int64)
    # Keys are unique per row (attrs_map), so no two hits land on one slot.
    pos[which_np[hits].astype(np.int64) * n + parents[hits]] = hits
    return pc.take(flat_values, pa.array(pos, mask=pos < 0))


def _to_float_py(s: str | None) -> float | None:
    if s is None:
        return None
    try:
        return float(s)
    except ValueError:
        return None


def _to_int_py(s: str | None, lo: int, hi: int) -> int | None:
    if s is None:
        return None
    try:
        i = int(s)
    except ValueError:
        f = _to_float_py(s)  # "12.0" is a whole number written as a float
        if f is None or not math.isfinite(f) or f != int(f):
            return None
        i = int(f)
    return i if lo <= i <= hi else None


def _cast_number(raw: pa.Array, typ: pa.DataType) -> pa.Array:
    try:
        return pc.cast(raw, typ)  # fast path: every value parses
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if pa.types.is_floating(typ):
        return pa.array([_to_float_py(s) for s in raw.to_pylist()], typ)
    bits = typ.bit_width - 1
    lo, hi = -(2**bits), 2**bits - 1
    return pa.array([_to_int_py(s, lo, hi) for s in raw.to_pylist()], typ)


def _to_bool(raw: pa.Array) -> pa.Array:
    low = pc.utf8_lower(raw)
    is_true = pc.equal(low, "true")
    is_false = pc.equal(low, "false")
    return pc.if_else(is_true, True, pc.if_else(is_false, False, pa.scalar(None, pa.bool_())))


def _typed(raw: pa.Array, typ: pa.DataType) -> pa.Array:
    if pa.types.is_string(typ):
        return pc.fill_null(raw, "")
    if pa.types.is_boolean(typ):
        return _to_bool(raw)
    return _cast_number(raw, typ)


def _typed_runs(raw: pa.Array, n: int, types: list[pa.DataType]) -> list[pa.Array]:
    """_typed for every promoted column of a lookup_many result (column j is the slice
    j * n), one Arrow call per run of columns of one type rather than one per column. A
    run of numbers that does not cast as a whole (a value that does not parse) is cast
    column by column, the defensive way, so the answer is the same either way."""
    out: list[pa.Array] = []
    j = 0
    while j < len(types):
        typ, k = types[j], j + 1
        while k < len(types) and types[k] == typ:
            k += 1
        run: pa.Array | None = raw.slice(j * n, (k - j) * n)
        if not (pa.types.is_string(typ) or pa.types.is_boolean(typ)):
            try:
                run = pc.cast(run, typ)
            except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
                run = None
        else:
            run = _typed(run, typ)
        if run is None:
            out += [_typed(raw.slice(i * n, n), typ) for i in range(j, k)]
        else:
            out += [run.slice((i - j) * n, n) for i in range(j, k)]
        j = k
    return out


def _promote(
    batch: pa.RecordBatch, map_col: str, spec: list[tuple[str, str, str]], extra: str = ""
) -> tuple[pa.RecordBatch, pa.Array | None]:
    """Fill the promoted columns; with `extra`, also return that key's raw values (read in
    the same pass over the map)."""
    n = batch.num_rows
    if n == 0:
        return batch, None
    names = batch.schema.names
    # Columns of one type side by side, so _typed_runs converts each type once.
    order = sorted(range(len(spec)), key=lambda i: _TYPE_RANK[spec[i][2]])
    keys = [spec[i][1] for i in order]
    raw = lookup_many(batch.column(map_col), [*keys, extra] if extra else keys)
    cols = [names.index(spec[i][0]) for i in order]
    types = [batch.schema.field(c).type for c in cols]
    arrays = list(batch.columns)
    for c, values in zip(cols, _typed_runs(raw, n, types), strict=True):
        arrays[c] = values
    promoted = pa.RecordBatch.from_arrays(arrays, schema=batch.schema)
    return promoted, raw.slice(len(keys) * n, n) if extra else None


# The order _promote converts kinds in (any fixed order groups them).
_TYPE_RANK = {"str": 0, "int": 1, "int32": 2, "float": 3, "bool": 4}


def _replace(batch: pa.RecordBatch, name: str, arr: pa.Array) -> pa.RecordBatch:
    i = batch.schema.get_field_index(name)
    return batch.set_column(i, batch.schema.field(i), arr)


def _lengths(arr: pa.Array) -> np.ndarray | None:
    """The byte length of each value of a string array without nulls (from its offsets, no
    Arrow call), or None when it has nulls."""
    if arr.null_count:
        return None
    return np.diff(wire.value_offsets(arr))


def promote_logs(batch: pa.RecordBatch) -> pa.RecordBatch:
    batch, from_attr = _promote(batch, "LogAttributes", PROMOTED_LOG, extra="event.name")
    if from_attr is None:  # no rows
        return batch
    # EventName: the LogRecord field when set, else `event.name` (the short form), else the
    # body with its `claude_code.` prefix stripped. Claude Code sets no field and sends
    # event.name on every record, so that case is taken as it is: 7 Arrow calls fewer a
    # round, the same values (with the AppVersion case below, a 16x5 round converts in 20.04
    # M instructions instead of 20.43: bench/rounds.py --callgrind --stages convert).
    field = batch.column("EventName")
    field_len = _lengths(field)
    if field_len is not None and not field_len.any() and not from_attr.null_count:
        name = from_attr
    else:
        body = batch.column("Body")
        from_body = pc.if_else(
            pc.starts_with(body, _EVENT_PREFIX),
            pc.utf8_slice_codeunits(body, len(_EVENT_PREFIX)),
            pa.scalar(None, pa.string()),
        )
        name = pc.fill_null(
            pc.coalesce(
                pc.if_else(pc.equal(field, ""), pa.scalar(None, pa.string()), field),
                from_attr,
                from_body,
            ),
            "",
        )
    batch = _replace(batch, "EventName", name)
    # AppVersion: `app.version` when sent, else the resource's service.version (Claude Code
    # sends no app.version: every row takes service.version, with no per-row choice).
    own = batch.column("AppVersion")
    own_len = _lengths(own)
    if own_len is not None and own_len.all():
        return batch
    resource = pc.fill_null(
        lookup_many(batch.column("ResourceAttributes"), ["service.version"]), ""
    )
    if own_len is not None and not own_len.any():
        return _replace(batch, "AppVersion", resource)
    return _replace(batch, "AppVersion", pc.if_else(pc.equal(own, ""), resource, own))


def promote_spans(batch: pa.RecordBatch) -> pa.RecordBatch:
    return _promote(batch, "SpanAttributes", PROMOTED_SPAN)[0]


def promote_metrics(batch: pa.RecordBatch) -> pa.RecordBatch:
    return _promote(batch, "Attributes", PROMOTED_METRIC)[0]

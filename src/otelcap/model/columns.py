"""Column builders: flat Python lists that become Arrow arrays without per-row objects.

A map column is kept as (offsets, keys, values) so pa.MapArray.from_arrays builds it in one
call; that is several times faster than handing pyarrow a list of dicts.
"""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from otelcap.model.schema import MAP


class MapColumn:
    __slots__ = ("keys", "offsets", "values")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.keys: list[str] = []
        self.values: list[str] = []

    def add(self, d: dict[str, str]) -> None:
        self.keys.extend(d)
        self.values.extend(d.values())
        self.offsets.append(len(self.keys))

    def add_many(self, d: dict[str, str], times: int) -> None:
        """The same map for `times` rows (resource attributes repeat on every record)."""
        if not d:
            self.offsets.extend([self.offsets[-1]] * times)
            return
        k = list(d)
        v = list(d.values())
        n = len(k)
        start = self.offsets[-1]
        self.keys.extend(k * times)
        self.values.extend(v * times)
        self.offsets.extend(range(start + n, start + n * (times + 1), n))

    def to_arrow(self) -> pa.Array:
        return pa.MapArray.from_arrays(
            pa.array(self.offsets, pa.int32()),
            pa.array(self.keys, pa.string()),
            pa.array(self.values, pa.string()),
            type=MAP,
        )


class ListOfMapsColumn:
    """list<map> for span events / links / exemplars: one list per row, one map per item."""

    __slots__ = ("inner", "offsets")

    def __init__(self) -> None:
        self.offsets: list[int] = [0]
        self.inner = MapColumn()

    def add(self, maps: list[dict[str, str]]) -> None:
        for m in maps:
            self.inner.add(m)
        self.offsets.append(self.offsets[-1] + len(maps))

    def to_arrow(self) -> pa.Array:
        return pa.ListArray.from_arrays(pa.array(self.offsets, pa.int32()), self.inner.to_arrow())


def build(schema: pa.Schema, cols: dict[str, Any], n: int) -> pa.RecordBatch:
    """Assemble a batch in schema order. Columns not given are filled later (promoted ones)
    or are all-null; builders are converted, plain lists are typed by the schema."""
    arrays = []
    for f in schema:
        c = cols.get(f.name)
        if c is None:
            arrays.append(pa.nulls(n, f.type))
        elif isinstance(c, (MapColumn, ListOfMapsColumn)):
            arrays.append(c.to_arrow())
        elif isinstance(c, (pa.Array, pa.ChunkedArray)):
            arrays.append(c)
        else:
            arrays.append(pa.array(c, f.type))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)

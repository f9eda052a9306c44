"""The SQL otelcap's own commands run (status, export, doctor), one statement per file in
queries/_ops/, written like the pack: DuckDB SQL with a `-- name:` header and bound
parameters, the ClickHouse form checked in beside it (queries/_ops/clickhouse/), rendered by
the pack's renderer and compared with a fresh rendering by tests/test_querypack.py.

A statement that runs once per table writes `__table__` for the table, `__time__` for its
time column and `__columns__` for its columns (model/schema.py's, in order); `sql` puts the
quoted names in. They come from the schema, never from a user. In DuckDB, `__columns__` of
otel_logs gives LogAttributes whole (storage/layout.py: the file keeps promoted attributes
only in their typed columns).

Regenerate the ClickHouse forms with `python -m otelcap.querybuild --render` (the pack's
build tool renders both).
"""

from __future__ import annotations

import re
from importlib import resources
from typing import Any

from otelcap.model import schema
from otelcap.querypack import Query, parse
from otelcap.storage import layout

_PLACEHOLDER = re.compile(r"(?<!\w)__(table|time|columns)__(?!\w)")


def _root() -> Any:
    return resources.files("otelcap").joinpath("queries", "_ops")


def load(name: str) -> Query:
    """One statement by its file name (`table-rows`); its Query.name is `_ops/<name>`."""
    path = _root().joinpath(f"{name}.sql")
    if not path.is_file():
        raise ValueError(f"no statement {name!r} in queries/_ops")
    return parse(path.read_text())


def load_all() -> list[Query]:
    files = sorted(p for p in _root().iterdir() if p.name.endswith(".sql"))
    return [parse(p.read_text()) for p in files]


def sql(name: str, dialect: str, table: str | None = None) -> str:
    """The statement in `dialect` (duckdb | clickhouse), with `table`'s names put in."""
    if dialect == "duckdb":
        text = load(name).sql
    elif dialect == "clickhouse":
        path = _root().joinpath("clickhouse", f"{name}.sql")
        if not path.is_file():
            raise ValueError(f"no ClickHouse form of {name}: run `otelcap.querybuild --render`")
        text = path.read_text()
    else:
        raise ValueError(f"no SQL dialect {dialect!r}")
    if table is None:
        return text
    names = {
        "table": _quote(table),
        "time": _quote(schema.TIME_COLUMN[table]),
        "columns": ", ".join(_quote(c) for c in schema.exported(table)),
    }
    if dialect == "duckdb" and table == layout.TABLE:
        # otelcap's DuckDB file keeps promoted attributes only in their columns; what leaves
        # it (export) carries the whole map, as the exporter's tables have it.
        whole = f"{layout.full_map_sql()} AS {_quote(layout.MAP_COLUMN)}"
        names["columns"] = names["columns"].replace(_quote(layout.MAP_COLUMN), whole)
    return _PLACEHOLDER.sub(lambda m: names[m.group(1)], text)


def defaults(name: str) -> dict[str, Any]:
    """The statement's parameters at their header defaults (doctor's `recent` counts)."""
    return load(name).bind()


def _quote(name: str) -> str:
    """A double-quoted identifier: both engines read it so."""
    return '"' + name.replace('"', '""') + '"'

"""The SQL otelcap's own commands run (status, export, doctor), one statement per file in
queries/_ops/, written like the pack: DuckDB SQL with a `-- name:` header and bound
parameters, the ClickHouse form checked in beside it (queries/_ops/clickhouse/), rendered by
the pack's renderer and compared with a fresh rendering by tests/test_querypack.py.

A statement that runs once per table writes `__table__` for the table, `__time__` for its
time column and `__columns__` for its columns (model/schema.py's, in order); `sql` puts the
quoted names in. They come from the schema, never from a user.

Regenerate the ClickHouse forms with `python -m otelcap.opsql --render`.
"""

from __future__ import annotations

import re
from importlib import resources
from pathlib import Path
from typing import Any

from otelcap.model import schema
from otelcap.querypack import Query, parse

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
            raise ValueError(f"no ClickHouse form of {name}: `python -m otelcap.opsql --render`")
        text = path.read_text()
    else:
        raise ValueError(f"no SQL dialect {dialect!r}")
    if table is None:
        return text
    names = {
        "table": _quote(table),
        "time": _quote(schema.TIME_COLUMN[table]),
        "columns": ", ".join(_quote(c) for c in schema.TABLES[table].names),
    }
    return _PLACEHOLDER.sub(lambda m: names[m.group(1)], text)


def defaults(name: str) -> dict[str, Any]:
    """The statement's parameters at their header defaults (doctor's `recent` counts)."""
    return load(name).bind()


def _quote(name: str) -> str:
    """A double-quoted identifier: both engines read it so."""
    return '"' + name.replace('"', '""') + '"'


def render_all(check: bool = False) -> list[str]:
    """Write (or with check=True, compare) queries/_ops/clickhouse/<name>.sql; the names that
    changed (or differ)."""
    from otelcap.querypack import render_clickhouse  # the one renderer of the pack

    out_dir = Path(str(_root())) / "clickhouse"
    out_dir.mkdir(exist_ok=True)
    changed = []
    for q in load_all():
        name = q.name.removeprefix("_ops/")
        # The renderer's header names the pack's command; these files have their own.
        text = render_clickhouse(q).replace(
            "python -m otelcap.querypack --render", "python -m otelcap.opsql --render"
        )
        path = out_dir / f"{name}.sql"
        if not path.exists() or path.read_text() != text:
            changed.append(name)
            if not check:
                path.write_text(text)
    return changed


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["--render"]:
        print("\n".join(render_all()) or "ClickHouse SQL is up to date")
    else:
        print("usage: python -m otelcap.opsql --render")

"""`otelcap query` and `otelcap sql`: check the flags, bind, run on the store the access layer
hands over (the running server's, the local one, or an exported bundle), format.

Every mistake in the flags is a usage error (ConfigError, exit 2) with the same message in
every command: an unknown query (with the nearest name), a bad --since/--until or a --since
that is not before --until (config.time_window), an unknown --format, a --param the query
does not take or a value it cannot read.

The access layer is imported when a query runs, not with this module: `query --list` and
`--explain` read only the pack.
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

from otelcap import querypack
from otelcap.config import Config, check_format, time_window
from otelcap.errors import ConfigError, QueryError

if TYPE_CHECKING:
    import contextlib

    import pyarrow as pa

    from otelcap.output import Shape
    from otelcap.storage.base import Reader


def check_query(name: str) -> querypack.Query:
    """The pack's query of that name; a usage error naming the nearest one otherwise."""
    names = [q.name for q in querypack.load_all()]
    if name not in names:
        near = difflib.get_close_matches(name, names, n=1)
        hint = f" (did you mean {near[0]!r}?)" if near else ""
        raise ConfigError(
            f"no query named {name!r}{hint}; the pack has: {', '.join(names)} "
            "(`otelcap query --list` shows their parameters)"
        )
    return querypack.load(name)


def run_named(
    config: Config,
    name: str,
    since: str | None = None,
    until: str | None = None,
    session: str | None = None,
    params: Sequence[str] = (),
    fmt: str = "table",
    bundle: Path | None = None,
    by: str | None = None,
    tz: str | None = None,
    shape: Shape | None = None,
    filters: dict[str, str | None] | None = None,
) -> str:
    """`otelcap query NAME …`. `tz` (an IANA name; None: UTC) is the zone of the buckets,
    of dates without one in --since/--until, and of printed times; `by` regroups cost,
    tokens, sessions and tool-usage (the column is named after it); `filters` (project,
    user, team, model: a label of --by) keep the records of one group; `shape` chooses rows
    and columns."""
    from otelcap.output import FORMATS

    check_format(fmt, FORMATS)
    query = check_query(name)
    if by is not None and not any(p.name == "by" for p in query.params):
        grouped = f"{name}-by"  # sessions → sessions-by: a grouped view has its own columns
        if any(q.name == grouped for q in querypack.load_all()):
            query = querypack.load(grouped)
    values: dict[str, str | None] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise ConfigError(f"--param takes key=value, got {item!r}")
        values[key.strip()] = value
    start, end = time_window(since, until, tz=tz)
    for key, given in (("since", start), ("until", end)):
        if given is not None:
            values[key] = given.isoformat()
    if session is not None:
        values["session"] = session
    if by is not None:
        if not any(p.name == "by" for p in query.params):
            with_by = [  # sessions-by is what sessions --by runs: name sessions
                q.name.removesuffix("-by")
                for q in querypack.load_all()
                if any(p.name == "by" for p in q.params)
            ]
            raise ConfigError(f"--by: {name} has no groups; {', '.join(with_by)} take --by")
        values["by"] = by
    for key, label in (filters or {}).items():
        if label is None:
            continue
        if key not in querypack.filters(query):
            takes = " ".join(f"--{f}" for f in querypack.filters(query)) or "no filters"
            raise ConfigError(
                f"--{key}: {name} cannot be filtered by {key} (it takes {takes}; "
                "`otelcap query --list` shows each query's filters)"
            )
        values[key] = label
    try:
        bound = query.bind(values, tz=tz)
    except QueryError as exc:  # a --param the query lacks or cannot take: a usage error
        raise ConfigError(str(exc)) from None
    with _open(config, bundle) as store:
        table = store.query(*query.statement(store.dialect, bound))
    group = bound.get("by")
    if group and group != "model" and "model" in table.column_names:
        # the pack's column is `model` whatever the group; the user asked for `--by project`
        table = table.rename_columns([group if c == "model" else c for c in table.column_names])
    return _format(table, fmt, tz, shape)


def run_sql(
    config: Config,
    sql: str,
    fmt: str = "table",
    bundle: Path | None = None,
    tz: str | None = None,
    shape: Shape | None = None,
) -> str:
    """`otelcap sql "SELECT …"`: one read-only statement in the store's own dialect (DuckDB's
    on an exported bundle)."""
    from otelcap.output import FORMATS

    check_format(fmt, FORMATS)
    with _open(config, bundle) as store:  # a reader's store refuses all but reading (sqlguard)
        table = store.query(sql, None)
    return _format(table, fmt, tz, shape)


def _open(config: Config, bundle: Path | None) -> contextlib.AbstractContextManager[Reader]:
    from otelcap import access  # not at import: `query --list` and `--explain` need no store

    return access.open_bundle(bundle) if bundle is not None else access.open(config)


def _format(table: pa.Table, fmt: str, tz: str | None, how: Shape | None) -> str:
    from otelcap.output import format_table, shape  # the one place the CLI's tables are made

    if how is not None:
        table = shape(table, how)
    return format_table(table, fmt, tz=tz, wide=how.wide if how else False)

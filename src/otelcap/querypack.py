"""The query pack: named SQL files, one dialect written, every backend answered.

Each query is one file, queries/<name>.sql, in DuckDB SQL, with a header:

    -- name: cost
    -- description: one line for `otelcap query --list`
    -- param: period day|week|month day  bucket size

A param line is `name type default description`; type is timestamp, text, int, float or a
`a|b|c` choice; a default of '' is the empty string. Parameters are bound (`$name` in DuckDB,
`{name:Type}` in ClickHouse), never pasted into the SQL text.

The ClickHouse form of each query is rendered with sqlglot plus the overrides below and checked
in as queries/clickhouse/<name>.sql; at run time the checked-in file is read, so neither
sqlglot nor a rendering step is needed to query ClickHouse, and a rendering change shows up
as a diff in review (tests/test_querypack.py re-renders and compares). Regenerate with
`python -m otelcap.querypack --render`.

Overrides, each for a trap where the stock translation is wrong (see DESIGN.md):
- quantile_cont → quantileExactInclusive: ClickHouse `quantile`/`median` are approximate;
  quantile_cont(x, [p1, p2]) → quantilesExactInclusive(p1, p2)(x), whose answer over no rows
  is [nan, …] where DuckDB's is NULL (guard with count(x) > 0).
- TRY_CAST → accurateCastOrNull: a plain CAST throws in ClickHouse on text that is no number.
- regexp_replace → replaceRegexpOne (replaceRegexpAll with 'g'): DuckDB replaces the first
  match, ClickHouse's REGEXP_REPLACE all of them.
- substring/left → substringUTF8/leftUTF8: ClickHouse counts bytes, DuckDB characters.
- string_agg(DISTINCT x, sep ORDER BY x) → arrayStringConcat(arraySort(groupUniqArray(x))).
- TIMESTAMP_NS → DateTime64(9): sqlglot has no ClickHouse name for it.
- hash(…) → cityHash64(…): only used to tell series apart, never shown or compared.
- `AS MATERIALIZED` on a CTE is dropped: a DuckDB planning hint; ClickHouse before 25.x has
  no such syntax.
- `SETTINGS join_use_nulls = 1`: without it ClickHouse fills an outer join's missing side with
  0 and '' instead of NULL.
And refusals, where no rewrite is exact: round() (ClickHouse rounds floats half to even), a map
lookup not wrapped in coalesce(…, '') or nullif(…, '') (a missing key is NULL in DuckDB and
'' in ClickHouse), median(), and an alias named like a column its SELECT reads (ClickHouse
substitutes aliases everywhere; DuckDB binds `model` to `Model`).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import math
import re
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from otelcap.config import parse_time
from otelcap.errors import ConfigError, OtelcapError
from otelcap.queryapi import QueryError, ServerGone, find_server, remote_query

if TYPE_CHECKING:
    from otelcap.config import Config
    from otelcap.storage.base import Store

__all__ = ["FORMATS", "Query", "QueryError", "format_table", "load", "load_all", "run"]

FORMATS = ("table", "csv", "json", "markdown")
SQLGLOT_VERSION = "30.30.0"  # the pinned renderer of the checked-in ClickHouse SQL
_CLICKHOUSE_TYPES = {
    "timestamp": "DateTime64(9)",
    "text": "String",
    "int": "Int64",
    "float": "Float64",
}
_DIALECTS = {"duckdb": "duckdb", "chdb": "clickhouse", "clickhouse": "clickhouse"}


# --- the pack ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    name: str
    type: str  # timestamp | text | int | float | a|b|c
    default: str
    description: str

    @property
    def choices(self) -> tuple[str, ...]:
        return tuple(self.type.split("|")) if "|" in self.type else ()

    @property
    def clickhouse_type(self) -> str:
        return "String" if self.choices else _CLICKHOUSE_TYPES[self.type]

    def parse(self, raw: str, now: dt.datetime | None = None) -> Any:
        """The bound value for a command-line string; raises QueryError when it is not one."""
        try:
            if self.choices:
                if raw not in self.choices:
                    raise ValueError(f"expected one of {', '.join(self.choices)}")
                return raw
            if self.type == "timestamp":
                return parse_time(raw, now)
            if self.type == "int":
                return int(raw)
            if self.type == "float":
                return float(raw)
            return raw
        except ValueError as exc:
            raise QueryError(f"parameter {self.name}={raw!r}: {exc}") from None


@dataclass(frozen=True)
class Query:
    name: str
    description: str
    params: tuple[Param, ...]
    sql: str  # DuckDB SQL, the source of truth
    notes: str = ""  # the header's free text

    def param(self, name: str) -> Param:
        for p in self.params:
            if p.name == name:
                return p
        known = ", ".join(p.name for p in self.params) or "none"
        raise QueryError(f"query {self.name} has no parameter {name!r} (it takes: {known})")

    def sql_for(self, dialect: str) -> str:
        if dialect == "duckdb":
            return self.sql
        if dialect == "clickhouse":
            path = _root().joinpath("clickhouse", f"{self.name}.sql")
            if not path.is_file():
                raise QueryError(
                    f"no ClickHouse form of {self.name}: run `python -m otelcap.querypack --render`"
                )
            return path.read_text()
        raise QueryError(f"no SQL dialect {dialect!r}")

    def bind(
        self, values: dict[str, str | None] | None = None, now: dt.datetime | None = None
    ) -> dict[str, Any]:
        """Every parameter's value: the given strings parsed, defaults for the rest."""
        given = {k: v for k, v in (values or {}).items() if v is not None}
        for k in given:
            self.param(k)  # unknown names are an error, not ignored
        return {p.name: p.parse(given.get(p.name, p.default), now) for p in self.params}


_HEADER = re.compile(r"^--\s*(name|description|param):\s*(.*)$")


def _root() -> Any:
    return resources.files("otelcap").joinpath("queries")


_INCLUDE = re.compile(r"^--\s*include:\s*([\w-]+)\s*$", re.MULTILINE)


def _expand(text: str) -> str:
    """Replace `-- include: NAME` lines with queries/_fragments/NAME.sql (SQL that several
    queries share, written once)."""

    def fragment(m: re.Match[str]) -> str:
        path = _root().joinpath("_fragments", f"{m.group(1)}.sql")
        if not path.is_file():
            raise ValueError(f"no query fragment {m.group(1)!r} to include")
        return "\n".join(
            line for line in path.read_text().splitlines() if not line.startswith("--")
        )

    return _INCLUDE.sub(fragment, text)


def parse(text: str) -> Query:
    text = _expand(text)
    fields: dict[str, str] = {}
    params: list[Param] = []
    notes: list[str] = []
    for line in text.splitlines():
        if not line.startswith("--"):
            break
        m = _HEADER.match(line)
        if not m:  # free text: keep its indentation (the notes hold small tables)
            notes.append(line[3:] if line.startswith("-- ") else line[2:].strip())
            continue
        key, value = m.group(1), m.group(2).strip()
        if key == "param":
            parts = value.split(None, 3)
            if len(parts) < 3:
                raise ValueError(f"bad param line (want `name type default description`): {line}")
            name, typ, default = parts[:3]
            default = "" if default == "''" else default
            if "|" not in typ and typ not in _CLICKHOUSE_TYPES:
                raise ValueError(f"param {name}: unknown type {typ!r}")
            params.append(Param(name, typ, default, parts[3] if len(parts) > 3 else ""))
        else:
            fields[key] = value
    if "name" not in fields or "description" not in fields:
        raise ValueError("a query file starts with `-- name:` and `-- description:` lines")
    return Query(fields["name"], fields["description"], tuple(params), text, "\n".join(notes))


def load_all() -> list[Query]:
    root = _root()
    files = sorted(p for p in root.iterdir() if p.name.endswith(".sql"))
    return [parse(p.read_text()) for p in files]


def load(name: str) -> Query:
    path = _root().joinpath(f"{name}.sql")
    if not path.is_file():
        names = ", ".join(q.name for q in load_all())
        raise QueryError(f"no query named {name!r}; the pack has: {names}")
    return parse(path.read_text())


_COMMON = ("since", "until", "session")


def describe_all() -> str:
    """What `otelcap query --list` prints."""
    out = [
        "Every query takes --since, --until (7d, 12h, 2026-11-01, ISO time; UTC) and --session.",
        "",
    ]
    for q in load_all():
        out.append(f"{q.name}: {q.description}")
        for p in q.params:
            if p.name in _COMMON:
                continue
            default = p.default if p.default != "" else "''"
            out.append(f"    --param {p.name}=<{p.type}>  {p.description} (default {default})")
    return "\n".join(out)


def explain(name: str) -> str:
    """What `otelcap query NAME --explain` prints: the description, the parameters and the
    header's notes on how to read the columns, without running anything."""
    q = load(name)
    out = [f"{q.name}: {q.description}", ""]
    for p in q.params:
        default = p.default if p.default != "" else "''"
        out.append(f"  {p.name} ({p.type}, default {default}): {p.description}")
    notes = q.notes.strip()
    return "\n".join(out + (["", notes] if notes else []))


# --- running ------------------------------------------------------------------------------------


def dialect_of(store: Store) -> str:
    return getattr(store, "dialect", None) or _DIALECTS.get(store.name, store.name)


def run(
    store: Store,
    name: str | Query,
    values: dict[str, str | None] | None = None,
    now: dt.datetime | None = None,
) -> pa.Table:
    """Run a pack query on an open store (tests, bench, the ClickHouse path)."""
    query = name if isinstance(name, Query) else load(name)
    return store.query(query.sql_for(dialect_of(store)), query.bind(values, now))


def execute(config: Config, sql: str, params: dict[str, Any] | None = None) -> pa.Table:
    """Run read-only SQL on the configured database: through the running `otelcap serve` when
    it holds the DuckDB file, by opening the file read-only when no server runs."""
    if config.backend == "duckdb":
        server = find_server(config.data_dir, config.database)
        if server is not None:
            try:
                return remote_query(server, sql, params or {})
            except ServerGone:
                pass  # a server that crashed left its file behind; the lock went with it
        if str(config.database) != ":memory:" and not config.database.exists():
            raise ConfigError(
                f"no database at {config.database} yet: start `otelcap serve`, point Claude "
                "Code at it, or pass --db"
            )
    from otelcap.storage import open_store

    store = open_store(config, read_only=True)
    try:
        return store.query(sql, params)
    except OtelcapError:
        raise
    except Exception as exc:  # the engine's own error type: DuckDB, ClickHouse
        raise QueryError(_engine_message(exc)) from None
    finally:
        store.close()


def _engine_message(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}".strip()


def run_named(
    config: Config,
    name: str,
    since: str | None = None,
    until: str | None = None,
    session: str | None = None,
    params: Sequence[str] = (),
    fmt: str = "table",
    bundle: Path | None = None,
) -> str:
    """`otelcap query NAME …`: bind, run where the data is (or on an exported bundle), format."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    query = load(name)
    values: dict[str, str | None] = {}
    for item in params:
        key, sep, value = item.partition("=")
        if not sep:
            raise QueryError(f"--param takes key=value, got {item!r}")
        values[key.strip()] = value
    for key, flag in (("since", since), ("until", until), ("session", session)):
        if flag is not None:
            values[key] = flag
    bound = query.bind(values)
    if bundle is not None:
        return format_table(run_on_bundle(bundle, query.sql_for("duckdb"), bound), fmt)
    dialect = _DIALECTS.get(config.backend, config.backend)
    table = execute(config, query.sql_for(dialect), bound)
    return format_table(table, fmt)


def run_on_bundle(directory: Path, sql: str, params: dict[str, Any] | None) -> pa.Table:
    """Read-only SQL (DuckDB's) over an exported bundle's Parquet files, without importing."""
    from otelcap.storage.bundle import BundleStore

    store = BundleStore(directory)
    try:
        return store.query(sql, params)
    except OtelcapError:
        raise
    except Exception as exc:  # DuckDB's own error type
        raise QueryError(_engine_message(exc)) from None
    finally:
        store.close()


def run_sql(config: Config, sql: str, fmt: str = "table", bundle: Path | None = None) -> str:
    """`otelcap sql "SELECT …"`: read-only ad-hoc SQL in the backend's own dialect (DuckDB's
    on an exported bundle)."""
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    # Every store refuses what is not read-only, by its engine: DuckDB sealed (a file opened
    # read-only, a bundle, or the running server's store), ClickHouse with readonly=1.
    if bundle is not None:
        return format_table(run_on_bundle(bundle, sql, None), fmt)
    return format_table(execute(config, sql, None), fmt)


# --- output -------------------------------------------------------------------------------------


def format_table(table: pa.Table, fmt: str = "table", width: int | None = None) -> str:
    if fmt not in FORMATS:
        raise QueryError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    names = table.column_names
    rows = table.to_pylist()
    if fmt == "json":
        return json.dumps([{k: _json_value(r[k]) for k in names} for r in rows], indent=2)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.writer(buf, lineterminator="\n")
        writer.writerow(names)
        for r in rows:
            writer.writerow(["" if r[k] is None else _plain(r[k]) for k in names])
        return buf.getvalue().rstrip("\n")
    columns = [[r[k] for r in rows] for k in names]
    shown = [
        [_human(v, k, _decimals(col)) for v in col] for k, col in zip(names, columns, strict=True)
    ]
    cells = [list(row) for row in zip(*shown, strict=True)] if rows else []
    right = [_is_numeric(table.schema.field(k).type) for k in names]
    if fmt == "markdown":
        return _markdown(names, cells, right)
    if width is None:  # a terminal's width; unlimited when piped (no wrapping for less/files)
        width = shutil.get_terminal_size((1_000_000, 24)).columns
    return _text_table(names, cells, right, width)


def _decimals(values: list[Any]) -> int:
    """One precision per column, so a column's numbers line up."""
    floats = [abs(float(v)) for v in values if isinstance(v, (float, Decimal)) and math.isfinite(v)]
    biggest = max(floats, default=0.0)
    return 0 if biggest >= 1000 else 1 if biggest >= 10 else 2


def _is_numeric(typ: pa.DataType) -> bool:
    return pa.types.is_integer(typ) or pa.types.is_floating(typ) or pa.types.is_decimal(typ)


def _iso(value: dt.date | dt.datetime) -> str:
    if isinstance(value, dt.datetime):
        if value.tzinfo is not None:
            value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
        return value.isoformat(timespec="microseconds") + "Z"
    return value.isoformat()


def _json_value(value: Any) -> Any:
    """Stable JSON for scripts: numbers as numbers (NaN/inf as null), times as ISO 8601 UTC
    strings with Z, dates as YYYY-MM-DD, lists and maps as JSON."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Decimal):
        return float(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value)
    if isinstance(value, dt.timedelta):
        return value.total_seconds()
    if isinstance(value, (list, tuple)):
        if value and all(isinstance(x, tuple) and len(x) == 2 for x in value):
            return {str(k): _json_value(v) for k, v in value}  # an Arrow map
        return [_json_value(x) for x in value]
    if isinstance(value, dict):
        return {str(k): _json_value(v) for k, v in value.items()}
    if isinstance(value, bytes):
        return value.hex()
    return value


def _plain(value: Any) -> str:
    if isinstance(value, (dt.date, dt.datetime)):
        return _iso(value)
    if isinstance(value, float):
        return repr(value) if math.isfinite(value) else ""
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value))
    return str(value)


_PERCENT = re.compile(r"(rate|ratio|share)$")


def _human(value: Any, column: str, decimals: int = 2) -> str:
    """Terminal form: thousands separators, money to 4 places, rates as percentages."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, (float, Decimal)):
        x = float(value)
        if not math.isfinite(x):
            return str(x)
        if _PERCENT.search(column):
            x, decimals, unit = x * 100, 1, "%"
        elif column.endswith("_usd"):
            decimals, unit = 4, ""
        else:
            unit = ""
        x = round(x, decimals) + 0.0  # no "-0.0000" for a float error of -1e-15
        return f"{x:,.{decimals}f}{unit}"
    if isinstance(value, dt.datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple, dict)):
        return json.dumps(_json_value(value))
    return str(value).replace("\n", " ")


def _text_table(names: list[str], cells: list[list[str]], right: list[bool], width: int) -> str:
    if not names:
        return "(no columns)"
    widths = [max([len(n), *(len(r[i]) for r in cells)]) for i, n in enumerate(names)]
    total = sum(widths) + 2 * (len(names) - 1)
    if total > width and len(names) > 2:
        return _vertical(names, cells)

    def line(values: Iterable[str]) -> str:
        parts = [
            v.rjust(w) if r else v.ljust(w) for v, w, r in zip(values, widths, right, strict=True)
        ]
        return "  ".join(parts).rstrip()

    out = [line(names), line("-" * w for w in widths)]
    out += [line(r) for r in cells]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out)


def _vertical(names: list[str], cells: list[list[str]]) -> str:
    """Too wide for the terminal: one block per row, a line per column (psql's \\x)."""
    label = max(len(n) for n in names)
    out = []
    for i, row in enumerate(cells, 1):
        out.append(f"-[ row {i} ]" + "-" * max(0, label - 6))
        out += [f"{n.ljust(label)} | {v}".rstrip() for n, v in zip(names, row, strict=True)]
    out.append(f"({len(cells)} row{'s' if len(cells) != 1 else ''})")
    return "\n".join(out)


def _markdown(names: list[str], cells: list[list[str]], right: list[bool]) -> str:
    def esc(v: str) -> str:
        return v.replace("|", "\\|")

    out = ["| " + " | ".join(esc(n) for n in names) + " |"]
    out.append("|" + "|".join("---:" if r else "---" for r in right) + "|")
    out += ["| " + " | ".join(esc(v) for v in r) + " |" for r in cells]
    return "\n".join(out)


# --- rendering for ClickHouse (build time; sqlglot is a test/dev dependency) ---------------------


def render_clickhouse(query: Query) -> str:
    """DuckDB SQL → ClickHouse SQL with sqlglot and the overrides of this module's docstring."""
    import sqlglot
    from sqlglot import exp

    if sqlglot.__version__ != SQLGLOT_VERSION:
        raise RuntimeError(
            f"the ClickHouse SQL is rendered with sqlglot=={SQLGLOT_VERSION}, "
            f"found {sqlglot.__version__}"
        )
    types = {p.name: p.clickhouse_type for p in query.params}
    # The header becomes the snapshot's own; comments inside the query are carried over.
    body_sql = "\n".join(_strip_header(query.sql.splitlines()))
    tree = sqlglot.parse_one(body_sql, read="duckdb")
    problems: list[str] = []

    def fail(node: exp.Expression, why: str) -> None:
        problems.append(f"{query.name}: {why}: {node.sql('duckdb')[:120]}")

    def override(node: exp.Expression) -> exp.Expression:
        if isinstance(node, exp.Placeholder):
            name = node.name
            if name not in types:
                fail(node, f"${name} is not a declared parameter")
                return node
            return exp.Placeholder(
                this=name, kind=exp.DataType.build(types[name], dialect="clickhouse")
            )
        if isinstance(node, exp.PercentileCont):
            levels = node.expression
            many = isinstance(levels, exp.Array)  # quantile_cont(x, [0.5, 0.95]): one sort
            return exp.ParameterizedAgg(
                this="quantilesExactInclusive" if many else "quantileExactInclusive",
                expressions=levels.expressions if many else [levels],
                params=[node.this],
            )
        if isinstance(node, exp.TryCast):
            to = node.args["to"].sql("clickhouse")
            return exp.Anonymous(
                this="accurateCastOrNull",
                expressions=[node.this, exp.Literal.string(to)],
            )
        if isinstance(node, exp.RegexpReplace):
            modifiers = node.args.get("modifiers")
            every = modifiers is not None and "g" in modifiers.name
            return exp.Anonymous(
                this="replaceRegexpAll" if every else "replaceRegexpOne",
                expressions=[node.this, node.expression, node.args["replacement"]],
            )
        if isinstance(node, exp.Substring):
            args = [node.this, node.args.get("start"), node.args.get("length")]
            return exp.Anonymous(this="substringUTF8", expressions=[a for a in args if a])
        if isinstance(node, exp.DataType) and node.this == exp.DataType.Type.TIMESTAMP_NS:
            return exp.DataType.build("DateTime64(9)", dialect="clickhouse")
        if isinstance(node, exp.Anonymous) and node.name.lower() == "hash":
            return exp.Anonymous(this="cityHash64", expressions=node.expressions)
        if isinstance(node, exp.CTE) and node.args.get("materialized"):
            node.set("materialized", None)  # a DuckDB planning hint; older servers lack it
            return node
        if isinstance(node, exp.Left):
            return exp.Anonymous(this="leftUTF8", expressions=[node.this, node.expression])
        if isinstance(node, exp.GroupConcat):
            return _string_agg(node, fail)
        if isinstance(node, exp.Round):
            fail(node, "round() differs (ClickHouse rounds floats half to even); format instead")
        if isinstance(node, exp.Median):
            fail(node, "median() is approximate in ClickHouse; use quantile_cont(x, 0.5)")
        if isinstance(node, exp.Bracket) and _is_map_lookup(node) and not _map_lookup_guarded(node):
            fail(node, "wrap a map lookup in coalesce(…, '') or nullif(…, '')")
        return node

    tree = tree.transform(override)
    for select in tree.find_all(exp.Select):
        for why in _shadowing_aliases(select):
            problems.append(f"{query.name}: {why}")
    if problems:
        raise ValueError("cannot render for ClickHouse:\n  " + "\n  ".join(problems))
    body = tree.sql(dialect="clickhouse", pretty=True)
    header = "\n".join(
        [
            f"-- {query.name}: rendered from queries/{query.name}.sql for ClickHouse by",
            f"-- otelcap.querypack.render_clickhouse (sqlglot {SQLGLOT_VERSION} + overrides).",
            "-- Do not edit: run `python -m otelcap.querypack --render`.",
        ]
    )
    return f"{header}\n{body}\nSETTINGS join_use_nulls = 1\n"


def _shadowing_aliases(select: Any) -> list[str]:
    """An alias named like a column that another part of its SELECT reads means different
    things on the two engines: ClickHouse substitutes the alias everywhere (so a FILTER that
    reads `x` next to `sum(x) AS x` reads the sum), DuckDB binds identifiers
    case-insensitively (`Model` is `model`) and prefers the column in GROUP BY."""
    from sqlglot import exp

    def own_nodes(node: Any) -> Any:
        # this SELECT's nodes, not those of subqueries or CTEs nested in it
        for child in node.iter_expressions():
            if isinstance(child, (exp.Subquery, exp.Select, exp.With, exp.CTE)):
                continue
            yield child
            yield from own_nodes(child)

    columns = [n for n in own_nodes(select) if isinstance(n, exp.Column)]
    read_by_projections = {
        c.name.lower() for p in select.expressions for c in p.find_all(exp.Column)
    }
    bare = set()  # `GROUP BY alias` / `ORDER BY alias`: fine unless a projection reads it
    group = select.args.get("group")
    order = select.args.get("order")
    for item in [*(group.expressions if group else []), *(order.expressions if order else [])]:
        target = item.this if isinstance(item, exp.Ordered) else item
        if isinstance(target, exp.Column):
            bare.add(id(target))
    out = []
    for projection in select.expressions:
        if not isinstance(projection, exp.Alias):
            continue
        alias = projection.alias.lower()
        inner = projection.this
        if isinstance(inner, exp.Column) and inner.name.lower() == alias:
            continue  # `x AS x` renames nothing
        own = {id(n) for n in inner.walk()}
        for col in columns:
            if col.name.lower() != alias or id(col) in own:
                continue
            if id(col) in bare and alias not in read_by_projections:
                continue
            out.append(f"alias {projection.alias!r} shadows a column its SELECT reads")
            break
    return out


def _strip_header(lines: list[str]) -> list[str]:
    i = 0
    while i < len(lines) and lines[i].startswith("--"):
        i += 1
    return lines[i:]


def _is_map_lookup(node: Any) -> bool:
    """m['key'] (a string key); list[1] is an index, the same on both engines (1-based)."""
    keys = node.expressions
    return not (len(keys) == 1 and keys[0].is_int)


def _map_lookup_guarded(node: Any) -> bool:
    from sqlglot import exp

    parent = node.parent
    if isinstance(parent, exp.Nullif) and parent.this is node:
        return parent.expression.name == "" and parent.expression.is_string
    if isinstance(parent, exp.Coalesce) and parent.this is node:
        rest = parent.expressions
        return len(rest) == 1 and rest[0].is_string and rest[0].name == ""
    return False


def _string_agg(node: Any, fail: Any) -> Any:
    """string_agg(DISTINCT x, sep ORDER BY x) is the one form with an exact ClickHouse twin."""
    from sqlglot import exp

    inner = node.this
    order = inner if isinstance(inner, exp.Order) else None
    distinct = order.this if order is not None else inner
    if not isinstance(distinct, exp.Distinct) or len(distinct.expressions) != 1:
        fail(node, "only string_agg(DISTINCT x, sep ORDER BY x) renders exactly")
        return node
    value = distinct.expressions[0]
    if order is not None and [o.this for o in order.expressions] != [value]:
        fail(node, "string_agg must be ordered by its own value")
        return node
    sep = node.args.get("separator") or exp.Literal.string(",")
    uniq = exp.Anonymous(this="groupUniqArray", expressions=[value])
    return exp.Anonymous(
        this="arrayStringConcat",
        expressions=[exp.Anonymous(this="arraySort", expressions=[uniq]), sep],
    )


def render_all(check: bool = False) -> list[str]:
    """Write (or with check=True, compare) queries/clickhouse/<name>.sql. Returns the names
    that changed (or differ)."""
    from pathlib import Path

    out_dir = Path(str(_root())) / "clickhouse"
    out_dir.mkdir(exist_ok=True)
    changed = []
    for q in load_all():
        text = render_clickhouse(q)
        path = out_dir / f"{q.name}.sql"
        if not path.exists() or path.read_text() != text:
            changed.append(q.name)
            if not check:
                path.write_text(text)
    return changed


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["--render"]:
        print("\n".join(render_all()) or "ClickHouse SQL is up to date")
    else:
        print("usage: python -m otelcap.querypack --render")

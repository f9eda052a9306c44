"""The query pack: named SQL files, one dialect written, every backend answered.

Each query is one file, queries/<name>.sql, in DuckDB SQL, with a header:

    -- name: cost
    -- description: one line for `otelcap query --list`
    -- param: period day|week|month day  bucket size

A param line is `name type default description`; type is timestamp, text, int, float or a
`a|b|c` choice; a default of '' is the empty string. Parameters are bound (`$name` in DuckDB,
`{name:Type}` in ClickHouse), never pasted into the SQL text; a `CASE $choice WHEN 'a' THEN …`
is cut down to the chosen branch when the statement is built (resolve_choice).

    -- filters: project user team model

declares the filter parameters a query takes (text, default '' = no filter; FILTERS below),
whose values are the labels `--by project|user|team|model` prints; the query applies them
with `-- include: log_filter` / `metric_filter` (and `model_filter`) in its WHERE clauses.
A query NAME without a `by` parameter is grouped by its sibling NAME-by (sessions-by,
tool-usage-by) when the CLI is given --by.

The ClickHouse form of each query is checked in as queries/clickhouse/<name>.sql, rendered at
build time by otelcap.querybuild (sqlglot and the overrides listed there); at run time that
file is read as it is.

Loading and binding import nothing heavy (no pyarrow, duckdb or sqlglot), so `otelcap query
--list` and `--explain` cost about what `otelcap --help` does; running a query imports its
engine, and the results are Arrow tables that otelcap.output formats.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from importlib import resources
from typing import TYPE_CHECKING, Any

from otelcap.config import parse_time
from otelcap.errors import QueryError

if TYPE_CHECKING:
    import pyarrow as pa

    from otelcap.storage.base import Reader

__all__ = [
    "FILTERS",
    "Param",
    "Query",
    "QueryError",
    "describe_all",
    "explain",
    "filters",
    "load",
    "load_all",
    "resolve_choice",
    "run",
]

_CLICKHOUSE_TYPES = {
    "timestamp": "DateTime64(9)",
    "text": "String",
    "int": "Int64",
    "float": "Float64",
}


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

    def parse(self, raw: str, now: dt.datetime | None = None, tz: str | None = None) -> Any:
        """The bound value for a command-line string; raises QueryError when it is not one."""
        try:
            if self.choices:
                if raw not in self.choices:
                    raise ValueError(f"expected one of {', '.join(self.choices)}")
                return raw
            if self.type == "timestamp":
                return parse_time(raw, now, tz)
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
                    f"no ClickHouse form of {self.name}: "
                    "run `python -m otelcap.querybuild --render`"
                )
            return path.read_text()
        raise QueryError(f"no SQL dialect {dialect!r}")

    def statement(self, dialect: str, bound: dict[str, Any]) -> tuple[str, dict[str, Any]]:
        """The SQL and parameters to run for bound values: sql_for(dialect) without the
        conditions of the filters that are '' (no filter). Left in, an unused filter still
        reads the attribute maps on both engines: at 300k synthetic events tokens took 31 →
        48 ms on DuckDB and 7.3 → 10.6 s on chdb, so they go, and the unfiltered SQL is the
        one the query had before it took filters."""
        sql = self.sql_for(dialect)
        for name in FILTERS:
            if bound.get(name) == "":
                sql = _filter_condition(name, dialect).sub("", sql)
        for p in self.params:
            if p.choices and p.name in bound:
                sql = resolve_choice(sql, p.name, bound[p.name], dialect)
        # DuckDB refuses a parameter its statement does not name
        return sql, {k: v for k, v in bound.items() if _names(sql, k, dialect)}

    def bind(
        self,
        values: dict[str, str | None] | None = None,
        now: dt.datetime | None = None,
        tz: str | None = None,
    ) -> dict[str, Any]:
        """Every parameter's value: the given strings parsed, defaults for the rest. `tz`
        (an IANA name) is the zone that dates without one are read in, and the value of a
        query's `tz` parameter unless one is given."""
        given = {k: v for k, v in (values or {}).items() if v is not None}
        for k in given:
            self.param(k)  # unknown names are an error, not ignored
        if tz and "tz" not in given and any(p.name == "tz" for p in self.params):
            given["tz"] = tz
        return {p.name: p.parse(given.get(p.name, p.default), now, tz) for p in self.params}


def _filter_condition(name: str, dialect: str) -> re.Pattern[str]:
    """`AND ($name = '' OR … = $name)`, as _fragments/log_filter.sql and friends write it,
    and as querybuild renders it for ClickHouse (`{name: String}`)."""
    value = rf"\${name}" if dialect == "duckdb" else rf"\{{{name}: String\}}"
    return re.compile(rf"AND \(\s*{value} = ''\s+OR\b.*?= {value}\s*\)", re.DOTALL)


def _names(sql: str, param: str, dialect: str) -> bool:
    mark = rf"\${param}\b" if dialect == "duckdb" else rf"\{{{param}:"
    return re.search(mark, sql) is not None


# A CASE over a choice parameter, as _fragments/log_group.sql writes it and querybuild renders
# it: `CASE $by WHEN 'model' THEN … ELSE … END` / `CASE {by: String} WHEN …`.
_TOKEN = re.compile(r"'(?:[^']|'')*'|\"(?:[^\"]|\"\")*\"|--[^\n]*|\w+|\S")


def resolve_choice(sql: str, param: str, value: str, dialect: str) -> str:
    """sql with each `CASE <param> WHEN 'choice' THEN expr … [ELSE expr] END` replaced by the
    chosen branch, `(expr)`. Left to ClickHouse, the CASE reads the columns of every branch
    for every row, both attribute maps included, whatever `by` is (binding it as a literal does
    not help): chdb, 100k bench events, tokens by model 2.9 s → 0.6 s, tool-usage-by project
    0.86 → 0.19 s. DuckDB gains a few per cent (10M events, tokens by model 77 → 74 ms)."""
    head = rf"\bCASE\s+\${param}\b" if dialect == "duckdb" else rf"\bCASE\s+\{{{param}:\s*\w+\}}"
    while (m := re.search(head, sql, re.IGNORECASE)) is not None:
        chosen, end = _case_branch(sql, m.end(), value)
        sql = f"{sql[: m.start()]}({chosen}){sql[end:]}"
    return sql


def _case_branch(sql: str, pos: int, value: str) -> tuple[str, int]:
    """The result expression a simple CASE whose WHENs start at sql[pos:] gives for `value`
    (each WHEN a string literal), and where the CASE ends. Nested parentheses and CASEs are
    stepped over; a CASE this cannot read is an error, not left to guess."""
    branches: dict[str, str] = {}
    when: str | None = None  # the literal of the branch being read; ELSE reads into ""
    part, begun, depth, nested = "", pos, 0, 0
    for tok in _TOKEN.finditer(sql, pos):
        word = tok.group().upper()
        if word in ("(", "["):
            depth += 1
        elif word in (")", "]"):
            depth -= 1
        elif word == "CASE":
            nested += 1
        elif word == "END" and nested:
            nested -= 1
        elif depth == 0 and not nested and word in ("WHEN", "THEN", "ELSE", "END"):
            text = sql[begun : tok.start()].strip()
            if part == "WHEN":
                if not (text.startswith("'") and text.endswith("'")):
                    raise ValueError(f"CASE over a choice: WHEN {text} is no string literal")
                when = text[1:-1].replace("''", "'")
            elif part in ("THEN", "ELSE"):
                branches.setdefault("" if part == "ELSE" else str(when), text)
            if word == "END":
                chosen = branches.get(value, branches.get(""))
                return ("NULL" if chosen is None else chosen), tok.end()
            part, begun = word, tok.end()
        if depth < 0:
            break
    raise ValueError(f"CASE over a choice at offset {pos} has no END")


_HEADER = re.compile(r"^--\s*(name|description|param|filters):\s*(.*)$")

# The filters a query may declare, with the one description each has everywhere. Their values
# are the labels of `--by` (_fragments/log_project.sql and friends), so a row of `--by team`
# output, "(no team.id)" included, filters to exactly that row's records.
FILTERS = {
    "project": "only records of this project, as --by project labels it ('' = every project)",
    "user": "only records of this user, as --by user labels it (hashed by default; '' = all)",
    "team": "only records of this team.id, as --by team labels it ('' = every team)",
    "model": "only records of this model, as --by model labels it ('' = every model)",
}


def _root() -> Any:
    return resources.files("otelcap").joinpath("queries")


_INCLUDE = re.compile(r"^[ \t]*--\s*include:\s*([\w-]+)\s*$", re.MULTILINE)


def _expand(text: str) -> str:
    """Replace `-- include: NAME` lines with queries/_fragments/NAME.sql (SQL that several
    queries share, written once)."""

    def fragment(m: re.Match[str]) -> str:
        path = _root().joinpath("_fragments", f"{m.group(1)}.sql")
        if not path.is_file():
            raise ValueError(f"no query fragment {m.group(1)!r} to include")
        # a fragment may include others (log_filter names log_project, …); expanded first,
        # so that its own comment lines can go
        return "\n".join(
            line for line in _expand(path.read_text()).splitlines() if not line.startswith("--")
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
        elif key == "filters":
            for name in value.split():
                if name not in FILTERS:
                    raise ValueError(f"unknown filter {name!r} (known: {', '.join(FILTERS)})")
                params.append(Param(name, "text", "", FILTERS[name]))
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


_COMMON = ("since", "until", "session", "tz", *FILTERS)  # flags of their own, not --param


def filters(query: Query) -> list[str]:
    """The filter parameters (--project, --user, --team, --model) the query takes."""
    return [p.name for p in query.params if p.name in FILTERS]


def describe_all(fmt: str = "text") -> str:
    """What `otelcap query --list` prints: text for people, or json (every parameter)."""
    if fmt == "json":
        import json

        return json.dumps(
            [
                {
                    "name": q.name,
                    "description": q.description,
                    "params": [
                        {
                            "name": p.name,
                            "type": p.type,
                            "default": p.default,
                            "description": p.description,
                        }
                        for p in q.params
                    ],
                }
                for q in load_all()
            ],
            indent=2,
        )
    out = [
        "Every query takes --since, --until (7d, 12h, 2026-11-01, ISO time; in the local time "
        "zone unless it says otherwise, or --timezone) and --session; cost, tokens, sessions "
        "and tool-usage take --by; the filters each query takes (--project, --user, --team, "
        "--model: a label of --by) are listed under it.",
        "",
    ]
    for q in load_all():
        out.append(f"{q.name}: {q.description}")
        if filters(q):
            out.append("    filters: " + " ".join(f"--{f}" for f in filters(q)))
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


def run(
    store: Reader,
    name: str | Query,
    values: dict[str, str | None] | None = None,
    now: dt.datetime | None = None,
) -> pa.Table:
    """Run a pack query on an open store, in the store's dialect (tests, bench). Commands run
    queries through otelcap.answer, on the store the access layer hands over."""
    query = name if isinstance(name, Query) else load(name)
    return store.query(*query.statement(store.dialect, query.bind(values, now)))

"""The query pack's ClickHouse form, rendered at build time: DuckDB SQL → ClickHouse SQL with
sqlglot (pinned, a test/dev dependency) plus the overrides below, checked in as
queries/clickhouse/<name>.sql. At run time the checked-in file is read, so neither sqlglot nor
a rendering step is needed to query ClickHouse, and a rendering change shows up as a diff in
review (tests/test_querypack.py re-renders and compares). Regenerate with
`python -m otelcap.querybuild --render`.

Overrides, each for a trap where the stock translation is wrong (each verified on both
engines by tests/test_queries_golden.py):
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
- time_bucket(INTERVAL n UNIT, ts) → toStartOfInterval(ts, INTERVAL n UNIT): sqlglot writes
  DATE_BIN, which ClickHouse lacks. Only an intermediate grouping (cost's UTC quarter hours):
  where a bucket starts is checked, not assumed.
- `AS MATERIALIZED` on a CTE is dropped: a DuckDB planning hint; ClickHouse before 25.x has
  no such syntax.
- `SETTINGS join_use_nulls = 1`: without it ClickHouse fills an outer join's missing side with
  0 and '' instead of NULL.
- CTEs written by hand for ClickHouse (CLICKHOUSE_CTES), where the translation is exact but
  cannot run there: blocks' recursive chain of block starts. ClickHouse runs a recursive CTE's
  step as a query of its own, each reading the table again (chdb, bench data: 20k events,
  92 steps, 2.4-2.8 s; 100k, 391 steps, 41-44 s; the fold: 135 and 503 ms), and stops at
  1,000 steps (8 months of bench/queries.py's synthetic year, which has 1,517 blocks), so
  there the chain is one arrayFold over the sorted hours. CTEs nothing reads any more are dropped.
And refusals, where no rewrite is exact: round() (ClickHouse rounds floats half to even), a map
lookup not wrapped in coalesce(…, '') or nullif(…, '') (a missing key is NULL in DuckDB and
'' in ClickHouse), median(), and an alias named like a column its SELECT reads (ClickHouse
substitutes aliases everywhere; DuckDB binds `model` to `Model`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from otelcap.querypack import Query, load_all

__all__ = ["SQLGLOT_VERSION", "render_all", "render_clickhouse", "render_ops"]

SQLGLOT_VERSION = "30.30.0"  # the pinned renderer of the checked-in ClickHouse SQL
# Written into the source tree (a maintainer's tool), so a file path, not a package resource.
OUT_DIR = Path(__file__).parent / "queries" / "clickhouse"

# (query, CTE) → the CTE's ClickHouse body (see the module docstring).
CLICKHOUSE_CTES: dict[tuple[str, str], str] = {
    # Each start is the first hour at least 5 hours after the previous start: a fold that
    # appends an hour when it is. One pass, though each append copies the list: a year with
    # two hours of every three used (5,840 hours, 1,461 blocks) 180 ms in chdb, ten such years
    # (14,601 blocks) 1.6 s.
    ("blocks", "starts"): """
        SELECT arrayJoin(arrayFold(
            (acc, h) -> if(h >= acc[-1] + INTERVAL 5 HOUR, arrayPushBack(acc, h), acc),
            arraySort(groupArray(hour_start)),
            [min(hour_start)]
        )) AS start_hour
        FROM hours
        HAVING count(*) > 0
    """,
}


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
        if isinstance(node, exp.Anonymous) and node.name.lower() == "timezone":
            # DuckDB's timezone(tz, timezone('UTC', ts)) reads a naive UTC time and gives its
            # wall-clock time in tz; ClickHouse's DateTime64 is an instant, so it only needs
            # the zone it is shown (and truncated) in. Other uses have no exact twin.
            inner = node.expressions[1] if len(node.expressions) == 2 else None
            if (
                isinstance(inner, exp.Anonymous)
                and inner.name.lower() == "timezone"
                and inner.expressions[0].name == "UTC"
            ):
                ts, zone = inner.expressions[1], node.expressions[0]
                return exp.Anonymous(
                    this="toTimeZone", expressions=[ts.transform(override), override(zone)]
                )
            fail(node, "write timezone($tz, timezone('UTC', ts)): a naive UTC time to tz")
            return node
        if isinstance(node, exp.DateBin):
            return exp.Anonymous(
                this="toStartOfInterval",
                expressions=[node.expression.transform(override), node.this],
            )
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
    _hand_written_ctes(query.name, tree)
    for select in tree.find_all(exp.Select):
        for why in _shadowing_aliases(select):
            problems.append(f"{query.name}: {why}")
    if problems:
        raise ValueError("cannot render for ClickHouse:\n  " + "\n  ".join(problems))
    body = tree.sql(dialect="clickhouse", pretty=True)
    header = "\n".join(
        [
            f"-- {query.name}: rendered from queries/{query.name}.sql for ClickHouse by",
            f"-- otelcap.querybuild.render_clickhouse (sqlglot {SQLGLOT_VERSION} + overrides).",
            "-- Do not edit: run `python -m otelcap.querybuild --render`.",
        ]
    )
    return f"{header}\n{body}\nSETTINGS join_use_nulls = 1\n"


def _hand_written_ctes(name: str, tree: Any) -> None:
    """Put CLICKHOUSE_CTES' bodies in place of the query's own, then drop the CTEs nothing
    reads any more and RECURSIVE where no CTE reads itself."""
    import sqlglot
    from sqlglot import exp

    ctes = {cte.alias: cte for cte in tree.find_all(exp.CTE)}
    replaced = [alias for alias in ctes if (name, alias) in CLICKHOUSE_CTES]
    if not replaced:
        return
    for alias in replaced:
        ctes[alias].set("this", sqlglot.parse_one(CLICKHOUSE_CTES[name, alias], read="clickhouse"))

    def readers(alias: str) -> list[Any]:
        return [t for t in tree.find_all(exp.Table) if t.name == alias and not t.db]

    unused = True
    while unused:  # a dropped CTE may have been the only reader of another
        unused = False
        for alias, cte in list(ctes.items()):
            if not readers(alias):
                cte.pop()
                del ctes[alias]
                unused = True
    with_ = tree.args.get("with_")
    if with_ is not None and not any(
        t.find_ancestor(exp.CTE) is cte for alias, cte in ctes.items() for t in readers(alias)
    ):
        with_.set("recursive", False)


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
    OUT_DIR.mkdir(exist_ok=True)
    changed = []
    for q in load_all():
        text = render_clickhouse(q)
        path = OUT_DIR / f"{q.name}.sql"
        if not path.exists() or path.read_text() != text:
            changed.append(q.name)
            if not check:
                path.write_text(text)
    return changed


def render_ops(check: bool = False) -> list[str]:
    """The same for the commands' own SQL (opsql.py): queries/_ops/clickhouse/<name>.sql."""
    from otelcap import opsql

    out_dir = OUT_DIR.parent / "_ops" / "clickhouse"
    out_dir.mkdir(exist_ok=True)
    changed = []
    for q in opsql.load_all():
        text = render_clickhouse(q)
        path = out_dir / f"{q.name.removeprefix('_ops/')}.sql"
        if not path.exists() or path.read_text() != text:
            changed.append(q.name)
            if not check:
                path.write_text(text)
    return changed


if __name__ == "__main__":  # pragma: no cover - a maintainer's tool
    import sys

    if sys.argv[1:] == ["--render"]:
        print("\n".join(render_all() + render_ops()) or "ClickHouse SQL is up to date")
    else:
        print("usage: python -m otelcap.querybuild --render")

"""Read-only SQL on DuckDB: what `otelcap sql`, the query pack, export and the loopback
endpoint may run. They read otelcap's tables and nothing else: no writes, no DDL, no file read
or written, no ATTACH, no extensions, no settings, no pragmas.

Two layers, so that neither has to be perfect alone:

1. The engine refuses. A connection that runs such SQL is sealed (`seal`): external access off
   (DuckDB then opens no file but its attached databases, their WAL and its spill directory),
   extensions neither installed nor loaded (autoload off, community extensions and extension
   repositories forbidden), and the configuration locked (no SET, RESET or PRAGMA that sets).
   Every statement runs in a READ ONLY transaction that is then rolled back (`run`), so no
   table, view, macro or sequence of any attached database can change.
2. The statement is checked first (`check`): one statement, a SELECT or EXPLAIN [ANALYZE] of
   a SELECT, whose table functions are on a short list. It gives the clear message, and it
   covers what DuckDB 2.0 does not refuse inside a sealed read-only transaction (each tried):
   CHECKPOINT and FORCE CHECKPOINT, DETACH, ATTACH ':memory:', VACUUM, ANALYZE, USE,
   SET VARIABLE, temporary tables and macros, COPY … TO into the spill directory, and table
   functions with effects that a SELECT reaches (`checkpoint()`, `truncate_duckdb_logs()`).

Why not a DuckDB of its own for user SQL: the server's file can be attached by one DuckDB in a
process only ("Unique file handle conflict", also read-only and from a second instance), and
handing the tables over as Arrow cost 10-40x per query at 100k events (224-555 ms against
6-62 ms, every query of the pack).
"""

from __future__ import annotations

import contextlib
import functools
import json
import threading
from typing import Any

import duckdb
import pyarrow as pa

from otelcap.errors import NotReadOnly, QueryError

# Table functions a SELECT may call: they compute rows, or describe the database and the
# engine without changing either. Every other one is refused: some read files (read_csv,
# glob, sniff_csv), some change the database or the instance (checkpoint,
# truncate_duckdb_logs), some run SQL given as text (query, query_table), and duckdb_secrets
# would list credentials if there ever were any.
TABLE_FUNCTIONS = frozenset(
    {
        # rows
        "range",
        "generate_series",
        "unnest",
        "json_each",
        "json_tree",
        "summary",
        # the catalogue: tables, columns, views, types, functions
        "duckdb_tables",
        "duckdb_columns",
        "duckdb_views",
        "duckdb_schemas",
        "duckdb_types",
        "duckdb_constraints",
        "duckdb_indexes",
        "duckdb_sequences",
        "duckdb_dependencies",
        "duckdb_functions",
        "duckdb_keywords",
        "pragma_table_info",
        "table_info",
        "show",
        "show_tables",
        "show_tables_expanded",
        "show_databases",
        # the engine: settings (read, not set), storage layout, sizes, version
        "duckdb_settings",
        "duckdb_databases",
        "duckdb_extensions",
        "duckdb_memory",
        "duckdb_temporary_files",
        "pragma_storage_info",
        "storage_info",
        "pragma_database_size",
        "database_size",
        "pragma_version",
        "version",
        "pragma_platform",
        "platform",
    }
)
_WHAT = (
    "otelcap's SQL reads its tables and nothing else (no writes, DDL, files, ATTACH, "
    "extensions, settings or pragmas)"
)

# Set in this order: a path is allowed only while external access may still be changed, and
# lock_configuration last, since it refuses every later SET. enable_progress_bar stays
# changeable: otelcap turns it off on each cursor (a long query would draw on the server's
# terminal), and user SQL cannot SET anything (`check`).
_SEAL = (
    "enable_external_access = false",
    "autoload_known_extensions = false",
    "autoinstall_known_extensions = false",
    "allow_community_extensions = false",
    "allow_persistent_secrets = false",
    "allow_extension_repositories = 'forbidden'",
    "allowed_configs = ['enable_progress_bar']",
    "lock_configuration = true",
)


def seal(con: duckdb.DuckDBPyConnection, allowed_paths: list[str] | None = None) -> None:
    """Lock down the DuckDB instance `con` belongs to (the settings are global: every cursor
    of it, the writer's too). Attach every database and set every setting first; after this
    only `allowed_paths` (exact files, e.g. a bundle's Parquet files) can be read from outside
    the attached databases."""
    if allowed_paths:
        con.execute("SET GLOBAL allowed_paths = ?", [list(allowed_paths)])
    for setting in _SEAL:
        con.execute(f"SET GLOBAL {setting}")


def is_sealed(con: duckdb.DuckDBPyConnection) -> bool:
    row = con.execute("SELECT current_setting('lock_configuration')").fetchone()
    return bool(row and row[0])


def run(cur: duckdb.DuckDBPyConnection, sql: str, params: Any) -> pa.Table:
    """Check `sql`, run it on `cur` (a cursor of a sealed instance) in a read-only transaction
    that is rolled back, return Arrow, close the cursor."""
    check(sql)
    try:
        cur.execute("BEGIN TRANSACTION READ ONLY")
        rel = cur.sql(sql, params=params)
        if rel is None:  # a statement without a result set
            return pa.table({})
        # DuckDB 2 renamed fetch_arrow_table to to_arrow_table; accept both.
        fetch = getattr(rel, "to_arrow_table", None) or rel.fetch_arrow_table
        table: pa.Table = fetch()
        return table
    except (duckdb.PermissionException, duckdb.TransactionException) as exc:
        # The engine's own refusal (a file, a write): say it in otelcap's words too.
        raise NotReadOnly(f"refused: {_WHAT}. DuckDB: {exc}") from None
    except duckdb.InvalidInputException as exc:
        # A locked setting, or a statement on a database attached READ_ONLY.
        if not any(refusal in str(exc) for refusal in ("has been locked", "read-only mode")):
            raise QueryError(f"{type(exc).__name__}: {exc}".strip()) from None
        raise NotReadOnly(f"refused: {_WHAT}. DuckDB: {exc}") from None
    except duckdb.Error as exc:  # bad SQL, an unknown column, a bad parameter: say which
        raise QueryError(f"{type(exc).__name__}: {exc}".strip()) from None
    finally:
        with contextlib.suppress(duckdb.Error):  # no transaction left to end
            cur.execute("ROLLBACK")
        cur.close()


# --- the statement ------------------------------------------------------------------------


_parser: duckdb.DuckDBPyConnection | None = None
_parser_lock = threading.Lock()


def _parser_cursor() -> duckdb.DuckDBPyConnection:
    """A cursor of a sealed, empty in-memory DuckDB that only parses (one cursor per call:
    the query endpoint checks from several threads)."""
    global _parser
    with _parser_lock:
        if _parser is None:
            con = duckdb.connect(":memory:")
            seal(con)
            _parser = con
        return _parser.cursor()


@functools.lru_cache(maxsize=256)
def check(sql: str) -> None:
    """Refuse (NotReadOnly) anything but one SELECT, or EXPLAIN [ANALYZE] of one, whose table
    functions are all in TABLE_FUNCTIONS. Parsing is DuckDB's own; the answer depends on the
    text alone, so it is remembered (a pack query costs up to ~13 ms to check)."""
    cur = _parser_cursor()
    try:
        kind, text = _one_statement(cur, sql)
        if kind == "EXPLAIN":
            inner = _explained(text)
            kind, text = _one_statement(cur, inner)
            if kind != "SELECT":
                raise NotReadOnly(f"only SELECT queries may be explained here, not {kind}: {_WHAT}")
        elif kind != "SELECT":
            raise NotReadOnly(f"only SELECT queries may run here, not {kind}: {_WHAT}")
        _check_select(cur, text)
    finally:
        cur.close()


def _one_statement(cur: duckdb.DuckDBPyConnection, sql: str) -> tuple[str, str]:
    try:
        statements = cur.extract_statements(sql)
    except duckdb.Error as exc:
        raise NotReadOnly(str(exc)) from None
    except ValueError as exc:  # a statement type the Python package has no name for
        raise NotReadOnly(f"only SELECT queries may run here ({exc}): {_WHAT}") from None
    if len(statements) != 1:
        raise NotReadOnly(f"send one statement at a time (got {len(statements)}): {_WHAT}")
    return statements[0].type.name, statements[0].query


def _explained(sql: str) -> str:
    """The statement that EXPLAIN [ANALYZE] wraps, found by DuckDB's tokenizer (comments
    skipped)."""
    tokens = [(offset, kind) for offset, kind in duckdb.tokenize(sql) if kind.name != "comment"]
    ends = [offset for offset, _ in tokens[1:]] + [len(sql)]
    words = [sql[o:end].strip().upper() for (o, _), end in zip(tokens, ends, strict=True)]
    i = 1 if words[:1] == ["EXPLAIN"] else 0
    if i and words[i : i + 1] == ["ANALYZE"]:
        i += 1
    if not i or i >= len(tokens) or words[i] == "(":
        raise NotReadOnly(
            f"write EXPLAIN SELECT … or EXPLAIN ANALYZE SELECT … (no options): {_WHAT}"
        )
    return sql[tokens[i][0] :]


def _check_select(cur: duckdb.DuckDBPyConnection, sql: str) -> None:
    row = cur.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()
    tree = json.loads(row[0]) if row else {"error": True, "error_message": "no answer"}
    if tree.get("error"):
        raise NotReadOnly(
            f"only plain SELECT queries may run here ({tree.get('error_message')}): {_WHAT}"
        )
    for name in sorted(_table_functions(tree)):
        if name not in TABLE_FUNCTIONS:
            raise NotReadOnly(
                f"the table function {name}() is refused: {_WHAT}. Those allowed compute rows "
                "(range, unnest, …) or describe the tables and the engine (duckdb_tables, "
                "duckdb_settings, …); storage/sqlguard.py lists them"
            )


def _table_functions(node: Any) -> set[str]:
    """The names of every table function the parsed statement calls, at any depth
    (subqueries, CTEs, joins, lateral)."""
    found: set[str] = set()
    stack = [node]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if item.get("type") == "TABLE_FUNCTION":
                function = item.get("function") or {}
                found.add(str(function.get("function_name", "")).lower())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)
    return found

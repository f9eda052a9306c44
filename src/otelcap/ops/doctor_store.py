"""doctor's store checks: the DuckDB file's tables, ClickHouse's reach, rights and round trip."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from typing import Any

from otelcap import logfmt
from otelcap.access import Reader, RemoteStore, SelfChecking, Server
from otelcap.config import Config
from otelcap.errors import ConfigError, OtelcapError
from otelcap.ops.doctor_data import _rows
from otelcap.ops.doctor_report import FAIL, OK, WARN, Check, _check


def _has_clickhouse() -> bool:
    return importlib.util.find_spec("otelcap.storage.clickhouse") is not None


def _not_in_build(why: str) -> Check:
    return _check(
        "server",
        "clickhouse",
        FAIL,
        f"ClickHouse backend not available in this build ({why})",
        "install otelcap with its ClickHouse extra (pip install 'otelcap[clickhouse]'), or use "
        "the default DuckDB backend (drop --backend)",
    )


def _expected_columns() -> dict[str, set[str]]:
    from otelcap.model.schema import TABLES

    return {table: set(schema.names) for table, schema in TABLES.items()}


def _cannot_open(db: Path | str, exc: BaseException) -> Check:
    return _check(
        "server",
        "database",
        FAIL,
        f"cannot open {db}: {exc}",
        "if another program holds the file, stop it; if the file is damaged, move "
        "it away and let `otelcap serve` create a new one",
        path=str(db),
    )


def check_database(store: Reader, live: Server | None, cfg: Config) -> Check:
    """The DuckDB file opens (through the running server when it holds it) and has every
    table and column otelcap writes."""
    via = (
        f" (read through the running otelcap, pid {live.record.pid})"
        if isinstance(store, RemoteStore) and live
        else ""
    )
    db = live.record.target if live else cfg.database
    expected = _expected_columns()
    try:
        rows = _rows(store, "doctor-columns")
    except OtelcapError as exc:
        return _cannot_open(db, exc)
    found: dict[str, set[str]] = {}
    for r in rows:
        found.setdefault(r["table_name"], set()).add(r["column_name"])
    missing_tables = sorted(t for t in expected if t not in found)
    missing_cols = sorted(
        f"{t}.{c}" for t, cols in expected.items() if t in found for c in cols - found[t]
    )
    data: dict[str, Any] = {
        "path": str(db),
        "missing_tables": missing_tables,
        "missing_columns": missing_cols,
    }
    if missing_tables or missing_cols:
        what = ", ".join(missing_tables + missing_cols[:5])
        if len(missing_cols) > 5:
            what += f" and {len(missing_cols) - 5} more columns"
        return _check(
            "server",
            "database",
            FAIL,
            f"{db} lacks {what}{via}",
            "an older or foreign file: `otelcap serve` creates missing tables; for "
            "missing columns start a new file (--db)",
            **data,
        )
    message = f"database {db} opens and has all {len(expected)} tables{via}"
    return _check("server", "database", OK, message, **data)


def check_clickhouse(store: Reader, live: Server | None) -> list[Check]:
    """Reachable and authenticated, database and tables present, and a test row round-trips
    (through a scratch table, so the telemetry tables never hold a doctor's row)."""
    if isinstance(store, SelfChecking):
        where, database = f"ClickHouse at {store.display}", store.database
    else:  # through the running server: its connection, its user
        where = f"ClickHouse at {live.record.target if live else '?'} (through the server)"
        database = ""
    try:
        about = _rows(store, "doctor-engine")[0]
        found: dict[str, set[str]] = {}
        for r in _rows(store, "doctor-columns"):
            found.setdefault(r["table_name"], set()).add(r["column_name"])
    except ConfigError as exc:  # the client library is missing
        return [_not_in_build(str(exc))]
    except Exception as exc:  # ours (StoreUnavailable, QueryFailed) and the driver's
        return [_clickhouse_failure(store, where, database, exc)]
    database = str(about["db"])
    checks = [_check("server", "clickhouse", OK, f"{where} answers (ClickHouse {about['v']})")]
    expected = _expected_columns()
    missing = sorted(set(expected) - set(found))
    missing_cols = sorted(
        f"{t}.{c}" for t, cols in expected.items() if t in found for c in cols - found[t]
    )
    if missing:
        checks.append(
            _check(
                "server",
                "clickhouse_tables",
                FAIL,
                f"database {database} lacks {', '.join(missing)}",
                "start `otelcap serve --backend clickhouse` once (it creates them; "
                "the user needs CREATE TABLE), or apply schema/clickhouse/*.sql",
                missing_tables=missing,
            )
        )
    elif missing_cols:
        # A stock Collector's tables: ingest works (otelcap sends the columns a table has),
        # but the query pack and this report read otelcap's promoted columns.
        shown = ", ".join(missing_cols[:5]) + (
            f" and {len(missing_cols) - 5} more" if len(missing_cols) > 5 else ""
        )
        checks.append(
            _check(
                "server",
                "clickhouse_tables",
                WARN,
                f"database {database} has every table but lacks {shown}",
                "add them with the ALTER TABLE … ADD COLUMN … DEFAULT forms of "
                "schema/clickhouse/*.sql; until then those values stay only in the "
                "attribute maps",
                missing_columns=missing_cols,
            )
        )
    else:
        message = f"database {database} has every table"
        checks.append(_check("server", "clickhouse_tables", OK, message))
    if isinstance(store, SelfChecking):
        checks.append(_clickhouse_round_trip(store))
    return checks


def _first_line(exc: BaseException) -> str:
    """A driver's message, shortened, with configured secrets masked (it may echo them)."""
    return logfmt.mask((str(exc).strip() or type(exc).__name__).splitlines()[0][:300])


def _clickhouse_failure(store: Reader, where: str, database: str, exc: BaseException) -> Check:
    kind = store.classify(exc) if isinstance(store, SelfChecking) else "unreachable"
    if kind == "login":
        return _check(
            "server",
            "clickhouse",
            FAIL,
            f"{where} refused the login: {_first_line(exc)}",
            "check clickhouse_user and OTELCAP_CLICKHOUSE_PASSWORD",
        )
    if kind == "database":
        return _check(
            "server",
            "clickhouse",
            FAIL,
            f"{where}: database {database} does not exist",
            "start `otelcap serve --backend clickhouse` once (it creates the database "
            "when the user may), or create it",
        )
    return _check(
        "server",
        "clickhouse",
        FAIL,
        f"{where} is unreachable: {_first_line(exc).removeprefix(where + ': ')}",
        "is it running (`docker compose --profile clickhouse up -d`)? check the host, "
        "the port and TLS (https:// URL or clickhouse_secure)",
    )


def _clickhouse_round_trip(store: SelfChecking) -> Check:
    try:
        got = store.test_write()
    except Exception as exc:
        return _check(
            "server",
            "clickhouse_write",
            WARN,
            f"could not test a write with a scratch table: {_first_line(exc)}",
            "the collector's user needs INSERT on the otel_* tables (and CREATE TABLE "
            "only to create them)",
        )
    if got is not None:
        message = f"a test row did not come back from a scratch table (got {got})"
        return _check("server", "clickhouse_write", FAIL, message)
    return _check("server", "clickhouse_write", OK, "a test row round-trips (scratch table)")

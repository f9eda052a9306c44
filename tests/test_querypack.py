"""The query pack's machinery: the files, the ClickHouse rendering and its snapshots, bound
parameters, output formats, the `query`/`sql` commands, and the loopback endpoint that lets
them read a database `otelcap serve` holds."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import signal
import stat
import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pyarrow as pa
import pytest
from typer.testing import CliRunner

import recordings
from conftest import make_config
from otelcap import access, answer, opsql, output, querybuild, querypack, registry
from otelcap.cli import app
from otelcap.config import Config, parse_time
from otelcap.errors import QueryError
from otelcap.service import Service
from otelcap.storage.duckdb import DuckDBStore

CLICKHOUSE_DIR = Path(querypack.__file__).parent / "queries" / "clickhouse"


# --- the files -----------------------------------------------------------------------------------


def test_every_query_file_has_a_header_and_the_common_parameters() -> None:
    queries = querypack.load_all()
    names = {q.name for q in queries}
    assert names >= {
        "sessions", "cost", "tokens", "tool-usage", "error-analysis", "errors-sample",
        "api-latency", "regressions",
    }  # fmt: skip
    root = Path(querypack.__file__).parent / "queries"
    for q in queries:
        assert (root / f"{q.name}.sql").is_file(), "the name is the file name"
        assert q.description and "\n" not in q.description
        assert [p.name for p in q.params][:3] == ["since", "until", "session"], q.name
        for p in q.params:
            assert p.description, (q.name, p.name)
            p.parse(p.default)  # every default is a valid value
        declared = "|".join(p.name for p in q.params)
        assert "$" not in re.sub(rf"\$({declared})\b", "", q.sql), "a $name it does not declare"


def test_clickhouse_snapshots_are_up_to_date() -> None:
    """The checked-in ClickHouse SQL is what the pinned sqlglot renders today."""
    pytest.importorskip("sqlglot")
    for q in querypack.load_all():
        checked_in = (CLICKHOUSE_DIR / f"{q.name}.sql").read_text()
        assert querybuild.render_clickhouse(q) == checked_in, (
            f"{q.name}: run `python -m otelcap.querybuild --render` and review the diff"
        )
    extra = {p.stem for p in CLICKHOUSE_DIR.glob("*.sql")} - {q.name for q in querypack.load_all()}
    assert extra == set(), "a rendered file without its query"


def test_the_commands_own_sql_has_up_to_date_clickhouse_snapshots() -> None:
    """queries/_ops/*.sql (status, export) are rendered like the pack and checked in."""
    pytest.importorskip("sqlglot")
    assert querybuild.render_ops(check=True) == [], "run `python -m otelcap.querybuild --render`"
    ops = Path(querypack.__file__).parent / "queries" / "_ops"
    names = {q.name.removeprefix("_ops/") for q in opsql.load_all()}
    assert names >= {"table-rows", "export-days", "export-rows"}
    assert {p.stem for p in (ops / "clickhouse").glob("*.sql")} == names  # none left over
    assert {q.name for q in querypack.load_all()}.isdisjoint(names)  # not in the pack's list


def _query(sql: str, params: str = "") -> querypack.Query:
    header = (
        "-- name: t\n-- description: test\n"
        "-- param: since timestamp 1970-01-01 since\n-- param: x text '' x\n" + params
    )
    return querypack.parse(header + sql)


def test_rendering_overrides_the_known_traps() -> None:
    pytest.importorskip("sqlglot")
    sql = querybuild.render_clickhouse(
        _query(
            "SELECT quantile_cont(DurationMs, 0.95) AS p95,\n"
            "  TRY_CAST(nullif(LogAttributes['ttft_ms'], '') AS DOUBLE) AS ttft,\n"
            "  regexp_replace(Error, '[0-9]+', 'N') AS one,\n"
            "  regexp_replace(Error, '[0-9]+', 'N', 'g') AS every,\n"
            "  substring(Error, 1, 5) AS head, left(Error, 3) AS h3,\n"
            "  string_agg(DISTINCT Model, ', ' ORDER BY Model) AS models\n"
            "FROM otel_logs WHERE Timestamp >= $since AND SessionId = $x"
        )
    )
    assert "quantileExactInclusive(0.95)(DurationMs)" in sql
    assert "accurateCastOrNull(nullIf(LogAttributes['ttft_ms'], ''), 'Nullable(Float64)')" in sql
    assert "replaceRegexpOne(Error, '[0-9]+', 'N')" in sql
    assert "replaceRegexpAll(Error, '[0-9]+', 'N')" in sql
    assert "substringUTF8(Error, 1, 5)" in sql and "leftUTF8(Error, 3)" in sql
    assert "arrayStringConcat(arraySort(groupUniqArray(Model)), ', ')" in sql
    assert "{since: DateTime64(9)}" in sql and "{x: String}" in sql
    assert sql.rstrip().endswith("SETTINGS join_use_nulls = 1")


@pytest.mark.parametrize(
    ("sql", "why"),
    [
        ("SELECT round(CostUsd, 2) FROM otel_logs", "round"),
        ("SELECT median(DurationMs) FROM otel_logs", "median"),
        ("SELECT LogAttributes['ttft_ms'] AS t FROM otel_logs", "map lookup"),
        ("SELECT coalesce(LogAttributes['a'], 'none') AS t FROM otel_logs", "map lookup"),
        ("SELECT * FROM otel_logs WHERE SessionId = $nope", "not a declared parameter"),
        # ClickHouse would read the alias inside the FILTER: an aggregate inside an aggregate
        (
            "SELECT count(*) FILTER (WHERE errors > 0) AS n, sum(errors) AS errors FROM t",
            "shadows",
        ),
        # DuckDB binds `model` to the column `Model`: the GROUP BY is not what it reads as
        (
            "SELECT lower(Model) AS model, count(*) AS n FROM otel_logs GROUP BY model, Model",
            "shadows",
        ),
    ],
)
def test_rendering_refuses_what_has_no_exact_twin(sql: str, why: str) -> None:
    pytest.importorskip("sqlglot")
    with pytest.raises(ValueError, match=why):
        querybuild.render_clickhouse(_query(sql))


def test_bad_headers_are_refused() -> None:
    with pytest.raises(ValueError, match="name"):
        querypack.parse("SELECT 1")
    with pytest.raises(ValueError, match="unknown type"):
        querypack.parse("-- name: a\n-- description: b\n-- param: x date 1 x\nSELECT 1")


# --- parameters ----------------------------------------------------------------------------------

NOW = dt.datetime(2026, 11, 28, 12, 0, 0)


@pytest.mark.parametrize(
    ("raw", "want"),
    [
        ("7d", dt.datetime(2026, 11, 21, 12, 0, 0)),
        ("12h", dt.datetime(2026, 11, 28, 0, 0, 0)),
        ("30m", dt.datetime(2026, 11, 28, 11, 30, 0)),
        ("2w", dt.datetime(2026, 11, 14, 12, 0, 0)),
        ("45s", dt.datetime(2026, 11, 28, 11, 59, 15)),
        ("30D", dt.datetime(2026, 10, 29, 12, 0, 0)),  # export took these, query did not
        ("36 h", dt.datetime(2026, 11, 27, 0, 0, 0)),
        ("now", NOW),
        ("NOW", NOW),
        ("2026-11-01", dt.datetime(2026, 11, 1)),
        ("2026-11-01T10:30:00", dt.datetime(2026, 11, 1, 10, 30)),
        ("2026-11-01T10:30:00Z", dt.datetime(2026, 11, 1, 10, 30)),
        ("2026-11-01T12:30:00+02:00", dt.datetime(2026, 11, 1, 10, 30)),  # → UTC
    ],
)
def test_time_parameters(raw: str, want: dt.datetime) -> None:
    assert parse_time(raw, NOW) == want


@pytest.mark.parametrize(
    ("raw", "tz", "want"),
    [
        ("2026-11-01", "Europe/Berlin", dt.datetime(2026, 10, 31, 23)),  # local midnight, CET
        ("2026-07-01", "Europe/Berlin", dt.datetime(2026, 6, 30, 22)),  # summer time, CEST
        ("2026-11-01T10:30:00", "Asia/Kolkata", dt.datetime(2026, 11, 1, 5, 0)),
        ("2026-11-01T10:30:00Z", "Asia/Kolkata", dt.datetime(2026, 11, 1, 10, 30)),  # says UTC
        ("7d", "America/New_York", dt.datetime(2026, 11, 21, 12, 0, 0)),  # a span: no zone
        ("2026-11-01", "UTC", dt.datetime(2026, 11, 1)),
    ],
)
def test_times_without_a_zone_are_read_in_the_chosen_one(
    raw: str, tz: str, want: dt.datetime
) -> None:
    assert parse_time(raw, NOW, tz) == want


def test_time_zone_names_are_checked_and_the_local_one_found(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from otelcap.config import resolve_timezone
    from otelcap.errors import ConfigError

    assert resolve_timezone("Asia/Kolkata") == "Asia/Kolkata"
    with pytest.raises(ConfigError, match=r"unknown time zone 'Mars/Olympus'.*IANA"):
        resolve_timezone("Mars/Olympus")
    monkeypatch.setenv("TZ", "America/Chicago")
    assert resolve_timezone("") == "America/Chicago"
    cost = querypack.load("cost")
    assert cost.bind({}, NOW, "America/Chicago")["tz"] == "America/Chicago"
    assert cost.bind({"tz": "UTC"}, NOW, "America/Chicago")["tz"] == "UTC"  # given wins


@pytest.mark.parametrize("raw", ["7 days", "d7", "-3d", "1.5h", "yesterday", ""])
def test_a_time_no_command_takes_is_refused_naming_the_forms(raw: str) -> None:
    with pytest.raises(ValueError, match="expected 7d, 12h, 30m, 2w, now, 2026-11-01"):
        parse_time(raw, NOW)


def test_binding_checks_names_and_values() -> None:
    cost = querypack.load("cost")
    bound = cost.bind({"since": "7d", "period": "week"}, NOW)
    assert bound == {
        "since": dt.datetime(2026, 11, 21, 12),
        "until": dt.datetime(2200, 1, 1),
        "session": "",
        "period": "week",
        "by": "model",
        "tz": "UTC",  # the header's default; the CLI binds the local zone
        **dict.fromkeys(("project", "user", "team", "model"), ""),  # no filter
    }
    with pytest.raises(QueryError, match="period"):
        cost.bind({"period": "fortnight"})
    with pytest.raises(QueryError, match=r"no parameter 'perod'.*period"):
        cost.bind({"perod": "week"})
    with pytest.raises(QueryError, match="since"):
        cost.bind({"since": "last tuesday"})
    with pytest.raises(QueryError, match="per_kind"):
        querypack.load("errors-sample").bind({"per_kind": "three"})
    with pytest.raises(QueryError, match=r"no query named 'costs'.*cost"):
        querypack.load("costs")


def test_a_case_over_a_choice_becomes_the_chosen_branch() -> None:
    sql = (
        "SELECT CASE $by WHEN 'a' THEN coalesce(x['k'], ')') WHEN 'it''s' THEN "
        "CASE WHEN y > 0 THEN 'END' ELSE (z) END ELSE w END AS g, CASE $by WHEN 'a' THEN 1 END"
    )
    resolve = querypack.resolve_choice
    assert resolve(sql, "by", "a", "duckdb") == "SELECT (coalesce(x['k'], ')')) AS g, (1)"
    assert resolve(sql, "by", "it's", "duckdb") == (
        "SELECT (CASE WHEN y > 0 THEN 'END' ELSE (z) END) AS g, (NULL)"
    )
    assert resolve(sql, "by", "b", "duckdb") == "SELECT (w) AS g, (NULL)"  # ELSE, else NULL
    rendered = "SELECT CASE {by: String}\n  WHEN 'a'\n  THEN Model\n  ELSE {tz: String}\nEND AS g"
    assert resolve(rendered, "by", "a", "clickhouse") == "SELECT (Model) AS g"
    assert resolve(rendered, "by", "a", "duckdb") == rendered  # not this dialect's parameter
    with pytest.raises(ValueError, match="no string literal"):
        resolve("CASE $by WHEN x THEN 1 END", "by", "a", "duckdb")
    with pytest.raises(ValueError, match="has no END"):
        resolve("SELECT CASE $by WHEN 'a' THEN (1", "by", "a", "duckdb")


@pytest.mark.parametrize("dialect", ["duckdb", "clickhouse"])
def test_a_group_reads_only_its_own_columns(dialect: str) -> None:
    """Each --by runs its own branch of _fragments/log_group.sql, not a CASE over all of them
    (which reads both attribute maps on every row), and binds only what that branch names."""
    for q in querypack.load_all():
        if not any(p.name == "by" for p in q.params):
            continue
        for by in q.param("by").choices:
            sql, params = q.statement(dialect, q.bind({"by": by}))
            assert not re.search(r"CASE\s+(\$by|\{by:)", sql), (q.name, by)
            assert "by" not in params
            if by in ("model", "session"):  # promoted columns (project reads maps on metrics)
                assert "Attributes[" not in sql, (q.name, by)
            assert ("tz" in params) == (by == "day" or q.name == "cost"), (q.name, by)


# --- output --------------------------------------------------------------------------------------


def _table() -> pa.Table:
    return pa.table(
        {
            "day": pa.array([dt.date(2026, 11, 1), None]),
            "started": pa.array(
                [dt.datetime(2026, 11, 1, 9, 30, 0, 123000), None], pa.timestamp("ns")
            ),
            "model": ["claude-sonnet-4-5", "total"],
            "requests": pa.array([1234, None], pa.int64()),
            "cost_usd": [0.1357278, -1e-15],
            "reject_rate": [0.25, float("nan")],
            "p95_ms": [1016.0, 28.4],
        }
    )  # fmt: skip


def test_json_is_stable_for_scripts() -> None:
    rows = json.loads(output.format_table(_table(), "json"))
    assert rows[0] == {
        "day": "2026-11-01",
        "started": "2026-11-01T09:30:00.123000Z",
        "model": "claude-sonnet-4-5",
        "requests": 1234,
        "cost_usd": 0.1357278,
        "reject_rate": 0.25,
        "p95_ms": 1016.0,
    }
    assert rows[1]["reject_rate"] is None and rows[1]["day"] is None
    assert list(rows[1]) == list(rows[0])  # every key on every row, in column order


def test_table_csv_and_markdown() -> None:
    text = output.format_table(_table(), "table", width=200)
    lines = text.splitlines()
    assert lines[0].split() == _table().column_names
    assert "1,234" in lines[2] and "0.1357" in lines[2] and "25.0%" in lines[2]
    assert "2026-11-01 09:30:00" in lines[2]
    assert "-0.0000" not in text and "0.0000" in lines[3]
    assert " 1,016 " in lines[2] + " " and "28" in lines[3]  # one precision per column
    assert lines[-1] == "(2 rows)"
    narrow = output.format_table(_table(), "table", width=40)
    assert all(len(line) <= 40 for line in narrow.splitlines())
    assert narrow.splitlines()[0].split() == ["day", "model", "cost_usd"]  # what, and money
    assert "0.1357" in narrow and "not shown: started, requests" in narrow.replace("\n", " ")
    wide = output.format_table(_table(), "table", width=40, wide=True)
    assert wide.startswith("-[ row 1 ]") and "model       | total" in wide  # every column
    csv_text = output.format_table(_table(), "csv")
    assert csv_text.splitlines()[1] == (
        "2026-11-01,2026-11-01T09:30:00.123000Z,claude-sonnet-4-5,1234,0.1357278,0.25,1016.0"
    )
    md = output.format_table(_table(), "markdown").splitlines()
    assert md[0].startswith("| day | started |") and md[1].startswith("|---|---|---|---:|")
    with pytest.raises(QueryError, match="format"):
        output.format_table(_table(), "xml")


# --- the commands, on a file with nobody else on it ------------------------------------------


@pytest.fixture
def recorded_file(server: Service) -> Path:
    for _ in recordings.replay(
        "toolfail-http-protobuf",
        f"127.0.0.1:{server.endpoints.grpc_port}",
        server.endpoints.http_url,
    ):
        pass
    server.stop()
    return server.config.database


def _env(tmp_path: Path) -> dict[str, str]:
    return {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "none")}


def test_explain_prints_how_to_read_a_query_without_running_it(tmp_path: Path) -> None:
    runner = CliRunner()
    out = runner.invoke(app, ["query", "error-analysis", "--explain"], env=_env(tmp_path))
    assert out.exit_code == 0, out.output
    assert out.output.startswith("error-analysis: Where turns fail")
    assert "  session (text, default ''): only this session id" in out.output
    # The header's notes, their small table still indented (nothing was run: no database).
    assert "\n  model call        api_error" in out.output
    assert "first_failure_turns counts turns whose FIRST failure" in out.output
    assert not (tmp_path / "data").exists()
    unknown = runner.invoke(app, ["query", "nope", "--explain"], env=_env(tmp_path))
    # An unknown query name is a usage error: exit 2, as in every command.
    assert unknown.exit_code == 2 and "the pack has: " in unknown.output
    assert "api-latency, " in unknown.output.split("the pack has: ")[1]


def test_query_time_zone_grouping_and_shape_flags(recorded_file: Path, tmp_path: Path) -> None:
    """The recordings ran 2026-11-27 around 22:10 UTC: 28 Nov in Tokyo, 27 Nov in New York."""
    runner = CliRunner()
    env = {**_env(tmp_path), "TZ": "Asia/Tokyo"}
    db = ["--db", str(recorded_file)]

    def cost(*flags: str) -> list[dict[str, Any]]:
        out = runner.invoke(app, ["query", "cost", *db, "--format", "json", *flags], env=env)
        assert out.exit_code == 0, out.output
        return list(json.loads(out.output))

    assert cost()[0]["period"] == "2026-11-28"  # the local zone, from TZ
    assert cost("--utc")[0]["period"] == "2026-11-27"
    assert cost("--timezone", "America/New_York")[0]["period"] == "2026-11-27"
    sessions = runner.invoke(app, ["query", "sessions", *db, "--format", "json"], env=env)
    started = json.loads(sessions.output)[0]["started"]
    assert started.startswith("2026-11-28T07:") and started.endswith("+09:00"), started
    by = cost("--by", "terminal", "--utc")
    assert "terminal" in by[0] and "model" not in by[0]  # the column is named after the group
    assert by[-1]["terminal"] == "total"
    shaped = cost("--utc", "--columns", "model,cost_usd", "--order", "-model", "--limit", "1")
    assert len(shaped) == 1 and list(shaped[0]) == ["model", "cost_usd"]
    assert shaped[0]["model"] == "total"  # "total" sorts after "claude-…"
    for flags, message in [
        (["--timezone", "Mars/Olympus"], "unknown time zone"),
        (["--utc", "--timezone", "Europe/Paris"], "contradict"),
        (["--columns", "nope"], "no column 'nope'"),
        (["--by", "planet"], "by"),
    ]:
        bad = runner.invoke(app, ["query", "cost", *db, *flags], env=env)
        assert bad.exit_code != 0 and message in bad.output, (flags, bad.output)
    no_by = runner.invoke(app, ["query", "blocks", *db, "--by", "team"], env=env)
    assert no_by.exit_code == 2 and "cost, sessions, tokens, tool-usage take" in no_by.output
    tools = runner.invoke(
        app, ["query", "tool-usage", *db, "--by", "team", "--format", "json"], env=env
    )
    assert {"tool", "team"} <= set(json.loads(tools.output)[0]), tools.output  # tool-usage-by
    listed = runner.invoke(app, ["query", "--list", "--format", "json"], env=env)
    names = {q["name"]: q for q in json.loads(listed.output)}
    assert {p["name"] for p in names["cost"]["params"]} >= {"since", "period", "by", "tz"}


def test_query_filters_and_grouped_sessions_on_the_command_line(
    recorded_file: Path, tmp_path: Path
) -> None:
    """The toolfail recording sets no team.id and no repository: its one label of each."""
    runner = CliRunner()

    def rows(*args: str) -> list[dict[str, Any]]:
        argv = ["query", *args, "--db", str(recorded_file), "--format", "json", "--utc"]
        out = runner.invoke(app, argv, env=_env(tmp_path))
        assert out.exit_code == 0, out.output
        return list(json.loads(out.output))

    every = rows("cost")[-1]
    assert every["cost_usd"] > 0
    assert rows("cost", "--team", "(no team.id)")[-1] == every
    assert rows("cost", "--team", "platform", "--project", "(no repository)")[-1]["requests"] == 0
    grouped = rows("sessions", "--by", "project")
    assert [(r["project"], r["sessions"]) for r in grouped] == [
        ("(no repository)", len(rows("sessions")))
    ]
    assert rows("sessions", "--by", "project", "--team", "nobody") == []


def test_query_command_on_a_file(recorded_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(tmp_path)
    listed = runner.invoke(app, ["query", "--list"], env=env)
    assert listed.exit_code == 0 and "error-analysis:" in listed.output
    assert "--param period=<day|week|month>" in listed.output
    out = runner.invoke(
        app, ["query", "tool-usage", "--db", str(recorded_file), "--format", "json"], env=env
    )
    assert out.exit_code == 0, out.output
    rows = {r["tool"]: r for r in json.loads(out.output)}
    assert rows["Write"]["rejected_by_config"] == 1 and rows["Bash"]["failed"] == 1
    week = runner.invoke(
        app,
        ["query", "cost", "--db", str(recorded_file), "--param", "period=week",
         "--since", "2026-11-01", "--format", "csv"],
        env=env,
    )  # fmt: skip
    assert week.exit_code == 0, week.output
    assert week.output.splitlines()[1].startswith("2026-11-23,claude-sonnet-4-5")  # a Monday
    bad = runner.invoke(
        app, ["query", "cost", "--db", str(recorded_file), "--param", "x=1"], env=env
    )
    assert bad.exit_code == 2 and "no parameter 'x'" in bad.output  # a usage error


def test_sql_command_is_read_only(recorded_file: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    env = _env(tmp_path)
    ok = runner.invoke(
        app, ["sql", "SELECT count(*) AS n FROM otel_logs", "--db", str(recorded_file)], env=env
    )
    assert ok.exit_code == 0 and "(1 row)" in ok.output
    for statement in (
        "DELETE FROM otel_logs",
        "COPY otel_logs TO '/tmp/x.csv'",
        "SELECT 1; DROP TABLE otel_logs",
        "ATTACH 'other.duckdb'",
    ):
        out = runner.invoke(app, ["sql", statement, "--db", str(recorded_file)], env=env)
        assert out.exit_code == 1, statement
    store = DuckDBStore(recorded_file, read_only=True)
    try:
        assert store.query("SELECT count(*) AS n FROM otel_logs").to_pylist()[0]["n"] > 0
    finally:
        store.close()


def test_missing_database_is_a_clear_error(tmp_path: Path) -> None:
    out = CliRunner().invoke(
        app, ["query", "sessions", "--db", str(tmp_path / "nope.duckdb")], env=_env(tmp_path)
    )
    assert out.exit_code == 2 and "no database at" in out.output


# --- the loopback endpoint ------------------------------------------------------------------


def _replay(server: Service, scenario: str = "toolfail-grpc") -> None:
    for _ in recordings.replay(
        scenario, f"127.0.0.1:{server.endpoints.grpc_port}", server.endpoints.http_url
    ):
        pass


def _execute(cfg: Config, sql: str) -> pa.Table:
    """Read-only SQL wherever the access layer finds the data."""
    with access.open(cfg) as store:
        return store.query(sql)


def test_queries_go_through_the_running_server(server: Service, tmp_path: Path) -> None:
    _replay(server)
    cfg = server.config
    assert server.record is not None and server.record.path is not None
    info_path = server.record.path
    assert stat.S_IMODE(info_path.stat().st_mode) == 0o600
    assert stat.S_IMODE(info_path.parent.stat().st_mode) == 0o700
    assert access.find(cfg).server is not None
    # In this process the file is open read-write, so a read-only open would fail: an
    # answer proves the endpoint served it.
    text = answer.run_named(cfg, "sessions", fmt="json")
    (row,) = json.loads(text)
    direct = querypack.run(server.store, "sessions").to_pylist()[0]
    assert row["session_id"] == direct["session_id"] and row["cost_usd"] == direct["cost_usd"]
    # Arrow over the wire: types arrive as the store made them
    t = _execute(cfg, "SELECT min(Timestamp) AS t, count(*) AS n FROM otel_logs")
    assert t.schema.field("t").type == pa.timestamp("ns")
    # a statement that writes is refused, and nothing changed
    before = _execute(cfg, "SELECT count(*) AS n FROM otel_logs").to_pylist()
    with pytest.raises(QueryError, match="only SELECT"):
        _execute(cfg, "DELETE FROM otel_logs")
    with pytest.raises(QueryError, match="one statement"):
        _execute(cfg, "SELECT 1; DELETE FROM otel_logs")
    with pytest.raises(QueryError, match=r"Binder Error|Catalog Error"):
        _execute(cfg, "SELECT nope FROM otel_logs")
    assert _execute(cfg, "SELECT count(*) AS n FROM otel_logs").to_pylist() == before
    server.stop()
    assert not info_path.exists()


def test_the_endpoint_wants_the_token(server: Service) -> None:
    (info_path,) = registry.directory(server.config.data_dir).glob("*.json")
    info = json.loads(info_path.read_text())
    assert info["host"] == "127.0.0.1"
    body = json.dumps({"sql": "SELECT 1", "params": {}}).encode()
    for auth in ({}, {"Authorization": "Bearer wrong"}):
        req = urllib.request.Request(
            f"http://127.0.0.1:{info['port']}/v1/query", data=body, headers=auth, method="POST"
        )
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(req, timeout=10)
        assert err.value.code == 401


def test_a_crashed_servers_file_is_ignored(recorded_file: Path, tmp_path: Path) -> None:
    cfg = make_config(tmp_path, db_path=recorded_file)
    # A record for this database whose process lives (this one) but whose port 9 (discard)
    # is closed: like a server killed with -9 whose pid was reused.
    record = registry.write(
        cfg.data_dir,
        registry.ServerRecord(
            pid=os.getpid(), host="127.0.0.1", port=9, token="x", backend="duckdb",
            dialect="duckdb", target=str(recorded_file), key=access.key(cfg),
        ),
    )  # fmt: skip
    # the record is taken for this database, so the answer below proves the fallback ran
    assert [r.path for r in registry.scan(cfg.data_dir).live] == [record.path]
    assert _execute(cfg, "SELECT count(*) AS n FROM otel_logs").to_pylist()[0]["n"] > 0
    assert record.path is not None and not record.path.exists()  # nothing answered: removed


@pytest.mark.slow
def test_query_works_while_serve_runs_and_after(tmp_path: Path) -> None:
    """The user never has to know which path answered."""
    env = {**os.environ, **_env(tmp_path)}
    db = tmp_path / "claude.duckdb"
    exe = [sys.executable, "-m", "otelcap.cli"]
    serve = subprocess.Popen(
        [*exe, "serve", "--db", str(db), "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert serve.stdout is not None
        text = ""
        for line in serve.stdout:
            text += line
            if "Ctrl-C" in line:
                break
        grpc_port = int(re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", text).group(1))  # type: ignore[union-attr]
        http_port = int(re.search(r"http://127\.0\.0\.1:(\d+)/v1", text).group(1))  # type: ignore[union-attr]
        for _ in recordings.replay(
            "resume-http-json", f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
        ):
            pass
        cmd = [*exe, "query", "cost", "--db", str(db), "--format", "json"]
        during = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
        assert during.returncode == 0, during.stderr
    finally:
        serve.send_signal(signal.SIGTERM)
        assert serve.wait(30) == 0
    after = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60)
    assert after.returncode == 0, after.stderr
    assert json.loads(during.stdout) == json.loads(after.stdout)
    total = json.loads(after.stdout)[-1]
    assert total["model"] == "total" and abs(total["cost_usd"] - 0.1357278) < 1e-9

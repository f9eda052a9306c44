"""`otelcap serve --backend clickhouse` end to end: recorded Claude Code requests in, the query
pack out; with ClickHouse away at start (spooled, acknowledged, replayed after a kill -9 and a
restart); and the same against a real server when OTELCAP_TEST_CLICKHOUSE_URL is set."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recordings
import stores
from conftest import make_config
from otelcap import querypack
from otelcap.cli import app
from otelcap.service import Service
from otelcap.storage import open_store
from otelcap.storage.duckdb import DuckDBStore

pytest.importorskip("chdb")
pytest.importorskip("clickhouse_connect")
from otelcap.storage.clickhouse import ClickHouseStore, ClickHouseTarget

SECRET = "pw-Never-Printed-77"
METRIC_TABLES = ("sum", "gauge", "histogram", "exponential_histogram", "summary")


@pytest.fixture
def keeper() -> Iterator[None]:
    """chdb's in-memory engine lives while one connection does; services open and close
    theirs, so one stays open for the whole test."""
    k = ClickHouseStore(ClickHouseTarget(chdb="", database=stores.throwaway_database()))
    k.create_schema()
    yield
    stores.drop_database(k.target)
    k.close()


def replay_all(svc: Service, scenarios: list[str]) -> dict[str, int]:
    want = {"logs": 0, "metrics": 0, "traces": 0}
    for scenario in scenarios:
        for req, resp in recordings.replay(
            scenario, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
        ):
            want[req.signal] += req.items
            if req.protocol != "grpc":
                assert resp[0] == 200
    return want


def counts(store: Any) -> dict[str, int]:
    def n(table: str) -> int:
        return int(store.query(f"SELECT count(*) AS n FROM {table}").column(0)[0].as_py())

    return {
        "logs": n("otel_logs"),
        "traces": n("otel_traces"),
        "metrics": sum(n(f"otel_metrics_{t}") for t in METRIC_TABLES),
    }


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- ClickHouse away at start ------------------------------------------------------------------


@pytest.mark.slow
def test_clickhouse_down_at_start_then_kill_9_then_restart_loses_nothing(
    tmp_path: Path, keeper: None
) -> None:
    port = closed_port()
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
        "OTELCAP_CLICKHOUSE_PASSWORD": SECRET,
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap.cli", "serve", "--backend", "clickhouse",
         "--clickhouse-url", f"http://127.0.0.1:{port}/otel_e2e", "--clickhouse-user", "writer",
         "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Ctrl-C" in line:
                break
        assert f"http://writer@127.0.0.1:{port}/otel_e2e + spool " in banner
        grpc_port = int(re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", banner).group(1))  # type: ignore[union-attr]
        http_port = int(re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner).group(1))  # type: ignore[union-attr]
        scenario = recordings.scenarios()[0]
        want = {"logs": 0, "metrics": 0, "traces": 0}
        for req, resp in recordings.replay(
            scenario, f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
        ):
            want[req.signal] += req.items
            if req.protocol != "grpc":
                assert resp[0] == 200  # acknowledged though ClickHouse never answered
    finally:
        proc.send_signal(signal.SIGKILL)  # no clean shutdown: what was acknowledged is on disk
        out, err = proc.communicate(timeout=30)
    assert "Spooling to" in err and f"127.0.0.1:{port}" in err
    assert SECRET not in banner + out + err
    spooled = list((tmp_path / "data" / "spool").glob("*.arrows"))
    assert spooled

    # otelcap starts again, and ClickHouse answers this time.
    cfg = make_config(
        tmp_path,
        backend="clickhouse",
        clickhouse_url="chdb://memory",
        clickhouse_database=stores.throwaway_database(),
        clickhouse_ttl_days=0,
    )
    svc = Service(cfg)
    svc.start()
    try:
        stores.wait_until(lambda: svc.store.idle, what="the spool to drain")  # type: ignore[attr-defined]
        assert counts(svc.store) == want
        assert not list((tmp_path / "data" / "spool").glob("*.arrows"))
    finally:
        svc.stop()
        stores.drop_database(ClickHouseTarget.from_config(cfg))


# --- recordings in, the query pack out ---------------------------------------------------------


@pytest.fixture(scope="module")
def duckdb_answers(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, Any]]:
    """Every recording through a DuckDB server, and the pack's answers there. The data
    directory (and so the privacy key behind the hashes) is reused for ClickHouse."""
    tmp = tmp_path_factory.mktemp("pack")
    svc = Service(make_config(tmp))
    svc.start()
    try:
        replay_all(svc, recordings.scenarios())
    finally:
        svc.stop()
    duck = DuckDBStore(svc.config.database, read_only=True)
    try:
        answers = {q.name: querypack.run(duck, q.name) for q in querypack.load_all()}
        answers["_counts"] = counts(duck)
    finally:
        duck.close()
    return tmp, answers


@pytest.mark.slow
@pytest.mark.parametrize("kind", stores.CLICKHOUSE_KINDS)
def test_serve_then_query_pack_same_answers_as_duckdb(
    kind: str, keeper: None, duckdb_answers: tuple[Path, dict[str, Any]]
) -> None:
    from test_queries_golden import assert_same

    tmp, answers = duckdb_answers
    cfg = stores.clickhouse_config(tmp, kind)
    svc = Service(cfg)
    svc.start()
    try:
        want = replay_all(svc, recordings.scenarios())
    finally:
        svc.stop()
    reader = open_store(cfg, read_only=True)  # what `otelcap query --backend clickhouse` opens
    try:
        assert counts(reader) == want == answers["_counts"]
        for q in querypack.load_all():
            assert_same(answers[q.name], querypack.run(reader, q.name), f"{q.name} on {kind}")
    finally:
        reader.close()
        stores.drop_database(ClickHouseTarget.from_config(cfg))


def test_query_command_runs_the_pack_on_clickhouse(tmp_path: Path, keeper: None) -> None:
    target = ClickHouseTarget(chdb="", database=stores.throwaway_database())
    writer = ClickHouseStore(target, ttl_days=0)
    writer.create_schema()
    writer.append(stores.flush(1))
    try:
        env = {"OTELCAP_CLICKHOUSE_URL": "chdb://memory", "OTELCAP_CONFIG": str(tmp_path / "x")}
        result = CliRunner().invoke(
            app,
            ["sql", "SELECT ServiceName, count() AS n FROM otel_logs GROUP BY 1",
             "--backend", "clickhouse", "--clickhouse-database", target.database,
             "--format", "csv"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert result.output.strip().splitlines() == ["ServiceName,n", "flush-0001,3"]
        result = CliRunner().invoke(
            app,
            ["query", "sessions", "--backend", "clickhouse",
             "--clickhouse-database", target.database, "--format", "json"],
            env=env,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    finally:
        writer.close()
        stores.drop_database(target)


def test_query_command_with_clickhouse_away_is_a_clear_error(tmp_path: Path) -> None:
    port = closed_port()
    result = CliRunner().invoke(
        app,
        ["query", "sessions", "--backend", "clickhouse",
         "--clickhouse-url", f"http://127.0.0.1:{port}"],
        env={"OTELCAP_CLICKHOUSE_PASSWORD": SECRET, "OTELCAP_CONFIG": str(tmp_path / "x")},
    )  # fmt: skip
    assert result.exit_code == 1
    assert f"ClickHouse at http://127.0.0.1:{port}/otel: cannot connect" in result.output
    assert SECRET not in result.output


def _dashboard_data(svc: Service, since: str) -> dict[str, Any]:
    """What the served dashboard's page loads: signed in with a fresh link, api/data."""
    import json

    from test_ui import _get, _login

    url = svc.dashboard.ticket_url()
    status, _, body = _get(url, f"/api/data?since={since}", _login(url))
    assert status == 200, body
    data: dict[str, Any] = json.loads(body)
    return data


def _same(a: Any, b: Any, where: str) -> None:
    """Equal JSON, floats to 1e-9 (the engines sum in different orders)."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and a.keys() == b.keys(), where
        for k in a:
            _same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, list):
        assert isinstance(b, list) and len(a) == len(b), where
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _same(x, y, f"{where}[{i}]")
    elif isinstance(a, float) or isinstance(b, float):
        assert b == pytest.approx(a, rel=1e-9, abs=1e-9), where
    else:
        assert a == b, where


@pytest.mark.slow
@pytest.mark.parametrize("kind", stores.CLICKHOUSE_KINDS)
def test_the_dashboard_on_clickhouse_shows_what_it_shows_on_duckdb(
    kind: str, keeper: None, duckdb_answers: tuple[Path, dict[str, Any]]
) -> None:
    """serve --backend clickhouse serves the same dashboard: every view's answer in api/data
    equals the one a DuckDB server gives for the same recordings (the windows and the budget
    by their money: their bounds are "now")."""
    tmp, _ = duckdb_answers
    since = "2026-11-01"  # the recordings ran on 2026-11-27
    duck = Service(make_config(tmp))
    duck.start()
    try:
        want = _dashboard_data(duck, since)
    finally:
        duck.stop()
    cfg = stores.clickhouse_config(tmp, kind)
    svc = Service(cfg)
    svc.start()
    try:
        replay_all(svc, recordings.scenarios())
        got = _dashboard_data(svc, since)
    finally:
        svc.stop()
        stores.drop_database(ClickHouseTarget.from_config(cfg))
    views = set(want) - {"meta", "live", "windows", "budget"}
    assert views >= {"cost", "tokens", "sessions", "tools", "errors", "sample", "anomalies"}
    assert want["sessions"]["total"] > 0 and want["sample"]["total"] > 0
    for key in sorted(views):
        _same(want[key], got[key], key)
    for key, window in want["windows"].items():
        _same(window["cost_usd"], got["windows"][key]["cost_usd"], f"windows.{key}")
    assert want["meta"]["filterable"] == got["meta"]["filterable"]
    for mine, theirs in zip(want["budget"]["periods"], got["budget"]["periods"], strict=True):
        for key in ("period", "spent_usd", "requests", "limit_usd", "status"):
            _same(mine[key], theirs[key], f"budget.{mine['period']}.{key}")

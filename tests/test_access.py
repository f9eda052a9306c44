"""Reaching the data: real `otelcap serve` processes, on DuckDB and on ClickHouse's engine
(chdb, a server process each), found by the commands through the registry of running servers;
and the control client's one error policy against real sockets."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recordings
from conftest import make_config
from otelcap import access, control, registry
from otelcap.cli import app
from otelcap.errors import OtelcapError
from otelcap.service import Service

BACKENDS = ["duckdb", "clickhouse"]
RESUME_COST_USD = 0.1357278  # what resume-http-json cost (test_querypack's figure)


@dataclass
class Served:
    proc: subprocess.Popen[str]
    store_args: list[str]
    grpc_port: int
    http_port: int

    @property
    def pid(self) -> int:
        return self.proc.pid

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            assert self.proc.wait(60) == 0


def _store_args(backend: str, tmp_path: Path, name: str) -> list[str]:
    if backend == "duckdb":
        return ["--db", str(tmp_path / f"{name}.duckdb")]
    pytest.importorskip("chdb")
    pytest.importorskip("clickhouse_connect")
    # ClickHouse's engine inside the server process, its data under tmp_path.
    return ["--backend", "clickhouse", "--clickhouse-url", f"chdb://{tmp_path / name}"]


def _env(tmp_path: Path) -> dict[str, str]:
    return {
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
        "OTELCAP_RETENTION": "0",  # the recordings have fixed dates
        "OTELCAP_CLICKHOUSE_TTL_DAYS": "0",
    }


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Any]:
    """Start `otelcap serve` processes in one data directory; stopped at teardown."""
    started: list[Served] = []

    def start(store_args: list[str]) -> Served:
        log = (tmp_path / f"serve-{len(started)}.log").open("w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "otelcap.cli", "serve", *store_args,
             "--grpc-port", "0", "--http-port", "0"],
            stdout=subprocess.PIPE, stderr=log, text=True, env={**os.environ, **_env(tmp_path)},
        )  # fmt: skip
        assert proc.stdout is not None
        banner = ""
        for line in proc.stdout:
            banner += line
            if "Ctrl-C" in line:
                break
        grpc = re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", banner)
        http = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
        assert grpc and http, banner + (tmp_path / f"serve-{len(started)}.log").read_text()
        served = Served(proc, store_args, int(grpc.group(1)), int(http.group(1)))
        started.append(served)
        return served

    yield start
    for s in started:
        if s.proc.poll() is None:
            s.proc.kill()
            s.proc.wait(30)


def _run(tmp_path: Path, *args: str, **env: str) -> tuple[int, str]:
    result = CliRunner().invoke(app, list(args), env={**_env(tmp_path), **env})
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result.exit_code, result.stdout + result.stderr


def _status(tmp_path: Path, *args: str, **env: str) -> tuple[int, dict[str, Any]]:
    code, out = _run(tmp_path, "status", "--format", "json", *args, **env)
    return code, json.loads(out)


def _records(tmp_path: Path) -> dict[int, Path]:
    return {
        int(p.name.split("-")[0]): p for p in registry.directory(tmp_path / "data").glob("*.json")
    }


def _replay(s: Served, scenario: str) -> int:
    sent = 0
    for req, _ in recordings.replay(
        scenario, f"127.0.0.1:{s.grpc_port}", f"http://127.0.0.1:{s.http_port}"
    ):
        sent += req.items
    return sent


# --- one server, no --db ------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_command_without_db_finds_the_one_running_server(
    backend: str, tmp_path: Path, serve: Any
) -> None:
    """`otelcap serve --db team.duckdb`, then `status`, `query cost` and `export` without
    --db: they find it (before, they read the default empty file and said $0)."""
    team = serve(_store_args(backend, tmp_path, "team"))
    sent = _replay(team, "resume-http-json")

    code, st = _status(tmp_path)
    assert code == 0, st
    assert st["running"] is True and st["pid"] == team.pid and st["backend"] == backend
    assert sum(st["rows"].values()) == sent
    assert st["records_last_minute"] == sent  # the server's own figures, on every backend

    code, out = _run(tmp_path, "query", "cost", "--format", "json")
    assert code == 0, out
    total = json.loads(out)[-1]
    assert total["model"] == "total" and abs(total["cost_usd"] - RESUME_COST_USD) < 1e-9

    code, out = _run(tmp_path, "doctor", "--format", "json")
    checks = {c["name"]: c for c in json.loads(out)["checks"]}
    assert checks["server"]["status"] == "ok" and checks["server"]["data"]["pid"] == team.pid
    store_check = "database" if backend == "duckdb" else "clickhouse_tables"
    assert checks[store_check]["status"] == "ok", checks[store_check]
    events = sum(r.items for r in recordings.load("resume-http-json") if r.signal == "logs")
    assert checks["logs"]["data"]["total"] == events
    assert checks["protocol"]["data"]["requests"] == {"http/json": 10}, checks["protocol"]

    # The export's SQL (queries/_ops) runs in the server, in its dialect.
    code, out = _run(tmp_path, "export", str(tmp_path / "bundle"), "--format", "json")
    assert code == 0, out
    assert json.loads(out)["rows"] == sent
    assert json.loads(out)["backend"] == backend

    # The server's store says what it can do; the remote store can exactly that.
    cfg = make_config(tmp_path)
    with access.open(cfg) as store:
        assert isinstance(store, access.RemoteStore) and store.record.pid == team.pid
        assert isinstance(store, access.Prunable) is (backend == "duckdb")
        assert isinstance(store, access.Mergeable) is (backend == "duckdb")
        assert isinstance(store, access.Spooled) is (backend == "clickhouse")
    code, out = _run(tmp_path, "prune", "--older-than", "3650d", "--format", "json")
    if backend == "duckdb":
        assert code == 0 and json.loads(out)["total"] == 0, out
    else:  # by capability: ClickHouse ages rows out by its TTL
        assert code == 2 and f"(pid {team.pid})" in out and "TTL" in out, out

    team.stop()
    assert team.pid not in _records(tmp_path)  # a server removes its own record
    code, st = _status(tmp_path)
    assert code == 1 and st["running"] is False


# --- two servers, one data directory ------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_two_servers_in_one_data_directory(backend: str, tmp_path: Path, serve: Any) -> None:
    """Two DuckDB files, or a DuckDB file and ClickHouse. (Two ClickHouse servers need two
    data directories: the spool, <data_dir>/spool, takes one server at a time.)"""
    a = serve(_store_args("duckdb", tmp_path, "a"))
    b = serve(_store_args(backend, tmp_path, "b"))
    assert set(_records(tmp_path)) == {a.pid, b.pid}  # one record each, neither overwritten
    for s in (a, b):
        code, st = _status(tmp_path, *s.store_args)
        assert code == 0 and st["pid"] == s.pid, st
    code, st = _status(tmp_path, OTELCAP_DB=a.store_args[1])  # names the file as --db does
    assert code == 0 and st["pid"] == a.pid, st

    # Without --db the command cannot tell: it lists them and asks (a usage error).
    for args in (["status"], ["query", "cost"], ["doctor"]):
        code, out = _run(tmp_path, *args)
        assert code == 2, (args, out)
        assert "2 otelcap servers run" in out and "--db" in out
        assert f"pid {a.pid}," in out and f"pid {b.pid}," in out

    b.stop()
    assert set(_records(tmp_path)) == {a.pid}  # b took only its own record with it
    code, st = _status(tmp_path, *a.store_args)
    assert code == 0 and st["pid"] == a.pid
    code, st = _status(tmp_path)  # one left: found without --db again
    assert code == 0 and st["pid"] == a.pid


# --- a killed server ----------------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_a_killed_servers_record_is_ignored_and_removed(
    backend: str, tmp_path: Path, serve: Any
) -> None:
    s = serve(_store_args(backend, tmp_path, "team"))
    sent = _replay(s, "resume-http-json")
    record = _records(tmp_path)[s.pid]
    s.proc.send_signal(signal.SIGKILL)  # no clean shutdown: the record stays behind
    s.proc.wait(30)
    assert record.exists()

    code, st = _status(tmp_path)
    assert code == 1 and st["running"] is False
    assert f"removed {record}" in st["note"] and f"(pid {s.pid})" in st["note"]
    assert not record.exists()
    if backend == "duckdb":  # the lock went with the process: the file answers itself
        code, out = _run(tmp_path, "sql", "SELECT count(*) AS n FROM otel_logs", "--format",
                         "json", *s.store_args)  # fmt: skip
        assert code == 0, out
        assert 0 < json.loads(out)[0]["n"] <= sent


# --- the control client's errors ----------------------------------------------------------------


def _record(tmp_path: Path, port: int, token: str = "t", **fields: Any) -> registry.ServerRecord:
    cfg = make_config(tmp_path)
    values: dict[str, Any] = {
        "pid": os.getpid(),  # alive: only the endpoint can tell it is not a server
        "host": "127.0.0.1",
        "port": port,
        "token": token,
        "backend": "duckdb",
        "dialect": "duckdb",
        "target": str(cfg.database),
        "key": access.key(cfg),
        **fields,
    }
    return registry.write(cfg.data_dir, registry.ServerRecord(**values))


def test_a_server_that_does_not_answer_in_time_is_a_message_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A listener that takes the connection and never answers: remote_query used to let
    the socket timeout escape as a traceback."""
    monkeypatch.setattr(control, "PROBE_TIMEOUT_S", 0.3)
    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen()  # the kernel accepts; nobody reads or answers
        record = _record(tmp_path, silent.getsockname()[1])
        code, out = _run(tmp_path, "query", "cost")
        assert code == 1, out
        assert f"the otelcap at 127.0.0.1:{record.port} (pid {os.getpid()}) did not answer " \
            "/v1/status within 0.3 s" in out  # fmt: skip
        assert "Traceback" not in out
        with pytest.raises(control.ControlTimeout, match=r"/v1/query within 0.2 s"):
            control.Control(record, timeout_s=0.2).query("SELECT 1", {})
    assert record.path is not None and record.path.exists()  # slow is not gone: kept


def test_a_refused_token_says_which_record(server: Service, tmp_path: Path) -> None:
    assert server.record is not None
    # The server's own port and data, another token: older than the real record, so asked
    # first (a record left by an earlier server whose port this one got, say).
    wrong = _record(tmp_path, server.record.port, token="not-the-servers", started=0.0)
    assert wrong.key == server.record.key
    code, out = _run(tmp_path, "status")
    assert code == 1
    assert f"refused the token of its record {wrong.path}" in out
    assert f"remove {wrong.path}" in out


def test_connection_refused_removes_the_record(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed once the block ends: nothing listens there
    record = _record(tmp_path, port)
    with pytest.raises(control.ServerGone, match=rf"no otelcap answers at 127.0.0.1:{port}"):
        control.Control(record).status()
    assert record.path is not None and not record.path.exists()


def test_an_error_of_the_server_carries_its_message(server: Service) -> None:
    found = access.find(server.config).server
    assert found is not None
    store = access.remote(found)
    with pytest.raises(OtelcapError, match="only SELECT queries may run here, not DELETE"):
        store.query("DELETE FROM otel_logs")
    with pytest.raises(OtelcapError, match="delete_before wants a table name"):
        store.control.action("delete_before", {"table": "nope", "cutoff": "x", "limit": 1})


def test_a_database_another_program_holds_names_it(tmp_path: Path) -> None:
    """Not an otelcap with a record here: DuckDB's lock, and the pid it names, in the message."""
    db = tmp_path / "held.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c",
         "import sys, time, duckdb; c = duckdb.connect(sys.argv[1]); print('open', flush=True); "
         "time.sleep(60)", str(db)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "open"
        code, out = _run(tmp_path, "sql", "SELECT 1 AS one", "--db", str(db))
    finally:
        holder.kill()
        holder.wait()
    assert code == 2, out
    assert f"is in use by another process, pid {holder.pid} (" in out
    assert "OTELCAP_DATA_DIR" in out


def test_a_record_whose_port_another_program_answers_on_is_removed(tmp_path: Path) -> None:
    """The pid was reused and so was the port: a web server that is no otelcap answers 404."""
    import http.server
    import threading

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)  # /v1/status: 404
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        record = _record(tmp_path, httpd.server_address[1])
        code, st = _status(tmp_path)
    finally:
        httpd.shutdown()
        httpd.server_close()
    assert code == 1 and st["running"] is False
    assert record.path is not None and not record.path.exists()

"""`otelcap doctor` against a real running server and real databases: what has arrived, and a
failure (exit 1, its own message) for each broken set-up: a port taken by another program or
another otelcap, an unwritable data directory, a server that cannot commit, an unreachable
ClickHouse."""

from __future__ import annotations

import contextlib
import json
import os
import socket
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

import recordings
from otelcap import registry
from otelcap.cli import app
from otelcap.service import Service


def _doctor(data_dir: Path, grpc_port: int, http_port: int, *args: str) -> tuple[int, str]:
    env = {
        "OTELCAP_CONFIG": str(data_dir.parent / "absent.toml"),
        "OTELCAP_DATA_DIR": str(data_dir),
        "OTELCAP_GRPC_PORT": str(grpc_port),
        "OTELCAP_HTTP_PORT": str(http_port),
    }
    result = CliRunner().invoke(app, ["doctor", *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def _checks(
    data_dir: Path, grpc_port: int, http_port: int, *args: str
) -> tuple[int, dict[str, dict[str, Any]]]:
    """--format json, by check name (text wraps long paths; tests of messages use this)."""
    code, out = _doctor(data_dir, grpc_port, http_port, "--format", "json", *args)
    report = json.loads(out)
    assert report["ok"] is (code == 0)
    return code, {c["name"]: c for c in report["checks"]}


def _doctor_json(svc: Service, *args: str) -> tuple[int, dict[str, dict[str, Any]]]:
    return _checks(svc.config.data_dir, *_ports(svc), *args)


def _ports(svc: Service) -> tuple[int, int]:
    return svc.endpoints.grpc_port, svc.endpoints.http_port


def _replay(svc: Service, scenario: str) -> None:
    target = f"127.0.0.1:{svc.endpoints.grpc_port}"
    for _ in recordings.replay(scenario, target, svc.endpoints.http_url):
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_reports_what_arrived_and_the_flags_that_are_off(server: Service) -> None:
    _replay(server, "baseline-grpc")  # no content flags, no traces, delta metrics
    code, out = _doctor(server.config.data_dir, *_ports(server))
    assert code == 0, out
    pid = os.getpid()
    assert f"✓ gRPC port 127.0.0.1:{server.endpoints.grpc_port} is held by the running " \
        f"otelcap (pid {pid})" in out  # fmt: skip
    assert f"✓ otelcap is running (pid {pid})" in out
    assert "has all 7 tables (read through the running otelcap" in out
    assert "✓ logs: 29 events (7 names)" in out
    assert "api_request 8 · tool_decision 7 · tool_result 7" in out
    assert "! traces: none" in out and "CLAUDE_CODE_ENHANCED_TELEMETRY_BETA=1" in out
    assert "✓ Claude Code version 2.1.332" in out
    assert "✓ protocol since start: grpc" in out
    assert "· metric temporality: delta" in out
    assert "OTEL_LOG_USER_PROMPTS is off" in out
    assert "OTEL_LOG_TOOL_DETAILS is off" in out

    code, checks = _doctor_json(server)
    assert code == 0
    assert checks["logs"]["data"]["total"] == 29
    names = {n["name"]: n for n in checks["logs"]["data"]["names"]}
    assert names["user_prompt"]["count"] == 1 and names["user_prompt"]["last_seen"]
    assert checks["prompts"]["status"] == "warn"
    assert checks["prompts"]["data"] == {"recent": 1, "with_text": 0}
    assert checks["tool_details"]["status"] == "warn"
    assert checks["traces"]["status"] == "warn"
    points = sum(r.items for r in recordings.load("baseline-grpc") if r.signal == "metrics")
    assert checks["temporality"]["data"]["counts"] == {"delta": points}


def test_content_flags_on_cumulative_metrics_and_http_json(server: Service) -> None:
    _replay(server, "errors-http-json")  # every flag on, traces, cumulative metrics
    code, checks = _doctor_json(server)
    assert code == 0
    assert {n: checks[n]["status"] for n in ("prompts", "tool_details", "traces")} == {
        "prompts": "ok",
        "tool_details": "ok",
        "traces": "ok",
    }
    assert checks["protocol"]["data"]["requests"] == {
        "http/json": len(recordings.load("errors-http-json"))
    }
    assert list(checks["temporality"]["data"]["counts"]) == ["cumulative"]


def test_refused_requests_show_up_as_a_warning(server: Service) -> None:
    import urllib.error
    import urllib.request

    request = urllib.request.Request(
        f"{server.endpoints.http_url}/v1/logs",
        data=b"not protobuf",
        headers={"Content-Type": "application/x-protobuf"},
    )
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(request, timeout=10)
    _replay(server, "baseline-http-protobuf")
    code, checks = _doctor_json(server)
    assert code == 0
    assert checks["protocol"]["status"] == "warn"
    assert checks["protocol"]["data"]["refused"] == {"invalid": 1}


def test_without_a_server_reads_the_file(server_factory: Any, tmp_path: Path) -> None:
    svc = server_factory()
    _replay(svc, "tools-grpc")
    ports = _ports(svc)
    svc.stop()
    code, out = _doctor(svc.config.data_dir, *ports)
    assert code == 0, out
    assert "· otelcap is not running for this database" in out
    assert f"✓ gRPC port 127.0.0.1:{ports[0]} is free" in out
    assert "read through" not in out and "has all 7 tables" in out
    assert "✓ traces:" in out
    assert "protocol: unknown" in out


def test_nothing_arrived_yet_is_a_warning_with_the_fix(server: Service) -> None:
    code, out = _doctor(server.config.data_dir, *_ports(server))
    assert code == 0
    assert "! nothing has arrived yet" in out
    assert "otelcap setup claude" in out


def test_fresh_install_has_no_database_yet(tmp_path: Path) -> None:
    code, checks = _checks(tmp_path / "new", 0, 0)
    assert code == 0
    assert checks["data_dir"]["message"].startswith(
        f"data directory {tmp_path / 'new'} will be created ({tmp_path} is writable)"
    )
    assert checks["database"]["status"] == "warn"
    assert checks["database"]["message"].startswith("no database yet at")
    assert checks["grpc_port"]["message"].startswith("gRPC port 0: picked at start")


def test_fails_on_a_port_taken_by_another_program(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        code, out = _doctor(tmp_path / "data", 0, port)
    assert code == 1
    assert f"✗ HTTP port 127.0.0.1:{port} is in use by another program" in out
    if Path("/proc/net/tcp").exists():  # Linux names the holder
        assert f"pid {os.getpid()} (" in out
    assert "--http-port" in out
    assert "1 check failed" in out


def test_fails_on_a_port_held_by_an_otelcap_for_another_database(
    server_factory: Any, tmp_path: Path
) -> None:
    other = server_factory(data_dir=tmp_path / "other")
    code, out = _doctor(tmp_path / "mine", 0, other.endpoints.http_port)
    assert code == 1
    assert "is held by another otelcap (one that does not serve" in out


@contextlib.contextmanager
def _unwritable_dir(tmp_path: Path) -> Iterator[Path]:
    path = tmp_path / "readonly"
    path.mkdir()
    if os.geteuid() != 0:
        path.chmod(0o500)
        try:
            yield path
        finally:
            path.chmod(0o700)
        return
    # root writes whatever the mode says: only a read-only file system stops it.
    mounted = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(path)], capture_output=True
    )
    if mounted.returncode != 0:
        pytest.skip("running as root and cannot mount a read-only tmpfs")
    try:
        yield path
    finally:
        subprocess.run(["umount", str(path)], check=False)


def test_fails_on_an_unwritable_data_directory(tmp_path: Path) -> None:
    with _unwritable_dir(tmp_path) as data_dir:
        code, checks = _checks(data_dir, 0, 0)
        code_text, text = _doctor(data_dir, 0, 0)
    assert code == code_text == 1
    assert checks["data_dir"]["status"] == "fail"
    assert checks["data_dir"]["message"].startswith(f"data directory {data_dir} is not writable:")
    assert "OTELCAP_DATA_DIR" in checks["data_dir"]["fix"]
    assert "✗ data directory" in text and "1 check failed" in text


def test_fails_when_the_running_server_cannot_commit(server: Service) -> None:
    server.pipeline.stop()  # the writer is gone: /healthz answers 503
    code, checks = _doctor_json(server)
    assert code == 1
    assert checks["server"]["status"] == "fail"
    assert "cannot store" in checks["server"]["message"]


def test_a_server_file_left_by_a_killed_server_is_a_warning(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    record = registry.write(
        data_dir,
        registry.ServerRecord(
            pid=999999,
            host="127.0.0.1",
            port=_free_port(),
            token="t",
            backend="duckdb",
            dialect="duckdb",
            target=str(data_dir / "otelcap.duckdb"),
            key=f"duckdb:{(data_dir / 'otelcap.duckdb').resolve()}",
        ),
    )
    code, checks = _checks(data_dir, 0, 0)
    assert code == 0
    assert checks["server"]["status"] == "warn"
    assert (
        f"{record.path} named a server (pid 999999) that no longer answers"
        in (checks["server"]["message"])
    )


def test_fails_on_an_unreachable_clickhouse(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{_free_port()}/otel"
    code, out = _doctor(tmp_path / "data", 0, 0, "--backend", "clickhouse", "--clickhouse-url", url)
    assert code == 1
    assert f"✗ ClickHouse at http://127.0.0.1:{url.split(':')[2]} is unreachable" in out
    assert "What has arrived" not in out


_CLICKHOUSE_SESSION = """
import json, sys
sys.path.insert(0, {tests!r})
import recordings
from typer.testing import CliRunner
from conftest import make_config
from otelcap.cli import app
from otelcap.service import Service

tmp, grpc_port, http_port, url = {tmp!r}, {grpc_port}, {http_port}, {url!r}
from pathlib import Path
cfg = make_config(Path(tmp), backend="clickhouse", clickhouse_url=url,
                  grpc_port=grpc_port, http_port=http_port)
svc = Service(cfg)
svc.start()
for _ in recordings.replay("tools-grpc", f"127.0.0.1:{{grpc_port}}", svc.endpoints.http_url):
    pass
env = {{"OTELCAP_CONFIG": tmp + "/absent.toml", "OTELCAP_DATA_DIR": tmp + "/data",
       "OTELCAP_GRPC_PORT": str(grpc_port), "OTELCAP_HTTP_PORT": str(http_port)}}
ch = ["--format", "json", "--backend", "clickhouse", "--clickhouse-url", url]
doctor = CliRunner().invoke(app, ["doctor", *ch], env=env)
status = CliRunner().invoke(app, ["status", *ch], env=env)
svc.stop()
print(json.dumps({{"code": doctor.exit_code, "out": doctor.stdout,
                  "status_code": status.exit_code, "status": status.stdout}}))
"""


@pytest.mark.slow
def test_clickhouse_checks_pass_and_read_what_arrived(tmp_path: Path) -> None:
    """ClickHouse's engine in-process (chdb://) behind a real `Service`: the connection, the
    tables and the scratch-table round trip pass, what arrived is read from ClickHouse, and
    `status` finds the server by its record and asks its control endpoint. A subprocess: chdb
    holds one engine per process."""
    code = textwrap.dedent(
        _CLICKHOUSE_SESSION.format(
            tests=str(Path(__file__).parent),
            tmp=str(tmp_path),
            grpc_port=_free_port(),
            http_port=_free_port(),
            url=f"chdb://{tmp_path / 'ch'}",
        )
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(proc.stdout.strip().splitlines()[-1])
    report = json.loads(result["out"])
    checks = {c["name"]: c for c in report["checks"]}
    assert result["code"] == 0, result["out"]
    assert checks["clickhouse"]["status"] == "ok"
    assert checks["clickhouse_tables"]["status"] == "ok"
    assert checks["clickhouse_write"]["status"] == "ok", checks["clickhouse_write"]
    assert checks["server"]["status"] == "ok"  # found by its record, asked on its endpoint
    assert checks["logs"]["data"]["total"] == sum(
        r.items for r in recordings.load("tools-grpc") if r.signal == "logs"
    )
    assert checks["prompts"]["status"] == "ok" and checks["tool_details"]["status"] == "ok"

    status = json.loads(result["status"])
    assert result["status_code"] == 0, status
    assert status["running"] is True and status["backend"] == "clickhouse"
    assert status["database"].startswith("chdb://")
    assert status["rows"]["otel_logs"] == checks["logs"]["data"]["total"]
    assert status["spool_bytes"] == 0 and status["queue_rows"] == 0
    # The control endpoint runs for ClickHouse too (issue 12): the server's own ingest rate.
    assert status["records_last_minute"] == sum(r.items for r in recordings.load("tools-grpc"))


def test_bad_format_is_a_usage_error(tmp_path: Path) -> None:
    assert _doctor(tmp_path, 0, 0, "--format", "yaml")[0] == 2


def test_text_never_splits_a_command_a_path_or_a_process() -> None:
    """The text wraps at 100 columns, but not inside what a user copies: with a long venv
    path, "pid N (its command line)" was split after N (the README's test command, run from
    a checkout in a long directory, failed on that)."""
    from otelcap.ops.doctor import FAIL, WARN, Check, Report, render

    venv = "/tmp/" + "a-very-long-directory-name-" * 3 + "otelcap/.venv"
    holder = f"pid 4242 ({venv}/bin/python {venv}/bin/pytest -q tests/test_doctor.py (x))"
    data_dir = "/Users/dev/Library/Application Support/otelcap"
    command = "`otelcap serve --http-port N` and `otelcap setup claude --http-port N`"
    report = Report("duckdb", f"{data_dir}/otelcap.duckdb", data_dir, [
        Check("setup", "http_port", FAIL, f"HTTP port 127.0.0.1:4318 is in use by another "
              f"program: {holder}", f"stop that program, or choose another port: {command}"),
        Check("setup", "data_dir", WARN, f"data directory {data_dir} will be created "
              "(/Users/dev/Library/Application Support is writable); 900.0 MiB free",
              "free some disk space, or move the data (OTELCAP_DATA_DIR)", {"path": data_dir}),
    ])  # fmt: skip
    lines = render(report).splitlines()
    for whole in (
        holder,
        "`otelcap serve --http-port N`",
        "`otelcap setup claude --http-port N`",
        data_dir,
        "/Users/dev/Library/Application Support",
    ):
        assert any(whole in line for line in lines), (whole, lines)
    for line in lines:  # only a line holding one unbreakable span may be longer
        assert len(line) <= 100 or holder in line, line


def test_claude_code_set_up_without_a_collector_is_a_warning(tmp_path: Path) -> None:
    claude_dir = tmp_path / "claude"
    claude_dir.mkdir()
    settings = claude_dir / "settings.json"
    settings.write_text(
        json.dumps(
            {
                "env": {
                    "CLAUDE_CODE_ENABLE_TELEMETRY": "1",
                    "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317",
                }
            }
        )
    )
    env = {
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "none.toml"),
        "OTELCAP_GRPC_PORT": str(_free_port()),
        "OTELCAP_HTTP_PORT": str(_free_port()),
        "CLAUDE_CONFIG_DIR": str(claude_dir),
    }
    out = CliRunner().invoke(app, ["doctor", "--format", "json"], env=env)
    checks = {c["name"]: c for c in json.loads(out.output)["checks"]}
    assert checks["claude"]["status"] == "warn"
    assert "http://127.0.0.1:4317" in checks["claude"]["message"]
    assert "otelcap service install" in checks["claude"]["fix"]
    settings.write_text('{"env": {"CLAUDE_CODE_ENABLE_TELEMETRY": "0"}}')
    out = CliRunner().invoke(app, ["doctor", "--format", "json"], env=env)
    assert "claude" not in {c["name"] for c in json.loads(out.output)["checks"]}

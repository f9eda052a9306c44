"""`otelcap status` against a real running server, after it stopped, and before any database;
and the server's own /v1/status behind the query endpoint's token."""

from __future__ import annotations

import http.client
import json
import re
from pathlib import Path
from typing import Any

from typer.testing import CliRunner

import recordings
from otelcap import access
from otelcap.cli import app
from otelcap.service import Service


def _status(data_dir: Path, *args: str) -> tuple[int, str]:
    env = {
        "OTELCAP_CONFIG": str(data_dir.parent / "absent.toml"),
        "OTELCAP_DATA_DIR": str(data_dir),
    }
    result = CliRunner().invoke(app, ["status", *args], env=env)
    return result.exit_code, result.stdout + result.stderr


def _status_json(data_dir: Path) -> tuple[int, dict[str, Any]]:
    code, out = _status(data_dir, "--format", "json")
    return code, json.loads(out)


def _sent(scenario: str) -> dict[str, int]:
    """Rows per signal that the recorded requests carry."""
    out: dict[str, int] = {}
    for r in recordings.load(scenario):
        out[r.signal] = out.get(r.signal, 0) + r.items
    return out


def test_running_server_endpoints_rows_and_ingest_rate(server: Service) -> None:
    for _ in recordings.replay(
        "tools-grpc", f"127.0.0.1:{server.endpoints.grpc_port}", server.endpoints.http_url
    ):
        pass
    sent = _sent("tools-grpc")
    code, st = _status_json(server.config.data_dir)
    assert code == 0
    assert st["running"] is True and st["healthy"] is True and st["ok"] is True
    assert st["grpc"] == f"127.0.0.1:{server.endpoints.grpc_port}"
    assert st["http"] == server.endpoints.http_url
    assert st["rows"]["otel_logs"] == sent["logs"]
    assert st["rows"]["otel_traces"] == sent["traces"]
    assert st["rows"]["otel_metrics_sum"] == sent["metrics"]
    # Everything was sent within the last minute.
    assert st["records_last_minute"] == sum(sent.values())
    assert st["queue_rows"] == 0 and st["spool_bytes"] == 0
    assert st["database_bytes"] > 0

    code, text = _status(server.config.data_dir)
    assert code == 0
    assert f"gRPC      127.0.0.1:{server.endpoints.grpc_port}" in text
    assert f"ingest    {sum(sent.values())} records in the last minute" in text
    assert re.search(rf"^  otel_logs +{sent['logs']}$", text, re.MULTILINE)


def test_after_the_server_stopped_rows_come_from_the_file(server_factory: Any) -> None:
    svc = server_factory()
    for _ in recordings.replay(
        "baseline-grpc", f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
    ):
        pass
    svc.stop()
    code, st = _status_json(svc.config.data_dir)
    assert code == 1
    assert st["running"] is False and st["records_last_minute"] is None
    assert st["rows"]["otel_logs"] == _sent("baseline-grpc")["logs"]
    code, text = _status(svc.config.data_dir)
    assert code == 1 and text.startswith("otelcap is not running")


def test_no_database_yet(tmp_path: Path) -> None:
    code, st = _status_json(tmp_path / "data")
    assert code == 1
    assert st["rows"] == {} and st["database_bytes"] is None
    assert "no database yet" in st["note"]


def test_the_status_endpoint_needs_the_token(server: Service) -> None:
    found = access.find(server.config).server
    assert found is not None
    conn = http.client.HTTPConnection(found.record.host, found.record.port, timeout=10)
    try:
        conn.request("GET", "/v1/status")
        resp = conn.getresponse()
        assert resp.status == 401
        resp.read()
        auth = {"Authorization": f"Bearer {found.record.token}"}
        conn.request("GET", "/v1/status", headers=auth)
        resp = conn.getresponse()
        assert resp.status == 200
        assert json.loads(resp.read())["grpc_port"] == server.endpoints.grpc_port
    finally:
        conn.close()

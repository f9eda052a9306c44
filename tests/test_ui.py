"""`otelcap ui` over HTTP: the served dashboard's authentication and its answers, on a real
otelcap Service (server_factory) and a real `otelcap ui` subprocess, with the recordings'
database. The page itself, in chromium, is tests/test_ui_browser.py."""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from typer.testing import CliRunner

from otelcap import access, dashboard
from otelcap.cli import app
from otelcap.report import page

SINCE = "2026-11-01"  # the recordings ran on 2026-11-27
PATHS = [
    "/",
    "/assets/app.js",
    "/assets/uPlot.iife.min.js",
    f"/api/data?since={SINCE}",
    f"/api/session?session=x&since={SINCE}",
    f"/api/choices?since={SINCE}",
    "/api/changes",
]


def _get(
    url: str, path: str, cookie: str = "", host: str = ""
) -> tuple[int, dict[str, str], bytes]:
    u = urlsplit(url)
    conn = http.client.HTTPConnection(u.hostname, u.port, timeout=60)
    headers = {"Cookie": cookie} if cookie else {}
    if host:
        headers["Host"] = host
    try:
        conn.request("GET", path, headers=headers)
        r = conn.getresponse()
        return r.status, {k.lower(): v for k, v in r.getheaders()}, r.read()
    finally:
        conn.close()


def _login(url: str) -> str:
    """Trade the link's ticket for the cookie; the cookie as a Cookie header's value."""
    u = urlsplit(url)
    status, headers, _ = _get(url, f"{u.path}?{u.query}")
    assert status == 303, status
    return headers["set-cookie"].split(";")[0]


def _served(server_factory: Any, db: Path, **overrides: object) -> Any:
    return server_factory(db_path=db, **overrides)


@pytest.fixture
def db(recorded_db: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "recorded.duckdb"
    shutil.copy(recorded_db, copy)
    return copy


def test_nothing_without_the_cookie_even_when_the_receivers_listen_beyond_loopback(
    server_factory: Any, db: Path
) -> None:
    svc = _served(server_factory, db, host="0.0.0.0")
    _record, url = access.dashboard_link(svc.config)
    assert urlsplit(url).hostname == "127.0.0.1"
    assert svc.dashboard._httpd.server_address[0] == "127.0.0.1"  # not the receivers' 0.0.0.0
    name = svc.dashboard.cookie_name
    for cookie in ("", f"{name}=forged", f"other=1; {name}="):
        for path in PATHS:
            status, headers, body = _get(url, path, cookie)
            assert status == 401, (path, cookie, status)
            assert b"cost_usd" not in body and b"uPlot" not in body and b"<html" not in body
            assert headers["content-security-policy"] == page.SERVED_CSP
    # the same, once signed in: the data is there (the 401s above were not a broken server)
    cookie = _login(url)
    status, _, body = _get(url, f"/api/data?since={SINCE}", cookie)
    assert status == 200 and b"cost_usd" in body


def test_a_ticket_is_good_once_and_gives_an_httponly_samesite_strict_cookie(
    server_factory: Any, db: Path
) -> None:
    svc = _served(server_factory, db)
    _, url = access.dashboard_link(svc.config)
    u = urlsplit(url)
    status, headers, _ = _get(url, f"{u.path}?{u.query}")
    assert status == 303
    assert headers["location"] == "/"  # the page's URL carries no ticket
    attrs = [a.strip() for a in headers["set-cookie"].split(";")]
    assert attrs[0].startswith(svc.dashboard.cookie_name + "=")
    assert "HttpOnly" in attrs and "SameSite=Strict" in attrs and "Path=/" in attrs
    cookie = attrs[0]
    again, _, body = _get(url, f"{u.path}?{u.query}")
    assert again == 401 and b"used already or has expired" in body
    status, headers, body = _get(url, "/", cookie)
    assert status == 200 and b'<script src="assets/app.js">' in body
    assert headers["content-security-policy"] == page.SERVED_CSP
    assert "default-src 'self'" in headers["content-security-policy"]
    assert b"<script>" not in body and b"<style>" not in body  # nothing inline
    # a second `otelcap ui` gets a link of its own, which works too
    _, second = access.dashboard_link(svc.config)
    assert second != url and _login(second) != cookie


def test_an_expired_ticket_is_refused(
    server_factory: Any, db: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    svc = _served(server_factory, db)
    monkeypatch.setattr(dashboard, "TICKET_S", -1.0)  # expired the moment it is made
    url = svc.dashboard.ticket_url()
    u = urlsplit(url)
    status, headers, body = _get(url, f"{u.path}?{u.query}")
    assert status == 401 and "set-cookie" not in headers
    assert b"run `otelcap ui` again" in body


def test_another_host_name_is_refused(server_factory: Any, db: Path) -> None:
    """A page on another name resolving to 127.0.0.1 (DNS rebinding) gets nothing."""
    svc = _served(server_factory, db)
    url = svc.dashboard.ticket_url()
    cookie = _login(url)
    status, _, body = _get(url, "/api/changes", cookie, host=f"evil.example:{svc.dashboard.port}")
    assert status == 403 and b"version" not in body
    status, _, _ = _get(url, "/api/changes", cookie, host=f"localhost:{svc.dashboard.port}")
    assert status == 200


def _cli_json(args: list[str], env: dict[str, str]) -> list[dict[str, Any]]:
    out = CliRunner().invoke(app, [*args, "--format", "json"], env=env)
    assert out.exit_code == 0, out.output
    rows: list[dict[str, Any]] = json.loads(out.stdout)
    return rows


def test_otelcap_ui_prints_the_running_servers_link_and_its_cost_is_otelcap_query_cost(
    server_factory: Any, db: Path, tmp_path: Path
) -> None:
    svc = _served(server_factory, db)
    env = {"OTELCAP_DATA_DIR": str(svc.config.data_dir), "OTELCAP_CONFIG": str(tmp_path / "no")}
    out = CliRunner().invoke(app, ["ui", "--no-open"], env=env)
    assert out.exit_code == 0, out.output
    assert f"running otelcap (pid {os.getpid()}" in out.stdout
    url = out.stdout.split()[-1]
    assert url.startswith(f"http://127.0.0.1:{svc.dashboard.port}/auth?ticket=")
    cookie = _login(url)
    status, _, body = _get(url, f"/api/data?since={SINCE}", cookie)
    assert status == 200, body
    data = json.loads(body)
    until = data["meta"]["until"]
    total = dict(zip(data["cost"]["columns"], data["cost"]["rows"][-1], strict=True))
    rows = _cli_json(["query", "cost", "--since", SINCE, "--until", until], env)
    assert total["model"] == rows[-1]["model"] == "total"
    assert total["cost_usd"] == rows[-1]["cost_usd"] > 1
    # the budget card: the server's configured limits (none here), otelcap budget's periods
    assert [p["period"] for p in data["budget"]["periods"]] == ["day", "week", "month"]
    assert all(p["limit_usd"] is None for p in data["budget"]["periods"])


def test_the_change_marker_moves_when_rows_are_stored(server_factory: Any, db: Path) -> None:
    import recordings

    svc = _served(server_factory, db)
    cookie = _login(svc.dashboard.ticket_url())
    url = f"http://127.0.0.1:{svc.dashboard.port}/"
    before = json.loads(_get(url, "/api/changes", cookie)[2])["version"]
    assert json.loads(_get(url, "/api/changes", cookie)[2])["version"] == before  # nothing new
    req = next(r for r in recordings.load(recordings.scenarios()[0]) if r.signal == "logs")
    recordings.send(req, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url)
    after = json.loads(_get(url, "/api/changes", cookie)[2])["version"]
    assert after != before and "otel_logs=" in after
    data = json.loads(_get(url, f"/api/data?since={SINCE}", cookie)[2])
    assert data["live"] == {"version": after, "poll_ms": int(dashboard.POLL_S * 1000)}


def test_self_serve_with_no_server_reads_the_file(db: Path, tmp_path: Path) -> None:
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(tmp_path / "data"),
        "OTELCAP_CONFIG": str(tmp_path / "no"),
        "PYTHONUNBUFFERED": "1",
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap", "ui", "--no-open", "--db", str(db)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        lines = [proc.stdout.readline(), proc.stdout.readline()]
        assert "no otelcap server runs: serving" in lines[0] and str(db) in lines[0], lines
        url = lines[1].strip()
        assert url.startswith("http://127.0.0.1:") and "/auth?ticket=" in url
        assert _get(url, f"/api/data?since={SINCE}")[0] == 401
        cookie = _login(url)
        status, _, body = _get(url, f"/api/data?since={SINCE}", cookie)
        assert status == 200, body
        data = json.loads(body)
        assert "live" not in data  # no server: nothing is stored meanwhile, nothing to poll
        total = dict(zip(data["cost"]["columns"], data["cost"]["rows"][-1], strict=True))
        rows = _cli_json(
            ["query", "cost", "--since", SINCE, "--until", data["meta"]["until"], "--db", str(db)],
            {k: env[k] for k in ("OTELCAP_DATA_DIR", "OTELCAP_CONFIG")},
        )  # the file is free between the dashboard's requests: the CLI opens it too
        assert total["cost_usd"] == rows[-1]["cost_usd"] > 1
        sid = data["sessions"]["rows"][0][data["sessions"]["columns"].index("session_id")]
        status, _, body = _get(url, f"/api/session?session={sid}&since={SINCE}", cookie)
        assert status == 200 and json.loads(body)["events"]["rows"]
    finally:
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert "otelcap ui stopped." in out


def test_self_serve_without_a_database_says_so(tmp_path: Path) -> None:
    env = {"OTELCAP_DATA_DIR": str(tmp_path / "data"), "OTELCAP_CONFIG": str(tmp_path / "no")}
    out = CliRunner().invoke(
        app, ["ui", "--no-open", "--db", str(tmp_path / "none.duckdb")], env=env
    )
    assert out.exit_code == 2
    assert "no database at" in out.output and "otelcap serve" in out.output


def test_one_computation_serves_requests_until_rows_are_stored(
    server_factory: Any, db: Path
) -> None:
    import recordings

    svc = _served(server_factory, db)
    ran: list[str] = []
    with svc.dashboard.runner() as pack:
        pass

    def counted(name: str, values: dict[str, str]) -> Any:
        ran.append(name)
        return pack(name, values)

    svc.dashboard.runner = lambda: contextlib.nullcontext(counted)  # asked per request
    url = svc.dashboard.ticket_url()
    cookie = _login(url)
    # the default view's data, which the ticket started computing: this request joins it
    first = _get(url, "/api/data", cookie)[2]
    computed = len(ran)
    assert computed > 10  # the report's queries ran for it
    assert _get(url, "/api/data", cookie)[2] == first  # the same answer
    assert len(ran) == computed  # and no query ran again
    req = next(r for r in recordings.load(recordings.scenarios()[0]) if r.signal == "logs")
    recordings.send(req, f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url)
    again = json.loads(_get(url, "/api/data", cookie)[2])
    assert len(ran) > computed  # rows were stored: computed anew
    assert again["live"]["version"] != json.loads(first)["live"]["version"]


def test_the_budget_card_follows_the_config_file_while_serve_runs(db: Path, tmp_path: Path) -> None:
    """`otelcap budget set` edits the config file of a running server: its dashboard shows the
    new limit the next time it computes its data (no restart)."""
    from conftest import make_config
    from otelcap.ops import budget
    from otelcap.service import Service

    file = tmp_path / "config.toml"
    budget.set_limits(file, {"daily": 5.0})
    cfg = make_config(tmp_path, db_path=db, budget_daily=5.0)
    svc = Service(cfg, config_file=file)
    svc.start()
    try:

        def day_limit() -> object:
            svc.dashboard._answers.clear()  # as when rows were stored, or after 60 s
            return svc.dashboard.data({"since": SINCE})["budget"]["periods"][0]["limit_usd"]

        assert day_limit() == 5.0
        budget.set_limits(file, {"daily": 7.5})
        assert day_limit() == 7.5
        file.write_text("[budget\n")  # a file that no longer parses: the limits serve began with
        assert day_limit() == 5.0
    finally:
        svc.stop()

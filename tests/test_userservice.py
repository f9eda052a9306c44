"""`otelcap service`: the unit files are valid, install/uninstall are idempotent and touch only
their own files, and the unit's exact command line runs a collector that stores what it gets."""

from __future__ import annotations

import http.client
import os
import plistlib
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import duckdb
import pytest
from typer.testing import CliRunner

import recordings
from otelcap import config
from otelcap.cli import app
from otelcap.ops import userservice


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    monkeypatch.setenv("HOME", str(h))
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("OTELCAP_DATA_DIR", str(tmp_path / "data"))
    return h


def _cfg() -> config.Config:
    return config.load({})


def _files(root: Path) -> set[str]:
    return {str(p.relative_to(root)) for p in root.rglob("*")}


class Recorder:
    def __init__(self, fail: str | None = None) -> None:
        self.calls: list[list[str]] = []
        self.fail = fail

    def __call__(self, args: Any) -> subprocess.CompletedProcess[str]:
        self.calls.append(list(args))
        if self.fail and self.fail in args:
            return subprocess.CompletedProcess(args, 1, "", "Failed to connect to bus")
        return subprocess.CompletedProcess(args, 0, "ActiveState=active\nMainPID=42\n", "")


def _exec_start(unit: str) -> tuple[list[str], dict[str, str]]:
    """The command and environment systemd would run, read back from the unit's text."""

    def unquote(value: str) -> list[str]:
        # Our quoting is systemd's: "…" with \\ and \" escapes, %% and $$ for literal % and $.
        return [a.replace("%%", "%").replace("$$", "$") for a in shlex.split(value)]

    command: list[str] = []
    env: dict[str, str] = {}
    for line in unit.splitlines():
        if line.startswith("ExecStart="):
            command = unquote(line.removeprefix("ExecStart="))
        elif line.startswith("Environment="):
            key, _, value = unquote(line.removeprefix("Environment="))[0].partition("=")
            env[key] = value
    return command, env


def test_systemd_unit_runs_this_interpreter_and_passes_systemd_analyze(
    home: Path, tmp_path: Path
) -> None:
    spec = userservice.spec_for(_cfg(), ["--db", str(tmp_path / "odd %dir $x" / "c.duckdb")])
    unit = userservice.render_systemd(spec)
    command, env = _exec_start(unit)
    assert command[:4] == [sys.executable, "-m", "otelcap", "serve"]
    assert command[-1] == str(tmp_path / "odd %dir $x" / "c.duckdb")  # % and $ survive quoting
    assert env["OTELCAP_DATA_DIR"] == str((tmp_path / "data").resolve())
    assert "RestartPreventExitStatus=2" in unit and "Restart=on-failure" in unit
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed: the unit was checked by parsing only")
    path = tmp_path / "otelcap.service"
    path.write_text(unit)
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    env_run = {**os.environ, "XDG_RUNTIME_DIR": str(runtime)}
    ok = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(path)],
        capture_output=True, text=True, env=env_run, check=False,
    )  # fmt: skip
    assert ok.returncode == 0, ok.stderr
    # The same check refuses a unit whose program does not exist, so it does verify something.
    path.write_text(unit.replace(sys.executable, str(tmp_path / "no-such-python"), 1))
    bad = subprocess.run(
        ["systemd-analyze", "verify", "--user", str(path)],
        capture_output=True, text=True, env=env_run, check=False,
    )  # fmt: skip
    assert bad.returncode != 0 and "no-such-python" in bad.stderr


def test_launchd_plist_is_a_valid_agent(home: Path) -> None:
    spec = userservice.spec_for(_cfg(), ["--http-port", "4318"])
    doc = plistlib.loads(userservice.render_launchd(spec).encode())
    assert doc["Label"] == userservice.LABEL
    assert doc["ProgramArguments"] == spec.command
    assert doc["RunAtLoad"] is True
    assert doc["KeepAlive"] == {"SuccessfulExit": False}
    assert doc["EnvironmentVariables"]["OTELCAP_DATA_DIR"] == spec.environment["OTELCAP_DATA_DIR"]
    assert doc["StandardOutPath"] == str(spec.out_file)


def test_no_secret_goes_into_the_unit(home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTELCAP_CLICKHOUSE_PASSWORD", "hunter2-secret")
    monkeypatch.setenv("OTELCAP_FLUSH_ROWS", "5000")
    spec = userservice.spec_for(_cfg())
    unit = userservice.render_systemd(spec)
    assert "hunter2-secret" not in unit
    assert '"OTELCAP_FLUSH_ROWS=5000"' in unit
    assert userservice.skipped_secrets() == ["OTELCAP_CLICKHOUSE_PASSWORD"]


@pytest.mark.parametrize("platform", ["linux", "darwin"])
def test_install_and_uninstall_are_idempotent_and_touch_only_their_files(
    home: Path, platform: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    if platform == "linux" and shutil.which("systemctl") is None:
        monkeypatch.setattr(shutil, "which", lambda name: "/bin/" + name)
    before = _files(home)
    run = Recorder()
    first = userservice.install(_cfg(), ["--grpc-port", "4317"], platform=platform, run=run)
    assert first.changed and first.path is not None and first.path.exists()
    assert first.path.is_relative_to(home)
    rel = first.path.relative_to(home)
    assert _files(home) - before == {str(rel)} | {str(p) for p in rel.parents if str(p) != "."}
    text = first.path.read_text()
    second = userservice.install(_cfg(), ["--grpc-port", "4317"], platform=platform, run=run)
    assert not second.changed and first.path.read_text() == text
    assert any("unchanged" in line for line in second.lines)
    if platform == "linux":
        assert run.calls[:2] == [
            ["systemctl", "--user", "daemon-reload"],
            ["systemctl", "--user", "enable", "--now", "otelcap.service"],
        ]
    else:
        assert run.calls[0][:2] == ["launchctl", "bootstrap"]
        assert run.calls[1][:2] == ["launchctl", "bootout"]  # a changed plist is reloaded
    st = userservice.state(platform=platform, run=run)
    assert st.installed
    gone = userservice.uninstall(platform=platform, run=run)
    assert gone.changed and not first.path.exists()
    again = userservice.uninstall(platform=platform, run=run)
    assert not again.changed and "not installed" in again.lines[0]
    # Only the unit went away; the directories it needed and nothing else stay.
    assert first.path.parent.exists()


def test_a_manager_that_refuses_says_what_to_run(home: Path) -> None:
    if shutil.which("systemctl") is None:
        pytest.skip("no systemctl on this machine")
    with pytest.raises(userservice.ServiceError) as err:
        userservice.install(_cfg(), platform="linux", run=Recorder(fail="daemon-reload"))
    message = str(err.value)
    assert "Failed to connect to bus" in message
    assert "systemctl --user daemon-reload && systemctl --user enable --now" in message
    assert (home / ".config/systemd/user/otelcap.service").exists()  # written all the same


def test_elsewhere_it_prints_the_command_to_run(home: Path) -> None:
    with pytest.raises(userservice.ServiceError) as err:
        userservice.install(_cfg(), platform="win32")
    assert f"{sys.executable} -m otelcap serve" in str(err.value)
    assert _files(home) == set()


def test_cli_install_with_a_real_systemctl_path(home: Path, tmp_path: Path) -> None:
    """Through the CLI with a stand-in systemctl that records its arguments and succeeds."""
    bindir = tmp_path / "bin"
    bindir.mkdir()
    log = tmp_path / "systemctl.args"
    fake = bindir / "systemctl"
    fake.write_text(f'#!/bin/sh\necho "$@" >> {log}\necho ActiveState=active\n')
    fake.chmod(0o755)
    env = {"PATH": f"{bindir}:{os.environ['PATH']}", "HOME": str(home)}
    runner = CliRunner()
    old_path = os.environ["PATH"]
    os.environ["PATH"] = env["PATH"]
    try:
        result = runner.invoke(app, ["service", "install", "--http-port", "14318"])
        assert result.exit_code == 0, result.output
        assert "wrote" in result.output and "otelcap.service" in result.output
        assert log.read_text().splitlines() == [
            "--user daemon-reload",
            "--user enable --now otelcap.service",
        ]
        unit = (home / ".config/systemd/user/otelcap.service").read_text()
        assert '"--http-port" "14318"' in unit
        status = runner.invoke(app, ["service", "status", "--format", "json"])
        assert status.exit_code == 1  # systemd says active, but no collector answers
        assert '"answering": false' in status.output
        assert runner.invoke(app, ["service", "uninstall"]).exit_code == 0
    finally:
        os.environ["PATH"] = old_path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.slow
def test_the_units_exact_command_line_serves_and_logs(home: Path, tmp_path: Path) -> None:
    grpc_port, http_port = _free_port(), _free_port()
    db = tmp_path / "svc.duckdb"
    spec = userservice.spec_for(
        _cfg(), ["--db", str(db), "--grpc-port", str(grpc_port), "--http-port", str(http_port)]
    )
    command, env = _exec_start(userservice.render_systemd(spec))
    env = {"PATH": os.environ["PATH"], "HOME": str(home), **env}
    if "PYTHONPATH" in os.environ:  # a checkout run without installing
        env["PYTHONPATH"] = os.environ["PYTHONPATH"]
    proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # the banner ends with the endpoints; wait for it
            if f":{http_port}" in line:
                break
        req = next(r for r in recordings.load("tools-http-protobuf") if r.signal == "logs")
        conn = http.client.HTTPConnection("127.0.0.1", http_port, timeout=30)
        conn.request("POST", "/v1/logs", req.body, {"Content-Type": "application/x-protobuf"})
        assert conn.getresponse().status == 200
        conn.close()
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(60) == 0
    n = duckdb.connect(str(db), read_only=True).execute("SELECT count(*) FROM otel_logs").fetchone()
    assert n is not None and n[0] == req.items
    assert spec.log_file.exists() and "otelcap" in spec.log_file.read_text()
    assert stat.S_IMODE(spec.log_file.stat().st_mode) == 0o600


def test_logs_shows_the_tail_and_says_when_there_is_none(home: Path) -> None:
    cfg = _cfg()
    with pytest.raises(userservice.ServiceError, match="no log at"):
        list(userservice.logs(cfg))
    log = userservice.spec_for(cfg).log_file
    log.parent.mkdir(parents=True)
    log.write_text("".join(f"line {i}\n" for i in range(10_000)))
    assert list(userservice.logs(cfg, 3)) == ["line 9997", "line 9998", "line 9999"]

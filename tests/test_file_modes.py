"""Files otelcap creates are 0600 and directories 0700 whatever the umask (issue 11, defect 8):
the database, its WAL, the privacy key, server.json, the spool and export bundles hold the
user's telemetry. Directories the user already had (the parent of --db, say) keep their mode.

Every test sets umask 0o022, the usual default that made everything 0644/0755, and puts it
back afterwards.
"""

from __future__ import annotations

import json
import os
import re
import signal
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

import recordings
from conftest import make_config
from otelcap import export
from otelcap.service import Service


@pytest.fixture
def umask_022() -> Iterator[None]:
    previous = os.umask(0o022)
    try:
        yield
    finally:
        os.umask(previous)


def _not_private(root: Path) -> list[str]:
    """Every file under root that is not 0600 and every directory that is not 0700."""
    wrong = []
    for p in sorted(root.rglob("*")):
        mode = stat.S_IMODE(p.lstat().st_mode)
        want = 0o700 if p.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{p.relative_to(root)} {mode:o}")
    return wrong


def _serve(args: list[str], env: dict[str, str]) -> tuple[subprocess.Popen[str], int, int]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap.cli", "serve", "--grpc-port", "0", "--http-port", "0",
         *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    banner = ""
    for line in proc.stdout:
        banner += line
        if "Ctrl-C" in line:
            break
    grpc = re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", banner)
    http = re.search(r"http://127\.0\.0\.1:(\d+)/v1", banner)
    assert grpc and http, banner + (proc.stderr.read() if proc.poll() is not None else "")
    return proc, int(grpc.group(1)), int(http.group(1))


def _cli(*args: str, env: dict[str, str]) -> dict[str, object]:
    done = subprocess.run(
        [sys.executable, "-m", "otelcap.cli", *args, "--format", "json"],
        capture_output=True, text=True, env=env, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


@pytest.mark.slow
def test_serve_and_export_create_private_files(tmp_path: Path, umask_022: None) -> None:
    home = tmp_path / "home"  # the user's own directory: otelcap leaves its mode alone
    home.mkdir()
    home.chmod(0o755)
    data = home / "new" / "data"  # neither exists: otelcap makes both
    db = home / "dbs" / "team" / "claude.duckdb"
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(data),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
    }
    proc, grpc_port, http_port = _serve(["--db", str(db)], env)
    try:
        for _ in recordings.replay(
            "toolfail-grpc", f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
        ):
            pass
        assert Path(f"{db}.wal").exists()  # the WAL, while serve holds the file
        assert list((data / "servers").glob("*.json")) and (data / "privacy.key").exists()
        while_serving = _not_private(home)
        live = _cli("export", str(home / "bundles" / "live"), "--db", str(db), env=env)
        assert live["tables"]["otel_logs"]["rows"] > 0  # type: ignore[index]
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    direct = _cli("export", str(home / "bundles" / "direct"), "--db", str(db), env=env)
    assert direct["tables"]["otel_logs"]["rows"] > 0  # type: ignore[index]
    assert (home / "bundles" / "direct" / "manifest.json").exists()
    assert while_serving == []
    assert _not_private(home) == []
    assert stat.S_IMODE(home.stat().st_mode) == 0o755


@pytest.mark.slow
def test_the_spool_is_private(tmp_path: Path, umask_022: None) -> None:
    import socket

    with socket.socket() as s:  # a port nobody listens on: ClickHouse is away
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    data = tmp_path / "a" / "data"
    env = {
        **os.environ,
        "OTELCAP_DATA_DIR": str(data),
        "OTELCAP_CONFIG": str(tmp_path / "absent.toml"),
    }
    proc, grpc_port, http_port = _serve(
        ["--backend", "clickhouse", "--clickhouse-url", f"http://127.0.0.1:{port}/otel"], env
    )
    try:
        for _ in recordings.replay(
            "baseline-grpc", f"127.0.0.1:{grpc_port}", f"http://127.0.0.1:{http_port}"
        ):
            pass
    finally:
        proc.send_signal(signal.SIGKILL)  # the spool stays as it is
        proc.communicate(timeout=30)
    assert list((data / "spool").glob("*.arrows"))
    assert _not_private(tmp_path) == []


def test_in_process_service_and_export_are_private(tmp_path: Path, umask_022: None) -> None:
    """The Service and export_bundle as a library, not through the command line."""
    db = tmp_path / "x" / "claude.duckdb"
    svc = Service(make_config(tmp_path, db_path=db))
    svc.start()
    try:
        for _ in recordings.replay(
            "toolfail-grpc", f"127.0.0.1:{svc.endpoints.grpc_port}", svc.endpoints.http_url
        ):
            pass
        assert Path(f"{db}.wal").exists()
        assert _not_private(tmp_path) == []
    finally:
        svc.stop()
    os.umask(0o022)  # a library caller's own umask: export's files are private anyway
    export.export_bundle(make_config(tmp_path, db_path=db), tmp_path / "out" / "bundle")
    assert _not_private(tmp_path) == []

"""kill -9 under continuous ingest: every acknowledged request survives the restart."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import duckdb
import grpc
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

import recordings

TEMPLATE = ExportLogsServiceRequest.FromString(
    next(r for r in recordings.load("tools-grpc") if r.signal == "logs").body
)


def _request(marker: str) -> bytes:
    req = ExportLogsServiceRequest()
    req.CopyFrom(TEMPLATE)
    for rl in req.resource_logs:
        for sl in rl.scope_logs:
            for rec in sl.log_records:
                rec.body.string_value = marker
    return req.SerializeToString()


RECORDS_PER_REQUEST = sum(
    len(sl.log_records) for rl in TEMPLATE.resource_logs for sl in rl.scope_logs
)


def _start(db: Path, data: Path) -> tuple[subprocess.Popen[str], int]:
    env = {**os.environ, "OTELCAP_DATA_DIR": str(data), "OTELCAP_FLUSH_INTERVAL_MS": "5"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "otelcap.cli", "serve", "--db", str(db),
         "--grpc-port", "0", "--http-port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
    )  # fmt: skip
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        m = re.search(r"gRPC\s+127\.0\.0\.1:(\d+)", line)
        if m:
            return proc, int(m.group(1))
    proc.kill()
    raise AssertionError("otelcap serve did not print its gRPC port")


def test_kill_9_keeps_every_acknowledged_request(tmp_path: Path) -> None:
    db = tmp_path / "crash.duckdb"
    proc, port = _start(db, tmp_path / "data")
    acked: list[str] = []
    stop = threading.Event()

    def sender(worker: int) -> None:
        n = 0
        with grpc.insecure_channel(f"127.0.0.1:{port}") as ch:
            call = ch.unary_unary(recordings.GRPC_METHOD["logs"])
            while not stop.is_set():
                marker = f"crash-{worker}-{n}"
                n += 1
                try:
                    call(_request(marker), timeout=5)
                except grpc.RpcError:
                    return  # the server died under us: this request was never acknowledged
                acked.append(marker)

    threads = [threading.Thread(target=sender, args=(w,)) for w in range(4)]
    for t in threads:
        t.start()
    deadline = time.monotonic() + 30
    while len(acked) < 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    stop.set()
    for t in threads:
        t.join(10)
    assert len(acked) >= 200, "too few requests were acknowledged before the kill"

    # Restart the server on the same file (WAL replay), then stop it cleanly.
    proc2, _ = _start(db, tmp_path / "data")
    proc2.send_signal(signal.SIGTERM)
    assert proc2.wait(30) == 0
    with duckdb.connect(str(db), read_only=True) as con:
        stored = dict(con.execute("SELECT Body, count(*) FROM otel_logs GROUP BY Body").fetchall())
    missing = [m for m in acked if stored.get(m) != RECORDS_PER_REQUEST]
    assert missing == []
    # A request is all or nothing: no marker is stored partially.
    assert all(n == RECORDS_PER_REQUEST for n in stored.values())

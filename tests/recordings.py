"""The recorded Claude Code sessions (tests/fixtures/claude-code; its README says how they were
recorded) and a replayer that sends each recorded body over the protocol it was recorded with."""

from __future__ import annotations

import gzip
import json
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

ROOT = Path(__file__).parent / "fixtures" / "claude-code"
GRPC_METHOD = {
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "traces": "/opentelemetry.proto.collector.trace.v1.TraceService/Export",
}


@dataclass(frozen=True)
class Request:
    seq: int
    signal: str
    protocol: str  # grpc | http-protobuf | http-json
    body: bytes  # decompressed body as the client serialized it
    wire: bytes  # what went on the wire (gzip when the client compressed)
    headers: dict[str, str]
    grpc_compressed: bool
    counts: dict[str, int]

    @property
    def items(self) -> int:
        """Log records, spans, or data points: what becomes rows."""
        return self.counts["points"] if self.signal == "metrics" else self.counts["items"]


def scenarios() -> list[str]:
    return sorted(p.name for p in ROOT.iterdir() if p.is_dir())


def load(scenario: str) -> list[Request]:
    d = ROOT / scenario / "otlp"
    compressed: set[str] = set()
    wire_log = d / "grpc_wire.jsonl"
    if wire_log.exists():
        for line in wire_log.read_text().splitlines():
            ev = json.loads(line)
            for m in ev.get("grpc_messages", []):
                if m.get("compressed_flag"):
                    compressed.add(m["sha256_uncompressed"])
    out = []
    for line in (d / "requests.jsonl").read_text().splitlines():
        r = json.loads(line)
        body = (d / r["file"]).read_bytes()
        gz = d / (r["file"] + ".gz")
        wire = gz.read_bytes() if gz.exists() else body
        out.append(
            Request(
                seq=r["seq"],
                signal=r["signal"],
                protocol=r["protocol"],
                body=body,
                wire=wire,
                headers=r.get("headers") or {},
                grpc_compressed=r["sha256"] in compressed,
                counts=r["counts"],
            )
        )
    return out


def results(scenario: str) -> list[dict[str, Any]]:
    """Claude Code's own --output-format json results (a list per process)."""
    r = json.loads((ROOT / scenario / "result.json").read_text())
    return r if isinstance(r, list) else [r]


def send(req: Request, grpc_target: str, http_base: str) -> Any:
    """Send one recorded request the way it was recorded; return the decoded response
    (bytes for gRPC, (status, body) for HTTP)."""
    if req.protocol == "grpc":
        with grpc.insecure_channel(grpc_target) as ch:
            call = ch.unary_unary(GRPC_METHOD[req.signal])
            compression = grpc.Compression.Gzip if req.grpc_compressed else None
            return call(req.body, timeout=30, compression=compression)
    headers = {
        "Content-Type": req.headers.get("Content-Type", "application/x-protobuf"),
    }
    if req.headers.get("Content-Encoding"):
        headers["Content-Encoding"] = req.headers["Content-Encoding"]
    data = req.wire if "Content-Encoding" in headers else req.body
    if headers.get("Content-Encoding") == "gzip" and data is req.body:
        data = gzip.compress(req.body)
    http_req = urllib.request.Request(
        f"{http_base}/v1/{req.signal}", data=data, headers=headers, method="POST"
    )
    with urllib.request.urlopen(http_req, timeout=30) as resp:
        return resp.status, resp.read()


def replay(scenario: str, grpc_target: str, http_base: str) -> Iterator[tuple[Request, Any]]:
    for req in load(scenario):
        yield req, send(req, grpc_target, http_base)

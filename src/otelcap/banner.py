"""What `otelcap serve` prints on start: where it listens, where data goes, and the
environment that points Claude Code at it for each protocol."""

from __future__ import annotations

from pathlib import Path


def claude_env(host: str, grpc_port: int, http_port: int, protocol: str) -> list[str]:
    """Environment lines for Claude Code. protocol: grpc | http/protobuf | http/json."""
    port = grpc_port if protocol == "grpc" else http_port
    return [
        "CLAUDE_CODE_ENABLE_TELEMETRY=1",
        "OTEL_METRICS_EXPORTER=otlp",
        "OTEL_LOGS_EXPORTER=otlp",
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol}",
        f"OTEL_EXPORTER_OTLP_ENDPOINT=http://{host}:{port}",
    ]


def render(host: str, grpc_port: int, http_port: int, database: Path | str, backend: str) -> str:
    env = "\n".join(f"  export {line}" for line in claude_env(host, grpc_port, http_port, "grpc"))
    return (
        f"otelcap is receiving OTLP\n"
        f"  gRPC  {host}:{grpc_port}\n"
        f"  HTTP  http://{host}:{http_port}/v1/{{logs,metrics,traces}}\n"
        f"  data  {database} ({backend})\n"
        f"\nPoint Claude Code at it (gRPC shown; for HTTP use "
        f"OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf or http/json and port {http_port}):\n"
        f"{env}\n"
        f"\nCtrl-C stops it after flushing what it has received."
    )

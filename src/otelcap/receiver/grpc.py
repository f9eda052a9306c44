"""OTLP/gRPC receiver: LogsService, MetricsService and TraceService `Export`.

Handlers take the raw request bytes (no deserializer) so each message is decoded exactly
once, by the same code path the HTTP receiver uses. They inflate gzip and deflate themselves,
with the HTTP receiver's size and ratio caps (see `_inflate`).
"""

from __future__ import annotations

import logging
import os
from concurrent import futures
from typing import Any

# grpc's C core logs through absl straight to file descriptor 2, not to Python logging, so a
# gRPC port that cannot be bound printed "E1202 03:51:47.768095 10686 add_port.cc:83] Failed
# to add port to server: ..." above otelcap's own message saying the same. Read when grpc is
# imported: set before it. A user who wants those logs sets GRPC_VERBOSITY (e.g. debug).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc

from otelcap.config import Config
from otelcap.errors import BadRequest, ConfigError, Overloaded, PayloadTooLarge, StoreUnavailable
from otelcap.receiver.decode import decompress, response
from otelcap.receiver.sink import Sink, count_request
from otelcap.selfmetrics import Registry

log = logging.getLogger(__name__)


def _status_for(exc: Exception) -> tuple[grpc.StatusCode, str]:
    if isinstance(exc, BadRequest):
        return grpc.StatusCode.INVALID_ARGUMENT, "invalid"
    if isinstance(exc, PayloadTooLarge):
        return grpc.StatusCode.RESOURCE_EXHAUSTED, "too_large"
    if isinstance(exc, Overloaded):
        # UNAVAILABLE is retryable without RetryInfo (OTLP spec, gRPC failures).
        return grpc.StatusCode.UNAVAILABLE, "overloaded"
    if isinstance(exc, StoreUnavailable):
        return grpc.StatusCode.UNAVAILABLE, "store_unavailable"
    return grpc.StatusCode.INTERNAL, "internal_error"


# Calls in progress (running or waiting for a worker) past which grpcio answers
# RESOURCE_EXHAUSTED at once, before reading the message, instead of queueing without bound.
# A queued call holds no worker and no message yet (grpcio reads it in the worker). Calls
# in progress are about rate x commit wait: ~300 requests/s (64 gRPC clients of 5-record
# requests on 2 cores) waiting up to the 100 ms flush interval is ~30, so 4 per worker (128)
# leaves 4x headroom. grpcio's
# refusal carries no RetryInfo: the Python SDK exporter retries it, OTLP's rule only with it.
CALLS_PER_WORKER = 4
# Calls one connection may have open at once; the client queues the next ones itself (HTTP/2
# SETTINGS_MAX_CONCURRENT_STREAMS), not an error. Half the 32 workers: no single connection
# can hold every worker. Claude Code has 1-3 exports in flight per process.
STREAMS_PER_CONNECTION = 16
# After max_connection_age a connection gets GOAWAY and its calls this long to finish before
# it is closed: more than the 30 s a call may wait for its commit, so a call that is being
# stored is not cut off (and retried, and stored twice).
AGE_GRACE_S = 35
# A connection must complete its HTTP/2 handshake within this (grpc's default is 120 s), as an
# HTTP request must arrive within http_read_timeout_s.
HANDSHAKE_TIMEOUT_S = 10

SERVICES = {
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
}


def _inflate(data: bytes, config: Config) -> bytes:
    """Inflate a message grpcio left compressed, under the same caps as an HTTP body.

    grpcio's own decompression (turned off, see GrpcReceiver) capped only the inflated size,
    so an 8 KiB message inflating 1,000x to 8 MiB went through while HTTP refuses past 200x.
    grpcio hands the handler neither the grpc-encoding header nor the message's compressed
    flag, and a client sends a message uncompressed when compressing would not shrink it, so
    the format is told by its header: gzip (1f 8b) or zlib (78, header checksum), which is
    what grpc's "deflate" sends. Neither can begin a real Export request: 0x1f is wire type
    7, which does not exist, and 0x78 would be field 15, which no Export request has."""
    if data[:2] == b"\x1f\x8b":
        encoding = "gzip"
    elif len(data) >= 2 and data[0] == 0x78 and (data[0] << 8 | data[1]) % 31 == 0:
        encoding = "deflate"
    else:
        encoding = "identity"
    return decompress(data, encoding, config.max_body_bytes, config.max_decompression_ratio)


def _handler(signal: str, sink: Sink, metrics: Registry, config: Config) -> Any:
    def export(data: bytes, context: grpc.ServicerContext) -> bytes:
        try:
            body = _inflate(data, config)
            with sink.hold(len(body)):
                result = sink(signal, body)  # the model decodes (and validates) the bytes
        except Exception as exc:
            code, outcome = _status_for(exc)
            count_request(metrics, signal, "grpc", outcome)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("unexpected error handling a %s export", signal)
            context.abort(code, str(exc))
        count_request(metrics, signal, "grpc", "ok", result)
        return response(signal, result.rejected, result.reason).SerializeToString()

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=None
    )


def _connection_limits(config: Config) -> list[tuple[str, int]]:
    options = [
        ("grpc.max_concurrent_streams", STREAMS_PER_CONNECTION),
        ("grpc.server_handshake_timeout_ms", HANDSHAKE_TIMEOUT_S * 1000),
    ]
    if config.grpc_idle_timeout_s:  # 0: never
        options.append(("grpc.max_connection_idle_ms", config.grpc_idle_timeout_s * 1000))
    if config.grpc_max_connection_age_s:  # 0: never
        # grpcio reads a call's message in its worker and waits for it without a deadline,
        # so a client that never finishes sending would hold that worker forever; closing
        # every connection at this age (and AGE_GRACE_S later) bounds it. Clients reconnect
        # at a GOAWAY without failing a call.
        options.append(("grpc.max_connection_age_ms", config.grpc_max_connection_age_s * 1000))
        options.append(("grpc.max_connection_age_grace_ms", AGE_GRACE_S * 1000))
    return options


class GrpcReceiver:
    def __init__(self, config: Config, sink: Sink, metrics: Registry) -> None:
        self.config = config
        self._server = grpc.server(
            futures.ThreadPoolExecutor(
                max_workers=config.grpc_workers, thread_name_prefix="otelcap-grpc"
            ),
            maximum_concurrent_rpcs=CALLS_PER_WORKER * max(1, config.grpc_workers),
            options=[
                *_connection_limits(config),
                ("grpc.max_receive_message_length", config.max_body_bytes),
                # Hand compressed messages to the handler as they came: `_inflate` applies the
                # ratio cap that grpcio's decompression does not have.
                ("grpc.per_message_decompression", 0),
                ("grpc.so_reuseport", 0),  # a taken port must fail loudly, not be shared
            ],
        )
        self._server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    svc, {"Export": _handler(sig, sink, metrics, config)}
                )
                for sig, svc in SERVICES.items()
            ]
        )
        address = f"{config.host}:{config.grpc_port}"
        try:
            self.port = self._server.add_insecure_port(address)
        except RuntimeError:
            self.port = 0
        if self.port == 0:
            raise ConfigError(
                f"cannot listen for gRPC on {address}: the port is in use or the address is "
                "not local. Stop the other program or pass --grpc-port (0 picks a free port)."
            )

    def start(self) -> None:
        self._server.start()

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting; let in-flight exports finish (they wait on their commit)."""
        self._server.stop(grace_s).wait()

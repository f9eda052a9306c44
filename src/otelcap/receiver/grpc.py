"""OTLP/gRPC receiver: LogsService, MetricsService and TraceService `Export`.

Handlers take the raw request bytes (no deserializer) so each message is decoded exactly
once, by the same code path the HTTP receiver uses. They inflate gzip and deflate themselves,
with the HTTP receiver's size and ratio caps (see `_inflate`).

The server is grpcio's asyncio one, on an event loop thread of its own: a call hands its
request to the sink and awaits its answer, holding no thread while it waits for the commit.
grpcio's thread-pool server moved each call between its poller thread and a worker several
times, and kept a worker blocked per call until the commit: with 64 clients of 5-record
requests on 2 cores, 32 workers capped the requests in one flush at ~31 and thread switches
took ~35% of the server's time (perf). The loop does no conversion (the sink's converter
thread does) and inflates only small messages itself; larger ones are inflated in a thread.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
from collections.abc import Coroutine
from typing import Any, TypeVar

# grpc's C core logs through absl straight to file descriptor 2, not to Python logging, so a
# gRPC port that cannot be bound printed "E1202 03:51:47.768095 10686 add_port.cc:83] Failed
# to add port to server: ..." above otelcap's own message saying the same. Read when grpc is
# imported: set before it. A user who wants those logs sets GRPC_VERBOSITY (e.g. debug).
os.environ.setdefault("GRPC_VERBOSITY", "NONE")

import grpc

from otelcap.config import Config
from otelcap.errors import BadRequest, ConfigError, Overloaded, PayloadTooLarge, StoreUnavailable
from otelcap.receiver.decode import decompress, response
from otelcap.receiver.sink import IngestResult, Sink, count_request
from otelcap.selfmetrics import Registry

log = logging.getLogger(__name__)
T = TypeVar("T")


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


# Calls in progress (from their first byte to their answer) past which grpcio answers
# RESOURCE_EXHAUSTED at once, before reading the message, instead of taking calls without
# bound; `grpc_workers` x 4 (128 by default). A call waiting for its commit holds no thread,
# only its message and rows. Calls in progress are about rate x latency: 64 gRPC clients of
# 5-record requests keep 64 in progress (~600-900 requests/s on 2 shared cores, 60-110 ms
# each), so 128 leaves 2x headroom for bursts. grpcio's
# refusal carries no RetryInfo: the Python SDK exporter retries it, OTLP's rule only with it.
CALLS_PER_WORKER = 4
# Calls one connection may have open at once; the client queues the next ones itself (HTTP/2
# SETTINGS_MAX_CONCURRENT_STREAMS), not an error. An eighth of the 128 calls in progress: no
# single connection can hold them all. Claude Code has 1-3 exports in flight per process.
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


# Messages up to this size are inflated on the event loop (~0.1 ms for a 64 KiB gzip body);
# a larger one, up to max_body_bytes (16 MiB, ~50 ms), in a thread, so it does not stall
# every other call meanwhile.
INLINE_INFLATE_BYTES = 64 * 1024


def _handler(signal: str, sink: Sink, metrics: Registry, config: Config, settle: _Settler) -> Any:
    async def export(data: bytes, context: grpc.aio.ServicerContext) -> bytes:
        try:
            if len(data) <= INLINE_INFLATE_BYTES:
                body = _inflate(data, config)
            else:
                body = await asyncio.get_running_loop().run_in_executor(
                    None, _inflate, data, config
                )
            with sink.hold(len(body)):
                result = await _stored(sink, signal, body, settle)  # the model decodes the bytes
        except Exception as exc:
            code, outcome = _status_for(exc)
            count_request(metrics, signal, "grpc", outcome)
            if code is grpc.StatusCode.INTERNAL:
                log.exception("unexpected error handling a %s export", signal)
            await context.abort(code, str(exc))
            raise  # not reached: abort raises
        count_request(metrics, signal, "grpc", "ok", result)
        return response(signal, result.rejected, result.reason).SerializeToString()

    return grpc.unary_unary_rpc_method_handler(
        export, request_deserializer=None, response_serializer=None
    )


class _Settler:
    """Hands answers from the sink's threads to the event loop, a burst at a time.

    The writer answers every request of a flush in a row (~60 with 64 clients), and each
    `call_soon_threadsafe` writes to the loop's wake-up pipe and queues a handle of its
    own; here the first answer of a burst schedules one drain, the others join it."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._lock = threading.Lock()
        self._pending: list[_Answer] = []
        self._scheduled = False

    def __call__(
        self,
        answer: asyncio.Future[IngestResult],
        result: IngestResult | None,
        error: BaseException | None,
    ) -> None:
        with self._lock:
            self._pending.append((answer, result, error))
            if self._scheduled:
                return
            self._scheduled = True
        try:
            self._loop.call_soon_threadsafe(self._drain)
        except RuntimeError:  # the loop is closed: nobody waits for these answers any more
            with self._lock:
                self._scheduled = False
                self._pending.clear()
            raise

    def _drain(self) -> None:
        with self._lock:
            pending, self._pending = self._pending, []
            self._scheduled = False
        for answer, result, error in pending:
            _settle(answer, result, error)


_Answer = tuple["asyncio.Future[IngestResult]", IngestResult | None, BaseException | None]


async def _stored(sink: Sink, signal: str, body: bytes, settle: _Settler) -> IngestResult:
    """Submit the request to the sink and wait, without a thread, for its answer."""
    loop = asyncio.get_running_loop()
    answer: asyncio.Future[IngestResult] = loop.create_future()

    def reply(result: IngestResult | None, error: BaseException | None) -> None:
        settle(answer, result, error)  # from the sink's threads

    sink.submit(signal, body, reply)
    expiry = loop.call_later(sink.commit_timeout_s, _expire, answer)
    try:
        return await answer
    finally:
        expiry.cancel()


def _settle(
    answer: asyncio.Future[IngestResult], result: IngestResult | None, error: BaseException | None
) -> None:
    if answer.done():  # expired, or the client cancelled the call
        return
    if error is not None:
        answer.set_exception(error)
    else:
        answer.set_result(result)  # type: ignore[arg-type]


def _expire(answer: asyncio.Future[IngestResult]) -> None:
    if not answer.done():
        # The commit may still happen, so the client's retry may store the rows twice;
        # answering nothing would make it retry all the same.
        answer.set_exception(StoreUnavailable("timed out waiting for the database to commit"))


def _connection_limits(config: Config) -> list[tuple[str, int]]:
    options = [
        ("grpc.max_concurrent_streams", STREAMS_PER_CONNECTION),
        ("grpc.server_handshake_timeout_ms", HANDSHAKE_TIMEOUT_S * 1000),
    ]
    if config.grpc_idle_timeout_s:  # 0: never
        options.append(("grpc.max_connection_idle_ms", config.grpc_idle_timeout_s * 1000))
    if config.grpc_max_connection_age_s:  # 0: never
        # grpcio waits for a call's message without a deadline, so a client that never
        # finishes sending would hold one of the calls in progress forever; closing
        # every connection at this age (and AGE_GRACE_S later) bounds it. Clients reconnect
        # at a GOAWAY without failing a call.
        options.append(("grpc.max_connection_age_ms", config.grpc_max_connection_age_s * 1000))
        options.append(("grpc.max_connection_age_grace_ms", AGE_GRACE_S * 1000))
    return options


class GrpcReceiver:
    def __init__(self, config: Config, sink: Sink, metrics: Registry) -> None:
        self.config = config
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(
            target=self._loop.run_forever, name="otelcap-grpc", daemon=True
        )
        self._thread.start()
        address = f"{config.host}:{config.grpc_port}"
        try:
            self.port = self._run(self._create(address, sink, metrics))
        except BaseException:
            self._close_loop()
            raise
        if self.port == 0:
            self._close_loop()
            raise ConfigError(
                f"cannot listen for gRPC on {address}: the port is in use or the address is "
                "not local. Stop the other program or pass --grpc-port (0 picks a free port)."
            )

    async def _create(self, address: str, sink: Sink, metrics: Registry) -> int:
        # grpcio's asyncio server belongs to the loop it is made on: this one's.
        self._server = grpc.aio.server(
            maximum_concurrent_rpcs=CALLS_PER_WORKER * max(1, self.config.grpc_workers),
            options=[
                *_connection_limits(self.config),
                ("grpc.max_receive_message_length", self.config.max_body_bytes),
                # Hand compressed messages to the handler as they came: `_inflate` applies the
                # ratio cap that grpcio's decompression does not have.
                ("grpc.per_message_decompression", 0),
                ("grpc.so_reuseport", 0),  # a taken port must fail loudly, not be shared
            ],
        )
        settle = _Settler(asyncio.get_running_loop())
        self._server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    svc, {"Export": _handler(sig, sink, metrics, self.config, settle)}
                )
                for sig, svc in SERVICES.items()
            ]
        )
        try:
            return self._server.add_insecure_port(address)
        except RuntimeError:
            return 0

    def _run(self, coro: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result()

    def start(self) -> None:
        self._run(self._server.start())

    def stop(self, grace_s: float = 10.0) -> None:
        """Stop accepting; let in-flight exports finish (they wait on their commit)."""
        if self._loop.is_closed():
            return
        self._run(self._server.stop(grace_s))
        self._close_loop()

    def _close_loop(self) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()
        self._loop.close()

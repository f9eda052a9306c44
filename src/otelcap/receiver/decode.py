"""Wire bytes → decoded OTLP request, and OTLP responses back to bytes.

Shared by both receivers: decompression with size and ratio caps, protobuf and the OTLP/JSON
mapping (lowerCamelCase keys, trace/span ids as hex rather than proto3-JSON base64, 64-bit
integers as strings or numbers, enums as integers).
"""

from __future__ import annotations

import base64
import binascii
import json
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2

from otelcap.errors import BadRequest, PayloadTooLarge
from otelcap.model import anyvalue
from otelcap.model.wire import REQUEST

PbRequest = REQUEST  # the model's table of request classes, one per signal
PbResponse: dict[str, Any] = {
    "logs": logs_service_pb2.ExportLogsServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "traces": trace_service_pb2.ExportTraceServiceResponse,
}
# partial_success field holding the rejected count, per signal
REJECTED_FIELD = {
    "logs": "rejected_log_records",
    "metrics": "rejected_data_points",
    "traces": "rejected_spans",
}
_ID_KEYS = ("traceId", "spanId", "parentSpanId")
# AnyValue fields that hold AnyValues; json_format takes either spelling.
_NESTING_KEYS = ("arrayValue", "kvlistValue", "array_value", "kvlist_value")


def decompress(data: bytes, encoding: str, max_bytes: int, max_ratio: int) -> bytes:
    """Inflate gzip/deflate incrementally, refusing bodies over max_bytes or max_ratio."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        if len(data) > max_bytes:
            raise PayloadTooLarge(f"body is {len(data)} bytes; the limit is {max_bytes}")
        return data
    if encoding not in ("gzip", "deflate", "x-gzip"):
        raise BadRequest(f"unsupported Content-Encoding {encoding!r}; use gzip, deflate or none")
    limit = min(max_bytes, max(len(data), 1) * max_ratio)
    wbits = zlib.MAX_WBITS | 16 if encoding in ("gzip", "x-gzip") else zlib.MAX_WBITS
    try:
        return _inflate(data, wbits, limit, max_bytes)
    except zlib.error:
        if encoding != "deflate":
            raise BadRequest("body is not valid gzip") from None
    try:  # some clients send raw deflate without the zlib header
        return _inflate(data, -zlib.MAX_WBITS, limit, max_bytes)
    except zlib.error:
        raise BadRequest("body is not valid deflate data") from None


def _inflate(data: bytes, wbits: int, limit: int, max_bytes: int) -> bytes:
    out = bytearray()
    remaining = data
    while remaining:
        d = zlib.decompressobj(wbits)
        chunk = d.decompress(remaining, limit - len(out) + 1)
        out += chunk
        if len(out) > limit or d.unconsumed_tail:
            what = "the size limit" if limit == max_bytes else "the decompression ratio cap"
            raise PayloadTooLarge(f"decompressed body exceeds {what} ({limit} bytes)")
        if not d.eof:
            raise zlib.error("truncated stream")
        remaining = d.unused_data  # gzip allows several members back to back
        if wbits < 0 or not (wbits & 16):
            break
    return bytes(out)


def _prepare(doc: Any) -> None:
    """OTLP/JSON sends ids as hex; proto3 JSON expects base64: convert in place. And refuse
    AnyValues nested past anyvalue.MAX_DEPTH, as the model does for protobuf, before
    json_format recurses into them. Iterative: the body may nest deeper than Python's stack."""
    stack: list[tuple[Any, int]] = [(doc, 0)]  # (node, arrays/kvlists around it)
    while stack:
        node, nests = stack.pop()
        if isinstance(node, list):
            stack.extend((v, nests) for v in node if isinstance(v, (dict, list)))
            continue
        for k, v in node.items():
            if k in _ID_KEYS and isinstance(v, str):
                try:
                    node[k] = base64.b64encode(bytes.fromhex(v)).decode("ascii")
                except ValueError:
                    raise BadRequest(f"{k} {v!r} is not hex") from None
            elif k in _NESTING_KEYS and isinstance(v, dict):
                # An AnyValue inside `nests` arrays/kvlists is at level nests + 1; the values
                # of this one are a level deeper.
                if nests + 2 > anyvalue.MAX_DEPTH and v.get("values"):
                    raise anyvalue.too_deep()
                stack.append((v, nests + 1))
            elif isinstance(v, (dict, list)):
                stack.append((v, nests))


def parse_json(signal: str, data: bytes) -> Any:
    try:
        doc = json.loads(data)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise BadRequest(f"body is not valid JSON: {exc}") from None
    except RecursionError:
        raise BadRequest(
            "JSON body nests deeper than Python's parser allows (about 1,000 levels); "
            f"attribute values may nest at most {anyvalue.MAX_DEPTH} levels"
        ) from None
    if not isinstance(doc, dict):
        raise BadRequest("OTLP/JSON body must be a JSON object")
    _prepare(doc)
    msg = PbRequest[signal]()
    try:
        # Receivers must ignore unknown fields (OTLP specification, JSON encoding).
        json_format.ParseDict(doc, msg, ignore_unknown_fields=True)
    except (json_format.ParseError, binascii.Error, ValueError, TypeError) as exc:
        raise BadRequest(f"body is not a valid OTLP {signal} JSON message: {exc}") from None
    return msg


def response(signal: str, rejected: int = 0, reason: str = "") -> Message:
    resp = PbResponse[signal]()
    if rejected or reason:
        ps = resp.partial_success
        setattr(ps, REJECTED_FIELD[signal], rejected)
        ps.error_message = reason
    return resp


def to_json(msg: Message) -> bytes:
    return json.dumps(json_format.MessageToDict(msg)).encode()

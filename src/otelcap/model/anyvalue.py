"""Nested AnyValue messages → JSON-compatible Python values.

Used for the parts ptars leaves serialized (values inside arrays and kvlists); they are
stored as JSON text in the attribute maps, bytes as base64 as the Collector does.

AnyValues nest (an array or kvlist holds AnyValues) and nothing in OTLP bounds how deep.
otelcap refuses more than MAX_DEPTH levels, over protobuf and JSON alike: Claude Code sends
at most 2 (an array attribute), and 32 levels keep every accepted value within protobuf's own
recursion limit of 100 messages whatever the mix (a kvlist level costs 3 messages: AnyValue,
KeyValueList, KeyValue; an array level 2), and within Python's recursion limit of 1,000 when
rendered as JSON. Past it upb raised DecodeError and Python's json RecursionError, both
answered 500, and one such request failed every request converted with it.
"""

from __future__ import annotations

import base64
import math
from typing import Any

from google.protobuf.message import DecodeError
from opentelemetry.proto.common.v1 import common_pb2

from otelcap.errors import BadRequest

MAX_DEPTH = 32  # AnyValue levels: a plain string attribute or body is 1, a kvlist of them 2

# The protobuf fields through which AnyValues nest: (message, field number) → message inside.
_ANY, _ARRAY, _KVLIST, _KV = range(4)
_NESTS = {
    (_ANY, 5): _ARRAY, (_ANY, 6): _KVLIST, (_ARRAY, 1): _ANY, (_KVLIST, 1): _KV, (_KV, 2): _ANY,
}  # fmt: skip


def too_deep() -> BadRequest:
    return BadRequest(
        f"an attribute value or body nests AnyValues more than {MAX_DEPTH} levels deep "
        f"(arrays and kvlists inside each other); the nesting limit is {MAX_DEPTH}"
    )


def check_depth(data: bytes, depth: int, kv: bool = False) -> None:
    """Raise BadRequest if serialized AnyValue `data`, at nesting level `depth`, holds
    AnyValues deeper than MAX_DEPTH; with `kv`, `data` is a KeyValue of a kvlist at level
    `depth` (its value is at depth + 1). Walks only the tags, without recursion, so a value
    nested a million levels deep costs no stack."""
    if depth > MAX_DEPTH:
        raise too_deep()
    view = memoryview(data)
    stack = [(0, len(data), _KV if kv else _ANY, depth)]
    while stack:
        pos, end, kind, level = stack.pop()
        while pos < end:
            tag, pos = _varint(view, pos)
            wire_type = tag & 7
            if wire_type == 0:
                _, pos = _varint(view, pos)
            elif wire_type == 1:
                pos += 8
            elif wire_type == 5:
                pos += 4
            elif wire_type == 2:
                size, pos = _varint(view, pos)
                inner = _NESTS.get((kind, tag >> 3))
                if inner is not None:
                    inner_level = level + 1 if inner == _ANY else level
                    if inner_level > MAX_DEPTH:
                        raise too_deep()
                    stack.append((pos, min(pos + size, end), inner, inner_level))
                pos += size
            else:
                return  # not valid protobuf: upb says so when it parses the value


def _varint(view: memoryview, pos: int) -> tuple[int, int]:
    result = shift = 0
    while pos < len(view):
        b = view[pos]
        pos += 1
        result |= (b & 0x7F) << shift
        if not b & 0x80:
            return result, pos
        shift += 7
    return result, len(view) + 1  # truncated: ends every loop; upb reports the error


def parse(data: bytes, depth: int) -> Any:
    """Serialized AnyValue at nesting level `depth` → JSON-compatible Python value."""
    check_depth(data, depth)
    try:
        return to_python(common_pb2.AnyValue.FromString(data))
    except DecodeError:
        raise BadRequest("a nested attribute value is not a valid AnyValue message") from None


def parse_kv(data: bytes, depth: int) -> tuple[str, Any]:
    """Serialized KeyValue of a kvlist at nesting level `depth` → (key, Python value)."""
    check_depth(data, depth, kv=True)
    try:
        pb_kv = common_pb2.KeyValue.FromString(data)
    except DecodeError:
        raise BadRequest("a nested attribute is not a valid KeyValue message") from None
    return pb_kv.key, to_python(pb_kv.value)


def _json_double(d: float) -> Any:
    # JSON has no NaN/Infinity: keep them readable as strings inside arrays/kvlists.
    return d if math.isfinite(d) else repr(d)


def to_python(v: Any) -> Any:
    """AnyValue → JSON-compatible Python value (used inside arrays and kvlists)."""
    kind = v.WhichOneof("value")
    if kind == "string_value":
        return v.string_value
    if kind == "int_value":
        return v.int_value
    if kind == "bool_value":
        return v.bool_value
    if kind == "double_value":
        return _json_double(v.double_value)
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    if kind == "array_value":
        return [to_python(x) for x in v.array_value.values]
    if kind == "kvlist_value":
        return {kv.key: to_python(kv.value) for kv in v.kvlist_value.values}
    return None

"""AnyValue → the string stored in attribute maps.

Maps are Map(String, String) in the exporter layout, so every value kind is rendered as text:
bool as "true"/"false", numbers in their shortest round-trip form, bytes as base64 (as the
Collector does), arrays and kvlists as JSON text.
"""

from __future__ import annotations

import base64
import json
import math
from collections.abc import Iterable
from typing import Any


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


def to_str(v: Any) -> str:
    """AnyValue → text. An unset AnyValue is ''."""
    s = v.string_value
    if s:  # the common case first: Claude Code attributes are mostly strings
        return s
    kind = v.WhichOneof("value")
    if kind is None or kind == "string_value":
        return s
    if kind == "int_value":
        return str(v.int_value)
    if kind == "bool_value":
        return "true" if v.bool_value else "false"
    if kind == "double_value":
        return repr(v.double_value)
    if kind == "bytes_value":
        return base64.b64encode(v.bytes_value).decode("ascii")
    return json.dumps(to_python(v), separators=(",", ":"), ensure_ascii=False)


def attrs_dict(kvs: Iterable[Any]) -> dict[str, str]:
    """Repeated KeyValue → dict. A repeated key keeps its last value (DuckDB maps need
    unique keys; OTLP says keys must be unique but does not enforce it)."""
    return {kv.key: to_str(kv.value) for kv in kvs}

"""Nested AnyValue messages → JSON-compatible Python values.

Used for the parts ptars leaves serialized (values inside arrays and kvlists); they are
stored as JSON text in the attribute maps, bytes as base64 as the Collector does.
"""

from __future__ import annotations

import base64
import math
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

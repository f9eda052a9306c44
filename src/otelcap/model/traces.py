"""ExportTraceServiceRequest → otel_traces batch (span events and links as parallel lists)."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from otelcap.model.anyvalue import attrs_dict
from otelcap.model.columns import ListOfMapsColumn, MapColumn, build
from otelcap.model.schema import TRACES

# Names as the Collector's ptrace renders them, so exporter-written rows look the same.
SPAN_KIND = ["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"]
STATUS_CODE = ["Unset", "Ok", "Error"]


def convert(pb_request: Any) -> tuple[pa.RecordBatch, int, str]:
    c: dict[str, list[Any]] = {
        name: []
        for name in (
            "Timestamp", "TraceId", "SpanId", "ParentSpanId", "TraceState", "SpanName",
            "SpanKind", "ServiceName", "ScopeName", "ScopeVersion", "Duration", "StatusCode",
            "StatusMessage", "Events.Timestamp", "Events.Name", "Links.TraceId",
            "Links.SpanId", "Links.TraceState", "ResourceSchemaUrl", "ScopeSchemaUrl",
            "TraceFlags", "DroppedAttributesCount", "DroppedEventsCount", "DroppedLinksCount",
            "Events.DroppedAttributesCount", "Links.DroppedAttributesCount", "Links.Flags",
        )
    }  # fmt: skip
    res_attrs = MapColumn()
    scope_attrs = MapColumn()
    span_attrs = MapColumn()
    ev_attrs = ListOfMapsColumn()
    link_attrs = ListOfMapsColumn()
    rejected = 0
    reason = ""

    for pb_rs in pb_request.resource_spans:
        r_attrs = attrs_dict(pb_rs.resource.attributes)
        r_service = r_attrs.get("service.name", "")
        for pb_ss in pb_rs.scope_spans:
            s_attrs = attrs_dict(pb_ss.scope.attributes)
            for sp in pb_ss.spans:
                if len(sp.trace_id) != 16 or len(sp.span_id) != 8:
                    rejected += 1
                    reason = reason or (
                        f"span with an invalid trace_id ({len(sp.trace_id)} bytes, want 16) "
                        f"or span_id ({len(sp.span_id)} bytes, want 8)"
                    )
                    continue
                start = sp.start_time_unix_nano
                end = sp.end_time_unix_nano
                c["Timestamp"].append(start)
                c["TraceId"].append(sp.trace_id.hex())
                c["SpanId"].append(sp.span_id.hex())
                c["ParentSpanId"].append(sp.parent_span_id.hex())
                c["TraceState"].append(sp.trace_state)
                c["SpanName"].append(sp.name)
                kind = sp.kind
                c["SpanKind"].append(SPAN_KIND[kind] if 0 <= kind < 6 else str(kind))
                c["ServiceName"].append(r_service)
                c["ScopeName"].append(pb_ss.scope.name)
                c["ScopeVersion"].append(pb_ss.scope.version)
                c["Duration"].append(end - start if end >= start else 0)
                code = sp.status.code
                c["StatusCode"].append(STATUS_CODE[code] if 0 <= code < 3 else str(code))
                c["StatusMessage"].append(sp.status.message)
                c["Events.Timestamp"].append([e.time_unix_nano for e in sp.events])
                c["Events.Name"].append([e.name for e in sp.events])
                c["Events.DroppedAttributesCount"].append(
                    [e.dropped_attributes_count for e in sp.events]
                )
                ev_attrs.add([attrs_dict(e.attributes) for e in sp.events])
                c["Links.TraceId"].append([lk.trace_id.hex() for lk in sp.links])
                c["Links.SpanId"].append([lk.span_id.hex() for lk in sp.links])
                c["Links.TraceState"].append([lk.trace_state for lk in sp.links])
                c["Links.DroppedAttributesCount"].append(
                    [lk.dropped_attributes_count for lk in sp.links]
                )
                c["Links.Flags"].append([lk.flags for lk in sp.links])
                link_attrs.add([attrs_dict(lk.attributes) for lk in sp.links])
                c["ResourceSchemaUrl"].append(pb_rs.schema_url)
                c["ScopeSchemaUrl"].append(pb_ss.schema_url)
                c["TraceFlags"].append(sp.flags)
                c["DroppedAttributesCount"].append(sp.dropped_attributes_count)
                c["DroppedEventsCount"].append(sp.dropped_events_count)
                c["DroppedLinksCount"].append(sp.dropped_links_count)
                span_attrs.add(attrs_dict(sp.attributes))
                res_attrs.add(r_attrs)
                scope_attrs.add(s_attrs)

    n = len(c["Timestamp"])
    cols: dict[str, Any] = dict(c)
    cols.update(
        {
            "ResourceAttributes": res_attrs,
            "ScopeAttributes": scope_attrs,
            "SpanAttributes": span_attrs,
            "Events.Attributes": ev_attrs,
            "Links.Attributes": link_attrs,
        }
    )
    return build(TRACES, cols, n), rejected, reason

"""ExportLogsServiceRequest → otel_logs batch."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from otelcap.model.anyvalue import attrs_dict, to_str
from otelcap.model.columns import MapColumn, build
from otelcap.model.schema import LOGS


def _resource_fields(pb_resource: Any) -> tuple[dict[str, str], str]:
    attrs = attrs_dict(pb_resource.attributes)
    return attrs, attrs.get("service.name", "")


def convert(pb_request: Any) -> tuple[pa.RecordBatch, int, str]:
    """Returns (batch, rejected records, first rejection reason)."""
    ts: list[int] = []
    observed: list[int] = []
    trace_ids: list[str] = []
    span_ids: list[str] = []
    flags: list[int] = []
    sev_text: list[str] = []
    sev_num: list[int] = []
    service: list[str] = []
    body: list[str] = []
    res_url: list[str] = []
    scope_url: list[str] = []
    scope_name: list[str] = []
    scope_version: list[str] = []
    event_name: list[str] = []
    dropped: list[int] = []
    res_attrs = MapColumn()
    scope_attrs = MapColumn()
    log_attrs = MapColumn()
    rejected = 0
    reason = ""

    for pb_rl in pb_request.resource_logs:
        r_attrs, r_service = _resource_fields(pb_rl.resource)
        for pb_sl in pb_rl.scope_logs:
            pb_scope = pb_sl.scope
            s_attrs = attrs_dict(pb_scope.attributes)
            n_before = len(ts)
            for rec in pb_sl.log_records:
                tid = rec.trace_id
                sid = rec.span_id
                if (tid and len(tid) != 16) or (sid and len(sid) != 8):
                    rejected += 1
                    reason = reason or (
                        f"log record with a malformed trace_id ({len(tid)} bytes) "
                        f"or span_id ({len(sid)} bytes)"
                    )
                    continue
                t = rec.time_unix_nano
                obs = rec.observed_time_unix_nano
                # The exporter stores the observed time when the event time is unset.
                ts.append(t or obs)
                observed.append(obs)
                trace_ids.append(tid.hex())
                span_ids.append(sid.hex())
                flags.append(rec.flags & 0xFF)  # upper 24 bits are reserved by OTLP
                sev_text.append(rec.severity_text)
                sn = rec.severity_number
                sev_num.append(sn if 0 <= sn <= 255 else 0)  # open enum: out of range is unset
                body.append(to_str(rec.body))
                event_name.append(rec.event_name)
                dropped.append(rec.dropped_attributes_count)
                log_attrs.add(attrs_dict(rec.attributes))
            n = len(ts) - n_before
            if n:
                res_attrs.add_many(r_attrs, n)
                scope_attrs.add_many(s_attrs, n)
                service.extend([r_service] * n)
                res_url.extend([pb_rl.schema_url] * n)
                scope_url.extend([pb_sl.schema_url] * n)
                scope_name.extend([pb_scope.name] * n)
                scope_version.extend([pb_scope.version] * n)

    n = len(ts)
    batch = build(
        LOGS,
        {
            "Timestamp": ts,
            "TraceId": trace_ids,
            "SpanId": span_ids,
            "TraceFlags": flags,
            "SeverityText": sev_text,
            "SeverityNumber": sev_num,
            "ServiceName": service,
            "Body": body,
            "ResourceSchemaUrl": res_url,
            "ResourceAttributes": res_attrs,
            "ScopeSchemaUrl": scope_url,
            "ScopeName": scope_name,
            "ScopeVersion": scope_version,
            "ScopeAttributes": scope_attrs,
            "LogAttributes": log_attrs,
            "EventName": event_name,
            "ObservedTimestamp": observed,
            "DroppedAttributesCount": dropped,
            "WorkflowStep": [""] * n,
        },
        n,
    )
    return batch, rejected, reason

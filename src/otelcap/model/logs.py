"""ExportLogsServiceRequest bytes → otel_logs batch."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model import wire
from otelcap.model.schema import LOGS


def convert(payloads: list[bytes]) -> tuple[pa.RecordBatch, wire.Tally]:
    """Returns the batch and, per request, records kept and rejected."""
    res = wire.root(wire.decode("logs", payloads))
    scopes = res.child("scope_logs", "scope", this="resource")
    recs = scopes.child("log_records", "record", this="scope")

    # Ids must be 16/8 bytes or absent; a malformed one rejects its record (partial success).
    # The checks and the defaults below run in numpy: ptars leaves no scalar field null, and
    # each Arrow call costs ~10-20 µs however few the records.
    tid_len = pc.binary_length(recs.field("trace_id")).to_numpy()
    sid_len = pc.binary_length(recs.field("span_id")).to_numpy()
    ok = pa.array(((tid_len == 0) | (tid_len == 16)) & ((sid_len == 0) | (sid_len == 8)))
    tally = wire.Tally.count(
        recs.parents["request"], len(payloads), ok,
        "log record with a malformed trace_id (want 16 bytes) or span_id (want 8)",
    )  # fmt: skip
    rejected = sum(tally.rejected)
    values = recs.values if not rejected else pc.filter(recs.values, ok)
    if rejected:
        recs = wire.Level(values, {k: pc.filter(v, ok) for k, v in recs.parents.items()})

    resource = res.field("resource")
    scope = scopes.field("scope")
    r_attrs = wire.attrs_map(wire._field(resource, "attributes"))
    r_service = pc.fill_null(pc.map_lookup(r_attrs, "service.name", "first"), "")
    t = recs.field("time_unix_nano")
    observed = recs.field("observed_time_unix_nano")
    # The exporter stores the observed time when the event time is unset.
    ts = pc.if_else(pc.equal(t, 0), observed, t) if (t.to_numpy() == 0).any() else t
    sev = recs.field("severity_number")
    sev_np = sev.to_numpy()
    if len(sev_np) and (sev_np.min() < 0 or sev_np.max() > 255):
        sev = pc.if_else(pc.and_(pc.greater_equal(sev, 0), pc.less_equal(sev, 255)), sev, 0)
    n = len(recs)
    cols = {
        "Timestamp": wire.timestamps(ts),
        "TraceId": wire.hex_ids(recs.field("trace_id")),
        "SpanId": wire.hex_ids(recs.field("span_id")),
        "TraceFlags": pc.bit_wise_and(recs.field("flags"), 0xFF),  # upper bits reserved
        "SeverityText": wire.text(recs.field("severity_text")),
        "SeverityNumber": sev,
        "ServiceName": recs.up("resource", r_service),
        "Body": wire.anyvalue_text(recs.field("body")),
        "ResourceSchemaUrl": recs.up("resource", wire.text(res.field("schema_url"))),
        "ResourceAttributes": recs.up("resource", r_attrs),
        "ScopeSchemaUrl": recs.up("scope", wire.text(scopes.field("schema_url"))),
        "ScopeName": recs.up("scope", wire.text(wire._field(scope, "name"))),
        "ScopeVersion": recs.up("scope", wire.text(wire._field(scope, "version"))),
        "ScopeAttributes": recs.up("scope", wire.attrs_map(wire._field(scope, "attributes"))),
        "LogAttributes": wire.attrs_map(recs.field("attributes")),
        "EventName": wire.text(recs.field("event_name")),
        "ObservedTimestamp": wire.timestamps(observed),
        "DroppedAttributesCount": recs.field("dropped_attributes_count"),
        "WorkflowStep": pa.array([""] * n, pa.string()),
    }
    return wire.assemble(LOGS, cols, n), tally

"""ExportTraceServiceRequest bytes → otel_traces batch (span events and links as parallel
lists, the exporter's Nested columns)."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model import wire
from otelcap.model.schema import TRACES

# Names as the Collector's ptrace renders them, so exporter-written rows look the same.
SPAN_KIND = pa.array(["Unspecified", "Internal", "Server", "Client", "Producer", "Consumer"])
STATUS_CODE = pa.array(["Unset", "Ok", "Error"])


def _enum_names(codes: pa.Array, names: pa.Array) -> pa.Array:
    known = pc.and_(pc.greater_equal(codes, 0), pc.less(codes, len(names)))
    picked = pc.take(names, pc.if_else(known, codes, 0))
    return pc.if_else(known, picked, pc.cast(codes, pa.string()))


def convert(payloads: list[bytes]) -> tuple[pa.RecordBatch, wire.Tally]:
    res = wire.root(wire.decode("traces", payloads))
    scopes = res.child("scope_spans", "scope", this="resource")
    spans = scopes.child("spans", "span", this="scope")

    ok = pc.and_(
        pc.equal(pc.binary_length(spans.field("trace_id")), 16),
        pc.equal(pc.binary_length(spans.field("span_id")), 8),
    )
    tally = wire.Tally.count(
        spans.parents["request"], len(payloads), ok,
        "span with an invalid trace_id (want 16 bytes) or span_id (want 8 bytes)",
    )  # fmt: skip
    if sum(tally.rejected):
        spans = wire.Level(
            pc.filter(spans.values, ok), {k: pc.filter(v, ok) for k, v in spans.parents.items()}
        )

    resource = res.field("resource")
    scope = scopes.field("scope")
    r_attrs = wire.attrs_map(wire._field(resource, "attributes"))
    r_service = pc.fill_null(pc.map_lookup(r_attrs, "service.name", "first"), "")
    start = spans.field("start_time_unix_nano")
    end = spans.field("end_time_unix_nano")
    status = spans.field("status")
    events = spans.field("events")
    links = spans.field("links")
    cols = {
        "Timestamp": wire.timestamps(start),
        "TraceId": wire.hex_ids(spans.field("trace_id")),
        "SpanId": wire.hex_ids(spans.field("span_id")),
        "ParentSpanId": wire.hex_ids(spans.field("parent_span_id")),
        "TraceState": wire.text(spans.field("trace_state")),
        "SpanName": wire.text(spans.field("name")),
        "SpanKind": _enum_names(spans.field("kind"), SPAN_KIND),
        "ServiceName": spans.up("resource", r_service),
        "ResourceAttributes": spans.up("resource", r_attrs),
        "ScopeName": spans.up("scope", wire.text(wire._field(scope, "name"))),
        "ScopeVersion": spans.up("scope", wire.text(wire._field(scope, "version"))),
        "SpanAttributes": wire.attrs_map(spans.field("attributes")),
        # end before start is a client bug: store 0 rather than a huge unsigned wrap-around
        "Duration": pc.subtract(pc.max_element_wise(end, start), start),
        "StatusCode": _enum_names(pc.fill_null(wire._field(status, "code"), 0), STATUS_CODE),
        "StatusMessage": wire.text(wire._field(status, "message")),
        "Events.Timestamp": wire.list_of(events, "time_unix_nano", wire.timestamps),
        "Events.Name": wire.list_of(events, "name"),
        "Events.Attributes": wire.list_of_maps(events, "attributes"),
        "Links.TraceId": wire.list_of(links, "trace_id", wire.hex_ids),
        "Links.SpanId": wire.list_of(links, "span_id", wire.hex_ids),
        "Links.TraceState": wire.list_of(links, "trace_state"),
        "Links.Attributes": wire.list_of_maps(links, "attributes"),
        "ResourceSchemaUrl": spans.up("resource", wire.text(res.field("schema_url"))),
        "ScopeSchemaUrl": spans.up("scope", wire.text(scopes.field("schema_url"))),
        "ScopeAttributes": spans.up("scope", wire.attrs_map(wire._field(scope, "attributes"))),
        "TraceFlags": spans.field("flags"),
        "DroppedAttributesCount": spans.field("dropped_attributes_count"),
        "DroppedEventsCount": spans.field("dropped_events_count"),
        "DroppedLinksCount": spans.field("dropped_links_count"),
        "Events.DroppedAttributesCount": wire.list_of(events, "dropped_attributes_count"),
        "Links.DroppedAttributesCount": wire.list_of(links, "dropped_attributes_count"),
        "Links.Flags": wire.list_of(links, "flags"),
    }  # fmt: skip
    return wire.assemble(TRACES, cols, len(spans)), tally

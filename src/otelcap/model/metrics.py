"""ExportMetricsServiceRequest bytes → one batch per metric kind (sum, gauge, histogram,
exponential histogram, summary), in the exporter's otel_metrics_* layout."""

from __future__ import annotations

from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from otelcap.model import wire
from otelcap.model.schema import (
    METRICS_EXP_HISTOGRAM,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
    METRICS_SUM,
    METRICS_SUMMARY,
)

KIND_TABLE = {
    "sum": ("otel_metrics_sum", METRICS_SUM),
    "gauge": ("otel_metrics_gauge", METRICS_GAUGE),
    "histogram": ("otel_metrics_histogram", METRICS_HISTOGRAM),
    "exponential_histogram": ("otel_metrics_exponential_histogram", METRICS_EXP_HISTOGRAM),
    "summary": ("otel_metrics_summary", METRICS_SUMMARY),
}


def _number(points: pa.Array) -> pa.Array:
    # The exporter's Value is Float64: integer points are widened.
    return pc.coalesce(
        wire._field(points, "as_double"), pc.cast(wire._field(points, "as_int"), pa.float64())
    )


def _kind_columns(kind: str, pts: wire.Level, kind_struct: pa.Array) -> dict[str, Any]:
    c: dict[str, Any] = {}
    if kind in ("sum", "gauge"):
        c["Value"] = _number(pts.values)
    else:
        c["Count"] = pts.field("count")
        c["Sum"] = pts.field("sum")
    if kind != "summary":
        ex = pts.field("exemplars")
        c["Exemplars.FilteredAttributes"] = wire.list_of_maps(ex, "filtered_attributes")
        c["Exemplars.TimeUnix"] = wire.list_of(ex, "time_unix_nano", wire.timestamps)
        c["Exemplars.Value"] = pa.ListArray.from_arrays(
            wire._zero_based(ex.offsets), _number(pc.list_flatten(ex))
        )
        c["Exemplars.SpanId"] = wire.list_of(ex, "span_id", wire.hex_ids)
        c["Exemplars.TraceId"] = wire.list_of(ex, "trace_id", wire.hex_ids)
    if kind in ("sum", "histogram", "exponential_histogram"):
        c["AggregationTemporality"] = pts.up(
            "metric", wire._field(kind_struct, "aggregation_temporality")
        )
    if kind == "sum":
        c["IsMonotonic"] = pts.up("metric", wire._field(kind_struct, "is_monotonic"))
    if kind in ("histogram", "exponential_histogram"):
        c["Min"] = pts.field("min")
        c["Max"] = pts.field("max")
    if kind == "histogram":
        c["BucketCounts"] = pts.field("bucket_counts")
        c["ExplicitBounds"] = pts.field("explicit_bounds")
    elif kind == "exponential_histogram":
        for side in ("positive", "negative"):
            buckets = pts.field(side)
            c[f"{side.title()}Offset"] = pc.fill_null(wire._field(buckets, "offset"), 0)
            c[f"{side.title()}BucketCounts"] = wire._field(buckets, "bucket_counts")
        c["Scale"] = pts.field("scale")
        c["ZeroCount"] = pts.field("zero_count")
        c["ZeroThreshold"] = pts.field("zero_threshold")
    elif kind == "summary":
        qs = pts.field("quantile_values")
        c["ValueAtQuantiles.Quantile"] = wire.list_of(qs, "quantile")
        c["ValueAtQuantiles.Value"] = wire.list_of(qs, "value")
    return c


def convert(payloads: list[bytes]) -> tuple[dict[str, pa.RecordBatch], wire.Tally]:
    res = wire.root(wire.decode("metrics", payloads))
    scopes = res.child("scope_metrics", "scope", this="resource")
    metrics = scopes.child("metrics", "metric", this="scope")

    resource = res.field("resource")
    scope = scopes.field("scope")
    r_attrs = wire.attrs_map(wire._field(resource, "attributes"))
    per_resource = {
        "ResourceAttributes": r_attrs,
        "ResourceSchemaUrl": wire.text(res.field("schema_url")),
        "ServiceName": pc.fill_null(pc.map_lookup(r_attrs, "service.name", "first"), ""),
    }
    per_scope = {
        "ScopeName": wire.text(wire._field(scope, "name")),
        "ScopeVersion": wire.text(wire._field(scope, "version")),
        "ScopeAttributes": wire.attrs_map(wire._field(scope, "attributes")),
        "ScopeDroppedAttrCount": pc.fill_null(wire._field(scope, "dropped_attributes_count"), 0),
        "ScopeSchemaUrl": wire.text(scopes.field("schema_url")),
    }
    per_metric = {
        "MetricName": wire.text(metrics.field("name")),
        "MetricDescription": wire.text(metrics.field("description")),
        "MetricUnit": wire.text(metrics.field("unit")),
    }
    out: dict[str, pa.RecordBatch] = {}
    n_requests = len(payloads)
    accepted = [0] * n_requests
    has_data = pa.array([False] * len(metrics))
    for kind, (table, schema) in KIND_TABLE.items():
        kind_struct = metrics.field(kind)
        has_data = pc.or_(has_data, pc.is_valid(kind_struct))
        pts = wire.Level(kind_struct, metrics.parents).child("data_points", "point", this="metric")
        if not len(pts):
            continue
        points = wire.per_request(pts.parents["request"], n_requests)
        accepted = [a + b for a, b in zip(accepted, points, strict=True)]
        cols: dict[str, Any] = {k: pts.up("resource", v) for k, v in per_resource.items()}
        cols.update({k: pts.up("scope", v) for k, v in per_scope.items()})
        cols.update({k: pts.up("metric", v) for k, v in per_metric.items()})
        cols["Attributes"] = wire.attrs_map(pts.field("attributes"))
        cols["StartTimeUnix"] = wire.timestamps(pts.field("start_time_unix_nano"))
        cols["TimeUnix"] = wire.timestamps(pts.field("time_unix_nano"))
        cols["Flags"] = pts.field("flags")
        cols.update(_kind_columns(kind, pts, kind_struct))
        out[table] = wire.assemble(schema, cols, len(pts))
    # A metric without data has no points to count as rejected; say so all the same.
    empty = wire.per_request(metrics.parents["request"], n_requests, pc.invert(has_data))
    reasons = [
        f"{e} metric(s) had no data (no sum/gauge/histogram/summary)" if e else "" for e in empty
    ]
    return out, wire.Tally(accepted, [0] * n_requests, reasons)

"""ExportMetricsServiceRequest → one batch per metric kind (sum, gauge, histogram,
exponential histogram, summary), in the exporter's otel_metrics_* layout."""

from __future__ import annotations

from typing import Any

import pyarrow as pa

from otelcap.model.anyvalue import attrs_dict
from otelcap.model.columns import ListOfMapsColumn, MapColumn, build
from otelcap.model.schema import (
    METRICS_EXP_HISTOGRAM,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
    METRICS_SUM,
    METRICS_SUMMARY,
    PROMOTED_METRIC,
)

KIND_TABLE = {
    "sum": ("otel_metrics_sum", METRICS_SUM),
    "gauge": ("otel_metrics_gauge", METRICS_GAUGE),
    "histogram": ("otel_metrics_histogram", METRICS_HISTOGRAM),
    "exponential_histogram": ("otel_metrics_exponential_histogram", METRICS_EXP_HISTOGRAM),
    "summary": ("otel_metrics_summary", METRICS_SUMMARY),
}
_MAP_COLS = ("ResourceAttributes", "ScopeAttributes", "Attributes")
_LIST_MAP_COLS = ("Exemplars.FilteredAttributes",)
_PROMOTED = {col for col, _key, _kind in PROMOTED_METRIC}  # filled by claude.py


class _Table:
    def __init__(self, schema: pa.Schema) -> None:
        self.schema = schema
        self.cols: dict[str, Any] = {}
        for f in schema:
            if f.name in _PROMOTED:
                continue
            if f.name in _MAP_COLS:
                self.cols[f.name] = MapColumn()
            elif f.name in _LIST_MAP_COLS:
                self.cols[f.name] = ListOfMapsColumn()
            else:
                self.cols[f.name] = []
        self.n = 0

    def to_batch(self) -> pa.RecordBatch:
        return build(self.schema, self.cols, self.n)


def _number(pb_point: Any) -> float | None:
    kind = pb_point.WhichOneof("value")
    if kind == "as_double":
        return float(pb_point.as_double)
    if kind == "as_int":
        return float(pb_point.as_int)  # the exporter's Value is Float64
    return None


def _exemplars(t: _Table, pb_point: Any) -> None:
    ex = pb_point.exemplars
    c = t.cols
    c["Exemplars.FilteredAttributes"].add([attrs_dict(e.filtered_attributes) for e in ex])
    c["Exemplars.TimeUnix"].append([e.time_unix_nano for e in ex])
    c["Exemplars.Value"].append([_number(e) for e in ex])
    c["Exemplars.SpanId"].append([e.span_id.hex() for e in ex])
    c["Exemplars.TraceId"].append([e.trace_id.hex() for e in ex])


def _optional(pb_point: Any, name: str) -> float | None:
    return getattr(pb_point, name) if pb_point.HasField(name) else None


def convert(pb_request: Any) -> tuple[dict[str, pa.RecordBatch], int, str]:
    tables: dict[str, _Table] = {}
    rejected = 0
    reason = ""
    for pb_rm in pb_request.resource_metrics:
        r_attrs = attrs_dict(pb_rm.resource.attributes)
        r_service = r_attrs.get("service.name", "")
        for pb_sm in pb_rm.scope_metrics:
            scope = pb_sm.scope
            s_attrs = attrs_dict(scope.attributes)
            for m in pb_sm.metrics:
                kind = m.WhichOneof("data")
                if kind is None:
                    # A metric without data has no points to count; it is reported, not kept.
                    reason = reason or f"metric {m.name!r} has no data (no sum/gauge/histogram/…)"
                    continue
                name, schema = KIND_TABLE[kind]
                t = tables.get(name) or tables.setdefault(name, _Table(schema))
                data = getattr(m, kind)
                c = t.cols
                for p in data.data_points:
                    t.n += 1
                    c["ResourceAttributes"].add(r_attrs)
                    c["ResourceSchemaUrl"].append(pb_rm.schema_url)
                    c["ScopeName"].append(scope.name)
                    c["ScopeVersion"].append(scope.version)
                    c["ScopeAttributes"].add(s_attrs)
                    c["ScopeDroppedAttrCount"].append(scope.dropped_attributes_count)
                    c["ScopeSchemaUrl"].append(pb_sm.schema_url)
                    c["ServiceName"].append(r_service)
                    c["MetricName"].append(m.name)
                    c["MetricDescription"].append(m.description)
                    c["MetricUnit"].append(m.unit)
                    c["Attributes"].add(attrs_dict(p.attributes))
                    c["StartTimeUnix"].append(p.start_time_unix_nano)
                    c["TimeUnix"].append(p.time_unix_nano)
                    c["Flags"].append(p.flags)
                    if kind != "summary":
                        _exemplars(t, p)
                    if kind in ("sum", "gauge"):
                        c["Value"].append(_number(p))
                    else:
                        c["Count"].append(p.count)
                        # histogram sums are optional in OTLP (absent with negative values)
                        c["Sum"].append(p.sum if kind == "summary" else _optional(p, "sum"))
                    if kind == "sum":
                        c["AggregationTemporality"].append(data.aggregation_temporality)
                        c["IsMonotonic"].append(data.is_monotonic)
                    elif kind == "histogram":
                        c["BucketCounts"].append(list(p.bucket_counts))
                        c["ExplicitBounds"].append(list(p.explicit_bounds))
                        c["Min"].append(_optional(p, "min"))
                        c["Max"].append(_optional(p, "max"))
                        c["AggregationTemporality"].append(data.aggregation_temporality)
                    elif kind == "exponential_histogram":
                        c["Scale"].append(p.scale)
                        c["ZeroCount"].append(p.zero_count)
                        c["PositiveOffset"].append(p.positive.offset)
                        c["PositiveBucketCounts"].append(list(p.positive.bucket_counts))
                        c["NegativeOffset"].append(p.negative.offset)
                        c["NegativeBucketCounts"].append(list(p.negative.bucket_counts))
                        c["Min"].append(_optional(p, "min"))
                        c["Max"].append(_optional(p, "max"))
                        c["AggregationTemporality"].append(data.aggregation_temporality)
                        c["ZeroThreshold"].append(p.zero_threshold)
                    elif kind == "summary":
                        qs = p.quantile_values
                        c["ValueAtQuantiles.Quantile"].append([q.quantile for q in qs])
                        c["ValueAtQuantiles.Value"].append([q.value for q in qs])
    return {name: t.to_batch() for name, t in tables.items()}, rejected, reason

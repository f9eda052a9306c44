"""Arrow schemas: the single source of table and column names and types.

Names and types follow the OpenTelemetry Collector's ClickHouse exporter (CamelCase tables
`otel_logs`, `otel_traces`, `otel_metrics_*`), so Grafana's ClickHouse plugin and ClickStack
recognise them and the query pack runs on tables a stock Collector wrote. Columns the
exporter lacks (ObservedTimestamp, dropped counts, the promoted Claude Code columns) are
appended after the exporter's own. The DDL in schema/<backend>/ must match this module;
tests/test_schema.py checks that it does.
"""

from __future__ import annotations

import pyarrow as pa

STR = pa.string()
MAP = pa.map_(pa.string(), pa.string())
TS = pa.timestamp("ns")  # UTC by convention; DuckDB TIMESTAMP_NS, ClickHouse DateTime64(9)
F64 = pa.float64()
I64 = pa.int64()
I32 = pa.int32()
U64 = pa.uint64()
U32 = pa.uint32()
U8 = pa.uint8()
BOOL = pa.bool_()

# Claude Code attributes promoted to typed columns. (column, attribute key, kind).
# Strings use '' for absent (a missing map key is '' in ClickHouse); numbers and booleans
# NULL for "not applicable", so a query can tell an absent value from 0 or false.
PROMOTED_LOG: list[tuple[str, str, str]] = [
    ("SessionId", "session.id", "str"),
    ("PromptId", "prompt.id", "str"),
    ("EventSequence", "event.sequence", "int"),
    ("UserAccountUuid", "user.account_uuid", "str"),
    ("OrganizationId", "organization.id", "str"),
    ("TerminalType", "terminal.type", "str"),
    ("AppVersion", "app.version", "str"),
    ("Model", "model", "str"),
    ("ToolName", "tool_name", "str"),
    ("Decision", "decision", "str"),
    ("DecisionSource", "source", "str"),
    ("ErrorType", "error_type", "str"),
    ("Error", "error", "str"),
    ("StatusCode", "status_code", "int32"),
    ("Attempt", "attempt", "int32"),
    ("CostUsd", "cost_usd", "float"),
    ("DurationMs", "duration_ms", "float"),
    ("InputTokens", "input_tokens", "int"),
    ("OutputTokens", "output_tokens", "int"),
    ("CacheReadTokens", "cache_read_tokens", "int"),
    ("CacheCreationTokens", "cache_creation_tokens", "int"),
    ("PromptLength", "prompt_length", "int"),
    ("Success", "success", "bool"),
    # Read by error-analysis / errors-sample / api-latency: a map lookup costs ~100 ms per 1M
    # rows however few rows match, a typed column a few ms.
    ("TtftMs", "ttft_ms", "float"),
    ("ConnectionStatus", "status", "str"),
    ("HooksBlocking", "num_blocking", "int"),
    ("HooksNonBlockingError", "num_non_blocking_error", "int"),
    ("HooksCancelled", "num_cancelled", "int"),
]
PROMOTED_SPAN: list[tuple[str, str, str]] = [
    ("SessionId", "session.id", "str"),
    ("Model", "model", "str"),
    ("ToolName", "tool_name", "str"),
    ("Attempt", "attempt", "int32"),
    ("DurationMs", "duration_ms", "float"),
    ("InputTokens", "input_tokens", "int"),
    ("OutputTokens", "output_tokens", "int"),
    ("CacheReadTokens", "cache_read_tokens", "int"),
    ("CacheCreationTokens", "cache_creation_tokens", "int"),
    ("Success", "success", "bool"),
]
PROMOTED_METRIC: list[tuple[str, str, str]] = [
    ("SessionId", "session.id", "str"),
    ("Model", "model", "str"),
    ("Type", "type", "str"),
]
_KIND_TYPE = {"str": STR, "int": I64, "int32": I32, "float": F64, "bool": BOOL}


def _promoted(spec: list[tuple[str, str, str]]) -> list[tuple[str, pa.DataType]]:
    return [(col, _KIND_TYPE[kind]) for col, _key, kind in spec]


def _schema(cols: list[tuple[str, pa.DataType]]) -> pa.Schema:
    return pa.schema([pa.field(name, typ) for name, typ in cols])


LOGS = _schema(
    [
        ("Timestamp", TS),
        ("TraceId", STR),
        ("SpanId", STR),
        ("TraceFlags", U8),
        ("SeverityText", STR),
        ("SeverityNumber", U8),
        ("ServiceName", STR),
        ("Body", STR),
        ("ResourceSchemaUrl", STR),
        ("ResourceAttributes", MAP),
        ("ScopeSchemaUrl", STR),
        ("ScopeName", STR),
        ("ScopeVersion", STR),
        ("ScopeAttributes", MAP),
        ("LogAttributes", MAP),
        ("EventName", STR),
        ("ObservedTimestamp", TS),
        ("DroppedAttributesCount", U32),
        ("WorkflowStep", STR),  # slash command that started the prompt (workflow.py fills it)
        *_promoted(PROMOTED_LOG),
    ]
)
# Columns a store derives from the stored (sanitized) row, so the model's batches lack them:
# ClickHouse by a DEFAULT, DuckDB in its INSERT (storage/upgrade.py). Repository is the
# project label every `--by project` and project filter reads. Read from four map entries
# instead (DuckDB loads a MAP for every scanned row), at 1M events: sessions 172 → 132 ms,
# sessions-by 243 → 187, tool-usage-by 108 → 60 (bench/queries.py --reuse).
DERIVED_LOG: list[tuple[str, pa.DataType]] = [("Repository", STR)]
STORED_LOGS = _schema([*((f.name, f.type) for f in LOGS), *DERIVED_LOG])

TRACES = _schema(
    [
        ("Timestamp", TS),
        ("TraceId", STR),
        ("SpanId", STR),
        ("ParentSpanId", STR),
        ("TraceState", STR),
        ("SpanName", STR),
        ("SpanKind", STR),
        ("ServiceName", STR),
        ("ResourceAttributes", MAP),
        ("ScopeName", STR),
        ("ScopeVersion", STR),
        ("SpanAttributes", MAP),
        ("Duration", U64),
        ("StatusCode", STR),
        ("StatusMessage", STR),
        ("Events.Timestamp", pa.list_(TS)),
        ("Events.Name", pa.list_(STR)),
        ("Events.Attributes", pa.list_(MAP)),
        ("Links.TraceId", pa.list_(STR)),
        ("Links.SpanId", pa.list_(STR)),
        ("Links.TraceState", pa.list_(STR)),
        ("Links.Attributes", pa.list_(MAP)),
        ("ResourceSchemaUrl", STR),
        ("ScopeSchemaUrl", STR),
        ("ScopeAttributes", MAP),
        ("TraceFlags", U32),
        ("DroppedAttributesCount", U32),
        ("DroppedEventsCount", U32),
        ("DroppedLinksCount", U32),
        ("Events.DroppedAttributesCount", pa.list_(U32)),
        ("Links.DroppedAttributesCount", pa.list_(U32)),
        ("Links.Flags", pa.list_(U32)),
        *_promoted(PROMOTED_SPAN),
    ]
)

_METRIC_HEAD: list[tuple[str, pa.DataType]] = [
    ("ResourceAttributes", MAP),
    ("ResourceSchemaUrl", STR),
    ("ScopeName", STR),
    ("ScopeVersion", STR),
    ("ScopeAttributes", MAP),
    ("ScopeDroppedAttrCount", U32),
    ("ScopeSchemaUrl", STR),
    ("ServiceName", STR),
    ("MetricName", STR),
    ("MetricDescription", STR),
    ("MetricUnit", STR),
    ("Attributes", MAP),
    ("StartTimeUnix", TS),
    ("TimeUnix", TS),
]
_EXEMPLARS: list[tuple[str, pa.DataType]] = [
    ("Exemplars.FilteredAttributes", pa.list_(MAP)),
    ("Exemplars.TimeUnix", pa.list_(TS)),
    ("Exemplars.Value", pa.list_(F64)),
    ("Exemplars.SpanId", pa.list_(STR)),
    ("Exemplars.TraceId", pa.list_(STR)),
]
_METRIC_TAIL = _promoted(PROMOTED_METRIC)

METRICS_SUM = _schema(
    [
        *_METRIC_HEAD,
        ("Value", F64),
        ("Flags", U32),
        *_EXEMPLARS,
        ("AggregationTemporality", I32),
        ("IsMonotonic", BOOL),
        *_METRIC_TAIL,
    ]
)
METRICS_GAUGE = _schema([*_METRIC_HEAD, ("Value", F64), ("Flags", U32), *_EXEMPLARS, *_METRIC_TAIL])
METRICS_HISTOGRAM = _schema(
    [
        *_METRIC_HEAD,
        ("Count", U64),
        ("Sum", F64),
        ("BucketCounts", pa.list_(U64)),
        ("ExplicitBounds", pa.list_(F64)),
        *_EXEMPLARS,
        ("Flags", U32),
        ("Min", F64),
        ("Max", F64),
        ("AggregationTemporality", I32),
        *_METRIC_TAIL,
    ]
)
METRICS_EXP_HISTOGRAM = _schema(
    [
        *_METRIC_HEAD,
        ("Count", U64),
        ("Sum", F64),
        ("Scale", I32),
        ("ZeroCount", U64),
        ("PositiveOffset", I32),
        ("PositiveBucketCounts", pa.list_(U64)),
        ("NegativeOffset", I32),
        ("NegativeBucketCounts", pa.list_(U64)),
        *_EXEMPLARS,
        ("Flags", U32),
        ("Min", F64),
        ("Max", F64),
        ("AggregationTemporality", I32),
        ("ZeroThreshold", F64),
        *_METRIC_TAIL,
    ]
)
METRICS_SUMMARY = _schema(
    [
        *_METRIC_HEAD,
        ("Count", U64),
        ("Sum", F64),
        ("ValueAtQuantiles.Quantile", pa.list_(F64)),
        ("ValueAtQuantiles.Value", pa.list_(F64)),
        ("Flags", U32),
        *_METRIC_TAIL,
    ]
)

# SeriesKey: one metric of one process with one attribute set (MetricName, ServiceName and
# both maps), hashed once as the row is stored. sessions, sessions-by, outcomes and cost follow
# each cumulative series with a window over it; hashing the two maps in every such query read
# them for every scanned point (at 1M events, callgrind: sessions 1,468 → 1,213 M instructions,
# outcomes 753 → 497). Its value is the engine's own hash (DuckDB's hash(), ClickHouse's
# cityHash64), so it is LOCAL to a store.
DERIVED_SUM: list[tuple[str, pa.DataType]] = [("SeriesKey", U64)]
STORED_METRICS_SUM = _schema([*((f.name, f.type) for f in METRICS_SUM), *DERIVED_SUM])

# table → its derived columns.
DERIVED: dict[str, list[tuple[str, pa.DataType]]] = {
    "otel_logs": DERIVED_LOG,
    "otel_metrics_sum": DERIVED_SUM,
}
# Derived columns whose values only the store that computed them can compare: never exported,
# computed again by whatever reads or imports a bundle (storage/bundle.py), and recomputed in
# a DuckDB file whose hash() another DuckDB version computes differently (storage/upgrade.py).
# A series whose points had keys of two hash functions would be two series, and the first
# point of the second would count its whole cumulative value again.
LOCAL: dict[str, frozenset[str]] = {"otel_metrics_sum": frozenset({"SeriesKey"})}

# The tables as stored: the model's batches plus the derived columns.
TABLES: dict[str, pa.Schema] = {
    "otel_logs": STORED_LOGS,
    "otel_traces": TRACES,
    "otel_metrics_sum": STORED_METRICS_SUM,
    "otel_metrics_gauge": METRICS_GAUGE,
    "otel_metrics_histogram": METRICS_HISTOGRAM,
    "otel_metrics_exponential_histogram": METRICS_EXP_HISTOGRAM,
    "otel_metrics_summary": METRICS_SUMMARY,
}


def exported(table: str) -> list[str]:
    """The table's columns as bundles carry them: all but the LOCAL ones."""
    local = LOCAL.get(table, frozenset())
    return [name for name in TABLES[table].names if name not in local]


# The time of each table's rows: what export partitions by day, retention ages by, and an
# import compares first (two rows can only be the same record if these are equal).
TIME_COLUMN: dict[str, str] = {
    table: "Timestamp" if "Timestamp" in sch.names else "TimeUnix" for table, sch in TABLES.items()
}

# The version of the tables above as written into exported bundles (manifest.json). Raise it
# when a column is removed, renamed or changes type; an otelcap refuses to import a bundle
# whose schema version it cannot read (otelcap.storage.bundle.READABLE_SCHEMAS). An added
# column does not raise it: an older otelcap reads the columns it knows, a newer one fills
# those a bundle lacks (storage/upgrade.py).
SCHEMA_VERSION = 1

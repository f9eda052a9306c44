-- name: _ops/table-rows
-- description: rows per table (otelcap status); every table of model/schema.py, in its order
SELECT 'otel_logs' AS tbl, count(*) AS n FROM otel_logs
UNION ALL SELECT 'otel_traces' AS tbl, count(*) AS n FROM otel_traces
UNION ALL SELECT 'otel_metrics_sum' AS tbl, count(*) AS n FROM otel_metrics_sum
UNION ALL SELECT 'otel_metrics_gauge' AS tbl, count(*) AS n FROM otel_metrics_gauge
UNION ALL SELECT 'otel_metrics_histogram' AS tbl, count(*) AS n FROM otel_metrics_histogram
UNION ALL
SELECT 'otel_metrics_exponential_histogram' AS tbl, count(*) AS n
FROM otel_metrics_exponential_histogram
UNION ALL SELECT 'otel_metrics_summary' AS tbl, count(*) AS n FROM otel_metrics_summary

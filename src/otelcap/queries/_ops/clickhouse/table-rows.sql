-- _ops/table-rows: rendered from queries/_ops/table-rows.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  'otel_logs' AS tbl,
  COUNT(*) AS n
FROM otel_logs
UNION ALL
SELECT
  'otel_traces' AS tbl,
  COUNT(*) AS n
FROM otel_traces
UNION ALL
SELECT
  'otel_metrics_sum' AS tbl,
  COUNT(*) AS n
FROM otel_metrics_sum
UNION ALL
SELECT
  'otel_metrics_gauge' AS tbl,
  COUNT(*) AS n
FROM otel_metrics_gauge
UNION ALL
SELECT
  'otel_metrics_histogram' AS tbl,
  COUNT(*) AS n
FROM otel_metrics_histogram
UNION ALL
SELECT
  'otel_metrics_exponential_histogram' AS tbl,
  COUNT(*) AS n
FROM otel_metrics_exponential_histogram
UNION ALL
SELECT
  'otel_metrics_summary' AS tbl,
  COUNT(*) AS n
FROM otel_metrics_summary
SETTINGS join_use_nulls = 1

-- _ops/doctor-temporality: rendered from queries/_ops/doctor-temporality.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  AggregationTemporality AS temporality,
  COUNT(*) AS n,
  MAX(TimeUnix) AS last
FROM otel_metrics_sum
GROUP BY
  AggregationTemporality
ORDER BY
  n DESC
SETTINGS join_use_nulls = 1

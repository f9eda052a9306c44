-- _ops/doctor-spans: rendered from queries/_ops/doctor-spans.sql for ClickHouse by
-- otelcap.querypack.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.opsql --render`.
SELECT
  SpanName AS name,
  COUNT(*) AS n,
  MAX(Timestamp) AS last
FROM otel_traces
GROUP BY
  SpanName
ORDER BY
  n DESC
SETTINGS join_use_nulls = 1

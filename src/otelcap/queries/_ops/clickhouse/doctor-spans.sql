-- _ops/doctor-spans: rendered from queries/_ops/doctor-spans.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
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

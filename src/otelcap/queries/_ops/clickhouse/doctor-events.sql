-- _ops/doctor-events: rendered from queries/_ops/doctor-events.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  EventName AS name,
  COUNT(*) AS n,
  MAX(Timestamp) AS last
FROM otel_logs
GROUP BY
  EventName
ORDER BY
  n DESC
SETTINGS join_use_nulls = 1

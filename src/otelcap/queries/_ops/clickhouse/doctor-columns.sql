-- _ops/doctor-columns: rendered from queries/_ops/doctor-columns.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  table_name,
  column_name
FROM information_schema.columns
WHERE
  table_catalog = CURRENT_DATABASE()
SETTINGS join_use_nulls = 1

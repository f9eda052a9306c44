-- _ops/export-untimed-rows: rendered from queries/_ops/export-untimed-rows.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  __columns__
FROM __table__
WHERE
  __time__ IS NULL
SETTINGS join_use_nulls = 1

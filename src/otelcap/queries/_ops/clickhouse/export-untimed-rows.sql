-- _ops/export-untimed-rows: rendered from queries/_ops/export-untimed-rows.sql for ClickHouse by
-- otelcap.querypack.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.opsql --render`.
SELECT
  __columns__
FROM __table__
WHERE
  __time__ IS NULL
SETTINGS join_use_nulls = 1

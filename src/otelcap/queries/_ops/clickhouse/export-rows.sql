-- _ops/export-rows: rendered from queries/_ops/export-rows.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  __columns__
FROM __table__
WHERE
  __time__ >= {lo: DateTime64(9)} AND __time__ < {hi: DateTime64(9)}
ORDER BY
  __time__
SETTINGS join_use_nulls = 1

-- _ops/export-days: rendered from queries/_ops/export-days.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  CAST(__time__ AS Nullable(DATE)) AS day,
  COUNT(*) AS n
FROM __table__
WHERE
  __time__ >= {since: DateTime64(9)} AND __time__ < {until: DateTime64(9)}
GROUP BY
  day
ORDER BY
  day
SETTINGS join_use_nulls = 1

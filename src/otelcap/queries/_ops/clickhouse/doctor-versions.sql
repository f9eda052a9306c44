-- _ops/doctor-versions: rendered from queries/_ops/doctor-versions.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  app_version,
  SUM(n) AS total,
  MAX(last) AS latest
FROM (
  SELECT
    AppVersion AS app_version,
    COUNT(*) AS n,
    MAX(Timestamp) AS last
  FROM otel_logs
  GROUP BY
    AppVersion
  UNION ALL
  SELECT
    COALESCE(ResourceAttributes['service.version'], '') AS app_version,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_sum
  GROUP BY
    COALESCE(ResourceAttributes['service.version'], '')
) AS v
WHERE
  app_version <> ''
GROUP BY
  app_version
ORDER BY
  latest DESC
SETTINGS join_use_nulls = 1

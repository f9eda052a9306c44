-- _ops/doctor-metrics: rendered from queries/_ops/doctor-metrics.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  *
FROM (
  SELECT
    MetricName AS name,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_sum
  GROUP BY
    MetricName
  UNION ALL
  SELECT
    MetricName AS name,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_gauge
  GROUP BY
    MetricName
  UNION ALL
  SELECT
    MetricName AS name,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_histogram
  GROUP BY
    MetricName
  UNION ALL
  SELECT
    MetricName AS name,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_exponential_histogram
  GROUP BY
    MetricName
  UNION ALL
  SELECT
    MetricName AS name,
    COUNT(*) AS n,
    MAX(TimeUnix) AS last
  FROM otel_metrics_summary
  GROUP BY
    MetricName
) AS m
ORDER BY
  n DESC
SETTINGS join_use_nulls = 1

-- name: _ops/doctor-metrics
-- description: data points per metric name over every metric table, with when each was last seen
SELECT * FROM (
  SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last
  FROM otel_metrics_sum GROUP BY MetricName
  UNION ALL
  SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last
  FROM otel_metrics_gauge GROUP BY MetricName
  UNION ALL
  SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last
  FROM otel_metrics_histogram GROUP BY MetricName
  UNION ALL
  SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last
  FROM otel_metrics_exponential_histogram GROUP BY MetricName
  UNION ALL
  SELECT MetricName AS name, count(*) AS n, max(TimeUnix) AS last
  FROM otel_metrics_summary GROUP BY MetricName
) AS m
ORDER BY n DESC

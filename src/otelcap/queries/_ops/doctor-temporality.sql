-- name: _ops/doctor-temporality
-- description: sum data points per aggregation temporality (OTLP: 1 delta, 2 cumulative)
SELECT AggregationTemporality AS temporality, count(*) AS n, max(TimeUnix) AS last
FROM otel_metrics_sum
GROUP BY AggregationTemporality
ORDER BY n DESC

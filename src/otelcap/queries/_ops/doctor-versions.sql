-- name: _ops/doctor-versions
-- description: Claude Code versions seen, latest first
-- Claude Code's version: app.version on events, service.version on the metrics' resource.
SELECT app_version, sum(n) AS total, max(last) AS latest
FROM (
  SELECT AppVersion AS app_version, count(*) AS n, max(Timestamp) AS last
  FROM otel_logs GROUP BY AppVersion
  UNION ALL
  SELECT coalesce(ResourceAttributes['service.version'], '') AS app_version, count(*) AS n,
    max(TimeUnix) AS last
  FROM otel_metrics_sum GROUP BY coalesce(ResourceAttributes['service.version'], '')
) AS v
WHERE app_version <> ''
GROUP BY app_version
ORDER BY latest DESC

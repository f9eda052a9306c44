-- name: _ops/doctor-events
-- description: events per name, with when each was last seen (doctor: what has arrived)
SELECT EventName AS name, count(*) AS n, max(Timestamp) AS last
FROM otel_logs
GROUP BY EventName
ORDER BY n DESC

-- name: _ops/doctor-spans
-- description: spans per name, with when each was last seen
SELECT SpanName AS name, count(*) AS n, max(Timestamp) AS last
FROM otel_traces
GROUP BY SpanName
ORDER BY n DESC

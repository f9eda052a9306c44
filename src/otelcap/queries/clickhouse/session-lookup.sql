-- session-lookup: rendered from queries/session-lookup.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  session_id,
  MIN(seen) AS started,
  MAX(seen) AS last_seen
FROM (
  SELECT
    SessionId AS session_id,
    Timestamp AS seen
  FROM otel_logs
  WHERE
    SessionId <> ''
    AND startsWith(SessionId, {prefix: String})
    AND Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
  UNION ALL
  SELECT
    SessionId AS session_id,
    Timestamp AS seen
  FROM otel_traces
  WHERE
    SessionId <> ''
    AND startsWith(SessionId, {prefix: String})
    AND Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
) AS seen_in
GROUP BY
  session_id
ORDER BY
  started,
  session_id
LIMIT 20
SETTINGS join_use_nulls = 1

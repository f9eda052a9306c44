-- name: session-lookup
-- description: Sessions whose id starts with a prefix, oldest first: how `otelcap show session` resolves the id it is given.
-- param: since timestamp 1970-01-01 seen at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 seen before this time
-- param: session text '' only this session id ('' = every session)
-- param: prefix text '' the start of a session id ('' = every session)
--
-- Sessions are looked up in the events and in the spans (a session whose events aged out
-- may still have spans). At most 20 rows: `show` needs one, and lists the candidates of an
-- ambiguous prefix; 20 fit a terminal.
SELECT
    session_id,
    min(seen) AS started,
    max(seen) AS last_seen
FROM (
    SELECT SessionId AS session_id, Timestamp AS seen
    FROM otel_logs
    WHERE SessionId <> '' AND starts_with(SessionId, $prefix)
      AND Timestamp >= $since AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
    UNION ALL
    SELECT SessionId AS session_id, Timestamp AS seen
    FROM otel_traces
    WHERE SessionId <> '' AND starts_with(SessionId, $prefix)
      AND Timestamp >= $since AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
) AS seen_in
GROUP BY session_id
ORDER BY started, session_id
LIMIT 20

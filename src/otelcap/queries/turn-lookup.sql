-- name: turn-lookup
-- description: Turns (prompt.id) whose id starts with a prefix, oldest first, with their session: how `otelcap show turn` resolves the id it is given.
-- param: since timestamp 1970-01-01 seen at or after this time (7d, 12h, 2026-11-01, ISO time)
-- param: until timestamp 2200-01-01 seen before this time
-- param: session text '' only this session id ('' = every session)
-- param: prefix text '' the start of a prompt id ('' = every turn)
--
-- Only events carry prompt.id (spans do not), so turns are looked up in otel_logs. At most 20
-- rows: `show` needs one, and lists the candidates of an ambiguous prefix.
SELECT
    PromptId AS prompt_id,
    SessionId AS session_id,
    min(Timestamp) AS started,
    count(*) AS events
FROM otel_logs
WHERE PromptId <> '' AND SessionId <> '' AND starts_with(PromptId, $prefix)
      AND Timestamp >= $since AND Timestamp < $until
      AND ($session = '' OR SessionId = $session)
GROUP BY PromptId, SessionId
ORDER BY started, prompt_id
LIMIT 20

-- name: turn-lookup
-- description: Turns (prompt.id) whose id starts with a prefix, oldest first, with their session: how `otelcap show turn` resolves the id it is given.
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
GROUP BY PromptId, SessionId
ORDER BY started, prompt_id
LIMIT 20

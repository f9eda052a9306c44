-- name: _ops/doctor-prompts
-- description: how many of the latest prompts carry text (is OTEL_LOG_USER_PROMPTS on)
-- param: recent int 20 the latest this many user_prompt events: a flag turned on today counts
-- Without the flag Claude Code sends '<REDACTED>' (or, in some versions, no prompt at all).
SELECT count(*) AS n,
  sum(CASE WHEN p NOT IN ('', '<REDACTED>') THEN 1 ELSE 0 END) AS with_text
FROM (
  SELECT coalesce(LogAttributes['prompt'], '') AS p
  FROM otel_logs
  WHERE EventName = 'user_prompt'
  ORDER BY Timestamp DESC
  LIMIT $recent
) AS recent

-- name: _ops/doctor-tools
-- description: how many of the latest tool events carry details (is OTEL_LOG_TOOL_DETAILS on)
-- param: recent int 50 the latest this many tool_result and tool_decision events
SELECT count(*) AS n,
  sum(CASE WHEN details <> '' THEN 1 ELSE 0 END) AS with_details,
  sum(CASE WHEN failed THEN 1 ELSE 0 END) AS failures,
  sum(CASE WHEN failed AND error_text = '' THEN 1 ELSE 0 END) AS failures_without_text
FROM (
  SELECT
    concat(coalesce(LogAttributes['tool_parameters'], ''),
      coalesce(LogAttributes['tool_input'], '')) AS details,
    coalesce(EventName = 'tool_result' AND Success = false, false) AS failed,
    Error AS error_text
  FROM otel_logs
  WHERE EventName IN ('tool_result', 'tool_decision')
  ORDER BY Timestamp DESC
  LIMIT $recent
) AS recent

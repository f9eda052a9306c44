-- _ops/doctor-tools: rendered from queries/_ops/doctor-tools.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  COUNT(*) AS n,
  SUM(CASE WHEN details <> '' THEN 1 ELSE 0 END) AS with_details,
  SUM(CASE WHEN failed THEN 1 ELSE 0 END) AS failures,
  SUM(CASE WHEN failed AND error_text = '' THEN 1 ELSE 0 END) AS failures_without_text
FROM (
  SELECT
    CONCAT(
      COALESCE(COALESCE(LogAttributes['tool_parameters'], ''), ''),
      COALESCE(COALESCE(LogAttributes['tool_input'], ''), '')
    ) AS details,
    COALESCE(EventName = 'tool_result' AND Success = FALSE, FALSE) AS failed,
    Error AS error_text
  FROM otel_logs
  WHERE
    EventName IN ('tool_result', 'tool_decision')
  ORDER BY
    Timestamp DESC
  LIMIT {recent: Int64}
) AS recent
SETTINGS join_use_nulls = 1

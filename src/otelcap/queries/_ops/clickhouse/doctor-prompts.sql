-- _ops/doctor-prompts: rendered from queries/_ops/doctor-prompts.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  COUNT(*) AS n,
  SUM(CASE WHEN NOT (
    p IN ('', '<REDACTED>')
  ) THEN 1 ELSE 0 END) AS with_text
FROM (
  SELECT
    COALESCE(LogAttributes['prompt'], '') AS p
  FROM otel_logs
  WHERE
    EventName = 'user_prompt'
  ORDER BY
    Timestamp DESC
  LIMIT {recent: Int64}
) AS recent
SETTINGS join_use_nulls = 1

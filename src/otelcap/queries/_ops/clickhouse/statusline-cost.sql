-- _ops/statusline-cost: rendered from queries/_ops/statusline-cost.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
SELECT
  COALESCE(SUM(CASE WHEN SessionId = {session: String} THEN CostUsd END), 0) AS session_cost_usd,
  COALESCE(
    SUM(
      CASE
        WHEN Timestamp >= {since: DateTime64(9)} AND Timestamp < {until: DateTime64(9)}
        THEN CostUsd
      END
    ),
    0
  ) AS today_cost_usd
FROM otel_logs
WHERE
  EventName = 'api_request'
  AND (
    SessionId = {session: String}
    OR (
      Timestamp >= {since: DateTime64(9)} AND Timestamp < {until: DateTime64(9)}
    )
  )
SETTINGS join_use_nulls = 1

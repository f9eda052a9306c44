-- error-analysis: rendered from queries/error-analysis.sql for ClickHouse by
-- otelcap.querybuild.render_clickhouse (sqlglot 30.30.0 + overrides).
-- Do not edit: run `python -m otelcap.querybuild --render`.
WITH failures AS (
  /* one row per failure signal, named by its workflow step and kind */
  SELECT
    SessionId,
    PromptId,
    EventSequence,
    Timestamp,
    EventName,
    ToolName,
    StatusCode,
    Error,
    CASE
      WHEN EventName IN ('api_error', 'api_retries_exhausted', 'api_refusal')
      THEN 'model call'
      WHEN EventName = 'tool_decision'
      THEN 'permission'
      WHEN EventName = 'tool_result'
      THEN 'tool execution'
      WHEN EventName = 'hook_execution_complete'
      THEN 'hooks'
      WHEN EventName IN ('compaction', 'at_mention')
      THEN 'prompt / context'
      ELSE 'session setup'
    END AS step,
    CASE
      WHEN EventName = 'api_error'
      THEN 'api_error ' || COALESCE(CAST(StatusCode AS Nullable(String)), '(no status)')
      WHEN EventName = 'tool_decision'
      THEN 'rejected by ' || COALESCE(nullIf(DecisionSource, ''), '(no source)')
      WHEN EventName = 'tool_result'
      THEN COALESCE(nullIf(ErrorType, ''), '(no error type)')
      WHEN EventName = 'hook_execution_complete'
      THEN CASE
        WHEN hooks_blocking > 0
        THEN 'blocking hook'
        WHEN hooks_erred > 0
        THEN 'hook error'
        ELSE 'hook cancelled'
      END
      ELSE EventName
    END AS kind
  /* one scan for every signal: each lives in typed columns, the hook counts and the MCP */
  /* status too (a second scan for those cost error-analysis 14% more instructions and */
  /* errors-sample 18% more at 1M events: bench/queries.py --callgrind) */
  FROM (
    SELECT
      SessionId,
      PromptId,
      EventSequence,
      Timestamp,
      EventName,
      ToolName,
      StatusCode,
      DecisionSource,
      ErrorType,
      Error,
      HooksBlocking AS hooks_blocking,
      HooksNonBlockingError AS hooks_erred
    FROM otel_logs
    WHERE
      (
        EventName IN ('api_error', 'api_retries_exhausted', 'api_refusal', 'internal_error')
        OR (
          EventName = 'tool_decision' AND Decision = 'reject'
        )
        OR (
          EventName = 'tool_result' AND Success = FALSE
        )
        OR (
          EventName IN ('compaction', 'at_mention', 'auth') AND Success = FALSE
        )
        OR (
          EventName = 'hook_execution_complete'
          AND (
            HooksBlocking > 0 OR HooksNonBlockingError > 0 OR HooksCancelled > 0
          )
        )
        OR (
          EventName = 'mcp_server_connection' AND ConnectionStatus = 'failed'
        )
      )
      AND Timestamp >= {since: DateTime64(9)}
      AND Timestamp < {until: DateTime64(9)}
      AND SessionId <> ''
      AND (
        {session: String} = '' OR SessionId = {session: String}
      )
      AND (
        {project: String} = ''
        OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
      )
      AND (
        {user: String} = ''
        OR COALESCE(
          nullIf(LogAttributes['user.email'], ''),
          nullIf(UserAccountUuid, ''),
          nullIf(LogAttributes['user.id'], ''),
          '(no user)'
        ) = {user: String}
      )
      AND (
        {team: String} = ''
        OR COALESCE(
          nullIf(ResourceAttributes['team.id'], ''),
          nullIf(LogAttributes['team.id'], ''),
          '(no team.id)'
        ) = {team: String}
      )
  ) AS signals
), categories AS (
  /* readable groups of error text, computed once per distinct text (regexes are the */
  /* expensive part, and the same messages repeat); what matches nothing is `other` */
  SELECT
    error_text,
    CASE
      WHEN error_text = ''
      THEN ''
      WHEN match(error_text, '(?i)has not been read|read it first')
      THEN 'file not read yet'
      WHEN match(error_text, '(?i)string to replace|old_string')
      THEN 'string to replace not found'
      WHEN match(error_text, '(?i)no such tool|unknown tool|tool [^ ]+ (is )?not (found|available)')
      THEN 'tool not found'
      WHEN match(error_text, '(?i)does not exist|no such file|not found|enoent')
      THEN 'file not found'
      WHEN match(error_text, '(?i)timed? ?out|deadline exceeded')
      THEN 'timeout'
      WHEN match(error_text, '(?i)permission denied|eacces|not permitted')
      THEN 'permission denied'
      WHEN match(error_text, '(?i)syntax ?error|parse error|unexpected token')
      THEN 'syntax error'
      WHEN match(error_text, '(?i)exit code|exited with|command failed|non-zero')
      THEN 'command failed'
      WHEN match(error_text, '(?i)overloaded')
      THEN 'overloaded'
      WHEN match(error_text, '(?i)rate.?limit|too many requests')
      THEN 'rate limited'
      ELSE 'other'
    END AS category
  FROM (
    SELECT DISTINCT
      Error AS error_text
    FROM failures
  ) AS texts
), first_at AS (
  /* where each turn first fell short (event.sequence orders a prompt's events) */
  SELECT
    PromptId AS first_prompt,
    MIN(EventSequence) AS first_sequence
  FROM failures
  WHERE
    PromptId <> ''
  GROUP BY
    PromptId
), ranked AS (
  SELECT
    f.*,
    c.category,
    COALESCE(f.EventSequence = fa.first_sequence, FALSE) AS is_first
  FROM failures AS f
  JOIN categories AS c
    ON c.error_text = f.Error
  LEFT JOIN first_at AS fa
    ON fa.first_prompt = f.PromptId
), turns AS (
  /* the model calls of the turns that failed: their cost, and the last one's place */
  SELECT
    SessionId AS turn_session,
    PromptId AS turn_prompt,
    COALESCE(SUM(CostUsd), 0) AS turn_cost,
    MAX(EventSequence) AS last_request_at
  FROM otel_logs
  WHERE
    EventName = 'api_request'
    AND Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
    AND PromptId IN (
      SELECT
        PromptId
      FROM failures
      WHERE
        PromptId <> ''
    )
  GROUP BY
    SessionId,
    PromptId
), marked AS (
  SELECT
    r.step,
    r.kind,
    r.category,
    r.PromptId,
    r.is_first,
    t.turn_cost,
    t.last_request_at > r.EventSequence AS went_on
  FROM ranked AS r
  LEFT JOIN turns AS t
    ON t.turn_session = r.SessionId AND t.turn_prompt = r.PromptId
), per_kind AS (
  /* the kinds and, as the grouping set (), their total: one row even when nothing failed. */
  /* One aggregation, read once below, where a total over per_kind would read it twice. */
  SELECT
    GROUPING(step, kind, category) > 0 AS is_total_set,
    step AS failed_step,
    kind AS failed_kind,
    category AS failed_category,
    CAST(COUNT(*) AS Nullable(Int64)) AS failures,
    CAST(COUNT(DISTINCT nullIf(PromptId, '')) AS Nullable(Int64)) AS turns_affected,
    CAST(COUNT(*) FILTER(WHERE
      is_first) AS Nullable(Int64)) AS first_failure_turns,
    CAST(COUNT(*) FILTER(WHERE
      is_first AND went_on) AS Nullable(Int64)) AS recovered_turns,
    COALESCE(SUM(turn_cost) FILTER(WHERE
      is_first), 0) AS failed_turn_cost_usd
  FROM marked
  GROUP BY
    GROUPING SETS (
      (step, kind, category),
      ()
    )
), event_counts AS (
  SELECT
    EventName AS event_name,
    COUNT(*) AS events,
    COALESCE(SUM(CostUsd), 0) AS cost
  FROM otel_logs
  WHERE
    Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND SessionId <> ''
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
  GROUP BY
    EventName
), session_count AS (
  SELECT
    COUNT(DISTINCT SessionId) AS sessions
  FROM otel_logs
  WHERE
    Timestamp >= {since: DateTime64(9)}
    AND Timestamp < {until: DateTime64(9)}
    AND SessionId <> ''
    AND (
      {session: String} = '' OR SessionId = {session: String}
    )
    AND (
      {project: String} = ''
      OR COALESCE(nullIf(Repository, ''), '(no repository)') = {project: String}
    )
    AND (
      {user: String} = ''
      OR COALESCE(
        nullIf(LogAttributes['user.email'], ''),
        nullIf(UserAccountUuid, ''),
        nullIf(LogAttributes['user.id'], ''),
        '(no user)'
      ) = {user: String}
    )
    AND (
      {team: String} = ''
      OR COALESCE(
        nullIf(ResourceAttributes['team.id'], ''),
        nullIf(LogAttributes['team.id'], ''),
        '(no team.id)'
      ) = {team: String}
    )
), denominators AS (
  /* an aggregate without GROUP BY: one row even over no events */
  SELECT
    COALESCE(SUM(events) FILTER(WHERE
      event_name IN ('api_request', 'api_error')), 0) AS model_calls,
    COALESCE(SUM(events) FILTER(WHERE
      event_name = 'tool_decision'), 0) AS decisions,
    COALESCE(SUM(events) FILTER(WHERE
      event_name = 'tool_result'), 0) AS tool_results,
    COALESCE(SUM(events) FILTER(WHERE
      event_name = 'hook_execution_complete'), 0) AS hook_runs,
    COALESCE(SUM(events) FILTER(WHERE
      event_name IN ('compaction', 'at_mention')), 0) AS context_events,
    COALESCE(SUM(events) FILTER(WHERE
      event_name = 'user_prompt'), 0) AS all_turns,
    COALESCE(SUM(cost) FILTER(WHERE
      event_name = 'api_request'), 0) AS all_cost
  FROM event_counts
), everything AS (
  /* the last row (`all steps`) is over turns: failures = failure signals, denominator = */
  /* turns, turns_affected = failed turns */
  SELECT
    CASE WHEN k.is_total_set THEN 'all steps' ELSE k.failed_step END AS step,
    CASE WHEN k.is_total_set THEN 'any failure' ELSE k.failed_kind END AS kind,
    CASE WHEN k.is_total_set THEN '' ELSE k.failed_category END AS category,
    k.failures,
    CAST(CASE
      WHEN k.is_total_set
      THEN d.all_turns
      WHEN k.failed_step = 'model call'
      THEN d.model_calls
      WHEN k.failed_step = 'permission'
      THEN d.decisions
      WHEN k.failed_step = 'tool execution'
      THEN d.tool_results
      WHEN k.failed_step = 'hooks'
      THEN d.hook_runs
      WHEN k.failed_step = 'prompt / context'
      THEN d.context_events
      ELSE sc.sessions
    END AS Nullable(Int64)) AS denominator,
    CASE WHEN k.is_total_set THEN k.first_failure_turns ELSE k.turns_affected END AS turns_affected,
    k.first_failure_turns,
    k.recovered_turns,
    k.failed_turn_cost_usd,
    d.all_cost,
    CASE WHEN k.is_total_set THEN 1 ELSE 0 END AS is_total,
    CASE
      WHEN k.is_total_set
      THEN CASE WHEN k.first_failure_turns > 0 THEN 1.0 END
      ELSE k.first_failure_turns / nullIf(SUM(CASE WHEN NOT k.is_total_set THEN k.first_failure_turns END) OVER (), 0)
    END AS pareto_share,
    CASE
      WHEN k.is_total_set
      THEN CASE WHEN k.first_failure_turns > 0 THEN 1.0 END
      ELSE SUM(k.first_failure_turns) OVER (
        ORDER BY k.is_total_set, k.first_failure_turns DESC, k.failures DESC, k.failed_step, k.failed_kind, k.failed_category
        ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
      ) / nullIf(SUM(CASE WHEN NOT k.is_total_set THEN k.first_failure_turns END) OVER (), 0)
    END AS cumulative_share
  FROM per_kind AS k
  CROSS JOIN denominators AS d
  CROSS JOIN session_count AS sc
)
SELECT
  step,
  kind,
  category,
  failures,
  denominator,
  CASE WHEN is_total = 1 THEN first_failure_turns ELSE failures END / nullIf(denominator, 0) AS failure_rate,
  turns_affected,
  first_failure_turns,
  pareto_share,
  cumulative_share,
  recovered_turns,
  first_failure_turns - recovered_turns AS stalled_turns,
  failed_turn_cost_usd,
  failed_turn_cost_usd / nullIf(all_cost, 0) AS cost_share
FROM everything
ORDER BY
  is_total,
  first_failure_turns DESC,
  failures DESC,
  step,
  kind,
  category
SETTINGS join_use_nulls = 1

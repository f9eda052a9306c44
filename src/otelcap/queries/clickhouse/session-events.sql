-- session-events: rendered from queries/session-events.sql for ClickHouse by
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
), events AS (
  SELECT
    SessionId AS event_session,
    PromptId AS event_prompt,
    EventSequence AS event_sequence,
    Timestamp AS event_time,
    EventName AS event_name,
    ToolName AS event_tool,
    Model AS event_model,
    DurationMs AS event_duration_ms,
    CostUsd AS event_cost_usd,
    COALESCE(InputTokens, 0) + COALESCE(OutputTokens, 0) + COALESCE(CacheReadTokens, 0) + COALESCE(CacheCreationTokens, 0) AS event_tokens,
    Success AS event_success,
    Decision AS event_decision,
    DecisionSource AS event_decision_source,
    StatusCode AS event_status_code,
    Attempt AS event_attempt,
    ErrorType AS event_error_type,
    TraceId AS event_trace,
    COALESCE(LogAttributes['agent_id'], '') AS event_agent, /* set on a subagent's events (the Agent tool's run), '' on the main loop's */
    WorkflowStep AS event_workflow,
    MIN(Timestamp) OVER (PARTITION BY SessionId, PromptId) AS turn_started /* the turn's start orders turns; min() over the prompt, not the session's first event */
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
)
SELECT
  e.event_session AS session_id,
  e.event_prompt AS prompt_id,
  e.turn_started,
  e.event_sequence AS sequence,
  e.event_time AS time,
  e.event_name AS event,
  e.event_tool AS tool,
  e.event_model AS model,
  e.event_duration_ms AS duration_ms,
  e.event_cost_usd AS cost_usd,
  CASE WHEN e.event_name = 'api_request' THEN e.event_tokens END AS tokens,
  e.event_success AS success,
  e.event_decision AS decision,
  e.event_decision_source AS decision_source,
  e.event_status_code AS status_code,
  e.event_attempt AS attempt,
  e.event_error_type AS error_type,
  COALESCE(f.step, '') AS step,
  COALESCE(f.kind, '') AS kind,
  COALESCE(c.category, '') AS category,
  COALESCE(leftUTF8(f.Error, 300), '') AS error_message,
  COALESCE(f.EventSequence = fa.first_sequence, FALSE) AS first_failure,
  e.event_trace AS trace_id,
  e.event_agent AS agent_id,
  e.event_workflow AS workflow_step /* the slash command that started the turn ('' for a plain prompt) */
FROM events AS e
LEFT JOIN failures AS f
  ON f.SessionId = e.event_session
  AND f.PromptId = e.event_prompt
  AND f.EventSequence = e.event_sequence
  AND f.EventName = e.event_name
  AND f.Timestamp = e.event_time
LEFT JOIN categories AS c
  ON c.error_text = f.Error
LEFT JOIN first_at AS fa
  ON fa.first_prompt = f.PromptId
ORDER BY
  e.event_session,
  e.turn_started,
  e.event_prompt,
  e.event_sequence,
  e.event_time,
  e.event_name
SETTINGS join_use_nulls = 1

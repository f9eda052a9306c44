-- errors-sample: rendered from queries/errors-sample.sql for ClickHouse by
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
), firsts AS (
  SELECT
    f.*,
    c.category
  FROM failures AS f
  JOIN first_at AS fa
    ON fa.first_prompt = f.PromptId AND fa.first_sequence = f.EventSequence
  JOIN categories AS c
    ON c.error_text = f.Error
), sampled AS (
  SELECT
    *
  FROM (
    SELECT
      *,
      ROW_NUMBER() OVER (
        PARTITION BY step, kind, category
        ORDER BY LOWER(HEX(MD5({seed: String} || PromptId))), SessionId, EventSequence
      ) AS pick
    FROM firsts
  ) AS shuffled
  WHERE
    pick <= {per_kind: Int64}
), stories AS (
  /* only the sampled turns are read in full: each sampled failure with its turn's events. */
  /* sampled is read once, here (ClickHouse runs a CTE again at each reference: chdb, 100k */
  /* bench events, 960 ms a time); otel_logs first, the side ClickHouse streams. Joined on */
  /* the prompt alone, the session matched in each aggregate: DuckDB turns a one-key join */
  /* into a filter on the scan of otel_logs (10M events: 35k rows read, not 10M), a two-key */
  /* join not. The failure is an event of its own session's turn, so every turn has one. */
  SELECT
    s.step,
    s.kind,
    s.category,
    s.pick,
    s.SessionId AS session_id,
    s.PromptId AS prompt_id,
    s.EventSequence AS failed_at_sequence,
    s.EventName AS failed_event,
    s.ToolName AS tool,
    s.StatusCode AS status_code,
    s.Error AS failure_error,
    MIN(l.Timestamp) FILTER(WHERE
      l.SessionId = s.SessionId) AS turn_started,
    COUNT(*) FILTER(WHERE
      l.SessionId = s.SessionId) AS turn_events,
    COALESCE(
      SUM(l.CostUsd) FILTER(WHERE
        l.SessionId = s.SessionId AND l.EventName = 'api_request'),
      0
    ) AS turn_cost,
    MAX(l.EventSequence) FILTER(WHERE
      l.SessionId = s.SessionId AND l.EventName = 'api_request') AS last_request_at,
    COALESCE(MAX(nullIf(l.WorkflowStep, '')) FILTER(WHERE
      l.SessionId = s.SessionId), '') AS turn_workflow
  FROM otel_logs AS l
  JOIN sampled AS s
    ON s.PromptId = l.PromptId
  WHERE
    l.Timestamp >= {since: DateTime64(9)}
    AND l.Timestamp < {until: DateTime64(9)}
    AND (
      {session: String} = '' OR l.SessionId = {session: String}
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
    s.step,
    s.kind,
    s.category,
    s.pick,
    s.SessionId,
    s.PromptId,
    s.EventSequence,
    s.EventName,
    s.ToolName,
    s.StatusCode,
    s.Error
)
SELECT
  step,
  kind,
  category,
  pick,
  session_id,
  prompt_id,
  turn_started,
  turn_workflow AS workflow_step,
  turn_events AS events,
  failed_at_sequence,
  failed_event,
  tool,
  status_code,
  leftUTF8(failure_error, 300) AS error_text,
  turn_cost AS turn_cost_usd,
  CASE WHEN last_request_at > failed_at_sequence THEN 'recovered' ELSE 'stalled' END AS outcome,
  'otelcap show turn ' /* the command that tells the turn's whole story */ || prompt_id AS show
FROM stories
ORDER BY
  step,
  kind,
  category,
  pick
SETTINGS join_use_nulls = 1

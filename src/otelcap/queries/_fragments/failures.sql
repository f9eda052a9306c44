-- Shared by error-analysis and errors-sample: every failure signal as a row named by its
-- workflow step and kind, and the readable category of its error text. Expanded where a
-- query says `-- include: failures` (querypack.parse), before rendering for ClickHouse.
failures AS MATERIALIZED (
    -- one row per failure signal, named by its workflow step and kind
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
            WHEN EventName IN ('api_error', 'api_retries_exhausted', 'api_refusal') THEN 'model call'
            WHEN EventName = 'tool_decision' THEN 'permission'
            WHEN EventName = 'tool_result' THEN 'tool execution'
            WHEN EventName = 'hook_execution_complete' THEN 'hooks'
            WHEN EventName IN ('compaction', 'at_mention') THEN 'prompt / context'
            ELSE 'session setup'
        END AS step,
        CASE
            WHEN EventName = 'api_error'
                THEN 'api_error ' || coalesce(CAST(StatusCode AS VARCHAR), '(no status)')
            WHEN EventName = 'tool_decision'
                THEN 'rejected by ' || coalesce(nullif(DecisionSource, ''), '(no source)')
            WHEN EventName = 'tool_result' THEN coalesce(nullif(ErrorType, ''), '(no error type)')
            WHEN EventName = 'hook_execution_complete' THEN
                CASE
                    WHEN hooks_blocking > 0 THEN 'blocking hook'
                    WHEN hooks_erred > 0 THEN 'hook error'
                    ELSE 'hook cancelled'
                END
            ELSE EventName
        END AS kind
    FROM (
        -- the signals in typed columns ...
        SELECT
            SessionId, PromptId, EventSequence, Timestamp, EventName, ToolName, StatusCode,
            DecisionSource, ErrorType, Error,
            CAST(NULL AS BIGINT) AS hooks_blocking,
            CAST(NULL AS BIGINT) AS hooks_erred
        FROM otel_logs
        WHERE (
                EventName IN ('api_error', 'api_retries_exhausted', 'api_refusal', 'internal_error')
                OR (EventName = 'tool_decision' AND Decision = 'reject')
                OR (EventName = 'tool_result' AND Success = false)
                OR (EventName IN ('compaction', 'at_mention', 'auth') AND Success = false)
            )
          AND Timestamp >= $since
          AND Timestamp < $until
          AND SessionId <> ''
          AND ($session = '' OR SessionId = $session)
          -- include: log_filter
        UNION ALL
        -- ... and the few that live only in the attribute map. Reading LogAttributes is
        -- most of this query's time (~100 ms per million rows): promoted columns for these
        -- attributes would remove it.
        SELECT
            SessionId, PromptId, EventSequence, Timestamp, EventName, ToolName, StatusCode,
            DecisionSource, ErrorType, Error, hooks_blocking, hooks_erred
        FROM (
            SELECT
                SessionId, PromptId, EventSequence, Timestamp, EventName, ToolName, StatusCode,
                DecisionSource, ErrorType, Error,
                ConnectionStatus AS connection_status,
                HooksBlocking AS hooks_blocking,
                HooksNonBlockingError AS hooks_erred,
                HooksCancelled AS hooks_cancelled
            FROM otel_logs
            WHERE EventName IN ('hook_execution_complete', 'mcp_server_connection')
              AND Timestamp >= $since
              AND Timestamp < $until
              AND SessionId <> ''
              AND ($session = '' OR SessionId = $session)
              -- include: log_filter
        ) AS from_map
        WHERE (EventName = 'hook_execution_complete'
               AND (hooks_blocking > 0 OR hooks_erred > 0 OR hooks_cancelled > 0))
           OR (EventName = 'mcp_server_connection' AND connection_status = 'failed')
    ) AS signals
),
categories AS (
    -- readable groups of error text, computed once per distinct text (regexes are the
    -- expensive part, and the same messages repeat); what matches nothing is `other`
    SELECT
        error_text,
        CASE
            WHEN error_text = '' THEN ''
            WHEN regexp_matches(error_text, '(?i)has not been read|read it first') THEN 'file not read yet'
            WHEN regexp_matches(error_text, '(?i)string to replace|old_string') THEN 'string to replace not found'
            WHEN regexp_matches(error_text, '(?i)no such tool|unknown tool|tool [^ ]+ (is )?not (found|available)')
                THEN 'tool not found'
            WHEN regexp_matches(error_text, '(?i)does not exist|no such file|not found|enoent') THEN 'file not found'
            WHEN regexp_matches(error_text, '(?i)timed? ?out|deadline exceeded') THEN 'timeout'
            WHEN regexp_matches(error_text, '(?i)permission denied|eacces|not permitted') THEN 'permission denied'
            WHEN regexp_matches(error_text, '(?i)syntax ?error|parse error|unexpected token') THEN 'syntax error'
            WHEN regexp_matches(error_text, '(?i)exit code|exited with|command failed|non-zero') THEN 'command failed'
            WHEN regexp_matches(error_text, '(?i)overloaded') THEN 'overloaded'
            WHEN regexp_matches(error_text, '(?i)rate.?limit|too many requests') THEN 'rate limited'
            ELSE 'other'
        END AS category
    FROM (SELECT DISTINCT Error AS error_text FROM failures) AS texts
),
